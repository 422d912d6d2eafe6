//! `--record FILE`: a program's trace and a lab's timeline written as a
//! script: its calls as the trace prints them, everything else a comment.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::harness::{Server, TempDir, run, socklab};

/// The lines of a record file that are not comments or blank.
fn calls(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .collect()
}

#[test]
fn tcp_client_record_holds_the_traced_calls_and_names_the_command() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--once"]);
    let dir = TempDir::new("record");
    let file = dir.path("client.script");
    let o = run(
        socklab(&[
            "--trace",
            "--record",
            &file,
            "tcp",
            "client",
            &server.addr,
            "-m",
            "hi",
        ]),
        b"",
    );
    o.assert_ok();
    let text = std::fs::read_to_string(&file).unwrap();
    let first = text.lines().next().unwrap();
    assert!(
        first.starts_with("# recorded: ")
            && first.ends_with(&format!("--record {file} tcp client {} -m hi", server.addr)),
        "{first}"
    );
    // The same lines as the trace on stderr, in the same order (its
    // notes are the record's comments), up to the program's end: the
    // trace's last two lines, comments in the record (a replay does not
    // make the main actor's exit_group: cli/end.rs).
    let end = ["exit_group(0) = ?", "+++ exited with 0 +++"];
    let traced: Vec<&str> = o.stderr.lines().filter(|l| !l.starts_with('#')).collect();
    assert_eq!(traced[traced.len() - 2..], end, "{}", o.dump());
    let traced = &traced[..traced.len() - 2];
    assert_eq!(calls(&text), traced, "{}", o.dump());
    let last: Vec<&str> = text.lines().rev().take(2).collect();
    assert_eq!(
        last,
        ["# +++ exited with 0 +++", "# exit_group(0) = ?"],
        "{text}"
    );
    assert!(
        traced.iter().any(|l| l.starts_with("connect(")),
        "{}",
        o.dump()
    );
    server.finish();
}

#[test]
fn record_without_trace_keeps_stderr_quiet() {
    let dir = TempDir::new("record");
    let file = dir.path("refused.script");
    let o = run(
        socklab(&[
            "--record",
            &file,
            "unix",
            "client",
            &dir.path("nobody"),
            "-m",
            "x",
        ]),
        b"",
    );
    o.assert_code(1);
    let text = std::fs::read_to_string(&file).unwrap();
    let lines = calls(&text);
    assert!(
        lines[0].starts_with("socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = "),
        "{text}"
    );
    assert!(
        lines[1].ends_with("= -1 ENOENT (No such file or directory)"),
        "{text}"
    );
    // stderr has the error and its hint, not the trace.
    assert!(
        !o.stderr.lines().any(|l| l.starts_with("socket(")),
        "{}",
        o.dump()
    );
    o.stderr_has("socklab: connect(");
}

#[test]
fn lab_record_is_the_timeline_with_every_other_line_a_comment() {
    let dir = TempDir::new("record");
    let file = dir.path("lab.script");
    let o = run(socklab(&["lab", "phone-call", "--record", &file]), b"").without_tasks();
    o.assert_ok();
    let text = crate::harness::untasked(&std::fs::read_to_string(&file).unwrap());
    let timeline: Vec<&str> = o.stdout.lines().filter(|l| l.contains(" | ")).collect();
    assert_eq!(calls(&text), timeline, "{text}");
    assert!(
        timeline.iter().any(|l| l.starts_with("server | accept4(")),
        "{text}"
    );
    // The header and the verdict are kept, as comments.
    assert!(
        text.lines().any(|l| l.starts_with("# == lab phone-call: ")),
        "{text}"
    );
    assert!(
        text.lines()
            .any(|l| l.starts_with("# lab phone-call: observed ") && l.ends_with(": PASS")),
        "{text}"
    );
}

#[test]
fn record_refuses_what_it_cannot_write() {
    let dir = TempDir::new("record");
    let file = dir.path("x.script");
    for args in [
        vec![
            "--record",
            file.as_str(),
            "--trace=json",
            "unix",
            "client",
            "/nonexistent/x",
        ],
        vec!["--record", file.as_str(), "demo"],
        vec!["--record", file.as_str(), "lab", "list"],
        vec!["--record", file.as_str(), "lab", "phone-call", "--json"],
    ] {
        let o = run(socklab(&args), b"");
        o.assert_code(2);
        o.stderr_has("--record");
    }
}

/// `--record` with a script or the shell wrote no file and said nothing:
/// now one usage line (exit 2), and no file.
#[test]
fn record_refuses_a_script_and_the_shell() {
    let dir = TempDir::new("record");
    let file = dir.path("x.script");
    let script = dir.path("in.script");
    std::fs::write(
        &script,
        "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3\nclose(3) = 0\n",
    )
    .unwrap();
    for args in [
        vec!["--record", file.as_str(), "script", script.as_str()],
        vec![
            "--record",
            file.as_str(),
            "script",
            script.as_str(),
            "--emit",
            "c",
        ],
        vec!["--record", file.as_str(), "shell"],
    ] {
        let o = run(socklab(&args), b"");
        o.assert_code(2);
        assert_eq!(o.stderr.lines().count(), 1, "{}", o.dump());
        o.stderr_has("--record writes a program's or a lab's calls as a script;");
        assert!(!std::path::Path::new(&file).exists(), "{}", o.dump());
    }
}
