//! Each failure a user meets: the failing call as strace prints it, the
//! errno name, the hint, exit code 1. Real failures where they can be made
//! without racing for ports; `strace -e inject` for the rest.

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
// The test makes its own peer sockets (a refusing port, a stale file): they
// are the test's, not socklab's, so the sys-only rule does not apply.
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

use crate::harness::{self, Server, TempDir, bound_tcp, have, run, socklab};

/// A UNIX socket file that nobody listens on any more (a dead server's).
fn stale_socket_file(path: &str) {
    let c = std::ffi::CString::new(path).unwrap();
    // SAFETY: plain socket calls on a fresh fd and a zeroed sockaddr_un.
    unsafe {
        let fd = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        let mut sun: libc::sockaddr_un = std::mem::zeroed();
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (i, b) in c.as_bytes().iter().enumerate() {
            sun.sun_path[i] = *b as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, &sun as *const _ as *const libc::sockaddr, len),
            0
        );
        libc::close(fd);
    }
}

fn assert_error(out: &harness::Outcome, call_and_errno: &str, hint: &str) {
    out.assert_code(1);
    let first = out
        .stderr
        .lines()
        .find(|l| l.starts_with("socklab: "))
        .unwrap_or("");
    assert!(
        first.contains(call_and_errno),
        "expected `{call_and_errno}`\n{}",
        out.dump()
    );
    let hint_line = out
        .stderr
        .lines()
        .find(|l| l.starts_with("  hint: "))
        .unwrap_or("");
    assert!(
        hint_line.contains(hint),
        "expected hint with `{hint}`\n{}",
        out.dump()
    );
}

/// Run socklab under `strace -e inject=CALL:error=ERRNO`.
fn injected(call: &str, errno: &str, args: &[&str]) -> harness::Outcome {
    run(
        harness::injected(&format!("{call}:error={errno}"), args),
        b"",
    )
}

#[test]
fn tcp_connection_refused() {
    let (_fd, port) = bound_tcp(None);
    let out = run(
        socklab(&["tcp", "client", &format!("127.0.0.1:{port}"), "-m", "x"]),
        b"",
    );
    assert_error(
        &out,
        &format!(
            "socklab: connect(3, {{sa_family=AF_INET, sin_port=htons({port}), sin_addr=inet_addr(\"127.0.0.1\")}}, 16) = -1 ECONNREFUSED (Connection refused)"
        ),
        "no server is listening",
    );
}

#[test]
fn connect_ex_prints_the_code_then_send_shows_epipe() {
    let (_fd, port) = bound_tcp(None);
    let out = run(
        socklab(&[
            "tcp",
            "client",
            &format!(":{port}"),
            "--connect-ex",
            "-m",
            "x",
        ]),
        b"",
    );
    assert_eq!(
        out.stdout,
        "connect_ex -> 111 ECONNREFUSED (Connection refused)\n",
        "{}",
        out.dump()
    );
    assert_error(
        &out,
        "sendto(3, \"x\", 1, 0, NULL, 0) = -1 EPIPE (Broken pipe)",
        "never connected",
    );
}

#[test]
fn second_server_on_the_same_port_gets_eaddrinuse() {
    let first = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    let out = run(socklab(&["tcp", "server", &first.addr]), b"");
    assert_error(
        &out,
        "= -1 EADDRINUSE (Address already in use)",
        "--reuseaddr",
    );
    assert!(
        out.stderr
            .starts_with("socklab: bind(3, {sa_family=AF_INET"),
        "{}",
        out.dump()
    );
}

#[test]
fn address_not_on_this_machine() {
    // 192.0.2.1 (TEST-NET-1) is on no interface here; bind fails, nothing is sent.
    let out = run(socklab(&["udp", "server", "192.0.2.1:0"]), b"");
    assert_error(&out, "bind(3, ", "not configured on any local interface");
    out.stderr_has("EADDRNOTAVAIL (Cannot assign requested address)");
}

#[test]
fn unix_path_without_a_server_is_enoent() {
    let dir = TempDir::new("enoent");
    let out = run(
        socklab(&["unix", "client", &dir.path("none.sock"), "-m", "x"]),
        b"",
    );
    assert_error(
        &out,
        "connect(3, {sa_family=AF_UNIX, sun_path=",
        "no socket file at this path",
    );
    out.stderr_has("ENOENT (No such file or directory)");
}

#[test]
fn unix_stale_socket_file_is_refused_with_its_own_hint() {
    let dir = TempDir::new("stale");
    let path = dir.path("stale.sock");
    stale_socket_file(&path);
    let out = run(socklab(&["unix", "client", &path, "-m", "x"]), b"");
    assert_error(
        &out,
        "ECONNREFUSED (Connection refused)",
        "no server is listening on it",
    );
}

