//! Issue 15 item 4: a lab's timeline orders its lines as strace -f does.
//! A call that waits for the peer and is overtaken by another side's
//! line is split: `NAME(args <unfinished ...>` where it started, `<...
//! NAME resumed>rest) = R` where it returned. Read with
//! `--trace-time=ttt` (each line's entry time; a resumed line's return).

use crate::harness::{TempDir, run, socklab};

/// One timeline line: its side, its stamp (seconds), the rest.
struct Line {
    side: String,
    at: f64,
    text: String,
}

/// The timeline lines of `socklab --trace-time=ttt lab NAME`.
fn stamped(name: &str) -> Vec<Line> {
    let o = run(socklab(&["--trace-time=ttt", "lab", name]), b"").without_tasks();
    o.assert_ok();
    o.stdout
        .lines()
        .filter_map(|l| {
            let (side, rest) = l.split_once(" | ")?;
            let (at, text) = rest.split_once(' ')?;
            Some(Line {
                side: side.trim().to_string(),
                at: at.parse().ok()?,
                text: text.to_string(),
            })
        })
        .collect()
}

fn dump(lines: &[Line]) -> String {
    lines
        .iter()
        .map(|l| format!("{:>6} | {:.6} {}\n", l.side, l.at, l.text))
        .collect()
}

