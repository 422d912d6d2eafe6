//! A link change as `strace -f` shows a program asking for it (an
//! emitted twin's `SetLink`, socklab's own `link::set`), read back as
//! `net | set SPEC`: on one task, `socket(AF_UNIX, ...) = FD`, then
//! `connect(FD, {sa_family=AF_UNIX, sun_path="/run/socklab/NET/ctl"},
//! LEN) = 0`, then on FD only getsockopt, `write(FD, "set SPEC\n", N)`,
//! shutdown, poll and read, up to `close(FD)`. Replayed, those lines are
//! one link change at the socket's line, asked of this run's network
//! (`--net`), as hosts.rs puts a thread that entered
//! /run/netns/NET-HOST on HOST. A cut request (strace's `"..."...`) is
//! not read so: its lines stay calls.

use std::collections::BTreeSet;

use super::ast::{ExprKind, Form, Line, Outcome};

/// The calls between the connect and the close.
const BETWEEN: [&str; 6] = ["getsockopt", "write", "shutdown", "poll", "read", "close"];

/// The lines without the exchanges, and each exchange's (line, SPEC).
pub fn exchanges(lines: Vec<Line>) -> (Vec<Line>, Vec<(usize, String)>) {
    let mut taken: BTreeSet<usize> = BTreeSet::new();
    let mut found = Vec::new();
    for i in 0..lines.len() {
        if taken.contains(&i) {
            continue;
        }
        if let Some((ids, spec)) = exchange(&lines, i)
            && let Some(first) = lines.get(i)
        {
            found.push((first.no, spec));
            taken.extend(ids);
        }
    }
    let kept = lines
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !taken.contains(i))
        .map(|(_, l)| l)
        .collect();
    (kept, found)
}

/// The exchange that starts at line `i`: its lines' indexes and SPEC.
fn exchange(lines: &[Line], i: usize) -> Option<(Vec<usize>, String)> {
    let first = lines.get(i)?;
    let unix = matches!(first.call.args.first().map(|a| &a.kind), Some(ExprKind::Name(n)) if n == "AF_UNIX");
    if first.call.name != "socket" || !unix {
        return None;
    }
    let fd = match first.call.result.as_ref().map(|r| &r.value) {
        Some(Outcome::Value(fd)) => *fd,
        _ => return None,
    };
    let mut mine = (i + 1..lines.len()).filter(|&j| {
        lines
            .get(j)
            .is_some_and(|l| l.actor == first.actor && l.task == first.task)
    });
    let c = mine.next()?;
    let connect = lines.get(c)?;
    if connect.call.name != "connect" || !on(connect, fd) || !to_ctl(connect) {
        return None;
    }
    let mut ids = vec![i, c];
    let mut spec = None;
    for j in mine {
        let l = lines.get(j)?;
        if !BETWEEN.contains(&l.call.name.as_str()) || !on(l, fd) {
            return None;
        }
        ids.push(j);
        match l.call.name.as_str() {
            "write" => spec = Some(request(l)?),
            "close" => return Some((ids, spec?)),
            _ => {}
        }
    }
    None
}

/// The call is on `fd` (its first argument; a resumed half or a poll:
/// its own entry line said).
fn on(l: &Line, fd: i64) -> bool {
    match l.call.args.first().map(|a| &a.kind) {
        _ if l.call.form == Form::Resumed || l.call.name == "poll" => true,
        Some(ExprKind::Int(n)) => *n == fd,
        _ => false,
    }
}

/// A connect to `/run/socklab/NET/ctl`.
fn to_ctl(l: &Line) -> bool {
    let Some(ExprKind::Struct(fields)) = l.call.args.get(1).map(|a| &a.kind) else {
        return false;
    };
    fields.iter().any(|f| {
        f.name.as_deref() == Some("sun_path")
            && matches!(&f.value.kind, ExprKind::Str { bytes, cut: false }
                if bytes.starts_with(b"/run/socklab/") && bytes.ends_with(b"/ctl"))
    })
}

/// `write(FD, "set SPEC\n", N)`'s SPEC, if whole and valid.
fn request(l: &Line) -> Option<String> {
    let Some(ExprKind::Str { bytes, cut: false }) = l.call.args.get(1).map(|a| &a.kind) else {
        return None;
    };
    let spec = std::str::from_utf8(bytes.strip_prefix(b"set ")?.strip_suffix(b"\n")?).ok()?;
    match super::link::directive(l.no, &format!("net | set {spec}")) {
        Some(Ok(s)) => Some(s),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::exchanges;
    use crate::script::parse::parse_line;

    fn lines(text: &str) -> Vec<crate::script::ast::Line> {
        text.lines()
            .enumerate()
            .filter_map(|(i, l)| parse_line(i + 1, l).ok().flatten())
            .collect()
    }

    const EXCHANGE: &str = "[pid 7] socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = 6
[pid 8] recvfrom(4, \"hi\", 16, 0, NULL, NULL) = 2
[pid 7] connect(6, {sa_family=AF_UNIX, sun_path=\"/run/socklab/x1/ctl\"}, 21) = 0
[pid 7] getsockopt(6, SOL_SOCKET, SO_PEERCRED, {pid=99, uid=0, gid=0}, [12]) = 0
[pid 7] write(6, \"set blackhole\\n\", 14) = 14
[pid 7] shutdown(6, SHUT_WR) = 0
[pid 7] poll([{fd=6, events=POLLIN}], 1, 1000 <unfinished ...>
[pid 8] close(4) = 0
[pid 7] <... poll resumed>) = 1 ([{fd=6, revents=POLLIN|POLLHUP}])
[pid 7] read(6, \"ok\\nlink a>b: blackhole\\nlink b>a:\"..., 4096) = 51
[pid 7] read(6, \"\", 4096) = 0
[pid 7] close(6) = 0
[pid 7] close(3) = 0
";

    #[test]
    fn a_traced_control_exchange_is_a_link_change_at_its_socket_line() {
        let (kept, found) = exchanges(lines(EXCHANGE));
        assert_eq!(found, vec![(1, "blackhole".to_string())]);
        let left: Vec<usize> = kept.iter().map(|l| l.no).collect();
        assert_eq!(left, vec![2, 8, 13]);
    }

    #[test]
    fn a_cut_request_or_another_call_on_the_socket_stays_calls() {
        let cut = EXCHANGE.replace("\"set blackhole\\n\"", "\"set blackh\"...");
        assert!(exchanges(lines(&cut)).1.is_empty());
        let other = EXCHANGE.replace("shutdown(6, SHUT_WR)", "listen(6, 1)");
        assert!(exchanges(lines(&other)).1.is_empty());
        let path = EXCHANGE.replace("/run/socklab/x1/ctl", "/tmp/ctl");
        assert!(exchanges(lines(&path)).1.is_empty());
    }
}
