//! Unit tests of the parser: every line shape of spec14 §1 (prefixes,
//! binds, the three forms, results and notes, ignored lines, errors).

use super::*;
use crate::script::ast::{ExprKind, Form, Outcome};
use std::time::Duration;

fn one(line: &str) -> Line {
    match parse_line(7, line) {
        Ok(Some(l)) => l,
        other => panic!("{line}: {other:?}"),
    }
}

fn err(line: &str) -> ParseError {
    match parse_line(3, line) {
        Err(e) => e,
        other => panic!("{line}: expected an error, got {other:?}"),
    }
}

fn result(line: &str) -> (Outcome, Option<String>) {
    let r = one(line).call.result.unwrap();
    (r.value, r.note)
}

#[test]
fn a_plain_call_line() {
    let l = one("socket(AF_INET, SOCK_STREAM, 0) = 3");
    assert_eq!((l.no, l.actor, l.delay, l.bind), (7, None, None, None));
    assert_eq!(l.text, "socket(AF_INET, SOCK_STREAM, 0) = 3");
    assert_eq!(l.call.name, "socket");
    assert_eq!(l.call.name_span, Span { line: 7, col: 1 });
    assert_eq!(l.call.form, Form::Whole);
    assert_eq!(l.call.args.len(), 3);
    assert_eq!(l.call.args[2].span, Span { line: 7, col: 30 });
    let r = l.call.result.unwrap();
    assert_eq!((r.value, r.note, r.span.col), (Outcome::Value(3), None, 35));
    // No result: nothing expected.
    assert_eq!(one("close(3)").call.result, None);
    assert_eq!(one("close(3)   ").call.result, None);
    assert_eq!(one("getpid()").call.args, vec![]);
}

#[test]
fn results_and_notes() {
    let v = |n| Outcome::Value(n);
    let s = |t: &str| Some(t.to_string());
    assert_eq!(result("f() = 3"), (v(3), None));
    assert_eq!(
        result("f() = 0x802 (flags O_RDWR|O_NONBLOCK)"),
        (v(0x802), s("flags O_RDWR|O_NONBLOCK"))
    );
    let e = Outcome::Errno("EAGAIN".into());
    assert_eq!(
        result("f() = -1 EAGAIN (Resource temporarily unavailable)"),
        (e.clone(), s("Resource temporarily unavailable"))
    );
    assert_eq!(result("f() = -1 EAGAIN"), (e, None));
    assert_eq!(result("f() = -1"), (v(-1), None));
    assert_eq!(
        result("f() = 1 ([{fd=3, revents=POLLIN}])"),
        (v(1), s("[{fd=3, revents=POLLIN}]"))
    );
    assert_eq!(result("f() = 0 (Timeout)"), (v(0), s("Timeout")));
    assert_eq!(result("f() = ?"), (Outcome::Unknown(None), None));
    assert_eq!(
        result("f() = ? ERESTARTSYS (To be restarted if SA_RESTART is set)"),
        (
            Outcome::Unknown(s("ERESTARTSYS")),
            s("To be restarted if SA_RESTART is set")
        )
    );
    assert_eq!(result("f() = ..."), (Outcome::Any, None));
    // strace -T's time, -yy's path, a second note.
    assert_eq!(result("f() = 3 <0.000012>"), (v(3), None));
    assert_eq!(result("f() = 3<socket:[4242]>"), (v(3), None));
    assert_eq!(
        result("f() = -1 ECONNREFUSED (Connection refused) (INJECTED)").1,
        s("Connection refused")
    );
    assert_eq!(
        result("f() = ? <unavailable>"),
        (Outcome::Unknown(None), None)
    );
    assert_eq!(result("f() = 0 # comment (not a note)"), (v(0), None));
    assert_eq!(
        result("f()=-1 EBADF(Bad file descriptor)"),
        (Outcome::Errno("EBADF".into()), s("Bad file descriptor"))
    );
    assert_eq!(result("f() = 0xffffffffffffffff"), (v(-1), None));
}

