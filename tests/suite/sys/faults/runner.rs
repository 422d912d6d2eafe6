//! Running one fault scenario under strace with an injected errno, and what is checked.

use super::*;
use crate::harness;
use crate::harness::cmp;
use socklab::values::calls;

/// How one run of a scenario went.
pub(super) struct Ran {
    pub(super) prog: Outcome,
    /// The clients' outcomes (servers' scenarios only).
    pub(super) clients: Vec<Outcome>,
    /// The UNIX server's path, to check it is gone.
    pub(super) path: Option<String>,
}

pub(super) fn subst(args: &[&str], addr: &str, path: &str) -> Vec<String> {
    args.iter()
        .map(|a| a.replace("{ADDR}", addr).replace("{PATH}", path))
        .collect()
}

pub(super) fn strace(prog_args: &[String], strace_args: &[String]) -> Command {
    let mut cmd = Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH")
        .args(["-f", "-qq", "-e", "signal=none"])
        .args(strace_args)
        .arg(harness::bin())
        .args(prog_args);
    cmd
}

/// Run the scenario with `strace STRACE_ARGS`; `short[i]`: client i's
/// reply may never come (a datagram server that failed, or lost it), so it
/// gives up after 1 s instead of 10.
pub(super) fn run(sc: &Scenario, strace_args: &[String], short: [bool; 2]) -> Ran {
    let dir = TempDir::new("faults");
    let path = dir.path("s.sock");
    match sc.role {
        Role::Table => Ran {
            prog: harness::run(strace(&subst(sc.args, "", &path), strace_args), b""),
            clients: vec![],
            path: None,
        },
        Role::Client => {
            let partner_args = subst(sc.partner, "", &path);
            let partner_args: Vec<&str> = partner_args.iter().map(String::as_str).collect();
            let partner = Server::start(&partner_args);
            let args = subst(sc.args, &partner.addr, &path);
            let prog = harness::run(strace(&args, strace_args), b"");
            drop(partner);
            Ran {
                prog,
                clients: vec![],
                path: None,
            }
        }
        Role::StreamServer | Role::EventServer | Role::DgramServer => {
            let args = subst(sc.args, "", &path);
            let mut cmd = strace(&args, strace_args);
            cmd.stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped());
            let mut child = cmd.spawn().unwrap();
            let stdout = child.stdout.take().unwrap();
            let (tx, rx) = mpsc::channel();
            std::thread::spawn(move || {
                let mut all = String::new();
                let mut told = false;
                for line in BufReader::new(stdout).lines() {
                    let Ok(line) = line else { break };
                    if !told && let Some(a) = line.strip_prefix("listening on ") {
                        let _ = tx.send(Some(a.to_string()));
                        told = true;
                    }
                    all.push_str(&line);
                    all.push('\n');
                }
                if !told {
                    let _ = tx.send(None);
                }
                let _ = tx.send(Some(all));
            });
            let listening = rx
                .recv_timeout(WATCHDOG)
                .expect("server: listening or exit");
            let mut clients = vec![];
            if let Some(addr) = &listening {
                let (family, dgram) = match sc.args[0] {
                    "unix" => ("unix", sc.role == Role::DgramServer),
                    fam => (fam, false),
                };
                for (i, msg) in ["hello", "again"].iter().enumerate() {
                    let mut c = socklab(&[family, "client", addr, "-m", msg]);
                    if dgram {
                        c.arg("--dgram");
                    }
                    // A stream client waits for the server's close at worst;
                    // a datagram whose reply is lost needs a timeout.
                    let t = if short[i] { "1" } else { "10" };
                    if sc.role == Role::DgramServer || listening.is_none() {
                        c.args(["--timeout", t]);
                    }
                    clients.push(harness::run(c, b""));
                }
            }
            let mut prog = harness::finish(child);
            let rest = rx.recv_timeout(WATCHDOG).ok().flatten().unwrap_or_default();
            prog.stdout = rest + &prog.stdout;
            Ran {
                prog,
                clients,
                path: sc.unix.then_some(path),
            }
        }
    }
}

/// One of the program's own calls: its name, the fd it is on (-1 for
/// socket() and path calls), and which invocation of that syscall it is.
#[derive(Debug, Clone)]
pub(super) struct Own {
    pub(super) call: String,
    pub(super) fd: i32,
    pub(super) when: usize,
}

