//! Rust against C: run one scenario with socklab and with its C twins
//! (`c_compat/bin/`), each under strace, and normalise the two traces so
//! that equal syscall sequences compare equal.
//!
//! Used by `programs::differential` (the proof, one test per scenario),
//! `programs::interop_c`, `sys::inject` and `make compare` (the table).
#![allow(dead_code, clippy::disallowed_types, clippy::disallowed_methods)]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod fixture;
mod normalize;
mod rules;
mod timeline;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use crate::harness::TempDir;
use fixture::run_side;
use normalize::Normalizer;
pub use rules::{KNOWN_DIFFERENCES, is_on_socket, is_program_call};
pub use timeline::{strace_calls, strace_calls_with, timeline_calls};

/// The syscalls the programs make, as strace's `-e trace=` set: `%net`
/// and the call table's rows of sockets, descriptors and files.
pub fn trace_set() -> &'static str {
    crate::harness::calls::trace_set()
}

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
            let mut cmd = Command::new(crate::harness::bin());
            cmd.args([family, role]);
            cmd
        }
        Side::C => Command::new(c_bin_dir().join(prog)),
    };
    cmd.args(args);
    cmd
}

/// `program` under `strace -f -qq -e signal=none -y -e trace=trace_set() -o trace`.
pub fn traced(side: Side, prog: &str, args: &[String], trace: &Path) -> Command {
    let inner = program(side, prog, args);
    let mut cmd = Command::new("strace");
    // cargo test sets LD_LIBRARY_PATH for its own binaries; the programs
    // need only the system's libraries, and the loader's search of each
    // directory in it would only lengthen the raw traces.
    cmd.env_remove("LD_LIBRARY_PATH");
    cmd.args(["-f", "-qq", "-e", "signal=none", "-y", "-e"])
        .arg(format!("trace={}", trace_set()))
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
