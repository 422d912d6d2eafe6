//! `--trace-time`: strace's -t, -tt, -ttt, -r and -T formats on the
//! text trace of a program and of a lab (issue 15 item 4).

use crate::harness::{Server, TempDir, blocked_in, run, socklab};

/// `DIGITS` of exactly `n` ASCII digits.
fn digits(s: &str, n: usize) -> bool {
    s.len() == n && s.bytes().all(|b| b.is_ascii_digit())
}

/// `HH:MM:SS`.
fn clock(s: &str) -> bool {
    let p: Vec<&str> = s.split(':').collect();
    p.len() == 3 && p.iter().all(|x| digits(x, 2))
}

/// `SECS.MICROS` with 6 decimals; `width`: the seconds right-aligned in
/// 6 columns (strace's `%6ld`), else any digits.
fn secs(s: &str, width: bool) -> bool {
    let Some((a, b)) = s.split_once('.') else {
        return false;
    };
    let whole = if width {
        a.len() == 6
            && !a.trim_start().is_empty()
            && a.trim_start().bytes().all(|c| c.is_ascii_digit())
    } else {
        !a.is_empty() && a.bytes().all(|c| c.is_ascii_digit())
    };
    whole && digits(b, 6)
}

/// The stamp a format puts before the call, as a check of the text
/// before the call's name.
fn stamp_ok(format: &str, stamp: &str) -> bool {
    match format {
        "t" => stamp.strip_suffix(' ').is_some_and(clock),
        "tt" => stamp
            .strip_suffix(' ')
            .and_then(|s| s.split_once('.'))
            .is_some_and(|(c, u)| clock(c) && digits(u, 6)),
        "ttt" => stamp
            .strip_suffix(' ')
            .is_some_and(|s| secs(s, false) && s.len() == 17),
        "r" => stamp.strip_suffix(' ').is_some_and(|s| secs(s, true)),
        "tt,r" => stamp
            .strip_suffix(") ")
            .and_then(|s| s.split_once(" (+"))
            .is_some_and(|(t, r)| stamp_ok("tt", &format!("{t} ")) && secs(r, true)),
        _ => false,
    }
}

/// ` <0.000045>` at the end of a line.
fn took_ok(line: &str) -> bool {
    line.rsplit_once(" <")
        .and_then(|(_, t)| t.strip_suffix('>'))
        .is_some_and(|t| secs(t, false))
}

/// Each format on a lab's timeline: every call line has the stamp, its
/// call after it; with T, every line but an `<unfinished ...>` one ends
/// with the time taken.
#[test]
fn a_labs_lines_carry_each_format() {
    for format in ["t", "tt", "ttt", "r", "tt,r", "tt,T"] {
        let o = run(socklab(&["--trace-time", format, "lab", "phone-call"]), b"").without_tasks();
        o.assert_ok();
        let calls: Vec<&str> = o
            .stdout
            .lines()
            .filter_map(|l| l.split_once(" | ").map(|(_, r)| r))
            .filter(|r| !r.starts_with('#'))
            .collect();
        assert!(calls.len() >= 10, "{format}\n{}", o.dump());
        for rest in calls {
            let at = rest
                .find(|c: char| c.is_ascii_lowercase() || c == '<')
                .unwrap_or(0);
            let (stamp, call) = rest.split_at(at);
            let clock = format.trim_end_matches(",T");
            assert!(stamp_ok(clock, stamp), "{format}: {rest:?}");
            assert!(
                call.contains('(') || call.starts_with("<... "),
                "{format}: {rest:?}"
            );
            let timed = format.ends_with('T') && !call.ends_with("<unfinished ...>");
            assert_eq!(took_ok(call), timed, "{format}: {rest:?}");
        }
    }
}

/// A program's `--trace` (stderr) with `-tt -T`: socket and the failed
/// connect, each stamped and timed as strace prints them.
#[test]
fn a_programs_trace_is_stamped() {
    let dir = TempDir::new("stamps");
    let path = dir.path("nobody.sock");
    let o = run(
        socklab(&["--trace", "--trace-time=tt,T", "unix", "client", &path]),
        b"",
    );
    o.assert_code(1);
    let lines: Vec<&str> = o
        .stderr
        .lines()
        .filter(|l| !l.starts_with("socklab: "))
        .filter(|l| l.contains("socket(") || l.contains("connect("))
        .collect();
    assert_eq!(lines.len(), 2, "{}", o.dump());
    for l in lines {
        let (stamp, call) = l.split_at(l.find(' ').unwrap_or(0) + 1);
        assert!(stamp_ok("tt", stamp), "{l:?}");
        assert!(took_ok(call), "{l:?}");
    }
    assert!(
        o.stderr.contains("ENOENT (No such file or directory) <"),
        "{}",
        o.dump()
    );
}

