//! Real output parses: a sample of `socklab lab all` (every call line
//! parses, and `parse_args` of its argument text gives the same
//! arguments), and lines `strace -f` printed for socket calls.

use super::*;
use crate::script::ast::{ExprKind, Field, Form, Outcome};

/// A representative part of `target/release/socklab lab all` (every
/// call it makes, the line shapes around them).
pub(super) const LAB_ALL: &str = r#"== lab phone-call: One connection, one message: does the answer come back upper-cased?
reproduces: tutorial step 1, the "low version" phone call (server: socket, bind, listen(5), accept, recv, send, close)

server | socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3
server | bind(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
server | listen(3, 5) = 0
server | getsockname(3, {sa_family=AF_INET, sin_port=htons(36297), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 0
client | socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 5
client | connect(5, {sa_family=AF_INET, sin_port=htons(36297), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
client | sendto(5, "linhaifeng nb", 13, 0, NULL, 0) = 13
server | accept4(3, {sa_family=AF_INET, sin_port=htons(52736), sin_addr=inet_addr("127.0.0.1")}, [128 => 16], SOCK_CLOEXEC) = 4
server | recvfrom(4, "linhaifeng nb", 1024, 0, NULL, NULL) = 13
server | close(4) = 0
client | recvfrom(5, "", 1024, 0, NULL, NULL) = 0

observed: the server heard "linhaifeng nb", the client got "LINHAIFENG NB"
why: socket/bind/listen/accept on one side and socket/connect on the other make one connection; recv returns what the peer's send put in the receive buffer.
lab phone-call: observed the server heard "linhaifeng nb", the client got "LINHAIFENG NB" (expected the message back upper-cased): PASS
-- TCP: the client sends b'' --
client | # TCP_INFO segs_out 2 before the send, 2 after: nothing went on the wire
   lab | ioctl(4, FIONREAD, [0]) = 0
   lab | shutdown(5, SHUT_RDWR) = 0
server | poll([{fd=3, events=POLLIN}], 1, 1000) = 1 ([{fd=3, revents=POLLIN}])
     B | poll([{fd=6, events=POLLIN}], 1, 300) = 0 (Timeout)
client | poll([{fd=4, events=POLLIN}], 1, 1000) = 1 ([{fd=4, revents=POLLIN|POLLERR|POLLHUP}])
server | recvfrom(3, "", 1024, 0, {sa_family=AF_INET, sin_port=htons(40942), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 0
server | setsockopt(3, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
server | setsockopt(3, SOL_SOCKET, SO_RCVTIMEO_OLD, "\2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0", 16) = 0
 srv-2 | bind(4, {sa_family=AF_INET, sin_port=htons(58033), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EADDRINUSE (Address already in use)
client | setsockopt(4, SOL_TCP, TCP_NODELAY, [1], 4) = 0
client | getsockopt(4, SOL_SOCKET, SO_SNDBUF, [3939840], [4]) = 0
client | getpeername(4, {sa_family=AF_INET, sin_port=htons(47433), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 0
client | ioctl(4, FIONBIO, [1]) = 0
client | connect(4, {sa_family=AF_INET, sin_port=htons(39545), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)
client | recvfrom(4, 0x7f49a4df4a10, 64, 0, NULL, NULL) = -1 EAGAIN (Resource temporarily unavailable)
server | recvfrom(5, "first line\nsecond line\nthird lin"..., 1024, 0, NULL, NULL) = 34
server > recv returned 34 bytes: the buffer now holds 3 complete lines and 0 bytes of a partial one
client | sendto(4, "\0\1\2\3\4\5\6\7\10\t\n\v\f\r\16\17\20\21\22\23\24\25\26\27\30\31\32\33\34\35\36\37"..., 33554432, 0, NULL, 0) = 3919467
client | sendto(4, "fghijklmnopqrstuvwxyz{|}~\177\200\201\202\203\204\205"..., 29634965, 0, NULL, 0) = -1 EAGAIN (Resource temporarily unavailable)
     c1 | sendto(4, "more", 4, 0, NULL, 0) = -1 EPIPE (Broken pipe)
   lab | openat(AT_FDCWD, "/tmp", O_RDONLY|O_CLOEXEC|O_PATH|O_DIRECTORY) = 3
   lab | getrandom("\x78\xb8\x9f\xdf\x69\xd7", 6, 0) = 6
   lab | mkdirat(3, "socklab-lab-68jlrd", 0700) = 0
server | socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC, 0) = 5
server | bind(5, {sa_family=AF_UNIX, sun_path="/tmp/socklab-lab-68jlrd/stream.sock"}, 37) = 0
server | accept4(5, {sa_family=AF_UNIX}, [128 => 2], SOCK_CLOEXEC) = 7
server | newfstatat(AT_FDCWD, "/tmp/socklab-lab-68jlrd/stream.sock", {st_mode=S_IFSOCK|0755, st_size=0, ...}, AT_SYMLINK_NOFOLLOW) = 0
server | recvfrom(5, "one", 64, 0, {sa_family=AF_UNIX, sun_path=@"5dbf6"}, [128 => 8]) = 3
client | connect(6, {sa_family=AF_UNIX, sun_path=@"socklab-lab-68jlrd-abstract"}, 30) = 0
server | fchmodat(4, "perm.sock", 000) = 0
server | unlink("/tmp/socklab-lab-68jlrd/stream.sock") = 0
== summary ==
lab             result  expected                                  observed
phone-call      pass    the message back upper-cased              the server heard "linhaifeng nb", the client got "LINHAIFENG NB"
18 of 18 labs passed
"#;

/// `e` with every span zeroed (parse_args counts columns from its own
/// text, the line from the line's start).
fn strip(e: &Expr) -> Expr {
    let kind = match &e.kind {
        ExprKind::Flags(v) => ExprKind::Flags(v.iter().map(strip).collect()),
        ExprKind::Array(v) => ExprKind::Array(v.iter().map(strip).collect()),
        ExprKind::Func(n, v) => ExprKind::Func(n.clone(), v.iter().map(strip).collect()),
        ExprKind::InOut(a, b) => ExprKind::InOut(Box::new(strip(a)), Box::new(strip(b))),
        ExprKind::Struct(fs) => ExprKind::Struct(
            fs.iter()
                .map(|f| Field {
                    name: f.name.clone(),
                    value: strip(&f.value),
                })
                .collect(),
        ),
        k => k.clone(),
    };
    Expr {
        span: Span { line: 0, col: 0 },
        kind,
    }
}

/// The text between `name(` and the `)` before ` = `.
fn arg_text(line: &str, name: &str) -> String {
    let open = line.find(&format!("{name}(")).unwrap() + name.len() + 1;
    let close = line.rfind(") = ").unwrap();
    line[open..close].to_string()
}

#[test]
fn every_call_line_of_lab_all_parses_and_its_args_round_trip() {
    let script = parse(LAB_ALL).unwrap_or_else(|e| panic!("{e:?}"));
    let calls = LAB_ALL
        .lines()
        .filter(|l| l.contains(" | ") && !l.contains("| #"))
        .count();
    assert_eq!(script.lines.len(), calls);
    assert_eq!(calls, 41);
    for l in &script.lines {
        assert_eq!(l.call.form, Form::Whole, "{}", l.text);
        assert!(l.actor.is_some(), "{}", l.text);
        assert!(l.call.result.is_some(), "{}", l.text);
        let text = arg_text(&l.text, &l.call.name);
        let args = parse_args(&text).unwrap_or_else(|e| panic!("{}: {e:?}", l.text));
        let a: Vec<Expr> = args.iter().map(strip).collect();
        let b: Vec<Expr> = l.call.args.iter().map(strip).collect();
        assert_eq!(a, b, "{}", l.text);
        assert_eq!(split_args(&text).len(), args.len(), "{}", l.text);
        // The name's column points at the name.
        let col = l.call.name_span.col;
        let at: String = l
            .text
            .chars()
            .skip(col - 1)
            .take(l.call.name.len())
            .collect();
        assert_eq!(at, l.call.name);
    }
    let actors: Vec<&str> = script
        .lines
        .iter()
        .filter_map(|l| l.actor.as_deref())
        .collect();
    for a in ["server", "client", "lab", "B", "srv-2", "c1"] {
        assert!(actors.contains(&a), "{a}");
    }
}

#[test]
fn lab_lines_keep_results_and_notes() {
    let script = parse(LAB_ALL).unwrap();
    let find = |s: &str| script.lines.iter().find(|l| l.text.contains(s)).unwrap();
    let r = find("(Timeout)").call.result.clone().unwrap();
    assert_eq!(
        (r.value, r.note.as_deref()),
        (Outcome::Value(0), Some("Timeout"))
    );
    let r = find("POLLHUP").call.result.clone().unwrap();
    assert_eq!(
        r.note.as_deref(),
        Some("[{fd=4, revents=POLLIN|POLLERR|POLLHUP}]")
    );
    let r = find("58033").call.result.clone().unwrap();
    assert_eq!(r.value, Outcome::Errno("EADDRINUSE".into()));
    assert_eq!(r.note.as_deref(), Some("Address already in use"));
    let l = find("0x7f49a4df4a10");
    assert_eq!(l.call.args[1].kind, ExprKind::Int(0x7f49_a4df_4a10));
    let l = find("first line");
    assert_eq!(
        l.call.args[1].kind,
        ExprKind::Str {
            bytes: b"first line\nsecond line\nthird lin".to_vec(),
            cut: true
        }
    );
    let l = find("33554432");
    let ExprKind::Str { bytes, cut: true } = &l.call.args[1].kind else {
        panic!("{:?}", l.call.args[1]);
    };
    assert_eq!(bytes, &(0u8..32).collect::<Vec<u8>>());
    let l = find("\\177\\200");
    let ExprKind::Str { bytes, .. } = &l.call.args[1].kind else {
        panic!();
    };
    assert_eq!(&bytes[bytes.len() - 3..], &[0x83, 0x84, 0x85]);
    assert_eq!(bytes[25], 0x7f);
    let l = find("fchmodat");
    assert_eq!(l.call.args[2].kind, ExprKind::Int(0));
    let l = find("mkdirat");
    assert_eq!(l.call.args[2].kind, ExprKind::Int(0o700));
}

/// Lines `strace -f -o FILE` printed for a Python program with a
/// socketpair, sendmsg/recvmsg with SCM_RIGHTS, poll, epoll, fcntl,
/// ioctl, an IPv6 listener accepting in a thread, abstract sockets,
/// and `strace -f -tt -T` / `-r` / `-ttt` prefixes.
pub(super) const STRACE: &str = r#"11602 epoll_create1(EPOLL_CLOEXEC)      = 3
11602 socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0, [3, 4]) = 0
11602 sendmsg(3, {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="hi", iov_len=2}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[5]}], msg_controllen=24, msg_flags=0}, 0) = 2
11602 recvmsg(4, {msg_name=0x7ffe7129ad40, msg_namelen=110 => 0, msg_iov=[{iov_base="hi", iov_len=10}], msg_iovlen=1, msg_control=[{cmsg_len=20, cmsg_level=SOL_SOCKET, cmsg_type=SCM_RIGHTS, cmsg_data=[7]}], msg_controllen=20, msg_flags=0}, 0) = 2
11602 poll([{fd=3, events=POLLIN}], 1, 10) = 0 (Timeout)
11602 epoll_ctl(8, EPOLL_CTL_ADD, 3, {events=EPOLLIN, data={u32=3, u64=3}}) = 0
11602 epoll_wait(8, [{events=EPOLLIN, data={u32=3, u64=3}}], 1023, 10) = 1
11602 fcntl(3, F_SETFL, O_RDWR|O_NONBLOCK) = 0
11602 fcntl(255, F_GETFL)               = 0x8000 (flags O_RDONLY|O_LARGEFILE)
11602 ioctl(3, FIONREAD, [1])           = 0
11602 bind(9, {sa_family=AF_INET6, sin6_port=htons(0), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, 28) = 0
11684 accept4(9,  <unfinished ...>
11684 <... accept4 resumed>{sa_family=AF_INET6, sin6_port=htons(50902), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}, [28], SOCK_CLOEXEC) = 11
11602 sendto(12, "hello\n\t\0\377", 9, 0, NULL, 0) = 9
11602 bind(11, {sa_family=AF_UNIX, sun_path=@"abc"}, 6 <unfinished ...>
11602 <... bind resumed>)               = 0
11603 +++ exited with 0 +++
11602 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=11603, si_uid=0, si_status=0, si_utime=0, si_stime=0} ---
11602 setsockopt(11, SOL_SOCKET, SO_LINGER, {l_onoff=1, l_linger=0}, 8) = 0
11602 recvfrom(12, "", 10, MSG_PEEK|MSG_DONTWAIT, NULL, NULL) = 0
11602 getpeername(9, 0x7ffe7129aa50, [28]) = -1 ENOTCONN (Transport endpoint is not connected)
[pid 11684] recvfrom(11,  <unfinished ...>
[pid  11685] <... recvfrom resumed>"hello\n\t\0\377", 10, 0, NULL, NULL) = 9
11732 16:51:27.634213 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, IPPROTO_IP) = 3 <0.000047>
11732 16:51:27.634403 exit_group(0)     = ?
11732 16:51:27.635627 +++ exited with 0 +++
11778      0.003260 close(3) = 0
11824 1796143888.902426 close(3) = 0
16:51:27 close(3) = 0
[pid 11824] 1796143888.902426 rt_sigprocmask(SIG_BLOCK, [INT TERM CHLD], [], 8) = 0
strace: Process 11684 attached
"#;

#[test]
fn strace_lines_parse() {
    let script = parse(STRACE).unwrap_or_else(|e| panic!("{e:?}"));
    assert_eq!(script.lines.len(), 27);
    let l = &script.lines;
    assert_eq!(l[0].actor.as_deref(), Some("pid 11602"));
    assert_eq!(l[11].call.form, Form::Unfinished);
    assert_eq!(l[11].call.args.len(), 1);
    assert_eq!(l[11].call.result, None);
    assert_eq!(l[12].call.form, Form::Resumed);
    assert_eq!(l[12].call.name, "accept4");
    assert_eq!(l[12].call.args.len(), 3);
    assert_eq!(l[14].call.form, Form::Unfinished);
    assert_eq!(l[14].call.args.len(), 3);
    assert_eq!((l[15].call.form, l[15].call.args.len()), (Form::Resumed, 0));
    assert_eq!(l[19].actor.as_deref(), Some("pid 11684"));
    assert_eq!(l[20].actor.as_deref(), Some("pid 11685"));
    assert_eq!(l[21].call.name, "socket");
    assert_eq!(
        l[22].call.result.as_ref().unwrap().value,
        Outcome::Unknown(None)
    );
    assert_eq!(l[25].actor, None);
    let ExprKind::Array(set) = &l[26].call.args[1].kind else {
        panic!("{:?}", l[26].call.args[1]);
    };
    assert_eq!(set.len(), 3);
    // msg_namelen=110 => 0: an InOut as a field's value.
    let ExprKind::Struct(fs) = &l[3].call.args[1].kind else {
        panic!();
    };
    assert_eq!(fs[1].name.as_deref(), Some("msg_namelen"));
    assert!(matches!(fs[1].value.kind, ExprKind::InOut(..)));
    // inet_pton(...) is a bare field.
    let ExprKind::Struct(fs) = &l[10].call.args[1].kind else {
        panic!();
    };
    assert_eq!(fs[3].name, None);
    assert!(matches!(&fs[3].value.kind, ExprKind::Func(n, a) if n == "inet_pton" && a.len() == 3));
    assert!(
        matches!(&fs[3].value.kind, ExprKind::Func(_, a) if a[2].kind == ExprKind::Ref("sin6_addr".into()))
    );
}
