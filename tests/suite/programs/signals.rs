//! Signals beyond values::errors (issue #8):
//! - SIGINT/SIGTERM/SIGHUP reaching a UNIX server in the middle of a
//!   connection (blocked in recvfrom on it), or waiting in poll
//!   (`--timeout`), or with `--mode`: exit 128+N (killed by the re-raised
//!   signal), the socket file removed.
//! - Programs without a file to clean up (TCP, UDP, clients) catch the
//!   stop signals too (so their trace shows it: strace/killed.rs) and die
//!   by the re-raised signal: the same 128+N.
//! - Signals that do not stop socklab (SIGSTOP then SIGCONT, SIGWINCH,
//!   SIGCHLD, SIGURG) arriving during blocking calls: the call is restarted
//!   or retried, the server serves on, nothing is reported as a failure.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;

use crate::harness::{self, Server, TempDir, run, socklab};

fn assert_died_by(out: &harness::Outcome, sig: i32) {
    assert_eq!(out.status.signal(), Some(sig), "{}", out.dump());
    harness::assert_no_panic(out);
}

#[test]
fn unix_server_mid_connection_or_in_poll_exits_128_plus_n_and_cleans_up() {
    let dir = TempDir::new("sig-mid");
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        for extra in [&[][..], &["--timeout", "30"], &["--mode", "0600"]] {
            let path = dir.path("m.sock");
            let mut args = vec!["unix", "server", path.as_str()];
            args.extend_from_slice(extra);
            let srv = Server::start(&args);
            // A connection that sends one message and then nothing: the
            // server answers and waits in recvfrom (or poll) on it.
            let mut c = UnixStream::connect(&path).unwrap();
            c.write_all(b"hi").unwrap();
            let mut buf = [0u8; 2];
            c.read_exact(&mut buf).unwrap();
            assert_eq!(&buf, b"HI");
            srv.signal(sig);
            let out = srv.finish();
            assert_died_by(&out, sig);
            assert!(!Path::new(&path).exists(), "{sig} {extra:?}: file left");
        }
    }
}

#[test]
fn programs_without_a_file_die_by_the_signal() {
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        for args in [
            vec!["tcp", "server", "127.0.0.1:0"],
            vec!["udp", "server", "127.0.0.1:0"],
        ] {
            let srv = Server::start(&args);
            srv.signal(sig);
            assert_died_by(&srv.finish(), sig);
        }
        // A client blocked in recvfrom: a server that never answers.
        let (sink, port) = harness::bound_tcp(Some(8));
        let addr = format!("127.0.0.1:{port}");
        let mut c = socklab(&["tcp", "client", &addr])
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        // Its stdin stays open: the client waits for a line; signal it.
        // SAFETY: our child.
        unsafe { libc::kill(c.id() as i32, sig) };
        let _ = c.stdin.take();
        assert_died_by(&harness::finish(c), sig);
        drop(sink);
    }
}

#[test]
fn stop_continue_and_harmless_signals_do_not_disturb_a_server() {
    let dir = TempDir::new("sig-harmless");
    let path = dir.path("h.sock");
    for args in [
        vec!["tcp", "server", "127.0.0.1:0", "--max-conns", "2"],
        vec![
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--timeout",
            "30",
        ],
        vec!["unix", "server", path.as_str(), "--max-conns", "2"],
        vec!["udp", "server", "127.0.0.1:0", "--max-conns", "2"],
    ] {
        let srv = Server::start(&args);
        let family = args[0];
        let client = |msg: &str| {
            let mut c = socklab(&[family, "client", &srv.addr, "-m", msg]);
            if family == "udp" {
                c.args(["--timeout", "10"]);
            }
            run(c, b"")
        };
        // Blocked in accept4/recvfrom/poll: stopped, continued, poked.
        for sig in [
            libc::SIGSTOP,
            libc::SIGCONT,
            libc::SIGWINCH,
            libc::SIGCHLD,
            libc::SIGURG,
        ] {
            srv.signal(sig);
        }
        client("one").assert_ok().stdout_has("ONE");
        for sig in [libc::SIGSTOP, libc::SIGCONT, libc::SIGWINCH] {
            srv.signal(sig);
        }
        client("two").assert_ok().stdout_has("TWO");
        let out = srv.finish();
        out.assert_ok();
        assert!(!out.stderr.contains("socklab:"), "{args:?}\n{}", out.dump());
    }
}

