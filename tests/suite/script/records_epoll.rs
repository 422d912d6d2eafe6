//! The epoll model's record when the server is late (a loaded machine):
//! one epoll_wait reports the first client's end and the second
//! client's connection (`= 2`), the server closes the first and then
//! accepts. Its joined script replays: the second client connects
//! before that epoll_wait, not before the accept4 (records_models.rs's
//! `joined`; before, the replay's epoll_wait saw one event and failed
//! about 1 run in 30 beside other test modules). The record was made
//! by stopping the server (SIGSTOP) in its epoll_wait while the first
//! client closed and the second connected; the stop's `= -1 EINTR`
//! epoll_wait line is left out, and the prlimit64 lines (another
//! machine's limits differ).

use super::records_models::joined;
use super::script;

const SERVER: &str = r#"socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 4
bind(4, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
listen(4, 5) = 0
getsockname(4, {sa_family=AF_INET, sin_port=htons(49607), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 0
epoll_create1(EPOLL_CLOEXEC) = 5
epoll_ctl(5, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=4}}) = 0
epoll_wait(5, [{events=EPOLLIN, data={u32=4, u64=4}}], 512, -1) = 1
accept4(4, {sa_family=AF_INET, sin_port=htons(50894), sin_addr=inet_addr("127.0.0.1")}, [128 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 6
epoll_ctl(5, EPOLL_CTL_ADD, 6, {events=EPOLLIN, data={u32=6, u64=6}}) = 0
epoll_wait(5, [{events=EPOLLIN, data={u32=6, u64=6}}], 512, -1) = 1
recvfrom(6, "hello", 1024, 0, NULL, NULL) = 5
sendto(6, "HELLO", 5, 0, NULL, 0) = 5
epoll_wait(5, [{events=EPOLLIN, data={u32=6, u64=6}}, {events=EPOLLIN, data={u32=4, u64=4}}], 512, -1) = 2
recvfrom(6, "", 1024, 0, NULL, NULL) = 0
close(6) = 0
accept4(4, {sa_family=AF_INET, sin_port=htons(50902), sin_addr=inet_addr("127.0.0.1")}, [128 => 16], SOCK_CLOEXEC|SOCK_NONBLOCK) = 6
epoll_ctl(5, EPOLL_CTL_DEL, 4, NULL) = 0
epoll_ctl(5, EPOLL_CTL_ADD, 6, {events=EPOLLIN, data={u32=6, u64=6}}) = 0
epoll_wait(5, [{events=EPOLLIN, data={u32=6, u64=6}}], 512, -1) = 1
recvfrom(6, "two", 1024, 0, NULL, NULL) = 3
sendto(6, "TWO", 3, 0, NULL, 0) = 3
epoll_wait(5, [{events=EPOLLIN, data={u32=6, u64=6}}], 512, -1) = 1
recvfrom(6, "", 1024, 0, NULL, NULL) = 0
close(6) = 0
close(5) = 0
close(4) = 0
"#;

const HELLO: &str = r#"socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 4
connect(4, {sa_family=AF_INET, sin_port=htons(49607), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
sendto(4, "hello", 5, 0, NULL, 0) = 5
recvfrom(4, "HELLO", 1024, 0, NULL, NULL) = 5
close(4) = 0
"#;

const TWO: &str = r#"socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 4
connect(4, {sa_family=AF_INET, sin_port=htons(49607), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
sendto(4, "two", 3, 0, NULL, 0) = 3
recvfrom(4, "TWO", 1024, 0, NULL, NULL) = 3
close(4) = 0
"#;

#[test]
fn script_record_of_a_late_epoll_server_replays_with_its_clients() {
    let text = joined(
        SERVER,
        &[(HELLO.to_string(), "hello"), (TWO.to_string(), "two")],
        false,
    );
    let o = script(&text, &[]);
    o.assert_ok();
    // The replay's epoll_wait saw both, in the record's order: the
    // first connection's end, then the listener.
    assert!(
        o.stdout
            .lines()
            .any(|l| l.contains("epoll_wait(") && l.ends_with("}], 512, -1) = 2")),
        "{text}\n{}",
        o.dump()
    );
}
