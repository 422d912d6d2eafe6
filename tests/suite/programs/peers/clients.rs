//! socklab's clients with socat and nc as servers.

use super::*;

// ===========================================================================
// socat (and nc) as servers for socklab's clients
// ===========================================================================

#[test]
fn tcp_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    // PIPE: socat echoes every byte back, whatever the chunking.
    let socat = Socat::start(&["TCP-LISTEN:0,bind=127.0.0.1", "PIPE"]);
    let addr = format!("127.0.0.1:{}", socat.port());
    let client = run(
        socklab(&["tcp", "client", &addr, "-m", "hello", "-m", "world"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "hello\nworld\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

#[test]
fn tcp_client_socat_upcasing_server() {
    if !have_both() {
        return;
    }
    // tr buffers until its input ends; dd passes on exactly one read (one
    // message) and ends, so tr answers at once.
    let socat = Socat::start(&[
        "TCP-LISTEN:0,bind=127.0.0.1",
        "SYSTEM:dd bs=64 count=1 2>/dev/null | tr a-z A-Z",
    ]);
    let addr = format!("127.0.0.1:{}", socat.port());
    let client = run(socklab(&["tcp", "client", &addr, "-m", "hello"]), b"");
    client.assert_ok();
    assert_eq!(client.stdout, "HELLO\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

#[test]
fn tcp6_client_socat_echo_server() {
    if !have_both() || !have_ipv6() {
        return;
    }
    let socat = Socat::start(&["TCP6-LISTEN:0,bind=[::1]", "PIPE"]);
    let addr = format!("[::1]:{}", socat.port());
    let client = run(socklab(&["tcp", "client", &addr]), b"one\ntwo\n");
    client.assert_ok();
    assert_eq!(client.stdout, "one\ntwo\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

#[test]
fn udp_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    // UDP-LISTEN logs the bound port (UDP-RECVFROM:0 would log port 0).
    let socat = Socat::start(&["UDP-LISTEN:0,bind=127.0.0.1", "PIPE"]);
    let addr = format!("127.0.0.1:{}", socat.port());
    let client = run(
        socklab(&["udp", "client", &addr, "-m", "hello", "-m", "again"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "hello\nagain\n", "{}", client.dump());
    // A datagram conversation has no end: socat would wait forever.
    let log = socat.kill();
    assert!(
        log.contains("accepting UDP connection"),
        "socat log:\n{log}"
    );
}

#[test]
fn udp_connected_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    let socat = Socat::start(&["UDP-LISTEN:0,bind=127.0.0.1", "PIPE"]);
    let addr = format!("127.0.0.1:{}", socat.port());
    let client = run(
        socklab(&["udp", "client", &addr, "--connect", "-m", "connected"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "connected\n", "{}", client.dump());
    socat.kill();
}

#[test]
fn unix_stream_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-socat-srv-unix");
    let path = dir.path("socat.sock");
    let socat = Socat::start(&[&format!("UNIX-LISTEN:{path}"), "PIPE"]);
    assert_eq!(socat.addr, format!("\"{path}\""));
    let client = run(
        socklab(&["unix", "client", &path, "-m", "hi", "-m", "there"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "hi\nthere\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

#[test]
fn unix_dgram_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-socat-srv-dgram");
    let path = dir.path("socat.sock");
    // UNIX-RECVFROM answers the sender: socklab's client autobinds for that.
    let socat = Socat::start(&[&format!("UNIX-RECVFROM:{path}"), "PIPE"]);
    let client = run(
        socklab(&["unix", "client", &path, "--dgram", "-m", "datagram"]),
        b"",
    );
    client.assert_ok();
    assert_eq!(client.stdout, "datagram\n", "{}", client.dump());
    // One datagram, one answer, then socat ends by itself.
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
    // The autobind address: socat logs it as "\0" and five hex digits.
    assert!(
        s.stderr.contains("receiving packet from AF=1 \"\\0"),
        "socat log:\n{}",
        s.stderr
    );
}

#[test]
fn abstract_client_socat_echo_server() {
    if !have_both() {
        return;
    }
    let name = abstract_name("peers-socat-srv-abs");
    let socat = Socat::start(&[&format!("ABSTRACT-LISTEN:{}", &name[1..]), "PIPE"]);
    assert_eq!(socat.addr, format!("\"\\0{}\"", &name[1..]));
    let client = run(socklab(&["unix", "client", &name, "-m", "abstract"]), b"");
    client.assert_ok();
    assert_eq!(client.stdout, "abstract\n", "{}", client.dump());
    let s = socat.finish();
    assert_eq!(s.code(), Some(0), "socat\n{}", s.dump());
}

/// nc as a UNIX stream server: it prints what it receives and sends what the
/// test writes to its stdin, so the test plays the server by hand.
#[test]
fn unix_stream_client_nc_server() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-nc-srv-unix");
    let path = dir.path("nc.sock");
    let mut nc = cmd("nc", &["-N", "-l", "-U", &path]);
    nc.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut nc = nc.spawn().expect("spawn nc");
    let nc_pid = nc.id() as i32;
    // nc -l prints nothing when it is ready, so there is no handshake to
    // read. Poll (bounded, 1 ms steps) for its socket in /proc/net/unix with
    // the listening flag (__SO_ACCEPTCON, 00010000): the file alone appears
    // at bind(), before listen(), when a connect would still be refused.
    let deadline = Instant::now() + WATCHDOG;
    while !unix_listening(&path) {
        if Instant::now() >= deadline {
            // SAFETY: our child.
            unsafe { libc::kill(nc_pid, libc::SIGKILL) };
            panic!("nc never listened on {path}\n{}", finish(nc).dump());
        }
        std::thread::sleep(std::time::Duration::from_millis(1));
    }
    let mut nc_in = nc.stdin.take().expect("stdin");
    let mut nc_out = BufReader::new(nc.stdout.take().expect("stdout"));

    // The client: one message, print the reply, close.
    let mut client = socklab(&["unix", "client", &path, "-m", "question"]);
    client
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let client = client.spawn().expect("spawn client");

    // nc prints the bytes it received (no newline: socklab sends none). The
    // reader keeps nc's stdout open until nc exits: nc gives up on the
    // connection when its stdout goes away.
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        let mut buf = [0u8; 64];
        while let Ok(n) = nc_out.read(&mut buf) {
            if n == 0 || tx.send(buf[..n].to_vec()).is_err() {
                return;
            }
        }
    });
    let deadline = Instant::now() + WATCHDOG;
    let mut got = Vec::new();
    while got.len() < b"question".len() {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(chunk) => got.extend_from_slice(&chunk),
            Err(_) => {
                // SAFETY: our child.
                unsafe { libc::kill(nc_pid, libc::SIGKILL) };
                panic!(
                    "nc printed {:?}, not the client's message",
                    String::from_utf8_lossy(&got)
                );
            }
        }
    }
    assert_eq!(String::from_utf8_lossy(&got), "question");
    nc_in.write_all(b"ANSWER").expect("write to nc");
    nc_in.flush().expect("flush");
    // Keep nc's stdin open until the client has its answer: nc may drop what
    // is still unread on a pipe that already hung up. The client closes
    // after one reply; then the end of nc's stdin lets nc exit.
    let client = finish(client);
    drop(nc_in);
    client.assert_ok();
    assert_eq!(client.stdout, "ANSWER\n", "{}", client.dump());
    let nc = finish(nc);
    assert_eq!(nc.code(), Some(0), "nc\n{}", nc.dump());
}

/// Is a UNIX stream socket listening on `path`? (/proc/net/unix: the Flags
/// column is 00010000 for a listening socket; the path is the last column.)
fn unix_listening(path: &str) -> bool {
    let table = std::fs::read_to_string("/proc/net/unix").expect("/proc/net/unix");
    table.lines().skip(1).any(|line| {
        let cols: Vec<&str> = line.split_whitespace().collect();
        cols.len() >= 8 && cols[3] == "00010000" && cols[7] == path
    })
}