#[test]
fn unfinished_and_resumed() {
    let l = one("accept4(3,  <unfinished ...>");
    assert_eq!(
        (l.call.form, l.call.args.len(), l.call.result),
        (Form::Unfinished, 1, None)
    );
    let l = one("connect(3, {sa_family=AF_INET}, 16 <unfinished ...>");
    assert_eq!((l.call.form, l.call.args.len()), (Form::Unfinished, 3));
    let l = one("close(3 <unfinished ...>");
    assert_eq!((l.call.form, l.call.args.len()), (Form::Unfinished, 1));
    let l = one("<... accept4 resumed>{sa_family=AF_UNIX}, [128 => 2], SOCK_CLOEXEC) = 4");
    assert_eq!(
        (l.call.form, l.call.name.as_str(), l.call.args.len()),
        (Form::Resumed, "accept4", 3)
    );
    assert_eq!(l.call.name_span.col, 6);
    assert_eq!(l.call.result.unwrap().value, Outcome::Value(4));
    let l = one("server | <... close resumed>) = 0");
    assert_eq!(
        (l.call.form, l.call.args.len(), l.actor.as_deref()),
        (Form::Resumed, 0, Some("server"))
    );
    assert!(
        err("<... close resumed>3 <unfinished ...>")
            .msg
            .contains("unfinished")
    );
    assert!(err("<... close>) = 0").msg.contains("resumed>"));
    // strace's split fork: the resumed half starts with the comma.
    let l = one("[pid  9994] <... clone resumed>, child_tidptr=0x7f1075cf4c10) = 10005");
    assert_eq!(
        (l.call.form, l.call.args.len(), l.actor.as_deref()),
        (Form::Resumed, 1, Some("pid 9994"))
    );
    assert!(
        err("close(3 <unfinished ...> = 0")
            .msg
            .contains("after '<unfinished ...>'")
    );
}

#[test]
fn pid_time_and_delay_prefixes() {
    let a = |l: &str| one(l).actor;
    let pid = |n: &str| Some(format!("pid {n}"));
    assert_eq!(a("[pid 1234] close(3) = 0"), pid("1234"));
    assert_eq!(a("[pid  123] close(3) = 0"), pid("123"));
    assert_eq!(
        a("11602 close(3)                          = 0"),
        pid("11602")
    );
    assert_eq!(a("11602 16:51:27.615509 close(3) = 0"), pid("11602"));
    assert_eq!(a("[pid 5] 12:00:01 close(3) = 0"), pid("5"));
    assert_eq!(a("12:00:01 close(3) = 0"), None);
    assert_eq!(a("12:00:01.123456 close(3) = 0"), None);
    assert_eq!(a("1700000000.123456 close(3) = 0"), None);
    assert_eq!(a("     0.000123 close(3) = 0"), None);
    // strace -tt -r, and socklab's --trace-time=tt,r after an actor tag.
    assert_eq!(a("12:00:01.123456 (+     0.000123) close(3) = 0"), None);
    assert_eq!(
        a("server | 12:00:01.123456 (+     0.000123) close(3) = 0"),
        Some("server".to_string())
    );
    assert_eq!(
        a("[pid 5] 1700000000.123456 (+ 0.1) close(3) = 0"),
        pid("5")
    );
    assert!(
        err("12:00:01 (+ 0.1 close(3)")
            .msg
            .contains("relative time")
    );
    let l = one("+0.040 close(3) = 0");
    assert_eq!((l.delay, l.actor), (Some(Duration::from_millis(40)), None));
    assert_eq!(one("+1 close(3)").delay, Some(Duration::from_secs(1)));
    let l = one("client | +0.5 close(3)");
    assert_eq!(
        (l.delay, l.actor.as_deref()),
        (Some(Duration::from_millis(500)), Some("client"))
    );
    assert!(err("+0.5close(3)").msg.contains("space after"));
    assert!(err("[pid x] close(3)").msg.contains("[pid N]"));
    // A timeline's task after its actor tag: the tag names the actor.
    let client = Some("client".to_string());
    assert_eq!(a("client | [pid  4242] close(3) = 0"), client);
    assert_eq!(a("client | [pid 42] 12:00:01 close(3) = 0"), client);
    assert_eq!(a("client | [pid 42] <... close resumed>) = 0"), client);
    // A timeline's `pid N | ` tag (a fork's or clone3's child named by
    // the written result), on a host too.
    let l = one("pid 9956 | [pid 18168] close(4) = 0");
    assert_eq!(
        (l.actor.as_deref(), l.task),
        (Some("pid 9956"), Some(18168))
    );
    assert_eq!(a("pid 7@b | close(3) = 0").as_deref(), Some("pid 7@b"));
}

