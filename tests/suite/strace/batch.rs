//! Issue 18: `udp server --batch N`'s recvmmsg and sendmmsg lines equal
//! strace's: the msgvec array (msg_hdr with msg_namelen `128 => 16`, the
//! bytes up to msg_len, MSG_TRUNC in msg_flags), vlen, flags, the NULL
//! timeout; more than 32 entries end in `...`, as strace cuts them.
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use super::*;

#[test]
fn udp_server_batch_recvmmsg_and_sendmmsg_equal_strace() {
    if !have("strace") {
        return;
    }
    const N: usize = 45;
    let dir = TempDir::new("batchtrace");
    let srv = Traced::new(&dir, "server");
    let max = N.to_string();
    let server = Server::start_cmd(srv.command(&[
        "udp",
        "server",
        "127.0.0.1:0",
        "-q",
        "--batch",
        "40",
        "--max-conns",
        &max,
        "--bufsize",
        "16",
        "--recv-flags",
        "MSG_TRUNC",
    ]));
    let peer = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    peer.set_read_timeout(Some(crate::harness::WATCHDOG))
        .unwrap();
    let text = b"0123456789abcdef0123456789abcdefXYZ";
    for i in 0..N {
        peer.send_to(&text[..i % text.len()], &server.addr).unwrap();
    }
    let mut buf = [0u8; 64];
    for _ in 0..N {
        let (n, _) = peer.recv_from(&mut buf).unwrap();
        assert!(n <= 16);
        assert_eq!(buf[..n].to_ascii_uppercase(), buf[..n]);
    }
    let out = server.finish();
    out.assert_ok();
    assert!(
        out.stdout.contains(&format!("batched: {N} datagrams, ")),
        "{}",
        out.dump()
    );
    let lines = srv.assert_equal("batch server");
    assert!(has_call(&lines, "recvmmsg") && has_call(&lines, "sendmmsg"));
    let recv = lines.iter().find(|l| l.starts_with("recvmmsg(")).unwrap();
    assert!(
        recv.contains(", MSG_TRUNC|MSG_WAITFORONE, NULL) = "),
        "{recv}"
    );
}
