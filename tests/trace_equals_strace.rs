//! `--trace` equals strace's lines for the same run (DESIGN.md §2).
//!
//! Each socklab process runs under
//! `strace -ff -qq -e signal=none -e trace=FILTER -o FILE` and writes its own
//! trace with `--trace-file`. Same process, same run: the lines must be equal,
//! in order, pointer values and ephemeral ports included. The only changes
//! made are to strace's side, each one a rule below:
//!
//! 1. strace pads the call to column 40 before ` = `; that padding goes.
//! 2. Calls the Rust runtime and the dynamic loader make on non-socket fds,
//!    which socklab does not (and must not) trace:
//!    - `poll` and `ioctl` on fds 0-2 (std checks the standard fds at
//!      startup; `is_terminal()` on stdin is an `ioctl(0, TCGETS, ...)`);
//!    - `newfstatat(N, "", ..., AT_EMPTY_PATH)` (the loader's fstat of each
//!      shared library, std's look at /proc/self/maps).
//! 3. Lines before socklab's first traced call: the loader's and std's work
//!    before `main` -- the `close` calls that go with rule 2's files, and the
//!    loader's `newfstatat(AT_FDCWD, DIR, ..., 0)` probes of each directory
//!    on `LD_LIBRARY_PATH` (cargo sets it for tests). The test checks that
//!    this prefix holds nothing but `close` and `newfstatat` lines, so no
//!    socket call can hide there.
//!
//! 4. socklab's note lines (`[...]`, e.g. the kernel's cap on a listen
//!    backlog) are comments, not calls: they are left out of its side.
//!
//! `openat` is not in the filter, so the trace file's own open never shows;
//! socklab never closes it (the process exits), so no `close` of it either.

// Tests report by panicking; the tests' own probe sockets are outside the
// sys rule (DESIGN.md §1 is about socklab, not about its tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod common;

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Command;

use common::{Outcome, Server, TempDir, abstract_name, have, run};

/// The syscalls compared: every one socklab's `sys` layer can make.
const FILTER: &str = "trace=%net,close,shutdown,poll,ioctl,unlink,newfstatat,umask,openat,unlinkat,mkdirat,fchmodat,fchmod,getrandom";

/// The server models' calls too (`--model`: epoll, fork, the fd limit).
const MODEL_FILTER: &str = "trace=%net,close,shutdown,poll,ioctl,unlink,newfstatat,openat,unlinkat,\
epoll_create1,epoll_ctl,epoll_wait,clone,wait4,kill,prlimit64";

/// prefork's calls too: a worker ends with its parent (prctl, getppid).
const PREFORK_FILTER: &str = "trace=%net,close,shutdown,poll,ioctl,unlink,newfstatat,\
clone,wait4,kill,getpid,getppid,prctl";

/// One socklab process under strace, with its two trace files.
struct Traced {
    /// strace's `-o` prefix; with `-ff` the file is `PREFIX.PID`.
    strace_prefix: String,
    /// socklab's `--trace-file`.
    trace_file: String,
    /// strace's `-e trace=` set.
    filter: &'static str,
}

impl Traced {
    fn new(dir: &TempDir, name: &str) -> Traced {
        Traced {
            strace_prefix: dir.path(&format!("{name}.strace")),
            trace_file: dir.path(&format!("{name}.trace")),
            filter: FILTER,
        }
    }