#[test]
fn actor_tags_and_binds() {
    for (line, actor) in [
        ("server | close(3) = 0", "server"),
        ("   lab | close(3) = 0", "lab"),
        (" srv-2 | close(3) = 0", "srv-2"),
        ("c_1|close(3)", "c_1"),
        ("client@b | close(3) = 0", "client@b"),
        ("  srv@a | close(3) = 0", "srv@a"),
    ] {
        assert_eq!(one(line).actor.as_deref(), Some(actor), "{line}");
    }
    let l = one("s = socket(AF_INET, SOCK_STREAM, 0) = 3");
    assert_eq!(l.bind, Some(("s".to_string(), Span { line: 7, col: 1 })));
    assert_eq!(l.call.name, "socket");
    assert_eq!(l.call.name_span.col, 5);
    let l = one("client | pair=socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0");
    assert_eq!(
        l.bind.map(|b| (b.0, b.1.col)),
        Some(("pair".to_string(), 10))
    );
    assert_eq!(l.actor.as_deref(), Some("client"));
}

#[test]
fn ignored_lines() {
    for line in [
        "",
        "   ",
        "# a comment",
        "   lab | # note",
        "server | ",
        "server > listening on 127.0.0.1:4000",
        "client > HELLO",
        "--- SIGPIPE {si_signo=SIGPIPE, si_code=SI_USER, si_pid=5, si_uid=0} ---",
        "[pid 12] --- SIGCHLD {si_signo=SIGCHLD} ---",
        "+++ exited with 0 +++",
        "11603 +++ exited with 0 +++",
        "15097 ???( <detached ...>",
        "[pid 15097] ???( <detached ...>",
        "+++ killed by SIGPIPE +++",
        "strace: Process 1234 attached",
        "== lab phone-call: One connection, one message",
        "== summary ==",
        "reproduces: tutorial step 1",
        "observed: the server heard \"x",
        "why: because (",
        "lab phone-call: observed it (expected it): PASS",
        "lab rst: observed x: FAIL",
        "-- TCP: the client sends b'' --",
        "  wire | 127.0.0.1.5 > 127.0.0.1.6: Flags [S]",
        "wire | IP 1 > 2",
        "12:00:01.123456 IP 127.0.0.1.40000 > 127.0.0.1.8080: Flags [S], seq 1",
        "12:00:01.123456 IP6 ::1.40000 > ::1.8080: Flags [S]",
        "lab             result  expected                                  observed",
        "phone-call      pass    the message back upper-cased              the server",
        "18 of 18 labs passed",
        "[state fd 3: LISTEN, accept queue 0 of 5]",
        "server | [state fd 4: ESTABLISHED, rtt 0.015 ms, unacked 0, retransmits 0, inq 0 outq 0]",
        "RLIMIT_NOFILE: soft limit 1024 raised to the hard limit 4096 (one fd per connection)",
        "server | serving: x",
    ] {
        assert_eq!(parse_line(1, line), Ok(None), "{line:?}");
    }
    // A comment after a call, and `#` inside a string is no comment.
    let l = one("write(3, \"#x\", 2) = 2 # two bytes");
    assert_eq!(
        l.call.args[1].kind,
        ExprKind::Str {
            bytes: b"#x".to_vec(),
            cut: false
        }
    );
    // A verdict-looking call is still a call.
    assert!(parse_line(1, "lab | send(c, \"PASS\")").unwrap().is_some());
}

