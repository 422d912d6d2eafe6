//! An ignored SIGPIPE (issue 15 item 5): strace -f prints `--- SIGPIPE
//! {...} ---` after a TCP send's EPIPE even when the writer ignores the
//! signal (a tracer has it queued); socklab cannot see it and says so in
//! a note line, in the labs where it happens. Against one `strace -f -o
//! FILE` of the lab.

use super::*;

/// The pids strace -f saw take an ignored SIGPIPE (a `--- SIGPIPE` not
/// followed by `+++ killed by SIGPIPE +++` for that task), each with
/// the signal's si_pid.
fn ignored_sigpipes(path: &str) -> Vec<(i32, String)> {
    let text = std::fs::read_to_string(path).expect("read strace -f output");
    let lines: Vec<(i32, &str)> = text
        .lines()
        .filter_map(|l| {
            let (pid, rest) = l.split_once(' ')?;
            Some((pid.parse().ok()?, rest.trim_start()))
        })
        .collect();
    let mut found = Vec::new();
    for (i, (pid, line)) in lines.iter().enumerate() {
        let Some(rest) = line.strip_prefix("--- SIGPIPE {") else {
            continue;
        };
        let killed = lines[i + 1..]
            .iter()
            .find(|(p, _)| p == pid)
            .is_some_and(|(_, l)| l.starts_with("+++ killed by SIGPIPE"));
        let si_pid = rest
            .split("si_pid=")
            .nth(1)
            .and_then(|r| r.split(',').next());
        if !killed {
            found.push((*pid, si_pid.expect("si_pid").to_string()));
        }
    }
    found
}

/// Run `lab NAME` under strace -f; its ignored SIGPIPEs and socklab's
/// notes of them (`SIDE | # not shown: ... --- SIGPIPE {...} ---`).
fn lab_under_strace(name: &str) -> (Vec<(i32, String)>, Vec<String>, String) {
    let dir = TempDir::new("sigpipe");
    let out = dir.path("lab.strace");
    let mut cmd = Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=sendto",
        "-e",
        "signal=SIGPIPE",
        "-o",
    ])
    .arg(&out)
    .arg(harness::bin())
    .args(["lab", name]);
    let o = run(cmd, b"");
    o.assert_ok();
    let notes = o
        .stdout
        .lines()
        .filter(|l| l.contains(" | # not shown: ") && l.contains("--- SIGPIPE {"))
        .map(str::to_string)
        .collect();
    (ignored_sigpipes(&out), notes, o.dump())
}

/// lab sigpipe: the `ign` child ignores SIGPIPE; its last sendto's EPIPE
/// comes with one that strace -f shows: one note, tagged `ign`, with the
/// signal's si_pid (the child's pid).
#[test]
fn sigpipe_lab_notes_the_ignored_sigpipe_strace_f_shows() {
    if !have("strace") {
        return;
    }
    let (seen, notes, dump) = lab_under_strace("sigpipe");
    assert_eq!(seen.len(), 1, "{seen:?}\n{dump}");
    assert_eq!(notes.len(), 1, "{notes:?}\n{dump}");
    let want = format!("si_code=SI_USER, si_pid={}, si_uid=0}} ---", seen[0].1);
    assert!(notes[0].starts_with("   ign | # "), "{dump}");
    assert!(notes[0].contains(&want), "{want}\n{dump}");
}

/// lab send-after-shut-wr: the client's sendto with flags 0 after
/// SHUT_WR (socklab ignores SIGPIPE) comes with one; its MSG_NOSIGNAL
/// sendto with none: one note, tagged `client`.
#[test]
fn send_after_shut_wr_lab_notes_the_ignored_sigpipe_strace_f_shows() {
    if !have("strace") {
        return;
    }
    let (seen, notes, dump) = lab_under_strace("send-after-shut-wr");
    assert_eq!(seen.len(), 1, "{seen:?}\n{dump}");
    assert_eq!(notes.len(), 1, "{notes:?}\n{dump}");
    assert!(notes[0].starts_with("client | # "), "{dump}");
}
