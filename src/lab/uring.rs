//! The `uring` lab (issue 18): the same echo load against `tcp server
//! --model epoll` and `--model uring`, each server a child process
//! (socklab re-executed with `--trace`, under `strace -f -c` when strace
//! is installed), the load `socklab bench rr` (another child). The
//! syscalls per echo are counted twice from the same run: from socklab's
//! own trace (its lines on the server's stderr) and from strace's count;
//! and what strace cannot see: the ring operations socklab prints under
//! each io_uring_enter.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::framework::{Ctx, Lab, Verdict};
use crate::values::error::{Error, Result};

/// The load: CONNS connections, ECHOES 1-byte echoes in all.
const CONNS: u32 = 20;
const ECHOES: u64 = 2000;
/// The calls of the echo path (the rest are per connection or set-up).
const ECHO_PATH: &[&str] = &["epoll_wait", "recvfrom", "sendto", "io_uring_enter"];

pub fn labs() -> Vec<Lab> {
    vec![Lab {
        name: "uring",
        question: "The same echo load on epoll and on io_uring: how many syscalls per echo, and what does strace still see?",
        source: "issue 18; UNP ch. 6 and 30 (the event loop), io_uring(7)",
        expected: "uring fewer syscalls per echo than epoll (both counts agree); strace sees only io_uring_enter",
        run: uring,
    }]
}

/// What one server's run showed.
struct Run {
    model: &'static str,
    echoes: u64,
    /// socklab's own count (its trace lines), per call name.
    own: BTreeMap<String, u64>,
    /// strace -c -f's count (None: no strace).
    strace: Option<BTreeMap<String, u64>>,
    /// `  sqe`/`  cqe` lines: the operations that went through the rings.
    sqes: u64,
    cqes: u64,
    /// The first io_uring_enter that reaped more than one CQE, with its lines.
    sample: Vec<String>,
    exit: Option<i32>,
}

impl Run {
    fn path(&self, counts: &BTreeMap<String, u64>) -> u64 {
        ECHO_PATH
            .iter()
            .map(|c| counts.get(*c).copied().unwrap_or(0))
            .sum()
    }

    fn per_echo(&self) -> f64 {
        self.path(&self.own) as f64 / self.echoes.max(1) as f64
    }

    fn all_per_echo(&self) -> f64 {
        self.own.values().sum::<u64>() as f64 / self.echoes.max(1) as f64
    }

    /// strace counted each echo-path call as often as socklab traced it.
    fn counts_agree(&self) -> bool {
        self.strace.as_ref().is_none_or(|st| {
            ECHO_PATH
                .iter()
                .all(|c| st.get(*c).copied().unwrap_or(0) == self.own.get(*c).copied().unwrap_or(0))
        })
    }

    fn shown(&self, counts: &BTreeMap<String, u64>) -> String {
        let mut parts: Vec<String> = ECHO_PATH
            .iter()
            .filter_map(|c| counts.get(*c).map(|n| format!("{c} {n}")))
            .collect();
        if parts.is_empty() {
            parts.push("none".into());
        }
        parts.join(", ")
    }
}

