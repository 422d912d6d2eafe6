//! `socklab net` (src/net/): the link measured against its SPEC by
//! programs that are not socklab's (Python's sockets, `peers.py`, run in
//! the hosts by `net run`), and the network's life: up, show, set, exec,
//! down, a dead forwarder cleaned by the next up, a stop signal on run.
//!
//! Each test has a network of its own (`--name`), so they run in
//! parallel; a guard takes it down even when the test fails, and each
//! test checks that no namespace or state of its name is left. They need
//! root: under CI=true its absence fails them, elsewhere they skip.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::process::Command;

use crate::harness::*;

mod ifindex;
mod life;
mod link;

const PEERS: &str = include_str!("peers.py");

/// Root and python3, or skip (a failure under CI).
fn can_run() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "socklab net needs root; under CI a missing capability is a failure"
        );
        eprintln!("SKIPPED: socklab net needs root");
        return false;
    }
    have("python3") && have("ip")
}

/// A network name of the test's own; taken down on drop.
struct Net {
    name: String,
    dir: TempDir,
}

impl Net {
    /// `TAG` and the suite's pid (at most 12 characters with a 6-letter
    /// tag): another worktree's suite may run the same test at the same
    /// time, and its `net down` of a shared name took this one's link
    /// away (ENETUNREACH in the blaster, seen under load).
    fn new(tag: &str) -> Net {
        let dir = TempDir::new(tag);
        std::fs::write(dir.path("peers.py"), PEERS).unwrap();
        Net {
            name: format!("{tag}{}", std::process::id() % 1_000_000),
            dir,
        }
    }

    fn peers(&self, args: &str) -> Vec<String> {
        let mut v = vec!["python3".to_string(), self.dir.path("peers.py")];
        v.extend(args.split_whitespace().map(String::from));
        v
    }

    /// `socklab [global] net run --name N [opts] -- A ::: B`.
    fn run(&self, global: &[&str], opts: &[&str], a: &str, b: &str) -> Outcome {
        let mut args: Vec<String> = global.iter().map(|s| s.to_string()).collect();
        args.extend(["net", "run", "--name", &self.name].map(String::from));
        args.extend(opts.iter().map(|s| s.to_string()));
        args.push("--".into());
        args.extend(self.peers(a));
        args.push(":::".into());
        args.extend(self.peers(b));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        run(socklab(&refs), b"")
    }

    fn cmd(&self, args: &[&str]) -> Outcome {
        let mut all = vec!["net", args[0], "--name", &self.name];
        all.extend_from_slice(&args[1..]);
        run(socklab(&all), b"")
    }

    /// Nothing of this network is left: namespaces, state, forwarder.
    fn assert_gone(&self) {
        let list = Command::new("ip").args(["netns", "list"]).output().unwrap();
        let list = String::from_utf8_lossy(&list.stdout);
        for host in ["a", "b"] {
            let ns = format!("{}-{host}", self.name);
            assert!(
                !list
                    .lines()
                    .any(|l| l.split_whitespace().next() == Some(&ns)),
                "{ns} left behind:\n{list}"
            );
        }
        let state = format!("/run/socklab/{}", self.name);
        assert!(
            !std::path::Path::new(&state).exists(),
            "{state} left behind"
        );
        let ps = Command::new("ps").args(["-eo", "args"]).output().unwrap();
        let me = format!("__forward --name {} ", self.name);
        assert!(
            !String::from_utf8_lossy(&ps.stdout).contains(&me),
            "forwarder of {} left running",
            self.name
        );
    }
}

impl Drop for Net {
    fn drop(&mut self) {
        let _ = Command::new(bin())
            .args(["net", "down", "--name", &self.name])
            .output();
    }
}

fn number_after(text: &str, before: &str) -> f64 {
    let at = text
        .find(before)
        .unwrap_or_else(|| panic!("no {before:?} in {text}"))
        + before.len();
    let num: String = text[at..]
        .chars()
        .take_while(|c| c.is_ascii_digit() || *c == '.')
        .collect();
    num.parse().unwrap()
}