#[test]
fn timeout_names_the_waiting_call() {
    // A UDP socket that never answers.
    let silent = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = silent.local_addr().unwrap().to_string();
    let out = run(
        socklab(&["udp", "client", &addr, "--timeout", "0.2", "-m", "anyone?"]),
        b"",
    );
    out.assert_code(1);
    assert!(
        out.stderr
            .starts_with("socklab: recvfrom(3, ...): timed out after 0.2s\n  hint: "),
        "{}",
        out.dump()
    );
}

#[test]
fn injected_failures_name_the_errno_and_hint() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("inject");
    let long_ok_path = dir.path("x.sock");
    let cases: [(&str, &str, Vec<&str>, &str); 6] = [
        (
            "bind",
            "EACCES",
            vec!["tcp", "server", "127.0.0.1:80"],
            "ports below 1024",
        ),
        (
            "bind",
            "ENAMETOOLONG",
            vec!["unix", "server", &long_ok_path],
            // The kernel's ENAMETOOLONG is a path's (a longer sun_path is
            // refused before the call, and the kernel says EINVAL for it).
            "at most 255 bytes (NAME_MAX)",
        ),
        (
            "recvfrom",
            "ECONNRESET",
            vec!["udp", "client", "127.0.0.1:9", "-m", "x"],
            "reset the connection",
        ),
        (
            "recvfrom",
            "EAGAIN",
            vec!["udp", "client", "127.0.0.1:9", "-m", "x"],
            "would block",
        ),
        (
            "socket",
            "EMFILE",
            vec!["tcp", "client", "-m", "x"],
            "file descriptors",
        ),
        (
            "sendto",
            "EPIPE",
            vec!["udp", "client", "127.0.0.1:9", "-m", "x"],
            "closed for writing",
        ),
    ];
    for (call, errno, args, hint) in cases {
        let out = injected(call, errno, &args);
        assert_error(&out, &format!("socklab: {call}("), hint);
        assert!(
            out.stderr.contains(&format!("= -1 {errno} (")),
            "{call} {errno}\n{}",
            out.dump()
        );
    }
    assert!(
        !std::path::Path::new(&long_ok_path).exists(),
        "no socket file left after a failed bind"
    );
}

#[test]
fn unix_server_removes_its_file_after_sigint_and_sigterm() {
    let dir = TempDir::new("signals");
    for (sig, code) in [
        (libc::SIGINT, 130),
        (libc::SIGTERM, 143),
        (libc::SIGHUP, 129),
    ] {
        for dgram in [false, true] {
            let path = dir.path("sig.sock");
            let mut args = vec!["unix", "server", path.as_str()];
            if dgram {
                args.push("--dgram");
            }
            let server = Server::start(&args);
            assert!(std::path::Path::new(&path).exists());
            server.signal(sig);
            let out = server.finish();
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(
                out.status.signal(),
                Some(sig),
                "killed by the re-raised signal\n{}",
                out.dump()
            );
            // What a shell reports as $?.
            assert_eq!(128 + out.status.signal().unwrap(), code);
            assert!(
                !std::path::Path::new(&path).exists(),
                "socket file left after signal {sig}"
            );
        }
    }
}

#[test]
fn unix_server_never_removes_a_regular_file_or_follows_a_symlink() {
    let dir = TempDir::new("regular");
    let path = dir.path("notes.txt");
    std::fs::write(&path, "precious").unwrap();
    let out = run(socklab(&["unix", "server", &path]), b"");
    out.assert_code(1);
    out.stderr_has("exists and is not a socket; refusing to remove it");
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");
    // --unlink-stale removes stale sockets only, never other files.
    let out = run(socklab(&["unix", "server", &path, "--unlink-stale"]), b"");
    out.assert_code(1);
    assert_eq!(std::fs::read_to_string(&path).unwrap(), "precious");

    let link = dir.path("link.sock");
    std::os::unix::fs::symlink(&path, &link).unwrap();
    let out = run(socklab(&["unix", "server", &link]), b"");
    out.assert_code(1);
    assert!(
        std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink()
    );
}

