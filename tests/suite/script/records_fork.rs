//! The fork model's record replayed under `strace -f`: the SIGCHLD of
//! each process actor that ends reaches the main actor's handler (the
//! task that made the accept4 and the forks), as in the original, not a
//! thread of socklab's runner (which blocks SIGCHLD while a run lasts:
//! src/script/chld_mask.rs).

use super::records_models::record;
use crate::harness::{TempDir, bin, have, run};

#[test]
fn script_a_fork_records_sigchld_reaches_its_parent_actor_under_strace_f() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("rec-fork-strace");
    let text = record(&dir, "fork");
    let (file, trace) = (dir.path("fork.script"), dir.path("fork.strace"));
    std::fs::write(&file, &text).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args(["-f", "-qq", "-e", "trace=accept4,clone", "-o", &trace]);
    cmd.args([bin(), "script", &file]);
    let o = run(cmd, b"");
    o.assert_ok();
    let strace = std::fs::read_to_string(&trace).unwrap();
    let pid = |l: &str| l.split_whitespace().next().unwrap_or("").to_string();
    // The main actor's task: the one that forks the server's children.
    let main = strace
        .lines()
        .find(|l| l.contains("accept4(3, "))
        .map(pid)
        .unwrap_or_else(|| panic!("{strace}"));
    let takers: Vec<String> = strace
        .lines()
        .filter(|l| l.contains("--- SIGCHLD {"))
        .map(pid)
        .collect();
    assert!(!takers.is_empty(), "{strace}\n{}", o.dump());
    assert!(
        takers.iter().all(|t| *t == main),
        "SIGCHLD taken by {takers:?}, not the main actor {main}\n{strace}"
    );
}