#[test]
fn syntax_errors_are_one_line_with_a_position() {
    let cases = [
        ("close(3", 8, "missing ')'"),
        (
            "bind(3, {sa_family=AF_INET, 16) = 0",
            31,
            "expected ',' or '}'",
        ),
        ("poll([{fd=3}, 1, 0) = 0", 19, "expected ',' or ']'"),
        ("write(3, \"a\\qb\", 3)", 12, "bad escape '\\q'"),
        ("write(3, \"abc, 3)", 10, "unterminated string"),
        ("write(3, \"\\x\", 3)", 11, "bad escape '\\x'"),
        ("write(3, \"\\777\", 3)", 11, "above \\377"),
        ("close(3) = 0 junk", 14, "unexpected 'j' after the result"),
        ("close(3) = 0x", 14, "hex digits"),
        ("close(3) junk", 10, "expected '= RESULT'"),
        ("close(3) = foo", 12, "expected a result"),
        ("close(3) = 0 (unclosed", 14, "unbalanced '('"),
        ("close(0800)", 7, "bad octal"),
        ("close(99999999999999999999)", 7, "integer too large"),
        ("close(3x)", 8, "after a number"),
        ("close(3 | f(1))", 11, "'|' joins only names and numbers"),
        ("connect(3, 1.2.3:80)", 12, "bad address"),
        ("close(&)", 8, "expected a name after '&'"),
        ("close(,)", 7, "expected a value"),
        ("socket AF_INET", 7, "expected '(' after 'socket'"),
        ("= close(3)", 1, "expected a call"),
        ("close(x[99999999999999999999999])", 9, "index too large"),
    ];
    for (line, col, msg) in cases {
        let e = err(line);
        assert_eq!(e.line, 3, "{line}");
        assert!(e.msg.contains(msg), "{line}: {:?} lacks {msg:?}", e.msg);
        assert_eq!(e.col, col, "{line}: {e:?}");
        assert!(!e.msg.contains('\n'), "{line}");
    }
    // Columns count characters, not bytes.
    assert_eq!(err("write(3, \"é\", 2) = 2 x").col, 22);
}

#[test]
fn parse_collects_every_error() {
    let text =
        "socket(AF_INET, SOCK_STREAM, 0) = 3\nclose(3\n# fine\nbind(3, {) = 0\r\nclose(3) = 0\n";
    let errs = parse(text).unwrap_err();
    assert_eq!(errs.iter().map(|e| e.line).collect::<Vec<_>>(), vec![2, 4]);
    let ok = parse("a | close(3) = 0\r\n\nb | close(4)\n").unwrap();
    assert_eq!(
        ok.lines.iter().map(|l| l.no).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert_eq!(ok.lines[0].text, "a | close(3) = 0");
    assert_eq!(parse("").unwrap().lines, vec![]);
}

#[test]
fn nesting_is_limited_to_32() {
    let deep =
        |n: usize, open: &str, close: &str| format!("f({}1{})", open.repeat(n), close.repeat(n));
    // f( counts one level.
    assert!(parse_line(1, &deep(31, "[", "]")).is_ok());
    for (o, c) in [("[", "]"), ("{", "}"), ("g(", ")"), ("[1 => ", "]")] {
        let e = err(&deep(40, o, c));
        assert!(e.msg.contains("nesting deeper than 32"), "{o}: {e:?}");
        let e = parse_args(&deep(100_000, o, c)).unwrap_err();
        assert!(e.msg.contains("nesting deeper than 32"), "{o}: {e:?}");
    }
    let chain = format!("f(1{})", " => 1".repeat(100));
    assert!(err(&chain).msg.contains("nesting"));
}