    /// `strace ... socklab --trace-file FILE ARGS`.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("strace");
        cmd.args(["-ff", "-qq", "-e", "signal=none", "-e", self.filter, "-o"])
            .arg(&self.strace_prefix)
            .arg(common::bin())
            .arg("--trace-file")
            .arg(&self.trace_file)
            .args(args);
        cmd
    }

    /// strace's lines for each process (`-ff`: one file per process).
    fn strace_files(&self) -> Vec<Vec<String>> {
        let prefix = std::path::Path::new(&self.strace_prefix);
        let dir = prefix.parent().expect("dir");
        let stem = format!("{}.", prefix.file_name().unwrap().to_string_lossy());
        let mut files: Vec<_> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&stem))
            .collect();
        files.sort();
        files
            .iter()
            .map(|f| {
                let text = std::fs::read_to_string(f).expect("read strace output");
                text.lines().map(str::to_string).collect()
            })
            .collect()
    }

    /// strace's lines for the one process (socklab is single-threaded: one
    /// `-ff` file, else the test says so).
    fn strace_lines(&self) -> Vec<String> {
        let prefix = std::path::Path::new(&self.strace_prefix);
        let dir = prefix.parent().expect("dir");
        let stem = format!("{}.", prefix.file_name().unwrap().to_string_lossy());
        let files: Vec<_> = std::fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&stem))
            .collect();
        assert_eq!(
            files.len(),
            1,
            "expected one strace file (one process, one thread): {files:?}"
        );
        let text = std::fs::read_to_string(&files[0]).expect("read strace output");
        text.lines().map(str::to_string).collect()
    }

    /// socklab's call lines (rule 4); its notes (words among the calls, e.g. the
    /// event loops' `RLIMIT_NOFILE: ...`) are no calls strace could see.
    fn socklab_lines(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.trace_file).expect("read --trace-file");
        text.lines()
            .filter(|l| !is_note(l))
            .map(str::to_string)
            .collect()
    }

    /// The check itself: socklab's lines equal strace's, after the rules.
    fn assert_equal(&self, what: &str) -> Vec<String> {
        self.assert_equal_to(what, self.strace_lines())
    }

    /// `--pcap`/`--wire` runs have a second thread, the capture's (its
    /// poll and recvmsg calls are not printed: see src/wire/capture.rs):
    /// compare the thread that opened the packet socket.
    fn assert_equal_main_thread(&self, what: &str) -> Vec<String> {
        let prefix = std::path::Path::new(&self.strace_prefix);
        let stem = format!("{}.", prefix.file_name().unwrap().to_string_lossy());
        let mains: Vec<Vec<String>> = std::fs::read_dir(prefix.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.file_name().unwrap().to_string_lossy().starts_with(&stem))
            .map(|p| {
                let text = std::fs::read_to_string(p).unwrap();
                text.lines().map(str::to_string).collect::<Vec<_>>()
            })
            .filter(|lines| lines.iter().any(|l| l.starts_with("socket(AF_PACKET")))
            .collect();
        assert_eq!(mains.len(), 1, "{what}: one thread opens the packet socket");
        self.assert_equal_to(what, mains.into_iter().next().unwrap())
    }

    fn assert_equal_to(&self, what: &str, raw: Vec<String>) -> Vec<String> {
        let ours = self.socklab_lines();
        assert!(!ours.is_empty(), "{what}: socklab traced nothing");

        // Rules 1 and 2.
        let theirs: Vec<String> = raw
            .iter()
            .map(|l| unpad(l))
            .filter(|l| !is_runtime_call(l))
            .collect();

        // Rule 3.
        let Some(start) = theirs.iter().position(|l| *l == ours[0]) else {
            panic!(
                "{what}: socklab's first line is not in strace's output\n{}",
                side_by_side(&ours, &raw)
            );
        };
        let prefix = &theirs[..start];
        assert!(
            prefix
                .iter()
                .all(|l| l.starts_with("close(") || l.starts_with("newfstatat(")),
            "{what}: strace saw calls before socklab's first traced one: {prefix:#?}\n{}",
            side_by_side(&ours, &raw)
        );
        let theirs = &theirs[start..];
        assert!(
            ours == theirs,
            "{what}: --trace differs from strace\n{}",
            side_by_side(&ours, &raw)
        );
        ours
    }
}

/// Rule 1: strace pads `call(args)` with spaces up to column 40 before the
/// ` = ` that starts the return value; socklab writes one space.
fn unpad(line: &str) -> String {
    match line.rfind(" = ") {
        Some(at) => format!("{} = {}", line[..at].trim_end_matches(' '), &line[at + 3..]),
        None => line.to_string(),
    }
}

/// Rule 2: calls of the runtime and the loader, on non-socket fds.
/// A trace line that is not a call: a call line starts with the call's
/// name (lower case, digits, `_`) and `(`.
fn is_note(line: &str) -> bool {
    match line.split_once('(') {
        Some((name, _)) => {
            name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        }
        None => true,
    }
}

