//! The calls a Python program makes that the script did not ask for:
//! the allow-list of the Python twin's trace (`--emit python --explain`,
//! the README), each with why the `socket` module makes it.

/// One allowed difference: Python's call, the script's, and why.
pub struct Extra {
    pub python: &'static str,
    pub script: &'static str,
    pub why: &'static str,
}

pub const EXTRAS: &[Extra] = &[];

/// The list as text.
pub fn text() -> String {
    EXTRAS
        .iter()
        .map(|e| format!("{}\n  instead of: {}\n  why: {}", e.python, e.script, e.why))
        .collect::<Vec<_>>()
        .join("\n")
}
