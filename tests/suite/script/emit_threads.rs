//! Issue 17's twins of a clone3 line (a thread actor a script starts,
//! src/script/birth.rs; emit/threads.rs): C starts it with
//! pthread_create, Python with threading.Thread.start(), both of which
//! make the clone3 on the parent actor's thread; the new actor's lines
//! are made by the thread that clone3 made (strace -f), and the socket
//! calls are the script's (the twins' comparison; C's trace replays).

use std::process::Command;

use super::emit::{build_c, c_twin, emitted, python, python_twin};
use crate::harness::{TempDir, run, socklab};

/// A thread started by main's clone3 line (its tid a label, `[pid 201]`
/// its lines), a socket each.
const BORN: &str = "\
clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID, child_tid=0x7f0000000910, parent_tid=0x7f0000000910, exit_signal=0, stack=0x7f0000000000, stack_size=0x7fff00, tls=0x7f0000000640} => {parent_tid=[201]}, 88) = 201
[pid 201] s = socket(AF_INET, SOCK_STREAM, IPPROTO_TCP) = 3
[pid 201] gettid() = 201
[pid 201] close(s) = 0
t = socket(AF_INET, SOCK_DGRAM, 0) = 3
close(t) = 0
";

/// `cmd` under strace -f: which task made the clone3 that made the task
/// of the stream socket, and whether that task is the datagram socket's
/// (main's) — the clone3 is the parent actor's, its thread the child's.
fn born_where(cmd: &Command, dir: &TempDir, name: &str) -> (bool, String) {
    let trace = dir.path(&format!("{name}.trace"));
    let mut t = Command::new("timeout");
    t.args([
        "60",
        "strace",
        "-f",
        "-qq",
        "-e",
        "trace=clone3,socket",
        "-o",
    ])
    .arg(&trace)
    .arg(cmd.get_program())
    .args(cmd.get_args());
    let out = run(t, b"");
    out.assert_ok();
    let raw = std::fs::read_to_string(&trace).unwrap();
    let task = |what: &str| {
        raw.lines()
            .find(|l| l.contains(what))
            .and_then(|l| l.split_whitespace().next())
            .unwrap_or("?")
            .to_string()
    };
    let (stream, dgram) = (
        task("socket(AF_INET, SOCK_STREAM"),
        task("socket(AF_INET, SOCK_DGRAM"),
    );
    let made = raw.lines().any(|l| {
        l.starts_with(&format!("{dgram} "))
            && l.contains("clone3(")
            && l.trim_end().ends_with(&format!("= {stream}"))
    });
    (made, raw)
}

#[test]
fn emit_twins_of_a_clone3_line_start_the_thread_there() {
    let dir = TempDir::new("emit-threads");
    let file = dir.path("born.script");
    std::fs::write(&file, BORN).unwrap();
    let c = emitted(&file, "c");
    assert!(
        c.contains("r = Born(1);") && c.contains("PidIs(1, 201, r);"),
        "{c}"
    );
    let (ok, raw) = born_where(&socklab(&["script", &file]), &dir, "script");
    assert!(ok, "socklab\n{raw}");
    let (ok, raw) = born_where(&build_c(&dir, &file), &dir, "c");
    assert!(ok, "C\n{raw}");
    let src = dir.path("twin.py");
    std::fs::write(&src, emitted(&file, "python")).unwrap();
    let mut py = Command::new(python());
    py.arg(&src);
    let (ok, raw) = born_where(&py, &dir, "python");
    assert!(ok, "Python\n{raw}");
    c_twin(&file, "clone3");
    python_twin(&file, "clone3");
}
