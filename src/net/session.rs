//! `net up`, `down`, `show`, `set`, `exec`, `run`, and the forwarder's
//! entry (`net __forward`).

use std::io::{BufRead, BufReader};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::Signal;

use super::forward::Forwarder;
use super::spec::Link;
use super::{Names, control, hosts, need_root, quiet_sys};
use crate::sys::untraced;
use crate::sys::{Sys, signals};
use crate::values::error::{Error, Result};

/// What `up` and `run` take besides the name.
#[derive(Clone, Debug, Default)]
pub struct UpOptions {
    pub link: String,
    pub sysctls: Vec<String>,
    pub wire: bool,
    /// With `wire`: the forwarder's lines to a pipe (the child's stdout)
    /// for the caller to read, not to our stdout (a lab's timeline).
    pub wire_piped: bool,
    pub pcap: Option<PathBuf>,
}

/// Remove what a network left: namespaces, control socket, directory.
/// The namespaces only with the state directory that says socklab made
/// them: `N-a`/`N-b` without it may be someone else's.
fn clean(sys: &Sys, names: &Names) -> Result<Vec<String>> {
    let state = PathBuf::from(format!("/run/socklab/{}", names.name));
    if !matches!(sys.newfstatat(&state), Ok(Some(_))) {
        return Ok(Vec::new());
    }
    let mut gone = hosts::delete_namespaces(sys, names)?;
    gone.extend(hosts::remove_state_dir(sys, names)?);
    Ok(gone)
}

/// The state directory, made anew; a dead network's leftovers cleaned.
fn claim(sys: &Sys, names: &Names) -> Result<()> {
    if hosts::make_state_dir(sys, names)? {
        if hosts::exists(sys, &names.a) || hosts::exists(sys, &names.b) {
            // No state directory: not a network socklab left; leave them.
            hosts::remove_state_dir(sys, names)?;
            return Err(Error::Runtime(format!(
                "namespaces {} / {} exist and socklab has no record of making them: \
                 hint: pick another --name, or remove them yourself (ip netns del {})",
                names.a, names.b, names.a
            )));
        }
        return Ok(());
    }
    if control::request(names, "show")?.is_some() {
        return Err(Error::Runtime(format!(
            "network '{}' is already up (socklab net show, socklab net down)",
            names.name
        )));
    }
    eprintln!(
        "socklab: network '{}' was left by a forwarder that died: cleaning it up",
        names.name
    );
    clean(sys, names)?;
    if !hosts::make_state_dir(sys, names)? {
        return Err(Error::Runtime(format!(
            "/run/socklab/{} is still there after cleaning",
            names.name
        )));
    }
    Ok(())
}

/// Up: namespaces, forwarder (its child handle), addresses. On a
/// failure, what was made is removed.
pub fn start(names: &Names, o: &UpOptions) -> Result<Child> {
    need_root()?;
    Link::parse(&o.link)?;
    let sys = quiet_sys();
    claim(&sys, names)?;
    let started = hosts::add_namespaces(names).and_then(|()| spawn(names, o));
    let (child, taps) = match started {
        Ok(c) => c,
        Err(e) => {
            let _ = clean(&sys, names);
            return Err(e);
        }
    };
    if let Err(e) = hosts::configure(names, &taps, &o.sysctls) {
        let _ = stop(&sys, names, Some(child));
        return Err(e);
    }
    Ok(child)
}

/// Start the forwarder and wait for its `ready TAP_A TAP_B` line on
/// stderr (or its error, which becomes ours): the child and the names
/// of the taps it made in the root namespace.
fn spawn(names: &Names, o: &UpOptions) -> Result<(Child, [String; 2])> {
    let mut cmd = Command::new("/proc/self/exe");
    cmd.args(["net", "__forward", "--name", &names.name, "--link", &o.link]);
    if o.wire {
        cmd.arg("--wire");
    }
    if let Some(p) = &o.pcap {
        cmd.arg("--pcap").arg(p);
    }
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(if o.wire && o.wire_piped {
            Stdio::piped()
        } else if o.wire {
            Stdio::inherit()
        } else {
            Stdio::null()
        })
        .stderr(Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| Error::Runtime(format!("cannot start the forwarder: {e}")))?;
    let mut said = String::new();
    if let Some(err) = child.stderr.take() {
        for line in BufReader::new(err).lines() {
            let line = line.unwrap_or_default();
            let mut words = line.split(' ');
            if words.next() == Some("ready")
                && let (Some(a), Some(b), None) = (words.next(), words.next(), words.next())
            {
                return Ok((child, [a.to_string(), b.to_string()]));
            }
            said = line;
        }
    }
    let _ = child.wait();
    Err(Error::Runtime(format!(
        "the forwarder failed: {}",
        said.trim_start_matches("socklab: ")
    )))
}

