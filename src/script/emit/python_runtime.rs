//! The Python program's runtime text, only what the program uses, cut
//! as the C twin's is (`c_runtime.rs`): the helpers (`runtime.py`,
//! `runtime_unix.py`, `runtime_fork.py`, `runtime_own.py`) are parts,
//! each opened by a line `#@ NAMES` (what it defines; the line is not
//! written); a part goes in when a name it defines is used by the
//! program's code (comments, strings and attributes aside; an f-string's
//! `{...}` is code) or by a part already in. A file's text before its
//! first part goes in with its first part used; runtime.py's (the
//! imports every program makes) always. The runner (`runtime_run.py`)
//! is at the end of the program; in it (and in a part) a block between
//! `#@if NAMES` and `#@end` goes in only when one of NAMES is used.

use std::collections::BTreeSet;
use std::sync::OnceLock;

const HELPERS: [&str; 4] = [
    include_str!("runtime.py"),
    include_str!("runtime_unix.py"),
    include_str!("runtime_fork.py"),
    include_str!("runtime_own.py"),
];

/// The runner: its blocks for process actors, clone3 threads, hosts and
/// link changes go in only when the program has them.
const RUNNER: &str = include_str!("runtime_run.py");

/// The helpers `code` uses (and what they use), in their files' order,
/// and the runner as `code` needs it.
pub fn runtime(code: &str) -> (String, String) {
    let used = super::parts::used(&HELPERS, "#@ ", code, RUNNER, identifiers);
    let names = super::c_runtime::signal_names("\n    ");
    (
        used.helpers.replace("SIGNAL_SHORT_NAMES", &names),
        used.runner,
    )
}

/// The helpers `code` uses.
#[cfg(test)]
fn helpers(code: &str) -> String {
    runtime(code).0
}

/// Does the runtime define `name` at its top level (a script's label
/// named so would replace it: `python::var` renames the label)?
pub fn defines(name: &str) -> bool {
    static NAMES: OnceLock<BTreeSet<String>> = OnceLock::new();
    NAMES
        .get_or_init(|| {
            let mut out = BTreeSet::new();
            for src in HELPERS.iter().chain([&RUNNER]) {
                for line in src.lines() {
                    let word = line
                        .strip_prefix("def ")
                        .or_else(|| line.strip_prefix("class "))
                        .or_else(|| line.strip_prefix("import "))
                        .unwrap_or(line);
                    let end = word
                        .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                        .unwrap_or(word.len());
                    if end > 0 && !line.starts_with(' ') && !line.starts_with('#') {
                        out.insert(word[..end].to_string());
                    }
                }
            }
            out
        })
        .contains(name)
}

/// The identifiers of Python code: its comments, strings (but an
/// f-string's `{...}`) and attributes (`x.name`'s name) aside.
pub fn identifiers(code: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    scan(code, &mut out);
    out
}

