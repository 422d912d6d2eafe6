//! Rust against C: run one scenario with socklab and with its C twins
//! (`c_compat/bin/`), each under strace, and normalise the two traces so
//! that equal syscall sequences compare equal.
//!
//! Used by `tests/differential.rs` (the proof, one test per scenario),
//! `tests/interop_c.rs`, `tests/inject.rs` and `make compare` (the table).
//! Include it with `#[path = "common/cmp.rs"] mod cmp;` next to `mod common;`.
#![allow(dead_code, clippy::disallowed_types, clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::common::{self, Outcome, Server, TempDir};

/// The syscalls the programs make, as strace's `-e trace=` set.
pub const TRACE_SET: &str =
    "%net,close,shutdown,poll,ioctl,unlink,newfstatat,umask,openat,unlinkat";

/// Rust or C.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    Rust,
    C,
}

impl Side {
    pub fn name(self) -> &'static str {
        match self {
            Side::Rust => "Rust",
            Side::C => "C",
        }
    }
}

/// `c_compat/bin`, built once per test binary (`make -C c_compat`, which
/// is what `make c` runs; a no-op when the twins are up to date).
pub fn c_bin_dir() -> &'static Path {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let out = Command::new("make")
            .args(["-s", "-C"])
            .arg(root.join("c_compat"))
            .output()
            .expect("run make -C c_compat (is make installed? `make deps`)");
        assert!(
            out.status.success(),
            "building the C twins failed:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        root.join("c_compat/bin")
    })
}

/// The command for program `prog` (`tcp_server`, `unix_client`, ...,
/// `checkopts`) on `side`: `socklab tcp server ARGS` (`socklab sockopt
/// list ARGS`) or `c_compat/bin/tcp_server ARGS` (`c_compat/bin/checkopts`).
pub fn program(side: Side, prog: &str, args: &[String]) -> Command {
    let mut cmd = match side {
        Side::Rust => {
            let (family, role) = match prog {
                "checkopts" => ("sockopt", "list"),
                _ => prog.split_once('_').expect("PROG is FAMILY_ROLE"),
            };
            let mut cmd = Command::new(common::bin());
            cmd.args([family, role]);
            cmd
        }
        Side::C => Command::new(c_bin_dir().join(prog)),
    };
    cmd.args(args);
    cmd
}

/// `program` under `strace -f -qq -e signal=none -y -e trace=TRACE_SET -o trace`.
pub fn traced(side: Side, prog: &str, args: &[String], trace: &Path) -> Command {
    let inner = program(side, prog, args);
    let mut cmd = Command::new("strace");
    // cargo test sets LD_LIBRARY_PATH for its own binaries; the programs
    // need only the system's libraries, and the loader's search of each
    // directory in it would only lengthen the raw traces.
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd.args(["-f", "-qq", "-e", "signal=none", "-y", "-e"])
        .arg(format!("trace={TRACE_SET}"))
        .arg("-o")
        .arg(trace)
        .arg(inner.get_program())
        .args(inner.get_args());
    cmd
}

/// One program run of a scenario: `prog` with `args`, where `{ADDR}` is the
/// server's listening address and the other `{NAME}`s are set up by
/// [`Fixture`]; `stdin` is fed to it.
#[derive(Clone, Debug)]
pub struct Step {
    pub prog: &'static str,
    pub args: Vec<&'static str>,
    pub stdin: &'static str,
    pub code: i32,
}

pub fn step(prog: &'static str, args: &[&'static str]) -> Step {
    Step {
        prog,
        args: args.to_vec(),
        stdin: "",
        code: 0,
    }
}

impl Step {
    pub fn stdin(mut self, text: &'static str) -> Step {
        self.stdin = text;
        self
    }

    pub fn fails(mut self, code: i32) -> Step {
        self.code = code;
        self
    }
}

/// A scenario: an optional server (started first; the run waits for its
/// `listening on` line), then the other steps in order, then optionally a
/// signal to the server; then the server must exit with `server_code`.
#[derive(Clone, Debug)]
pub struct Scenario {
    pub name: &'static str,
    pub server: Option<Step>,
    pub steps: Vec<Step>,
    pub signal: Option<i32>,
}

