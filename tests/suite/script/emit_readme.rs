//! Issue 17's "README: an example of each emitted program": the README's
//! programs are what `--emit` prints now (of examples/connect-twice.script:
//! in C the part between the helpers it uses and the runner; in Python
//! the same part, between the helpers and the runner), and its allow-list is `--emit python --explain` of that example.

use std::process::Command;

use crate::harness::{run, socklab};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The README's fenced block (opened by "```LANG") after `after`.
fn block(readme: &str, after: &str, lang: &str) -> String {
    let i = readme
        .find(after)
        .unwrap_or_else(|| panic!("README.md: no {after:?}"));
    let open = format!("```{lang}\n");
    let a = readme[i..].find(&open).unwrap() + i + open.len();
    let b = readme[a..].find("```\n").unwrap() + a;
    readme[a..b].to_string()
}

/// What `socklab ARGS` prints, run in the crate root.
fn printed(args: &[&str]) -> String {
    let mut cmd: Command = socklab(args);
    cmd.current_dir(ROOT);
    let out = run(cmd, b"");
    out.assert_ok();
    out.stdout
}

/// The program `--emit LANG` prints for the README's example, from
/// `from` up to `until` (the runner).
fn after_runtime(lang: &str, from: &str, until: Option<&str>) -> String {
    let program = printed(&["script", "examples/connect-twice.script", "--emit", lang]);
    let i = program
        .find(from)
        .unwrap_or_else(|| panic!("{lang}: no {from:?}\n{program}"));
    let j = until.map_or(program.len(), |u| {
        program
            .find(u)
            .unwrap_or_else(|| panic!("{lang}: no {u:?}\n{program}"))
    });
    program[i..j].to_string()
}

#[test]
fn emit_readme_programs_are_what_emit_prints() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let c = block(
        &readme,
        "`examples/connect-twice.script` as C, between",
        "c",
    );
    assert_eq!(
        c,
        after_runtime("c", "/* The script's labels", Some("\n/* The runner:")),
        "README.md's C example is not what --emit c prints now"
    );
    let py = block(
        &readme,
        "and as Python (between the helpers it uses",
        "python",
    );
    assert_eq!(
        py,
        after_runtime("python", "# The script's labels", Some("\n\n# The runner:")),
        "README.md's Python example is not what --emit python prints now"
    );
    let explain = block(
        &readme,
        "What Python adds, `socklab script examples/connect-twice.script --emit python --explain`",
        "",
    );
    assert_eq!(
        explain,
        printed(&[
            "script",
            "examples/connect-twice.script",
            "--emit",
            "python",
            "--explain"
        ]),
        "README.md's allow-list is not what --emit python --explain prints now"
    );
}
