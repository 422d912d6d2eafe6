//! Injected faults, for every syscall each program makes (issue #8):
//! `strace -e inject=CALL:error=ERRNO:when=N` fails the program's first own
//! call of each kind (per socket: a server's listener and its connection are
//! two kinds), with the errnos that call can really return (its man page's
//! ERRORS), and EINTR.
//!
//! - A failure of the program: exit 1, the error line names the call and
//!   the errno (`socklab: CALL(...) = -1 ENAME (...)`), no panic, and a UNIX
//!   server leaves no socket file behind.
//! - A failure on one connection of a stream server (recvfrom, sendto,
//!   close, the options of `@accepted`, getpeername on the connection, and
//!   accept4's errors that belong to the peer: ECONNABORTED, EPROTO, EPERM)
//!   or on one reply of a datagram server (sendto): the error line is
//!   printed, and the server serves the next client (which gets its reply),
//!   then exits 0 after `--max-conns 2`.
//! - EINTR: retried (close: counted as closed, as Linux does); the run is
//!   the normal one, exit 0, no error line.
//!
//! A traced dry run of each scenario finds the program's own calls (on a
//! socket, or the UNIX server's path) and which invocation of that syscall
//! each is (the loader and the runtime make close, poll, ioctl and
//! newfstatat calls of their own before main), for `when=N`.
//!
//! `make test` injects the first errno of each call's list and EINTR;
//! `make faults` (SOCKLAB_FAULTS=all) every errno of the lists.
//! `cargo test --test faults -- --nocapture` prints the count of cases.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

#[path = "common/cmp.rs"]
mod cmp;
mod common;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use common::{Outcome, Server, TempDir, WATCHDOG, socklab};

/// The errnos each call can really return (man 2 CALL, ERRORS), as strace
/// names them; EINTR is added for the calls that can block.
fn errnos(call: &str, unix: bool, dgram: bool) -> Vec<&'static str> {
    let mut v: Vec<&'static str> = match call {
        "socket" => vec!["EMFILE", "ENFILE", "ENOBUFS", "EACCES"],
        "setsockopt" => vec!["ENOPROTOOPT", "EINVAL", "ENOMEM"],
        "getsockopt" => vec!["ENOPROTOOPT", "EINVAL"],
        "bind" if unix => vec!["EADDRINUSE", "EACCES", "ENOENT", "EROFS"],
        "bind" => vec!["EADDRINUSE", "EACCES", "EADDRNOTAVAIL"],
        "listen" => vec!["EADDRINUSE", "EOPNOTSUPP"],
        "accept4" => vec![
            "EMFILE",
            "ENFILE",
            "ENOBUFS",
            "ECONNABORTED",
            "EPROTO",
            "EPERM",
        ],
        "connect" if unix => vec!["ENOENT", "ECONNREFUSED", "EAGAIN", "EACCES"],
        "connect" => vec!["ECONNREFUSED", "ETIMEDOUT", "ENETUNREACH", "EADDRNOTAVAIL"],
        "sendto" if dgram => vec!["EMSGSIZE", "ENOBUFS", "ECONNREFUSED"],
        "sendto" => vec!["EPIPE", "ECONNRESET", "ENOBUFS"],
        "recvfrom" if dgram => vec!["ECONNREFUSED", "ENOMEM"],
        "recvfrom" => vec!["ECONNRESET", "ETIMEDOUT", "ENOMEM"],
        "getsockname" => vec!["ENOBUFS", "EINVAL"],
        "getpeername" => vec!["ENOTCONN", "ENOBUFS"],
        "shutdown" => vec!["ENOTCONN"],
        "close" => vec!["EIO"],
        "poll" => vec!["ENOMEM"],
        "ioctl" => vec!["ENOTTY", "EINVAL"],
        "newfstatat" => vec!["EACCES", "ELOOP", "ENOTDIR", "ENOMEM"],
        "prlimit64" => vec!["EPERM", "EINVAL"],
        "epoll_create1" => vec!["EMFILE", "ENFILE", "ENOMEM"],
        "epoll_ctl" => vec!["ENOMEM", "ENOSPC"],
        // epoll_wait on a valid epoll fd and buffer fails only by EINTR.
        "epoll_wait" => vec![],
        "unlink" => vec!["EACCES", "EPERM", "EBUSY", "EROFS"],
        // A UNIX server's socket file directory (O_PATH|O_DIRECTORY).
        "openat" => vec!["EACCES", "ENOENT", "EMFILE", "ENOMEM"],
        "unlinkat" => vec!["EACCES", "EPERM", "EBUSY", "EROFS"],
        other => panic!("no errno list for {other}: add one"),
    };
    // make test: the most common errno of each call (and EINTR);
    // SOCKLAB_FAULTS=all (make faults): every errno in the list.
    if std::env::var("SOCKLAB_FAULTS").as_deref() != Ok("all") {
        v.truncate(1);
    }
    if matches!(
        call,
        "accept4" | "connect" | "sendto" | "recvfrom" | "poll" | "close" | "epoll_wait"
    ) {
        v.push("EINTR");
    }
    v
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Client,
    /// `socklab sockopt list`: a getsockopt that fails is a table cell
    /// (the errno shown, as UNP's checkopts), not a failure.
    Table,
    StreamServer,
    /// `--model epoll` / `poll`: listener fd 3, a UNIX server's directory
    /// fd and socket file fd next, then the epoll fd (epoll), then the
    /// connections.
    EventServer,
    DgramServer,
}

