//! get/setsockopt in scripts: `LEVEL:N` as `--sockopt` writes it (a
//! level by name or number, the option by number), the name strace
//! prints for it read back, and SO_RCVTIMEO_OLD's timeval.

use super::script;

#[test]
fn script_level_colon_number_options_run_under_strace_names() {
    let out = script(
        "u = socket(AF_INET, SOCK_DGRAM, 0)\n\
         setsockopt(u, SOL_IP:13, [1]) = 0\n\
         getsockopt(u, SOL_IP:13, [1], [4]) = 0\n\
         setsockopt(u, 0:8, [1], 4) = 0\n\
         getsockopt(u, SOL_IP, IP_PKTINFO, [1], [4]) = 0\n\
         s = socket(AF_INET6, SOCK_STREAM, 0)\n\
         setsockopt(s, 41:67, [32]) = 0\n\
         getsockopt(s, SOL_IPV6, IPV6_TCLASS, [32], [4]) = 0\n\
         getsockopt(s, SOL_TCP:13, ..., [16])\n\
         getsockopt(s, IPPROTO_TCP:1, [0], [4]) = 0\n",
        &[],
    );
    out.assert_ok();
    for line in [
        "setsockopt(3, SOL_IP, IP_RECVTOS, [1], 4) = 0\n",
        "getsockopt(3, SOL_IP, IP_RECVTOS, [1], [4]) = 0\n",
        "setsockopt(3, SOL_IP, IP_PKTINFO, [1], 4) = 0\n",
        "setsockopt(4, SOL_IPV6, IPV6_TCLASS, [32], 4) = 0\n",
        "getsockopt(4, SOL_TCP, TCP_CONGESTION, ",
        "getsockopt(4, SOL_TCP, TCP_NODELAY, [0], [4]) = 0\n",
    ] {
        assert!(out.stdout.contains(line), "{line}\n{}", out.dump());
    }
}

#[test]
fn script_level_colon_number_errors_are_syntax_errors() {
    script(
        "u = socket(AF_INET, SOCK_DGRAM, 0)\nsetsockopt(u, SOL_NOPE:13, [1])\nsetsockopt(u, SOL_IP:x, [1])\n",
        &[],
    )
    .assert_code(2)
    .stderr_has("-:2:15: unknown constant 'SOL_NOPE'")
    .stderr_has("-:3:21: expected ',' or ')', found ':'");
}

#[test]
fn script_rcvtimeo_old_takes_a_timeval() {
    let out = script(
        "u = socket(AF_INET, SOCK_DGRAM, 0)\n\
         setsockopt(u, SOL_SOCKET, SO_RCVTIMEO_OLD, {tv_sec=1, tv_usec=500000}, 16) = 0\n\
         getsockopt(u, SOL_SOCKET, SO_RCVTIMEO_OLD, {tv_sec=1, tv_usec=500000}, [16]) = 0\n\
         getsockopt(u, SOL_SOCKET, SO_RCVTIMEO_OLD, {tv_sec=2, tv_usec=0}, [16]) = 0\n",
        &[],
    );
    // strace 6.1 prints this option's value as bytes; the read back
    // compares the timeval's bytes.
    out.assert_code(1)
        .stderr_has(":4: getsockopt(u, SOL_SOCKET, SO_RCVTIMEO_OLD, {tv_sec=2, tv_usec=0}");
    assert!(
        out.stdout.contains(
            "setsockopt(3, SOL_SOCKET, SO_RCVTIMEO_OLD, \"\\1\\0\\0\\0\\0\\0\\0\\0 \\241\\7\\0\\0\\0\\0\\0\", 16) = 0\n"
        ),
        "{}",
        out.dump()
    );
}