#[test]
fn unix_server_replaces_a_stale_file_but_not_a_live_one() {
    let dir = TempDir::new("replace");
    let path = dir.path("s.sock");
    stale_socket_file(&path);
    // Two connections: the second server's probe is one (it connects to see
    // whether anyone answers), the client the other.
    let server = Server::start(&["--trace", "unix", "server", &path, "--max-conns", "2"]);
    // A live server on the path: a second one must refuse, not steal it.
    let second = run(socklab(&["unix", "server", &path]), b"");
    second.assert_code(1);
    second.stderr_has("is in use: a server answers on it");
    let client = run(socklab(&["unix", "client", &path, "-m", "still here"]), b"");
    client.assert_ok();
    assert_eq!(client.stdout, "STILL HERE\n");
    let out = server.finish();
    out.assert_ok();
    assert!(
        out.stdout.starts_with("removing stale socket file"),
        "{}",
        out.dump()
    );
    assert!(
        out.stderr
            .contains("= -1 ECONNREFUSED (Connection refused)\nclose(3) = 0\nunlink("),
        "{}",
        out.dump()
    );
    assert!(!std::path::Path::new(&path).exists());
}

/// stdout on a full device, on a file past `ulimit -f`, or a closed pipe.
fn sockopt_list_with_stdout(stdout: std::process::Stdio, fsize: Option<u64>) -> harness::Outcome {
    use std::os::unix::process::CommandExt;
    let mut cmd = socklab(&["sockopt", "list"]);
    cmd.stdin(std::process::Stdio::null())
        .stdout(stdout)
        .stderr(std::process::Stdio::piped());
    if let Some(limit) = fsize {
        // SAFETY: setrlimit is async-signal-safe; it runs in the child before exec.
        unsafe {
            cmd.pre_exec(move || {
                let lim = libc::rlimit {
                    rlim_cur: limit,
                    rlim_max: limit,
                };
                if libc::setrlimit(libc::RLIMIT_FSIZE, &lim) == 0 {
                    Ok(())
                } else {
                    Err(std::io::Error::last_os_error())
                }
            });
        }
    }
    harness::finish(cmd.spawn().unwrap())
}

/// Issue 12: `socklab sockopt list > /dev/full` lost every line and exited
/// 0; past `ulimit -f`, SIGXFSZ killed it. Now the first failed write is
/// reported once, naming the stream and the errno, and the exit code is 1.
/// A closed pipe (EPIPE) stays silent, exit 0, as before.
#[test]
fn output_that_cannot_be_written_is_reported_once_and_exits_1() {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .unwrap();
    let out = sockopt_list_with_stdout(full.into(), None);
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        "socklab: cannot write to stdout: ENOSPC (No space left on device)\n",
        "{}",
        out.dump()
    );

    let dir = TempDir::new("efbig");
    let file = std::fs::File::create(dir.path("out.txt")).unwrap();
    let out = sockopt_list_with_stdout(file.into(), Some(1024));
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        "socklab: cannot write to stdout: EFBIG (File too large)\n",
        "{}",
        out.dump()
    );

    // A pipe whose reader is gone before the first line: EPIPE on every
    // write, silent, exit 0.
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills the two-int array; the read end is closed at once
    // and the write end handed to the child as its stdout.
    let closed: std::fs::File = unsafe {
        assert_eq!(libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC), 0);
        libc::close(fds[0]);
        std::os::fd::FromRawFd::from_raw_fd(fds[1])
    };
    let out = sockopt_list_with_stdout(std::process::Stdio::from(closed), None);
    out.assert_ok();
    assert_eq!(out.stderr, "", "{}", out.dump());
}

/// Issue 12: a `--trace-file` on a full device lost the trace silently,
/// and one on a FIFO without a reader blocked in open before anything
/// happened. Now: the write failure is reported (exit 1, the program's own
/// output intact), and the FIFO is refused at once (ENXIO) with a message.
#[test]
fn a_trace_file_that_cannot_be_written_or_opened_says_so() {
    let out = run(
        socklab(&["--trace-file", "/dev/full", "sockopt", "list"]),
        b"",
    );
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        "socklab: cannot write to trace file /dev/full: ENOSPC (No space left on device)\n",
        "{}",
        out.dump()
    );
    assert!(out.stdout.contains("SO_REUSEADDR"), "{}", out.dump());

    let dir = TempDir::new("fifo");
    let fifo = dir.path("trace.fifo");
    let c = std::ffi::CString::new(fifo.as_str()).unwrap();
    // SAFETY: a NUL-terminated path.
    assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
    let out = run(socklab(&["--trace-file", &fifo, "sockopt", "list"]), b"");
    out.assert_code(1);
    assert_eq!(
        out.stderr,
        format!(
            "socklab: cannot open trace file {fifo}: it is a FIFO that no process reads (ENXIO); \
             start its reader first (e.g. cat {fifo})\n"
        ),
        "{}",
        out.dump()
    );
    assert_eq!(out.stdout, "", "nothing ran: {}", out.dump());
}