fn is_runtime_call(line: &str) -> bool {
    let std_fd = |rest: &str| ["0,", "1,", "2,"].iter().any(|fd| rest.starts_with(fd));
    if let Some(rest) = line.strip_prefix("ioctl(") {
        return std_fd(rest);
    }
    if let Some(rest) = line.strip_prefix("poll([") {
        // Every polled fd is 0, 1 or 2.
        let fds: Vec<&str> = rest
            .split("{fd=")
            .skip(1)
            .map(|s| s.split(',').next().unwrap_or(""))
            .collect();
        return !fds.is_empty() && fds.iter().all(|fd| ["0", "1", "2"].contains(fd));
    }
    // The runtime's look at its stack limit (guard page) before main.
    if line.starts_with("prlimit64(0, RLIMIT_STACK,") {
        return true;
    }
    // The loader's and the runtime's files (libraries, /proc/self/maps,
    // --trace-file): socklab opens only directories (O_DIRECTORY) and
    // its socket files to hold them (O_PATH), and
    // its getrandom is a directory's random name (6 bytes, flags 0).
    if line.starts_with("openat(") && !line.contains("|O_DIRECTORY") && !line.contains("|O_PATH") {
        return true;
    }
    if line.starts_with("getrandom(") && !line.contains(", 6, 0)") {
        return true;
    }
    line.starts_with("newfstatat(") && line.contains("AT_EMPTY_PATH")
}

fn side_by_side(ours: &[String], strace: &[String]) -> String {
    format!(
        "--- socklab --trace-file ---\n{}\n--- strace -o (raw) ---\n{}",
        ours.join("\n"),
        strace.join("\n")
    )
}

/// A line of `lines` starts with `call(`.
fn has_call(lines: &[String], call: &str) -> bool {
    lines.iter().any(|l| l.starts_with(&format!("{call}(")))
}

// ---------------------------------------------------------------------------
// Test-owned peers that no socklab server provides.
// ---------------------------------------------------------------------------

/// A TCP socket bound to 127.0.0.1:0 and never listening: a connect to its
/// port is refused, and nobody else can take the port while it is held.
fn refusing_tcp_port() -> (OwnedFd, u16) {
    // SAFETY: plain libc calls on a socket this function owns; the sockaddr
    // is a zeroed sockaddr_in with its length passed alongside.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0, "socket");
        let owned = OwnedFd::from_raw_fd(fd);
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_addr.s_addr = u32::from_ne_bytes([127, 0, 0, 1]);
        let len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        let r = libc::bind(fd, (&raw const sin).cast(), len);
        assert_eq!(r, 0, "bind");
        let mut got_len = len;
        let r = libc::getsockname(fd, (&raw mut sin).cast(), &mut got_len);
        assert_eq!(r, 0, "getsockname");
        (owned, u16::from_be(sin.sin_port))
    }
}

/// A UDP socket that receives and never answers.
fn silent_udp() -> (std::net::UdpSocket, String) {
    let sock = std::net::UdpSocket::bind("127.0.0.1:0").expect("bind udp");
    let addr = sock.local_addr().expect("local addr").to_string();
    (sock, addr)
}

/// Run a traced server with a traced client; check both; return the outcomes.
fn pair(
    tag: &str,
    server_args: &[&str],
    client_args: &[&str],
    stdin: &[u8],
) -> (Outcome, Outcome, Vec<String>, Vec<String>) {
    let dir = TempDir::new(tag);
    let srv = Traced::new(&dir, "server");
    let cli = Traced::new(&dir, "client");
    let server = Server::start_cmd(srv.command(server_args));
    let mut args = client_args.to_vec();
    args.push(&server.addr);
    let client = run(cli.command(&args), stdin);
    let server = server.finish();
    client.assert_ok();
    server.assert_ok();
    let s = srv.assert_equal(&format!("{tag} server"));
    let c = cli.assert_equal(&format!("{tag} client"));
    (server, client, s, c)
}

// ===========================================================================

#[test]
fn tcp_server_and_client() {
    if !have("strace") {
        return;
    }
    let (_, client, s, c) = pair(
        "tcp",
        &["tcp", "server", "127.0.0.1:0", "--max-conns", "1"],
        &["tcp", "client", "-m", "hello", "-m", "world"],
        b"",
    );
    assert_eq!(client.stdout, "HELLO\nWORLD\n");
    for call in [
        "socket",
        "bind",
        "listen",
        "getsockname",
        "accept4",
        "recvfrom",
    ] {
        assert!(has_call(&s, call), "server trace lacks {call}: {s:#?}");
    }
    for call in ["socket", "connect", "sendto", "recvfrom", "close"] {
        assert!(has_call(&c, call), "client trace lacks {call}: {c:#?}");
    }
}