/// One program and how to drive it.
struct Scenario {
    name: &'static str,
    role: Role,
    /// The program's arguments; `{ADDR}` is the partner server's address,
    /// `{PATH}` a fresh socket path.
    args: &'static [&'static str],
    /// For a client: the server it talks to (socklab, not traced).
    partner: &'static [&'static str],
    unix: bool,
    /// What a client prints when all went well.
    expect: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "tcp_client",
        role: Role::Client,
        args: &[
            "tcp",
            "client",
            "{ADDR}",
            "-m",
            "hello",
            "-m",
            "world",
            "--names",
            "--shutdown",
            "--sockopt",
            "SO_KEEPALIVE=1",
        ],
        partner: &["tcp", "server", "127.0.0.1:0", "-q"],
        unix: false,
        expect: &["HELLO", "WORLD"],
    },
    Scenario {
        name: "tcp_client_timeout",
        role: Role::Client,
        args: &["tcp", "client", "{ADDR}", "-m", "hello", "--timeout", "10"],
        partner: &["tcp", "server", "127.0.0.1:0", "-q"],
        unix: false,
        expect: &["HELLO"],
    },
    Scenario {
        name: "udp_client",
        role: Role::Client,
        args: &["udp", "client", "{ADDR}", "-m", "hello", "-m", "world"],
        partner: &["udp", "server", "127.0.0.1:0", "-q"],
        unix: false,
        expect: &["HELLO", "WORLD"],
    },
    Scenario {
        name: "udp_client_connected",
        role: Role::Client,
        args: &["udp", "client", "{ADDR}", "--connect", "-m", "hello"],
        partner: &["udp", "server", "127.0.0.1:0", "-q"],
        unix: false,
        expect: &["HELLO"],
    },
    Scenario {
        name: "unix_client",
        role: Role::Client,
        args: &["unix", "client", "{ADDR}", "-m", "hello"],
        partner: &["unix", "server", "{PATH}", "-q"],
        unix: true,
        expect: &["HELLO"],
    },
    Scenario {
        name: "unix_client_dgram",
        role: Role::Client,
        args: &["unix", "client", "{ADDR}", "--dgram", "-m", "hello"],
        partner: &["unix", "server", "{PATH}", "--dgram", "-q"],
        unix: true,
        expect: &["HELLO"],
    },
    Scenario {
        name: "sockopt_list",
        role: Role::Table,
        args: &["sockopt", "list", "tcp", "udp", "unix"],
        partner: &[],
        unix: false,
        expect: &["SO_RCVBUF"],
    },
    Scenario {
        name: "tcp_server",
        role: Role::StreamServer,
        args: &[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--reuseaddr",
            "--names",
            "--sockopt",
            "SO_KEEPALIVE=1@accepted",
        ],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "tcp_server_timeout",
        role: Role::StreamServer,
        args: &[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--timeout",
            "10",
        ],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "tcp_server_epoll",
        role: Role::EventServer,
        args: &[
            "tcp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--model",
            "epoll",
        ],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "unix_server_poll",
        role: Role::EventServer,
        args: &[
            "unix",
            "server",
            "{PATH}",
            "--max-conns",
            "2",
            "--model",
            "poll",
        ],
        partner: &[],
        unix: true,
        expect: &[],
    },
    Scenario {
        name: "udp_server_epoll",
        role: Role::DgramServer,
        args: &[
            "udp",
            "server",
            "127.0.0.1:0",
            "--max-conns",
            "2",
            "--model",
            "epoll",
        ],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "udp_server",
        role: Role::DgramServer,
        args: &["udp", "server", "127.0.0.1:0", "--max-conns", "2"],
        partner: &[],
        unix: false,
        expect: &[],
    },
    Scenario {
        name: "unix_server",
        role: Role::StreamServer,
        args: &["unix", "server", "{PATH}", "--max-conns", "2"],
        partner: &[],
        unix: true,
        expect: &[],
    },
    Scenario {
        name: "unix_server_dgram",
        role: Role::DgramServer,
        args: &["unix", "server", "{PATH}", "--dgram", "--max-conns", "2"],
        partner: &[],
        unix: true,
        expect: &[],
    },
];