fn scan(code: &str, out: &mut BTreeSet<String>) {
    let b = code.as_bytes();
    let at = |k: usize| b.get(k).copied().unwrap_or(0);
    let mut i = 0;
    while i < b.len() {
        let c = at(i);
        if c == b'#' {
            i = code[i..].find('\n').map_or(b.len(), |j| i + j);
        } else if c == b'"' || c == b'\'' {
            i = string(code, i, false, out);
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while at(i).is_ascii_alphanumeric() || at(i) == b'_' {
                i += 1;
            }
            let word = &code[start..i];
            let prefix = word.len() <= 2 && word.bytes().all(|x| b"bBrRfFuU".contains(&x));
            if prefix && (at(i) == b'"' || at(i) == b'\'') {
                i = string(code, i, word.contains(['f', 'F']), out);
            } else if start == 0 || at(start - 1) != b'.' {
                out.insert(word.to_string());
            }
        } else if c.is_ascii_digit() {
            while at(i).is_ascii_alphanumeric() || at(i) == b'_' || at(i) == b'.' {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
}

/// A string starting at `i` (its quote): where it ends; an f-string's
/// `{...}` parts are scanned as code.
fn string(code: &str, i: usize, f: bool, out: &mut BTreeSet<String>) -> usize {
    let b = code.as_bytes();
    let q = b[i];
    let triple = b.get(i..i + 3) == Some(&[q, q, q][..]);
    let open = if triple { 3 } else { 1 };
    let mut j = i + open;
    let mut depth = 0;
    let mut inner = String::new();
    while j < b.len() {
        let c = b[j];
        if c == b'\\' {
            j += 2;
            continue;
        }
        if depth == 0 && c == q && (!triple || b.get(j..j + 3) == Some(&[q, q, q][..])) {
            break;
        }
        if f && c == b'{' && b.get(j + 1) != Some(&b'{') {
            depth += 1;
        } else if f && c == b'{' {
            j += 1;
        } else if f && c == b'}' && depth > 0 {
            depth -= 1;
            inner.push(' ');
        } else if depth > 0 {
            inner.push(char::from(c));
        }
        j += 1;
    }
    if !inner.is_empty() {
        scan(&inner, out);
    }
    (j + open).min(b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn python_identifiers_leave_out_comments_strings_and_attributes() {
        let ids = identifiers(
            "r = s.bind(sun(0, b\"fail\"))  # want\nx = f\"{FILE}:{line} quit\" + '''port'''",
        );
        let want: BTreeSet<String> = ["r", "s", "sun", "x", "FILE", "line"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert_eq!(ids, want);
    }

    #[test]
    fn python_helpers_take_what_is_used_and_what_that_uses() {
        let text = helpers("a, addr = l.accept(); addr_is(3, addr, '127.0.0.1', 0)");
        for f in ["def addr_is(", "def fail(", "def quit(", "import errno"] {
            assert!(text.contains(f) || RUNNER.contains(f), "{f} missing");
        }
        for f in [
            "def sun(",
            "class Proc",
            "def pid_is(",
            "import termios",
            "def enter_host(",
            "def remove_dirs(",
            "def status_is(",
        ] {
            assert!(!text.contains(f), "{f} not used, but there");
        }
        assert!(!text.contains("#@"));
    }

    /// Each part defines what its `#@` line names, and every top-level
    /// name is in a part that names it: a helper added without its own
    /// `#@` line would ride on the part above it.
    #[test]
    fn python_parts_name_what_they_define() {
        for p in super::super::parts::parts(&HELPERS, "#@ ")
            .iter()
            .filter(|p| !p.names.is_empty())
        {
            for line in p.text.lines() {
                let name = line
                    .strip_prefix("def ")
                    .or_else(|| line.strip_prefix("class "))
                    .or_else(|| line.strip_prefix("import "))
                    .map(|w| w.split(|c: char| !c.is_ascii_alphanumeric() && c != '_'))
                    .and_then(|mut w| w.next());
                if let Some(n) = name {
                    assert!(p.names.contains(&n), "{n} is not in its part's #@ line");
                }
            }
        }
    }

    /// A program without a fork gets none of the process actors' runner
    /// code; with one, all of it.
    #[test]
    fn python_runner_has_process_code_only_with_a_fork() {
        let process = [
            "def given(",
            "def child_exit(",
            "a.process",
            "process = False",
            "a.reaped",
            "BORN",
            "set_links(",
            "self.enter",
        ];
        let (helpers, runner) = runtime("s = socket.socket(); a, addr = s.accept()");
        for f in process {
            assert!(
                !helpers.contains(f) && !runner.contains(f),
                "{f} without a fork"
            );
        }
        assert!(!runner.contains("#@") && !helpers.contains("#@"));
        let (helpers, runner) = runtime("pipes(1); r = os.fork(); forked(1, r)");
        for f in &process[..5] {
            assert!(
                helpers.contains(f) || runner.contains(f),
                "{f} missing with a fork"
            );
        }
    }

    /// A mask in a mismatch reads as strace writes it (socklab's table).
    #[test]
    fn python_masks_are_named_as_strace_names_them() {
        let (helpers, _) = runtime("old = signal.pthread_sigmask(0, []); mask_is(3, old, [10])");
        assert!(helpers.contains("def sig_text("));
        assert!(helpers.contains("\"0\", \"HUP\", \"INT\","));
        assert!(helpers.contains("\"RTMIN\", \"RT_1\","));
        assert!(!helpers.contains("SIGNAL_SHORT_NAMES"));
    }
}
