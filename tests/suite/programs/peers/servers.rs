//! socklab's servers with nc and socat as clients.

use super::*;

// ===========================================================================
// nc and socat as clients of socklab's servers
// ===========================================================================

#[test]
fn tcp_server_nc_client() {
    if !have_both() {
        return;
    }
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    // -N: shutdown(SHUT_WR) after stdin's end, so the server sees EOF.
    let nc = run(
        cmd("nc", &["-N", "127.0.0.1", port_of(&server.addr)]),
        b"hello",
    );
    assert_reply(&nc, "HELLO", "nc");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout.contains(": 5 bytes \"hello\""),
        "server did not report the bytes\n{}",
        srv.dump()
    );
    assert!(srv.stdout.contains("from 127.0.0.1:"), "{}", srv.dump());
}

#[test]
fn tcp6_server_nc_client() {
    if !have_both() || !have_ipv6() {
        return;
    }
    let server = Server::start(&["tcp", "server", "[::1]:0", "--max-conns", "1"]);
    assert!(server.addr.starts_with("[::1]:"), "{}", server.addr);
    let nc = run(
        cmd("nc", &["-6", "-N", "::1", port_of(&server.addr)]),
        b"hello",
    );
    assert_reply(&nc, "HELLO", "nc -6");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout.contains("from [::1]:") && srv.stdout.contains(": 5 bytes \"hello\""),
        "{}",
        srv.dump()
    );
}

#[test]
fn tcp_server_socat_client() {
    if !have_both() {
        return;
    }
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    // -t 10: after stdin's end socat half-closes and waits (up to 10 s) for
    // the server to answer and close; it exits as soon as the server closes.
    let target = format!("TCP:{}", server.addr);
    let socat = run(cmd("socat", &["-t", "10", "-", &target]), b"hello world");
    assert_reply(&socat, "HELLO WORLD", "socat");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout.contains(": 11 bytes \"hello world\""),
        "{}",
        srv.dump()
    );
}

#[test]
fn udp_server_nc_client() {
    if !have_both() {
        return;
    }
    let server = Server::start(&["udp", "server", "127.0.0.1:0", "--max-conns", "1"]);
    let got = converse_then_kill(
        cmd("nc", &["-u", "127.0.0.1", port_of(&server.addr)]),
        b"hello",
        "HELLO",
    );
    assert_eq!(got, "HELLO");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout.contains("from 127.0.0.1:") && srv.stdout.contains(": 5 bytes \"hello\""),
        "{}",
        srv.dump()
    );
}

#[test]
fn udp6_server_socat_client() {
    if !have_both() || !have_ipv6() {
        return;
    }
    let server = Server::start(&["udp", "server", "[::1]:0", "--max-conns", "1"]);
    let target = format!("UDP6:{}", server.addr);
    let got = converse_then_kill(cmd("socat", &["-", &target]), b"ping", "PING");
    assert_eq!(got, "PING");
    let srv = server.finish();
    srv.assert_ok();
    assert!(srv.stdout.contains(": 4 bytes \"ping\""), "{}", srv.dump());
}

#[test]
fn unix_stream_server_nc_client() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-nc-unix");
    let path = dir.path("srv.sock");
    let server = Server::start(&["unix", "server", &path, "--max-conns", "1"]);
    let nc = run(cmd("nc", &["-N", "-U", &path]), b"hello");
    assert_reply(&nc, "HELLO", "nc -U");
    let srv = server.finish();
    srv.assert_ok();
    assert!(srv.stdout.contains(": 5 bytes \"hello\""), "{}", srv.dump());
    assert!(
        !std::path::Path::new(&path).exists(),
        "the server should unlink its socket file on exit"
    );
}

#[test]
fn unix_stream_server_socat_client() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-socat-unix");
    let path = dir.path("srv.sock");
    let server = Server::start(&["unix", "server", &path, "--max-conns", "1"]);
    let target = format!("UNIX-CONNECT:{path}");
    let socat = run(cmd("socat", &["-t", "10", "-", &target]), b"over unix");
    assert_reply(&socat, "OVER UNIX", "socat");
    server.finish().assert_ok();
}

#[test]
fn unix_dgram_server_nc_client() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-nc-dgram");
    let path = dir.path("srv.sock");
    let server = Server::start(&["unix", "server", &path, "--dgram", "--max-conns", "1"]);
    // OpenBSD nc -uU binds its own /tmp/nc-XXXXXX/recv.sock for the reply.
    let got = converse_then_kill(cmd("nc", &["-u", "-U", &path]), b"hello", "HELLO");
    assert_eq!(got, "HELLO");
    let srv = server.finish();
    srv.assert_ok();
    assert!(srv.stdout.contains(": 5 bytes \"hello\""), "{}", srv.dump());
}

#[test]
fn unix_dgram_server_socat_client() {
    if !have_both() {
        return;
    }
    let dir = TempDir::new("peers-socat-dgram");
    let path = dir.path("srv.sock");
    let client_path = dir.path("cli.sock");
    let server = Server::start(&["unix", "server", &path, "--dgram", "--max-conns", "1"]);
    // The client binds a path of its own so that the reply has somewhere to go.
    let target = format!("UNIX-SENDTO:{path},bind={client_path}");
    let got = converse_then_kill(cmd("socat", &["-", &target]), b"hello", "HELLO");
    assert_eq!(got, "HELLO");
    let srv = server.finish();
    srv.assert_ok();
    assert!(
        srv.stdout
            .contains(&format!("from {client_path}: 5 bytes \"hello\"")),
        "{}",
        srv.dump()
    );
}

#[test]
fn abstract_server_socat_client() {
    if !have_both() {
        return;
    }
    let name = abstract_name("peers-abs");
    let server = Server::start(&["unix", "server", &name, "--max-conns", "1"]);
    let target = format!("ABSTRACT-CONNECT:{}", &name[1..]);
    let socat = run(cmd("socat", &["-t", "10", "-", &target]), b"no file");
    assert_reply(&socat, "NO FILE", "socat");
    server.finish().assert_ok();
}