fn uring(ctx: &Ctx) -> Result<Verdict> {
    let exe = std::env::current_exe()
        .map_err(|e| Error::Runtime(format!("cannot find socklab's own binary: {e}")))?;
    let strace = Command::new("strace")
        .arg("-V")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    ctx.note(
        "lab",
        &format!(
            "each server: socklab --trace tcp server 127.0.0.1:0 -q --max-conns {CONNS} --model M{}; the load: socklab bench rr ADDR --conns {CONNS} --count {ECHOES} --size 1",
            if strace {
                ", under strace -f -c"
            } else {
                " (strace is not installed: socklab's count only)"
            }
        ),
    );
    let mut runs = Vec::new();
    for model in ["epoll", "uring"] {
        ctx.part(&format!("--model {model}"));
        let r = run_model(ctx, &exe, model, strace)?;
        report(ctx, &r);
        runs.push(r);
    }
    let (Some(e), Some(u)) = (runs.first(), runs.get(1)) else {
        return Err(Error::Runtime("a model did not run".into()));
    };
    let served = runs.iter().all(|r| r.echoes == ECHOES && r.exit == Some(0));
    let fewer = u.per_echo() < e.per_echo();
    let agree = e.counts_agree() && u.counts_agree();
    let hidden = u
        .strace
        .as_ref()
        .is_none_or(|st| !st.contains_key("recvfrom") && !st.contains_key("sendto"));
    let ring_ops = u.sqes + u.cqes >= 2 * ECHOES;
    let counted_by = if strace {
        "socklab's count and strace -c agree"
    } else {
        "socklab's count (no strace here)"
    };
    Ok(Verdict {
        pass: served && fewer && agree && hidden && ring_ops,
        observed: format!(
            "{} echoes each; epoll {:.2} syscalls per echo, uring {:.3} ({counted_by}{}); uring's {} sqe and {} cqe lines are not syscalls",
            u.echoes,
            e.per_echo(),
            u.per_echo(),
            if agree { "" } else { ": THEY DIFFER" },
            u.sqes,
            u.cqes
        ),
        why: "An epoll server makes a syscall for each step of each echo: epoll_wait says \
              which sockets are readable (one call for k ready connections), then recvfrom \
              and sendto per message: 2 + 1/k calls per echo. An io_uring server describes \
              the same work as entries in two rings it shares with the kernel: a multishot \
              RECV armed once per connection brings every message as a completion (CQE) \
              in a provided buffer, each reply is a SEND submission (SQE), and one \
              io_uring_enter per loop iteration submits every pending SQE and waits for the \
              next CQEs. With many connections busy at once, one enter carries dozens of \
              echoes. strace hooks the syscall boundary, so it sees the io_uring_enter calls \
              and nothing of the RECVs and SENDs that went through the rings: socklab's \
              --trace prints them as indented sqe/cqe lines under each enter."
            .into(),
    })
}

