//! A lab's child process: socklab re-executed with the hidden
//! `__lab-child` subcommand (`lab::child_main`), its timeline relayed.

use std::io::{BufRead, BufReader};
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::ctx::Ctx;
use crate::values::error::{Error, Result};

/// How a child process ended (its exit code; None: killed).
pub struct ChildEnd {
    pub code: Option<i32>,
}

/// Re-execute socklab (`/proc/self/exe`) with the hidden `__lab-child`
/// subcommand; relay its timeline lines; report how it ended. Bounded:
/// killed (by its pid) after 10 s. `uid`: the user it runs as.
pub fn run_child_as(ctx: &Ctx, args: &[&str], uid: Option<u32>) -> Result<ChildEnd> {
    use std::os::unix::process::CommandExt;
    // `/proc/self/exe` itself, not the path it names (`current_exe`): the
    // kernel follows this link straight to the binary, so a child that runs
    // as user nobody can exec socklab from a directory nobody cannot search
    // (root's `~/.cargo/bin` under a 0700 `/root`).
    let mut cmd = Command::new("/proc/self/exe");
    cmd.arg("__lab-child").args(args);
    if ctx.json {
        cmd.arg("--json");
    }
    if let Some(uid) = uid {
        cmd.uid(uid).gid(uid);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| Error::Runtime(format!("cannot start the child process: {e}")))?;
    let pid = child.id();
    ctx.note("lab", &format!("started child process {pid}"));
    let stdout = child.stdout.take();
    let out = ctx.out.clone();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        if let Some(s) = stdout {
            for line in BufReader::new(s).lines().map_while(|l| l.ok()) {
                out.line(&line);
                lines.push(line);
            }
        }
        lines
    });
    let end = Instant::now() + Duration::from_secs(10);
    let status = loop {
        match child.try_wait() {
            Ok(Some(st)) => break st,
            Ok(None) if Instant::now() < end => std::thread::sleep(Duration::from_millis(2)),
            Ok(None) => {
                let _ = child.kill();
                break child
                    .wait()
                    .map_err(|e| Error::Runtime(format!("wait: {e}")))?;
            }
            Err(e) => return Err(Error::Runtime(format!("wait: {e}"))),
        }
    };
    let _ = reader.join();
    let how = match (status.code(), status.signal()) {
        (Some(c), _) => format!("exited with status {c}"),
        (None, Some(s)) => format!(
            "was killed by signal {s} ({})",
            crate::values::xlat::signal_name(s)
        ),
        _ => "ended".into(),
    };
    ctx.note("lab", &format!("child process {pid} {how} (waitpid)"));
    Ok(ChildEnd {
        code: status.code(),
    })
}
