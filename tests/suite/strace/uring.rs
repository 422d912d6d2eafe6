//! `--model uring`: socklab's trace equals strace's, io_uring_setup,
//! the mmaps of the rings, io_uring_register and each io_uring_enter.

use super::*;

#[test]
fn tcp_server_model_uring() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("model-uring");
    let mut srv = Traced::new(&dir, "server");
    let filter: &'static str = Box::leak(format!("{},mmap", model_filter()).into_boxed_str());
    srv.filter = filter;
    let server = Server::start_cmd(srv.command(&[
        "tcp",
        "server",
        "127.0.0.1:0",
        "--model",
        "uring",
        "--max-conns",
        "1",
    ]));
    run(
        harness::socklab(&["tcp", "client", &server.addr, "-m", "hello"]),
        b"",
    )
    .assert_ok()
    .stdout_has("HELLO");
    server.finish().assert_ok();
    // The loader's and the allocator's mmaps come before io_uring_setup:
    // only the ones after it are compared (the rings', the buffers').
    let raw = srv.strace_lines();
    let setup = raw
        .iter()
        .position(|l| l.starts_with("io_uring_setup("))
        .expect("strace saw io_uring_setup");
    let raw = raw
        .iter()
        .enumerate()
        .filter(|(i, l)| *i > setup || !l.starts_with("mmap("))
        .map(|(_, l)| l.clone())
        .collect();
    let s = srv.assert_equal_to("uring server", raw);
    for call in [
        "io_uring_setup",
        "io_uring_register",
        "io_uring_enter",
        "getpeername",
    ] {
        assert!(
            s.iter().any(|l| l.starts_with(&format!("{call}("))),
            "server trace lacks {call}: {s:#?}"
        );
    }
    let mmaps = s.iter().filter(|l| l.starts_with("mmap(")).count();
    assert_eq!(mmaps, 3, "{s:#?}");
    // Nothing of the echo itself is a syscall: no recvfrom, no sendto.
    assert!(
        !s.iter()
            .any(|l| l.starts_with("recvfrom(") || l.starts_with("sendto(")),
        "{s:#?}"
    );
}
