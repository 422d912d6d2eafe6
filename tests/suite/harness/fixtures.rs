//! What tests set up around the programs: private temp dirs, abstract
//! names, sockets of the test's own, the tools they need, random payloads.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use super::WATCHDOG;

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

/// A pseudo-terminal: (master, slave), for a stdin or stdout that is a
/// terminal. Both ends are made close-on-exec (no window where another
/// test thread's child could inherit them: a leaked slave would keep the
/// master from reading EIO when the program exits).
pub fn pty() -> (std::fs::File, std::fs::File) {
    use std::os::fd::FromRawFd;
    // SAFETY: plain libc calls on fds this function owns; ptsname_r
    // writes a NUL-terminated name into the buffer of the length given.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        assert!(m >= 0, "posix_openpt");
        assert_eq!(libc::grantpt(m), 0, "grantpt");
        assert_eq!(libc::unlockpt(m), 0, "unlockpt");
        let mut name = [0 as libc::c_char; 128];
        assert_eq!(libc::ptsname_r(m, name.as_mut_ptr(), name.len()), 0);
        let s = libc::open(
            name.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        assert!(s >= 0, "open the slave");
        (std::fs::File::from_raw_fd(m), std::fs::File::from_raw_fd(s))
    }
}

/// Run `cmd` with its stdout on a pseudo-terminal (stdin null, stderr
/// piped): what the terminal got, and the outcome (stderr, exit status).
pub fn on_a_terminal(mut cmd: Command) -> (Vec<u8>, super::Outcome) {
    use std::io::Read;
    let (master, slave) = pty();
    cmd.stdin(Stdio::null())
        .stdout(Stdio::from(slave))
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn on a terminal");
    drop(cmd); // the parent's copy of the slave
    let reader = std::thread::spawn(move || {
        let mut f = master;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        // EIO once the program exited and the slave is closed.
        while let Ok(n) = f.read(&mut buf) {
            if n == 0 {
                break;
            }
            got.extend_from_slice(&buf[..n]);
        }
        got
    });
    let out = super::finish(child);
    (reader.join().expect("the terminal's reader"), out)
}

/// `socklab ARGS` under `strace -f -e inject=FAULT` (`clone:error=EAGAIN`,
/// `clone3:error=EAGAIN:when=1`), strace's own output to /dev/null: the
/// program meets the failure as the kernel would give it.
pub fn injected(fault: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("strace");
    cmd.args(["-f", "-qq", "-o", "/dev/null", "-e"])
        .arg(format!("inject={fault}"))
        .arg(super::bin())
        .args(args);
    cmd
}
