//! `socklab lab`: the tutorial's experiments (and UNP's) as self-checking runs.
//!
//! A lab starts both sides itself (threads in this process, or a child
//! process re-executing socklab for the `sigpipe` lab), on port 0, fresh
//! temporary paths or fresh abstract names; orders them by channels, never
//! by sleeps; bounds its own time with poll timeouts (and a watchdog here);
//! closes every socket and unlinks every socket file.
//!
//! Output: the question and the step it reproduces; the timeline of both
//! sides, one line per syscall exactly as strace prints it, tagged with the
//! side (`client | ...`), with `# ...` lines for what the lab looked at (the
//! TCP state from TCP_INFO, /proc/net/tcp, /proc/self/task/TID/syscall);
//! then what was observed and why; then `lab NAME: observed ... (expected
//! ...): PASS|FAIL`. `--json` gives the same as JSON Lines events, each
//! timeline event with its wall-clock `time` (so that a packet capture can
//! later be interleaved by time).
//!
//! Each side of a lab makes its calls through one [`Sys`] whose tracer is
//! the lab's timeline ([`Ctx::sys`]). The verdict is computed from what the
//! calls returned (values, errnos, counts, states), never written in.
//!
//! The seam for a packet source (`--wire`, issue 7): every timeline line
//! goes through one [`Out`] per run (syscall events from the shared
//! [`Tracer`], notes and parts from [`Ctx`]), and in `--json` each event
//! carries its wall-clock `time` (`SystemTime`, the clock pcap uses). A
//! capture started in [`run_one`] before the lab and stopped after it can be
//! merged into that stream by time, or written through the same `Out`.

mod basics;
mod modes;
mod more;
mod queues;
mod servers;
mod sticky;
mod teardown;

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::sys::socket::{AddressFamily, SockType};

use crate::inspect::tcp_state_name;
use crate::private_dir::PrivateDir;
use crate::strace::{Format, Tracer, json_str};
use crate::sys::{Socket, Sys};
use crate::values::addr::Addr;
use crate::values::error::{Error, Result};

pub use teardown::child_main;

/// The longest a lab may run before the watchdog declares it failed.
const LAB_LIMIT: Duration = Duration::from_secs(20);

/// One experiment.
pub struct Lab {
    pub name: &'static str,
    pub question: &'static str,
    /// The tutorial step or UNP program it reproduces.
    pub source: &'static str,
    pub expected: &'static str,
    run: fn(&Ctx) -> Result<Verdict>,
}

/// What a lab saw, and whether that is the phenomenon it is about.
pub struct Verdict {
    pub observed: String,
    pub pass: bool,
    pub why: String,
}

/// Every lab, in `lab list` order.
pub fn all() -> Vec<Lab> {
    let mut v = basics::labs();
    v.extend(servers::labs());
    v.extend(sticky::labs());
    v.extend(modes::labs());
    v.extend(queues::labs());
    v.extend(teardown::labs());
    v.extend(more::labs());
    v
}

/// `socklab lab list`.
pub fn list() -> Result<()> {
    let labs = all();
    let width = labs.iter().map(|l| l.name.len()).max().unwrap_or(0);
    for lab in &labs {
        crate::output::print_line(&format!("{:width$}  {}", lab.name, lab.question));
    }
    crate::output::print_line("");
    crate::output::print_line(
        "Run one: socklab lab NAME [--json]; all of them: socklab lab all [--json]",
    );
    Ok(())
}

/// `socklab lab NAME|all [--json]`: exit 0 only if every lab run observed
/// what it should (Error::Runtime with a summary otherwise, exit 1).
pub fn run(name: &str, json: bool, wire: &crate::wire::Options) -> Result<()> {
    let labs = all();
    let chosen: Vec<&Lab> = if name == "all" {
        labs.iter().collect()
    } else {
        match labs.iter().find(|l| l.name == name) {
            Some(l) => vec![l],
            None => {
                let names: Vec<&str> = labs.iter().map(|l| l.name).collect();
                return Err(Error::Usage(format!(
                    "no lab named '{name}'; labs: {}, all (see socklab lab list)",
                    names.join(", ")
                )));
            }
        }
    };
    if wire.pcap.is_some() && chosen.len() > 1 {
        return Err(Error::Usage(
            "--pcap writes one lab's packets: name one lab, not all".to_string(),
        ));
    }
    let out = Out::stdout();
    let mut results = Vec::new();
    for (i, lab) in chosen.iter().enumerate() {
        if i > 0 && !json {
            out.line("");
        }
        let (observed, pass) = run_one(lab, json, &out, wire)?;
        results.push((lab.name, lab.expected, observed, pass));
    }
    let failed = results.iter().filter(|r| !r.3).count();
    if chosen.len() > 1 {
        summary(&out, json, &results);
    }
    if failed > 0 {
        return Err(Error::Runtime(format!(
            "{failed} of {} labs did not observe what they should",
            results.len()
        )));
    }
    Ok(())
}

