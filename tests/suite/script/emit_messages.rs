//! What `--emit` and its twins say: a line it cannot write is refused
//! (exit 2, one line naming it), `--emit python --explain` names each call
//! the `socket` module adds and why, a twin's failed expectation exits 1
//! with the line.

use std::process::Command;

use super::emit::{build_c, emitted, python};
use crate::harness::{TempDir, run, socklab};

#[test]
fn emit_python_explain_lists_each_extra_call_with_why() {
    let out = run(
        socklab(&["script", "-", "--emit", "python", "--explain"]),
        b"",
    );
    out.assert_ok();
    for needle in [
        "SOCK_CLOEXEC",
        "accept4",
        "[16]",
        "SO_PROTOCOL",
        "msg_name",
        "SA_ONSTACK",
        "EPOLL_CLOEXEC",
        "F_DUPFD_CLOEXEC",
        "setns",
        "why: ",
    ] {
        assert!(out.stdout.contains(needle), "{needle}\n{}", out.dump());
    }
}

/// `--explain` is about its FILE: first the calls that file's twin adds
/// (phone-call's accept4 with SOCK_CLOEXEC, epoll-echo's epoll calls),
/// then the others under their heading; a file Python refuses names its
/// lines. Before, every FILE printed the same text.
#[test]
fn emit_python_explain_names_what_this_files_twin_adds() {
    let explain = |name: &str| {
        let mut cmd = socklab(&["script", &format!("examples/{name}.script")]);
        cmd.args(["--emit", "python", "--explain"]);
        cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
        let out = run(cmd, b"");
        out.assert_ok();
        let (mine, others) = out
            .stdout
            .split_once("The calls the `socket` module adds in other programs:\n")
            .unwrap_or_else(|| panic!("no heading of the others\n{}", out.dump()));
        (mine.to_string(), others.to_string())
    };
    let (phone, phone_others) = explain("phone-call");
    let (epoll, epoll_others) = explain("epoll-echo");
    assert_ne!(phone, epoll);
    let accept = "- Python: accept4(3, {...}, [16], SOCK_CLOEXEC)\n";
    let epoll_rows = [
        "- Python: epoll_create1(EPOLL_CLOEXEC)\n",
        "- Python: epoll_ctl(5, EPOLL_CTL_DEL, 4, 0x7ffc...)\n",
        "- Python: epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN,",
    ];
    assert!(
        phone.starts_with("The calls the Python twin of examples/phone-call.script makes"),
        "{phone}"
    );
    assert!(phone.contains(accept), "{phone}");
    assert!(
        phone.contains("why: sock.accept() is accept4 with SOCK_CLOEXEC"),
        "{phone}"
    );
    for row in epoll_rows {
        assert!(epoll.contains(row), "{row}\n{epoll}");
        assert!(!phone.contains(row), "{row}\n{phone}");
        assert!(phone_others.contains(row), "{row}\n{phone_others}");
        assert!(!epoll_others.contains(row), "{row}\n{epoll_others}");
    }
    for (mine, others) in [(&phone, &phone_others), (&epoll, &epoll_others)] {
        assert!(others.contains("- Python: setgroups(0, [])\n"), "{others}");
        assert!(!mine.contains("setgroups"), "{mine}");
    }
    let mut cmd = socklab(&["script", "examples/handler-restart.script"]);
    cmd.args(["--emit", "python", "--explain"]);
    cmd.current_dir(env!("CARGO_MANIFEST_DIR"));
    let out = run(cmd, b"");
    out.assert_ok();
    for line in [8, 13] {
        let refused = format!("examples/handler-restart.script:{line}: cannot emit: a handler");
        assert!(out.stdout.contains(&refused), "{refused}\n{}", out.dump());
    }
}

#[test]
fn emit_refuses_what_it_cannot_write_faithfully() {
    let dir = TempDir::new("emit-refuse");
    let file = dir.path("unix.script");
    std::fs::write(
        &file,
        "s = socket(AF_UNIX, SOCK_STREAM, 0)\nunlink(\"/tmp/x\"...) = 0\n",
    )
    .unwrap();
    let out = run(socklab(&["script", &file, "--emit", "c"]), b"");
    out.assert_code(2);
    assert!(out.stdout.is_empty(), "{}", out.dump());
    assert!(
        out.stderr
            .contains(&format!("{file}:2: cannot emit: a path is a whole string")),
        "{}",
        out.dump()
    );
    // What the emitters once refused (epoll, the file calls, a process
    // actor's credentials) is written now, in both languages.
    std::fs::write(
        &file,
        "e = epoll_create1(0)\ngetrandom(\"\\x01\\x02\", 2, 0) = 2\nc = fork()\nc | setuid(65534) = 0\n",
    )
    .unwrap();
    for lang in ["c", "python"] {
        let out = run(socklab(&["script", &file, "--emit", lang]), b"");
        out.assert_ok();
        assert!(!out.stderr.contains("cannot emit"), "{}", out.dump());
        for call in ["epoll_create1", "getrandom", "setuid"] {
            assert!(out.stdout.contains(call), "{lang}: {call}\n{}", out.dump());
        }
    }
}

#[test]
fn emit_twins_report_a_failed_expectation_and_exit_1() {
    let dir = TempDir::new("emit-fail");
    let file = dir.path("wrong.script");
    let text =
        "s = socket(AF_INET, SOCK_STREAM, 0)\nbind(s, 127.0.0.1:0) = 0\nlisten(s, 1) = -1 EINVAL\n";
    std::fs::write(&file, text).unwrap();
    let c = run(build_c(&dir, &file), b"");
    c.assert_code(1);
    assert!(
        c.stderr.contains(&format!(
            "{file}:3: listen(s, 1) = -1 EINVAL\n  result: expected = -1 EINVAL, got = 0"
        )),
        "{}",
        c.dump()
    );
    let src = dir.path("twin.py");
    std::fs::write(&src, emitted(&file, "python")).unwrap();
    let mut py = Command::new(python());
    py.arg(&src);
    let p = run(py, b"");
    p.assert_code(1);
    assert!(
        p.stderr.contains(&format!(
            "{file}:3: listen(s, 1) = -1 EINVAL\n  result: expected = -1 EINVAL, got = 0"
        )),
        "{}",
        p.dump()
    );
}

/// A script without a call line (comments only, as a `lab uring` record
/// is) still gives a C twin that builds with -Werror and exits 0.
#[test]
fn emit_c_of_a_script_without_calls_builds_and_runs() {
    let dir = TempDir::new("emit-empty");
    let file = dir.path("empty.script");
    std::fs::write(&file, "# nothing but a comment\n").unwrap();
    let o = run(build_c(&dir, &file), b"");
    o.assert_ok();
}
