//! An ignored SIGPIPE (issue 15 item 5): strace -f prints `--- SIGPIPE
//! {...} ---` after a TCP or UNIX stream send's EPIPE even when the
//! writer ignores the signal (a tracer has it queued); socklab cannot see
//! it and says so in a note line right after the call (sys/sigpipe.rs),
//! in a lab's or script's timeline too. Against `strace -f -o FILE` of
//! the same run.

use super::under;
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

/// A note of socklab's (`SIDE | # not shown: ... --- SIGPIPE {...} ---`)
/// and the line before it (without its `[pid N]`).
type Noted = (String, String);

/// Run `lab NAME` under strace -f; its ignored SIGPIPEs and socklab's
/// notes of them, and the run's dump.
fn lab_under_strace(name: &str) -> (Vec<(i32, String)>, Vec<Noted>, String) {
    let dir = TempDir::new("sigpipe");
    let out = dir.path("lab.strace");
    let options = ["-qq", "-e", "trace=sendto", "-e", "signal=SIGPIPE"];
    let mut cmd = under::socklab(&options, &out);
    cmd.args(["lab", name]);
    let o = run(cmd, b"");
    o.assert_ok();
    let lines: Vec<String> = o.stdout.lines().map(harness::untask_timeline).collect();
    let notes = lines
        .windows(2)
        .filter(|w| w[1].contains(" | # not shown: ") && w[1].contains("--- SIGPIPE {"))
        .map(|w| (w[0].clone(), w[1].clone()))
        .collect();
    (ignored_sigpipes(&out), notes, o.dump())
}

/// lab sigpipe: the `ign` child ignores SIGPIPE; its last sendto's EPIPE
/// comes with one that strace -f shows: one note, tagged `ign`, right
/// after that sendto (where strace prints it), with the signal's si_pid
/// (the child's pid).
#[test]
fn sigpipe_lab_notes_the_ignored_sigpipe_strace_f_shows() {
    if !have("strace") {
        return;
    }
    let (seen, notes, dump) = lab_under_strace("sigpipe");
    assert_eq!(seen.len(), 1, "{seen:?}\n{dump}");
    assert_eq!(notes.len(), 1, "{notes:?}\n{dump}");
    let want = format!("si_code=SI_USER, si_pid={}, si_uid=0}} ---", seen[0].1);
    let (call, note) = &notes[0];
    assert!(note.starts_with("   ign | # "), "{dump}");
    assert!(note.contains(&want), "{want}\n{dump}");
    assert!(
        call.starts_with("   ign | sendto(") && call.ends_with("= -1 EPIPE (Broken pipe)"),
        "the note follows the EPIPE: {call:?}\n{dump}"
    );
}

/// lab send-after-shut-wr: the client's sendto with flags 0 after
/// SHUT_WR (socklab ignores SIGPIPE) comes with one; its MSG_NOSIGNAL
/// sendto with none: one note, tagged `client`, right after the first,
/// with socklab's pid (the client is a thread of it).
#[test]
fn send_after_shut_wr_lab_notes_the_ignored_sigpipe_strace_f_shows() {
    if !have("strace") {
        return;
    }
    let (seen, notes, dump) = lab_under_strace("send-after-shut-wr");
    assert_eq!(seen.len(), 1, "{seen:?}\n{dump}");
    assert_eq!(notes.len(), 1, "{notes:?}\n{dump}");
    let (call, note) = &notes[0];
    assert!(note.starts_with("client | # "), "{dump}");
    let want = format!("si_code=SI_USER, si_pid={}, si_uid=0}} ---", seen[0].1);
    assert!(note.contains(&want), "{want}\n{dump}");
    assert_eq!(
        call, "client | sendto(4, \"late\", 4, 0, NULL, 0) = -1 EPIPE (Broken pipe)",
        "{dump}"
    );
}

/// A script's EPIPEs on socketpairs of each type, under strace -f: the
/// sends and writes strace shows, each followed by its `--- SIGPIPE` if
/// any, equal socklab's lines with each note's `--- SIGPIPE {...} ---`:
/// a UNIX stream socket's (sendto with flags 0, write) have one, its
/// MSG_NOSIGNAL sendto, a seqpacket and a datagram socket's have none.
#[test]
fn a_unix_stream_sockets_ignored_sigpipe_is_noted_where_strace_f_shows_it() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("sigpipe-unix");
    let (script, out) = (dir.path("epipe.script"), dir.path("epipe.strace"));
    std::fs::write(
        &script,
        "a | p = socketpair(AF_UNIX, SOCK_STREAM, 0, ...) = 0\n\
         a | close(p[1]) = 0\n\
         a | sendto(p[0], \"x\", 1, 0, NULL, 0) = -1 EPIPE\n\
         a | sendto(p[0], \"x\", 1, MSG_NOSIGNAL, NULL, 0) = -1 EPIPE\n\
         a | write(p[0], \"x\", 1) = -1 EPIPE\n\
         a | q = socketpair(AF_UNIX, SOCK_SEQPACKET, 0, ...) = 0\n\
         a | close(q[1]) = 0\n\
         a | sendto(q[0], \"x\", 1, 0, NULL, 0) = -1 EPIPE\n\
         a | d = socketpair(AF_UNIX, SOCK_DGRAM, 0, ...) = 0\n\
         a | shutdown(d[0], SHUT_WR) = 0\n\
         a | sendto(d[0], \"x\", 1, 0, NULL, 0) = -1 EPIPE\n",
    )
    .unwrap();
    let options = ["-qq", "-e", "trace=sendto,write", "-e", "signal=SIGPIPE"];
    let mut cmd = under::socklab(&options, &out);
    cmd.arg("script").arg(&script);
    let o = run(cmd, b"");
    o.assert_ok();
    // A send on a socket (the runner's writes are to fds 1 and 2).
    let sent = |l: &str| {
        l.starts_with("sendto(")
            || (l.starts_with("write(") && !l.starts_with("write(1,") && !l.starts_with("write(2,"))
    };
    let text = std::fs::read_to_string(&out).unwrap();
    let theirs: Vec<String> = text
        .lines()
        .filter_map(|l| l.split_once(' ').map(|(_, rest)| unpad(rest.trim_start())))
        .filter(|l| sent(l) || l.starts_with("--- SIGPIPE {"))
        .collect();
    let ours: Vec<String> = o
        .stdout
        .lines()
        .map(harness::untask_timeline)
        .filter_map(|l| l.strip_prefix("     a | ").map(str::to_string))
        .filter_map(|l| match l.strip_prefix("# not shown: ") {
            Some(note) => note
                .split_once(" --- ")
                .map(|(sig, _)| format!("{sig} ---")),
            None => sent(&l).then_some(l),
        })
        .collect();
    assert_eq!(
        theirs.iter().filter(|l| l.starts_with("---")).count(),
        2,
        "{theirs:#?}\n{}",
        o.dump()
    );
    assert_eq!(ours, theirs, "{}", o.dump());
}
