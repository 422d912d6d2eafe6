//! epoll_ctl's data as the line writes it (issue 14 rule 4, nothing
//! added: script/epoll_data.rs): `data={u32=7, u64=7}` is passed as 7
//! and epoll_wait's `data=` is checked as written; a number equal to the
//! fd the same line adds is that fd's label (records of socklab's
//! programs, renumbered on replay); the C twin makes the same call, the
//! Python twin too (libc's epoll_ctl through ctypes).

use super::emit::{build_c, c_twin, emitted, python, python_twin, traced};
use super::script;
use crate::harness::{TempDir, run};

/// Data 7 for the fd 3 that a socketpair gives, then a data above 2^32
/// (strace 6.1 prints u32 as its low half).
const DATA_7: &str = r#"# the data is the line's, not the fd
p = socketpair(AF_UNIX, SOCK_STREAM, 0)
e = epoll_create1(0)
epoll_ctl(e, EPOLL_CTL_ADD, p[0], {events=EPOLLIN, data={u32=7, u64=7}}) = 0
sendto(p[1], "x", 1, 0, NULL, 0) = 1
epoll_wait(e, [{events=EPOLLIN, data={u32=7, u64=7}}], 4, 0) = 1
epoll_ctl(e, EPOLL_CTL_MOD, p[0], {events=EPOLLIN, data={u32=7, u64=4294967303}}) = 0
epoll_wait(e, [{events=EPOLLIN, data={u32=7, u64=4294967303}}], 4, 0) = 1
epoll_ctl(e, EPOLL_CTL_DEL, p[0], NULL) = 0
"#;

#[test]
fn script_epoll_ctl_passes_the_data_written() {
    script(DATA_7, &[])
        .assert_ok()
        .stdout_has("epoll_ctl(5, EPOLL_CTL_ADD, 3, {events=EPOLLIN, data={u32=7, u64=7}}) = 0\n")
        .stdout_has("epoll_wait(5, [{events=EPOLLIN, data={u32=7, u64=7}}], 4, 0) = 1\n")
        .stdout_has("epoll_wait(5, [{events=EPOLLIN, data={u32=7, u64=4294967303}}], 4, 0) = 1\n");
}

#[test]
fn script_epoll_wait_checks_the_data_as_written() {
    let text = DATA_7.replacen(
        "epoll_wait(e, [{events=EPOLLIN, data={u32=7, u64=7}}]",
        "epoll_wait(e, [{events=EPOLLIN, data={u32=8, u64=8}}]",
        1,
    );
    script(&text, &[]).assert_code(1).stderr_has("epoll_wait");
}

/// A record of socklab's programs: data = the fd of the same line, fds
/// renumbered on replay (7, 8, 9 here are 3, 4, 5); no data is the fd too.
#[test]
fn script_epoll_data_equal_to_the_lines_fd_is_its_label() {
    let text = "socketpair(AF_UNIX, SOCK_STREAM, 0, [7, 8]) = 0
epoll_create1(0) = 9
epoll_ctl(9, EPOLL_CTL_ADD, 7, {events=EPOLLIN, data={u32=7, u64=7}}) = 0
write(8, \"x\", 1) = 1
epoll_wait(9, [{events=EPOLLIN, data={u32=7, u64=7}}], 4, 0) = 1
epoll_ctl(9, EPOLL_CTL_MOD, 7, {events=EPOLLIN}) = 0
epoll_wait(9, [{events=EPOLLIN, data={u32=7, u64=7}}], 4, 0) = 1
";
    script(text, &[])
        .assert_ok()
        .stdout_has("epoll_ctl(5, EPOLL_CTL_ADD, 3, {events=EPOLLIN, data={u32=3, u64=3}}) = 0\n")
        .stdout_has("epoll_ctl(5, EPOLL_CTL_MOD, 3, {events=EPOLLIN, data={u32=3, u64=3}}) = 0\n")
        .stdout_has("epoll_wait(5, [{events=EPOLLIN, data={u32=3, u64=3}}], 4, 0) = 1\n");
}

#[test]
fn script_bad_epoll_data_is_a_script_error() {
    for data in ["{u32=8, u64=7}", "{u32=-1, u64=-1}", "{u32=4294967296}"] {
        let text = format!(
            "p = socketpair(AF_UNIX, SOCK_STREAM, 0)\ne = epoll_create1(0)\n\
             epoll_ctl(e, EPOLL_CTL_ADD, p[0], {{events=EPOLLIN, data={data}}}) = 0\n"
        );
        let out = script(&text, &[]);
        out.assert_code(2).stderr_has("-:3:");
        assert!(
            !out.stdout.contains("socketpair"),
            "{data}: a call was made"
        );
    }
}

fn data_7_file(dir: &TempDir) -> String {
    let file = dir.path("data7.script");
    std::fs::write(&file, DATA_7).unwrap();
    file
}

/// The C twin: the same calls (emit.rs's comparison), and strace -f
/// shows the data written.
#[test]
fn emit_c_twin_passes_the_data_written() {
    let dir = TempDir::new("epoll-data-c");
    let file = data_7_file(&dir);
    c_twin(&file, "epoll-data-7");
    let trace = dir.path("c.trace");
    run(traced(&build_c(&dir, &file), &trace), b"").assert_ok();
    let raw = std::fs::read_to_string(&trace).unwrap();
    for line in [
        "epoll_ctl(5<anon_inode:[eventpoll]>, EPOLL_CTL_ADD, 3<socket:",
        "{events=EPOLLIN, data={u32=7, u64=7}}) = 0",
        "[{events=EPOLLIN, data={u32=7, u64=4294967303}}], 4, 0) = 1",
    ] {
        assert!(raw.contains(line), "{line} not in\n{raw}");
    }
}

/// The Python twin: libc's epoll_ctl through ctypes (register would set
/// data = the fd), the same calls, strace -f shows the data written.
#[test]
fn emit_python_twin_passes_the_data_written() {
    let dir = TempDir::new("epoll-data-py");
    let file = data_7_file(&dir);
    python_twin(&file, "epoll-data-7");
    let src = emitted(&file, "python");
    assert!(
        src.contains("epoll_register(e, p_fd[0], select.EPOLLIN, 7)"),
        "{src}"
    );
    let py = dir.path("twin.py");
    std::fs::write(&py, &src).unwrap();
    let mut cmd = std::process::Command::new(python());
    cmd.arg(&py);
    let trace = dir.path("py.trace");
    run(traced(&cmd, &trace), b"").assert_ok();
    let raw = std::fs::read_to_string(&trace).unwrap();
    assert!(
        raw.contains("{events=EPOLLIN, data={u32=7, u64=7}}) = 0"),
        "{raw}"
    );
}
