//! What strace -f prints of a call at its entry when another task's line
//! comes before its return (issue 15): the arguments its decoder prints
//! then, which for a NULL address is all of them (`accept(3, NULL, NULL
//! <unfinished ...>`, `<... accept resumed>) = 4`), not only the fd
//! (`accept(3,  <unfinished ...>` is the form with an address to fill
//! in). The table of every row's form: values/calls/entry.rs.

use super::under;
use super::*;

/// A server actor blocks in accept and accept4 with NULL addresses
/// until the client actor connects: each call is split by the client's
/// lines, in socklab's timeline and in strace -f's file.
const SCRIPT: &str = "server | l = socket(AF_INET, SOCK_STREAM, 0)
server | bind(l, 127.0.0.1:0) = 0
server | listen(l, 1) = 0
server | getsockname(l, 127.0.0.1:40002, ...) = 0
server | a = accept(l, NULL, NULL)
client | c = socket(AF_INET, SOCK_STREAM, 0)
client | connect(c, 127.0.0.1:40002) = 0
server | b = accept4(l, NULL, NULL, SOCK_CLOEXEC)
client | d = socket(AF_INET, SOCK_STREAM, 0)
client | connect(d, 127.0.0.1:40002) = 0
";

/// The server's split accept lines, after the tag and `[pid N] `.
fn accept_halves(lines: impl Iterator<Item = String>) -> Vec<String> {
    lines
        .filter(|l| l.starts_with("accept") || l.starts_with("<... accept"))
        .collect()
}

#[test]
fn an_accept_with_null_addresses_splits_as_strace_f_prints_it() {
    if !have("strace") {
        return;
    }
    let dir = TempDir::new("entries-accept");
    let (file, out) = (dir.path("accept.script"), dir.path("accept.strace"));
    std::fs::write(&file, SCRIPT).unwrap();
    let mut cmd = under::socklab(&["-qq", "-e", "trace=accept,accept4,connect"], &out);
    cmd.args(["script", &file]);
    let o = run(cmd, b"");
    o.assert_ok();
    let ours = accept_halves(o.stdout.lines().map(|l| {
        let call = l.split_once(" | ").map_or(l, |(_, c)| c);
        harness::untask(call).to_string()
    }));
    let recorded = std::fs::read_to_string(&out).unwrap();
    let theirs = accept_halves(
        recorded
            .lines()
            .filter_map(|l| l.split_once(' '))
            .map(|(_, l)| unpad(l.trim_start())),
    );
    assert_eq!(ours, theirs, "{}\n{recorded}", o.dump());
    assert_eq!(
        ours.first().map(String::as_str),
        Some("accept(3, NULL, NULL <unfinished ...>"),
        "{}",
        o.dump()
    );
    assert_eq!(ours.len(), 4, "{}", o.dump());
}