/// One server, its load, its counts.
fn run_model(ctx: &Ctx, exe: &std::path::Path, model: &'static str, strace: bool) -> Result<Run> {
    let conns = CONNS.to_string();
    let server_args = [
        "--trace",
        "tcp",
        "server",
        "127.0.0.1:0",
        "-q",
        "--max-conns",
        &conns,
        "--model",
        model,
    ];
    let mut cmd = if strace {
        let mut c = Command::new("strace");
        c.args(["-f", "-c", "--"]).arg(exe);
        c
    } else {
        Command::new(exe)
    };
    cmd.args(server_args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut server = cmd
        .spawn()
        .map_err(|e| Error::Runtime(format!("cannot start the server: {e}")))?;
    let stderr = server.stderr.take();
    let lines = std::thread::spawn(move || {
        stderr.map_or_else(Vec::new, |s| {
            BufReader::new(s)
                .lines()
                .map_while(|l| l.ok())
                .collect::<Vec<String>>()
        })
    });
    let addr = listening(&mut server);
    let Some(addr) = addr else {
        end(&mut server);
        return Err(Error::Runtime(format!("the {model} server did not start")));
    };
    ctx.note(
        "server",
        &format!("{model}: listening on {addr} (pid {})", server.id()),
    );
    let count = ECHOES.to_string();
    let load = Command::new(exe)
        .args([
            "bench", "rr", &addr, "--conns", &conns, "--count", &count, "--size", "1", "--json",
        ])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output();
    let echoes = load
        .ok()
        .and_then(|o| transactions(&String::from_utf8_lossy(&o.stdout)))
        .unwrap_or(0);
    let exit = end(&mut server);
    let lines = lines.join().unwrap_or_default();
    Ok(counted(model, echoes, exit, &lines, strace))
}

/// The server's first stdout line, `listening on ADDR`: its ADDR.
fn listening(server: &mut Child) -> Option<String> {
    let out = server.stdout.take()?;
    let mut line = String::new();
    BufReader::new(out).read_line(&mut line).ok()?;
    line.trim()
        .strip_prefix("listening on ")
        .map(str::to_string)
}

/// Wait (at most 10 s) for the server to end by itself (--max-conns);
/// else kill it (by its pid). Its exit code.
fn end(server: &mut Child) -> Option<i32> {
    let limit = Instant::now() + Duration::from_secs(10);
    loop {
        match server.try_wait() {
            Ok(Some(st)) => return st.code(),
            Ok(None) if Instant::now() < limit => std::thread::sleep(Duration::from_millis(5)),
            _ => {
                let _ = server.kill();
                return server.wait().ok().and_then(|s| s.code());
            }
        }
    }
}

/// `"transactions": N` from `socklab bench --json`.
fn transactions(json: &str) -> Option<u64> {
    let (_, rest) = json.split_once("\"transactions\":")?;
    let digits: String = rest
        .trim_start()
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    digits.parse().ok()
}

/// The counts from the server's stderr: socklab's trace lines (`NAME(...)
/// = ...`, and the indented ring lines), then strace -c's table.
fn counted(
    model: &'static str,
    echoes: u64,
    exit: Option<i32>,
    lines: &[String],
    strace: bool,
) -> Run {
    let mut r = Run {
        model,
        echoes,
        own: BTreeMap::new(),
        strace: strace.then(BTreeMap::new),
        sqes: 0,
        cqes: 0,
        sample: Vec::new(),
        exit,
    };
    let mut current: Vec<String> = Vec::new();
    for l in lines {
        if l.starts_with("  sqe ") {
            r.sqes += 1;
        } else if l.starts_with("  cqe ") {
            r.cqes += 1;
        } else if let Some((name, calls)) = strace_row(l) {
            if let Some(st) = r.strace.as_mut() {
                st.insert(name, calls);
            }
            continue;
        } else if let Some((name, _)) = l.split_once('(')
            && !name.is_empty()
            && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        {
            *r.own.entry(name.to_string()).or_default() += 1;
            if r.sample.is_empty() && current.iter().filter(|c| c.starts_with("  cqe ")).count() > 1
            {
                r.sample = std::mem::take(&mut current);
            }
            current.clear();
        }
        if l.starts_with("io_uring_enter(") || l.starts_with("  ") {
            current.push(l.clone());
        }
    }
    r
}

/// A row of strace -c's table: `% time, seconds, usecs/call, calls,
/// [errors,] syscall` → (syscall, calls).
fn strace_row(l: &str) -> Option<(String, u64)> {
    let f: Vec<&str> = l.split_whitespace().collect();
    let name = f.last()?;
    if !(5..=6).contains(&f.len()) || *name == "total" || name.contains('(') {
        return None;
    }
    let numeric = |s: &&str| s.chars().all(|c| c.is_ascii_digit() || c == '.');
    if !f.iter().take(f.len() - 1).all(numeric) {
        return None;
    }
    Some((name.to_string(), f.get(3)?.parse().ok()?))
}

/// The run's notes: both counts, and (uring) one enter with its ring lines.
fn report(ctx: &Ctx, r: &Run) {
    ctx.note(
        "load",
        &format!(
            "bench rr: {} of {ECHOES} echoes done; the server exited with {}",
            r.echoes,
            r.exit.map_or("a signal".into(), |c| c.to_string())
        ),
    );
    ctx.note(
        "count",
        &format!(
            "socklab's trace: {} calls in all ({:.2} per echo); echo path {} = {:.3} per echo",
            r.own.values().sum::<u64>(),
            r.all_per_echo(),
            r.shown(&r.own),
            r.per_echo()
        ),
    );
    if let Some(st) = &r.strace {
        ctx.note(
            "count",
            &format!(
                "strace -f -c: echo path {} (also the process's start and its trace writes: {} calls in all){}",
                r.shown(st),
                st.values().sum::<u64>(),
                if r.counts_agree() { "" } else { ": NOT socklab's count" }
            ),
        );
    }
    if r.model == "uring" {
        ctx.note(
            "count",
            &format!(
                "under the io_uring_enters, socklab printed {} sqe and {} cqe lines: operations strace does not see",
                r.sqes, r.cqes
            ),
        );
        for l in r.sample.iter().take(12) {
            ctx.note("trace", l);
        }
    }
}
