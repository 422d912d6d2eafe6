//! A UNIX server's file and peers (issue #8): `--mode OCTAL` (umask around
//! socket and bind; default 0777 less the umask, stated after `listening
//! on`), symbolic links on the path refused unless `--follow-symlinks`,
//! nothing but a dead socket file ever removed, and each stream peer's
//! SO_PEERCRED shown. The C twin (c_compat/unix_server) does the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod common;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{Server, TempDir, run, socklab};

/// `socklab unix server ARGS` or its C twin, with umask `mask`.
fn server_cmd(twin: bool, mask: u32, args: &[&str]) -> Command {
    let mut cmd = if twin {
        let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("c_compat/bin/unix_server");
        let mut c = Command::new(bin);
        c.args(args);
        c
    } else {
        let mut c = socklab(&["unix", "server"]);
        c.args(args);
        c
    };
    // SAFETY: umask is async-signal-safe; the child only calls it before exec.
    unsafe {
        cmd.pre_exec(move || {
            libc::umask(mask as libc::mode_t);
            Ok(())
        });
    }
    cmd
}

fn mode_of(path: &str) -> u32 {
    let md = std::fs::symlink_metadata(path).unwrap();
    assert!(md.file_type().is_socket(), "{path} is a socket");
    md.permissions().mode() & 0o7777
}

#[test]
fn mode_sets_the_socket_files_bits_and_says_so() {
    let dir = TempDir::new("mode");
    for twin in [false, true] {
        for (mask, mode, bits, said) in [
            (0o022, None, 0o755, "socket file mode 0755 (from umask 022)"),
            (0o027, None, 0o750, "socket file mode 0750 (from umask 027)"),
            (
                0o022,
                Some("0600"),
                0o600,
                "socket file mode 0600 (--mode 0600)",
            ),
            (
                0o077,
                Some("660"),
                0o660,
                "socket file mode 0660 (--mode 0660)",
            ),
        ] {
            let path = dir.path("m.sock");
            let mut args = vec![path.as_str(), "--max-conns", "1"];
            if let Some(m) = mode {
                args.extend(["--mode", m]);
            }
            let srv = Server::start_cmd(server_cmd(twin, mask, &args));
            // The file is there with its bits while the server listens.
            assert_eq!(
                mode_of(&path),
                bits,
                "twin {twin}, umask {mask:o}, {mode:?}"
            );
            run(socklab(&["unix", "client", &path, "-m", "x"]), b"").assert_ok();
            let out = srv.finish();
            out.assert_ok();
            let lines: Vec<&str> = out.stdout.lines().collect();
            assert!(lines[0].starts_with("listening on "), "{}", out.dump());
            assert_eq!(lines[1], said, "{}", out.dump());
            assert!(!Path::new(&path).exists(), "removed at exit");
        }
    }
}

#[test]
fn the_mode_is_set_with_umask_around_bind_never_after() {
    let dir = TempDir::new("mode-trace");
    let path = dir.path("t.sock");
    let srv = Server::start(&[
        "--trace", "unix", "server", &path, "--mode", "0600", "--once",
    ]);
    run(socklab(&["unix", "client", &path, "-m", "x"]), b"").assert_ok();
    let out = srv.finish();
    let calls: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| {
            ["umask(", "socket(", "bind("]
                .iter()
                .any(|c| l.starts_with(c))
        })
        .collect();
    assert_eq!(calls.len(), 4, "{}", out.dump());
    assert!(calls[0].starts_with("umask(0177) = "), "{calls:?}");
    assert!(calls[1].starts_with("socket(AF_UNIX"), "{calls:?}");
    assert!(calls[2].starts_with("bind("), "{calls:?}");
    assert!(calls[3].starts_with("umask("), "{calls:?}");
}

#[test]
fn mode_needs_a_socket_file() {
    for args in [
        vec!["unix", "server", "@socklab-mode", "--mode", "0600"],
        vec!["unix", "server", "/tmp/x.sock", "--mode", "999"],
        vec!["unix", "server", "/tmp/x.sock", "--mode", "rw"],
        vec!["unix", "server", "/tmp/x.sock", "--mode", "1777"],
        vec!["unix", "client", "/tmp/x.sock", "--mode", "0600"],
        vec!["tcp", "server", ":0", "--mode", "0600"],
    ] {
        let out = run(socklab(&args), b"");
        out.assert_code(2);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}\n{}", out.dump());
    }
}

