//! A scenario's fixture (its temp dir, names, taken ports) and one side's
//! raw run under strace.

use std::collections::HashMap;
use std::os::unix::net::UnixListener;
use std::path::{Path, PathBuf};

use super::*;
use crate::harness::{self, Outcome, Server};

/// A scenario's temp dir or abstract name: `socklab-test-TAG-PID-NNNNNN`,
/// the same length on both sides of a comparison (a UNIX address's length
/// is in the trace: `bind(..., 39)` against `bind(..., 40)` would be a
/// difference of the test's making, not the programs').
pub(super) fn fixed_width_name(tag: &str) -> String {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    format!(
        "socklab-test-{tag}-{}-{:06}",
        std::process::id(),
        N.fetch_add(1, Ordering::SeqCst)
    )
}

/// The fixture's directory (see [`fixed_width_name`]), removed on drop.
pub(super) struct FixtureDir(PathBuf);

impl FixtureDir {
    pub(super) fn new() -> FixtureDir {
        let dir = std::env::temp_dir().join(fixed_width_name("cmp"));
        std::fs::create_dir_all(&dir).unwrap();
        FixtureDir(dir)
    }

    pub(super) fn path(&self, name: &str) -> String {
        self.0.join(name).display().to_string()
    }

    pub(super) fn dir(&self) -> &Path {
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
pub(super) struct Fixture {
    pub(super) dir: FixtureDir,
    pub(super) vars: HashMap<&'static str, String>,
    pub(super) _keep: Vec<Box<dyn std::any::Any>>,
}

impl Fixture {
    pub(super) fn new(sc: &Scenario) -> Fixture {
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
            let (fd, port) = crate::harness::bound_tcp(None);
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

    pub(super) fn args(&self, step: &Step, server_addr: Option<&str>) -> Vec<String> {
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
pub(super) fn tracee_of(strace_pid: i32) -> Option<i32> {
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
pub(super) fn run_side(sc: &Scenario, side: Side) -> (Vec<Run>, Fixture) {
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
        let out = harness::run(
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
            harness::blocked_in(pid, libc::SYS_accept4);
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

pub(super) fn raw_run(label: String, trace: &str, out: Outcome) -> Run {
    use std::os::unix::process::ExitStatusExt;
    harness::assert_no_panic(&out);
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
