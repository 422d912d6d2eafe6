//! What is not a call: a `#` comment's start, and the lines a script
//! leaves out (blank, comments, lab headers and verdicts, the `lab all`
//! summary, program output `NAME > text`, wire lines, strace's `--- SIG`
//! and `+++ exited` lines, `???( <detached ...>` and `strace: ` messages).

/// Where a `#` outside a string starts a comment (or the length).
pub fn comment_start(s: &str) -> usize {
    let mut in_str = false;
    let mut esc = false;
    for (i, b) in s.bytes().enumerate() {
        if in_str {
            match (esc, b) {
                (true, _) => esc = false,
                (false, b'\\') => esc = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
        } else if b == b'"' {
            in_str = true;
        } else if b == b'#' {
            return i;
        }
    }
    s.len()
}

/// Lines that are not calls: comments, lab and strace chatter, program
/// output (`NAME > text`), wire lines, the `lab all` summary.
pub fn ignored(s: &str) -> bool {
    let t = s.trim_start();
    let t = t.trim_end();
    if t.is_empty() || t.starts_with('#') {
        return true;
    }
    const HEADS: [&str; 10] = [
        "[state ",
        // strace -f: a thread that ended (exit_group) inside a syscall.
        "???( <detached ...>",
        "--",
        "+++",
        "strace: ",
        "==",
        "reproduces:",
        "observed:",
        "why:",
        "wire |",
    ];
    if HEADS.iter().any(|h| t.starts_with(h)) {
        return true;
    }
    if lab_verdict(t) {
        return true;
    }
    if t.starts_with("IP ") || t.starts_with("IP6 ") || t.ends_with(" labs passed") {
        return true;
    }
    // `NAME: text`, `NAME > text`, `wire  | ...` padded, `lab  result  expected` and
    // the summary's rows `NAME   pass   ...`.
    let word = t
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        .count();
    let (w, after) = t.split_at(word);
    let after_t = after.trim_start();
    // A note in words: `RLIMIT_NOFILE: soft limit ...` (no call has `NAME:`).
    if word > 0 && (after == ":" || after.starts_with(": ")) {
        return true;
    }
    if word > 0 && after.starts_with(' ') {
        if after_t.starts_with("> ") || after_t == ">" {
            return true;
        }
        if w == "wire" && after_t.starts_with('|') {
            return true;
        }
        if w == "lab" && after_t.starts_with("result ") {
            return true;
        }
        let spaces = after.len() - after_t.len();
        if spaces >= 2 && (after_t.starts_with("pass ") || after_t.starts_with("fail ")) {
            return true;
        }
    }
    false
}

/// `lab NAME: ... PASS` (or FAIL): a lab's verdict line.
fn lab_verdict(t: &str) -> bool {
    let Some(r) = t.strip_prefix("lab ") else {
        return false;
    };
    let n = r
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'))
        .count();
    n > 0
        && r.get(n..).is_some_and(|x| x.starts_with(':'))
        && (t.ends_with("PASS") || t.ends_with("FAIL"))
}
