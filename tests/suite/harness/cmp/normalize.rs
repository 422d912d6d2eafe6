//! The normalisation rules that make equal syscall sequences compare equal.

use std::collections::HashMap;

use super::rules::*;
use super::*;

/// The normalisation rules. Each one removes a difference that is not a
/// difference in what the program asked the kernel to do.
pub(super) struct Normalizer {
    /// Run-specific strings (temp dir, abstract names) and their stand-ins.
    pub(super) vars: Vec<(String, String)>,
    pub(super) fds: HashMap<String, String>,
    pub(super) ports: HashMap<String, String>,
    pub(super) autobinds: HashMap<String, String>,
}

impl Normalizer {
    pub(super) fn new(vars: &HashMap<&'static str, String>) -> Normalizer {
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

    pub(super) fn apply(&mut self, runs: &mut [Run]) {
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
    pub(super) fn trace_line(&mut self, raw: &str) -> Option<String> {
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
        Some(self.call_line(line))
    }

    /// Rules 3-15 on one of the program's calls (also a timeline's line
    /// without its actor tag: `timeline.rs`).
    pub(super) fn call_line(&mut self, line: &str) -> String {
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
        self.text(&line)
    }

    /// Rules shared by trace lines and stdout.
    pub(super) fn text(&mut self, line: &str) -> String {
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

    pub(super) fn fd_numbers(&mut self, line: &str) -> String {
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

    pub(super) fn fd_name(&mut self, fd: &str) -> String {
        let next = format!("FD{}", self.fds.len() + 1);
        self.fds.entry(fd.to_string()).or_insert(next).clone()
    }

    pub(super) fn ports_in(&mut self, line: &str) -> String {
        // In traces: htons(N); in stdout: `127.0.0.1:N`, `0.0.0.0:N`, `]:N`.
        let mut out = replace_all(line, "htons(", |rest| {
            let n = rest.bytes().take_while(u8::is_ascii_digit).count();
            (n > 0 && &rest[..n] != "0").then(|| (self.port_name(&rest[..n]), n))
        });
        for prefix in ["127.0.0.1:", "0.0.0.0:", "]:"] {
            out = replace_all(&out, prefix, |rest| {
                let n = rest.bytes().take_while(u8::is_ascii_digit).count();
                (n > 0 && &rest[..n] != "0").then(|| (self.port_name(&rest[..n]), n))
            });
        }
        out
    }

    pub(super) fn port_name(&mut self, port: &str) -> String {
        let next = format!("PORT{}", self.ports.len() + 1);
        self.ports.entry(port.to_string()).or_insert(next).clone()
    }

    pub(super) fn autobinds_in(&mut self, line: &str) -> String {
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
