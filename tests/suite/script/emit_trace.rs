//! The emitted twins' raw `strace -f` traces, read back: as a script (the
//! round trip: each thread an actor `[pid N]`, a fork's `clone` line
//! joined whole so that its child's lines run in the process it made),
//! and the process calls (fork, the script's own rt_sigaction, kill,
//! tgkill, wait4, exit_group) normalised for comparison (the epoll and
//! setns calls: emit_epoll.rs; the Python twin's allow-list:
//! emit_allowed.rs).

use std::collections::HashMap;

/// The process calls strace is asked for beside the socket calls (and
/// fchmod, which the file rows do not name: unix-family's directory);
/// rt_sigreturn: a handler's return, which says whether the call it
/// interrupted restarts (the round trip reads it as a script does).
pub const PROCESS_CALLS: &str = "clone,rt_sigaction,rt_sigreturn,kill,tgkill,wait4,exit_group,\
    epoll_create1,epoll_ctl,epoll_wait,setns,dup,dup2,fcntl,setgroups,setgid,setuid,fchmod";

/// The file calls Python makes for the script's *at calls on AT_FDCWD
/// (os.mkdir, os.chmod, os.rmdir: the allow-list), traced beside them.
pub const PYTHON_FILE_CALLS: &str = "mkdir,chmod,rmdir";

/// A process actor's credentials.
fn is_credential(call: &str) -> bool {
    ["setgroups(", "setgid(", "setuid("]
        .iter()
        .any(|p| call.starts_with(p))
}

/// A fork as glibc makes it (threads are clone3, with no SIGCHLD).
fn is_fork(call: &str) -> bool {
    call.starts_with("clone(") && call.contains("|SIGCHLD")
}

/// A script's rt_sigaction (the raw call: no SA_RESTORER, no old action),
/// not a runtime's own (glibc's sigaction adds SA_RESTORER).
fn is_scripts_sigaction(call: &str) -> bool {
    call.starts_with("rt_sigaction(")
        && (call.contains(", sa_flags=0}, NULL, 8)")
            || (call.contains("{sa_handler=0x")
                && call.contains("}, NULL, 8)")
                && !call.contains("SA_SIGINFO")))
}

/// The raw trace's calls, each `<unfinished ...>` joined with its
/// `<... resumed>` where `join` says so; (pid, call) in trace order.
pub(super) fn calls(
    raw: &str,
    mut keep: impl FnMut(&str) -> bool,
    join: impl Fn(&str) -> bool,
) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = Vec::new();
    let mut open: HashMap<String, (usize, bool)> = HashMap::new();
    for line in raw.lines() {
        let (pid, call) = line.split_once(' ').unwrap_or(("", line));
        let call = call.trim_start();
        if let Some(rest) = call.strip_prefix("<... ") {
            let Some((i, joined)) = open.remove(pid) else {
                continue;
            };
            match rest.split_once(" resumed>") {
                Some((_, tail)) if joined => {
                    let head = out[i].1.trim_end_matches(" <unfinished ...>").to_string();
                    out[i].1 = format!("{head}{tail}");
                }
                _ => out.push((pid.to_string(), call.to_string())),
            }
            continue;
        }
        if !keep(call) {
            continue;
        }
        if call.ends_with(" <unfinished ...>") {
            open.insert(pid.to_string(), (out.len(), join(call)));
        }
        out.push((pid.to_string(), call.to_string()));
    }
    out
}

/// A raw `strace -f -o` trace as a script: the program's own socket
/// calls, its forks, its processes' rt_sigaction, a handler's
/// rt_sigreturn (a restarted call is one line) and its kills (a pid
/// names a fork's child, tgkill's tid a thread's lines; wait4 is left to
/// socklab's end: the child ends there), a thread's entry into a lab
/// host (openat of /run/netns/..., setns, close: the replay puts that
/// actor on the host), each thread an actor (`[pid N] `), -y's
/// annotations dropped.
pub fn as_script(raw: &str) -> String {
    // The directory fds the program's openat gave, whose close is kept.
    let mut dirs: Vec<String> = Vec::new();
    let digits = |s: &str| {
        s.chars()
            .take_while(char::is_ascii_digit)
            .collect::<String>()
    };
    let keep = |c: &str| {
        if let Some(fd) = c.strip_prefix("close(").map(digits)
            && let Some(i) = dirs.iter().position(|d| *d == fd)
        {
            dirs.swap_remove(i);
            return true;
        }
        // A thread entering a lab host (the replay puts it there).
        let netns = c.contains(", \"/run/netns/");
        let program = crate::harness::cmp::is_program_call(c) || netns;
        if program
            && c.starts_with("openat(")
            && let Some((_, fd)) = c.rsplit_once(" = ")
        {
            dirs.push(digits(fd));
        }
        program
            || is_fork(c)
            || is_scripts_sigaction(c)
            || c.starts_with("kill(")
            || c.starts_with("rt_sigreturn(")
            || c.starts_with("setns(")
            || c.starts_with("tgkill(")
            || c.starts_with("fchmod(")
            || is_credential(c)
    };
    calls(raw, keep, is_fork)
        .into_iter()
        .map(|(pid, call)| format!("[pid {pid}] {}\n", own_pid(&strip_y(&call))))
        .collect()
}

