//! Issue 17: `socklab script FILE --emit c|python`. For every script lab
//! (src/lab/scripts) and every example script (examples/): the script,
//! its emitted C program and its emitted Python program, each run under
//! `strace -f`, make the same socket calls, normalised as `make compare`
//! normalises traces (`harness::cmp::strace_calls`): C identically,
//! Python identically once the calls the `socket` module adds (the
//! allow-list, `--emit python --explain`) are taken back. The C
//! program's trace, fed to `socklab script`, replays (the round trip).
//! A line that cannot be emitted is refused (exit 2, one line naming it).

use std::path::Path;
use std::process::Command;

use crate::harness::cmp::{side_by_side, strace_calls, trace_set};
use crate::harness::{Outcome, TempDir, run, socklab};

/// Every script lab and example: (its path from the crate root, a name).
fn scripts() -> Vec<(String, String)> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for (dir, tag) in [("src/lab/scripts", "lab"), ("examples", "example")] {
        let mut names: Vec<String> = std::fs::read_dir(root.join(dir))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.ends_with(".script"))
            .collect();
        names.sort();
        for n in names {
            let name = format!("{tag}-{}", n.trim_end_matches(".script"));
            out.push((root.join(dir).join(&n).display().to_string(), name));
        }
    }
    out
}

/// `cmd` under `strace -f -qq -e signal=none -y -e trace=... -o trace`,
/// with a time limit (`timeout 60`).
fn traced(cmd: &Command, trace: &str) -> Command {
    let mut t = Command::new("timeout");
    t.env_remove("LD_LIBRARY_PATH");
    t.args(["60", "strace", "-f", "-qq", "-e", "signal=none", "-y", "-e"])
        .arg(format!("trace={}", trace_set()))
        .arg("-o")
        .arg(trace)
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(d) = cmd.get_current_dir() {
        t.current_dir(d);
    }
    t
}

/// Run `cmd` under strace; its outcome and its normalised calls.
fn calls_of(cmd: &Command, dir: &TempDir, name: &str) -> (Outcome, Vec<String>, String) {
    let trace = dir.path(&format!("{name}.trace"));
    let out = run(traced(cmd, &trace), b"");
    let raw = std::fs::read_to_string(&trace).unwrap_or_default();
    (out, strace_calls(&raw), raw)
}

/// The program `socklab script FILE --emit LANG` writes.
fn emitted(file: &str, lang: &str) -> String {
    let out = run(socklab(&["script", file, "--emit", lang]), b"");
    out.assert_ok();
    out.stdout
}

/// The C program built in `dir` (cc -Wall -Wextra -Werror -pthread).
fn build_c(dir: &TempDir, file: &str) -> Command {
    let src = dir.path("twin.c");
    std::fs::write(&src, emitted(file, "c")).unwrap();
    let bin = dir.path("twin");
    let cc = run(
        {
            let mut c = Command::new("cc");
            c.args(["-Wall", "-Wextra", "-Werror", "-pthread", &src, "-o", &bin]);
            c
        },
        b"",
    );
    assert_eq!(cc.code(), Some(0), "{file}: cc failed\n{}", cc.dump());
    let mut cmd = Command::new(bin);
    cmd.current_dir(dir.dir());
    cmd
}

fn script_cmd(file: &str, dir: &TempDir) -> Command {
    let mut cmd = socklab(&["script", file]);
    cmd.current_dir(dir.dir());
    cmd
}

fn same(what: &str, a: &[String], b: &[String], dump: &str) {
    assert!(a.len() > 3, "{what}: too few calls: {a:?}\n{dump}");
    assert_eq!(a, b, "{what}\n{}\n{dump}", side_by_side(a, b));
}