/// Issue 12: nix's `Backlog` refused a backlog above 4096 without a
/// syscall, and socklab printed `listen(3, 65535) = -1 EINVAL`, a line the
/// kernel never returned. Now listen(2) gets the value (the kernel caps it
/// at net.core.somaxconn, which a note says) and serves.
#[test]
fn listen_with_a_backlog_above_4096_is_the_kernels_call() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("backlog");
    let srv = Traced::new(&dir, "server");
    let server = Server::start_cmd(srv.command(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--backlog",
        "65535",
        "--max-conns",
        "1",
    ]));
    let client = run(
        common::socklab(&["tcp", "client", &server.addr, "-m", "hi"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "HI\n");
    server.finish().assert_ok();
    let ours = srv.assert_equal("listen 65535");
    // fd 3 is the trace file: the socket is 4.
    assert!(
        ours.contains(&"listen(4, 65535) = 0".to_string()),
        "{ours:#?}"
    );
    let somaxconn: i32 = std::fs::read_to_string("/proc/sys/net/core/somaxconn")
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let text = std::fs::read_to_string(&srv.trace_file).unwrap();
    if somaxconn < 65535 {
        assert!(
            text.contains(&format!(
                "listen(4, 65535) = 0\n[listen: the kernel caps the backlog 65535 at \
                 net.core.somaxconn = {somaxconn}]\n"
            )),
            "{text}"
        );
    }
}

/// A message over 128 KiB goes out while its echo is read (issue 12):
/// `sendto(..., MSG_DONTWAIT, NULL, 0)` and `poll([{fd=N,
/// events=POLLIN|POLLOUT}], 1, -1)` lines equal strace's.
#[test]
fn tcp_client_long_message_sendto_dontwait_and_poll() {
    if !have("strace") {
        return;
    }
    let (_, client, _, c) = pair(
        "long",
        &[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "1",
            "-q",
            "--bufsize",
            "65536",
        ],
        &["tcp", "client", "--size", "8388608", "--bufsize", "65536"],
        b"",
    );
    assert!(
        client.stdout.contains("the upper-cased message, intact"),
        "{}",
        client.dump()
    );
    assert!(
        c.iter()
            .any(|l| l.starts_with("sendto(") && l.contains(", MSG_DONTWAIT, NULL, 0) = ")),
        "{c:#?}"
    );
    assert!(
        c.iter()
            .any(|l| l.starts_with("poll([{fd=")
                && l.contains(", events=POLLIN|POLLOUT}], 1, -1) = 1 ")),
        "{c:#?}"
    );
}

#[test]
fn udp_server_and_client_with_an_empty_datagram() {
    if !have("strace") {
        return;
    }
    let (_, client, s, c) = pair(
        "udp",
        &["udp", "server", "127.0.0.1:0", "--max-conns", "2"],
        &["udp", "client", "-m", "hello", "-m", ""],
        b"",
    );
    assert!(client.stdout.starts_with("HELLO\n"), "{}", client.dump());
    assert!(
        s.iter()
            .any(|l| l.starts_with("recvfrom(") && l.ends_with(" = 0")),
        "the server should trace the empty datagram: {s:#?}"
    );
    assert!(
        c.iter()
            .any(|l| l.starts_with("sendto(") && l.contains("\"\", 0, 0")),
        "the client should trace the empty send: {c:#?}"
    );
}

#[test]
fn unix_stream_on_a_path_client_reading_stdin() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("trace-unix-path");
    let path = dir.path("srv.sock");
    // The client reads stdin: std's is_terminal() on it is an ioctl on fd 0
    // (rule 2), which socklab's trace rightly does not show.
    let (_, client, s, _) = pair(
        "unix-stream",
        &["unix", "server", &path, "--max-conns", "1"],
        &["unix", "client"],
        b"hi\nthere\n",
    );
    assert_eq!(client.stdout, "HI\nTHERE\n");
    assert!(has_call(&s, "newfstatat"), "the path check: {s:#?}");
    // The directory fd opened before bind, the bound inode looked at
    // after bind and at exit, and the file removed relative to it.
    let dir_fd = s
        .iter()
        .find_map(|l| {
            l.strip_prefix(&format!("openat(AT_FDCWD, \"{}\", ", dir.dir().display()))
                .and_then(|r| {
                    r.strip_prefix("O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH|O_DIRECTORY) = ")
                })
        })
        .unwrap_or_else(|| panic!("the directory's openat: {s:#?}"))
        .to_string();
    let stat = format!("newfstatat({dir_fd}, \"srv.sock\", {{st_mode=S_IFSOCK|");
    assert_eq!(
        s.iter().filter(|l| l.starts_with(&stat)).count(),
        2,
        "after bind and at exit: {s:#?}"
    );
    let pin = format!("openat({dir_fd}, \"srv.sock\", O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_PATH) = ");
    let pin_fd = s
        .iter()
        .find_map(|l| l.strip_prefix(&pin))
        .unwrap_or_else(|| panic!("the socket file held after bind: {s:#?}"))
        .to_string();
    assert_eq!(
        s[s.len() - 3..],
        [
            format!("unlinkat({dir_fd}, \"srv.sock\", 0) = 0"),
            format!("close({pin_fd}) = 0"),
            format!("close({dir_fd}) = 0")
        ]
    );
}

