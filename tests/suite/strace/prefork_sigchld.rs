//! The prefork parent's SIGCHLD (issue 15, found by this round's audit):
//! strace -f prints `--- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED,
//! si_pid=N, ...} ---` right after the parent's `wait4(...) = N` at each
//! worker's end; its action is the default (ignore), so socklab cannot see
//! it and names it in a note at that place.

use super::under::{run_every_call, tcp_model};
use super::*;

/// The `si_pid=` of a SIGCHLD line or note.
fn si_pid(line: &str) -> Option<i32> {
    let rest = line.split_once("--- SIGCHLD {")?.1;
    rest.split_once("si_pid=")?
        .1
        .split(',')
        .next()?
        .parse()
        .ok()
}

#[test]
fn prefork_parents_sigchld_is_named_where_strace_f_prints_it() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("prefork-sigchld");
    let (out, trace) = run_every_call(&dir, &tcp_model("prefork:2", "2"), 2);
    let theirs = std::fs::read_to_string(&out).expect("read strace -o");
    let raw = std::fs::read_to_string(&trace).expect("read --trace-file");
    let dump = || format!("--- socklab ---\n{raw}\n--- strace -f ---\n{theirs}");
    // Two workers, two SIGCHLDs sent; strace -f prints one when both end
    // before the parent takes the first (a standard signal does not queue:
    // seen once in a full run). socklab cannot tell: a note at each reap.
    let want: Vec<i32> = theirs.lines().filter_map(si_pid).collect();
    assert!(
        (1..=2).contains(&want.len()),
        "the workers' SIGCHLD\n{}",
        dump()
    );
    // socklab's: each note right after the parent's wait4 that reaped it
    // (the line before of the same task: others' lines may come between).
    // A line's task: its `[pid N]`, or, untagged (only one task left, as
    // strace -f prints it), the parent's: the first process strace saw.
    let parent = theirs.split_whitespace().next().unwrap_or("").to_string();
    let task = |l: &str| match l.strip_prefix("[pid ") {
        Some(r) => r
            .split_once("] ")
            .map_or("", |(pid, _)| pid.trim())
            .to_string(),
        None => parent.clone(),
    };
    let lines: Vec<&str> = raw.lines().collect();
    let mut got = Vec::new();
    for (i, l) in lines.iter().enumerate() {
        let Some(pid) = si_pid(l) else { continue };
        let body = harness::untask(l);
        assert!(
            body.starts_with("# not shown: --- SIGCHLD {"),
            "{l}\n{}",
            dump()
        );
        let before = lines[..i]
            .iter()
            .rev()
            .find(|b| task(b) == task(l))
            .map_or("", |b| harness::untask(b));
        assert!(
            before.contains("wait4") && before.ends_with(&format!(") = {pid}")),
            "{before:?} then {l:?}\n{}",
            dump()
        );
        got.push(pid);
    }
    assert_eq!(got.len(), 2, "a note at each worker's reap\n{}", dump());
    assert!(
        want.iter().all(|p| got.contains(p)),
        "each SIGCHLD strace -f printed is named\n{}",
        dump()
    );
}
