//! pthread_create's `clone3` and the new thread's first line (issue 15):
//! strace -f prints the clone3's return before any line of the new
//! thread (the new task stays stopped until strace has seen the clone3
//! return); another, older task's line may split the clone3 into
//! `clone3({...} <unfinished ...>` / `<... clone3 resumed> =>
//! {parent_tid=[N]}, 88) = N`. socklab's own `--trace` does both: the
//! new thread opens its clone3's entry for its parent, then waits for
//! its clone3's line before its first one (sys/threads.rs).

use std::io::{Read, Write};
use std::net::{Shutdown, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use super::tasks::strace_tasks;
use super::under;
use super::*;

/// `--model prethread:8 --max-conns 1`: seven clone3s in a row, each
/// new thread blocking in accept4 at once.
const ARGS: [&str; 7] = [
    "tcp",
    "server",
    "127.0.0.1:0",
    "--model",
    "prethread:8",
    "--max-conns",
    "1",
];

/// Each `clone3(...) = N` line (or its resumed half) comes before every
/// line of task N (`[pid N] ` in socklab's trace, `N ` in strace -o's
/// file).
fn assert_clone3_first(text: &str, task: fn(&str) -> Option<i32>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut seen = 0;
    for (i, l) in lines.iter().enumerate() {
        // Its return: the whole line, or `<... clone3 resumed> =>
        // {parent_tid=[N]}, 88) = N` (another task's line cut it).
        let Some(tid) = l
            .rsplit_once("}, 88) = ")
            .filter(|_| l.contains("clone3"))
            .and_then(|(_, n)| n.trim().parse::<i32>().ok())
        else {
            continue;
        };
        seen += 1;
        let early = lines[..i].iter().find(|x| task(x) == Some(tid));
        assert!(early.is_none(), "{early:?} before its clone3:\n{text}");
    }
    assert_eq!(seen, 7, "{text}");
}

fn socklab_task(line: &str) -> Option<i32> {
    let rest = line.strip_prefix("[pid ")?;
    rest.split_once(']')?.0.trim().parse().ok()
}

fn strace_task(line: &str) -> Option<i32> {
    line.split_once(' ')?.0.parse().ok()
}

fn one_run(dir: &TempDir, n: usize, under_strace: bool) {
    let trace = dir.path(&format!("run{n}.trace"));
    let out = dir.path(&format!("run{n}.strace"));
    let mut cmd = if under_strace {
        under::socklab(&["-qq", "-e", "trace=clone3,accept4,close"], &out)
    } else {
        Command::new(harness::bin())
    };
    cmd.args(["--trace-file", &trace]);
    cmd.args(ARGS);
    let server = Server::start_cmd(cmd);
    run(
        harness::socklab(&["tcp", "client", &server.addr, "-m", "one"]),
        b"",
    )
    .assert_ok();
    server.finish().assert_ok();
    assert_clone3_first(&std::fs::read_to_string(&trace).unwrap(), socklab_task);
    if under_strace {
        assert_clone3_first(&std::fs::read_to_string(&out).unwrap(), strace_task);
    }
}

/// Eight runs on their own (before the fix, 3 runs in 10 had a new
/// thread's `accept4(4,  <unfinished ...>` before its clone3), one
/// under strace -f, whose file is held to the same rule.
#[test]
fn a_new_threads_first_line_comes_after_its_whole_clone3_as_in_strace_f() {
    let dir = TempDir::new("clone3-order");
    for n in 0..8 {
        one_run(&dir, n, false);
    }
    if have("strace") {
        one_run(&dir, 8, true);
    }
}

/// One client streams lines (its server thread prints a recvfrom and a
/// sendto line per read) while `n` others connect one after another,
/// each waiting for its reply: the main thread's clone3s run while an
/// older thread prints.
fn stream_while_others_connect(addr: &str, n: usize) {
    let mut a = TcpStream::connect(addr).unwrap();
    // Its thread runs: a reply came.
    a.write_all(b"x\n").unwrap();
    let mut two = [0u8; 2];
    a.read_exact(&mut two).unwrap();
    let mut reader = a.try_clone().unwrap();
    let drain = std::thread::spawn(move || {
        let mut b = [0u8; 65536];
        while matches!(reader.read(&mut b), Ok(k) if k > 0) {}
    });
    let stop = Arc::new(AtomicBool::new(false));
    let (mut w, until) = (a.try_clone().unwrap(), stop.clone());
    let writer =
        std::thread::spawn(
            move || {
                while !until.load(Ordering::SeqCst) && w.write_all(b"x\n").is_ok() {}
            },
        );
    for _ in 0..n {
        let mut b = TcpStream::connect(addr).unwrap();
        b.write_all(b"hi\n").unwrap();
        let mut reply = [0u8; 3];
        b.read_exact(&mut reply).unwrap();
        assert_eq!(&reply, b"HI\n");
    }
    stop.store(true, Ordering::SeqCst);
    writer.join().unwrap();
    a.shutdown(Shutdown::Write).unwrap();
    drain.join().unwrap();
}

/// The clone3s split in `text` (lines as (task, line)): each
/// `clone3({...} <unfinished ...>` (strace's entry: the struct, nothing
/// of what the kernel wrote) must be followed, as that task's next line,
/// by `<... clone3 resumed> => {parent_tid=[N]}, 88) = N`.
fn split_clone3s(lines: &[(i32, &str)]) -> usize {
    let mut splits = 0;
    for (i, (task, l)) in lines.iter().enumerate() {
        if !(l.starts_with("clone3(") && l.ends_with(" <unfinished ...>")) {
            continue;
        }
        assert!(
            l.ends_with("} <unfinished ...>") && !l.contains(" => "),
            "{l}"
        );
        let next = lines[i + 1..].iter().find(|(t, _)| t == task);
        let resumed = next.map_or("", |(_, r)| r);
        let n = resumed
            .strip_prefix("<... clone3 resumed> => {parent_tid=[")
            .and_then(|r| r.split_once("]}, 88) = "))
            .filter(|(a, b)| a == b);
        assert!(n.is_some(), "{l}\nthen {resumed:?}");
        splits += 1;
    }
    splits
}

/// `--model thread`, eight connections while a ninth streams, under
/// strace -f (every call of every task is slower there, so most of the
/// clone3s are cut by the streaming thread's lines; a run with none cut
/// is rare, 1 in 20: up to four runs): socklab's trace splits clone3s
/// as strace prints its split ones, and each clone3, joined, is the
/// same call in both.
#[test]
fn a_clone3_cut_by_an_older_threads_line_is_split_as_strace_f_splits_it() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("clone3-split");
    let mut splits = 0;
    for n in 0..4 {
        splits += split_run(&dir, n);
        if splits > 0 {
            break;
        }
    }
    assert!(splits > 0, "no clone3 split in four runs");
}

