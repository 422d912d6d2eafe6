//! A program's trace split as strace -f splits it (issue 15 item 2): with
//! several tasks, a call that another task's line follows before it
//! returns is printed as `[pid N] accept4(4,  <unfinished ...>` and
//! `[pid N] <... accept4 resumed>{...}, [128 => 16], SOCK_CLOEXEC) = 6`
//! (src/strace/open_line.rs). Compared with strace -f's own lines for
//! the same run, not joined: per task and call, whole or split.
//!
//! Which calls are compared: right after a fork or a thread start both
//! tasks run at once until each blocks, and there microseconds decide
//! whether a line of one comes inside a call of the other; socklab
//! marks a call's entry just before the kernel sees it and its return
//! just after, strace just after and just before, so a fast call can be
//! split by one and whole for the other. Those calls are left out: the
//! spawner's from its clone/clone3 to its next blocking call (not
//! included: it waits while the other task prints, the test sees to it),
//! and the new task's up to its first blocking call (included: whether
//! the spawner's entries came before it is the race). Every other call's
//! shape must be the same; the test paces the clients so that each
//! blocking call waits across the other task's lines (no sleeps: it
//! waits until the tasks are blocked in their calls).

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::TcpStream;

use super::tasks::wait_for_line;
use super::under::{self, tcp_model};
use super::*;

/// A call as one of the two traces shows it: its name, the text of its
/// entry (or its whole line) and whether it was split.
#[derive(Debug)]
struct Shown {
    name: String,
    line: String,
    split: bool,
}

/// socklab's lines as (the task's pid, or None: no prefix; the line),
/// a split call joined where its `<... NAME resumed>` half is, with its
/// entry's prefix (socklab splits calls as strace -f does: unfinished.rs).
pub(super) fn socklab_tasks(path: &str) -> Vec<(Option<i32>, String)> {
    let mut open: BTreeMap<Option<i32>, String> = BTreeMap::new();
    let mut joined = Vec::new();
    for (pid, line) in socklab_lines(path) {
        if let Some(head) = line.strip_suffix(" <unfinished ...>") {
            open.insert(pid, head.to_string());
            continue;
        }
        let Some(rest) = line.strip_prefix("<... ") else {
            joined.push((pid, line));
            continue;
        };
        let (name, tail) = rest.split_once(" resumed>").expect("resumed");
        // The task's entry half: under its pid, or (the first task's
        // prefix may have come or gone in between) the open one of NAME.
        let key = match open.contains_key(&pid) {
            true => pid,
            false => {
                *open
                    .iter()
                    .find(|(_, h)| h.starts_with(&format!("{name}(")))
                    .expect("unfinished first")
                    .0
            }
        };
        let head = open.remove(&key).expect("unfinished");
        joined.push((key, format!("{head}{tail}")));
    }
    joined
}

/// socklab's lines as they are: (the task's pid, or None; the line),
/// its notes and rt_sigaction lines left out.
pub(super) fn socklab_lines(path: &str) -> Vec<(Option<i32>, String)> {
    let text = std::fs::read_to_string(path).expect("read --trace-file");
    text.lines()
        .map(|l| match l.strip_prefix("[pid ") {
            Some(rest) => {
                let (pid, line) = rest.split_once("] ").expect("[pid N] ");
                // strace -f's own format: `[pid %5u] `.
                assert_eq!(pid.len(), pid.trim_start().len().max(5), "{l:?}");
                (
                    Some(pid.trim_start().parse().expect("pid")),
                    line.to_string(),
                )
            }
            None => (None, l.to_string()),
        })
        // `--model fork`'s rt_sigaction(SIGCHLD, ...): the strace sets
        // these lines are compared with leave the row out (the runtime's
        // own rt_sigaction calls are not socklab's); starts.rs compares it.
        .filter(|(_, l)| !l.starts_with("rt_sigaction("))
        .filter(|(_, l)| {
            !is_note(l)
                || l.starts_with("--- SIG")
                || l.starts_with("+++ killed")
                || l.starts_with("<... ")
        })
        .collect()
}