fn summary(out: &Out, json: bool, results: &[(&str, &str, String, bool)]) {
    let passed = results.iter().filter(|r| r.3).count();
    if json {
        out.line(&format!(
            "{{\"event\":\"summary\",\"passed\":{passed},\"total\":{}}}",
            results.len()
        ));
        return;
    }
    let w = results.iter().map(|r| r.0.len()).max().unwrap_or(3).max(3);
    out.line("");
    out.line("== summary ==");
    out.line(&format!(
        "{:w$}  {:6}  {:40}  observed",
        "lab", "result", "expected"
    ));
    for (name, expected, observed, pass) in results {
        out.line(&format!(
            "{name:w$}  {:6}  {:40}  {observed}",
            if *pass { "pass" } else { "FAIL" },
            cut(expected, 40)
        ));
    }
    out.line(&format!("{passed} of {} labs passed", results.len()));
}

fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(n - 1).collect();
        t.push('…');
        t
    }
}

/// Run one lab under the watchdog; print its header, timeline and verdict.
fn run_one(
    lab: &Lab,
    json: bool,
    out: &Out,
    wire: &crate::wire::Options,
) -> Result<(String, bool)> {
    if json {
        out.line(&format!(
            "{{\"time\":{:.6},\"lab\":{},\"event\":\"start\",\"question\":{},\"source\":{},\"expected\":{}}}",
            now(),
            json_str(lab.name),
            json_str(lab.question),
            json_str(lab.source),
            json_str(lab.expected)
        ));
    } else {
        out.line(&format!("== lab {}: {}", lab.name, lab.question));
        out.line(&format!("reproduces: {}", lab.source));
        out.line("");
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let run = lab.run;
    let mut ctx = Ctx::new(lab.name, json, out.clone());
    // --wire / --pcap: the lab's packets on its timeline (src/wire/).
    let mut capture = None;
    if wire.active() {
        let (tracer, timeline) = crate::wire::timeline(ctx.tracer.clone(), wire);
        ctx.tracer = tracer;
        let wire_sys = ctx.sys("wire");
        match crate::wire::start(&wire_sys, timeline, wire, &[]) {
            Ok(w) => capture = Some((w, wire_sys)),
            // No capture (EPERM without CAP_NET_RAW): the error, exit 1.
            Err(e) => return Err(e),
        }
    }
    let dir = Arc::clone(&ctx.dir);
    let quiet = ctx.quiet.clone();
    let worker = std::thread::spawn(move || {
        let r = run(&ctx);
        ctx.cleanup();
        let _ = tx.send(r);
    });
    let result = match rx.recv_timeout(LAB_LIMIT) {
        Ok(r) => r,
        Err(_) => {
            // A side is stuck in a call the lab did not bound: stop here, as
            // a hung lab must not hang `lab all`. The kernel closes the sockets.
            if let Ok(dir) = dir.lock()
                && let Some(dir) = dir.as_ref()
            {
                let _ = dir.remove(&quiet);
            }
            out.line(&format!(
                "lab {}: no verdict after {} s (a call blocked that should not have): FAIL",
                lab.name,
                LAB_LIMIT.as_secs()
            ));
            std::process::exit(1);
        }
    };
    let _ = worker.join();
    if let Some((w, wire_sys)) = capture
        && let Err(e) = w.stop(&wire_sys)
    {
        out.line(&format!("socklab: {e}"));
    }
    let verdict = match result {
        Ok(v) => v,
        Err(e) => Verdict {
            observed: format!("an unexpected failure: {e}"),
            pass: false,
            why: "The lab could not run to its end; the line above is the call that failed."
                .to_string(),
        },
    };
    let status = if verdict.pass { "PASS" } else { "FAIL" };
    if json {
        out.line(&format!(
            "{{\"time\":{:.6},\"lab\":{},\"event\":\"verdict\",\"observed\":{},\"expected\":{},\"why\":{},\"pass\":{}}}",
            now(),
            json_str(lab.name),
            json_str(&verdict.observed),
            json_str(lab.expected),
            json_str(&verdict.why),
            verdict.pass
        ));
    } else {
        out.line("");
        out.line(&format!("observed: {}", verdict.observed));
        out.line(&format!("why: {}", verdict.why));
        out.line(&format!(
            "lab {}: observed {} (expected {}): {status}",
            lab.name, verdict.observed, lab.expected
        ));
    }
    Ok((verdict.observed, verdict.pass))
}

fn now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs_f64()
}