/// One run of the test above: how many clone3s socklab split.
fn split_run(dir: &TempDir, n: usize) -> usize {
    let trace = dir.path(&format!("run{n}.trace"));
    let out = dir.path(&format!("run{n}.strace"));
    let filter = "trace=clone3,accept4,recvfrom,sendto,close";
    let mut cmd = under::socklab(&["-qq", "-e", filter], &out);
    cmd.args(["--trace-file", &trace]);
    cmd.args(["tcp", "server", "127.0.0.1:0", "--model", "thread"]);
    cmd.args(["--max-conns", "9"]);
    let server = Server::start_cmd(cmd);
    stream_while_others_connect(&server.addr, 8);
    server.finish().assert_ok();
    let ours = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<(i32, &str)> = ours
        .lines()
        .map(|l| (socklab_task(l).unwrap_or(0), harness::untask(l)))
        .collect();
    let splits = split_clone3s(&lines);
    // strace's own split clone3s have that form too.
    let theirs = std::fs::read_to_string(&out).unwrap();
    let raw: Vec<(i32, &str)> = theirs
        .lines()
        .filter_map(|l| l.split_once(' '))
        .map(|(p, l)| (p.parse().unwrap(), l.trim_start()))
        .collect();
    split_clone3s(&raw);
    // The same calls, joined.
    let mine: Vec<String> = harness::joined_calls(&ours)
        .into_iter()
        .filter(|c| c.starts_with("clone3("))
        .collect();
    let (tasks, _) = strace_tasks(&out);
    let strace: Vec<String> = tasks
        .values()
        .flatten()
        .filter(|c| c.starts_with("clone3("))
        .cloned()
        .collect();
    assert_eq!(mine, strace, "{ours}");
    assert_eq!(mine.len(), 9, "{ours}");
    assert_clone3_first_all(&ours, socklab_task);
    splits
}

/// Each clone3's return comes before every line of its new task.
fn assert_clone3_first_all(text: &str, task: fn(&str) -> Option<i32>) {
    let lines: Vec<&str> = text.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let Some((_, n)) = l.rsplit_once("}, 88) = ").filter(|_| l.contains("clone3")) else {
            continue;
        };
        let tid = n.trim().parse::<i32>().ok();
        let early = lines[..i].iter().find(|x| task(x) == tid);
        assert!(early.is_none(), "{early:?} before its clone3:\n{text}");
    }
}
