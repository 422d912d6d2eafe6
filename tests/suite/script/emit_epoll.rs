//! The epoll calls and the lab hosts' setns of an emitted twin's raw
//! `strace -f` trace, normalised for comparison.

use std::collections::HashMap;

use super::emit_trace::calls;

/// `5<anon_inode:[eventpoll]>` -> `5`: -y's annotation after any fd.
fn strip_annotations(line: &str) -> String {
    let mut out = String::new();
    let mut chars = line.chars().peekable();
    let mut after_digit = false;
    while let Some(c) = chars.next() {
        if c == '<' && after_digit {
            for d in chars.by_ref() {
                if d == '>' {
                    break;
                }
            }
            continue;
        }
        after_digit = c.is_ascii_digit();
        out.push(c);
    }
    out
}

/// The epoll calls and the hosts' setns of a raw trace, in order, each
/// fd named by first appearance (`E1`, `E2`...: the epoll fd, the fd
/// registered, the event's `data={u32=N, u64=N}`, which is that fd).
/// `python`: epoll_create1's flags and EPOLL_CTL_DEL's event as
/// `select.epoll` cannot choose them (the allow-list: always
/// EPOLL_CLOEXEC; unregister passes a pointer, not NULL), on both sides.
pub fn epoll_calls(raw: &str, python: bool) -> Vec<String> {
    let keep = |c: &str| c.starts_with("epoll_") || c.starts_with("setns(");
    let mut names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    // Python's main thread runs no line: its epoll is `import socket`'s
    // (selectors tries one), the allow-list's.
    let main = raw.split_whitespace().next().unwrap_or("").to_string();
    for (pid, call) in calls(raw, keep, |_| true) {
        if python && pid == main {
            continue;
        }
        let mut c = strip_annotations(&call);
        while c.contains("  ") {
            c = c.replace("  ", " ");
        }
        if c.starts_with("setns(") {
            out.push(
                c.split_once(", ")
                    .map_or(c.clone(), |(_, r)| format!("setns(FD, {r}")),
            );
            continue;
        }
        // register() sets data.fd alone: data.u64's upper half is
        // whatever was on the stack (the allow-list).
        let mut from = 0;
        while python
            && let Some(i) = c[from..].find("data={u32=").map(|i| i + from)
            && let Some((u32, rest)) = c[i + "data={u32=".len()..].split_once(", u64=")
            && let Some((_, tail)) = rest.split_once('}')
        {
            let head = format!("{}data={{u32={u32}, u64={u32}}}", &c[..i]);
            from = head.len();
            c = format!("{head}{tail}");
        }
        if python && c.starts_with("epoll_create1(") {
            c = format!(
                "epoll_create1(FLAGS){}",
                c.split_once(')').map_or("", |(_, r)| r)
            );
        }
        if python
            && c.contains("EPOLL_CTL_DEL")
            && let Some(i) = c.rfind(", 0x")
            && let Some(j) = c[i..].find(')')
        {
            c.replace_range(i..i + j, ", NULL");
        }
        let mut text = String::new();
        let mut num = String::new();
        for ch in c.chars().chain(std::iter::once(' ')) {
            if ch.is_ascii_digit() {
                num.push(ch);
                continue;
            }
            if !num.is_empty() {
                let create = text.starts_with("epoll_create1(");
                let fd = (text.ends_with('(') && !create)
                    || text.ends_with("u32=")
                    || text.ends_with("u64=")
                    || ["ADD, ", "MOD, ", "DEL, "]
                        .iter()
                        .any(|op| text.ends_with(&format!("EPOLL_CTL_{op}")))
                    || (create && text.ends_with(" = "));
                if fd {
                    let n = names.len() + 1;
                    text.push_str(names.entry(num.clone()).or_insert_with(|| format!("E{n}")));
                } else {
                    text.push_str(&num);
                }
                num.clear();
            }
            text.push(ch);
        }
        out.push(text.trim_end().to_string());
    }
    out
}
