//! Test harness: drive the real `socklab` binary as a user would.
//!
//! Servers run on port 0 or a fresh temporary path; the harness reads their
//! `listening on ADDR` line before starting a client (a handshake, never a
//! sleep). Every wait is bounded by a watchdog that kills the process, so a
//! hung test fails instead of hanging `make test`. On failure, assertions
//! print everything the processes wrote.
#![allow(dead_code, clippy::disallowed_types, clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::mpsc;
use std::time::Duration;

/// How long any one process may run in a test before the watchdog kills it.
pub const WATCHDOG: Duration = Duration::from_secs(20);

pub fn bin() -> &'static str {
    env!("CARGO_BIN_EXE_socklab")
}

pub fn socklab(args: &[&str]) -> Command {
    let mut cmd = Command::new(bin());
    cmd.args(args);
    cmd
}

/// What a finished process left.
#[derive(Debug)]
pub struct Outcome {
    pub status: ExitStatus,
    pub stdout: String,
    pub stderr: String,
}

impl Outcome {
    pub fn code(&self) -> Option<i32> {
        self.status.code()
    }

    /// Everything, for assertion messages.
    pub fn dump(&self) -> String {
        format!(
            "status: {:?}\n--- stdout ---\n{}\n--- stderr ---\n{}",
            self.status, self.stdout, self.stderr
        )
    }

    pub fn assert_ok(&self) -> &Self {
        assert_eq!(self.code(), Some(0), "expected exit 0\n{}", self.dump());
        assert_no_panic(self);
        self
    }

    /// Assert that stdout contains `text`, printing everything if not.
    pub fn stdout_has(&self, text: &str) -> &Self {
        assert!(
            self.stdout.contains(text),
            "stdout lacks {text:?}\n{}",
            self.dump()
        );
        self
    }

    /// Assert that stderr contains `text`, printing everything if not.
    pub fn stderr_has(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text),
            "stderr lacks {text:?}\n{}",
            self.dump()
        );
        self
    }

    pub fn assert_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code(),
            Some(code),
            "expected exit {code}\n{}",
            self.dump()
        );
        assert_no_panic(self);
        self
    }
}

pub fn assert_no_panic(o: &Outcome) {
    for bad in ["panicked", "RUST_BACKTRACE", "stack backtrace"] {
        assert!(!o.stderr.contains(bad), "socklab panicked\n{}", o.dump());
    }
}

/// Run a command to completion with `stdin` as input, under the watchdog.
pub fn run(mut cmd: Command, stdin: &[u8]) -> Outcome {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    finish(child)
}

/// Wait for a child and collect its output; kill it if the watchdog fires.
pub fn finish(child: Child) -> Outcome {
    finish_with(child, String::new())
}

fn finish_with(child: Child, stdout_prefix: String) -> Outcome {
    // Note: for a Server, stdout was taken by its reader thread; the output
    // collected here is then only stderr.
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(WATCHDOG) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            // SAFETY: pid is our child, still running.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let out = rx.recv().expect("wait after kill").expect("wait");
            panic!(
                "process {pid} still running after {WATCHDOG:?}; killed\n--- stdout ---\n{}{}\n--- stderr ---\n{}",
                stdout_prefix,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    };
    Outcome {
        status: out.status,
        stdout: stdout_prefix + &String::from_utf8_lossy(&out.stdout),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A server process that has printed its `listening on ADDR` line.
pub struct Server {
    child: Option<Child>,
    pub addr: String,
    /// What it printed up to and including the listening line.
    seen: String,
    /// The rest of its stdout, read by a thread until it exits.
    rest: mpsc::Receiver<String>,
}

impl Server {
    /// Start `socklab ARGS` and wait (bounded) for `listening on ADDR`.
    pub fn start(args: &[&str]) -> Server {
        Server::start_cmd(socklab(args))
    }

    pub fn start_cmd(mut cmd: Command) -> Server {
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("spawn server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stdout);
            let mut seen = String::new();
            loop {
                let mut line = String::new();
                match reader.read_line(&mut line) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Err(seen));
                        return;
                    }
                    Ok(_) => {
                        seen.push_str(&line);
                        if let Some(addr) = line.trim_end().strip_prefix("listening on ") {
                            let _ = tx.send(Ok((addr.to_string(), seen, reader)));
                            return;
                        }
                    }
                }
            }
        });
        match rx.recv_timeout(WATCHDOG) {
            Ok(Ok((addr, seen, reader))) => {
                let rest = read_rest(reader);
                Server {
                    child: Some(child),
                    addr,
                    seen,
                    rest,
                }
            }
            Ok(Err(seen)) => {
                let out = finish(child);
                panic!("server exited before listening\n{seen}{}", out.dump());
            }
            Err(_) => {
                // SAFETY: our child.
                unsafe { libc::kill(child.id() as i32, libc::SIGKILL) };
                panic!("server did not print `listening on` within {WATCHDOG:?}");
            }
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map_or(0, |c| c.id() as i32)
    }

    pub fn signal(&self, sig: i32) {
        // SAFETY: our child.
        unsafe { libc::kill(self.pid(), sig) };
    }

    /// Wait for the server to exit (bounded) and collect all its output.
    pub fn finish(mut self) -> Outcome {
        let child = self.child.take().expect("child");
        let mut out = finish_with(child, String::new());
        let tail = self.rest.recv_timeout(WATCHDOG).unwrap_or_default();
        out.stdout = format!("{}{}{}", self.seen, tail, out.stdout);
        out
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn read_rest(mut reader: BufReader<ChildStdout>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut rest = String::new();
        let _ = reader.read_to_string(&mut rest);
        let _ = tx.send(rest);
    });
    rx
}