/// Each task's calls, in order, from lines (task, line) as written: a
/// split call where its entry is, and the `<... NAME resumed>` half must
/// be that task's next line (else the structure is broken).
fn shapes(lines: impl Iterator<Item = (i32, String)>) -> BTreeMap<i32, Vec<Shown>> {
    let mut tasks: BTreeMap<i32, Vec<Shown>> = BTreeMap::new();
    let mut open: BTreeMap<i32, String> = BTreeMap::new();
    for (pid, line) in lines {
        if line.starts_with("---") || line.starts_with("+++") || line.starts_with("exit(") {
            assert!(!open.contains_key(&pid), "{pid}: {line} inside a call");
            continue;
        }
        if let Some(rest) = line.strip_prefix("<... ") {
            let (name, tail) = rest.split_once(" resumed>").expect("resumed");
            let entry = open.remove(&pid).expect("resumed without its entry");
            assert!(entry.starts_with(&format!("{name}(")), "{pid}: {line}");
            // The whole call's text (its flags: wait4's WNOHANG).
            if let Some(c) = tasks.get_mut(&pid).and_then(|t| t.last_mut()) {
                c.line = format!("{entry}{tail}");
            }
            continue;
        }
        assert!(!open.contains_key(&pid), "{pid}: {line} before a resume");
        let name = line.split('(').next().unwrap_or("").to_string();
        let split = line.ends_with(" <unfinished ...>");
        if split {
            open.insert(pid, line.clone());
        }
        tasks
            .entry(pid)
            .or_default()
            .push(Shown { name, line, split });
    }
    assert!(open.is_empty(), "never resumed: {open:?}");
    tasks
}

/// A call that waits for the test's next step.
fn blocking(c: &Shown) -> bool {
    c.name == "accept4"
        || c.name == "recvfrom"
        || (c.name == "wait4" && !c.line.contains("WNOHANG"))
}

/// The calls compared (see the module's doc): (name, split).
fn compared(calls: &[Shown], first: bool) -> Vec<(String, bool)> {
    let mut out = Vec::new();
    // A new task races until its first blocking call, that one included.
    let mut racing = !first;
    for c in calls {
        if c.name == "clone" || c.name == "clone3" {
            racing = true;
            continue;
        }
        if racing {
            if blocking(c) {
                racing = false;
                if first {
                    out.push((c.name.clone(), c.split));
                }
            }
            continue;
        }
        out.push((c.name.clone(), c.split));
    }
    out
}

/// strace -f's `-e trace=` set here: the models' calls, the signal
/// handlers' returns, and not glibc's own thread masks (rt_sigprocmask
/// around its clone3 and at a thread's end, which socklab does not make).
fn filter() -> String {
    let set = format!("{},rt_sigreturn", model_filter());
    let calls: Vec<&str> = set.split(',').filter(|c| *c != "rt_sigprocmask").collect();
    calls.join(",")
}

/// Run `socklab --trace-file T ARGS` under `strace -f -q -o S`; the
/// server, socklab's pid, S and T.
fn start(dir: &TempDir, args: &[&str]) -> (Server, i32, String, String) {
    let filter = filter();
    let options = ["-q", "-e", "signal=SIGCHLD", "-e", &filter];
    let (cmd, out, trace) = under::command(dir, &options, args);
    let server = Server::start_cmd(cmd);
    let pid = under::traced_pid(server.pid());
    (server, pid, out, trace)
}

/// Wait (bounded) for a task of `pid` not in `old`: a thread (`task`)
/// or a child process (`children`).
fn new_task(pid: i32, threads: bool, old: &[i32]) -> i32 {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let found: Vec<i32> = if threads {
            std::fs::read_dir(format!("/proc/{pid}/task"))
                .expect("tasks")
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
                .collect()
        } else {
            std::fs::read_to_string(format!("/proc/{pid}/task/{pid}/children"))
                .unwrap_or_default()
                .split_whitespace()
                .filter_map(|p| p.parse().ok())
                .collect()
        };
        if let Some(t) = found.iter().find(|t| **t != pid && !old.contains(t)) {
            return *t;
        }
        assert!(std::time::Instant::now() < deadline, "no new task of {pid}");
        std::thread::yield_now();
    }
}

/// One client's exchange, once its server task waits in recvfrom and
/// the spawner in `spawner_in`: send, read the reply, close.
fn converse(mut c: TcpStream, task: i32, pid: i32, spawner_in: libc::c_long) {
    harness::blocked_in(task, libc::SYS_recvfrom);
    harness::blocked_in(pid, spawner_in);
    c.write_all(b"one").expect("send");
    let mut reply = [0u8; 3];
    c.read_exact(&mut reply).expect("reply");
    assert_eq!(&reply, b"ONE");
}