/// `--trace-time` where no text trace is printed is a usage error.
#[test]
fn trace_time_without_a_text_trace_is_refused() {
    for args in [
        &["--trace-time=tt", "unix", "client", "/nonexistent/x"][..],
        &[
            "--trace=json",
            "--trace-time=tt",
            "unix",
            "client",
            "/nonexistent/x",
        ],
        &["--trace-time=tt", "lab", "phone-call", "--json"],
        &["--trace-time=t,tt", "lab", "phone-call"],
        &["--trace-time=x", "lab", "phone-call"],
    ] {
        let o = run(socklab(args), b"");
        o.assert_code(2);
        assert!(o.stderr.contains("--trace-time"), "{args:?}\n{}", o.dump());
    }
}

/// strace -r stamps its first line `0.000000` (no line before it) and
/// each later one with the time since the line before: so does
/// `--trace-time=r`, on a program's trace and on a lab's timeline.
#[test]
fn the_first_relative_stamp_is_zero_as_strace_r_prints_it() {
    let dir = TempDir::new("stamps-r");
    let path = dir.path("nobody.sock");
    let o = run(
        socklab(&["--trace", "--trace-time=r", "unix", "client", &path]),
        b"",
    );
    o.assert_code(1);
    // Notes (`# ...`, no strace line) are not stamped: the first call is.
    let first = o
        .stderr
        .lines()
        .find(|l| !l.starts_with("# "))
        .unwrap_or("");
    assert!(first.starts_with("     0.000000 socket("), "{}", o.dump());
    let o = run(socklab(&["--trace-time", "r", "lab", "phone-call"]), b"").without_tasks();
    o.assert_ok();
    let first = o
        .stdout
        .lines()
        .filter_map(|l| l.split_once(" | ").map(|(_, r)| r))
        .find(|r| !r.starts_with("# "))
        .unwrap_or("");
    assert!(first.starts_with("     0.000000 socket("), "{}", o.dump());
}

/// strace stamps the lines of a signal too (`10:11:12.123456 --- SIGTERM
/// {...} ---`, `... +++ killed by SIGTERM +++`), not only the calls':
/// a UNIX server stopped by SIGTERM in accept4, with `--trace-time=tt`.
#[test]
fn a_signals_lines_are_stamped_as_strace_stamps_them() {
    let dir = TempDir::new("stamps-signal");
    let path = dir.path("s.sock");
    let srv = Server::start(&["--trace", "--trace-time=tt", "unix", "server", &path]);
    blocked_in(srv.pid(), libc::SYS_accept4);
    srv.signal(libc::SIGTERM);
    let o = srv.finish();
    assert_eq!(
        o.code(),
        None,
        "killed by the re-raised SIGTERM\n{}",
        o.dump()
    );
    let stamped = |what: &str| {
        let line = o
            .stderr
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what}\n{}", o.dump()));
        let (stamp, rest) = line.split_at(line.find(what).unwrap_or(0));
        assert!(stamp_ok("tt", stamp), "{line:?}\n{}", o.dump());
        assert!(rest.starts_with(what), "{line:?}");
    };
    stamped("--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, ");
    stamped("--- SIGTERM {si_signo=SIGTERM, si_code=SI_TKILL, ");
    stamped("+++ killed by SIGTERM +++");
}

/// `SECS.MICROS` (or `HH:MM:SS.MICROS`) as micros.
fn micros(s: &str) -> i64 {
    let (whole, frac) = s.trim().split_once('.').unwrap_or((s, "0"));
    let secs = whole
        .split(':')
        .fold(0i64, |a, p| a * 60 + p.trim().parse::<i64>().unwrap_or(0));
    secs * 1_000_000 + frac.parse::<i64>().unwrap_or(0)
}