/// SIGPIPE and EPIPE on stdout: `socklab demo | head -1` and a usage error
/// whose stderr reader is gone end normally, never with a panic.
#[test]
fn a_closed_stdout_or_stderr_is_no_panic() {
    use std::io::BufRead;
    let mut demo = socklab(&["demo"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    std::io::BufReader::new(demo.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert!(first.starts_with("socklab demo"), "{first}");
    // The reader is gone (dropped): every later line meets EPIPE.
    let out = harness::finish(demo);
    out.assert_ok();

    let mut bad = socklab(&["tcp", "server", ":99999"])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    drop(bad.stderr.take());
    let status = bad.wait().unwrap();
    assert_eq!(status.code(), Some(2), "{status:?}");
}

/// A UNIX server's echo of one message on a fresh connection: the server is
/// alive and serving (a signal sent before it was delivered before this).
fn echo_through(path: &str, msg: &[u8]) {
    let mut c = UnixStream::connect(path).unwrap();
    c.write_all(msg).unwrap();
    c.shutdown(std::net::Shutdown::Write).unwrap();
    let mut back = Vec::new();
    c.read_to_end(&mut back).unwrap();
    assert_eq!(back, msg.to_ascii_uppercase());
}

/// Issue 12: a stop signal during a pause was lost: glibc's sigwait made
/// the wait again after the handler ran, and once SIGUSR1 ended the pause,
/// accept4 slept forever (the handler's one-second alarm had fired during
/// the pause). Now the pause ends at the signal, the server stops at its
/// next blocking call, removes its file and dies by the signal (128+N):
/// paused for SIGUSR1 (stdin not a terminal) with the stop signal alone,
/// the stop signal then SIGUSR1 (the issue's `kill -TERM; kill -USR1`), and
/// a timed pause (`accept4:30`, in clock_nanosleep).
#[test]
fn a_stop_signal_during_a_pause_stops_a_unix_server_and_removes_its_file() {
    let dir = TempDir::new("sig-pause");
    let path = dir.path("p.sock");
    for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
        for (pause, waits_in, then_usr1) in [
            ("accept4", libc::SYS_rt_sigtimedwait, false),
            ("accept4", libc::SYS_rt_sigtimedwait, true),
            ("accept4:30", libc::SYS_clock_nanosleep, false),
        ] {
            let srv = Server::start(&["--pause-before", pause, "unix", "server", &path]);
            harness::blocked_in(srv.pid(), waits_in);
            let started = std::time::Instant::now();
            srv.signal(sig);
            if then_usr1 {
                srv.signal(libc::SIGUSR1);
            }
            let out = srv.finish();
            let what = format!("{sig} during --pause-before {pause} (then SIGUSR1: {then_usr1})");
            assert_died_by(&out, sig);
            assert!(
                out.stdout.contains("paused before accept4 on fd 3"),
                "{what}\n{}",
                out.dump()
            );
            assert!(!Path::new(&path).exists(), "{what}: file left");
            // Promptly (the watchdog would wait 20 s).
            assert!(
                started.elapsed() < std::time::Duration::from_secs(5),
                "{what}: took {:?}",
                started.elapsed()
            );
        }
    }
}

/// Issue 12: Ctrl-C at "press Enter" did nothing in a UNIX server (std's
/// read_line makes the read again after the handler's EINTR). Now Enter
/// still goes on, and SIGINT at the prompt stops the server, which
/// removes its file and dies by SIGINT (130).
#[test]
fn ctrl_c_at_press_enter_stops_a_unix_server_and_removes_its_file() {
    use std::io::BufRead;
    use std::process::Stdio;
    let dir = TempDir::new("sig-pty");
    let path = dir.path("t.sock");
    let (mut master, slave) = harness::pty();
    let mut child = socklab(&[
        "--pause-after",
        "listen",
        "--pause-before",
        "accept4",
        "unix",
        "server",
        &path,
    ])
    .stdin(Stdio::from(slave))
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .unwrap();
    let pid = child.id() as i32;
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(
        line,
        format!("paused after listen on fd 3 (pid {pid}): press Enter to go on\n")
    );
    // Enter: the server goes on to listening, then the next pause.
    master.write_all(b"\n").unwrap();
    while !line.starts_with("paused before accept4") {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            break;
        }
        seen.push_str(&line);
    }
    assert!(seen.contains(&format!("listening on {path}\n")), "{seen}");
    assert_eq!(
        line,
        format!("paused before accept4 on fd 3 (pid {pid}): press Enter to go on\n")
    );
    harness::blocked_in(pid, libc::SYS_read);
    // Ctrl-C (the terminal's SIGINT), sent directly.
    // SAFETY: our child.
    unsafe { libc::kill(pid, libc::SIGINT) };
    let done = harness::finish(child);
    assert_died_by(&done, libc::SIGINT);
    assert!(!Path::new(&path).exists(), "file left\n{}", done.dump());
    drop(master);
}

/// A command whose core dumps are off (SIGQUIT's default action dumps).
fn without_core(mut cmd: std::process::Command) -> std::process::Command {
    use std::os::unix::process::CommandExt;
    // SAFETY: setrlimit is async-signal-safe; it runs in the child before exec.
    unsafe {
        cmd.pre_exec(|| {
            let none = libc::rlimit {
                rlim_cur: 0,
                rlim_max: 0,
            };
            if libc::setrlimit(libc::RLIMIT_CORE, &none) == 0 {
                Ok(())
            } else {
                Err(std::io::Error::last_os_error())
            }
        });
    }
    cmd
}

/// Issue 12: SIGUSR1 (which a pause tells the user to send), SIGUSR2,
/// SIGQUIT and SIGXFSZ killed a UNIX server by their default action,
/// leaving its socket file. Now SIGQUIT and SIGUSR2 are stop signals (the
/// file removed, exit 128+N); SIGUSR1 outside a pause and SIGXFSZ do
/// nothing: the server serves on, and SIGTERM then stops it as usual.
#[test]
fn sigusr1_and_sigxfsz_leave_a_unix_server_serving_and_sigquit_sigusr2_stop_it_cleanly() {
    let dir = TempDir::new("sig-other");
    let path = dir.path("o.sock");
    for sig in [libc::SIGUSR1, libc::SIGXFSZ] {
        let srv = Server::start(&["unix", "server", &path]);
        srv.signal(sig);
        echo_through(&path, b"still here");
        srv.signal(libc::SIGTERM);
        let out = srv.finish();
        assert_died_by(&out, libc::SIGTERM);
        assert!(out.stdout.contains("still here"), "{sig}\n{}", out.dump());
        assert!(!Path::new(&path).exists(), "{sig}: file left");
    }
    for sig in [libc::SIGQUIT, libc::SIGUSR2] {
        let srv = Server::start_cmd(without_core(socklab(&["unix", "server", &path])));
        srv.signal(sig);
        let out = srv.finish();
        assert_died_by(&out, sig);
        assert!(!Path::new(&path).exists(), "{sig}: file left");
    }
}

/// `--model thread --once`: a stop signal while the main thread waits for
/// its last connection (a thread's join would not end at it) stops the
/// server at once (128+N by the signal), the client still connected.
#[test]
fn a_thread_server_waiting_for_its_last_connection_dies_by_sigterm() {
    let args = [
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "thread",
        "--once",
    ];
    let srv = Server::start(&args).watch_stderr();
    let mut client = harness::socklab(&["tcp", "client", &srv.addr])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("client");
    // The connection's thread is made after its accept4.
    srv.wait_stderr("clone3(");
    srv.signal(libc::SIGTERM);
    let out = srv.finish();
    drop(client.stdin.take());
    let _ = harness::finish(client);
    assert_died_by(&out, libc::SIGTERM);
}
