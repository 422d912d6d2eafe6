//! The twins' runtime cut into parts (C's `//@ NAMES`, Python's `#@
//! NAMES`: what the part defines; the marker line is not written). A
//! part goes in when a name it defines is used by the program's code, the
//! runner or a part already in; a file's text before its first part goes
//! in with any part of that file; the first file's head always.

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
/// use), in the files' order; `identifiers` reads a text's names.
pub(super) fn used(
    files: &[&str],
    marker: &str,
    code: &str,
    runner: &str,
    identifiers: fn(&str) -> BTreeSet<String>,
) -> String {
    let parts = parts(files, marker);
    let mut used = identifiers(code);
    used.extend(identifiers(runner));
    let mut taken: Vec<bool> = (0..parts.len()).map(|i| i == 0).collect();
    if let Some(p) = parts.first() {
        used.extend(identifiers(&p.text));
    }
    loop {
        let mut more = false;
        for (p, t) in parts.iter().zip(taken.iter_mut()) {
            if !*t && p.names.iter().any(|n| used.contains(*n)) {
                *t = true;
                more = true;
                used.extend(identifiers(&p.text));
            }
        }
        if !more {
            break;
        }
    }
    let mut out = String::new();
    for (i, p) in parts.iter().enumerate() {
        let head_used = p.names.is_empty()
            && parts
                .iter()
                .zip(&taken)
                .skip(i + 1)
                .take_while(|(q, _)| q.file == p.file && !q.names.is_empty())
                .any(|(_, t)| *t);
        if taken.get(i).copied().unwrap_or(false) || head_used {
            out.push_str(&p.text);
        }
    }
    out
}
