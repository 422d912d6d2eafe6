//! The Python program's dup, dup2 (`os.dup`, `os.dup2` on the socket's
//! fileno, the new fd a socket object again) and recvmsg with several
//! iovecs (`s.recvmsg_into([b0, b1], ...)`).

use super::model::{Model, Op, Want};
use super::python::{lit, val, var};

/// The statement of a dup, dup2 or several-iovec recvmsg line (None: not one).
pub fn statement(m: &Model) -> Option<String> {
    let line = m.line;
    let take = m.bind.as_ref().map_or("r".to_string(), var);
    let wrap = format!(
        "{take} = opened(socket.socket(fileno=r))  # Python: socket(fileno=) asks the new fd its address, type and protocol"
    );
    let (call, then) = match &m.op {
        Op::Dup(f) => (
            format!("os.dup({}.fileno())", var(f)),
            format!("{wrap}; os.dup is fcntl(F_DUPFD_CLOEXEC, 0)"),
        ),
        Op::Dup2(f, to) => (format!("os.dup2({}.fileno(), {})", var(f), val(to)), wrap),
        Op::Recvmsg(f, sizes, controllen, fl, want, rights) if sizes.len() > 1 => {
            let bufs: Vec<String> = sizes.iter().map(|n| format!("bytearray({n})")).collect();
            let mut s = format!(
                "buf = [{}]; r, anc, _, _ = {}.recvmsg_into(buf, {controllen}{}); data = b\"\".join(buf)[:r]",
                bufs.join(", "),
                var(f),
                if fl.value == 0 {
                    String::new()
                } else {
                    format!(", {}", val(fl))
                }
            );
            if let Want::Value(n) = m.want {
                s += &format!("; want({line}, r, {n})");
            }
            if let Some(w) = want {
                s += &format!("; data_is({line}, data, {}, False)", lit(w));
            }
            for (i, r) in rights.iter().enumerate() {
                s += &format!(
                    "; {} = opened(socket.socket(fileno=fds_in(anc)[{i}]))",
                    var(r)
                );
            }
            if let Want::Errno(e) = &m.want {
                return Some(format!(
                    "want_errno({line}, errno.{e}, lambda: {}.recvmsg_into([{}], {controllen}))",
                    var(f),
                    bufs.join(", ")
                ));
            }
            return Some(format!(
                "{s}  # Python: recvmsg_into() passes a msg_name buffer"
            ));
        }
        _ => return None,
    };
    Some(match &m.want {
        Want::Errno(e) => format!("want_errno({line}, errno.{e}, lambda: {call})"),
        _ => format!("r = {call}; {then}"),
    })
}