/// What one side left: per program run, its label, normalised trace, stdout,
/// stderr and exit code.
#[derive(Debug)]
pub struct Run {
    pub label: String,
    pub trace: Vec<String>,
    /// How many `EAGAIN` → `poll(..., -1)` → same call again waits rule 12
    /// folded away.
    pub waits: usize,
    pub stdout: String,
    pub stderr: String,
    pub code: Option<i32>,
    pub signal: Option<i32>,
}

/// Both sides of a scenario, normalised.
pub struct Compared {
    pub name: &'static str,
    pub rust: Vec<Run>,
    pub c: Vec<Run>,
}

impl Compared {
    pub fn calls(runs: &[Run]) -> usize {
        runs.iter().map(|r| r.trace.len()).sum()
    }

    /// The text compared: each run's label, exit, trace lines and stdout.
    pub fn text(runs: &[Run]) -> Vec<String> {
        let mut out = Vec::new();
        for r in runs {
            let exit = match (r.code, r.signal) {
                (Some(c), _) => format!("exit {c}"),
                (None, Some(s)) => format!("killed by signal {s}"),
                _ => "exit ?".to_string(),
            };
            out.push(format!("== {} ({exit})", r.label));
            out.extend(r.trace.iter().cloned());
            for line in r.stdout.lines() {
                out.push(format!("stdout> {line}"));
            }
        }
        out
    }

    pub fn identical(&self) -> bool {
        Self::text(&self.rust) == Self::text(&self.c)
    }

    /// The two texts side by side (`diff -y`), differing lines marked.
    pub fn side_by_side(&self) -> String {
        side_by_side(&Self::text(&self.rust), &Self::text(&self.c))
    }

    /// Everything, for an assertion message.
    pub fn dump(&self) -> String {
        let mut s = format!("scenario {}: Rust (left) and C (right)\n", self.name);
        s += &self.side_by_side();
        for (side, runs) in [("Rust", &self.rust), ("C", &self.c)] {
            for r in runs.iter() {
                s += &format!("--- {side} {} stderr ---\n{}", r.label, r.stderr);
            }
        }
        s
    }
}

pub fn side_by_side(left: &[String], right: &[String]) -> String {
    let dir = TempDir::new("sbs");
    let (l, r) = (dir.path("rust"), dir.path("c"));
    std::fs::write(&l, left.join("\n") + "\n").unwrap();
    std::fs::write(&r, right.join("\n") + "\n").unwrap();
    // Wide enough for the longest line on either side, then diff -y.
    let longest = left.iter().chain(right).map(String::len).max().unwrap_or(0);
    let width = (2 * longest + 6).clamp(80, 500).to_string();
    match Command::new("diff")
        .args(["-y", "-t", "-W", &width, &l, &r])
        .output()
    {
        Ok(out) => String::from_utf8_lossy(&out.stdout).into_owned(),
        // No diff(1): one line from each side after the other.
        Err(_) => left
            .iter()
            .zip(right.iter())
            .map(|(a, b)| format!("{}{a}\n   {b}\n", if a == b { "  " } else { "! " }))
            .collect(),
    }
}

