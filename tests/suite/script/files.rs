//! A script's file calls (openat, getrandom, mkdirat, newfstatat, fchmod,
//! fchmodat, unlinkat, unlink, umask) and a process actor's credentials
//! (setgroups, setgid, setuid): each line as strace prints it, replayed
//! from its own timeline; a thread actor refuses the credentials.

use super::script;
use crate::harness;

fn root() -> bool {
    // SAFETY: geteuid only reads the process's effective uid.
    unsafe { libc::geteuid() == 0 }
}

/// The unix-family lab's permission experiment, as a script in `dir`:
/// its directory calls, a socket file made 000 then 0777, a child that
/// gives up root and connects after each.
fn permissions(dir: &str) -> String {
    format!(
        "openat(AT_FDCWD, \"{dir}\", O_RDONLY|O_CLOEXEC|O_PATH|O_DIRECTORY) = 3
getrandom(\"\\x01\\x02\\x03\", 3, 0) = 3
mkdirat(3, \"sub\", 0700) = 0
d = openat(3, \"sub\", O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_DIRECTORY)
s = socket(AF_UNIX, SOCK_STREAM, 0)
bind(s, {dir}/sub/p.sock) = 0
listen(s, 5) = 0
fchmod(d, 0755) = 0
newfstatat(d, \"p.sock\", {{st_mode=S_IFSOCK|0755, st_size=0, ...}}, AT_SYMLINK_NOFOLLOW) = 0
fchmodat(d, \"p.sock\", 000) = 0
c = fork()
c | setgroups(0, NULL) = 0
c | setgid(65534) = 0
c | setuid(65534) = 0
c | t = socket(AF_UNIX, SOCK_STREAM, 0)
c | connect(t, {dir}/sub/p.sock) = -1 EACCES
c | close(t) = 0
fchmodat(d, \"p.sock\", 0777) = 0
c | u = socket(AF_UNIX, SOCK_STREAM, 0)
c | connect(u, {dir}/sub/p.sock) = 0
c | exit_group(0)
close(s) = 0
unlink(\"{dir}/sub/p.sock\") = 0
newfstatat(AT_FDCWD, \"{dir}/sub/p.sock\", ..., AT_SYMLINK_NOFOLLOW) = -1 ENOENT
close(d) = 0
unlinkat(3, \"sub\", AT_REMOVEDIR) = 0
"
    )
}

/// Run as root (setuid needs it): every line as strace prints it, and
/// the timeline, fed back, makes the same calls again.
#[test]
fn script_file_calls_and_a_child_that_gives_up_root() {
    if !root() {
        // As another user setgroups fails (EPERM): the line says so.
        let out = script("c = fork()\nc | setgroups(0, NULL) = -1 EPERM\n", &[]);
        out.assert_ok();
        return;
    }
    let dir = harness::TempDir::new("script-files");
    let d = dir.path("");
    let d = d.trim_end_matches('/');
    // nobody must reach the socket file: the test's directory is 0700.
    std::fs::set_permissions(d, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let out = script(&permissions(d), &[]);
    out.assert_ok();
    for want in [
        format!("main | openat(AT_FDCWD, \"{d}\", O_RDONLY|O_CLOEXEC|O_PATH|O_DIRECTORY) = 3"),
        "main | mkdirat(3, \"sub\", 0700) = 0".to_string(),
        "main | openat(3, \"sub\", O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_DIRECTORY) = 4".into(),
        "main | fchmod(4, 0755) = 0".into(),
        "main | newfstatat(4, \"p.sock\", {st_mode=S_IFSOCK|0755, st_size=0, ...}, AT_SYMLINK_NOFOLLOW) = 0".into(),
        "main | fchmodat(4, \"p.sock\", 000) = 0".into(),
        "c | setgroups(0, NULL) = 0".into(),
        "c | setgid(65534) = 0".into(),
        "c | setuid(65534) = 0".into(),
        format!("c | connect(6, {{sa_family=AF_UNIX, sun_path=\"{d}/sub/p.sock\"}}, {}) = -1 EACCES (Permission denied)", d.len() + 13),
        format!("c | connect(6, {{sa_family=AF_UNIX, sun_path=\"{d}/sub/p.sock\"}}, {}) = 0", d.len() + 13),
        format!("main | unlink(\"{d}/sub/p.sock\") = 0"),
        "main | unlinkat(3, \"sub\", AT_REMOVEDIR) = 0".into(),
    ] {
        assert!(
            out.stdout.lines().any(|l| l.trim_start() == want),
            "no line {want}\n{}",
            out.dump()
        );
    }
    assert!(
        out.stdout
            .lines()
            .any(|l| l.trim_start().starts_with("main | getrandom(\"\\x")
                && l.ends_with(", 3, 0) = 3")),
        "{}",
        out.dump()
    );
    assert!(!std::path::Path::new(&format!("{d}/sub")).exists());
    // The timeline is a script: the same calls again (random bytes are
    // no expectation).
    let again = script(&out.stdout, &[]);
    again.assert_ok();
    // Each actor's calls in its order (how the two actors' lines and the
    // child's end interleave is the scheduler's), signal and exit lines out.
    let calls = |s: &str| -> Vec<String> {
        let mut lines: Vec<&str> = s
            .lines()
            .filter(|l| !l.contains("--- SIG") && !l.contains("+++") && !l.contains("| #"))
            .collect();
        lines.sort_by_key(|l| l.split_once(" | ").map_or("", |(actor, _)| actor.trim()));
        lines
            .into_iter()
            .filter(|l| !l.contains("clone(") && !l.contains("wait4(") && !l.contains("getrandom("))
            .map(|l| match l.find("0x") {
                // A failed newfstatat's buffer address.
                Some(i) => {
                    let end = l[i..].find(',').map_or(l.len(), |e| i + e);
                    format!("{}0xP{}", &l[..i], &l[end..])
                }
                None => l.to_string(),
            })
            .collect()
    };
    assert_eq!(calls(&again.stdout), calls(&out.stdout), "{}", again.dump());
}

/// setuid, setgid, setgroups would change socklab's own thread: a thread
/// actor refuses them (exit 1, no call).
#[test]
fn script_a_thread_actor_refuses_credentials() {
    for line in [
        "setuid(65534) = 0",
        "setgid(65534) = 0",
        "setgroups(0, NULL) = 0",
    ] {
        let out = script(&format!("{line}\n"), &[]);
        out.assert_code(1)
            .stderr_has("would change the ids of socklab's own thread: make it in a process actor");
        let call = line.split('(').next().unwrap();
        assert!(!out.stdout.contains(&format!("{call}(")), "{}", out.dump());
    }
}

/// umask (issue 17): its result is the old mask, printed in octal as
/// strace prints it (`umask(0177) = 022`), and `= 022` is an expectation
/// on it; the socket file the bind then makes has the mode the mask
/// leaves (0600); a mask that differs is reported in octal.
#[test]
fn script_umask_sets_the_mask_and_expects_the_old_one() {
    let dir = harness::TempDir::new("script-umask");
    let d = dir.path("s.sock");
    let text = format!(
        "umask(022)
umask(0177) = 022
s = socket(AF_UNIX, SOCK_STREAM, 0)
bind(s, {d}) = 0
newfstatat(AT_FDCWD, \"{d}\", {{st_mode=S_IFSOCK|0600, st_size=0, ...}}, AT_SYMLINK_NOFOLLOW) = 0
umask(000) = 0177
"
    );
    let out = script(&text, &[]);
    out.assert_ok();
    for want in ["umask(0177) = 022", "umask(000) = 0177"] {
        assert!(
            out.stdout.lines().any(|l| l.trim_start() == want),
            "no line {want}\n{}",
            out.dump()
        );
    }
    // The timeline replays.
    script(&out.stdout, &[]).assert_ok();
    let out = script("umask(022)\numask(0) = 0177\n", &[]);
    out.assert_code(1)
        .stderr_has("expected result: = 0177")
        .stderr_has("got      result: = 022");
}

/// The end removes the directories the script's mkdirat made, deepest
/// first, after the socket file bound in the deeper one: nothing is left.
#[test]
fn script_end_removes_the_directories_its_mkdirat_made() {
    let dir = harness::TempDir::new("script-dirs");
    let d = dir.path("");
    let d = d.trim_end_matches('/');
    let text = format!(
        "t = openat(AT_FDCWD, \"{d}\", O_RDONLY|O_CLOEXEC|O_PATH|O_DIRECTORY)
mkdirat(t, \"a\", 0700) = 0
mkdirat(AT_FDCWD, \"{d}/a/b\", 0700) = 0
s = socket(AF_UNIX, SOCK_STREAM, 0)
bind(s, {d}/a/b/s.sock) = 0
"
    );
    let out = script(&text, &[]);
    out.assert_ok();
    let lines: Vec<&str> = out.stdout.lines().map(str::trim_start).collect();
    let at = |want: String| {
        lines
            .iter()
            .position(|l| *l == want)
            .unwrap_or_else(|| panic!("no line {want}\n{}", out.dump()))
    };
    let sock = at(format!("unlink(\"{d}/a/b/s.sock\") = 0"));
    let b = at(format!("unlinkat(AT_FDCWD, \"{d}/a/b\", AT_REMOVEDIR) = 0"));
    let a = at(format!("unlinkat(AT_FDCWD, \"{d}/a\", AT_REMOVEDIR) = 0"));
    assert!(sock < b && b < a, "{}", out.dump());
    assert!(!std::path::Path::new(&format!("{d}/a")).exists());
}

/// A directory the script's mkdirat made, replaced by another one (another
/// inode) before the end: left alone, with a note.
#[test]
fn script_end_leaves_a_directory_that_replaced_its_own() {
    use std::io::{BufRead, Read, Write};
    let dir = harness::TempDir::new("script-dirs");
    let d = dir.path("");
    let d = d.trim_end_matches('/');
    let text = format!(
        "mkdirat(AT_FDCWD, \"{d}/a\", 0700) = 0
p = socketpair(AF_UNIX, SOCK_STREAM, 0, [5, 6]) = 0
recv(p[0], 10)
"
    );
    let mut cmd = harness::socklab(&["script", "-", "--timeout", "1"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    // The handshake: the recvfrom is seen asleep (its <unfinished ...> line).
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(out.read_line(&mut line).unwrap() > 0, "{seen}");
        seen.push_str(&line);
        if line.contains("recvfrom(") && line.contains("<unfinished ...>") {
            break;
        }
    }
    std::fs::rename(format!("{d}/a"), format!("{d}/old")).unwrap();
    // Inside the test's own 0700 directory (random name): the new `a`.
    std::os::unix::fs::DirBuilderExt::mode(&mut std::fs::DirBuilder::new(), 0o700)
        .create(format!("{d}/a"))
        .unwrap();
    out.read_to_string(&mut seen).unwrap();
    harness::finish(child);
    assert!(
        seen.contains(&format!(
            "# {d}/a: not the directory the mkdirat made (st_dev="
        )),
        "{seen}"
    );
    assert!(!seen.contains("AT_REMOVEDIR"), "{seen}");
    assert!(std::path::Path::new(&format!("{d}/a")).is_dir());
}