/// Both traces, per task (strace's from socklab's first call on), with
/// the shapes compared; returns socklab's.
fn assert_same_shapes(out: &str, trace: &str, pid: i32) -> BTreeMap<i32, Vec<Shown>> {
    let theirs = under::lines(out)
        .into_iter()
        .map(|(p, line)| (p, unpad(&line)))
        .skip_while(|(_, l)| !l.starts_with("socket("))
        .filter(|(_, l)| !is_runtime_call(l));
    let theirs = shapes(theirs);
    let ours = socklab_lines(trace)
        .into_iter()
        .map(|(p, l)| (p.unwrap_or(pid), l));
    let ours = shapes(ours);
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    for (task, calls) in &theirs {
        let first = *task == pid;
        let mine = compared(&ours[task], first);
        let want = compared(calls, first);
        assert_eq!(
            mine, want,
            "task {task}: socklab {ours:#?}\nstrace -f {theirs:#?}"
        );
    }
    ours
}

/// The first task's accept4 that waited while another task printed is
/// split (strace -f splits it too: compared above).
fn assert_accept_split(ours: &BTreeMap<i32, Vec<Shown>>, pid: i32) {
    let split = ours[&pid].iter().filter(|c| c.name == "accept4" && c.split);
    assert_eq!(split.count(), 1, "{ours:#?}");
}

/// `--model thread --max-conns 2`: the main thread's accept4 waits while
/// the first connection's thread serves it (recvfrom, sendto, recvfrom,
/// close): `[pid M] accept4(4,  <unfinished ...>` ... `<... accept4
/// resumed>` as strace -f prints it; the threads' calls after their first
/// wait are whole, as strace's. It failed before socklab split calls (one
/// whole accept4 line, written at its return).
#[test]
fn thread_model_calls_split_as_strace_f_splits_them() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("split-thread");
    let (server, pid, out, trace) = start(&dir, &tcp_model("thread", "2"));
    let c = TcpStream::connect(&server.addr).expect("connect");
    let first = new_task(pid, true, &[]);
    wait_for_line(&trace, &format!("parent_tid=[{first}]}}, 88) = {first}"));
    converse(c, first, pid, libc::SYS_accept4);
    wait_for_line(&trace, &format!("[pid {first:>5}] close("));
    let c = TcpStream::connect(&server.addr).expect("connect");
    let second = new_task(pid, true, &[first]);
    wait_for_line(&trace, &format!("parent_tid=[{second}]}}, 88) = {second}"));
    // The main thread joins the threads (a futex wait, not traced).
    converse(c, second, pid, libc::SYS_futex);
    server.finish().assert_ok();
    let ours = assert_same_shapes(&out, &trace, pid);
    assert_accept_split(&ours, pid);
}

/// `--model fork --max-conns 2`: the parent's accept4 waits while the
/// first child serves (split, then `= ? ERESTARTSYS` when SIGCHLD comes),
/// its `wait4(CHILD, ...)` while the second does (split); strace -f
/// splits the same calls. It failed before socklab split calls.
#[test]
fn fork_model_calls_split_as_strace_f_splits_them() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("split-fork");
    let (server, pid, out, trace) = start(&dir, &tcp_model("fork", "2"));
    let c = TcpStream::connect(&server.addr).expect("connect");
    let first = new_task(pid, false, &[]);
    wait_for_line(&trace, &format!(") = {first}"));
    converse(c, first, pid, libc::SYS_accept4);
    wait_for_line(&trace, "wait4(-1, [{WIFEXITED(s)");
    harness::blocked_in(pid, libc::SYS_accept4);
    let c = TcpStream::connect(&server.addr).expect("connect");
    let second = new_task(pid, false, &[first]);
    wait_for_line(&trace, &format!(") = {second}"));
    converse(c, second, pid, libc::SYS_wait4);
    server.finish().assert_ok();
    let ours = assert_same_shapes(&out, &trace, pid);
    assert_accept_split(&ours, pid);
    let waited = ours[&pid]
        .iter()
        .filter(|c| blocking(c) && c.name == "wait4" && c.split);
    assert_eq!(waited.count(), 1, "{ours:#?}");
}
