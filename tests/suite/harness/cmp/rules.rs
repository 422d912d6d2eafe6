//! The rules that fold scheduler-dependent waits and partial sends, and
//! tell the programs' calls and annotations apart.

use crate::harness::calls;

/// Rule 12: in non-blocking mode, whether a call finds its peer's bytes
/// (or connection) already there, or fails with EAGAIN and waits in
/// `poll(..., -1)` first, depends on which of two processes the scheduler
/// ran first, not on the program. Each `CALL(FD...) = -1 EAGAIN` followed by
/// `poll([{fd=FD, ...}], 1, -1)` and the same call on the same fd is folded
/// into that last call, and counted (scenarios check that the count is not
/// zero where a wait must happen). Anything else after an EAGAIN (no poll,
/// a poll with a limit, another call) is left as it is, and differs.
pub(super) fn fold_waits(trace: Vec<String>) -> (Vec<String>, usize) {
    let mut out = Vec::with_capacity(trace.len());
    let mut waits = 0;
    let mut i = 0;
    while i < trace.len() {
        let line = &trace[i];
        let head = line.split_once(',').map_or("", |(h, _)| h);
        let fd = head.split_once('(').map_or("", |(_, fd)| fd);
        let folds = line.contains(" = -1 EAGAIN ")
            && !fd.is_empty()
            && trace.get(i + 1).is_some_and(|p| {
                p.starts_with(&format!("poll([{{fd={fd}, events=")) && p.contains("], 1, -1) = ")
            })
            && trace
                .get(i + 2)
                .is_some_and(|next| next.starts_with(&format!("{head},")));
        if folds {
            waits += 1;
            i += 2;
        } else {
            out.push(line.clone());
            i += 1;
        }
    }
    (out, waits)
}

/// Rule 13: how many bytes one `sendto` takes when the send buffer cannot
/// hold them all (a partial send with `--send-mode send`, or before
/// SO_SNDTIMEO expires) is the kernel's choice: the free space in the send
/// buffer and the peer's window when the call ran, which acknowledgements
/// processed in softirq can change. The count becomes `PARTIAL` in the
/// `sendto` line (only when it is less than the length asked) and in the
/// `send: N of M` and `sendall: N of M` lines. What sendall sends next on
/// that fd starts where the partial send stopped: its bytes and length
/// become `<the rest>`, a byte count it returns `N`.
pub(super) fn partial_sends(trace: &[String]) -> Vec<String> {
    let mut after_partial = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(trace.len());
    for line in trace {
        let fd = line
            .strip_prefix("sendto(")
            .and_then(|rest| rest.split_once(", "))
            .map(|(fd, _)| fd.to_string());
        let Some(fd) = fd else {
            out.push(line.clone());
            continue;
        };
        if after_partial.contains(&fd)
            && let Some((call, ret)) = line.rsplit_once(" = ")
        {
            // flags, address, address length): the last three arguments.
            let tail: Vec<&str> = call.rsplitn(4, ", ").take(3).collect();
            let ret = if ret.parse::<u64>().is_ok() { "N" } else { ret };
            out.push(format!(
                "sendto({fd}, <the rest>, {}, {}, {} = {ret}",
                tail[2], tail[1], tail[0]
            ));
            continue;
        }
        let shown = partial_send(line);
        if shown.ends_with(" = PARTIAL") {
            after_partial.insert(fd);
        }
        out.push(shown);
    }
    out
}

/// One line of rule 13: a `sendto` line or a `send:`/`sendall:` line.
pub(super) fn partial_send(line: &str) -> String {
    if line.starts_with("sendto(")
        && let Some((call, ret)) = line.rsplit_once(" = ")
        && let Ok(got) = ret.parse::<u64>()
        && let Some(asked) = call.rsplit(", ").nth(3).and_then(|n| n.parse::<u64>().ok())
        && got > 0
        && got < asked
    {
        return format!("{call} = PARTIAL");
    }
    for prefix in ["send: ", "sendall: "] {
        if let Some(rest) = line.strip_prefix(prefix)
            && let Some((n, tail)) = rest.split_once(" of ")
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            return format!("{prefix}PARTIAL of {tail}");
        }
    }
    line.to_string()
}

/// Rule 2 of the normalisation, for a line without its pid prefix: a call
/// on a socket (with a row or not: a C twin's call socklab never makes
/// shows too), or a call of the table's that the program makes with no
/// socket (socket, unlink, umask, the UNIX server's socket file directory:
/// [`calls::is_own_path_call`]).
pub fn is_program_call(line: &str) -> bool {
    is_on_socket(line)
        || calls::row_of(line).is_some_and(|row| row.traced && calls::is_own_path_call(row, line))
}

/// `4</tmp/d>` → `4` where a directory fd is an argument or an openat's
/// result (`openat(...) = 4</tmp/d>`, `openat(4</tmp/d>, "s.sock", ...)`,
/// `newfstatat(4</tmp/d>, "s.sock", ...)`, `unlinkat(4</tmp/d>, ...)`).
pub(super) fn strip_dir_annotations(line: &str) -> String {
    let mut line = line.to_string();
    if line.starts_with("openat(")
        && let Some((call, ret)) = line.rsplit_once(" = ")
        && let Some((fd, _)) = ret.split_once('<')
    {
        line = format!("{call} = {fd}");
    }
    for call in ["newfstatat(", "unlinkat(", "openat("] {
        if let Some(rest) = line.strip_prefix(call)
            && rest.starts_with(|c: char| c.is_ascii_digit())
            && let Some(open) = rest.find('<')
            && let Some(close) = rest.find(">, ")
            && open < close
        {
            line = format!("{call}{}{}", &rest[..open], &rest[close + 1..]);
        }
    }
    line
}

pub fn is_on_socket(line: &str) -> bool {
    let after_paren = line.split_once('(').map_or("", |(_, a)| a);
    let fd_part = after_paren.strip_prefix("[{fd=").unwrap_or(after_paren);
    let n = fd_part.bytes().take_while(u8::is_ascii_digit).count();
    n > 0 && fd_part[n..].starts_with("<socket:[")
}

pub(super) fn strip_socket_annotations(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("<socket:[") {
        out.push_str(&rest[..i]);
        match rest[i..].find("]>") {
            Some(j) => rest = &rest[i + j + 2..],
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replace, after each `prefix`, what `f` matches at the start of the rest
/// (its replacement and the number of bytes it covers).
pub(super) fn replace_all(
    line: &str,
    prefix: &str,
    mut f: impl FnMut(&str) -> Option<(String, usize)>,
) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(prefix) {
        out.push_str(&rest[..i + prefix.len()]);
        rest = &rest[i + prefix.len()..];
        if let Some((with, n)) = f(rest) {
            out.push_str(&with);
            rest = &rest[n..];
        }
    }
    out.push_str(rest);
    out
}

/// Differences that cannot be otherwise, by scenario, each with its reason.
/// Empty: every scenario is identical.
pub const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];
