//! The twins' runtime cut into parts (C's `//@ NAMES`, Python's `#@
//! NAMES`: what the part defines; the marker line is not written). A
//! part goes in when a name it defines is used by the program's code, the
//! runner or a part already in; a file's text before its first part goes
//! in with any part of that file; the first file's head always. Inside
//! a part (or the runner) a block between `//@if NAMES` and `//@end`
//! goes in only when one of NAMES is used (`guarded`).

use std::collections::BTreeSet;

/// One part: its file, the names it defines (none: a file's head), its text.
pub(super) struct Part<'a> {
    file: usize,
    pub(super) names: Vec<&'a str>,
    pub(super) text: String,
}

pub(super) fn parts<'a>(files: &[&'a str], marker: &str) -> Vec<Part<'a>> {
    let mut out = Vec::new();
    for (file, src) in files.iter().enumerate() {
        let mut part = Part {
            file,
            names: Vec::new(),
            text: String::new(),
        };
        for line in src.split_inclusive('\n') {
            if let Some(names) = line.strip_prefix(marker) {
                out.push(part);
                part = Part {
                    file,
                    names: names.split_whitespace().collect(),
                    text: String::new(),
                };
            } else {
                part.text.push_str(line);
            }
        }
        out.push(part);
    }
    out
}

/// The parts of `files` that `code` and `runner` use (and what they
/// use), in the files' order, then the runner; in both, each guarded
/// block cut unless used (`guarded`). `identifiers` reads a text's names.
pub(super) struct Used {
    pub(super) helpers: String,
    pub(super) runner: String,
}

pub(super) fn used(
    files: &[&str],
    marker: &str,
    code: &str,
    runner: &str,
    identifiers: fn(&str) -> BTreeSet<String>,
) -> Used {
    let parts = parts(files, marker);
    let mut used = identifiers(code);
    let mut taken: Vec<bool> = (0..parts.len()).map(|i| i == 0).collect();
    // Until nothing more is used: the runner's and the taken parts' code
    // (their blocks as the names used so far keep them) adds its names.
    loop {
        let before = used.len();
        used.extend(identifiers(&guarded(runner, marker, &used)));
        for (p, t) in parts.iter().zip(taken.iter_mut()) {
            if !*t && p.names.iter().any(|n| used.contains(*n)) {
                *t = true;
            }
            if *t {
                used.extend(identifiers(&guarded(&p.text, marker, &used)));
            }
        }
        if used.len() == before {
            break;
        }
    }
    let mut helpers = String::new();
    for (i, p) in parts.iter().enumerate() {
        let head_used = p.names.is_empty()
            && parts
                .iter()
                .zip(&taken)
                .skip(i + 1)
                .take_while(|(q, _)| q.file == p.file && !q.names.is_empty())
                .any(|(_, t)| *t);
        if taken.get(i).copied().unwrap_or(false) || head_used {
            helpers.push_str(&guarded(&p.text, marker, &used));
        }
    }
    Used {
        helpers,
        runner: guarded(runner, marker, &used),
    }
}

/// `text` with its guarded blocks cut: the lines between `MARKif NAMES`
/// and `MARKend` (MARK: `//@` or `#@`) go in only when one of NAMES is
/// used; after a `MARKelse` the other way round. Blocks do not nest.
pub(super) fn guarded(text: &str, marker: &str, used: &BTreeSet<String>) -> String {
    let mark = marker.trim_end();
    let mut out = String::new();
    let mut keep = true;
    for line in text.split_inclusive('\n') {
        let Some(word) = line.trim_end().strip_prefix(mark) else {
            if keep {
                out.push_str(line);
            }
            continue;
        };
        if let Some(names) = word.strip_prefix("if ") {
            keep = names.split_whitespace().any(|n| used.contains(n));
        } else if word == "else" {
            keep = !keep;
        } else if word == "end" {
            keep = true;
        } else if keep {
            out.push_str(line);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_guarded_block_goes_in_when_a_name_of_its_guard_is_used() {
        let text = "a\n//@if Forked Born\nb\n//@else\nc\n//@end\nd\n";
        let used =
            |names: &[&str]| -> BTreeSet<String> { names.iter().map(|s| s.to_string()).collect() };
        assert_eq!(guarded(text, "//@ ", &used(&["Born"])), "a\nb\nd\n");
        assert_eq!(guarded(text, "//@ ", &used(&["x"])), "a\nc\nd\n");
    }
}