/// strace -f -r counts from the line before, whichever task printed it:
/// a fork server's parent and child share that clock. With `tt,r`, each
/// line's `(+ r)` is its clock time less the line before's (to the
/// microsecond either was cut to).
#[test]
fn relative_stamps_count_from_the_line_before_of_any_process() {
    let dir = TempDir::new("stamps-fork");
    let trace = dir.path("trace");
    let srv = Server::start(&[
        "--trace-file",
        &trace,
        "--trace-time=tt,r",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "fork",
        "--max-conns",
        "1",
    ]);
    run(socklab(&["tcp", "client", &srv.addr, "-m", "hi"]), b"").assert_ok();
    srv.finish().assert_ok();
    let text = std::fs::read_to_string(&trace).unwrap_or_default();
    let mut before: Option<i64> = None;
    let mut children = 0;
    for line in text.lines() {
        let body = match line.strip_prefix("[pid ") {
            Some(r) => {
                children += 1;
                r.split_once("] ").map_or(r, |(_, b)| b)
            }
            None => line,
        };
        if body.starts_with("# ") {
            continue;
        }
        let Some((clock, rest)) = body.split_once(" (+") else {
            panic!("no tt,r stamp: {line:?}\n{text}");
        };
        let rel = rest.split_once(") ").map_or("", |(r, _)| r);
        let (at, r) = (micros(clock), micros(rel));
        let want = before.map_or(0, |b| at - b);
        assert!(
            (r - want).abs() <= 1,
            "{line:?}: +{r} µs, {want} µs since the line before\n{text}"
        );
        before = Some(before.map_or(at, |b| b.max(at)));
    }
    assert!(children > 0, "the child's lines\n{text}");
}

/// On a lab's timeline, strace's other lines of a task are stamped as
/// its calls are: a fork's `NAME = clone(...)`, `--- SIGPIPE {...} ---`,
/// `exit_group(0) = ?`, `+++ killed by SIGPIPE +++` (the sigpipe lab's
/// process actors); only socklab's `#` notes are not.
#[test]
fn a_labs_signal_exit_and_fork_lines_are_stamped() {
    let o = run(socklab(&["--trace-time", "tt", "lab", "sigpipe"]), b"").without_tasks();
    o.assert_ok();
    let mut seen = Vec::new();
    for rest in o
        .stdout
        .lines()
        .filter_map(|l| l.split_once(" | ").map(|(_, r)| r))
    {
        if rest.starts_with('#') {
            continue;
        }
        let at = rest.find(|c: char| c.is_ascii_lowercase() || "<-+".contains(c));
        let (stamp, line) = rest.split_at(at.unwrap_or(0));
        assert!(stamp_ok("tt", stamp), "{rest:?}\n{}", o.dump());
        seen.push(line.to_string());
    }
    for want in [
        "dfl = clone(",
        "--- SIGPIPE {",
        "+++ killed by SIGPIPE +++",
        "exit_group(0) = ?",
    ] {
        assert!(
            seen.iter().any(|l| l.starts_with(want)),
            "{want}\n{}",
            o.dump()
        );
    }
}

/// Under `--wire` too (the lines go through the wire's timeline): a fork
/// server's child's `exit_group(0) = ?` and `+++ exited with 0 +++`, the
/// parent's `--- SIGCHLD {...} ---`, each stamped after its `[pid N] `
/// as strace -tt stamps them (they were printed bare).
#[test]
fn a_signals_and_an_exits_lines_are_stamped_under_wire() {
    if !crate::wire::can_capture() {
        return;
    }
    let args = [
        "--wire",
        "--trace-time=tt",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "fork",
        "--max-conns",
        "1",
    ];
    let srv = Server::start(&args);
    run(socklab(&["tcp", "client", &srv.addr, "-m", "hi"]), b"").assert_ok();
    let o = srv.finish();
    o.assert_ok();
    for what in [
        "exit_group(0) = ?",
        "+++ exited with 0 +++",
        "--- SIGCHLD {",
    ] {
        let line = o
            .stderr
            .lines()
            .find(|l| l.contains(what))
            .unwrap_or_else(|| panic!("no {what}\n{}", o.dump()));
        let after_pid = line.split_once("] ").map_or(line, |(_, rest)| rest);
        let (stamp, rest) = after_pid.split_at(after_pid.find(what).unwrap_or(0));
        assert!(stamp_ok("tt", stamp), "{line:?}\n{}", o.dump());
        assert!(rest.starts_with(what), "{line:?}");
    }
}

/// `-T` on a lab's fork line: strace -T prints the time a clone took
/// after its return (`clone(...) = 7001 <0.000208>`), so does the
/// timeline's `NAME = clone(...) = 7001 <0.000208>` (it had none), and
/// its record replays.
#[test]
fn a_labs_fork_line_ends_with_the_time_the_clone_took() {
    let dir = TempDir::new("stamps-fork-took");
    let rec = dir.path("sigpipe.script");
    let args = ["--trace-time", "T", "lab", "sigpipe", "--record", &rec];
    let o = run(socklab(&args), b"").without_tasks();
    o.assert_ok();
    let forks: Vec<&str> = o
        .stdout
        .lines()
        .filter(|l| l.contains(" = clone("))
        .collect();
    assert_eq!(forks.len(), 2, "{}", o.dump());
    for line in forks {
        assert!(took_ok(line), "{line:?}\n{}", o.dump());
    }
    run(socklab(&["script", &rec]), b"").assert_ok();
}