/// The lab's output: stdout, one whole line at a time, shared by the
/// tracer (syscall lines) and the lab's own lines.
#[derive(Clone)]
pub struct Out(Arc<Mutex<Box<dyn Write + Send>>>);

impl Out {
    fn stdout() -> Out {
        Out(Arc::new(Mutex::new(Box::new(
            crate::strace::Output::stdout(),
        ))))
    }

    fn line(&self, text: &str) {
        let mut w = match self.0.lock() {
            Ok(w) => w,
            Err(p) => p.into_inner(),
        };
        crate::strace::write_line(&mut **w, text);
    }
}

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.lock() {
            Ok(mut w) => w.write(buf),
            Err(p) => p.into_inner().write(buf),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.lock() {
            Ok(mut w) => w.flush(),
            Err(p) => p.into_inner().flush(),
        }
    }
}

/// In `--json` mode, the tracer's sink: syscall events pass through; a
/// program's output line (`server > text`, e.g. from the line buffer)
/// becomes a `say` event, so that every line is JSON.
struct JsonLines {
    lab: &'static str,
    out: Out,
    pending: Vec<u8>,
}

impl JsonLines {
    fn new(lab: &'static str, out: Out) -> JsonLines {
        JsonLines {
            lab,
            out,
            pending: Vec::new(),
        }
    }
}

