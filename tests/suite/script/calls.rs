//! Many calls in one script, each line checking its result and what it
//! reads back: MSG_PEEK, MSG_WAITALL, MSG_DONTWAIT, fcntl O_NONBLOCK,
//! ioctl FIONREAD, options by name, dup, dup2, shutdown, poll, epoll,
//! sendmsg/recvmsg with SCM_RIGHTS across a socketpair (the fd received
//! is a label: the script's 12 is the 9 this run got).

use super::script;

pub const MANY: &str = r#"# every line checks its result
p = socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0
write(p[0], "abc") = 3
ioctl(4, FIONREAD, [3]) = 0
recvfrom(4, "ab", 2, MSG_PEEK, NULL, NULL) = 2
read(4, "abc", 10) = 3
fcntl(4, F_GETFL) = 0x2 (flags O_RDWR)
fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0
recv(4, 10) = -1 EAGAIN (Resource temporarily unavailable)
recv(3, 10, MSG_DONTWAIT) = -1 EAGAIN
write(3, "wxyz") = 4
recvfrom(4, "wxyz", 4, MSG_WAITALL, NULL, NULL) = 4
setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
getsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], [4]) = 0
setsockopt(3, 1, 2, [0], 4) = 0
getsockopt(3, SOL_SOCKET, SO_REUSEADDR, [0], [4]) = 0
setsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0
getsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, [8]) = 0
getsockopt(3, SOL_SOCKET, SO_ERROR, [0], [4]) = 0
d = dup(3) = 5
shutdown(3, SHUT_WR) = 0
recv(4, 10) = 0
send(d, "x", MSG_NOSIGNAL) = -1 EPIPE
poll([{fd=4, events=POLLIN}], 1, 0) = 1 ([{fd=4, revents=POLLIN}])
epoll_create1(0) = 6
epoll_ctl(6, EPOLL_CTL_ADD, 4, {events=EPOLLIN, data={u32=4, u64=4}}) = 0
epoll_wait(6, [{events=EPOLLIN, data={u32=4, u64=4}}], 8, 0) = 1
socketpair(AF_UNIX, SOCK_DGRAM, 0, [7, 8]) = 0
sendmsg(7, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="fd", iov_len=2}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[4]}], msg_controllen=24, msg_flags=0}, 0) = 2
recvmsg(8, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="fd", iov_len=16}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[12]}], msg_controllen=24, msg_flags=0}, 0) = 2
write(12, "via") = 3
read(3, "via", 10) = 3
dup2(4, 20) = 20
close(20) = 0
close(12) = 0
"#;

#[test]
fn script_many_calls_each_checked() {
    let out = script(MANY, &[]);
    out.assert_ok();
    // The timeline shows the real calls, short forms included.
    for line in [
        "socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0\n",
        "write(3, \"abc\", 3) = 3\n",
        "ioctl(4, FIONREAD, [3]) = 0\n",
        "recvfrom(4, \"ab\", 2, MSG_PEEK, NULL, NULL) = 2\n",
        "recvfrom(4, 0x",
        "fcntl(4, F_SETFL, O_RDWR|O_NONBLOCK) = 0\n",
        "recvfrom(3, 0x",
        ", 10, MSG_DONTWAIT, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)\n",
        "recvfrom(4, \"wxyz\", 4, MSG_WAITALL, NULL, NULL) = 4\n",
        "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0\n",
        // A level and an option written as numbers print by name.
        "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [0], 4) = 0\n",
        "getsockopt(3, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, [8]) = 0\n",
        "dup(3) = 5\n",
        "shutdown(3, SHUT_WR) = 0\n",
        "sendto(5, \"x\", 1, MSG_NOSIGNAL, NULL, 0) = -1 EPIPE (Broken pipe)\n",
        "poll([{fd=4, events=POLLIN}], 1, 0) = 1 ([{fd=4, revents=POLLIN}])\n",
        "cmsg_data=[4]}], msg_controllen=24, msg_flags=0}, 0) = 2\n",
        "read(3, \"via\", 10) = 3\n",
        "write(9, \"via\", 3) = 3\n",
        "dup2(4, 20) = 20\n",
    ] {
        out.stdout_has(line);
    }
}

#[test]
fn script_a_wrong_value_read_back_fails() {
    // SO_ERROR reads 0: expecting 1 fails on that argument.
    let text = MANY.replace("SO_ERROR, [0], [4]", "SO_ERROR, [1], [4]");
    script(&text, &[])
        .assert_code(1)
        .stderr_has("expected argument 4 (optval): [1]")
        .stderr_has("got      argument 4 (optval): [0]");
    // Bytes peeked but not there.
    let text = MANY.replace(
        "recvfrom(4, \"ab\", 2, MSG_PEEK",
        "recvfrom(4, \"ax\", 2, MSG_PEEK",
    );
    script(&text, &[])
        .assert_code(1)
        .stderr_has(":5: recvfrom(4, \"ax\"");
}

