//! Datagram peers that misbehave (issue #12): a UNIX datagram peer that
//! sends and never reads its replies, a peer whose queue is full when a
//! client sends to it, and oversize datagrams under `-q`.
//!
//! A UNIX datagram `sendto` waits for room in the receiver's queue (at most
//! net.unix.max_dgram_qlen datagrams, 10 by default), and `poll(POLLOUT)`
//! on an unconnected socket tells of the sender's own buffer, not of that
//! queue. So a server whose reply waits freezes for every client, and a
//! client that trusts poll spins.

use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::harness::{self, Server, TempDir, WATCHDOG, run, socklab};

fn c_bin(prog: &str) -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("c_compat/bin")
        .join(prog);
    assert!(bin.exists(), "c_compat/bin is not built: make c");
    bin
}

/// socklab's program or its C twin, with `args`.
fn program(twin: bool, family: &str, role: &str, args: &[&str]) -> Command {
    let mut cmd = if twin {
        Command::new(c_bin(&format!("{family}_{role}")))
    } else {
        socklab(&[family, role])
    };
    cmd.args(args);
    cmd
}

/// A UNIX datagram socket of the test's own at `path` whose receive queue
/// is full: datagrams sent to it with MSG_DONTWAIT until EAGAIN. Nobody
/// reads it while it lives.
fn full_peer(path: &str) -> (UnixDatagram, UnixDatagram) {
    let full = UnixDatagram::bind(path).unwrap();
    let filler = UnixDatagram::unbound().unwrap();
    filler.set_nonblocking(true).unwrap();
    let mut queued = 0;
    loop {
        match filler.send_to(b"x", path) {
            Ok(_) => queued += 1,
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => break,
            Err(e) => panic!("filling {path}: {e}"),
        }
        assert!(queued < 100_000, "{path} never filled");
    }
    assert!(queued > 0);
    (full, filler)
}

/// A peer binds a socket, sends 30 datagrams to the server and never reads
/// the replies: its queue fills after max_dgram_qlen of them. The server
/// reports each reply it cannot queue (EAGAIN, naming the peer), drops it,
/// and serves the next client, who gets `HI`: in the iterative and epoll
/// models, in the blocking, non-blocking and timeout modes, socklab and
/// its C twin. Before, the server blocked in sendto (unix_wait_for_peer)
/// and every other client waited forever.
#[test]
fn unix_dgram_server_drops_the_replies_of_a_peer_that_never_reads() {
    let dir = TempDir::new("noread");
    const SENT: usize = 30;
    let max = (SENT + 1).to_string();
    for twin in [false, true] {
        for mode in [
            &["--model", "iterative"][..],
            &["--model", "epoll"],
            &["--nonblocking"],
            &["--timeout", "20"],
        ] {
            let tag = format!("twin={twin} {mode:?}");
            let path = dir.path("d.sock");
            let mut args = vec![path.as_str(), "--dgram", "--max-conns", &max];
            args.extend_from_slice(mode);
            let srv = Server::start_cmd(program(twin, "unix", "server", &args));
            let hog_path = dir.path("hog.sock");
            let hog = UnixDatagram::bind(&hog_path).unwrap();
            // Bounded: the server's own queue holds max_dgram_qlen too, so
            // a frozen server would block this send; the watchdog-bounded
            // client below then shows the hang.
            hog.set_write_timeout(Some(Duration::from_secs(5))).unwrap();
            let sent = (0..SENT)
                .take_while(|i| hog.send_to(format!("x{i}").as_bytes(), &path).is_ok())
                .count();
            let out = run(
                program(twin, "unix", "client", &[&path, "--dgram", "-m", "hi"]),
                b"",
            );
            out.assert_ok();
            assert_eq!(
                out.stdout.trim_end(),
                "HI",
                "{tag}: the next client gets its reply\n{}",
                out.dump()
            );
            assert_eq!(sent, SENT, "{tag}: the server read every datagram");
            let out = srv.finish();
            out.assert_ok();
            let dropped: Vec<&str> = out
                .stderr
                .lines()
                .filter(|l| l.contains("EAGAIN"))
                .collect();
            assert!(
                !dropped.is_empty() && dropped.len() < SENT,
                "{tag}: some replies, not all, were dropped with EAGAIN\n{}",
                out.dump()
            );
            for line in &dropped {
                assert!(
                    line.contains(&hog_path) && line.contains("sendto"),
                    "{tag}: the failure names the call and the peer: {line}\n{}",
                    out.dump()
                );
            }
            if !twin {
                assert!(
                    dropped[0].contains(", MSG_DONTWAIT, {sa_family=AF_UNIX"),
                    "{tag}: the reply is a sendto(..., MSG_DONTWAIT, ...)\n{}",
                    out.dump()
                );
            }
            drop(hog);
            let _ = std::fs::remove_file(&hog_path);
        }
    }
}

/// `socklab --trace unix client`, or the C twin under `strace -e
/// trace=sendto,poll` (None when strace is missing outside CI): either
/// way its sendto and poll lines on stderr.
fn traced_unix_client(twin: bool) -> Option<Command> {
    if !twin {
        return Some(socklab(&["--trace", "unix", "client"]));
    }
    if !harness::have("strace") {
        return None;
    }
    let mut c = Command::new("strace");
    c.args(["-qq", "-e", "trace=sendto,poll"]);
    c.arg(c_bin("unix_client"));
    Some(c)
}

