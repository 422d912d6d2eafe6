//! `socklab bench`: each load against a real server prints sane fields,
//! `--json` is one valid JSON object, bad arguments exit 2, and the
//! `--sink` servers (socklab's and the C twin's) read and discard.
//! Nothing here is timed: counts, not durations, bound every run.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use crate::harness::cmp;

use crate::harness::cmp::Side;
use crate::harness::{self, Outcome, Server, TempDir, have, run, socklab};

mod source;

fn bench(args: &[&str]) -> Outcome {
    let out = run(socklab(args), b"");
    out.assert_ok();
    out
}

/// A minimal JSON checker: one value, nothing after it.
fn json_ok(s: &str) -> bool {
    fn value(b: &[u8], i: &mut usize) -> bool {
        ws(b, i);
        match b.get(*i) {
            Some(b'{') => seq(b, i, b'}', true),
            Some(b'[') => seq(b, i, b']', false),
            Some(b'"') => string(b, i),
            Some(b'n') => lit(b, i, "null"),
            Some(b't') => lit(b, i, "true"),
            Some(b'f') => lit(b, i, "false"),
            Some(c) if c.is_ascii_digit() || *c == b'-' => {
                let start = *i;
                while *i < b.len() && b"+-.eE0123456789".contains(&b[*i]) {
                    *i += 1;
                }
                std::str::from_utf8(&b[start..*i])
                    .unwrap()
                    .parse::<f64>()
                    .is_ok()
            }
            _ => false,
        }
    }
    fn ws(b: &[u8], i: &mut usize) {
        while *i < b.len() && b[*i].is_ascii_whitespace() {
            *i += 1;
        }
    }
    fn lit(b: &[u8], i: &mut usize, w: &str) -> bool {
        let ok = b[*i..].starts_with(w.as_bytes());
        *i += w.len();
        ok
    }
    fn string(b: &[u8], i: &mut usize) -> bool {
        *i += 1;
        while *i < b.len() {
            match b[*i] {
                b'\\' => *i += 2,
                b'"' => {
                    *i += 1;
                    return true;
                }
                _ => *i += 1,
            }
        }
        false
    }
    fn seq(b: &[u8], i: &mut usize, close: u8, object: bool) -> bool {
        *i += 1;
        ws(b, i);
        if b.get(*i) == Some(&close) {
            *i += 1;
            return true;
        }
        loop {
            if object {
                ws(b, i);
                if b.get(*i) != Some(&b'"') || !string(b, i) {
                    return false;
                }
                ws(b, i);
                if b.get(*i) != Some(&b':') {
                    return false;
                }
                *i += 1;
            }
            if !value(b, i) {
                return false;
            }
            ws(b, i);
            match b.get(*i) {
                Some(b',') => *i += 1,
                Some(c) if *c == close => {
                    *i += 1;
                    return true;
                }
                _ => return false,
            }
        }
    }
    let b = s.trim().as_bytes();
    let mut i = 0;
    value(b, &mut i) && i == b.len()
}

/// The number after `"key":` in a JSON line.
fn field(json: &str, key: &str) -> f64 {
    let at = json.find(&format!("\"{key}\":")).expect(key) + key.len() + 3;
    let end = json[at..]
        .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
        .unwrap_or(json.len() - at);
    json[at..at + end].parse().expect(key)
}

#[test]
fn bench_rr_one_connection_reports_rate_latency_and_cpu() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "-q", "--max-conns", "1"]);
    let out = bench(&[
        "bench",
        "rr",
        &server.addr,
        "--count",
        "300",
        "--size",
        "100",
    ]);
    out.stdout_has(&format!(
        "rr {}: 1 conns, 100-byte messages, 300 transactions in",
        server.addr
    ))
    .stdout_has("transactions/s")
    .stdout_has("latency: p50 ")
    .stdout_has("p99.9 ")
    .stdout_has("client cpu: user ");
    server.finish().assert_ok();
}

#[test]
fn bench_rr_json_parses_and_counts() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "-q"]);
    let out = bench(&[
        "bench",
        "rr",
        &server.addr,
        "--count",
        "200",
        "--size",
        "3000",
        "--json",
    ]);
    let line = out.stdout.trim();
    assert!(json_ok(line), "not JSON: {line}");
    assert_eq!(field(line, "transactions"), 200.0);
    assert_eq!(field(line, "size"), 3000.0);
    assert_eq!(field(line, "bytes"), 200.0 * 2.0 * 3000.0);
    assert!(field(line, "p50") > 0.0 && field(line, "p50") <= field(line, "max"));
    assert!(field(line, "rate") > 0.0);
}

