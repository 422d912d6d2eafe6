//! The emitted twins' raw `strace -f` traces, read back: as a script (the
//! round trip: each thread an actor `[pid N]`, a fork's `clone` line
//! joined whole so that its child's lines run in the process it made),
//! and the process calls (fork, the script's own rt_sigaction, kill,
//! tgkill, wait4, exit_group) normalised for comparison; the Python
//! twin's allow-list taken back.

use std::collections::HashMap;

/// The process calls strace is asked for beside the socket calls (and
/// fchmod, which the file rows do not name: unix-family's directory).
pub const PROCESS_CALLS: &str = "clone,rt_sigaction,kill,tgkill,wait4,exit_group,\
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
fn calls(
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
/// calls, its forks, its processes' rt_sigaction and its kills (a pid
/// names a fork's child, tgkill's tid a thread's lines; wait4 is left to
/// socklab's end: the child ends there), each thread an actor
/// (`[pid N] `), -y's annotations dropped.
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
        let program = crate::harness::cmp::is_program_call(c);
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
/// `pid=...` (the kernel takes only the sender's).
fn own_pid(call: &str) -> String {
    if (call.starts_with("sendmsg(") || call.starts_with("recvmsg("))
        && let Some(i) = call.find("cmsg_data={pid=")
        && let Some(j) = call[i..].find(',')
    {
        let mut c = call.to_string();
        c.replace_range(i + "cmsg_data={pid=".len()..i + j, "...");
        return c;
    }
    call.to_string()
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
        rest = rest[i..].split_once(close).map_or("", |(_, r)| r);
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

/// Socket calls, and the program's file calls on relative paths (the
/// interpreter's imports open and stat files by absolute paths; the
/// scripts made in tests name theirs relative to their TempDir).
fn sockets_only(call: &str) -> bool {
    call.starts_with("socket(")
        || call.starts_with("socketpair(")
        || crate::harness::cmp::is_on_socket(call)
        || (python_file_call(call).is_some() || crate::harness::cmp::is_program_call(call))
            && call
                .split_once('"')
                .is_some_and(|(_, path)| !path.starts_with('/'))
}

/// Python's call for a script's *at call on AT_FDCWD, as the script's
/// (`mkdir("d", 0700)` is `mkdirat(AT_FDCWD, "d", 0700)`).
fn python_file_call(c: &str) -> Option<String> {
    let (args, ret) = c.split_once('(')?.1.rsplit_once(" = ")?;
    let args = args.trim_end().strip_suffix(')')?;
    Some(match c.split_once('(')?.0 {
        "mkdir" => format!("mkdirat(AT_FDCWD, {args}) = {ret}"),
        "chmod" => format!("fchmodat(AT_FDCWD, {args}) = {ret}"),
        "rmdir" => format!("unlinkat(AT_FDCWD, {args}, AT_REMOVEDIR) = {ret}"),
        _ => return None,
    })
}

/// The AF_UNIX and file-call rules of the allow-list, on both sides: -y's
/// `AT_FDCWD<CWD>`, unlinkat(AT_FDCWD, P, 0) as unlink(P), openat's
/// O_CLOEXEC, msg_namelen's buffer size; Python's side: its calls for
/// the *at calls, its sockaddr_un-sized buffers (`[110 => N]`), and a
/// path's length with its terminating NUL.
fn unix_rules(c: &str, python: bool) -> String {
    let mut c = c.to_string();
    while let Some(i) = c.find("AT_FDCWD<")
        && let Some(j) = c[i..].find('>')
    {
        c.replace_range(i + "AT_FDCWD".len()..i + j + 1, "");
    }
    if python && let Some(p) = python_file_call(&c) {
        c = p;
    }
    if let Some(rest) = c.strip_prefix("unlinkat(AT_FDCWD, ")
        && let Some((path, ret)) = rest.split_once(", 0) = ")
    {
        c = format!("unlink({path}) = {ret}");
    }
    if c.starts_with("openat(") {
        c = c.replace("|O_CLOEXEC", "");
    }
    for size in ["128", "110"] {
        c = c.replace(&format!("msg_namelen={size} => "), "msg_namelen=");
    }
    if python {
        c = c.replace("[110 => ", "[");
        let named = ["bind(", "connect(", "sendto("]
            .iter()
            .any(|p| c.starts_with(p));
        if named
            && c.contains("sun_path=\"")
            && let Some((head, tail)) = c.rsplit_once("}, ")
            && let Some((n, rest)) = tail.split_once(')')
            && let Ok(n) = n.parse::<u32>()
        {
            c = format!("{head}}}, {}){rest}", n - 1);
        }
    }
    c
}

/// The allow-list (explain.rs) taken back, on the raw calls. Python's
/// side: the calls its socket objects make of themselves left out: a
/// getsockname with the whole sockaddr buffer (`[128 => N]`: a socket
/// object made from a new fd checking it, after accept4 and socketpair;
/// its own getsockname passes the family's length) and, after it,
/// SO_TYPE and SO_PROTOCOL (`socket.socket(fileno=)` on a received fd);
/// recvmsg_into's msg_name buffer as NULL. Both sides: socket calls only (the
/// interpreter's imports open and stat files), SOCK_CLOEXEC on socket
/// and socketpair, accept4 as accept (its flags), an address length's
/// `128 => `, a failed accept's address length, a cut accept's address.
pub fn allowed(python: bool) -> impl FnMut(&str) -> Option<String> {
    let mut after_own = false;
    move |c: &str| {
        if !sockets_only(c) {
            return None;
        }
        if python && c.starts_with("getsockname(") && c.contains("[128 => ") {
            after_own = true;
            return None;
        }
        if python
            && after_own
            && (c.contains("SOL_SOCKET, SO_TYPE, ") || c.contains("SOL_SOCKET, SO_PROTOCOL, "))
        {
            return None;
        }
        after_own = false;
        let mut c = unix_rules(c, python);
        if c.starts_with("socket(") || c.starts_with("socketpair(") {
            c = c.replace("|SOCK_CLOEXEC", "").replace("SOCK_CLOEXEC|", "");
        }
        if let Some(rest) = c.strip_prefix("accept4(")
            && let Some((call, ret)) = rest.rsplit_once(") = ")
            && let Some((args, _flags)) = call.rsplit_once(", ")
        {
            c = format!("accept({args}) = {ret}");
        }
        while let Some(i) = c.find("[128 => ") {
            c.replace_range(i + 1..i + "[128 => ".len(), "");
        }
        if c.starts_with("accept(") && c.contains(") = -1 ") {
            for len in ["[128])", "[16])", "[28])"] {
                c = c.replace(len, "[LEN])");
            }
        }
        // An accept a signal cut short (`= ?`): Python's address buffer,
        // which the kernel never filled, against the script's NULLs (the
        // result's column padding squeezed first).
        while c.contains("  = ") {
            c = c.replace("  = ", " = ");
        }
        if c.starts_with("accept(")
            && let Some((call, ret)) = c.rsplit_once(") = ")
            && ret.starts_with('?')
            && let Some((fd, _)) = call.split_once(", ")
        {
            c = format!("{fd}, ADDR) = {ret}");
        }
        // recvmsg and recvmsg_into always pass an address buffer (the
        // allow-list). An AF_UNIX name is compared as written: the unix
        // examples ask for it (an inet msg_name asked for is not told
        // apart from Python's own here).
        if python
            && c.starts_with("recvmsg(")
            && let Some(i) = c.find("msg_name=")
            && (!c.contains("msg_iovlen=1,") || !c[i..].starts_with("msg_name={sa_family=AF_UNIX"))
            && !c[i..].starts_with("msg_name=NULL")
            && let Some(j) = c[i..].find(", msg_iov=")
        {
            c.replace_range(i..i + j, "msg_name=NULL, msg_namelen=0");
        }
        // os.dup is fcntl(F_DUPFD_CLOEXEC, 0) (PEP 446).
        if python
            && let Some(rest) = c.strip_prefix("fcntl(")
            && let Some((fd, ret)) = rest.split_once(", F_DUPFD_CLOEXEC, 0) = ")
        {
            c = format!("dup({fd}) = {ret}");
        }
        Some(c)
    }
}

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
