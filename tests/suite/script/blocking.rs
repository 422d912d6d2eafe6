//! Blocking calls: `<unfinished ...>` when the actor is seen asleep in
//! its call, `<... NAME resumed>` when it returns; a call still blocked
//! at the end; what the script leaves is closed and removed.

use super::{lines, script};
use crate::harness;

const ACCEPT_FIRST: &str = "server | s = socket(AF_INET, SOCK_STREAM, 0)
server | bind(s, 127.0.0.1:0) = 0
server | listen(s, 1) = 0
server | getsockname(s, 127.0.0.1:40000, ...) = 0
server | a = accept(s)
client | c = socket(AF_INET, SOCK_STREAM, 0)
client | connect(c, 127.0.0.1:40000) = 0
server | recv(a, 10) = 2
client | send(c, \"hi\") = 2
server | close(a) = 0
";

#[test]
fn script_a_blocked_accept_is_unfinished_then_resumed_after_the_connect() {
    let out = script(ACCEPT_FIRST, &[]);
    out.assert_ok();
    let addr = r#"{sa_family=AF_INET, sin_port=htons(P), sin_addr=inet_addr("127.0.0.1")}"#;
    let l = lines(&out);
    let want = [
        "server | socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3".to_string(),
        format!(
            "server | bind(3, {}, 16) = 0",
            addr.replace("htons(P)", "htons(0)")
        ),
        "server | listen(3, 1) = 0".into(),
        format!("server | getsockname(3, {addr}, [128 => 16]) = 0"),
        "server | accept(3,  <unfinished ...>".into(),
        // A blocked accept holds the fd it will return (the kernel takes
        // it before it waits): the client's socket is 5.
        "client | socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 5".into(),
        format!("client | connect(5, {addr}, 16) = 0"),
        format!("server | <... accept resumed>{addr}, [128 => 16]) = 4"),
        "server | recvfrom(4,  <unfinished ...>".into(),
        r#"client | sendto(5, "hi", 2, 0, NULL, 0) = 2"#.into(),
        r#"server | <... recvfrom resumed>"hi", 10, 0, NULL, NULL) = 2"#.into(),
        "server | close(4) = 0".into(),
        "server | close(3) = 0".into(),
        "client | close(5) = 0".into(),
    ];
    assert_eq!(l, want, "{}", out.dump());
}

/// The same trace, as strace -f would print it, replays.
#[test]
fn script_unfinished_and_resumed_lines_are_one_call() {
    let text = "[pid 10] socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
[pid 10] bind(3, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0
[pid 10] listen(3, 1) = 0
[pid 10] getsockname(3, {sa_family=AF_INET, sin_port=htons(45000), sin_addr=inet_addr(\"127.0.0.1\")}, [128 => 16]) = 0
[pid 10] accept4(3,  <unfinished ...>
[pid 11] socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 4
[pid 11] connect(4, {sa_family=AF_INET, sin_port=htons(45000), sin_addr=inet_addr(\"127.0.0.1\")}, 16) = 0
[pid 10] <... accept4 resumed>{sa_family=AF_INET, sin_port=htons(51000), sin_addr=inet_addr(\"127.0.0.1\")}, [128 => 16], 0) = 5
[pid 11] getsockname(4, {sa_family=AF_INET, sin_port=htons(51000), sin_addr=inet_addr(\"127.0.0.1\")}, [128 => 16]) = 0
";
    let out = script(text, &[]);
    out.assert_ok();
    let l = lines(&out);
    assert_eq!(
        l[4],
        "pid 10 | accept4(3,  <unfinished ...>",
        "{}",
        out.dump()
    );
    assert!(
        l[7].starts_with("pid 10 | <... accept4 resumed>{sa_family=AF_INET"),
        "{}",
        out.dump()
    );
    assert!(l[7].ends_with(", [128 => 16], 0) = 4"), "{}", out.dump());
    // The client's port, a label bound by accept4's result, is compared
    // with the client's own getsockname: a wrong one fails.
    let wrong = text.replace(
        "[pid 10] <... accept4 resumed>{sa_family=AF_INET, sin_port=htons(51000)",
        "[pid 10] <... accept4 resumed>{sa_family=AF_INET, sin_port=htons(51001)",
    );
    script(&wrong, &[])
        .assert_code(1)
        .stderr_has("expected argument 2 (addr)");
}

#[test]
fn script_a_call_still_blocked_at_the_end_fails_after_the_timeout() {
    let text = "s = socket(AF_INET, SOCK_STREAM, 0)
bind(s, 127.0.0.1:0) = 0
listen(s, 1) = 0
accept(s, NULL, NULL) = 4
";
    let t0 = std::time::Instant::now();
    let out = script(text, &["--timeout", "0.3"]);
    out.assert_code(1)
        .stderr_has("-:4: accept(s, NULL, NULL) = 4\n")
        .stderr_has("still blocked after 0.3s (--timeout)")
        // strace prints a NULL address at the entry (decode_sockname).
        .stdout_has("accept(3, NULL, NULL <unfinished ...>\n")
        .stdout_has("close(3) = 0\n");
    assert!(t0.elapsed() >= std::time::Duration::from_millis(300));
    // Without an expectation, it only waits.
    let out = script(&text.replace(" = 4", ""), &["--timeout", "0.1"]);
    out.assert_ok();
}

#[test]
fn script_socket_files_it_bound_are_removed_at_the_end() {
    let dir = harness::TempDir::new("script-unix");
    let path = dir.path("s.sock");
    let text =
        format!("s = socket(AF_UNIX, SOCK_STREAM, 0)\nbind(s, {path}) = 0\nlisten(s, 1) = 0\n");
    let out = script(&text, &[]);
    out.assert_ok()
        .stdout_has(&format!(
            "bind(3, {{sa_family=AF_UNIX, sun_path=\"{path}\"}}, "
        ))
        .stdout_has("close(3) = 0\n")
        .stdout_has(&format!("unlink(\"{path}\") = 0\n"));
    assert!(!std::path::Path::new(&path).exists(), "{}", out.dump());
    // A file the script's bind did not make (EADDRINUSE) is left alone.
    let other = dir.path("not-mine");
    std::fs::write(&other, b"keep").unwrap();
    let text = format!("s = socket(AF_UNIX, SOCK_STREAM, 0)\nbind(s, {other}) = -1 EADDRINUSE\n");
    let out = script(&text, &[]);
    out.assert_ok();
    assert!(!out.stdout.contains("unlink("), "{}", out.dump());
    assert_eq!(std::fs::read(&other).unwrap(), b"keep");
}

/// Run a script that binds `s.sock` in a new directory and then blocks
/// (a recvfrom on a socketpair); `swap(dir, path)` runs while it is
/// blocked (its `<unfinished ...>` line is the handshake). The whole
/// timeline, the outcome and the directory (removed when dropped).
fn swap_while_blocked(
    swap: impl FnOnce(&harness::TempDir, &str),
) -> (String, harness::Outcome, harness::TempDir) {
    use std::io::BufRead;
    let dir = harness::TempDir::new("script-unix");
    let path = dir.path("s.sock");
    let text = format!(
        "s = socket(AF_UNIX, SOCK_STREAM, 0)\nbind(s, {path}) = 0\n\
         p = socketpair(AF_UNIX, SOCK_STREAM, 0, [5, 6]) = 0\nrecv(p[0], 10)\n"
    );
    let mut cmd = harness::socklab(&["script", "-", "--timeout", "1"]);
    cmd.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(text.as_bytes()).unwrap();
    }
    // The handshake: the recvfrom is seen asleep (its <unfinished ...> line).
    let mut out = std::io::BufReader::new(child.stdout.take().unwrap());
    let mut seen = String::new();
    loop {
        let mut line = String::new();
        assert!(
            out.read_line(&mut line).unwrap() > 0,
            "no unfinished line\n{seen}"
        );
        seen.push_str(&line);
        if line.contains("recvfrom(") && line.contains("<unfinished ...>") {
            break;
        }
    }
    swap(&dir, &path);
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut out, &mut rest).unwrap();
    let o = harness::finish(child);
    (format!("{seen}{rest}"), o, dir)
}

/// A socket file the script bound, replaced by another file while the
/// script runs, is left alone at the end: the clean-up looks before it
/// removes (newfstatat, AT_SYMLINK_NOFOLLOW) and removes only the file
/// its bind made.
#[test]
fn script_leaves_a_file_that_replaced_its_socket_file() {
    let (all, o, _dir) = swap_while_blocked(|dir, path| {
        // A regular file takes the socket file's name (rename replaces it).
        let other = dir.path("other");
        std::fs::write(&other, b"not a socket").unwrap();
        std::fs::rename(&other, path).unwrap();
    });
    o.assert_ok();
    assert!(all.contains("st_mode=S_IFREG"), "{all}\n{}", o.dump());
    assert!(!all.contains("unlink("), "{all}");
    let path = all
        .lines()
        .find_map(|l| l.split("sun_path=\"").nth(1))
        .and_then(|l| l.split('"').next())
        .unwrap()
        .to_string();
    assert_eq!(std::fs::read(&path).unwrap(), b"not a socket");
}

/// A socket of the test's own bound at `path` (its socket file): the
/// test's, not socklab's, so not through `sys`.
#[allow(clippy::disallowed_methods)]
fn unix_socket_at(path: &str) -> std::os::fd::OwnedFd {
    use std::os::fd::FromRawFd;
    // SAFETY: plain socket calls on a fresh fd and a zeroed sockaddr_un.
    unsafe {
        let mut sun: libc::sockaddr_un = std::mem::zeroed();
        sun.sun_family = libc::AF_UNIX as libc::sa_family_t;
        for (i, b) in path.bytes().enumerate() {
            sun.sun_path[i] = b as libc::c_char;
        }
        let len = std::mem::size_of::<libc::sockaddr_un>() as libc::socklen_t;
        let sa = &sun as *const _ as *const libc::sockaddr;
        let s = libc::socket(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0);
        assert!(s >= 0);
        let owned = std::os::fd::OwnedFd::from_raw_fd(s);
        assert_eq!(libc::bind(s, sa, len), 0);
        owned
    }
}

/// Another socket file put at the path while the script runs is not the
/// one its bind made (another inode): left alone, with a note.
#[test]
fn script_leaves_another_socket_file_at_its_path() {
    use std::os::unix::fs::{FileTypeExt, MetadataExt};
    let mut theirs = None;
    let (all, o, _dir) = swap_while_blocked(|dir, path| {
        let other = dir.path("other.sock");
        let l = unix_socket_at(&other);
        let ino = std::fs::symlink_metadata(&other).unwrap().ino();
        std::fs::rename(&other, path).unwrap();
        theirs = Some((l, ino, path.to_string()));
    });
    o.assert_ok();
    let (_l, ino, path) = theirs.unwrap();
    assert!(all.contains("st_mode=S_IFSOCK"), "{all}\n{}", o.dump());
    assert!(!all.contains("unlink("), "{all}");
    assert!(
        all.contains(&format!("# {path}: not the socket file the bind made")),
        "{all}"
    );
    let now = std::fs::symlink_metadata(&path).unwrap();
    assert!(now.file_type().is_socket() && now.ino() == ino, "{all}");
}

/// packetdrill's `+SECS` prefix waits before its line.
#[test]
fn script_a_time_prefix_waits_before_its_line() {
    let t0 = std::time::Instant::now();
    let out = script(
        "s = socket(AF_INET, SOCK_DGRAM, 0)\n+0.2 close(s) = 0\n",
        &[],
    );
    out.assert_ok();
    assert!(
        t0.elapsed() >= std::time::Duration::from_millis(200),
        "{}",
        out.dump()
    );
    assert_eq!(
        out.stdout,
        "socket(AF_INET, SOCK_DGRAM, IPPROTO_IP) = 3\nclose(3) = 0\n"
    );
}

/// Each call that blocks (poll, read, epoll_wait, recvmsg) is seen asleep
/// in /proc at once: no line waits for the time limit.
const EVERY_BLOCKING: &str = r#"p = socketpair(AF_UNIX, SOCK_STREAM, 0)
a | poll([{fd=p[0], events=POLLIN}], 1, -1) = 1
b | write(p[1], "1") = 1
a | read(p[0], 10) = 1
a | read(p[0], 10) = 1
b | write(p[1], "2") = 1
e = epoll_create1(0)
epoll_ctl(e, EPOLL_CTL_ADD, p[0], {events=EPOLLIN, data={u32=3, u64=3}}) = 0
a | epoll_wait(e, ..., 4, -1) = 1
b | write(p[1], "3") = 1
a | recvmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=..., iov_len=8}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1
a | recvmsg(p[0], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=..., iov_len=8}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1
b | sendmsg(p[1], {msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base="4", iov_len=1}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 1
"#;

#[test]
fn script_every_blocking_call_is_seen_asleep_in_it() {
    let t0 = std::time::Instant::now();
    let out = script(EVERY_BLOCKING, &["--timeout", "5"]);
    out.assert_ok();
    assert!(
        t0.elapsed() < std::time::Duration::from_secs(4),
        "{}",
        out.dump()
    );
    for line in [
        "     a | poll([{fd=3, events=POLLIN}], 1, -1 <unfinished ...>\n     b | write(4, \"1\", 1) = 1\n     a | <... poll resumed>) = 1 ([{fd=3, revents=POLLIN}])\n",
        "     a | read(3,  <unfinished ...>\n     b | write(4, \"2\", 1) = 1\n     a | <... read resumed>\"2\", 10) = 1\n",
        "     a | epoll_wait(5,  <unfinished ...>\n     b | write(4, \"3\", 1) = 1\n     a | <... epoll_wait resumed>[{events=EPOLLIN, data={u32=3, u64=3}}], 4, -1) = 1\n",
        "     a | recvmsg(3,  <unfinished ...>\n     b | sendmsg(4, ",
        "     a | <... recvmsg resumed>{msg_name=NULL, msg_namelen=0, msg_iov=[{iov_base=\"4\", iov_len=8}]",
    ] {
        out.stdout_has(line);
    }
    // poll's revents, after the result, are an expectation too.
    let wrong = EVERY_BLOCKING.replace("-1) = 1\n", "-1) = 1 ([{fd=p[0], revents=POLLOUT}])\n");
    script(&wrong, &[])
        .assert_code(1)
        .stderr_has("expected result: ([{fd=p[0], revents=POLLOUT}])")
        .stderr_has("got      result: ([{fd=3, revents=POLLIN}])");
}

/// What `strace -f` prints for a script (pid prefixes, unfinished and
/// resumed pairs, padding) is a script that replays the same calls.
#[test]
fn script_strace_f_of_a_script_replays() {
    if !harness::have("strace") {
        return;
    }
    let dir = harness::TempDir::new("script-strace");
    let (file, trace) = (dir.path("acc.txt"), dir.path("acc.strace"));
    std::fs::write(&file, ACCEPT_FIRST).unwrap();
    let mut cmd = std::process::Command::new("strace");
    cmd.args([
        "-f",
        "-qq",
        "-e",
        "trace=%net",
        "-o",
        &trace,
        harness::bin(),
        "script",
        &file,
    ]);
    harness::run(cmd, b"").assert_ok();
    let recorded = std::fs::read_to_string(&trace).unwrap();
    assert!(
        recorded.contains(" accept(3,  <unfinished ...>\n"),
        "{recorded}"
    );
    let out = script(&recorded, &[]);
    out.assert_ok();
    let calls = |text: &str| -> Vec<String> {
        joined(text.lines().map(|l| {
            let (who, call) = l.split_once(" | ").unwrap_or(("", l));
            (who.trim().to_string(), super::norm(call))
        }))
        .into_iter()
        .filter(|l| !l.starts_with("close("))
        .collect()
    };
    // strace's `???( <detached ...>` (a thread that exited while traced)
    // is not a call; the parser skips it too.
    let strace_calls = joined(recorded.lines().filter(|l| !l.contains("???(")).map(|l| {
        let (pid, call) = l.split_once(' ').unwrap_or(("", l));
        // strace pads the result to a column.
        let call = match call.trim_start().split_once(")  ") {
            Some((head, tail)) => format!("{head}) {}", tail.trim_start()),
            None => call.trim_start().to_string(),
        };
        (format!("pid {pid}"), super::norm(&call))
    }));
    // Whether strace -f splits a call in two depends on whether another
    // thread printed meanwhile (scheduling): compare whole calls.
    assert_eq!(
        calls(&out.stdout),
        strace_calls,
        "{}\n{recorded}",
        out.dump()
    );
}

/// Each `<unfinished ...>` line joined with its task's `<... NAME
/// resumed>` line, in the unfinished line's place: the calls, whole.
fn joined(lines: impl Iterator<Item = (String, String)>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut open: std::collections::HashMap<String, usize> = Default::default();
    for (who, line) in lines {
        if let Some(head) = line.strip_suffix(" <unfinished ...>") {
            open.insert(who, out.len());
            out.push(head.to_string());
        } else if let Some(rest) = line.strip_prefix("<... ") {
            let rest = rest.split_once(" resumed>").map_or(rest, |(_, r)| r);
            match open.remove(&who) {
                Some(at) => out[at].push_str(rest),
                None => out.push(line),
            }
        } else {
            out.push(line);
        }
    }
    out
}