impl Write for JsonLines {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.pending.extend_from_slice(buf);
        while let Some(end) = self.pending.iter().position(|&b| b == b'\n') {
            let line: Vec<u8> = self.pending.drain(..=end).collect();
            let line = String::from_utf8_lossy(&line[..end]).into_owned();
            if line.starts_with('{') {
                self.out.line(&line);
            } else {
                let (side, text) = match line.split_once(" > ") {
                    Some((side, text)) => (side.trim(), text),
                    None => ("", line.as_str()),
                };
                self.out.line(&format!(
                    "{{\"time\":{:.6},\"lab\":{},\"event\":\"say\",\"side\":{},\"text\":{}}}",
                    now(),
                    json_str(self.lab),
                    json_str(side),
                    json_str(text)
                ));
            }
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What a lab gets: one traced `Sys` per side, notes on the timeline, a
/// private temporary directory.
pub struct Ctx {
    name: &'static str,
    json: bool,
    out: Out,
    tracer: Tracer,
    quiet: Sys,
    /// The private directory, made on first use ([`Ctx::dir`]).
    dir: Arc<Mutex<Option<PrivateDir>>>,
}

impl Ctx {
    fn new(name: &'static str, json: bool, out: Out) -> Ctx {
        let (format, sink): (Format, Box<dyn Write + Send>) = if json {
            (Format::Json, Box::new(JsonLines::new(name, out.clone())))
        } else {
            (Format::Text, Box::new(out.clone()))
        };
        let tracer = Tracer::shared(format, sink);
        Ctx {
            name,
            json,
            out,
            tracer,
            quiet: Sys::new(Tracer::new(Format::Off, Box::new(std::io::sink()))),
            dir: Arc::new(Mutex::new(None)),
        }
    }

    /// The syscall layer of one side: every call it makes is a timeline line.
    pub fn sys(&self, side: &'static str) -> Sys {
        Sys::new(self.tracer.with_side(side))
    }

    /// The program output of one side, on the same timeline.
    pub fn output(&self, side: &'static str) -> crate::output::Output {
        crate::output::Output::new(self.tracer.with_side(side))
    }

    /// An untraced layer for what the lab only looks at (TCP_INFO) or for
    /// long loops the lab summarises in a note instead.
    pub fn quiet(&self) -> &Sys {
        &self.quiet
    }

    /// A `# text` line on the timeline, on behalf of `side`.
    pub fn note(&self, side: &str, text: &str) {
        if self.json {
            self.out.line(&format!(
                "{{\"time\":{:.6},\"lab\":{},\"event\":\"note\",\"side\":{},\"text\":{}}}",
                now(),
                json_str(self.name),
                json_str(side),
                json_str(text)
            ));
        } else {
            self.line(&format!("{side:>6} | # {text}"));
        }
    }

    /// A heading inside the timeline (`-- with Nagle off --`).
    pub fn part(&self, title: &str) {
        if self.json {
            self.out.line(&format!(
                "{{\"time\":{:.6},\"lab\":{},\"event\":\"part\",\"title\":{}}}",
                now(),
                json_str(self.name),
                json_str(title)
            ));
        } else {
            self.line(&format!("-- {title} --"));
        }
    }

    /// A line among the syscall lines: through the `--wire` timeline when
    /// there is one (it prints in time order), else straight out.
    fn line(&self, text: &str) {
        match self.tracer.timeline() {
            Some(t) => t.note(SystemTime::now(), text.to_string()),
            None => self.out.line(text),
        }
    }

    /// The TCP state of `s` as the kernel reports it (getsockopt TCP_INFO,
    /// untraced), noted on the timeline.
    pub fn show_state(&self, side: &str, s: Socket) -> String {
        let state = self.state(s);
        self.note(side, &format!("fd {s} is {state} (TCP_INFO)"));
        state
    }

    pub fn state(&self, s: Socket) -> String {
        self.quiet
            .tcp_info(s)
            .map_or("?".into(), |i| tcp_state_name(i.tcpi_state).to_string())
    }

    /// The lab's private directory, made on first use by the `lab` side
    /// (src/private_dir.rs: a random name, mode 0700, never reused): its
    /// path.
    pub fn dir(&self) -> Result<PathBuf> {
        let mut dir = self
            .dir
            .lock()
            .map_err(|_| Error::Runtime("lab directory lock".into()))?;
        if dir.is_none() {
            *dir = Some(PrivateDir::create(&self.sys("lab"), "socklab-lab")?);
        }
        Ok(dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    }

    /// Run `f` on the private directory (made by [`Ctx::dir`] before).
    fn with_dir<T>(&self, f: impl FnOnce(&PrivateDir) -> Result<T>) -> Result<T> {
        match self.dir.lock().as_deref() {
            Ok(Some(d)) => f(d),
            _ => Err(Error::Runtime("the lab's directory is not made yet".into())),
        }
    }

    /// Record `name`, a socket file the lab has just bound in its
    /// directory (untraced `newfstatat`: its inode), so that cleanup may
    /// remove it and nothing else.
    pub fn made(&self, name: &str) -> Result<()> {
        self.with_dir(|d| d.made(&self.quiet, name))
    }

    /// Change the mode of `name`, a file the lab made in its directory:
    /// `newfstatat(DIR, NAME)` (still that inode, not a link), then
    /// `fchmodat(DIR, NAME, MODE)`, on `side`'s timeline.
    pub fn chmod(&self, side: &'static str, name: &str, mode: libc::mode_t) -> Result<()> {
        self.with_dir(|d| d.chmod(&self.sys(side), name, mode))
    }

    /// `fchmod(DIR, MODE)` of the lab's directory, on `side`'s timeline.
    pub fn chmod_dir(&self, side: &'static str, mode: libc::mode_t) -> Result<()> {
        self.with_dir(|d| d.set_mode(&self.sys(side), mode))
    }

    /// Remove the private directory (untraced): the socket files the lab
    /// made and left (a failed lab), each checked by inode, then the
    /// directory itself.
    fn cleanup(&self) {
        if let Ok(mut dir) = self.dir.lock()
            && let Some(d) = dir.take()
        {
            let _ = d.remove(&self.quiet);
        }
    }
}

/// `127.0.0.1:0`.
pub fn loopback() -> Addr {
    any_port("127.0.0.1")
}

fn any_port(host: &str) -> Addr {
    match Addr::parse_inet(&format!("{host}:0")) {
        Ok(a) => a,
        Err(_) => Addr::unix_autobind(),
    }
}

/// The port of an inet address.
pub fn port(a: &Addr) -> u16 {
    a.to_string()
        .rsplit(':')
        .next()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0)
}

pub fn with_port(port: u16) -> Result<Addr> {
    Addr::parse_inet(&format!("127.0.0.1:{port}")).map_err(Error::Runtime)
}

/// socket, bind 127.0.0.1:0, listen(backlog), getsockname: a TCP listener.
pub fn listener(sys: &Sys, backlog: i32) -> Result<(Socket, Addr)> {
    let s = sys.socket(AddressFamily::Inet, SockType::Stream)?;
    sys.bind(s, &loopback())?;
    sys.listen(s, backlog)?;
    let a = sys.getsockname(s)?;
    Ok((s, a))
}

/// socket, connect: a blocking TCP client.
pub fn dial(sys: &Sys, to: &Addr) -> Result<Socket> {
    let s = sys.socket(AddressFamily::Inet, SockType::Stream)?;
    sys.connect(s, to)?;
    Ok(s)
}

/// The errno name of a failed call, or `Ok` / the error's text.
pub fn outcome<T>(r: &Result<T>) -> String {
    match r {
        Ok(_) => "success".to_string(),
        Err(e) => match e.errno() {
            Some(errno) => format!("{errno:?}"),
            None => e.to_string(),
        },
    }
}

/// The kernel thread id of the calling thread (for [`blocked_in`]).
pub fn gettid() -> i32 {
    nix::unistd::gettid().as_raw()
}

/// The syscall thread `tid` of this process is blocked in, from
/// /proc/self/task/TID/syscall (its first field is the syscall number).
pub fn syscall_of(tid: i32) -> Option<&'static str> {
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    let nr: i64 = text.split_whitespace().next()?.parse().ok()?;
    let names = [
        (libc::SYS_recvfrom, "recvfrom"),
        (libc::SYS_accept4, "accept4"),
        (libc::SYS_connect, "connect"),
        (libc::SYS_poll, "poll"),
        (libc::SYS_sendto, "sendto"),
    ];
    names
        .iter()
        .find(|(n, _)| *n == nr)
        .map(|(_, name)| *name)
        .or(Some("another syscall"))
}

/// Wait (up to `limit`, looking every millisecond) until thread `tid` is
/// blocked in `call`: an observation of where a side waits, not an ordering.
pub fn wait_blocked(tid: i32, call: &str, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if syscall_of(tid) == Some(call) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// Upper-case, as the tutorial's server answers.
pub fn upper(b: &[u8]) -> Vec<u8> {
    b.to_ascii_uppercase()
}

pub fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// A connected TCP pair in one thread: listener (backlog 5), a blocking
/// connect (the kernel completes it without accept), accept4.
/// Returns (listener, client socket, accepted socket).
pub fn pair(cs: &Sys, ss: &Sys) -> Result<(Socket, Socket, Socket)> {
    let (l, addr) = listener(ss, 5)?;
    let c = dial(cs, &addr)?;
    let (conn, _) = ss.accept4(l)?;
    Ok((l, c, conn))
}

/// setsockopt by name with a value in `--sockopt` syntax (`1`, `on:0`, `2.0`).
pub fn setopt(sys: &Sys, s: Socket, name: &str, value: &str) -> Result<()> {
    let opt = crate::values::sockopt::lookup(name)
        .ok_or_else(|| Error::Runtime(format!("unknown option {name}")))?;
    let v = crate::values::sockopt::parse_value(opt.kind, value).map_err(Error::Runtime)?;
    sys.setsockopt(s, &opt, &v)
}

/// getsockopt of an int option by name.
pub fn getopt(sys: &Sys, s: Socket, name: &str) -> Result<i32> {
    let opt = crate::values::sockopt::lookup(name)
        .ok_or_else(|| Error::Runtime(format!("unknown option {name}")))?;
    Ok(sys.getsockopt(s, &opt)?.as_int().unwrap_or(0))
}

/// Look at a value until `done` says it settled, for up to `limit` (loopback
/// packets are usually processed before the sending call returns, but a
/// loaded machine may defer them to ksoftirqd): an observation, not an
/// ordering. Returns the last value seen.
pub fn settle<T>(limit: Duration, mut look: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let end = Instant::now() + limit;
    loop {
        let v = look();
        if done(&v) || Instant::now() >= end {
            return v;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A listener's accept queue length (TCP_INFO's tcpi_unacked), untraced.
pub fn accept_queue(ctx: &Ctx, l: Socket) -> u32 {
    ctx.quiet().tcp_info(l).map_or(0, |i| i.tcpi_unacked)
}