#[test]
fn unix_dgram_on_a_path_with_autobind() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("trace-unix-dgram");
    let path = dir.path("srv.sock");
    let (_, client, s, c) = pair(
        "unix-dgram",
        &["unix", "server", &path, "--dgram", "--max-conns", "1"],
        &["unix", "client", "--dgram", "-m", "dgram"],
        b"",
    );
    assert_eq!(client.stdout, "DGRAM\n");
    assert!(
        s.iter()
            .any(|l| l.starts_with("sendto(") && l.contains("\"DGRAM\", 5, MSG_DONTWAIT, {")),
        "the reply to a UNIX peer never waits: {s:#?}"
    );
    assert!(
        c.iter()
            .any(|l| l.starts_with("bind(") && l.contains("{sa_family=AF_UNIX}, 2)")),
        "the autobind: {c:#?}"
    );
}

#[test]
fn abstract_stream_and_dgram() {
    if !have("strace") {
        return;
    }
    let name = abstract_name("trace-abs");
    let (_, client, s, _) = pair(
        "abstract",
        &["unix", "server", &name, "--max-conns", "1"],
        &["unix", "client", "-m", "abs"],
        b"",
    );
    assert_eq!(client.stdout, "ABS\n");
    assert!(
        s.iter()
            .any(|l| l.contains(&format!("sun_path=@\"{}\"", &name[1..]))),
        "{s:#?}"
    );
    let name = abstract_name("trace-abs-dgram");
    let (_, client, _, _) = pair(
        "abstract-dgram",
        &["unix", "server", &name, "--dgram", "--max-conns", "1"],
        &["unix", "client", "--dgram", "-m", "abs"],
        b"",
    );
    assert_eq!(client.stdout, "ABS\n");
}

#[test]
fn timeout_against_a_silent_udp_socket() {
    if !have("strace") {
        return;
    }
    let (_silent, addr) = silent_udp();
    let dir = TempDir::new("trace-timeout");
    let cli = Traced::new(&dir, "client");
    let client = run(
        cli.command(&["udp", "client", &addr, "--timeout", "0.2", "-m", "anyone?"]),
        b"",
    );
    client.assert_code(1);
    assert!(client.stderr.contains("timed out"), "{}", client.dump());
    let c = cli.assert_equal("timeout client");
    assert_eq!(
        c.last().map(String::as_str),
        Some("poll([{fd=4, events=POLLIN}], 1, 200) = 0 (Timeout)"),
        "the last call is the poll that expired: {c:#?}"
    );
}

