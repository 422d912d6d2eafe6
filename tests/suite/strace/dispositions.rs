//! Signal dispositions strace -f sees a program set (issue 15 item 5:
//! set-up calls are shown, or a note line says why not): every
//! `rt_sigaction` in strace's lines is socklab's line (`--model fork`'s
//! SIGCHLD handler) or named in a note at its place, between the trace
//! lines strace prints around it: the runtime's and SIGXFSZ's before the
//! first line, the stop handlers where they are installed, the re-raise's
//! SIG_DFL before its rt_sigprocmask.

use super::under::{self, every_call};
use super::*;

/// A signal's name as a word of `note` (`SIGINT` in `..., SIGINT, ...`).
fn names(note: &str, sig: &str) -> bool {
    note.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
        .any(|w| w == sig)
}

/// `tcp server --model fork` under `strace -f` (every call), stopped by
/// SIGTERM in accept4: strace's rt_sigaction calls against socklab's
/// trace, walked in step (each socklab line equal to strace's moves on;
/// the notes since the last one are the place's).
#[test]
fn every_rt_sigaction_strace_f_shows_is_a_line_or_named_in_a_note_at_its_place() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("dispositions");
    let args = ["tcp", "server", "127.0.0.1:0", "--model", "fork"];
    let (cmd, out, trace) = under::command(&dir, &["-qq"], &args);
    let server = Server::start_cmd(cmd);
    let pid = under::traced_pid(server.pid());
    harness::blocked_in(pid, libc::SYS_accept4);
    // SAFETY: socklab, strace's child.
    unsafe { libc::kill(pid, libc::SIGTERM) };
    let end = server.finish();
    let (theirs, main) = every_call(&out);
    let raw = std::fs::read_to_string(&trace).expect("read --trace-file");
    let dump = || {
        format!(
            "{}\n--- socklab ---\n{raw}\n--- strace -f ---\n{theirs:#?}",
            end.dump()
        )
    };
    // strace's `---`/`+++` lines are not in `every_call`'s lists.
    let mine: Vec<&str> = raw
        .lines()
        .map(harness::untask)
        .filter(|l| !l.starts_with("---") && !l.starts_with("+++"))
        .collect();
    let (mut at, mut place, mut seen) = (0, Vec::new(), Vec::new());
    for line in &theirs[&main] {
        while let Some(note) = mine.get(at).filter(|l| l.starts_with("# ")) {
            place.push(*note);
            at += 1;
        }
        if mine.get(at) == Some(&line.as_str()) {
            at += 1;
            place.clear();
            if line.starts_with("rt_sigaction(") {
                seen.push("a line".to_string());
            }
            continue;
        }
        let Some(sig) = line
            .strip_prefix("rt_sigaction(")
            .and_then(|r| r.split(',').next())
        else {
            continue;
        };
        assert!(
            place
                .iter()
                .any(|n| n.contains("rt_sigaction(") && names(n, sig)),
            "{line:?}: not a line, not named in a note at its place ({place:#?})\n{}",
            dump()
        );
        seen.push(sig.to_string());
    }
    assert_eq!(at, mine.len(), "socklab's lines in step\n{}", dump());
    // The runtime's, SIGXFSZ, the seven stop handlers, SIGCHLD's line,
    // the re-raise's SIG_DFL.
    for sig in [
        "SIGPIPE", "SIGXFSZ", "SIGUSR1", "SIGINT", "SIGALRM", "a line",
    ] {
        assert!(seen.iter().any(|s| s == sig), "{sig}: {seen:?}\n{}", dump());
    }
    assert_eq!(
        seen.iter().filter(|s| *s == "SIGTERM").count(),
        2,
        "{seen:?}"
    );
}