/// `--timeout 1` against a peer whose queue is full: poll(POLLOUT) keeps
/// saying ready and sendto keeps saying EAGAIN; the client ends with
/// `timed out` at the deadline, after a bounded number of tries (each
/// EAGAIN after a ready poll backs off, 1 ms doubling). Before, it never
/// checked its deadline and spun until killed (socklab and its C twin).
#[test]
fn unix_dgram_client_times_out_against_a_full_peer() {
    let dir = TempDir::new("fullto");
    let path = dir.path("full.sock");
    let _full = full_peer(&path);
    for twin in [false, true] {
        let Some(mut cmd) = traced_unix_client(twin) else {
            continue;
        };
        cmd.args([&path, "--dgram", "-m", "hi", "--timeout", "1"]);
        let t0 = Instant::now();
        let out = run(cmd, b"");
        let took = t0.elapsed();
        out.assert_code(1).stderr_has("timed out after 1s");
        assert!(
            took < Duration::from_secs(5),
            "twin={twin}: timed out in {took:?}\n{}",
            out.dump()
        );
        let sends = out.stderr.matches("sendto(").count();
        assert!(
            (2..50).contains(&sends),
            "twin={twin}: {sends} sendto calls in {took:?}, a bounded back-off; the trace begins:\n{}",
            head(&out.stderr)
        );
        assert!(
            out.stderr.contains("poll([{fd=3, events=0}], 1, 1)")
                && out.stderr.contains("poll([{fd=3, events=0}], 1, 2)"),
            "twin={twin}: the back-off shows in the trace\n{}",
            out.dump()
        );
    }
}

/// `--nonblocking` against a peer whose queue is full: the client retries
/// (it has no deadline) but never spins: after poll said ready and sendto
/// still said EAGAIN, it waits in `poll(fd, events=0, 1)`, then 2, 4...
/// up to 1 s. Run for 1.5 s, then stopped: a few sendto calls, where
/// before there were thousands (socklab and its C twin).
#[test]
fn unix_dgram_client_nonblocking_does_not_spin_against_a_full_peer() {
    let dir = TempDir::new("fullnb");
    let path = dir.path("full.sock");
    let _full = full_peer(&path);
    for twin in [false, true] {
        let Some(mut cmd) = traced_unix_client(twin) else {
            continue;
        };
        cmd.args([&path, "--dgram", "-m", "hi", "--nonblocking"]);
        // The trace goes to a file, not a pipe the test would read only at
        // the end (a full pipe would stop a spinning client early).
        let trace = dir.path(&format!("trace-{twin}"));
        // Its own process group: the kill below reaches strace's tracee too.
        let child = cmd
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(&trace).unwrap())
            .spawn()
            .unwrap();
        // Not an ordering sleep: the test measures what 1.5 s of retrying costs.
        std::thread::sleep(Duration::from_millis(1500));
        // SAFETY: the process group of our child.
        unsafe { libc::kill(-(child.id() as i32), libc::SIGKILL) };
        let mut out = harness::finish(child);
        out.stderr = std::fs::read_to_string(&trace).unwrap();
        let sends = out.stderr.matches("sendto(").count();
        assert!(
            (2..50).contains(&sends),
            "twin={twin}: {sends} sendto calls in 1.5 s (a spin makes thousands); the trace begins:\n{}",
            head(&out.stderr)
        );
        for ms in ["1", "2", "4", "8"] {
            assert!(
                out.stderr
                    .contains(&format!("poll([{{fd=3, events=0}}], 1, {ms})")),
                "twin={twin}: the back-off of {ms} ms shows in the trace\n{}",
                out.dump()
            );
        }
    }
}

/// The first lines of a long trace, for a failure message.
fn head(trace: &str) -> String {
    trace.lines().take(40).collect::<Vec<_>>().join("\n")
}

/// `-q` is quiet: a datagram longer than `--bufsize` is still cut and
/// answered, but the server prints nothing for it (before, one `truncated`
/// line per datagram). UDP and UNIX datagram, socklab and its C twin.
#[test]
fn quiet_dgram_server_prints_nothing_for_an_oversize_datagram() {
    let dir = TempDir::new("quiettrunc");
    let path = dir.path("q.sock");
    let data: Vec<u8> = (0..100u8).map(|i| b'a' + i % 26).collect();
    for twin in [false, true] {
        for (family, addr_arg) in [("udp", "127.0.0.1:0"), ("unix", path.as_str())] {
            // With MSG_TRUNC (issue 15: asked for), so the server knows.
            let mut args = vec![
                addr_arg,
                "--bufsize",
                "16",
                "--once",
                "-q",
                "--recv-flags",
                "MSG_TRUNC",
            ];
            if family == "unix" {
                args.push("--dgram");
            }
            let srv = Server::start_cmd(program(twin, family, "server", &args));
            let reply = if family == "udp" {
                let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
                s.set_read_timeout(Some(WATCHDOG)).unwrap();
                s.send_to(&data, &srv.addr).unwrap();
                let mut buf = [0u8; 200];
                let n = s.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            } else {
                let me = dir.path(&format!("c{twin}"));
                let s = UnixDatagram::bind(&me).unwrap();
                s.set_read_timeout(Some(WATCHDOG)).unwrap();
                s.send_to(&data, &srv.addr).unwrap();
                let mut buf = [0u8; 200];
                let n = s.recv(&mut buf).unwrap();
                buf[..n].to_vec()
            };
            assert_eq!(
                reply,
                data[..16].to_ascii_uppercase(),
                "twin={twin} {family}"
            );
            let out = srv.finish();
            out.assert_ok();
            let per_datagram: Vec<&str> = out
                .stdout
                .lines()
                .filter(|l| l.contains("truncated") || l.starts_with("datagram from"))
                .collect();
            assert!(
                per_datagram.is_empty(),
                "twin={twin} {family}: -q prints nothing per datagram, got {per_datagram:?}\n{}",
                out.dump()
            );
        }
    }
}
