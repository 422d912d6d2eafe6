//! Running programs: a command to completion under the watchdog, what it
//! left (`Outcome`), and a server that has printed `listening on ADDR`.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, mpsc};
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

/// socklab as nobody without capabilities: `setpriv` execs it before its
/// capabilities go, so a clone in a directory only root can enter still
/// runs (`Command::uid` would exec as nobody and get EACCES).
pub fn socklab_as_nobody(args: &[&str]) -> Command {
    let mut cmd = Command::new("setpriv");
    cmd.args([
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        "--inh-caps=-all",
    ])
    .arg(bin())
    .args(args);
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
    /// The same outcome, its stdout timeline without the tasks' `[pid
    /// N] ` after the actor tags ([`untasked`]).
    pub fn without_tasks(mut self) -> Outcome {
        self.stdout = untasked(&self.stdout);
        self
    }

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

    /// Assert that stderr contains `text`, printing everything if not. A
    /// call another task's line split (`<unfinished ...>` / `<... NAME
    /// resumed>`, as strace -f prints it) counts whole ([`joined_calls`]).
    pub fn stderr_has(&self, text: &str) -> &Self {
        let joined = || {
            let call = text.strip_prefix("] ").unwrap_or(text);
            joined_calls(&self.stderr).iter().any(|l| l.contains(call))
        };
        assert!(
            self.stderr.contains(text) || joined(),
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
pub fn run(cmd: Command, stdin: &[u8]) -> Outcome {
    run_within(cmd, stdin, WATCHDOG)
}

/// [`run`] with a watchdog of `limit` (`lab all`: every lab in turn,
/// each bounded by its own 20 s watchdog, can take longer than one).
pub fn run_within(mut cmd: Command, stdin: &[u8], limit: Duration) -> Outcome {
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd.spawn().expect("spawn");
    let mut input = child.stdin.take().expect("stdin");
    let data = stdin.to_vec();
    std::thread::spawn(move || {
        let _ = input.write_all(&data);
    });
    finish_with(child, String::new(), limit)
}

/// Wait for a child and collect its output; kill it if the watchdog fires.
pub fn finish(child: Child) -> Outcome {
    finish_with(child, String::new(), WATCHDOG)
}

fn finish_with(child: Child, stdout_prefix: String, limit: Duration) -> Outcome {
    // Note: for a Server, stdout was taken by its reader thread; the output
    // collected here is then only stderr.
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(limit) {
        Ok(out) => out.expect("wait"),
        Err(_) => {
            // SAFETY: pid is our child, still running; when it leads its
            // own process group (`Server::start_group`), the whole group
            // goes: a grandchild that holds the output pipes (strace's
            // tracee) would else keep the read below waiting forever.
            unsafe {
                if libc::getpgid(pid) == pid {
                    libc::kill(-pid, libc::SIGKILL);
                }
                libc::kill(pid, libc::SIGKILL);
            }
            let Ok(out) = rx.recv_timeout(WATCHDOG) else {
                panic!(
                    "process {pid} still running after {limit:?}; killed, and its output \
                     pipes stayed open {WATCHDOG:?} more (a process outside its group holds them)"
                );
            };
            let out = out.expect("wait");
            panic!(
                "process {pid} still running after {limit:?}; killed\n--- stdout ---\n{}{}\n--- stderr ---\n{}",
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
    /// Its stderr so far and its reader, when watched
    /// ([`Server::watch_stderr`]).
    err: Option<(Arc<Mutex<String>>, std::thread::JoinHandle<()>)>,
}

impl Server {
    /// Start `socklab ARGS` and wait (bounded) for `listening on ADDR`.
    pub fn start(args: &[&str]) -> Server {
        Server::start_cmd(socklab(args))
    }

    /// As [`Server::start_cmd`], the command leading a process group of its
    /// own: the watchdog of [`Server::finish`] kills the whole group (a
    /// program under strace -f and its children), so no descendant can
    /// hold the output pipes open and the wait for them.
    pub fn start_group(mut cmd: Command) -> Server {
        std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
        Server::start_cmd(cmd)
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
                // Bytes, shown lossily: a UNIX name that is not UTF-8 is
                // printed as it is (`listening on /tmp/d\xff`).
                let mut bytes = Vec::new();
                match reader.read_until(b'\n', &mut bytes) {
                    Ok(0) | Err(_) => {
                        let _ = tx.send(Err(seen));
                        return;
                    }
                    Ok(_) => {
                        let line = String::from_utf8_lossy(&bytes);
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
                    err: None,
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

    /// Read its stderr as it comes (what it wrote before is in the pipe),
    /// for [`Server::wait_stderr`]; [`Server::finish`] has all of it.
    pub fn watch_stderr(mut self) -> Server {
        let pipe = self.child.as_mut().and_then(|c| c.stderr.take());
        let seen = Arc::new(Mutex::new(String::new()));
        let into = seen.clone();
        let reader = std::thread::spawn(move || {
            let Some(mut pipe) = pipe else { return };
            let mut buf = [0u8; 4096];
            while let Ok(n @ 1..) = pipe.read(&mut buf) {
                let text = String::from_utf8_lossy(&buf[..n]);
                into.lock().unwrap().push_str(&text);
            }
        });
        self.err = Some((seen, reader));
        self
    }

    /// The handshake with a server that reports on stderr: wait (up to
    /// the watchdog) until its stderr has `text` ([`Server::watch_stderr`]).
    pub fn wait_stderr(&self, text: &str) {
        let (seen, _) = self.err.as_ref().expect("watch_stderr first");
        let deadline = std::time::Instant::now() + WATCHDOG;
        while !seen.lock().unwrap().contains(text) {
            assert!(
                std::time::Instant::now() < deadline,
                "no {text:?} on the server's stderr within {WATCHDOG:?}\n{}",
                seen.lock().unwrap()
            );
            std::thread::sleep(Duration::from_millis(2));
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
        let mut out = finish_with(child, String::new(), WATCHDOG);
        let tail = self.rest.recv_timeout(WATCHDOG).unwrap_or_default();
        out.stdout = format!("{}{}{}", self.seen, tail, out.stdout);
        if let Some((seen, reader)) = self.err.take() {
            // Bounded: a descendant may hold the pipe open.
            let deadline = std::time::Instant::now() + WATCHDOG;
            while !reader.is_finished() && std::time::Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
            out.stderr = std::mem::take(&mut *seen.lock().unwrap());
        }
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
        let mut rest = Vec::new();
        let _ = reader.read_to_end(&mut rest);
        let _ = tx.send(String::from_utf8_lossy(&rest).into_owned());
    });
    rx
}

/// A timeline line without its task's `[pid N] ` after the actor tag
/// (`client | [pid 42] close(3) = 0` is `client | close(3) = 0`).
pub fn untask_timeline(line: &str) -> String {
    match line.split_once(" | ") {
        Some((tag, rest)) if rest.starts_with("[pid ") => format!("{tag} | {}", untask(rest)),
        _ => line.to_string(),
    }
}

/// A timeline (a lab's, a script's stdout), each line without its
/// task's `[pid N] ` ([`untask_timeline`]).
pub fn untasked(text: &str) -> String {
    let mut out: String = text
        .lines()
        .map(untask_timeline)
        .collect::<Vec<_>>()
        .join("\n");
    if text.ends_with('\n') {
        out.push('\n');
    }
    out
}

/// A trace line without strace -f's `[pid N] ` (a run with several tasks).
pub fn untask(line: &str) -> &str {
    match line.strip_prefix("[pid ") {
        Some(rest) => rest.split_once("] ").map_or(line, |(_, l)| l),
        None => line,
    }
}

/// A program's own `--trace` with several tasks (`[pid N] ` prefixes):
/// each call split by another task's line (`NAME(args <unfinished ...>`,
/// then that task's `<... NAME resumed>rest`) joined at its entry's
/// place, and the prefixes dropped, as the calls were made.
pub fn joined_calls(trace: &str) -> Vec<String> {
    let mut calls: Vec<String> = Vec::new();
    let mut open: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    for line in trace.lines() {
        let call = untask(line);
        let task = line.strip_suffix(call).unwrap_or("").to_string();
        if let Some(rest) = call.strip_prefix("<... ")
            && let Some((_, rest)) = rest.split_once(" resumed>")
            && let Some(i) = open.remove(&task)
            && let Some(entry) = calls.get_mut(i)
        {
            *entry = format!("{}{rest}", entry.trim_end_matches(" <unfinished ...>"));
            continue;
        }
        if call.ends_with(" <unfinished ...>") {
            open.insert(task, calls.len());
        }
        calls.push(call.to_string());
    }
    calls
}
