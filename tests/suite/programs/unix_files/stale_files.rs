//! A UNIX server removes only its own socket file.

use super::*;
use crate::harness;

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
    harness::blocked_in(srv.pid(), libc::SYS_rt_sigtimedwait);
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
        let out = harness::run(server_cmd(twin, 0o022, &[&path]), b"");
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
    let out = harness::run(socklab(&["--trace", "unix", "server", &path]), b"");
    out.assert_code(1);
    out.stderr_has("socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0) = 3")
        .stderr_has("= -1 EAGAIN (Resource temporarily unavailable)");
}