/// An SCM_CREDENTIALS pid is the sender's own, another in each run:
/// `pid=...` (the kernel takes only the sender's), in each message.
fn own_pid(call: &str) -> String {
    const AT: &str = "cmsg_data={pid=";
    if !(call.starts_with("sendmsg(") || call.starts_with("recvmsg(")) {
        return call.to_string();
    }
    let mut c = call.to_string();
    let mut from = 0;
    while let Some(i) = c[from..].find(AT).map(|i| from + i + AT.len())
        && let Some(j) = c[i..].find(',')
    {
        c.replace_range(i..i + j, "...");
        from = i;
    }
    c
}

/// `3<socket:[123]>` -> `3`; a path's too: `AT_FDCWD</tmp/d>`, `4</tmp/d/x>`
/// -> `AT_FDCWD`, `4`.
fn strip_y(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    loop {
        let next = [("<socket:[", "]>"), ("</", ">")]
            .iter()
            .filter_map(|(open, close)| {
                let i = rest.find(open)?;
                let after = rest[..i].chars().last();
                (after.is_some_and(|c| c.is_ascii_digit()) || rest[..i].ends_with("AT_FDCWD"))
                    .then_some((i, *close))
            })
            .min();
        let Some((i, close)) = next else {
            break;
        };
        out.push_str(&rest[..i]);
        // A file gone since: strace -y prints `5</path>(deleted)`.
        let r = rest[i..].split_once(close).map_or("", |(_, r)| r);
        rest = r.strip_prefix("(deleted)").unwrap_or(r);
    }
    out.push_str(rest);
    out
}

/// The process calls of a raw trace, in order: forks (child_tidptr
/// dropped), the script's rt_sigaction (`sigaction`: false leaves them
/// out), kill, tgkill, wait4, exit_group; pids and tids as P1, P2... in
/// order of appearance (the program's own pid, its threads', its children's).
pub fn process_calls(raw: &str, sigaction: bool) -> Vec<String> {
    let keep = |c: &str| {
        is_fork(c)
            || (sigaction && is_scripts_sigaction(c))
            || is_credential(c)
            || ["kill(", "tgkill(", "wait4(", "exit_group("]
                .iter()
                .any(|p| c.starts_with(p))
    };
    let mut names: HashMap<String, String> = HashMap::new();
    let mut out = Vec::new();
    for (_, call) in calls(raw, keep, |_| true) {
        // Threads still running when the process exits: their own
        // exit_group never returns (the process's one does, `= ?`).
        if call.starts_with("exit_group(") && call.ends_with(" <unfinished ...>") {
            continue;
        }
        let mut call = call;
        if let Some(i) = call.find(", child_tidptr=")
            && let Some(j) = call[i..].find(')')
        {
            call.replace_range(i..i + j, "");
        }
        let call = addresses(&call);
        let mut text = String::new();
        let mut num = String::new();
        for ch in call.chars().chain(std::iter::once(' ')) {
            if ch.is_ascii_digit() {
                num.push(ch);
                continue;
            }
            if num.len() >= 3 {
                let n = names.len() + 1;
                let name = names.entry(num.clone()).or_insert_with(|| format!("P{n}"));
                text.push_str(name);
            } else {
                text.push_str(&num);
            }
            num.clear();
            text.push(ch);
        }
        // strace pads the result to a column (pids differ in length).
        while text.contains("  ") {
            text = text.replace("  ", " ");
        }
        // os.setgroups([]) passes an empty list, not NULL (explain.rs).
        let text = text
            .trim_end()
            .replace("setgroups(0, [])", "setgroups(0, NULL)");
        out.push(text);
    }
    out
}

/// A handler's and its restorer's addresses as `0x...` (another in
/// each program and each run).
fn addresses(call: &str) -> String {
    let mut out = String::new();
    let mut rest = call;
    while let Some(i) = rest.find("0x") {
        out.push_str(&rest[..i]);
        out.push_str("0x...");
        rest = rest[i + 2..].trim_start_matches(|c: char| c.is_ascii_hexdigit());
    }
    out.push_str(rest);
    out
}

/// Python's recvmsg and recvmsg_into always pass an address buffer (the
/// allow-list): where the script's own call at the same place in its
/// trace passed none (`msg_name=NULL`, what its line asked for), Python's
/// is taken back; where the line asked for the sender's name (AF_INET,
/// AF_INET6, AF_UNIX), Python's is compared as it came.
pub fn names_as_asked(script: &[String], python: Vec<String>) -> Vec<String> {
    python
        .into_iter()
        .enumerate()
        .map(|(k, mut c)| {
            let asked_none = script
                .get(k)
                .is_some_and(|s| s.starts_with("recvmsg(") && s.contains("{msg_name=NULL, "));
            if asked_none
                && c.starts_with("recvmsg(")
                && let Some(i) = c.find("msg_name=")
                && let Some(j) = c[i..].find(", msg_iov=")
            {
                c.replace_range(i..i + j, "msg_name=NULL, msg_namelen=0");
            }
            c
        })
        .collect()
}