/// A fresh private directory under the system temp dir (mkdtemp),
/// removed on drop.
pub struct TempDir(PathBuf);

impl TempDir {
    /// mkdtemp(3): `$TMPDIR/socklab-test-TAG-XXXXXX`, made exclusively
    /// with a random name and mode 0700 (never an existing directory, nor
    /// one another user planted at a predictable name).
    pub fn new(tag: &str) -> TempDir {
        use std::os::unix::ffi::OsStringExt;
        let template = std::env::temp_dir().join(format!("socklab-test-{tag}-XXXXXX"));
        let mut bytes = template.into_os_string().into_vec();
        bytes.push(0);
        // SAFETY: bytes is a NUL-terminated template ending in XXXXXX,
        // which mkdtemp overwrites in place.
        let made = unsafe { libc::mkdtemp(bytes.as_mut_ptr() as *mut libc::c_char) };
        assert!(
            !made.is_null(),
            "mkdtemp: {}",
            std::io::Error::last_os_error()
        );
        bytes.pop();
        TempDir(PathBuf::from(std::ffi::OsString::from_vec(bytes)))
    }

    pub fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    pub fn dir(&self) -> &Path {
        &self.0
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// A unique abstract UNIX name for this test process.
pub fn abstract_name(tag: &str) -> String {
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "@socklab-test-{tag}-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// Is `tool` installed? Under CI=true a missing tool fails the test (never
/// a silent skip); elsewhere the test says it skips and why.
pub fn have(tool: &str) -> bool {
    let found = Command::new("sh")
        .args(["-c", &format!("command -v {tool}")])
        .stdout(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !found {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "{tool} is not installed (make deps installs it); under CI a missing tool is a failure"
        );
        eprintln!("SKIPPED: {tool} is not installed (run `make deps` as root)");
    }
    found
}

/// A TCP socket of the test's own on 127.0.0.1, bound to an ephemeral port:
/// with `backlog` None it does not listen, so connecting is refused; with
/// Some(n) it listens and never accepts (a queue that fills up). Nobody
/// else can take the port while the returned fd stays open.
pub fn bound_tcp(backlog: Option<i32>) -> (std::os::fd::OwnedFd, u16) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a fresh fd and a zeroed sockaddr_in.
    unsafe {
        let fd = libc::socket(libc::AF_INET, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(fd >= 0);
        let owned = std::os::fd::OwnedFd::from_raw_fd(fd);
        let mut sin: libc::sockaddr_in = std::mem::zeroed();
        sin.sin_family = libc::AF_INET as libc::sa_family_t;
        sin.sin_addr.s_addr = u32::from_be_bytes([127, 0, 0, 1]).to_be();
        let mut len = std::mem::size_of::<libc::sockaddr_in>() as libc::socklen_t;
        assert_eq!(
            libc::bind(fd, &sin as *const _ as *const libc::sockaddr, len),
            0
        );
        if let Some(n) = backlog {
            assert_eq!(libc::listen(fd, n), 0);
        }
        assert_eq!(
            libc::getsockname(fd, &mut sin as *mut _ as *mut libc::sockaddr, &mut len),
            0
        );
        (owned, u16::from_be(sin.sin_port))
    }
}

/// The handshake with a process that prints nothing when it is ready: wait
/// (up to the watchdog) until `pid`'s main thread is blocked in syscall
/// `nr` (the first field of /proc/PID/syscall), e.g. a server in poll.
pub fn blocked_in(pid: i32, nr: libc::c_long) {
    let want = format!("{nr} ");
    let deadline = std::time::Instant::now() + WATCHDOG;
    while std::time::Instant::now() < deadline {
        let now = std::fs::read_to_string(format!("/proc/{pid}/syscall")).unwrap_or_default();
        if now.starts_with(&want) {
            return;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    panic!("process {pid} never blocked in syscall {nr}");
}

/// xorshift64*: reproducible random payloads without a crate (seed it odd).
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}