#[test]
fn a_symlinked_directory_is_refused_unless_asked() {
    let dir = TempDir::new("symdir");
    let real = dir.dir().join("real");
    std::fs::create_dir(&real).unwrap();
    let link = dir.dir().join("link");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let through = link.join("s.sock").display().to_string();
    for twin in [false, true] {
        let out = common::run(server_cmd(twin, 0o022, &[&through, "--once"]), b"");
        out.assert_code(1);
        assert!(
            out.stderr.contains("is a symbolic link: refusing to bind")
                && out.stderr.contains("--follow-symlinks"),
            "twin {twin}\n{}",
            out.dump()
        );
        assert_eq!(
            std::fs::read_dir(&real).unwrap().count(),
            0,
            "nothing bound"
        );

        let srv = Server::start_cmd(server_cmd(
            twin,
            0o022,
            &[&through, "--once", "--follow-symlinks"],
        ));
        assert!(real.join("s.sock").exists(), "bound through the link");
        run(socklab(&["unix", "client", &through, "-m", "x"]), b"").assert_ok();
        srv.finish().assert_ok();
        assert!(!real.join("s.sock").exists(), "removed at exit");
    }
}

#[test]
fn a_symlink_at_the_path_is_never_followed_nor_removed() {
    let dir = TempDir::new("symfile");
    let target = dir.path("precious.txt");
    std::fs::write(&target, "keep me").unwrap();
    let dangling = dir.path("nowhere");
    for (i, to) in [target.as_str(), dangling.as_str()].iter().enumerate() {
        let path = dir.path(&format!("link{i}.sock"));
        std::os::unix::fs::symlink(to, &path).unwrap();
        for twin in [false, true] {
            for extra in [&[][..], &["--unlink-stale"], &["--follow-symlinks"]] {
                let mut args = vec![path.as_str(), "--once"];
                args.extend_from_slice(extra);
                let out = common::run(server_cmd(twin, 0o022, &args), b"");
                out.assert_code(1);
                assert!(
                    out.stderr
                        .contains("is a symbolic link; refusing to remove or follow it"),
                    "twin {twin} {extra:?}\n{}",
                    out.dump()
                );
                assert!(std::fs::symlink_metadata(&path).unwrap().is_symlink());
            }
        }
    }
    assert_eq!(std::fs::read_to_string(&target).unwrap(), "keep me");
    assert!(!Path::new(&dangling).exists());
}

#[test]
fn each_unix_stream_peer_shows_its_credentials() {
    let dir = TempDir::new("cred");
    let path = dir.path("c.sock");
    // SAFETY: getuid and getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    for (twin, model) in [
        (false, "iterative"),
        (true, "iterative"),
        (false, "thread"),
        (false, "fork"),
        (false, "prethread:2"),
        (false, "prefork:2"),
        (false, "poll"),
        (false, "epoll"),
    ] {
        let srv = Server::start_cmd(server_cmd(
            twin,
            0o022,
            &[&path, "--max-conns", "1", "--model", model],
        ));
        let client = socklab(&["unix", "client", &path, "-m", "hi"])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let pid = client.id();
        common::finish(client).assert_ok();
        srv.finish().assert_ok().stdout_has(&format!(
            "connection from (unnamed) (pid {pid}, uid {uid}, gid {gid})"
        ));
        assert!(!Path::new(&path).exists(), "--model {model}: file removed");
    }
}

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
        .arg(common::bin())
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
            let out = run(planted_then(&plant, args), b"");
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

#[test]
fn unix_server_leaves_a_file_that_replaced_its_socket() {
    let dir = TempDir::new("replaced");
    let path = dir.path("s.sock");
    for twin in [false, true] {
        let srv = Server::start_cmd(server_cmd(twin, 0o022, &[&path]));
        std::fs::remove_file(&path).unwrap();
        std::fs::write(&path, "d\n").unwrap();
        srv.signal(libc::SIGTERM);
        let out = srv.finish();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "d\n",
            "twin {twin}\n{}",
            out.dump()
        );
        out.stdout_has(&format!(
            "leaving {path} alone: it is no longer the socket this server bound (inode "
        ));
        std::fs::remove_file(&path).unwrap();
    }
}

#[test]
fn unix_server_leaves_another_servers_live_socket() {
    let dir = TempDir::new("live");
    let path = dir.path("s.sock");
    for twin in [false, true] {
        let a = Server::start_cmd(server_cmd(twin, 0o022, &[&path]));
        // B takes the path over (--unlink-stale removes A's file unprobed).
        let b = Server::start(&["unix", "server", &path, "--unlink-stale", "--once"]);
        a.signal(libc::SIGTERM);
        let out_a = a.finish();
        out_a.stdout_has(&format!("leaving {path} alone: it is no longer the socket"));
        // B's socket is still there, and B still answers on it.
        run(socklab(&["unix", "client", &path, "-m", "still"]), b"")
            .assert_ok()
            .stdout_has("STILL");
        b.finish().assert_ok();
        assert!(!Path::new(&path).exists(), "B removed its own file");
    }
}