/// How one run of a scenario went.
struct Ran {
    prog: Outcome,
    /// The clients' outcomes (servers' scenarios only).
    clients: Vec<Outcome>,
    /// The UNIX server's path, to check it is gone.
    path: Option<String>,
}

fn subst(args: &[&str], addr: &str, path: &str) -> Vec<String> {
    args.iter()
        .map(|a| a.replace("{ADDR}", addr).replace("{PATH}", path))
        .collect()
}

fn strace(prog_args: &[String], strace_args: &[String]) -> Command {
    let mut cmd = Command::new("strace");
    cmd.env_remove("LD_LIBRARY_PATH")
        .args(["-f", "-qq", "-e", "signal=none"])
        .args(strace_args)
        .arg(common::bin())
        .args(prog_args);
    cmd
}

/// Run the scenario with `strace STRACE_ARGS`; `short[i]`: client i's
/// reply may never come (a datagram server that failed, or lost it), so it
/// gives up after 1 s instead of 10.
fn run(sc: &Scenario, strace_args: &[String], short: [bool; 2]) -> Ran {
    let dir = TempDir::new("faults");
    let path = dir.path("s.sock");
    match sc.role {
        Role::Table => Ran {
            prog: common::run(strace(&subst(sc.args, "", &path), strace_args), b""),
            clients: vec![],
            path: None,
        },
        Role::Client => {
            let partner_args = subst(sc.partner, "", &path);
            let partner_args: Vec<&str> = partner_args.iter().map(String::as_str).collect();
            let partner = Server::start(&partner_args);
            let args = subst(sc.args, &partner.addr, &path);
            let prog = common::run(strace(&args, strace_args), b"");
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
                    clients.push(common::run(c, b""));
                }
            }
            let mut prog = common::finish(child);
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
struct Own {
    call: String,
    fd: i32,
    when: usize,
}

/// The dry run: the program's own calls, the first of each (call, fd).
fn own_calls(sc: &Scenario) -> Vec<Own> {
    let dir = TempDir::new("faults-dry");
    let log = dir.path("trace");
    let ran = run(sc, &["-y".into(), "-o".into(), log.clone()], [false, false]);
    ran.prog.assert_ok();
    let raw = std::fs::read_to_string(&log).unwrap();
    let mut seen: BTreeMap<String, usize> = BTreeMap::new();
    let mut firsts: Vec<Own> = vec![];
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
        // umask(2) cannot fail: no errno to inject.
        // The event loops' own calls: on the epoll fd, and the fd limit.
        let event_loop = call.starts_with("epoll_")
            || line.starts_with("prlimit64(0, RLIMIT_NOFILE")
            || (call == "close" && line.contains("<anon_inode:[eventpoll]>"));
        if !(cmp::is_program_call(line) || event_loop) || call == "umask" {
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
        if !firsts.iter().any(|o| o.call == call && o.fd == fd) {
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
fn per_connection(sc: &Scenario, own: &Own, errno: &str) -> bool {
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
fn pinned_elsewhere(own: &Own, errno: &str) -> bool {
    own.call == "openat" && own.fd != -1 && matches!(errno, "ENOENT" | "ELOOP")
}

fn check(sc: &Scenario, own: &Own, errno: &str) {
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
    common::assert_no_panic(&ran.prog);
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
fn cases(sc: &Scenario) -> usize {
    let dgram = matches!(sc.role, Role::DgramServer)
        || sc.name.contains("udp")
        || sc.name.ends_with("dgram");
    let mut n = 0;
    for own in own_calls(sc) {
        for errno in errnos(&own.call, sc.unix, dgram) {
            check(sc, &own, errno);
            n += 1;
        }
    }
    println!("faults {}: {n} injections", sc.name);
    n
}

fn scenario(name: &str) -> &'static Scenario {
    SCENARIOS.iter().find(|s| s.name == name).unwrap()
}

macro_rules! fault_tests {
    ($($name:ident),*) => {$(
        #[test]
        fn $name() {
            if common::have("strace") {
                let n = cases(scenario(stringify!($name)));
                assert!(n > 0);
            }
        }
    )*};
}

fault_tests!(
    sockopt_list,
    tcp_client,
    tcp_client_timeout,
    udp_client,
    udp_client_connected,
    unix_client,
    unix_client_dgram,
    tcp_server,
    tcp_server_timeout,
    tcp_server_epoll,
    unix_server_poll,
    udp_server_epoll,
    udp_server,
    unix_server,
    unix_server_dgram
);

#[test]
fn every_scenario_has_a_test() {
    assert_eq!(SCENARIOS.len(), 15);
    let _ = Duration::ZERO;
}

/// The labs (`socklab lab NAME`) are programs too: each one, with the
/// first call of a kind failing in each of its threads (strace counts
/// `when=` per thread), must end — no hang (each side of a lab waits for
/// the other), no panic — with exit 0 (the lab does not make that call, or
/// observes what it should anyway) or 1.
/// The lab says FAIL and names the call that failed: the injected one, or
/// the one its failure caused on the other side (a timeout).
/// `make test`: socket; `make faults`: nine calls.
#[test]
fn labs_end_cleanly_when_a_call_fails() {
    if !common::have("strace") {
        return;
    }
    let list = common::run(socklab(&["lab", "list"]), b"");
    list.assert_ok();
    let labs: Vec<String> = list
        .stdout
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_lowercase()) && !l.starts_with("Run one"))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .collect();
    assert!(labs.len() >= 10, "{}", list.stdout);
    let all = std::env::var("SOCKLAB_FAULTS").as_deref() == Ok("all");
    let calls: &[(&str, &str)] = if all {
        &[
            ("socket", "EMFILE"),
            ("setsockopt", "ENOPROTOOPT"),
            ("bind", "EADDRINUSE"),
            ("listen", "EADDRINUSE"),
            ("accept4", "EMFILE"),
            ("connect", "ECONNREFUSED"),
            ("sendto", "EPIPE"),
            ("recvfrom", "ECONNRESET"),
            ("recvfrom", "EINTR"),
        ]
    } else {
        &[("socket", "EMFILE")]
    };
    let mut n = 0;
    let mut failed_labs = 0;
    let mut named = 0;
    let mut slow: Vec<String> = vec![];
    // A lab whose server side failed waits (idle) for its own timeout:
    // the runs of one call go side by side, one per lab.
    for (call, errno) in calls {
        let runs: Vec<_> = labs
            .iter()
            .map(|lab| {
                let prog = vec!["lab".to_string(), lab.clone()];
                let cmd = strace(
                    &prog,
                    &[
                        "-o".into(),
                        "/dev/null".into(),
                        "-e".into(),
                        format!("trace={call}"),
                        "-e".into(),
                        format!("inject={call}:error={errno}:when=1"),
                    ],
                );
                let lab = lab.clone();
                std::thread::spawn(move || (lab, run_long(cmd)))
            })
            .collect();
        for r in runs {
            let (lab, out) = r.join().unwrap();
            let what = format!("lab {lab}, {call} = -1 {errno}\n{}", out.dump());
            common::assert_no_panic(&out);
            if out.stdout.contains("no verdict after 20 s") {
                slow.push(format!("{lab} ({call} {errno})"));
            }
            match out.code() {
                Some(0) => {}
                Some(1) => {
                    failed_labs += 1;
                    // The lab says it failed (FAIL) and which call failed:
                    // the injected one, or what it caused on the other side
                    // (a timeout waiting for the failed peer).
                    assert!(
                        out.stdout.contains("FAIL") || out.stderr.contains("socklab: "),
                        "the failure is explained: {what}"
                    );
                    if out.stdout.contains(&format!("{call}("))
                        || out.stderr.contains(&format!("{call}("))
                    {
                        named += 1;
                    }
                }
                _ => panic!("exit 0 or 1: {what}"),
            }
            n += 1;
        }
    }
    println!(
        "faults labs: {n} injections into {} labs; {failed_labs} ended with exit 1 and FAIL ({named} naming the injected call, the others what it caused), the rest observed what they should",
        labs.len()
    );
    if !slow.is_empty() {
        println!(
            "faults labs: ended by the lab's own 20 s watchdog (one side waited for the failed one): {}",
            slow.join(", ")
        );
    }
}

/// `common::run` with a 40 s watchdog: a lab has a 20 s watchdog of its
/// own, which must get the chance to fire (and say FAIL) first.
fn run_long(mut cmd: Command) -> Outcome {
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let child = cmd.spawn().unwrap();
    let pid = child.id() as i32;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(child.wait_with_output());
    });
    let out = match rx.recv_timeout(Duration::from_secs(40)) {
        Ok(out) => out.unwrap(),
        Err(_) => {
            // SAFETY: our child, still running.
            unsafe { libc::kill(pid, libc::SIGKILL) };
            let out = rx.recv().unwrap().unwrap();
            panic!(
                "still running after 40 s; killed\n{}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    };
    Outcome {
        status: out.status,
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}
