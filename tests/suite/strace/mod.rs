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
//! 5. socklab's `[pid N] ` (strace -f's, on the lines of a run with more
//!    than one task) is taken off its lines, and a call another task's
//!    line split (`<unfinished ...>`) is joined: `-ff` writes one file per
//!    task, without either. tasks.rs compares it with `strace -f`, and
//!    also a signal's lines (`--- SIGCHLD {...} ---`, a note here, and
//!    `rt_sigreturn(...)`, left out here: strace prints them where the
//!    signal lands, which may be in one of the runtime's own writes).
//!
//! 6. socklab's lines of a process row (clone3, rt_sigprocmask: the
//!    `--wire`/`--pcap` capture thread's start) are left out of its side
//!    when the filter leaves that row out (`filter()`; tasks.rs and wire.rs
//!    compare them).
//!
//! `openat` is not in the filter, so the trace file's own open never shows;
//! socklab never closes it (the process exits), so no `close` of it either.

// Tests report by panicking; the tests' own probe sockets are outside the
// sys rule (DESIGN.md §1 is about socklab, not about its tests).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_methods, clippy::disallowed_types)]

mod batch;
mod clone3;
mod dispositions;
mod ends;
mod entries;
mod failures;
mod families;
mod flags;
mod killed;
mod labs;
mod models;
mod names;
mod prefork_sigchld;
mod record;
mod script_own;
mod sigpipe;
mod starts;
mod tasks;
mod timing;
mod under;
mod unfinished;
mod uring;
mod wire;

use std::os::fd::{FromRawFd, OwnedFd};
use std::process::Command;

use crate::harness::{self, Outcome, Server, TempDir, abstract_name, have, run};

/// The syscalls compared: `%net` and every row of the call table's
/// sockets, descriptors and files (the calls socklab's `sys` layer makes
/// outside the server models').
fn filter() -> &'static str {
    crate::harness::calls::trace_filter()
}

/// The server models' calls too (`--model`: epoll, fork, prefork, the fd
/// limit): every traced row of processes, threads and signals.
fn model_filter() -> &'static str {
    static FILTER: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    FILTER.get_or_init(|| {
        std::iter::once(filter())
            .chain(crate::harness::calls::process_rows().map(|r| r.name))
            .collect::<Vec<_>>()
            .join(",")
    })
}

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
            filter: filter(),
        }
    }

    /// `strace ... socklab --trace-file FILE ARGS`.
    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new("strace");
        cmd.args(["-ff", "-qq", "-e", "signal=none", "-e", self.filter, "-o"])
            .arg(&self.strace_prefix)
            .arg(harness::bin())
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
    /// A call split by another task's line (`<unfinished ...>`) is joined.
    fn socklab_lines(&self) -> Vec<String> {
        // Rule 6: a process row strace's filter leaves out.
        let unfiltered = |l: &str| {
            let name = l.split_once('(').map_or("", |(n, _)| n);
            let in_filter = self.filter.split(['=', ',']).any(|f| f == name);
            let process = crate::harness::calls::process_rows().any(|r| r.name == name);
            // `--model fork`'s rt_sigaction(SIGCHLD): not a process row
            // (the runtime makes its own), compared by starts.rs.
            !in_filter && (process || name == "rt_sigaction")
        };
        unfinished::socklab_tasks(&self.trace_file)
            .into_iter()
            .map(|(_, l)| l)
            .filter(|l| !is_note(l) && !l.starts_with("rt_sigreturn(") && !unfiltered(l))
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

        // Rules 1 and 2. The process's own end, `exit_group(N) = ?`, is
        // socklab's line too (cli/end.rs), compared when the filter has it.
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
