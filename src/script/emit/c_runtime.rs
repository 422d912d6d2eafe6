//! The C program's runtime text, only what the program uses: the
//! helpers (`runtime.h`, `runtime_unix.h`, `runtime_handler.h`,
//! `runtime_fork.h`, `runtime_own.h`) are cut into parts, each opened by a line
//! `//@ NAMES` (what it defines; the line is not written); a part goes
//! in when a name it defines is used by the program's code (comments
//! and strings aside) or by a part already in. Each file's text before
//! its first part goes in with its first part used; runtime.h's (the
//! includes, the tables' types, the runner's declarations) always.
//! The runner (`runtime_run.h`) is at the end of the program; in it and
//! in runtime.h's head, a block between `//@if NAMES` and `//@end` goes
//! in only when one of NAMES is used (a process actor's pipes, a clone3's
//! thread, a host, link changes: none in a program without them).

use std::collections::BTreeSet;

const HELPERS: [&str; 5] = [
    include_str!("runtime.h"),
    include_str!("runtime_unix.h"),
    include_str!("runtime_handler.h"),
    include_str!("runtime_fork.h"),
    include_str!("runtime_own.h"),
];

/// The runner: its blocks for process actors, clone3 threads, hosts
/// and link changes go in only when the program has them.
const RUNNER: &str = include_str!("runtime_run.h");

/// The helpers `code` uses (and what they use), in their files' order,
/// and the runner as `code` needs it.
pub fn runtime(code: &str) -> (String, String) {
    let used = super::parts::used(&HELPERS, "//@ ", code, RUNNER, identifiers);
    (
        used.helpers
            .replace("SIGNAL_SHORT_NAMES", &signal_names("\n\t")),
        used.runner,
    )
}

/// The helpers `code` uses.
#[cfg(test)]
fn helpers(code: &str) -> String {
    runtime(code).0
}

/// runtime_own.h's `SigNames` and runtime_own.py's `SIG_NAMES` (index:
/// the signal), from socklab's own table: a mask reads in the twins'
/// messages as in the trace; `sep`: between lines of 8.
pub(super) fn signal_names(sep: &str) -> String {
    let names: Vec<String> = (0..=64)
        .map(|n| format!("\"{}\",", crate::values::xlat::signal_short_name(n)))
        .collect();
    names
        .chunks(8)
        .map(|c| c.join(" "))
        .collect::<Vec<_>>()
        .join(sep)
}

/// The identifiers of C code, its comments, strings and characters aside.
pub fn identifiers(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let b = code.as_bytes();
    let mut i = 0;
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    while i < b.len() {
        let c = at(i);
        if c == b'/' && at(i + 1) == b'*' {
            i = code[i + 2..].find("*/").map_or(b.len(), |j| i + 2 + j + 2);
        } else if c == b'/' && at(i + 1) == b'/' {
            i = code[i..].find('\n').map_or(b.len(), |j| i + j);
        } else if c == b'"' || c == b'\'' {
            i += 1;
            while i < b.len() && at(i) != c {
                i += if at(i) == b'\\' { 2 } else { 1 };
            }
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while at(i).is_ascii_alphanumeric() || at(i) == b'_' {
                i += 1;
            }
            out.insert(code[start..i].to_string());
        } else if c.is_ascii_digit() {
            while at(i).is_ascii_alphanumeric() || at(i) == b'_' {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identifiers_leave_out_comments_and_strings() {
        let ids = identifiers("/* Fail */ r = Is(4, r, 0); // Data\n x = \"Port\\\"s\"; 'a'; 0x1F");
        let want: BTreeSet<String> = ["r", "Is", "x"].iter().map(|s| s.to_string()).collect();
        assert_eq!(ids, want);
    }

    #[test]
    fn helpers_take_what_is_used_and_what_that_uses() {
        let text = helpers("r = accept(s, NULL, NULL); InetIs(3, &sa, \"x\", &p, 1);");
        // InetIs uses PortOut, which uses IntIs, which uses Fail.
        for f in ["InetIs(int", "PortOut(int", "IntIs(int", "Fail(int"] {
            assert!(text.contains(f), "{f} missing");
        }
        for f in [
            "Data(int",
            "SunIs(",
            "Pipes(int",
            "on_signal(int",
            "RemoveDirs(",
        ] {
            assert!(!text.contains(f), "{f} not used, but there");
        }
        assert!(!text.contains("//@"));
    }

    /// A program without a fork gets none of the process actors' runner
    /// code (pipes, relays, waits, the fields they use); with one, all.
    #[test]
    fn the_runner_has_process_code_only_with_a_fork() {
        let process = [
            "Give(",
            "ChildExit(",
            "Given(",
            "a->process",
            "child_down",
            "reaped",
            "waitpid(",
            "Born(",
            "a->enter",
            "SetLinksBefore(",
        ];
        let (helpers, runner) = runtime("r = accept(s, NULL, NULL);");
        for f in process {
            assert!(
                !helpers.contains(f) && !runner.contains(f),
                "{f} without a fork"
            );
        }
        assert!(!runner.contains("//@") && !helpers.contains("//@"));
        let (helpers, runner) = runtime("Pipes(1); r = fork(); Forked(1, r);");
        for f in &process[..7] {
            assert!(
                helpers.contains(f) || runner.contains(f),
                "{f} missing with a fork"
            );
        }
        assert!(runner.contains("mine = a->process ? Given(a) : Job(a);"));
        assert!(!runner.contains("\tmine = Job(a);"));
        let (_, runner) = runtime("r = Born(1);");
        assert!(runner.contains("static inline long Born(int k)"));
        assert!(!runner.contains("a->process"));
    }
}
