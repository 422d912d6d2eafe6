//! The labs' and the demo's private directories (src/private_dir.rs):
//! made with a random name, never a path planted at an old predictable name.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::path::Path;
use std::process::Command;

use crate::harness::{self, TempDir, run, socklab};

// ---------------------------------------------------------------------------
// Issue 12: private temporary directories, inode-checked unlinks, a probe
// that never waits.
// ---------------------------------------------------------------------------

/// The directories `mkdirat(3, "NAME", 0700) = 0` lines of a lab or demo
/// transcript name (the random part is 6 of [A-Za-z0-9]).
fn made_dirs(stdout: &str, prefix: &str) -> Vec<std::path::PathBuf> {
    let mut dirs: Vec<std::path::PathBuf> = stdout
        .lines()
        .filter_map(|l| l.split_once(&format!("\"{prefix}-")))
        .map(|(_, rest)| rest.split('"').next().unwrap().to_string())
        .filter(|s| s.len() == 6 && s.bytes().all(|b| b.is_ascii_alphanumeric()))
        .map(|s| std::env::temp_dir().join(format!("{prefix}-{s}")))
        .collect();
    dirs.dedup();
    dirs
}

/// The lab names, from `socklab lab list`.
fn lab_names() -> Vec<String> {
    let out = run(socklab(&["lab", "list"]), b"");
    out.assert_ok();
    out.stdout
        .lines()
        .take_while(|l| !l.is_empty())
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_string)
        .collect()
}

/// `sh -c 'PLANT; exec socklab ARGS'`: the shell's pid is socklab's, so
/// PLANT can use the names socklab used to derive from its pid.
fn planted_then(plant: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("sh");
    cmd.arg("-c")
        .arg(format!("{plant}\nexec \"$0\" \"$@\""))
        .arg(harness::bin())
        .args(args);
    cmd
}

/// Remove what a test planted in /tmp: links as links, directories with
/// what is in them.
fn unplant(pattern_pid: &str) {
    for e in std::fs::read_dir(std::env::temp_dir()).unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if name.starts_with(pattern_pid) {
            let p = e.path();
            if std::fs::symlink_metadata(&p).unwrap().is_symlink() {
                std::fs::remove_file(&p).unwrap();
            } else {
                std::fs::remove_dir_all(&p).unwrap();
            }
        }
    }
}

#[test]
fn lab_never_touches_what_is_planted_at_its_old_predictable_names() {
    let victim = TempDir::new("victim");
    let keep = victim.path("keep.txt");
    std::fs::write(&keep, "root's file").unwrap();
    let labs = lab_names();
    assert!(labs.contains(&"unix-family".to_string()), "{labs:?}");
    // A symbolic link to the victim, or a directory of someone else's with
    // a file in it, at /tmp/socklab-lab-PID-NAME for every lab.
    for (what, plant_one) in [
        ("link", "ln -s VICTIM \"$T/socklab-lab-$$-NAME\""),
        (
            "dir",
            "mkdir \"$T/socklab-lab-$$-NAME\" && echo theirs > \"$T/socklab-lab-$$-NAME/theirs.txt\"",
        ),
    ] {
        for args in [&["lab", "unix-family"][..], &["lab", "all"]] {
            let plant: String = labs
                .iter()
                .map(|n| {
                    plant_one
                        .replace("VICTIM", &victim.dir().display().to_string())
                        .replace("NAME", n)
                })
                .collect::<Vec<_>>()
                .join("\n");
            let plant = format!("T={}\n{plant}\necho $$ >&2", std::env::temp_dir().display());
            // `lab all` takes longer than one watchdog (see lab/all.rs).
            let limit = std::time::Duration::from_secs(90);
            let out = harness::run_within(planted_then(&plant, args), b"", limit);
            let pid = out.stderr.lines().next().unwrap_or("").to_string();
            let planted = format!("socklab-lab-{pid}-");
            let what = format!("{what} {args:?}\n{}", out.dump());
            // Every planted entry is as it was (looked at before they are
            // removed, asserted after), and the victim too.
            let mut changed = Vec::new();
            for n in &labs {
                let p = std::env::temp_dir().join(format!("{planted}{n}"));
                let intact = match std::fs::symlink_metadata(&p) {
                    Ok(md) if what.starts_with("link") => md.is_symlink(),
                    Ok(_) => {
                        std::fs::read_dir(&p).map_or(0, |d| d.count()) == 1
                            && std::fs::read_to_string(p.join("theirs.txt")).ok()
                                == Some("theirs\n".to_string())
                    }
                    Err(_) => false,
                };
                if !intact {
                    changed.push(p.display().to_string());
                }
            }
            unplant(&planted);
            assert!(changed.is_empty(), "changed: {changed:?}: {what}");
            assert_eq!(
                std::fs::read_to_string(&keep).ok().as_deref(),
                Some("root's file"),
                "{what}"
            );
            assert_eq!(
                std::fs::read_dir(victim.dir()).unwrap().count(),
                1,
                "nothing added to nor removed from the victim: {what}"
            );
            out.assert_ok();
            // The lab's own directory: random, 0700, and gone after.
            let made = made_dirs(&out.stdout, "socklab-lab");
            assert!(!made.is_empty(), "{what}");
            assert!(
                out.stdout.contains(&format!(
                    "mkdirat(3, \"{}\", 0700) = 0",
                    made[0].file_name().unwrap().to_string_lossy()
                )),
                "{what}"
            );
            for d in made {
                assert!(!d.exists(), "{} left behind: {what}", d.display());
            }
        }
    }
}

#[test]
fn demo_works_while_other_socklab_demo_dirs_exist() {
    let plant = format!(
        "T={}\nmkdir \"$T/socklab-demo-$$\" && echo theirs > \"$T/socklab-demo-$$/theirs.txt\"\necho $$ >&2",
        std::env::temp_dir().display()
    );
    let before: Vec<_> = socklab_entries();
    let out = run(planted_then(&plant, &["demo"]), b"");
    let pid = out.stderr.lines().next().unwrap_or("").to_string();
    let planted = std::env::temp_dir().join(format!("socklab-demo-{pid}"));
    let theirs = std::fs::read_to_string(planted.join("theirs.txt"));
    unplant(&format!("socklab-demo-{pid}"));
    assert_eq!(theirs.unwrap(), "theirs\n", "{}", out.dump());
    out.assert_ok();
    // Its socket files were in a random directory of its own, gone now.
    let made: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once("sun_path=\""))
        .filter_map(|(_, rest)| rest.rsplit_once("/stream.sock\""))
        .map(|(dir, _)| dir.to_string())
        .collect();
    assert!(!made.is_empty(), "{}", out.dump());
    let dir = Path::new(&made[0]);
    let name = dir.file_name().unwrap().to_string_lossy().into_owned();
    assert!(
        name.starts_with("socklab-demo-") && name.len() == 19,
        "{name}"
    );
    assert!(!dir.exists(), "{} left behind", dir.display());
    // Nothing of this run's is left in /tmp.
    let after = socklab_entries();
    assert!(
        after.iter().all(|e| before.contains(e) || *e != name),
        "{after:?}"
    );
}

/// The socklab-* names in the temp directory now.
fn socklab_entries() -> Vec<String> {
    std::fs::read_dir(std::env::temp_dir())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with("socklab-"))
        .collect()
}
