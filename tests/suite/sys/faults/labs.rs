//! Faults injected into the labs: each ends cleanly.

use super::*;
use crate::harness;

/// The labs (`socklab lab NAME`) are programs too: each one, with the
/// first call of a kind failing in each of its threads (strace counts
/// `when=` per thread), must end — no hang (each side of a lab waits for
/// the other), no panic — with exit 0 (the lab does not make that call, or
/// observes what it should anyway) or 1.
/// The lab says FAIL and names the call that failed: the injected one, or
/// the one its failure caused on the other side (a timeout).
/// `make test`: socket; `make faults`: nine calls.
#[test]
fn labs_end_cleanly_when_a_call_fails() {
    if !harness::have("strace") {
        return;
    }
    let list = harness::run(socklab(&["lab", "list"]), b"");
    list.assert_ok();
    let labs: Vec<String> = list
        .stdout
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()) && !l.starts_with("Run one"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(labs.len() >= 10, "{}", list.stdout);
    let all = std::env::var("SOCKLAB_FAULTS").as_deref() == Ok("all");
    // The calls a lab makes on a TCP socket; each with the first errno of
    // its row (`make faults`: nine, recvfrom's EINTR too).
    let names: &[&str] = if all {
        &[
            "socket",
            "setsockopt",
            "bind",
            "listen",
            "accept4",
            "connect",
            "sendto",
            "recvfrom",
        ]
    } else {
        &["socket"]
    };
    let mut calls: Vec<(&str, String)> = names
        .iter()
        .map(|c| {
            (
                *c,
                harness::calls::fault_errnos(c, false, false, false)[0].clone(),
            )
        })
        .collect();
    if all {
        calls.push(("recvfrom", "EINTR".into()));
    }
    let mut n = 0;
    let mut failed_labs = 0;
    let mut named = 0;
    let mut slow: Vec<String> = vec![];
    // A lab whose server side failed waits (idle) for its own timeout:
    // the runs of one call go side by side, one per lab.
    for (call, errno) in &calls {
        let runs: Vec<_> = labs
            .iter()
            .map(|lab| {
                let prog = vec!["lab".to_string(), lab.clone()];
                let cmd = strace(
                    &prog,
                    &[
                        "-o".into(),
                        "/dev/null".into(),
                        "-e".into(),
                        format!("trace={call}"),
                        "-e".into(),
                        format!("inject={call}:error={errno}:when=1"),
                    ],
                );
                let lab = lab.clone();
                std::thread::spawn(move || (lab, run_long(cmd)))
            })
            .collect();
        for r in runs {
            let (lab, out) = r.join().unwrap();
            let what = format!("lab {lab}, {call} = -1 {errno}\n{}", out.dump());
            harness::assert_no_panic(&out);
            if out.stdout.contains("no verdict after 20 s") {
                slow.push(format!("{lab} ({call} {errno})"));
            }
            match out.code() {
                Some(0) => {}
                Some(1) => {
                    failed_labs += 1;
                    // The lab says it failed (FAIL) and which call failed:
                    // the injected one, or what it caused on the other side
                    // (a timeout waiting for the failed peer).
                    assert!(
                        out.stdout.contains("FAIL") || out.stderr.contains("socklab: "),
                        "the failure is explained: {what}"
                    );
                    if out.stdout.contains(&format!("{call}("))
                        || out.stderr.contains(&format!("{call}("))
                    {
                        named += 1;
                    }
                }
                _ => panic!("exit 0 or 1: {what}"),
            }
            n += 1;
        }
    }
    println!(
        "faults labs: {n} injections into {} labs; {failed_labs} ended with exit 1 and FAIL ({named} naming the injected call, the others what it caused), the rest observed what they should",
        labs.len()
    );
    if !slow.is_empty() {
        println!(
            "faults labs: ended by the lab's own 20 s watchdog (one side waited for the failed one): {}",
            slow.join(", ")
        );
    }
}

/// `harness::run` with a 40 s watchdog: a lab has a 20 s watchdog of its
/// own, which must get the chance to fire (and say FAIL) first.
fn run_long(mut cmd: Command) -> Outcome {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(40)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: our child, still running.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let out = rx.recv().unwrap().unwrap();
            panic!(
                "still running after 40 s; killed\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    };
    Outcome {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