/// A client against a UNIX datagram peer whose queue is full: poll says
/// POLLOUT, sendto says EAGAIN, and the client backs off in
/// `poll(fd, events=0, 1)`, then 2...: strace's lines, to the deadline.
#[test]
fn timeout_backs_off_against_a_full_unix_dgram_peer() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("trace-backoff");
    let path = dir.path("full.sock");
    let _full = std::os::unix::net::UnixDatagram::bind(&path).unwrap();
    let filler = std::os::unix::net::UnixDatagram::unbound().unwrap();
    filler.set_nonblocking(true).unwrap();
    while filler.send_to(b"x", &path).is_ok() {}
    let cli = Traced::new(&dir, "client");
    let client = run(
        cli.command(&[
            "unix",
            "client",
            &path,
            "--dgram",
            "--timeout",
            "0.2",
            "-m",
            "hi",
        ]),
        b"",
    );
    client.assert_code(1);
    assert!(client.stderr.contains("timed out"), "{}", client.dump());
    let c = cli.assert_equal("back-off client");
    for ms in [1, 2, 4] {
        assert!(
            c.iter()
                .any(|l| l.ends_with(&format!("events=0}}], 1, {ms}) = 0 (Timeout)"))),
            "the back-off poll of {ms} ms: {c:#?}"
        );
    }
    assert!(
        c.last().is_some_and(|l| l.starts_with("sendto(")
            && l.ends_with("EAGAIN (Resource temporarily unavailable)")),
        "the last call is the sendto after the deadline: {c:#?}"
    );
}

#[test]
fn tcp_client_connection_refused() {
    if !have("strace") {
        return;
    }
    let (_held, port) = refusing_tcp_port();
    let addr = format!("127.0.0.1:{port}");
    let dir = TempDir::new("trace-refused");
    let cli = Traced::new(&dir, "client");
    let client = run(cli.command(&["tcp", "client", &addr, "-m", "x"]), b"");
    client.assert_code(1);
    let c = cli.assert_equal("refused client");
    let last = c.last().expect("a line");
    assert!(
        last.starts_with("connect(") && last.ends_with("= -1 ECONNREFUSED (Connection refused)"),
        "{c:#?}"
    );
    assert!(last.contains(&format!("sin_port=htons({port})")), "{last}");
}

#[test]
fn tcp_client_connect_ex() {
    if !have("strace") {
        return;
    }
    let (_held, port) = refusing_tcp_port();
    let addr = format!("127.0.0.1:{port}");
    let dir = TempDir::new("trace-connect-ex");
    let cli = Traced::new(&dir, "client");
    let client = run(
        cli.command(&["tcp", "client", &addr, "--connect-ex", "-m", "x"]),
        b"",
    );
    // connect_ex reports 111 and carries on; the send then fails (EPIPE).
    assert!(
        client.stdout.contains("111 ECONNREFUSED"),
        "{}",
        client.dump()
    );
    let c = cli.assert_equal("connect-ex client");
    assert!(
        c.iter()
            .any(|l| l.starts_with("connect(") && l.contains("ECONNREFUSED")),
        "{c:#?}"
    );
}

