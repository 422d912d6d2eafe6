//! A UNIX server's file and peers (issue #8): `--mode OCTAL` (umask around
//! socket and bind; default 0777 less the umask, stated after `listening
//! on`), symbolic links on the path refused unless `--follow-symlinks`,
//! nothing but a dead socket file ever removed, and each stream peer's
//! SO_PEERCRED shown. The C twin (c_compat/unix_server) does the same.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod stale_files;

use std::os::unix::fs::{FileTypeExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};

use crate::harness::{self, Server, TempDir, run, socklab};

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
        let out = harness::run(server_cmd(twin, 0o022, &[&through, "--once"]), b"");
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
                let out = harness::run(server_cmd(twin, 0o022, &args), b"");
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
        harness::finish(client).assert_ok();
        srv.finish().assert_ok().stdout_has(&format!(
            "connection from (unnamed) (pid {pid}, uid {uid}, gid {gid})"
        ));
        assert!(!Path::new(&path).exists(), "--model {model}: file removed");
    }
}
