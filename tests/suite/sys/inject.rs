//! Error paths without racing for real ports: `strace -e inject=CALL:error=ERRNO`
//! makes each syscall the programs make fail, in socklab and in its C twin.
//! Both must exit 1 naming the errno (socklab: `socklab: CALL(...) = -1
//! ENAME (text)`; C: `PROG: CALL: ENAME (text)`), and socklab also prints
//! its hint when its table has one.
//!
//! Calls that the dynamic loader or the Rust runtime also make before main
//! (close, poll, ioctl, newfstatat) are failed only at their first call on
//! a socket (or the UNIX server's lstat): a traced dry run counts the calls
//! before it, and `when=N` picks that one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use crate::harness;
use crate::harness::cmp;

use std::process::Command;

use crate::harness::TempDir;
use crate::harness::cmp::Side;

struct Case {
    call: &'static str,
    errno: &'static str,
    prog: &'static str,
    args: Vec<String>,
    /// Another injection the path to `call` needs (connect → EINPROGRESS).
    also: Option<&'static str>,
    /// socklab's hint table has a hint for this errno here.
    hint: bool,
}

fn case(call: &'static str, errno: &'static str, prog: &'static str, args: &[&str]) -> Case {
    Case {
        call,
        errno,
        prog,
        args: args.iter().map(|s| s.to_string()).collect(),
        also: None,
        hint: false,
    }
}

impl Case {
    fn hint(mut self) -> Self {
        self.hint = true;
        self
    }
}

/// Which call of `call` (1-based) is the program's first own one.
fn first_own_call(side: Side, c: &Case) -> usize {
    if !matches!(c.call, "close" | "poll" | "ioctl" | "newfstatat") {
        // No loader or runtime code makes socket calls: the first is ours.
        return 1;
    }
    let dir = TempDir::new("dry");
    let trace = dir.path("trace");
    let inner = cmp::program(side, c.prog, &c.args);
    let mut cmd = Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH")
        .args(["-f", "-qq", "-y", "-e", "signal=none", "-e"])
        .arg(format!("trace={}", c.call))
        .args(["-o", &trace])
        .arg(inner.get_program())
        .args(inner.get_args());
    let out = harness::run(cmd, b"");
    let raw = std::fs::read_to_string(&trace).unwrap();
    let lines: Vec<&str> = raw
        .lines()
        .map(|l| {
            l.trim_start_matches(|ch: char| ch.is_ascii_digit())
                .trim_start()
        })
        .collect();
    let i = lines
        .iter()
        .position(|l| cmp::is_program_call(l))
        .unwrap_or_else(|| {
            panic!(
                "no {} on a socket in the dry run\n{raw}\n{}",
                c.call,
                out.dump()
            )
        });
    i + 1
}

fn inject(side: Side, c: &Case) -> harness::Outcome {
    let when = first_own_call(side, c);
    let inner = cmp::program(side, c.prog, &c.args);
    let mut traced = vec![c.call.to_string()];
    let mut cmd = Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH")
        .args(["-f", "-qq", "-o", "/dev/null", "-e", "signal=none"]);
    cmd.arg("-e")
        .arg(format!("inject={}:error={}:when={when}", c.call, c.errno));
    if let Some(also) = c.also {
        cmd.arg("-e").arg(format!("inject={also}"));
        traced.push(also.split(':').next().unwrap().to_string());
    }
    cmd.arg("-e").arg(format!("trace={}", traced.join(",")));
    cmd.arg(inner.get_program()).args(inner.get_args());
    harness::run(cmd, b"")
}

fn check(c: Case) {
    if !harness::have("strace") {
        return;
    }
    let rust = inject(Side::Rust, &c);
    let cc = inject(Side::C, &c);
    let what = format!(
        "inject {}:error={} into {} {:?}\n--- Rust ---\n{}\n--- C ---\n{}",
        c.call,
        c.errno,
        c.prog,
        c.args,
        rust.dump(),
        cc.dump()
    );
    rust.assert_code(1);
    cc.assert_code(1);
    assert!(
        rust.stderr.contains(&format!("socklab: {}(", c.call))
            && rust.stderr.contains(&format!(" = -1 {} (", c.errno)),
        "{what}"
    );
    assert!(
        cc.stderr
            .contains(&format!("{}: {}: {} (", c.prog, c.call, c.errno)),
        "{what}"
    );
    if c.hint {
        assert!(rust.stderr.contains("\n  hint: "), "{what}");
    }
}

#[test]
fn socket() {
    check(
        case(
            "socket",
            "EMFILE",
            "tcp_client",
            &["127.0.0.1:9", "-m", "x"],
        )
        .hint(),
    );
}

#[test]
fn setsockopt() {
    check(case(
        "setsockopt",
        "ENOPROTOOPT",
        "tcp_server",
        &["127.0.0.1:0", "--reuseaddr"],
    ));
}

