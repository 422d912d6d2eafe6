//! Peers that reset, half-close, stay silent, flood or vanish.

use super::*;

#[test]
fn server_survives_a_reset_mid_message() {
    servers(&["--max-conns", "2"], |mut srv| {
        let mut peer = Peer::connect(&srv.addr);
        peer.write(b"half a mess");
        srv.wait_for("from ");
        // Unread reply in our buffer + linger 0: an RST (TCP), a reset (UNIX).
        peer.reset();
        next_client_is_served(&srv.addr);
        let out = srv.finish();
        out.assert_ok();
        assert!(out.stdout.contains("\"next\""), "{}", out.dump());
    });
}

#[test]
fn server_answers_a_half_closed_client_then_the_next() {
    servers(&["--max-conns", "2"], |srv| {
        let mut peer = Peer::connect(&srv.addr);
        peer.write(b"hello");
        peer.half_close();
        // The server reads "hello", answers, reads 0 (our FIN) and closes:
        // we read the reply, then end of stream.
        let got = peer.read_n(usize::MAX);
        assert_eq!(got, b"HELLO");
        next_client_is_served(&srv.addr);
        let out = srv.finish();
        out.assert_ok().stdout_has("closed");
    });
}

#[test]
fn a_silent_client_holds_the_iterative_server_until_it_leaves() {
    servers(&["--max-conns", "2"], |mut srv| {
        let silent = Peer::connect(&srv.addr);
        srv.wait_for("connection from ");
        // The next client connects (the kernel queues it) and waits.
        let addr = srv.addr.clone();
        let next = std::thread::spawn(move || next_client_is_served(&addr));
        drop(silent);
        next.join().unwrap();
        srv.finish().assert_ok();
    });
}

#[test]
fn timeout_ends_a_silent_client_and_the_server_goes_on() {
    servers(&["--max-conns", "2", "--timeout", "0.5"], |mut srv| {
        let _silent = Peer::connect(&srv.addr);
        srv.wait_for("connection from ");
        next_client_is_served(&srv.addr);
        let out = srv.finish();
        out.assert_ok().stderr_has("timed out");
    });
}

#[test]
fn a_flood_without_reading_does_not_grow_the_server() {
    servers(&["--max-conns", "3", "-q"], |srv| {
        let before = rss_kib(srv.pid());
        let mut peer = Peer::connect(&srv.addr);
        // 1 MiB without reading a reply: the server echoes until both
        // directions' buffers are full, then blocks in sendto (it reads no
        // more than --bufsize at a time, and holds nothing else).
        let fd = peer.fd();
        // SAFETY: fd is our socket; make writes non-blocking.
        unsafe { libc::fcntl(fd, libc::F_SETFL, libc::O_NONBLOCK) };
        let chunk = vec![b'x'; 64 * 1024];
        let mut sent = 0usize;
        let mut stalled = 0;
        while sent < (1 << 20) && stalled < 50 {
            match peer
                .stream()
                .1
                .write(&chunk[..chunk.len().min((1 << 20) - sent)])
            {
                Ok(n) => {
                    sent += n;
                    stalled = 0;
                }
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    // Wait (bounded) for room; 50 waits of 20 ms with no
                    // room at all: the server has stopped reading.
                    let mut pfd = libc::pollfd {
                        fd,
                        events: libc::POLLOUT,
                        revents: 0,
                    };
                    // SAFETY: one valid pollfd.
                    if unsafe { libc::poll(&mut pfd, 1, 20) } == 0 {
                        stalled += 1;
                    }
                }
                Err(e) => panic!("{e}"),
            }
        }
        let during = rss_kib(srv.pid());
        assert!(
            during < before + 4096,
            "server RSS grew from {before} KiB to {during} KiB under a flood of {sent} bytes"
        );
        // Leave with the replies unread: the server's send fails (reset)
        // or completes; either way it serves the next client.
        peer.reset();
        next_client_is_served(&srv.addr);
        let after = rss_kib(srv.pid());
        assert!(after < before + 4096, "{before} KiB -> {after} KiB");
        println!("flood of {sent} bytes unread: server RSS {before} -> {during} -> {after} KiB");
        next_client_is_served(&srv.addr);
        srv.finish().assert_ok();
    });
}

#[test]
fn a_client_killed_with_data_in_flight_does_not_stop_the_server() {
    servers(&["--max-conns", "2"], |mut srv| {
        let family = if srv.addr.starts_with('/') {
            "unix"
        } else {
            "tcp"
        };
        // A socklab client sending 8 MiB, killed once the server has
        // accepted it: megabytes still to come, echoes unread.
        let mut c = socklab(&[family, "client", &srv.addr, "--size", "8388608"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        srv.wait_for("connection from ");
        let _ = c.kill();
        let _ = c.wait();
        next_client_is_served(&srv.addr);
        srv.finish().assert_ok();
    });
}

#[test]
fn a_client_that_sends_and_vanishes_before_the_reply() {
    servers(&["--max-conns", "2"], |mut srv| {
        let mut peer = Peer::connect(&srv.addr);
        peer.write(b"bye");
        drop(peer);
        srv.wait_for("from ");
        next_client_is_served(&srv.addr);
        srv.finish().assert_ok();
    });
}