/// Every line but a resumed one stands where its call started: their
/// stamps never go back. Each unfinished line is followed by its side's
/// resumed line. The client's recvfrom: if it started before the
/// server's sendto (the usual case), its `<unfinished ...>` line comes
/// before that sendto and its `<... recvfrom resumed>"LINHAIFENG NB"`
/// after; else it is whole, after it. (Before the split, 7 of 20 runs
/// printed the recvfrom after the sendto although it started first.)
#[test]
fn phone_call_lines_stand_where_their_calls_started() {
    for _ in 0..5 {
        let lines = stamped("phone-call");
        let d = dump(&lines);
        let entries: Vec<&Line> = lines
            .iter()
            .filter(|l| !l.text.starts_with("<... "))
            .collect();
        assert!(
            entries.windows(2).all(|w| w[0].at <= w[1].at),
            "an entry printed after a later one\n{d}"
        );
        for (i, l) in lines.iter().enumerate() {
            if let Some(head) = l.text.strip_suffix(" <unfinished ...>") {
                let name = head.split('(').next().unwrap_or("");
                let resumed = format!("<... {name} resumed>");
                assert!(
                    lines
                        .iter()
                        .skip(i + 1)
                        .any(|r| r.side == l.side && r.text.starts_with(&resumed)),
                    "no {resumed} after line {i}\n{d}"
                );
            }
        }
        let at = |side: &str, start: &str| {
            lines
                .iter()
                .position(|l| l.side == side && l.text.starts_with(start))
                .unwrap_or_else(|| panic!("no {side} {start}\n{d}"))
        };
        let sendto = at("server", "sendto(");
        let recv = at("client", "recvfrom(");
        if lines[recv].at < lines[sendto].at {
            assert!(recv < sendto, "{d}");
            assert!(
                lines[recv].text.ends_with(",  <unfinished ...>"),
                "the client's recvfrom started before the server's sendto: it is split\n{d}"
            );
            let resumed = at("client", "<... recvfrom resumed>");
            assert!(resumed > sendto, "{d}");
            assert!(
                lines[resumed]
                    .text
                    .ends_with(r#">"LINHAIFENG NB", 1024, 0, NULL, NULL) = 13"#),
                "{d}"
            );
        } else {
            assert!(recv > sendto, "{d}");
        }
    }
}

/// The demo's server blocks in accept4 while its client connects: the
/// split lines are strace's (the accept4's entry up to the address the
/// kernel fills in), and every call is printed once.
#[test]
fn demo_splits_as_strace() {
    let o = run(socklab(&["demo"]), b"");
    o.assert_ok();
    let unfinished = o.stdout.matches(" <unfinished ...>").count();
    let resumed = o.stdout.matches(" resumed>").count();
    assert_eq!(unfinished, resumed, "{}", o.dump());
    // The demo's sides wait for each other a dozen times or more: a demo
    // that splits nothing is not printed as strace -f prints it.
    assert!(unfinished > 0, "nothing split\n{}", o.dump());
    // Each unfinished call's next line of its side is its resumed half.
    let lines: Vec<&str> = o.stdout.lines().collect();
    for (i, l) in lines.iter().enumerate() {
        let Some(entry) = l.strip_suffix(" <unfinished ...>") else {
            continue;
        };
        let (side, call) = entry.split_once(" | ").expect("side | call");
        // The two halves carry the same `[pid N] ` (or none).
        let task = match call.split_once("] ") {
            Some((t, _)) if t.starts_with("[pid ") => format!("{t}] "),
            _ => String::new(),
        };
        let name = call[task.len()..].split('(').next().unwrap_or("");
        let next = lines[i + 1..]
            .iter()
            .find(|n| n.starts_with(&format!("{side} | ")))
            .unwrap_or_else(|| panic!("{l}: never resumed\n{}", o.dump()));
        let want = format!("{side} | {task}<... {name} resumed>");
        assert!(next.starts_with(&want), "{l}\nthen {next}\n{}", o.dump());
    }
    for l in o.stdout.lines() {
        if l.contains("accept4(") && l.ends_with(" <unfinished ...>") {
            assert!(l.ends_with(",  <unfinished ...>"), "{l}");
        }
        if let Some((_, rest)) = l.split_once("<... recvfrom resumed>") {
            assert!(rest.starts_with('"'), "{l}");
        }
    }
}

/// A timeline with every `--trace-time` format replays as a script.
#[test]
fn stamped_timelines_replay_as_scripts() {
    let dir = TempDir::new("stamped");
    for time in ["t", "tt", "ttt", "r", "T", "tt,T", "tt,r", "ttt,r,T"] {
        let file = dir.path(&format!("{}.script", time.replace(',', "-")));
        let lab = run(
            socklab(&["--trace-time", time, "lab", "phone-call", "--record", &file]),
            b"",
        );
        lab.assert_ok();
        let text = std::fs::read_to_string(&file).unwrap();
        assert!(
            text.lines()
                .any(|l| l.starts_with("server | ") && l.contains(" sendto(")),
            "{time}: the record keeps the stamped calls as calls\n{text}"
        );
        let replay = run(socklab(&["script", &file]), b"");
        replay.assert_ok();
        let replay = replay.without_tasks();
        let made = |out: &str| {
            out.lines().any(|l| {
                l.starts_with("server | sendto(")
                    && l.ends_with(r#", "LINHAIFENG NB", 13, 0, NULL, 0) = 13"#)
            })
        };
        assert!(made(&replay.stdout), "{time}\n{}", replay.dump());
        // The replay's own lines, stamped, replay again.
        let again = run(
            socklab(&["--trace-time", time, "script", "-"]),
            replay.stdout.as_bytes(),
        );
        again.assert_ok();
        let stamped = run(socklab(&["script", "-"]), again.stdout.as_bytes()).without_tasks();
        stamped.assert_ok();
        assert!(made(&stamped.stdout), "{time}\n{}", stamped.dump());
    }
}

/// Issue 15 item 5: the demo's set-up calls are in its transcript, as
/// strace prints them: its private directory made (`mkdirat`) and removed
/// (`unlinkat(..., AT_REMOVEDIR)`) by the `demo` side, the same name.
#[test]
fn demo_shows_its_private_directory_calls() {
    let o = run(socklab(&["demo"]), b"").without_tasks();
    o.assert_ok();
    let name_in = |call: &str| {
        o.stdout
            .lines()
            .find_map(|l| l.strip_prefix(&format!("  demo | {call}(3, \"")))
            .and_then(|r| r.split_once('"'))
            .map(|(n, rest)| (n.to_string(), rest.to_string()))
            .unwrap_or_else(|| panic!("no demo {call}\n{}", o.dump()))
    };
    let (made, rest) = name_in("mkdirat");
    assert!(made.starts_with("socklab-demo-"), "{made}");
    assert_eq!(rest, ", 0700) = 0");
    let (removed, rest) = name_in("unlinkat");
    assert_eq!((removed, rest.as_str()), (made, ", AT_REMOVEDIR) = 0"));
    let mkdir = o.stdout.find("  demo | mkdirat(").unwrap_or(0);
    let first_socket = o.stdout.find("server | socket(").unwrap_or(0);
    let rmdir = o.stdout.find("  demo | unlinkat(").unwrap_or(0);
    let last_close = o.stdout.rfind("server | close(").unwrap_or(usize::MAX);
    assert!(mkdir < first_socket && last_close < rmdir, "{}", o.dump());
}