#[test]
fn bench_rr_many_connections_against_socat_pipe() {
    if !have("socat") {
        return;
    }
    let mut cmd = std::process::Command::new("socat");
    cmd.args(["-d", "-d", "TCP-LISTEN:0,bind=127.0.0.1,fork", "PIPE"]);
    cmd.stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    // socat -d -d says `N listening on AF=2 127.0.0.1:PORT` on stderr.
    let stderr = child.stderr.take().unwrap();
    let mut reader = std::io::BufReader::new(stderr);
    let mut port = String::new();
    for _ in 0..20 {
        let mut line = String::new();
        if std::io::BufRead::read_line(&mut reader, &mut line).unwrap() == 0 {
            break;
        }
        if let Some(rest) = line.trim_end().split("listening on AF=2 ").nth(1) {
            port = rest.rsplit(':').next().unwrap().to_string();
            break;
        }
    }
    assert!(!port.is_empty(), "socat did not say where it listens");
    let addr = format!("127.0.0.1:{port}");
    let out = run(
        socklab(&[
            "bench", "rr", &addr, "--conns", "20", "--count", "400", "--json",
        ]),
        b"",
    );
    let _ = child.kill();
    let _ = child.wait();
    out.assert_ok();
    let line = out.stdout.trim();
    assert!(json_ok(line), "not JSON: {line}");
    assert_eq!(field(line, "transactions"), 400.0);
    assert_eq!(field(line, "conns"), 20.0);
}

#[test]
fn bench_stream_into_sink_counts_every_byte() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--sink", "--max-conns", "1"]);
    let out = bench(&["bench", "stream", &server.addr, "--bytes", "3000000"]);
    out.stdout_has("throughput: ")
        .stdout_has("Gbit/s (3000000 bytes)");
    let srv = server.finish();
    srv.assert_ok();
    // A sink prints nothing per message and sends nothing back.
    assert!(!srv.stdout.contains(" bytes "), "{}", srv.dump());
    assert!(srv.stdout.contains("closed"), "{}", srv.dump());
}

#[test]
fn bench_stream_into_the_c_sink() {
    let server = Server::start_cmd(cmp::program(
        Side::C,
        "tcp_server",
        &[
            "127.0.0.1:0".into(),
            "--sink".into(),
            "--max-conns".into(),
            "1".into(),
        ],
    ));
    let out = bench(&[
        "bench",
        "stream",
        &server.addr,
        "--bytes",
        "1000000",
        "--json",
    ]);
    assert!(json_ok(out.stdout.trim()), "{}", out.dump());
    assert_eq!(field(&out.stdout, "bytes"), 1_000_000.0);
    let srv = server.finish();
    srv.assert_ok();
    assert!(!srv.stdout.contains(" bytes "), "{}", srv.dump());
}

#[test]
fn bench_connect_counts_connections() {
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "-q", "--backlog", "64"]);
    let out = bench(&[
        "bench",
        "connect",
        &server.addr,
        "--count",
        "100",
        "--conns",
        "2",
        "--size",
        "10",
    ]);
    out.stdout_has("100 connections in")
        .stdout_has("connections/s")
        .stdout_has("latency: p50 ");
}

#[test]
fn bench_udp_counts_answers_and_loss() {
    let server = Server::start(&["udp", "server", "127.0.0.1:0", "-q"]);
    let out = bench(&["bench", "udp", &server.addr, "--count", "500", "--json"]);
    let line = out.stdout.trim();
    assert!(json_ok(line), "not JSON: {line}");
    assert_eq!(field(line, "sent"), 500.0);
    assert_eq!(field(line, "answered") + field(line, "lost"), 500.0);
}

/// `--batch 32` on both sides (sendmmsg/recvmmsg): every datagram is
/// accounted for, and the result counts the load's syscalls.
#[test]
fn bench_udp_batch_counts_syscalls() {
    let server = Server::start(&["udp", "server", "127.0.0.1:0", "-q", "--batch", "32"]);
    let args = [
        "bench",
        "udp",
        &server.addr,
        "--count",
        "1000",
        "--window",
        "32",
    ];
    let out = bench(&[&args[..], &["--batch", "32", "--json"]].concat());
    let line = out.stdout.trim();
    assert!(json_ok(line), "not JSON: {line}");
    assert_eq!(field(line, "sent"), 1000.0);
    assert_eq!(field(line, "answered") + field(line, "lost"), 1000.0);
    assert!(field(line, "syscalls") > 0.0, "{line}");
    bench(&[&args[..], &["--batch", "32"]].concat()).stdout_has(" per datagram answered");
}

#[test]
fn bench_rr_on_a_unix_stream_socket() {
    let dir = TempDir::new("bench");
    let path = dir.path("s");
    let _server = Server::start(&["unix", "server", &path, "-q"]);
    let out = bench(&["bench", "rr", &path, "--count", "100"]);
    out.stdout_has("100 transactions in");
}