#[test]
fn bind() {
    check(case("bind", "EADDRINUSE", "tcp_server", &["127.0.0.1:0"]).hint());
    check(case("bind", "EACCES", "udp_server", &["127.0.0.1:0"]).hint());
}

#[test]
fn listen() {
    check(case("listen", "EADDRINUSE", "tcp_server", &["127.0.0.1:0"]).hint());
}

#[test]
fn getsockname() {
    check(case(
        "getsockname",
        "ENOBUFS",
        "udp_server",
        &["127.0.0.1:0"],
    ));
}

#[test]
fn accept4() {
    check(
        case(
            "accept4",
            "EMFILE",
            "tcp_server",
            &["127.0.0.1:0", "--once"],
        )
        .hint(),
    );
}

#[test]
fn connect() {
    check(
        case(
            "connect",
            "ECONNREFUSED",
            "tcp_client",
            &["127.0.0.1:9", "-m", "x"],
        )
        .hint(),
    );
    let dir = TempDir::new("inject");
    let path = dir.path("nobody.sock");
    check(case("connect", "ENOENT", "unix_client", &[&path, "-m", "x"]).hint());
}

#[test]
fn getsockopt() {
    // Timeout mode: connect "in progress", poll, then SO_ERROR fails.
    let mut c = case(
        "getsockopt",
        "ENOPROTOOPT",
        "tcp_client",
        &["127.0.0.1:9", "--timeout", "5", "-m", "x"],
    );
    c.also = Some("connect:error=EINPROGRESS");
    check(c);
}

/// A UDP socket of the test's own, to send datagrams to (nothing else on
/// the machine sees them).
fn sink() -> (std::net::UdpSocket, String) {
    let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = u.local_addr().unwrap().to_string();
    (u, addr)
}

#[test]
fn sendto() {
    let (_sink, addr) = sink();
    check(case("sendto", "EPIPE", "udp_client", &[&addr, "-m", "x"]).hint());
}

#[test]
fn recvfrom() {
    let (_sink, addr) = sink();
    check(
        case(
            "recvfrom",
            "ECONNREFUSED",
            "udp_client",
            &[&addr, "-m", "x"],
        )
        .hint(),
    );
}

#[test]
fn ioctl() {
    let (_sink, addr) = sink();
    check(case(
        "ioctl",
        "ENOTTY",
        "udp_client",
        &[&addr, "--timeout", "0.1", "-m", "x"],
    ));
}

#[test]
fn poll() {
    let (_sink, addr) = sink();
    check(case(
        "poll",
        "ENOMEM",
        "udp_client",
        &[&addr, "--timeout", "0.1", "-m", "x"],
    ));
}

#[test]
fn close() {
    // socket, connect (refused), no message on stdin, close.
    let (_refuser, port) = harness::bound_tcp(None);
    let addr = format!("127.0.0.1:{port}");
    check(case("close", "EIO", "tcp_client", &[&addr, "--connect-ex"]));
}

#[test]
fn newfstatat() {
    // The dry run finds no directory and stops at bind (ENOENT).
    let dir = TempDir::new("inject");
    let path = dir.path("missing-dir/s.sock");
    check(case("newfstatat", "EACCES", "unix_server", &[&path]).hint());
}

#[test]
fn unlink() {
    let dir = TempDir::new("inject");
    let path = dir.path("stale.sock");
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    check(
        case(
            "unlink",
            "EACCES",
            "unix_server",
            &[&path, "--unlink-stale"],
        )
        .hint(),
    );
}

#[test]
fn sockopt_setsockopt_and_read_back() {
    // --sockopt: setsockopt fails, or the getsockopt that reads it back.
    check(case(
        "setsockopt",
        "EINVAL",
        "tcp_client",
        &["127.0.0.1:9", "--sockopt", "SO_KEEPALIVE=1", "-m", "x"],
    ));
    check(case(
        "getsockopt",
        "ENOPROTOOPT",
        "udp_server",
        &["127.0.0.1:0", "--sockopt", "SO_RCVBUF=4096"],
    ));
}

#[test]
fn nonblocking_ioctl_and_poll() {
    // --nonblocking: ioctl(FIONBIO) after socket; connect -> EINPROGRESS
    // -> poll(..., -1), which fails here.
    let (_refuser, port) = harness::bound_tcp(None);
    let addr = format!("127.0.0.1:{port}");
    check(case(
        "ioctl",
        "ENOTTY",
        "tcp_client",
        &[&addr, "--nonblocking", "-m", "x"],
    ));
    check(case(
        "poll",
        "ENOMEM",
        "tcp_client",
        &[&addr, "--nonblocking", "-m", "x"],
    ));
}
