//! The Python twin's text (issue 17, round 21): `script()` has the
//! script's lines in file order, each as a comment above its
//! `if turn(ACTOR, LINE):` and its statements one a line; the runtime
//! holds only what the program uses (a helper no other code names is
//! not written: a script without AF_UNIX has no UNIX helpers, one
//! without a fork no process actors).

use super::emit::{emitted, scripts};

/// The program's top-level `def NAME` and `class NAME` names.
fn top_level_names(program: &str) -> Vec<String> {
    program
        .lines()
        .filter_map(|l| l.strip_prefix("def ").or_else(|| l.strip_prefix("class ")))
        .map(|w| {
            w.split(|c: char| !c.is_ascii_alphanumeric() && c != '_')
                .next()
                .unwrap()
                .to_string()
        })
        .collect()
}

/// How many times `word` is in `text` as a whole word.
fn uses(text: &str, word: &str) -> usize {
    text.match_indices(word)
        .filter(|(i, _)| {
            let before = text[..*i].chars().next_back();
            let after = text[i + word.len()..].chars().next();
            let part = |c: Option<char>| c.is_some_and(|c| c.is_alphanumeric() || c == '_');
            !part(before) && !part(after)
        })
        .count()
}

#[test]
fn emit_python_script_is_the_script_in_its_order_one_statement_a_line() {
    let file = format!("{}/examples/phone-call.script", env!("CARGO_MANIFEST_DIR"));
    let program = emitted(&file, "python");
    let script = std::fs::read_to_string(&file).unwrap();
    let mut at = program.find("\ndef script():\n").expect("no script()");
    for (no, line) in script.lines().enumerate() {
        if line.trim().is_empty() || line.starts_with('#') {
            continue;
        }
        let actor = line.split(" | ").next().unwrap().trim();
        let head = format!("\n    # {line}\n    if turn(\"{actor}\", {}):\n", no + 1);
        let found = program[at..]
            .find(&head)
            .unwrap_or_else(|| panic!("line {} not next in script():\n{head}\n{program}", no + 1));
        at += found + head.len();
    }
    let body = &program[program.find("\ndef script():\n").unwrap()..at];
    for l in body.lines().filter(|l| l.starts_with("        ")) {
        let code = l.split("  # ").next().unwrap();
        assert!(!code.contains("; "), "two statements on a line: {l}");
    }
    // As the tutorial writes them: no result kept that nothing reads.
    for want in [
        "        fd3.bind(('127.0.0.1', 0))\n",
        "        fd3.listen(5)\n",
        "        fd5, addr = fd3.accept()  # Python: accept4(..., SOCK_CLOEXEC)",
        "        fd4.close()\n        closed(fd4)\n",
    ] {
        assert!(program.contains(want), "{want}\n{program}");
    }
}

#[test]
fn emit_python_writes_only_the_runtime_it_uses() {
    let mut seen_unix = false;
    let mut seen_fork = false;
    for (file, name) in scripts() {
        let program = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"))
            .args(["script", &file, "--emit", "python"])
            .output()
            .unwrap();
        if !program.status.success() {
            continue; // refused (a handler): emit_scripts.rs
        }
        let program = String::from_utf8(program.stdout).unwrap();
        // Every function and class is used by some other code.
        for n in top_level_names(&program) {
            assert!(
                uses(&program, &n) > 1,
                "{name}: {n} is written but not used\n{program}"
            );
        }
        assert!(!program.contains("#@"), "{name}: a part's #@ line written");
        let unix = program.contains("socket.AF_UNIX");
        for helper in ["def sun(", "def sun_is(", "def remove_socket_files("] {
            let with_path = program.contains("sun(0, ");
            if !unix || (helper == "def remove_socket_files(" && !with_path) {
                assert!(
                    !program.contains(helper),
                    "{name}: {helper} without AF_UNIX"
                );
            }
        }
        let forks = program.contains("os.fork()");
        assert_eq!(program.contains("class Proc"), forks, "{name}: Proc");
        assert_eq!(program.contains("    end_processes()"), forks, "{name}");
        assert_eq!(
            program.contains("import termios"),
            program.contains("termios."),
            "{name}"
        );
        seen_unix |= unix && program.contains("def sun(");
        seen_fork |= forks;
    }
    assert!(
        seen_unix && seen_fork,
        "the scripts no longer cover UNIX or fork"
    );
}