/// The rules drop only what they say: a socket's poll or ioctl, or socklab's
/// own path check, must survive them.
#[test]
fn the_rules_are_narrow() {
    assert_eq!(
        unpad("close(4)                                = 0"),
        "close(4) = 0"
    );
    assert_eq!(
        unpad(r#"sendto(4, "a = b", 5, 0, NULL, 0)      = 5"#),
        r#"sendto(4, "a = b", 5, 0, NULL, 0) = 5"#
    );
    for runtime in [
        "poll([{fd=0, events=0}, {fd=1, events=0}, {fd=2, events=0}], 3, 0) = 0 (Timeout)",
        "ioctl(0, TCGETS, 0x7ffe20080320) = -1 ENOTTY (Inappropriate ioctl for device)",
        r#"newfstatat(3, "", {st_mode=S_IFREG|0644, st_size=1, ...}, AT_EMPTY_PATH) = 0"#,
    ] {
        assert!(is_runtime_call(runtime), "{runtime}");
    }
    for socklab in [
        "poll([{fd=4, events=POLLIN}], 1, 200) = 0 (Timeout)",
        "poll([{fd=2, events=POLLIN}, {fd=4, events=POLLIN}], 2, -1) = 1",
        "ioctl(4, FIONBIO, [1]) = 0",
        "ioctl(12, FIONREAD, [0]) = 0",
        r#"newfstatat(AT_FDCWD, "/tmp/s", 0x7ffc2cba3fd0, AT_SYMLINK_NOFOLLOW) = -1 ENOENT (No such file or directory)"#,
        "close(0) = 0",
    ] {
        assert!(!is_runtime_call(socklab), "{socklab}");
    }
}

/// `--pcap`: the capture's own calls (socket(AF_PACKET), the SIOCGIFINDEX
/// ioctl of if_nametoindex, bind to a sockaddr_ll, SO_ATTACH_FILTER with
/// its sock_fprog, SO_TIMESTAMPNS_OLD, SO_RCVBUFFORCE, PACKET_STATISTICS,
/// the final close) render as strace's.
/// (fds 3 and 4 are the trace file and the pcap file.)
#[test]
fn capture_calls_with_pcap() {
    if !have("strace") || !is_root() {
        return;
    }
    let dir = TempDir::new("wire");
    let server = Server::start(&["udp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    let cli = Traced::new(&dir, "client");
    let pcap = dir.path("c.pcap");
    let client = run(
        cli.command(&["--pcap", &pcap, "udp", "client", "-m", "hi", &server.addr]),
        b"",
    );
    client.assert_ok();
    server.finish().assert_ok();
    let c = cli.assert_equal_main_thread("udp client --pcap");
    for start in [
        "socket(AF_PACKET, SOCK_RAW|SOCK_CLOEXEC, htons(ETH_P_ALL)) = ",
        "ioctl(5, SIOCGIFINDEX, {ifr_name=\"lo\", ifr_ifindex=",
        "bind(5, {sa_family=AF_PACKET, sll_protocol=htons(ETH_P_ALL), sll_ifindex=if_nametoindex(\"lo\")",
        "setsockopt(5, SOL_SOCKET, SO_ATTACH_FILTER, {len=32, filter=0x", // one port: bpf.rs
        "setsockopt(5, SOL_SOCKET, SO_TIMESTAMPNS_OLD, [1], 4) = 0",
        "setsockopt(5, SOL_SOCKET, SO_RCVBUFFORCE, [33554432], 4) = 0",
        "getsockopt(5, SOL_PACKET, PACKET_STATISTICS, {tp_packets=",
        "close(5) = 0",
    ] {
        assert!(
            c.iter().any(|l| l.starts_with(start)),
            "trace lacks {start}: {c:#?}"
        );
    }
}

fn is_root() -> bool {
    // SAFETY: geteuid has no preconditions.
    let root = unsafe { libc::geteuid() } == 0;
    if !root {
        eprintln!("SKIPPED: capturing needs root");
    }
    root
}

// ---------------------------------------------------------------------------
// Server models: epoll's calls and the fd limit; fork's clone and wait4.
// ---------------------------------------------------------------------------

#[test]
fn tcp_server_model_epoll() {
    model_event_loop("epoll", &["epoll_create1", "epoll_ctl", "epoll_wait"]);
}

#[test]
fn tcp_server_model_poll() {
    // poll on two fds: the array, and the revents of the ready one.
    model_event_loop("poll", &["poll"]);
}

fn model_event_loop(model: &str, calls: &[&str]) {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("model-loop");
    let mut srv = Traced::new(&dir, "server");
    srv.filter = MODEL_FILTER;
    let server = Server::start_cmd(srv.command(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        model,
        "--max-conns",
        "1",
    ]));
    run(
        common::socklab(&["tcp", "client", &server.addr, "-m", "hello"]),
        b"",
    )
    .assert_ok()
    .stdout_has("HELLO");
    server.finish().assert_ok();
    let s = srv.assert_equal(&format!("{model} server"));
    for call in ["prlimit64", "accept4", "recvfrom", "sendto"]
        .iter()
        .chain(calls)
    {
        assert!(has_call(&s, call), "server trace lacks {call}: {s:#?}");
    }
}

/// The fork model: parent and child write one trace file; strace writes
/// one per process. Each process's strace lines (after the rules) must
/// appear in the trace, in order, and nothing else.
#[test]
fn tcp_server_model_fork() {
    model_processes("fork", MODEL_FILTER, &["clone", "wait4"]);
}

/// prefork:1: the parent (getpid, clone, wait4) and its worker
/// (prctl(PR_SET_PDEATHSIG, SIGTERM), getppid, the connection's calls).
#[test]
fn tcp_server_model_prefork() {
    model_processes(
        "prefork:1",
        PREFORK_FILTER,
        &["getpid", "clone", "prctl", "getppid", "wait4"],
    );
}

fn model_processes(model: &str, filter: &'static str, calls: &[&str]) {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("model-fork");
    let mut srv = Traced::new(&dir, "server");
    srv.filter = filter;
    let server = Server::start_cmd(srv.command(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        model,
        "--max-conns",
        "1",
    ]));
    run(
        common::socklab(&["tcp", "client", &server.addr, "-m", "hello"]),
        b"",
    )
    .assert_ok()
    .stdout_has("HELLO");
    server.finish().assert_ok();
    let ours = srv.socklab_lines();
    let files = srv.strace_files();
    assert_eq!(files.len(), 2, "a parent and one child: {files:#?}");
    let mut total = 0;
    for (i, raw) in files.iter().enumerate() {
        let theirs: Vec<String> = raw
            .iter()
            .map(|l| unpad(l))
            .filter(|l| !is_runtime_call(l))
            // The child's exit is not a call of socklab's sys layer.
            .filter(|l| !l.starts_with("+++") && !l.starts_with("exit_group("))
            .collect();
        // The parent's prefix before its first traced call (rule 3).
        let theirs: Vec<String> = if i == 0 {
            let start = theirs
                .iter()
                .position(|l| *l == ours[0])
                .unwrap_or_else(|| panic!("{}", side_by_side(&ours, raw)));
            assert!(
                theirs[..start]
                    .iter()
                    .all(|l| l.starts_with("close(") || l.starts_with("newfstatat(")),
                "{}",
                side_by_side(&ours, raw)
            );
            theirs[start..].to_vec()
        } else {
            theirs
        };
        let mut at = 0;
        for line in &theirs {
            match ours[at..].iter().position(|l| l == line) {
                Some(k) => at += k + 1,
                None => panic!(
                    "process {i}: {line:?} not in the trace, in order\n{}",
                    side_by_side(&ours, raw)
                ),
            }
        }
        total += theirs.len();
    }
    assert_eq!(
        total,
        ours.len(),
        "the trace has lines strace did not see\n{ours:#?}"
    );
    for call in ["accept4", "recvfrom", "sendto"].iter().chain(calls) {
        assert!(has_call(&ours, call), "trace lacks {call}: {ours:#?}");
    }
}

/// The lab's private directory and the socket file's mode: the timeline's
/// getrandom, mkdirat, openat, fchmod and fchmodat lines equal strace's.
#[test]
fn lab_private_directory_calls_equal_strace() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("trace-lab-dir");
    let log = dir.path("strace");
    let mut cmd = Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH")
        .args(["-f", "-qq", "-e", "signal=none", "-e"])
        .arg("trace=getrandom,mkdirat,openat,fchmod,fchmodat")
        .args(["-o", &log])
        .arg(common::bin())
        .args(["lab", "unix-family"]);
    let out = run(cmd, b"");
    out.assert_ok();
    let wanted = |l: &str| {
        (l.starts_with("getrandom(") && l.contains(", 6, 0)"))
            || l.starts_with("mkdirat(")
            // Not opendir's O_NONBLOCK: the lab counts the directory's
            // entries with std::fs::read_dir, an untraced look.
            || (l.starts_with("openat(")
                && l.contains("|O_DIRECTORY)")
                && !l.contains("O_NONBLOCK"))
            || l.starts_with("fchmod")
    };
    let ours: Vec<String> = out
        .stdout
        .lines()
        .filter_map(|l| l.split_once(" | ").map(|(_, call)| call))
        .filter(|l| wanted(l))
        .map(str::to_string)
        .collect();
    let theirs: Vec<String> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| {
            unpad(
                l.trim_start_matches(|c: char| c.is_ascii_digit())
                    .trim_start(),
            )
        })
        // The child that connects as nobody re-executes socklab: its
        // runtime's calls are not the lab's.
        .filter(|l| wanted(l))
        .collect();
    assert!(
        ours.iter()
            .any(|l| l.starts_with("mkdirat(") && l.ends_with(", 0700) = 0")),
        "{ours:#?}\n{}",
        out.dump()
    );
    assert!(ours.iter().any(|l| l.starts_with("fchmodat(")), "{ours:#?}");
    assert_eq!(ours, theirs, "{}", out.dump());
}
