//! Issue 17's "README: an example of each emitted program (a short one,
//! whole)": the README's example (examples/connect-twice.script, the
//! shortest) shows the script, an excerpt of each twin (its labels and
//! `script()`) and, folded in `<details>`, each whole program, byte for
//! byte what `--emit c` and `--emit python` print now; and the allow-list
//! is `--emit python --explain`. Each is a region of README.md between
//! `<!-- NAME: ... -->` and `<!-- /NAME -->` that this test writes:
//! `UPDATE_README=1` (tools/readme-emit.sh) rewrites the regions instead
//! of comparing them, after a change to what `--emit` prints.

use std::process::Command;

use crate::harness::{run, socklab};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The README's example script, the shortest of examples/.
const EXAMPLE: &str = "examples/connect-twice.script";

/// What `socklab ARGS` prints, run in the crate root.
fn printed(args: &[&str]) -> String {
    let mut cmd: Command = socklab(args);
    cmd.current_dir(ROOT);
    let out = run(cmd, b"");
    out.assert_ok();
    out.stdout
}

/// `program`'s text from `from` up to the end of the first `end` after
/// `to` (`end` kept).
fn cut(program: &str, from: &str, to: &str, end: &str) -> String {
    let missing = |what: &str| format!("the emitted program has no {what:?}\n{program}");
    let a = program
        .find(from)
        .unwrap_or_else(|| panic!("{}", missing(from)));
    let b = program[a..]
        .find(to)
        .unwrap_or_else(|| panic!("{}", missing(to)))
        + a;
    let c = program[b..]
        .find(end)
        .unwrap_or_else(|| panic!("{}", missing(end)))
        + b;
    program[a..c + end.len()].to_string()
}

/// A fenced block of `text` (which ends with a newline).
fn fenced(lang: &str, text: &str) -> String {
    format!("```{lang}\n{text}```\n")
}

/// One twin: the command that makes and runs it, its labels and
/// `script()`, then the whole program folded.
fn twin(lang: &str, run_it: &str, excerpt: &str, program: &str) -> String {
    let file = format!("twice.{}", if lang == "c" { "c" } else { "py" });
    format!(
        "`socklab script {EXAMPLE} --emit {lang} > {file}{run_it}`; its labels and `script()`:\n\n{}\n\
         <details><summary>The whole {} program, {} lines (<code>--emit {lang}</code>)</summary>\n\n{}\n\
         </details>\n",
        fenced(lang, excerpt),
        if lang == "c" { "C" } else { "Python" },
        program.lines().count(),
        fenced(lang, program),
    )
}

/// The example's region: the script, then each twin.
fn example() -> String {
    let script = std::fs::read_to_string(format!("{ROOT}/{EXAMPLE}")).unwrap();
    let c = printed(&["script", EXAMPLE, "--emit", "c"]);
    let py = printed(&["script", EXAMPLE, "--emit", "python"]);
    let c_part = cut(
        &c,
        "/* The script's labels",
        "\nstatic void script(void)\n",
        "\n}\n",
    );
    let py_part = cut(&py, "# The script's labels", "\ndef script():\n", "\n\n\n");
    let py_part = format!("{}\n", py_part.trim_end_matches('\n'));
    format!(
        "`{EXAMPLE}`:\n\n{}\n{}\n{}",
        fenced("", &script),
        twin(
            "c",
            " && cc -Wall -Wextra -Werror -pthread twice.c -o twice && ./twice",
            &c_part,
            &c
        ),
        twin("python", " && python3 twice.py", &py_part, &py),
    )
}

/// The README's regions this test writes: (name, what it holds now).
fn regions() -> Vec<(&'static str, String)> {
    let explain = printed(&["script", "-", "--emit", "python", "--explain"]);
    vec![
        ("emit-example", example()),
        ("emit-explain", fenced("", &explain)),
    ]
}

/// Where region `name`'s text lies in `readme` (between its opening
/// comment's line and its closing comment).
fn span(readme: &str, name: &str) -> (usize, usize) {
    let open = format!("<!-- {name}:");
    let a = readme
        .find(&open)
        .unwrap_or_else(|| panic!("README.md: no {open:?}"));
    let a = readme[a..].find('\n').unwrap() + a + 1;
    let close = format!("<!-- /{name} -->");
    let b = readme[a..]
        .find(&close)
        .unwrap_or_else(|| panic!("README.md: no {close:?}"))
        + a;
    (a, b)
}

/// The first line where the README's region `a..b` and `now` differ,
/// with its README line number.
fn first_difference(readme: &str, a: usize, b: usize, now: &str) -> String {
    let first = readme[..a].lines().count() + 1;
    let (old, new): (Vec<&str>, Vec<&str>) =
        (readme[a..b].lines().collect(), now.lines().collect());
    let i = (0..old.len().max(new.len()))
        .find(|&i| old.get(i) != new.get(i))
        .unwrap_or(old.len());
    format!(
        "README.md:{}: {:?}\n      now: {:?} ({} lines, were {})",
        first + i,
        old.get(i).unwrap_or(&"(end)"),
        new.get(i).unwrap_or(&"(end)"),
        new.len(),
        old.len()
    )
}

#[test]
fn emit_readme_programs_are_what_emit_prints() {
    let path = format!("{ROOT}/README.md");
    let was = std::fs::read_to_string(&path).unwrap();
    let mut readme = was.clone();
    let update = std::env::var_os("UPDATE_README").is_some();
    for (name, now) in regions() {
        let (a, b) = span(&readme, name);
        if update {
            readme.replace_range(a..b, &now);
            continue;
        }
        if readme[a..b] != now {
            panic!(
                "README.md's region {name} is not what socklab prints now: \
                 run tools/readme-emit.sh (then read the diff)\n{}",
                first_difference(&readme, a, b, &now)
            );
        }
    }
    // Written only if changed: README.md is other tests' include_str!.
    if update && readme != was {
        std::fs::write(&path, readme).unwrap();
    }
}