/// A scenario's temp dir or abstract name: `socklab-test-TAG-PID-NNNNNN`,
/// the same length on both sides of a comparison (a UNIX address's length
/// is in the trace: `bind(..., 39)` against `bind(..., 40)` would be a
/// difference of the test's making, not the programs').
fn fixed_width_name(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "socklab-test-{tag}-{}-{:06}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// The fixture's directory (see [`fixed_width_name`]), removed on drop.
struct FixtureDir(PathBuf);

impl FixtureDir {
    fn new() -> FixtureDir {
        let dir = std::env::temp_dir().join(fixed_width_name("cmp"));
        std::fs::create_dir_all(&dir).unwrap();
        FixtureDir(dir)
    }

    fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    fn dir(&self) -> &Path {
        &self.0
    }
}

impl Drop for FixtureDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// What a scenario's `{NAME}`s stand for on one side, and the sockets and
/// files that must live while it runs.
struct Fixture {
    dir: FixtureDir,
    vars: HashMap<&'static str, String>,
    _keep: Vec<Box<dyn std::any::Any>>,
}

impl Fixture {
    fn new(sc: &Scenario) -> Fixture {
        let dir = FixtureDir::new();
        let mut vars = HashMap::new();
        let mut keep: Vec<Box<dyn std::any::Any>> = Vec::new();
        let uses = |name: &str| {
            sc.server
                .iter()
                .chain(sc.steps.iter())
                .any(|s| s.args.iter().any(|a| a.contains(name)))
        };
        vars.insert("{DIR}", dir.dir().display().to_string());
        vars.insert("{ABS}", format!("@{}", fixed_width_name("abs")));
        if uses("{REFUSED}") {
            // A bound TCP socket that does not listen: connect gets RST.
            let (fd, port) = crate::common::bound_tcp(None);
            keep.push(Box::new(fd));
            vars.insert("{REFUSED}", format!("127.0.0.1:{port}"));
        }
        if uses("{TAKEN_TCP}") {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            vars.insert("{TAKEN_TCP}", l.local_addr().unwrap().to_string());
            keep.push(Box::new(l));
        }
        if uses("{SINK}") {
            // A TCP listener that never accepts: connections complete into
            // its backlog and their data stays unread (a full window).
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            vars.insert("{SINK}", l.local_addr().unwrap().to_string());
            keep.push(Box::new(l));
        }
        if uses("{TAKEN_UDP}") {
            let u = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
            vars.insert("{TAKEN_UDP}", u.local_addr().unwrap().to_string());
            keep.push(Box::new(u));
        }
        if uses("{TAKEN_ABS}") {
            use std::os::linux::net::SocketAddrExt;
            let name = format!("@{}", fixed_width_name("taken"));
            let a = std::os::unix::net::SocketAddr::from_abstract_name(&name[1..]).unwrap();
            keep.push(Box::new(UnixListener::bind_addr(&a).unwrap()));
            vars.insert("{TAKEN_ABS}", name);
        }
        if uses("{STALE}") {
            // A socket file whose server is gone: bound, then closed.
            let path = dir.path("stale.sock");
            drop(UnixListener::bind(&path).unwrap());
            vars.insert("{STALE}", path);
        }
        if uses("{INUSE}") {
            let path = dir.path("inuse.sock");
            keep.push(Box::new(UnixListener::bind(&path).unwrap()));
            vars.insert("{INUSE}", path);
        }
        if uses("{FILE}") {
            let path = dir.path("plain.txt");
            std::fs::write(&path, "not a socket\n").unwrap();
            vars.insert("{FILE}", path);
        }
        Fixture {
            dir,
            vars,
            _keep: keep,
        }
    }

    fn args(&self, step: &Step, server_addr: Option<&str>) -> Vec<String> {
        step.args
            .iter()
            .map(|a| {
                let mut a = a.to_string();
                if let Some(addr) = server_addr {
                    a = a.replace("{ADDR}", addr);
                }
                for (k, v) in &self.vars {
                    a = a.replace(k, v);
                }
                a
            })
            .collect()
    }
}

/// The pid of strace's traced child (the program), for signals.
fn tracee_of(strace_pid: i32) -> Option<i32> {
    for _ in 0..2000 {
        let children =
            std::fs::read_to_string(format!("/proc/{strace_pid}/task/{strace_pid}/children"))
                .unwrap_or_default();
        if let Some(pid) = children.split_whitespace().next() {
            return pid.parse().ok();
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    None
}

/// Run `sc` on one side under strace; raw traces and outputs.
fn run_side(sc: &Scenario, side: Side) -> (Vec<Run>, Fixture) {
    let fx = Fixture::new(sc);
    let mut runs = Vec::new();
    let trace_path = |i: usize| fx.dir.path(&format!("trace.{i}"));
    let mut server = None;
    let mut addr = None;
    if let Some(s) = &sc.server {
        let args = fx.args(s, None);
        let srv = Server::start_cmd(traced(side, s.prog, &args, Path::new(&trace_path(0))));
        addr = Some(srv.addr.clone());
        server = Some(srv);
    }
    for (i, s) in sc.steps.iter().enumerate() {
        let args = fx.args(s, addr.as_deref());
        let out = common::run(
            traced(side, s.prog, &args, Path::new(&trace_path(i + 1))),
            s.stdin.as_bytes(),
        );
        runs.push(raw_run(s.prog.to_string(), &trace_path(i + 1), out));
    }
    if let (Some(srv), Some(s)) = (server, &sc.server) {
        if let Some(sig) = sc.signal {
            let pid = tracee_of(srv.pid()).expect("the traced server's pid");
            // Handshake: signal the server once it waits in accept4 for
            // the next connection, not while it still closes the last one.
            common::blocked_in(pid, libc::SYS_accept4);
            // SAFETY: our grandchild, the traced server.
            unsafe { libc::kill(pid, sig) };
        }
        let out = srv.finish();
        runs.insert(
            0,
            raw_run(format!("{} (server)", s.prog), &trace_path(0), out),
        );
    }
    (runs, fx)
}

fn raw_run(label: String, trace: &str, out: Outcome) -> Run {
    use std::os::unix::process::ExitStatusExt;
    common::assert_no_panic(&out);
    let raw = std::fs::read_to_string(trace).unwrap_or_default();
    Run {
        label,
        trace: raw.lines().map(str::to_string).collect(),
        waits: 0,
        stdout: out.stdout.clone(),
        stderr: out.stderr.clone(),
        code: out.status.code(),
        signal: out.status.signal(),
    }
}

/// Run both sides of `sc` and normalise them.
pub fn compare(sc: &Scenario) -> Compared {
    let (mut rust, rfx) = run_side(sc, Side::Rust);
    let (mut c, cfx) = run_side(sc, Side::C);
    Normalizer::new(&rfx.vars).apply(&mut rust);
    Normalizer::new(&cfx.vars).apply(&mut c);
    Compared {
        name: sc.name,
        rust,
        c,
    }
}

/// The normalisation rules. Each one removes a difference that is not a
/// difference in what the program asked the kernel to do.
struct Normalizer {
    /// Run-specific strings (temp dir, abstract names) and their stand-ins.
    vars: Vec<(String, String)>,
    fds: HashMap<String, String>,
    ports: HashMap<String, String>,
    autobinds: HashMap<String, String>,
}

impl Normalizer {
    fn new(vars: &HashMap<&'static str, String>) -> Normalizer {
        let mut vars: Vec<(String, String)> = vars
            .iter()
            .filter(|(k, _)| !matches!(**k, "{REFUSED}" | "{TAKEN_TCP}" | "{TAKEN_UDP}" | "{SINK}"))
            .map(|(k, v)| {
                let v = v.strip_prefix('@').unwrap_or(v).to_string();
                (v, k.trim_matches(|c| c == '{' || c == '}').to_string())
            })
            .collect();
        // Longest first: a path under the temp dir before the dir itself.
        vars.sort_by_key(|(v, _)| std::cmp::Reverse(v.len()));
        Normalizer {
            vars,
            fds: HashMap::new(),
            ports: HashMap::new(),
            autobinds: HashMap::new(),
        }
    }

    fn apply(&mut self, runs: &mut [Run]) {
        for r in runs.iter_mut() {
            // fd numbers are per process: number them afresh for each run.
            self.fds.clear();
            let trace: Vec<String> = r.trace.iter().filter_map(|l| self.trace_line(l)).collect();
            (r.trace, r.waits) = fold_waits(trace);
            r.trace = partial_sends(&r.trace);
            r.stdout = r
                .stdout
                .lines()
                .map(|l| partial_send(&self.text(l)) + "\n")
                .collect();
        }
    }

    /// One raw strace line → the normalised line, or None if it is not one
    /// of the program's own socket calls.
    fn trace_line(&mut self, raw: &str) -> Option<String> {
        // Rule 1: strace -f -o prefixes each line with the pid; drop it.
        let line = raw
            .trim_start_matches(|c: char| c.is_ascii_digit())
            .trim_start();
        // Rule 2: keep only the program's own calls: socket(), calls on a
        // socket fd (-y shows `<socket:[INODE]>`), and path calls relative
        // to the working directory (the UNIX server's newfstatat and
        // unlink). This drops what runs before main (the dynamic loader's
        // newfstatat/close on fd 3, the Rust runtime's poll on fds 0-2 and
        // its newfstatat/close of /proc/self/maps), and the C stdio's fstat
        // of stdout/stdin and isatty ioctl: none of them is a socket call.
        // The loader's stat() of library directories is a newfstatat on
        // AT_FDCWD too, but with flags 0; the UNIX server's lstat passes
        // AT_SYMLINK_NOFOLLOW.
        if !is_program_call(line) {
            return None;
        }
        // Rule 3: drop -y's `<socket:[INODE]>` (inode numbers differ per
        // run) and its `AT_FDCWD<CWD>` (the test's working directory).
        let mut line = strip_socket_annotations(line);
        for call in ["newfstatat", "openat"] {
            if let Some(rest) = line.strip_prefix(&format!("{call}(AT_FDCWD<"))
                && let Some(end) = rest.find(">, ")
            {
                line = format!("{call}(AT_FDCWD{}", &rest[end + 1..]);
            }
        }
        // Rule 3b: -y's path of a UNIX server's directory fd (`4</tmp/d>`,
        // in openat's result and the calls relative to it): the path is
        // in openat's arguments already.
        line = strip_dir_annotations(&line);
        // Rule 4: strace pads the ` = RESULT` to a column; one space.
        if let Some((call, ret)) = line.rsplit_once(" = ") {
            line = format!("{} = {ret}", call.trim_end());
        }
        // Rule 5: fd numbers by first appearance in the run (FD1, FD2...).
        line = self.fd_numbers(&line);
        // Rule 6: pointers (buffers of failed calls) vary with ASLR.
        line = replace_all(&line, "0x", |rest| {
            let n = rest.bytes().take_while(u8::is_ascii_hexdigit).count();
            (n > 0).then(|| ("PTR".to_string(), n))
        });
        // Rule 7a: a POLLHUP next to POLLIN in poll's revents says the peer
        // had already closed when poll looked: a race between the two
        // processes, not something the program asked for.
        line = line.replace("revents=POLLIN|POLLHUP}", "revents=POLLIN}");
        // Rule 7: poll's timeout in timeout mode is the milliseconds left
        // before the deadline, which depends on how long earlier calls took.
        if line.starts_with("poll(")
            && let Some(i) = line.find("], 1, ")
        {
            let start = i + "], 1, ".len();
            let n = line[start..].bytes().take_while(u8::is_ascii_digit).count();
            if n > 0 {
                line.replace_range(start..start + n, "MS");
            }
        }
        // Rule 14a (--show-state): the TCP_INFO bytes strace shows carry
        // rtt, timestamps, window and congestion figures measured by the
        // kernel at that moment; the state they carry is compared in the
        // `[state ...]` line on stdout (rule 14b).
        if line.contains(", SOL_TCP, TCP_INFO, \"")
            && let Some(i) = line.find("TCP_INFO, \"")
            && let Some(j) = line[i..].find("\"..., [")
        {
            line.replace_range(
                i + "TCP_INFO, ".len()..i + j + "\"...".len(),
                "TCP_INFO_BYTES",
            );
        }
        // Rule 14c (--show-state): the queue depths, ioctl(FIONREAD) and
        // ioctl(TIOCOUTQ), depend on how far the peer process (and the ACK
        // processing in softirq) had got when they were read: a client's
        // FIONREAD right after its sendto finds the server's reply there
        // or not yet.
        for call in ["FIONREAD, [", "TIOCOUTQ, ["] {
            line = replace_all(&line, call, |rest| {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                (n > 0).then(|| ("Q".to_string(), n))
            });
        }
        Some(self.text(&line))
    }

    /// Rules shared by trace lines and stdout.
    fn text(&mut self, line: &str) -> String {
        let mut line = line.to_string();
        // Rule 8: the temp dir and abstract names are fresh per run.
        for (value, name) in &self.vars {
            line = line.replace(value.as_str(), &format!("${name}"));
        }
        // Rule 9: ephemeral ports, by first appearance in the scenario
        // (the server's port, then the clients' ports as the server sees them).
        line = self.ports_in(&line);
        // Rule 10: autobind names (`@"0001f"`, five hex digits chosen by
        // the kernel), by first appearance.
        line = self.autobinds_in(&line);
        // Rule 15: SO_PEERCRED's pid is the client process's, another one
        // in each run (`{pid=N, ...}` in traces, `(pid N, ...` on stdout).
        for prefix in ["{pid=", "(pid "] {
            line = replace_all(&line, prefix, |rest| {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                (n > 0).then(|| ("PID".to_string(), n))
            });
        }
        // Rule 11: the --naive server's timing line.
        if let Some(i) = line.find(" times in ")
            && let Some(j) = line.find("/s), never blocking")
        {
            line.replace_range(i + " times in ".len()..j + "/s)".len(), "T ms (R/s)");
        }
        // Rule 14b (--show-state): in a `[state fd N: STATE, rtt X ms,
        // unacked U, retransmits R, inq I outq O]` line, the rtt is a
        // measurement; unacked, inq and outq depend on the peer's progress
        // (rule 14c); and whether the peer's FIN has arrived when the state
        // is read (ESTABLISHED or CLOSE_WAIT: the --once server closes
        // right after its reply, while the client inspects its socket after
        // its sendto and its recvfrom) is a race between the processes.
        // The state otherwise, retransmits and a listener's accept queue
        // stay as they are.
        if line.starts_with("[state fd ") && line.contains(", rtt ") {
            for state in ["ESTABLISHED,", "CLOSE_WAIT,"] {
                line = line.replace(&format!(": {state}"), ": ESTABLISHED|CLOSE_WAIT,");
            }
            for (field, with) in [
                ("rtt ", "RTT"),
                ("unacked ", "U"),
                ("inq ", "Q"),
                ("outq ", "Q"),
            ] {
                line = replace_all(&line, field, |rest| {
                    let n = rest
                        .bytes()
                        .take_while(|b| b.is_ascii_digit() || *b == b'.' || *b == b'?')
                        .count();
                    (n > 0).then(|| (with.to_string(), n))
                });
            }
        }
        line
    }

    fn fd_numbers(&mut self, line: &str) -> String {
        let mut out = line.to_string();
        // The first argument of a call on an fd.
        if let Some(open) = out.find('(') {
            let n = out[open + 1..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            if n > 0 && !out.starts_with("socket(") {
                let fd = out[open + 1..open + 1 + n].to_string();
                let name = self.fd_name(&fd);
                out.replace_range(open + 1..open + 1 + n, &name);
            }
        }
        // poll's `fd=N`.
        out = replace_all(&out, "fd=", |rest| {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            (n > 0).then(|| (self.fd_name(&rest[..n]), n))
        });
        // The fd returned by socket and accept4.
        if (out.starts_with("socket(") || out.starts_with("accept4("))
            && let Some((call, ret)) = out.rsplit_once(" = ")
            && ret.bytes().all(|b| b.is_ascii_digit())
        {
            let name = self.fd_name(ret);
            out = format!("{call} = {name}");
        }
        out
    }

    fn fd_name(&mut self, fd: &str) -> String {
        let next = format!("FD{}", self.fds.len() + 1);
        self.fds.entry(fd.to_string()).or_insert(next).clone()
    }

    fn ports_in(&mut self, line: &str) -> String {
        // In traces: htons(N); in stdout: `127.0.0.1:N`, `]:N`.
        let mut out = replace_all(line, "htons(", |rest| {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            (n > 0 && &rest[..n] != "0").then(|| (self.port_name(&rest[..n]), n))
        });
        for prefix in ["127.0.0.1:", "]:"] {
            out = replace_all(&out, prefix, |rest| {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                (n > 0 && &rest[..n] != "0").then(|| (self.port_name(&rest[..n]), n))
            });
        }
        out
    }

    fn port_name(&mut self, port: &str) -> String {
        let next = format!("PORT{}", self.ports.len() + 1);
        self.ports.entry(port.to_string()).or_insert(next).clone()
    }

    fn autobinds_in(&mut self, line: &str) -> String {
        // `sun_path=@"0001f"` in traces, `@0001f` in stdout.
        let mut out = String::new();
        let mut rest = line;
        while let Some(i) = rest.find('@') {
            out.push_str(&rest[..=i]);
            rest = &rest[i + 1..];
            let quoted = rest.starts_with('"');
            let body = if quoted { &rest[1..] } else { rest };
            let is_auto = body.len() >= 5
                && body[..5]
                    .bytes()
                    .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase())
                && !body[5..].starts_with(|c: char| c.is_ascii_alphanumeric() || c == '-');
            if is_auto {
                let next = format!("AUTOBIND{}", self.autobinds.len() + 1);
                let name = self.autobinds.entry(body[..5].to_string()).or_insert(next);
                if quoted {
                    out.push('"');
                }
                out.push_str(name);
                rest = &body[5..];
            }
        }
        out.push_str(rest);
        out
    }
}

/// Rule 12: in non-blocking mode, whether a call finds its peer's bytes
/// (or connection) already there, or fails with EAGAIN and waits in
/// `poll(..., -1)` first, depends on which of two processes the scheduler
/// ran first, not on the program. Each `CALL(FD...) = -1 EAGAIN` followed by
/// `poll([{fd=FD, ...}], 1, -1)` and the same call on the same fd is folded
/// into that last call, and counted (scenarios check that the count is not
/// zero where a wait must happen). Anything else after an EAGAIN (no poll,
/// a poll with a limit, another call) is left as it is, and differs.
fn fold_waits(trace: Vec<String>) -> (Vec<String>, usize) {
    let mut out = Vec::with_capacity(trace.len());
    let mut waits = 0;
    let mut i = 0;
    while i < trace.len() {
        let line = &trace[i];
        let head = line.split_once(',').map_or("", |(h, _)| h);
        let fd = head.split_once('(').map_or("", |(_, fd)| fd);
        let folds = line.contains(" = -1 EAGAIN ")
            && !fd.is_empty()
            && trace.get(i + 1).is_some_and(|p| {
                p.starts_with(&format!("poll([{{fd={fd}, events=")) && p.contains("], 1, -1) = ")
            })
            && trace
                .get(i + 2)
                .is_some_and(|next| next.starts_with(&format!("{head},")));
        if folds {
            waits += 1;
            i += 2;
        } else {
            out.push(line.clone());
            i += 1;
        }
    }
    (out, waits)
}

/// Rule 13: how many bytes one `sendto` takes when the send buffer cannot
/// hold them all (a partial send with `--send-mode send`, or before
/// SO_SNDTIMEO expires) is the kernel's choice: the free space in the send
/// buffer and the peer's window when the call ran, which acknowledgements
/// processed in softirq can change. The count becomes `PARTIAL` in the
/// `sendto` line (only when it is less than the length asked) and in the
/// `send: N of M` and `sendall: N of M` lines. What sendall sends next on
/// that fd starts where the partial send stopped: its bytes and length
/// become `<the rest>`, a byte count it returns `N`.
fn partial_sends(trace: &[String]) -> Vec<String> {
    let mut after_partial = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(trace.len());
    for line in trace {
        let fd = line
            .strip_prefix("sendto(")
            .and_then(|rest| rest.split_once(", "))
            .map(|(fd, _)| fd.to_string());
        let Some(fd) = fd else {
            out.push(line.clone());
            continue;
        };
        if after_partial.contains(&fd)
            && let Some((call, ret)) = line.rsplit_once(" = ")
        {
            // flags, address, address length): the last three arguments.
            let tail: Vec<&str> = call.rsplitn(4, ", ").take(3).collect();
            let ret = if ret.parse::<u64>().is_ok() { "N" } else { ret };
            out.push(format!(
                "sendto({fd}, <the rest>, {}, {}, {} = {ret}",
                tail[2], tail[1], tail[0]
            ));
            continue;
        }
        let shown = partial_send(line);
        if shown.ends_with(" = PARTIAL") {
            after_partial.insert(fd);
        }
        out.push(shown);
    }
    out
}

/// One line of rule 13: a `sendto` line or a `send:`/`sendall:` line.
fn partial_send(line: &str) -> String {
    if line.starts_with("sendto(")
        && let Some((call, ret)) = line.rsplit_once(" = ")
        && let Ok(got) = ret.parse::<u64>()
        && let Some(asked) = call.rsplit(", ").nth(3).and_then(|n| n.parse::<u64>().ok())
        && got > 0
        && got < asked
    {
        return format!("{call} = PARTIAL");
    }
    for prefix in ["send: ", "sendall: "] {
        if let Some(rest) = line.strip_prefix(prefix)
            && let Some((n, tail)) = rest.split_once(" of ")
            && n.bytes().all(|b| b.is_ascii_digit())
        {
            return format!("{prefix}PARTIAL of {tail}");
        }
    }
    line.to_string()
}

/// Rule 2 of the normalisation, for a line without its pid prefix.
pub fn is_program_call(line: &str) -> bool {
    line.starts_with("socket(")
        || line.starts_with("unlink(")
        || line.starts_with("umask(")
        || (line.starts_with("newfstatat(") && line.contains(", AT_SYMLINK_NOFOLLOW)"))
        // A UNIX server's socket file directory and its hold on the file
        // (the loader's and the runtime's openat calls are of files,
        // never O_DIRECTORY nor O_PATH).
        || (line.starts_with("openat(")
            && (line.contains("|O_DIRECTORY)") || line.contains("|O_PATH)")))
        || line.starts_with("unlinkat(")
        || is_on_socket(line)
}

/// `4</tmp/d>` → `4` where a directory fd is an argument or an openat's
/// result (`openat(...) = 4</tmp/d>`, `openat(4</tmp/d>, "s.sock", ...)`,
/// `newfstatat(4</tmp/d>, "s.sock", ...)`, `unlinkat(4</tmp/d>, ...)`).
fn strip_dir_annotations(line: &str) -> String {
    let mut line = line.to_string();
    if line.starts_with("openat(")
        && let Some((call, ret)) = line.rsplit_once(" = ")
        && let Some((fd, _)) = ret.split_once('<')
    {
        line = format!("{call} = {fd}");
    }
    for call in ["newfstatat(", "unlinkat(", "openat("] {
        if let Some(rest) = line.strip_prefix(call)
            && rest.starts_with(|c: char| c.is_ascii_digit())
            && let Some(open) = rest.find('<')
            && let Some(close) = rest.find(">, ")
            && open < close
        {
            line = format!("{call}{}{}", &rest[..open], &rest[close + 1..]);
        }
    }
    line
}

fn is_on_socket(line: &str) -> bool {
    let after_paren = line.split_once('(').map_or("", |(_, a)| a);
    let fd_part = after_paren.strip_prefix("[{fd=").unwrap_or(after_paren);
    let n = fd_part.bytes().take_while(u8::is_ascii_digit).count();
    n > 0 && fd_part[n..].starts_with("<socket:[")
}

fn strip_socket_annotations(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find("<socket:[") {
        out.push_str(&rest[..i]);
        match rest[i..].find("]>") {
            Some(j) => rest = &rest[i + j + 2..],
            None => {
                out.push_str(&rest[i..]);
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Replace, after each `prefix`, what `f` matches at the start of the rest
/// (its replacement and the number of bytes it covers).
fn replace_all(
    line: &str,
    prefix: &str,
    mut f: impl FnMut(&str) -> Option<(String, usize)>,
) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(i) = rest.find(prefix) {
        out.push_str(&rest[..i + prefix.len()]);
        rest = &rest[i + prefix.len()..];
        if let Some((with, n)) = f(rest) {
            out.push_str(&with);
            rest = &rest[n..];
        }
    }
    out.push_str(rest);
    out
}

/// Differences that cannot be otherwise, by scenario, each with its reason.
/// Empty: every scenario is identical.
pub const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];
