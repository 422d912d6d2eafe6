//! The README's script and shell transcripts are what socklab prints now
//! (its emitted programs: emit_readme.rs).

use super::{lines, norm};
use crate::harness::{self, socklab};

/// The README's script runs, and prints what the README shows (ports aside).
#[test]
fn script_the_readme_example_runs_as_shown() {
    let readme = include_str!("../../../README.md");
    let from = readme.find("$ cat twice.txt\n").unwrap() + "$ cat twice.txt\n".len();
    let (text, rest) = readme[from..]
        .split_once("$ socklab script twice.txt\n")
        .unwrap();
    let shown = rest.split("```").next().unwrap();
    let out = super::script_raw(text, &[]);
    out.assert_ok();
    let want: Vec<String> = shown.lines().map(norm).collect();
    assert_eq!(lines(&out), want, "{}", out.dump());
}

/// A README transcript's shown lines, normalised: ports (`norm`), pids
/// and tids (`[pid N]`, 4 digits or more), addresses, the uid.
fn shown(line: &str) -> String {
    let mut l = norm(line).replace("[pid  ", "[pid ");
    if let Some(i) = l.find("child_tidptr=0x") {
        let end = l[i..].find(')').map_or(l.len(), |e| i + e);
        l.replace_range(i..end, "child_tidptr=0xP");
    }
    if let Some(i) = l.find("si_uid=") {
        let n = l[i + 7..].chars().take_while(char::is_ascii_digit).count();
        l.replace_range(i + 7..i + 7 + n, "U");
    }
    let mut out = String::new();
    let mut digits = String::new();
    for c in l.chars().chain(std::iter::once('\n')) {
        if c.is_ascii_digit() {
            digits.push(c);
            continue;
        }
        out.push_str(if digits.len() >= 4 { "N" } else { &digits });
        digits.clear();
        out.push(c);
    }
    out.trim_end_matches('\n').to_string()
}

/// The README's text between `from` and the end of its code block.
fn readme_block(from: &str) -> &'static str {
    let readme = include_str!("../../../README.md");
    let at = readme.find(from).unwrap() + from.len();
    readme[at..].split("```").next().unwrap()
}

/// The README's sigpipe transcript is what the script prints now.
#[test]
fn script_the_readme_sigpipe_transcript_is_real() {
    let (text, _) = readme_block("$ cat sigpipe.txt\n")
        .split_once("$ socklab script sigpipe.txt\n")
        .unwrap();
    let want: Vec<String> = readme_block("$ socklab script sigpipe.txt\n")
        .lines()
        .map(shown)
        .collect();
    let out = super::script_raw(text, &[]);
    out.assert_ok();
    let got: Vec<String> = out.stdout.lines().map(shown).collect();
    assert_eq!(got, want, "{}", out.dump());
}

/// The README's shell transcript: its typed lines (after `socklab> `),
/// fed to the shell, print the lines shown between them (then the end's
/// closes, which the transcript does not reach).
#[test]
fn shell_the_readme_transcript_is_real() {
    let block = readme_block("$ socklab shell\n");
    let mut typed = String::new();
    let mut want = Vec::new();
    for l in block.lines() {
        match l.strip_prefix("socklab>") {
            Some(t) if !t.trim().is_empty() => typed.push_str(&format!("{}\n", t.trim())),
            Some(_) => {}
            None => want.push(shown(l)),
        }
    }
    let out = harness::run(socklab(&["shell"]), typed.as_bytes());
    out.assert_ok();
    let got: Vec<String> = out.stdout.lines().map(shown).collect();
    assert!(got.len() > want.len(), "{}", out.dump());
    assert_eq!(got[..want.len()], want[..], "{}", out.dump());
}