/// The dry run: the program's own calls, the first of each (call, fd).
pub(super) fn own_calls(sc: &Scenario) -> Vec<Own> {
    let dir = TempDir::new("faults-dry");
    let log = dir.path("trace");
    let ran = run(sc, &["-y".into(), "-o".into(), log.clone()], [false, false]);
    ran.prog.assert_ok();
    let raw = std::fs::read_to_string(&log).unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut firsts: Vec<Own> = vec![];
    let mut conns: Vec<i32> = vec![];
    for line in raw.lines() {
        let line = line
            .trim_start_matches(|ch: char| ch.is_ascii_digit())
            .trim_start();
        let Some((call, rest)) = line.split_once('(') else {
            continue;
        };
        if call.is_empty() || !call.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
            continue;
        }
        let n = seen.entry(call.to_string()).or_default();
        *n += 1;
        // A call whose row lists no errno cannot fail (umask(2)): nothing
        // to inject. A call with no row is kept: its errnos fail the test.
        // The event loops' own calls: on the epoll fd, and the fd limit.
        let event_loop = call.starts_with("epoll_")
            || line.starts_with("prlimit64(0, RLIMIT_NOFILE")
            || (call == "close" && line.contains("<anon_inode:[eventpoll]>"));
        let cannot_fail = calls::by_name(call).is_some_and(|row| row.errnos.is_empty());
        if !(cmp::is_program_call(line) || event_loop) || cannot_fail {
            continue;
        }
        // epoll_ctl is told apart by its target fd: (epoll, ADD, listener)
        // and (epoll, ADD, conn) fail differently.
        let rest = match call {
            "epoll_ctl" => rest.splitn(3, ", ").nth(2).unwrap_or(""),
            _ => rest,
        };
        let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
        let fd = if call == "socket" || digits.is_empty() {
            -1
        } else {
            digits.parse().unwrap()
        };
        // A call on an accepted connection is tried on the first
        // connection only: which fd the second client gets depends on
        // whether the server saw the first one's close before accepting
        // it, and a fault in the second connection leaves no next client
        // to show that the server goes on.
        if call == "accept4"
            && let Some(ret) = line.rsplit_once(") = ").map(|(_, r)| r)
            && let Ok(c) = ret
                .chars()
                .take_while(char::is_ascii_digit)
                .collect::<String>()
                .parse::<i32>()
        {
            conns.push(c);
        }
        let on_conn = |fd: i32| conns.contains(&fd);
        if !firsts
            .iter()
            .any(|o| o.call == call && (o.fd == fd || (on_conn(o.fd) && on_conn(fd))))
        {
            firsts.push(Own {
                call: call.to_string(),
                fd,
                when: *n,
            });
        }
    }
    assert!(
        firsts.iter().any(|o| o.call == "socket"),
        "{}: no socket call found in the dry run\n{raw}",
        sc.name
    );
    firsts
}

/// Is a failure of `own` with `errno` one connection's (the server goes on)?
pub(super) fn per_connection(sc: &Scenario, own: &Own, errno: &str) -> bool {
    // A UNIX server's calls on its socket file's directory (fd 4, opened
    // before bind) and file (fd 5) are the server's, not a connection's.
    if matches!(own.call.as_str(), "openat" | "newfstatat" | "unlinkat") {
        return false;
    }
    match sc.role {
        Role::Client => false,
        Role::Table => own.call == "getsockopt",
        // The listener is the server's first socket, fd 3.
        Role::StreamServer => {
            (own.fd > 3 && own.call != "accept4")
                || (own.call == "accept4" && matches!(errno, "ECONNABORTED" | "EPROTO" | "EPERM"))
        }
        Role::EventServer => {
            // The listener is fd 3; a UNIX server's directory fd and the
            // fd that holds its socket file next; then epoll's fd; then
            // the connections.
            let first_conn = 4 + 2 * i32::from(sc.unix) + i32::from(sc.args.contains(&"epoll"));
            // accept4: the event loops go on after any error but running
            // out of fds with no connection left (event.rs).
            (own.fd >= first_conn && own.call != "accept4")
                || (own.call == "accept4" && !matches!(errno, "EMFILE" | "ENFILE"))
        }
        Role::DgramServer => own.call == "sendto",
    }
}