/// Datagrams: sendmsg with a msg_name and two iovecs, recvmsg naming the
/// sender (a port label its getsockname then meets), sendto with a short
/// address, MSG_TRUNC; SCM_CREDENTIALS whose `...` fields are the
/// sender's own pid, uid and gid.
const DATAGRAMS: &str = r#"a = socket(AF_INET, SOCK_DGRAM, 0)
bind(a, 127.0.0.1:0) = 0
getsockname(a, 127.0.0.1:40000, ...) = 0
b = socket(AF_INET, SOCK_DGRAM, 0)
sendmsg(b, {msg_name={sa_family=AF_INET, sin_port=htons(40000), sin_addr=inet_addr("127.0.0.1")}, msg_namelen=16, msg_iov=[{iov_base="ab", iov_len=2}, {iov_base="cd", iov_len=2}], msg_iovlen=2, msg_controllen=0, msg_flags=0}, 0) = 4
recvmsg(a, {msg_name={sa_family=AF_INET, sin_port=htons(40001), sin_addr=inet_addr("127.0.0.1")}, msg_namelen=16 => 16, msg_iov=[{iov_base="abcd", iov_len=10}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 4
getsockname(b, 0.0.0.0:40001, ...) = 0
sendto(b, "xyz", 3, 0, 127.0.0.1:40000, 16) = 3
recvfrom(a, "xyz", 100, 0, 127.0.0.1:40001, [128 => 16]) = 3
sendto(b, "x", 1, 0, {sa_family=AF_INET, sin_port=htons(40000), sin_addr=inet_addr("127.0.0.1")}, 16) = 1
recvfrom(a, "x", 100, MSG_TRUNC, {sa_family=AF_INET, sin_port=htons(40001), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 1
u = socketpair(AF_UNIX, SOCK_DGRAM, 0)
setsockopt(u[1], SOL_SOCKET, SO_PASSCRED, [1], 4) = 0
sendmsg(u[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="c", iov_len=1}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=..., gid=...}}], msg_controllen=32, msg_flags=0}, 0) = 1
recvmsg(u[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="c", iov_len=4}], msg_iovlen=1, msg_control=[{cmsg_len=28, cmsg_level=SOL_SOCKET, cmsg_type=SCM_CREDENTIALS, cmsg_data={pid=..., uid=0, gid=0}}], msg_controllen=32, msg_flags=0}, 0) = 1
"#;

#[test]
fn script_datagrams_with_names_iovecs_and_credentials() {
    let out = script(DATAGRAMS, &[]);
    out.assert_ok();
    out.stdout_has(
        "msg_iov=[{iov_base=\"ab\", iov_len=2}, {iov_base=\"cd\", iov_len=2}], msg_iovlen=2",
    )
    .stdout_has("msg_namelen=128 => 16, msg_iov=[{iov_base=\"abcd\", iov_len=10}]")
    .stdout_has("sendto(4, \"xyz\", 3, 0, {sa_family=AF_INET, sin_port=htons(")
    .stdout_has(&format!(
        "cmsg_type=SCM_CREDENTIALS, cmsg_data={{pid={}, uid=",
        out_pid(&out)
    ));
    // The sender's port, bound by recvmsg's msg_name, is checked against
    // the sender's own getsockname.
    let wrong = DATAGRAMS.replace(
        "getsockname(b, 0.0.0.0:40001",
        "getsockname(b, 0.0.0.0:40002",
    );
    script(&wrong, &[])
        .assert_code(1)
        .stderr_has(":7: getsockname(b, 0.0.0.0:40002, ...) = 0");
}

/// The pid in the credentials line (the sender's own: socklab's).
fn out_pid(out: &crate::harness::Outcome) -> String {
    let at = out.stdout.find("cmsg_data={pid=").unwrap() + "cmsg_data={pid=".len();
    let pid: String = out.stdout[at..]
        .chars()
        .take_while(char::is_ascii_digit)
        .collect();
    assert!(!pid.is_empty() && pid != "0", "{}", out.dump());
    pid
}

/// epoll_ctl's three operations, NULL for EPOLL_CTL_DEL, and
/// epoll_create1's flag.
const EPOLL_OPS: &str = r#"p = socketpair(AF_UNIX, SOCK_STREAM, 0)
e = epoll_create1(EPOLL_CLOEXEC)
epoll_ctl(e, EPOLL_CTL_ADD, p[0], {events=EPOLLIN|EPOLLOUT, data={u32=3, u64=3}}) = 0
epoll_ctl(e, EPOLL_CTL_MOD, p[0], {events=EPOLLOUT, data={u32=3, u64=3}}) = 0
epoll_wait(e, [{events=EPOLLOUT, data={u32=3, u64=3}}], 4, 0) = 1
epoll_ctl(e, EPOLL_CTL_DEL, p[0], NULL) = 0
epoll_wait(e, [], 4, 0) = 0
epoll_ctl(e, EPOLL_CTL_DEL, p[0], NULL) = -1 ENOENT
"#;

#[test]
fn script_epoll_ctl_add_mod_del() {
    let out = script(EPOLL_OPS, &[]);
    out.assert_ok()
        .stdout_has("epoll_create1(EPOLL_CLOEXEC) = 5\n")
        .stdout_has("epoll_ctl(5, EPOLL_CTL_MOD, 3, {events=EPOLLOUT, data={u32=3, u64=3}}) = 0\n")
        .stdout_has("epoll_wait(5, [], 4, 0) = 0\n")
        .stdout_has(
            "epoll_ctl(5, EPOLL_CTL_DEL, 3, NULL) = -1 ENOENT (No such file or directory)\n",
        );
}
