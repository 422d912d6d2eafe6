//! A whole line whose call ends by itself (poll or epoll_wait with a
//! timeout >= 0, a call expected to fail with EAGAIN) waits for its
//! return before the next line starts (src/script/waits.rs): the next
//! line cannot change what it returns.

use std::time::{Duration, Instant};

use super::script;

/// Each timed call, written whole, would be answered by the next line if
/// that line started as soon as the call slept: the poll would see the
/// byte, the read with SO_RCVTIMEO would get it.
const TIMED: &str = r#"p = socketpair(AF_UNIX, SOCK_STREAM, 0)
a | poll([{fd=p[0], events=POLLIN}], 1, 150) = 0 (Timeout)
b | write(p[1], "x") = 1
a | read(p[0], 10) = 1
e = epoll_create1(0)
epoll_ctl(e, EPOLL_CTL_ADD, p[0], {events=EPOLLIN, data={u32=3, u64=3}}) = 0
a | epoll_wait(e, [], 4, 150) = 0
b | write(p[1], "y") = 1
a | read(p[0], 10) = 1
setsockopt(p[0], SOL_SOCKET, SO_RCVTIMEO_OLD, "\0\0\0\0\0\0\0\0\360I\2\0\0\0\0\0", 16) = 0
a | read(p[0], 10) = -1 EAGAIN
b | write(p[1], "z") = 1
a | read(p[0], 10) = 1
"#;

#[test]
fn script_a_whole_timed_line_waits_for_its_return() {
    let t0 = Instant::now();
    let out = script(TIMED, &[]);
    out.assert_ok();
    // 150 ms of poll, 150 of epoll_wait, 150 of SO_RCVTIMEO (0x249f0 µs).
    assert!(t0.elapsed() >= Duration::from_millis(450), "{}", out.dump());
    for line in [
        "     a | poll([{fd=3, events=POLLIN}], 1, 150) = 0 (Timeout)\n     b | write(4, \"x\", 1) = 1\n     a | read(3, \"x\", 10) = 1\n",
        "     a | epoll_wait(5, [], 4, 150) = 0\n     b | write(4, \"y\", 1) = 1\n",
        "     a | read(3, 0x",
        ", 10) = -1 EAGAIN (Resource temporarily unavailable)\n     b | write(4, \"z\", 1) = 1\n     a | read(3, \"z\", 10) = 1\n",
    ] {
        out.stdout_has(line);
    }
    assert!(!out.stdout.contains("unfinished"), "{}", out.dump());
}

/// The same calls written as strace -f splits them (`<unfinished ...>`)
/// keep rule 5: asleep in its call, the next line starts and answers it.
#[test]
fn script_an_unfinished_timed_line_lets_the_next_line_answer_it() {
    let text = r#"p = socketpair(AF_UNIX, SOCK_STREAM, 0)
a | poll([{fd=p[0], events=POLLIN}], 1, 5000 <unfinished ...>
b | write(p[1], "x") = 1
a | <... poll resumed>) = 1 ([{fd=p[0], revents=POLLIN}])
"#;
    let t0 = Instant::now();
    let out = script(text, &[]);
    out.assert_ok();
    assert!(t0.elapsed() < Duration::from_secs(3), "{}", out.dump());
    out.stdout_has("     a | poll([{fd=3, events=POLLIN}], 1, 5000 <unfinished ...>\n     b | write(4, \"x\", 1) = 1\n     a | <... poll resumed>) = 1 ([{fd=3, revents=POLLIN}])\n");
}

/// A timed call written as a pair whose `<... resumed>` line stands
/// before another actor's line returned where that line says: the next
/// line waits for it (a lab's poll that timed out while the server was
/// busy elsewhere replays as a timeout, not as the answer).
#[test]
fn script_a_timed_pair_returns_where_its_resumed_line_stands() {
    let text = r#"p = socketpair(AF_UNIX, SOCK_STREAM, 0)
a | poll([{fd=p[0], events=POLLIN}], 1, 150 <unfinished ...>
b | getsockname(p[1], ..., ...) = 0
a | <... poll resumed>) = 0 (Timeout)
b | write(p[1], "x") = 1
a | read(p[0], 10) = 1
"#;
    let out = script(text, &[]);
    out.assert_ok();
    out.stdout_has("     a | <... poll resumed>) = 0 (Timeout)\n     b | write(4, \"x\", 1) = 1\n");
}