/// The UNIX server's `openat(DIRFD, NAME, O_PATH|O_NOFOLLOW)` after bind
/// (on fd 4, the directory) failing as if NAME were gone or a link.
pub(super) fn pinned_elsewhere(own: &Own, errno: &str) -> bool {
    own.call == "openat" && own.fd != -1 && matches!(errno, "ENOENT" | "ELOOP")
}

pub(super) fn check(sc: &Scenario, own: &Own, errno: &str) {
    let inject = format!("inject={}:error={errno}:when={}", own.call, own.when);
    let per_conn = per_connection(sc, own, errno);
    // A datagram server's failure: the first client's reply is lost (one
    // reply) or never comes (the server died), and so is the second's
    // when the server died.
    let dgram_fail = sc.role == Role::DgramServer && errno != "EINTR";
    let short = [dgram_fail, dgram_fail && !per_conn];
    let ran = run(
        sc,
        &[
            "-o".into(),
            "/dev/null".into(),
            "-e".into(),
            format!("trace={}", own.call),
            "-e".into(),
            inject.clone(),
        ],
        short,
    );
    let clients: String = ran.clients.iter().map(Outcome::dump).collect();
    let what = format!(
        "{} (fd {}): {inject}\n{}\n--- clients ---\n{clients}",
        sc.name,
        own.fd,
        ran.prog.dump()
    );
    harness::assert_no_panic(&ran.prog);
    let error_line = ran.prog.stderr.lines().any(|l| {
        l.starts_with(&format!("socklab: {}(", own.call)) && l.contains(&format!(" = -1 {errno} ("))
    });
    if errno == "EINTR" {
        assert_eq!(ran.prog.code(), Some(0), "EINTR is retried: {what}");
        assert!(
            !ran.prog.stderr.contains("socklab: "),
            "EINTR: no error line: {what}"
        );
        for word in sc.expect {
            assert!(ran.prog.stdout.contains(word), "{word}: {what}");
        }
        for (c, reply) in ran.clients.iter().zip(["HELLO", "AGAIN"]) {
            assert!(c.stdout.contains(reply), "{reply}: {what}");
        }
    } else if pinned_elsewhere(own, errno) {
        // The UNIX server's hold on its socket file after bind finds
        // nothing there, or a link: the path led elsewhere than the
        // directory it opened. It serves, and leaves the file alone.
        assert_eq!(ran.prog.code(), Some(0), "the server goes on: {what}");
        assert!(
            ran.prog
                .stdout
                .contains("alone: bind put no socket file in its directory"),
            "{what}"
        );
    } else if per_conn && sc.role == Role::Table {
        assert_eq!(ran.prog.code(), Some(0), "a table cell: {what}");
        assert!(ran.prog.stdout.contains(errno), "the cell shows it: {what}");
    } else if per_conn {
        assert!(error_line, "the failure is logged: {what}");
        assert_eq!(ran.prog.code(), Some(0), "the server goes on: {what}");
        assert!(
            ran.clients[1].stdout.contains("AGAIN"),
            "the next client is served: {what}"
        );
    } else {
        assert_eq!(ran.prog.code(), Some(1), "{what}");
        assert!(error_line, "the error line names call and errno: {what}");
    }
    // A failed unlink or unlinkat leaves the file, as does a failed
    // newfstatat of the bound file (on the directory fd): a file the
    // server cannot identify as the one it bound is never removed.
    if let Some(path) = &ran.path
        && own.call != "unlink"
        && own.call != "unlinkat"
        && !(own.call == "newfstatat" && own.fd != -1)
        && !pinned_elsewhere(own, errno)
    {
        assert!(
            !std::path::Path::new(path).exists(),
            "socket file left behind: {what}"
        );
    }
}

/// Every scenario's own calls, each with each of its errnos.
pub(super) fn cases(sc: &Scenario) -> usize {
    let dgram = matches!(sc.role, Role::DgramServer)
        || sc.name.contains("udp")
        || sc.name.ends_with("dgram");
    let mut n = 0;
    for own in own_calls(sc) {
        for errno in errnos(&own.call, sc.unix, dgram) {
            check(sc, &own, &errno);
            n += 1;
        }
    }
    println!("faults {}: {n} injections", sc.name);
    n
}

pub(super) fn scenario(name: &str) -> &'static Scenario {
    SCENARIOS.iter().find(|s| s.name == name).unwrap()
}