#[test]
fn bench_against_nobody_fails_with_the_connect_line() {
    let (_fd, port) = harness::bound_tcp(None);
    let out = run(
        socklab(&["bench", "rr", &format!("127.0.0.1:{port}"), "--count", "1"]),
        b"",
    );
    out.assert_code(1)
        .stderr_has("connect(")
        .stderr_has("ECONNREFUSED");
}

#[test]
fn bench_against_a_server_that_never_accepts_gives_up_at_the_connect_deadline() {
    // listen(fd, 0) and no accept: the accept queue holds one connection.
    let (_fd, port) = harness::bound_tcp(Some(0));
    let t0 = std::time::Instant::now();
    let out = run(
        socklab(&[
            "bench",
            "rr",
            &format!("127.0.0.1:{port}"),
            "--conns",
            "50",
            "--connect-timeout",
            "1",
            "--count",
            "1",
        ]),
        b"",
    );
    let took = t0.elapsed();
    out.assert_code(1).stderr_has(
        " of 50 did not complete within 1 s (--connect-timeout): the server is not accepting. \
         An iterative server (the default --model of socklab's servers) serves one client at a time",
    );
    out.stderr_has("run it with --model epoll");
    assert!(
        took < std::time::Duration::from_secs(5),
        "{took:?}\n{}",
        out.dump()
    );
}

#[test]
fn bench_bad_arguments_exit_2() {
    for args in [
        vec!["bench", "rr"],
        vec!["bench", "rr", "127.0.0.1:1", "--conns", "0"],
        vec![
            "bench",
            "rr",
            "127.0.0.1:1",
            "--count",
            "5",
            "--duration",
            "1",
        ],
        vec!["bench", "stream", "127.0.0.1:1", "--size", "0"],
        vec!["bench", "udp", "/tmp/socklab-no-such", "--count", "1"],
        vec!["bench", "rr", "nohost:1"],
        vec!["bench", "connect", "127.0.0.1:1", "--duration", "0"],
        vec!["bench", "rr", "127.0.0.1:1", "--pin", "5000"],
        vec!["tcp", "server", "127.0.0.1:0", "--sink", "--once"],
    ] {
        let out = run(socklab(&args), b"");
        out.assert_code(2);
        assert_eq!(out.stderr.lines().count(), 1, "{args:?}: {}", out.dump());
    }
}

#[test]
fn bench_rr_many_connections_against_the_epoll_server() {
    let server = Server::start(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "-q",
        "--model",
        "epoll",
        "--backlog",
        "128",
    ]);
    let out = bench(&[
        "bench",
        "rr",
        &server.addr,
        "--conns",
        "50",
        "--count",
        "2000",
        "--size",
        "700",
        "--json",
    ]);
    let line = out.stdout.trim();
    assert!(json_ok(line), "not JSON: {line}");
    assert_eq!(field(line, "transactions"), 2000.0);
    assert_eq!(field(line, "conns"), 50.0);
    assert_eq!(field(line, "bytes"), 2000.0 * 2.0 * 700.0);
}

/// The README's bench example, as printed there (its port made 0): the
/// server it starts accepts 100 connections at once (`--model epoll`; an
/// iterative one would leave `bench rr --conns 100` at its connect deadline).
#[test]
fn the_readme_bench_example_runs_as_written() {
    let readme = include_str!("../../README.md");
    let at = readme.find("socklab tcp server :9000 ").unwrap();
    let mut lines = readme[at..].lines();
    let words = |line: &str| -> Vec<String> {
        let cmd = line.split(['&', '#']).next().unwrap();
        cmd.split_whitespace().skip(1).map(String::from).collect()
    };
    let mut server_args = words(lines.next().unwrap());
    let rr = lines.next().unwrap();
    assert!(rr.starts_with("socklab bench rr :9000 "), "{rr}");
    assert!(
        server_args.windows(2).any(|w| w == ["--model", "epoll"]),
        "{server_args:?}"
    );
    for a in &mut server_args {
        if a == ":9000" {
            *a = "127.0.0.1:0".to_string();
        }
    }
    let server_args: Vec<&str> = server_args.iter().map(String::as_str).collect();
    let server = Server::start(&server_args);
    let rr_args: Vec<String> = words(rr)
        .into_iter()
        .map(|a| if a == ":9000" { server.addr.clone() } else { a })
        .collect();
    let rr_args: Vec<&str> = rr_args.iter().map(String::as_str).collect();
    let out = bench(&rr_args);
    assert!(
        out.stdout
            .contains("connections: 100 of 100 completed a transaction"),
        "{}",
        out.dump()
    );
}