/// The script and its C twin make the same calls; the C twin's trace replays.
fn c_twin(file: &str, name: &str) {
    let dir = TempDir::new("emit-c");
    let (s_out, s_calls, _) = calls_of(&script_cmd(file, &dir), &dir, "script");
    s_out.assert_ok();
    let (c_out, c_calls, raw) = calls_of(&build_c(&dir, file), &dir, "c");
    assert_eq!(c_out.code(), Some(0), "{name}: the C twin failed\n{}", c_out.dump());
    same(&format!("{name}: script (left) vs C (right)"), &s_calls, &c_calls, &c_out.dump());
    // The round trip: the C twin's trace, as a script, passes.
    let replay = dir.path("replay.script");
    std::fs::write(&replay, as_script(&raw)).unwrap();
    let back = run(socklab(&["script", &replay]), b"");
    assert_eq!(
        back.code(),
        Some(0),
        "{name}: the C twin's trace does not replay\n{}\n{}",
        as_script(&raw),
        back.dump()
    );
}

/// A raw `strace -f -o` trace as a script: the program's own socket
/// calls, each thread an actor (`[pid N] `), -y's annotations dropped.
pub fn as_script(raw: &str) -> String {
    let mut out = String::new();
    for line in raw.lines() {
        let (pid, call) = line.split_once(' ').unwrap_or(("", line));
        let call = call.trim_start();
        let resumed = call.starts_with("<... ");
        if !resumed && !crate::harness::cmp::is_program_call(call) {
            continue;
        }
        if resumed && !out.contains(&format!("[pid {pid}] {}", "")) {
            continue;
        }
        out.push_str(&format!("[pid {pid}] {}\n", strip_y(call)));
    }
    out
}

/// `3<socket:[123]>` -> `3`.
fn strip_y(line: &str) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("<socket:[") {
        out.push_str(&rest[..i]);
        rest = rest[i..].split_once("]>").map_or("", |(_, r)| r);
    }
    out.push_str(rest);
    out
}

macro_rules! twins {
    ($($test:ident: $name:literal,)*) => {
        const NAMES: &[&str] = &[$($name),*];
        $(
            #[test]
            fn $test() {
                let (file, name) = scripts().into_iter().find(|(_, n)| n == $name).unwrap();
                c_twin(&file, &name);
            }
        )*
    };
}

twins! {
    emit_c_lab_accept_without_listen: "lab-accept-without-listen",
    emit_c_lab_close_vs_blocked_accept: "lab-close-vs-blocked-accept",
    emit_c_lab_connect_twice: "lab-connect-twice",
    emit_c_lab_listen_without_bind: "lab-listen-without-bind",
    emit_c_lab_nagle_stall: "lab-nagle-stall",
    emit_c_lab_peek_waitall: "lab-peek-waitall",
    emit_c_lab_recv_after_shut_rd: "lab-recv-after-shut-rd",
    emit_c_lab_self_connect: "lab-self-connect",
    emit_c_lab_send_after_shut_wr: "lab-send-after-shut-wr",
    emit_c_lab_socketpair_rights: "lab-socketpair-rights",
    emit_c_example_blocked_accept: "example-blocked-accept",
    emit_c_example_connect_twice: "example-connect-twice",
    emit_c_example_nonblocking_connect: "example-nonblocking-connect",
    emit_c_example_phone_call: "example-phone-call",
    emit_c_example_udp_echo: "example-udp-echo",
}

#[test]
fn emit_covers_every_script_lab_and_example() {
    let all: Vec<String> = scripts().into_iter().map(|(_, n)| n).collect();
    assert_eq!(all, NAMES, "a script lab or example without its twin test");
}

#[test]
fn emit_refuses_what_it_cannot_write_faithfully() {
    let dir = TempDir::new("emit-refuse");
    let file = dir.path("unix.script");
    std::fs::write(&file, "s = socket(AF_UNIX, SOCK_STREAM, 0)\nbind(s, /tmp/x.sock) = 0\n").unwrap();
    let out = run(socklab(&["script", &file, "--emit", "c"]), b"");
    out.assert_code(2);
    assert!(out.stdout.is_empty(), "{}", out.dump());
    assert!(
        out.stderr.contains(&format!("{file}:2: cannot emit: AF_UNIX addresses")),
        "{}",
        out.dump()
    );
}