#[test]
fn unix_server_leaves_a_file_swapped_in_during_pause_before_unlinkat() {
    let dir = TempDir::new("paused");
    let path = dir.path("s.sock");
    let srv = Server::start(&[
        "--pause-before",
        "unlinkat",
        "unix",
        "server",
        &path,
        "--once",
    ]);
    run(socklab(&["unix", "client", &path, "-m", "x"]), b"").assert_ok();
    // The pause waits for SIGUSR1 (stdin is not a terminal).
    common::blocked_in(srv.pid(), libc::SYS_rt_sigtimedwait);
    std::fs::remove_file(&path).unwrap();
    std::fs::write(&path, "swapped\n").unwrap();
    srv.signal(libc::SIGUSR1);
    let out = srv.finish();
    out.assert_ok()
        .stdout_has("paused before unlinkat")
        .stdout_has(&format!("leaving {path} alone: it is no longer the socket"));
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "swapped\n");
}

#[test]
fn unix_server_leaves_a_file_reached_through_a_directory_swapped_for_a_link() {
    let dir = TempDir::new("swapdir");
    let sub = dir.dir().join("sub");
    let old = dir.dir().join("old");
    let other = dir.dir().join("other");
    for twin in [false, true] {
        std::fs::create_dir(&sub).unwrap();
        std::fs::create_dir(&other).unwrap();
        std::fs::write(other.join("s.sock"), "someone else's\n").unwrap();
        let path = sub.join("s.sock").display().to_string();
        let srv = Server::start_cmd(server_cmd(twin, 0o022, &[&path]));
        // After bind: the directory goes, a link to another takes its name.
        std::fs::rename(&sub, &old).unwrap();
        std::os::unix::fs::symlink(&other, &sub).unwrap();
        srv.signal(libc::SIGTERM);
        let out = srv.finish();
        assert_eq!(
            std::fs::read_to_string(other.join("s.sock")).unwrap(),
            "someone else's\n",
            "twin {twin}\n{}",
            out.dump()
        );
        // Its own socket, in the directory it bound in, is removed.
        assert!(!old.join("s.sock").exists(), "twin {twin}\n{}", out.dump());
        std::fs::remove_file(&sub).unwrap();
        std::fs::remove_dir_all(&old).unwrap();
        std::fs::remove_dir_all(&other).unwrap();
    }
}

/// A UNIX stream listener of the test's own with backlog 0 and its queue
/// full: a blocking connect to it waits until it accepts (never).
fn full_listener(path: &str) -> (std::os::fd::OwnedFd, Vec<std::os::fd::OwnedFd>) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on fresh fds and a zeroed sockaddr_un.
    unsafe {
        let mut sun: libc::sockaddr_un = std::mem::zeroed();
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (i, b) in path.bytes().enumerate() {
            sun.sun_path[i] = b as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        let sa = &sun as *const _ as *const libc::sockaddr;
        let l = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(l >= 0);
        let listener = std::os::fd::OwnedFd::from_raw_fd(l);
        assert_eq!(libc::bind(l, sa, len), 0);
        assert_eq!(libc::listen(l, 0), 0);
        let mut queued = Vec::new();
        for _ in 0..8 {
            let c = libc::socket(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC | libc::SOCK_NONBLOCK,
                0,
            );
            assert!(c >= 0);
            let c = std::os::fd::OwnedFd::from_raw_fd(c);
            if libc::connect(std::os::fd::AsRawFd::as_raw_fd(&c), sa, len) < 0 {
                let e = std::io::Error::last_os_error();
                assert_eq!(e.raw_os_error(), Some(libc::EAGAIN), "{e}");
                return (listener, queued);
            }
            queued.push(c);
        }
        panic!("the backlog never filled");
    }
}

#[test]
fn unix_server_refuses_promptly_when_the_live_servers_backlog_is_full() {
    let dir = TempDir::new("full");
    let path = dir.path("s.sock");
    let (_listener, _queued) = full_listener(&path);
    for twin in [false, true] {
        let started = std::time::Instant::now();
        let out = common::run(server_cmd(twin, 0o022, &[&path]), b"");
        let took = started.elapsed();
        out.assert_code(1);
        assert!(
            out.stderr.contains(&format!(
                "{path} is in use: a server listens on it, its backlog full"
            )),
            "twin {twin}\n{}",
            out.dump()
        );
        assert!(
            took < std::time::Duration::from_secs(5),
            "twin {twin}: {took:?}"
        );
        assert!(Path::new(&path).exists(), "the live server's file stays");
    }
    // The probe's connect, non-blocking, and what it returned.
    let out = common::run(socklab(&["--trace", "unix", "server", &path]), b"");
    out.assert_code(1);
    out.stderr_has("socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0) = 3")
        .stderr_has("= -1 EAGAIN (Resource temporarily unavailable)");
}