/// Stop the forwarder (by its control socket; by SIGKILL if it does not
/// go within 3 s), then remove the namespaces and the state.
pub fn stop(sys: &Sys, names: &Names, child: Option<Child>) -> Result<Vec<String>> {
    let mut gone = Vec::new();
    if let Some((_, pid)) = control::request(names, "stop")? {
        let proc_dir = PathBuf::from(format!("/proc/{pid}"));
        let deadline = Instant::now() + Duration::from_secs(3);
        match child {
            Some(mut c) => {
                let _ = c.wait();
            }
            None => {
                while pid > 0 && matches!(sys.newfstatat(&proc_dir), Ok(Some(_))) {
                    if Instant::now() > deadline {
                        sys.kill(pid, Signal::SIGKILL)?;
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
        gone.push(format!("forwarder pid {pid} (and the hosts' eth0)"));
    } else if let Some(mut c) = child {
        // Ours, and it does not answer: it goes anyway.
        let _ = c.kill();
        let _ = c.wait();
        gone.push(format!("forwarder pid {} (killed)", c.id()));
    }
    gone.extend(clean(sys, names)?);
    Ok(gone)
}

/// The networks labs made (`labPID`) whose lab process is gone: a lab
/// killed (SIGKILL: a watchdog's, the OOM killer's) could not take its
/// network down, and no later `up` uses its name. Each is stopped and
/// removed, said on stderr; a live lab's is left alone (its pid is alive).
/// Best effort: another lab may be sweeping the same one (its forwarder
/// gone mid-request), and that must not fail this lab.
pub fn sweep_dead_labs(own: &Names) {
    let sys = quiet_sys();
    for name in untraced::dir_names(Path::new("/run/socklab")) {
        let Some(pid) = name.strip_prefix("lab").and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        if name == own.name || !untraced::process_gone(pid) {
            continue;
        }
        let Ok(names) = Names::new(Some(&name)) else {
            continue;
        };
        // A forwarder whose lab is gone may die answering (its stdout,
        // the lab's pipe, is closed): then the second try finds no one.
        match stop(&sys, &names, None).or_else(|_| stop(&sys, &names, None)) {
            Ok(gone) if !gone.is_empty() => eprintln!(
                "socklab: network '{name}' was left by lab process {pid}, which is gone: removed {}",
                gone.join(", ")
            ),
            Ok(_) => {}
            Err(e) => eprintln!(
                "socklab: network '{name}' was left by lab process {pid}, which is gone; removing it: {e}"
            ),
        }
    }
}

pub fn up(name: Option<&str>, o: &UpOptions) -> Result<()> {
    let names = Names::new(name)?;
    let child = start(&names, o)?;
    println!(
        "network {} up: host a = netns {} (192.0.2.1, 2001:db8::1), host b = netns {} (192.0.2.2, 2001:db8::2), forwarder pid {}",
        names.name,
        names.a,
        names.b,
        child.id()
    );
    Ok(())
}

pub fn down(name: Option<&str>) -> Result<()> {
    let names = Names::new(name)?;
    need_root()?;
    let sys = quiet_sys();
    // A forwarder whose parent is gone may die answering the stop (its
    // stdout closed): then a second try finds no one and cleans up.
    let gone = stop(&sys, &names, None).or_else(|_| stop(&sys, &names, None))?;
    if gone.is_empty() {
        return Err(Error::Runtime(format!(
            "no network '{}' to take down",
            names.name
        )));
    }
    println!("removed: {}", gone.join(", "));
    Ok(())
}

fn ask(name: Option<&str>, req: &str) -> Result<()> {
    let names = Names::new(name)?;
    need_root()?;
    match control::request(&names, req)? {
        Some((text, _)) => {
            print!("{text}");
            Ok(())
        }
        None => Err(Error::Runtime(format!(
            "network '{}' is not up (socklab net up --name {})",
            names.name, names.name
        ))),
    }
}

pub fn show(name: Option<&str>) -> Result<()> {
    ask(name, "show")
}

pub fn set(name: Option<&str>, spec: &str) -> Result<()> {
    Link::parse(spec)?;
    ask(name, &format!("set {spec}"))
}

/// `ip netns exec NS CMD...`, in place of this process.
pub fn exec(name: Option<&str>, host: &str, cmd: &[String]) -> Result<()> {
    let names = Names::new(name)?;
    let ns = names.host(host)?;
    need_root()?;
    if !hosts::exists(&quiet_sys(), ns) {
        return Err(Error::Runtime(format!(
            "no host {host}: network '{}' is not up (socklab net up)",
            names.name
        )));
    }
    let e = Command::new("ip")
        .args(["netns", "exec", ns])
        .args(cmd)
        .exec();
    Err(Error::Runtime(format!("ip netns exec {ns}: {e}")))
}

/// Up, CMD_A in host a and CMD_B in host b, wait for both, down. A stop
/// signal (SIGINT, SIGTERM) ends both programs and still takes the
/// network down. Exit: 1 if either program failed.
pub fn run(name: Option<&str>, o: &UpOptions, cmds: &[String]) -> Result<()> {
    let names = Names::new(name)?;
    let mut parts = cmds.split(|c| c == ":::");
    let (a, b) = (parts.next().unwrap_or(&[]), parts.next().unwrap_or(&[]));
    if a.is_empty() || b.is_empty() || parts.next().is_some() {
        return Err(Error::Usage(
            "net run -- CMD_A ::: CMD_B (one command for each host)".to_string(),
        ));
    }
    let sys = quiet_sys();
    signals::catch_stop_signals(&sys)?;
    let forwarder = start(&names, o)?;
    let outcome = both(&names, a, b);
    // sys refuses blocking calls while a stop signal is pending: the
    // signal is kept aside until the network is down.
    let signal = signals::pending();
    signals::clear();
    stop(&sys, &names, Some(forwarder))?;
    let failed = outcome?;
    if let Some(sig) = signal {
        return Err(Error::Signal(sig));
    }
    match failed {
        Some(what) => Err(Error::Runtime(what)),
        None => Ok(()),
    }
}

/// Run both programs to their end (or to a stop signal); which failed.
fn both(names: &Names, a: &[String], b: &[String]) -> Result<Option<String>> {
    let spawn = |ns: &str, cmd: &[String]| {
        Command::new("ip")
            .args(["netns", "exec", ns])
            .args(cmd)
            .stdin(Stdio::null())
            .spawn()
            .map_err(|e| Error::Runtime(format!("ip netns exec {ns}: {e}")))
    };
    let mut kids = vec![("A", spawn(&names.a, a)?)];
    match spawn(&names.b, b) {
        Ok(c) => kids.push(("B", c)),
        Err(e) => {
            for (_, k) in kids.iter_mut() {
                let _ = k.kill();
                let _ = k.wait();
            }
            return Err(e);
        }
    }
    let mut failed = Vec::new();
    let mut done = [false, false];
    while done.iter().any(|d| !d) {
        if signals::pending().is_some() {
            for (i, (_, k)) in kids.iter_mut().enumerate() {
                if !done[i] {
                    let _ = k.kill();
                }
            }
        }
        for (i, (which, k)) in kids.iter_mut().enumerate() {
            if done[i] {
                continue;
            }
            if let Some(st) = k.try_wait().map_err(|e| Error::Runtime(e.to_string()))? {
                done[i] = true;
                if !st.success() {
                    failed.push(format!("CMD_{which} {st}"));
                }
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Ok((!failed.is_empty()).then(|| failed.join(", ")))
}

/// `net __forward`: the forwarder process (stderr `ready TAP_A TAP_B`
/// once the taps and the control socket are made; nothing on stderr
/// afterwards).
pub fn forward_main(name: &str, link: &str, wire: bool, pcap: Option<&Path>) -> Result<()> {
    let names = Names::new(Some(name))?;
    let link = Link::parse(link)?;
    let mut f = Forwarder::start(names, link, wire, pcap.map(Path::to_path_buf))?;
    eprintln!("ready {} {}", f.tap_names[0], f.tap_names[1]);
    f.run()
}
