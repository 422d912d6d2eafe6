//! Issue 17, round 18: the emitted twins of AF_UNIX experiments. The
//! example (examples/unix-permissions.script: a path-bound server whose
//! socket file is chmod'ed in a mkdirat'ed directory, an autobound
//! abstract datagram pair with sendmsg's msg_name, SCM_CREDENTIALS, a
//! child that gives up root and meets EACCES) is in emit_scripts.rs's
//! table; here the records (`--record`) of `socklab unix client`, a stream
//! client on a path and a datagram client on an abstract name, each
//! replayed by the script, its C twin and its Python twin against a
//! `socklab unix server`:
//! the same calls (C: identical, with the round trip; Python: identical
//! once the allow-list is taken back).

use super::emit::{c_twin, python_twin};
use super::emit_records::{calls, client_calls};
use crate::harness::{Server, TempDir, abstract_name, run, socklab};

fn root() -> bool {
    // SAFETY: geteuid only reads the process's effective uid.
    unsafe { libc::geteuid() == 0 }
}

/// The example gives up root in a child: as another user its setgroups
/// fails (EPERM), so its twins are compared as root only (the emitted
/// programs are still written, and build: checked here).
pub fn may_run(name: &str, file: &str) -> bool {
    if !matches!(name, "example-unix-permissions" | "lab-unix-family") || root() {
        return true;
    }
    for lang in ["c", "python"] {
        run(socklab(&["script", file, "--emit", lang]), b"").assert_ok();
    }
    false
}

/// `socklab unix client ADDR [--dgram] --record FILE`, one message: the record.
fn record(dir: &TempDir, addr: &str, dgram: bool) -> String {
    let file = dir.path("client.script");
    let mut args = vec!["unix", "client", addr, "--record", &file];
    if dgram {
        args.push("--dgram");
    }
    run(socklab(&args), b"hello\n").assert_ok();
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("connect(") || text.contains("sendto("),
        "{text}"
    );
    file
}

#[test]
pub(super) fn emit_twins_record_unix_stream_client_on_a_path() {
    let dir = TempDir::new("emit-unix-rec");
    let path = dir.path("srv.sock");
    let _server = Server::start(&["unix", "server", &path, "-q"]);
    let file = record(&dir, &path, false);
    c_twin(&file, "record-unix-stream-client");
    python_twin(&file, "record-unix-stream-client");
}

#[test]
pub(super) fn emit_twins_record_unix_datagram_client_on_an_abstract_name() {
    let dir = TempDir::new("emit-unix-rec");
    let name = abstract_name("emit-dgram");
    let _server = Server::start(&["unix", "server", &name, "--dgram", "-q"]);
    let file = record(&dir, &name, true);
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        text.contains("bind(4, {sa_family=AF_UNIX}, 2) = 0"),
        "{text}"
    );
    c_twin(&file, "record-unix-datagram-client");
    python_twin(&file, "record-unix-datagram-client");
}

/// Issue 17: `socklab unix server --record` reads the umask around its
/// bind (`umask(000) = 022`, `umask(022) = 000`): with a `unix client
/// --record`, the two records joined (the client's socket named `c`, its
/// lines where they came) replay, and the twins make the same calls, the
/// umask calls and SO_PEERCRED (its pid a label) among them.
#[test]
pub(super) fn emit_twins_record_unix_stream_server_with_its_umask() {
    let dir = TempDir::new("emit-unix-srv");
    let path = dir.path("srv.sock");
    let s_rec = dir.path("server.script");
    let server = Server::start(&["unix", "server", &path, "--once", "--record", &s_rec]);
    let c_rec = record(&dir, &path, false);
    server.finish().assert_ok();
    let s = calls(&std::fs::read_to_string(&s_rec).unwrap());
    assert!(
        s.iter().filter(|l| l.starts_with("umask(")).count() == 2,
        "{s:?}"
    );
    let c = client_calls(&std::fs::read_to_string(&c_rec).unwrap());
    let at = |lines: &[String], call: &str| lines.iter().position(|l| l.starts_with(call)).unwrap();
    let (accept, reply, read) = (at(&s, "accept4("), at(&s, "sendto("), at(&c, "recvfrom("));
    let tag = |who: &str, lines: &[String]| -> String {
        lines.iter().map(|l| format!("{who} | {l}\n")).collect()
    };
    let text = [
        tag("server", &s[..accept]),
        tag("client", &c[..read]),
        tag("server", &s[accept..=reply]),
        tag("client", &c[read..]),
        tag("server", &s[reply + 1..]),
    ]
    .concat();
    let file = dir.path("joined.script");
    std::fs::write(&file, &text).unwrap();
    let replay = run(socklab(&["script", &file]), b"");
    replay.assert_ok();
    assert!(
        replay.stdout.contains("server | umask(000) = "),
        "{}",
        replay.dump()
    );
    c_twin(&file, "record-unix-stream-server");
    python_twin(&file, "record-unix-stream-server");
}

/// What the emitters now write of the AF_UNIX family (in both languages):
/// each address form, msg_name, SCM_CREDENTIALS, the file calls and the
/// credentials, the socket file's removal at the end.
#[test]
fn emit_writes_unix_addresses_file_calls_and_credentials() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/unix-permissions.script"
    );
    let c = run(socklab(&["script", file, "--emit", "c"]), b"");
    c.assert_ok();
    // A line's statements, one a line in script(), read joined.
    let joined = c.stdout.replace("\n\t\t", " ");
    for needle in [
        "n = Sun(&sa, 0, \"unix-example.d/s.sock\", 21); r = bind(l, (struct sockaddr *)&sa, n);",
        "SocketFile(\"unix-example.d/s.sock\", 21);",
        "n = Sun(&sa, 2, \"\", 0); r = bind(u_fd, (struct sockaddr *)&sa, n);",
        "SunIs(25, &sa, n, 1, \"00001\", 5);",
        "n = Sun(&sa, 1, \"00001\", 5); m.msg_name = &sa; m.msg_namelen = n;",
        "cm->cmsg_type = SCM_CREDENTIALS;",
        "CredIs(33, &m, -1, 0, 0);",
        "r = mkdirat(AT_FDCWD, \"unix-example.d\", 0700);",
        "r = openat(AT_FDCWD, \"unix-example.d\", O_RDONLY|O_DIRECTORY, 00);",
        "r = fchmodat(d, \"s.sock\", 0600, 0);",
        "r = setgroups(0, NULL);",
        "r = setuid(65534);",
        "r = unlinkat(AT_FDCWD, \"unix-example.d\", AT_REMOVEDIR);",
    ] {
        assert!(joined.contains(needle), "C: {needle}\n{}", c.stdout);
    }
    let p = run(socklab(&["script", file, "--emit", "python"]), b"");
    p.assert_ok();
    for needle in [
        "        l.bind(sun(0, b\"unix-example.d/s.sock\"))  # Python: ",
        "\n        socket_file(b\"unix-example.d/s.sock\")\n",
        "r = v_fd.sendmsg([b\"ping\"], [], 0, sun(1, b\"00001\"))",
        "struct.pack(\"iII\", os.getpid(), os.geteuid(), os.getegid())",
        "cred_is(33, anc, None, 0, 0)",
        "os.mkdir(b\"unix-example.d\", 0o700)",
        "d = opened(File(os.open(b\"unix-example.d\", os.O_RDONLY | os.O_DIRECTORY, 0o0)))",
        "os.chmod(b\"s.sock\", 0o600, dir_fd=d.fileno())",
        "os.setgroups([])",
        "os.rmdir(b\"unix-example.d\")",
    ] {
        assert!(p.stdout.contains(needle), "Python: {needle}\n{}", p.stdout);
    }
}

/// The unix-family lab's script as the lab runs it: the lab puts its
/// temporary directory's parent for `/tmp` and a fresh name for
/// `socklab-lab-XXXXXX`; here the parent is `dir` (made 0711, so that the
/// lab's `nobody` child may reach the socket file, as in /tmp) and the
/// name `lab`. Any other script is used as it is.
pub fn placed(name: &str, file: String, dir: &TempDir) -> String {
    use std::os::unix::fs::PermissionsExt;
    if name != "lab-unix-family" {
        return file;
    }
    let parent = dir.dir().display().to_string();
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("/tmp/socklab-lab-XXXXXX", &format!("{parent}/lab"))
        .replace("socklab-lab-XXXXXX", "lab")
        .replace("\"/tmp\"", &format!("{parent:?}"));
    let copy = dir.path("unix-family.script");
    std::fs::write(&copy, text).unwrap();
    std::fs::set_permissions(dir.dir(), std::fs::Permissions::from_mode(0o711)).unwrap();
    copy
}

/// The end removes the directories the script's mkdirats made and it did
/// not remove itself: deepest first, and of one depth in the order made
/// (socklab's stable sort), in both twins (its runtime once took
/// them in another order after the first: d3a, d3c, d3b).
#[test]
fn emit_twins_remove_made_directories_deepest_first_then_in_order() {
    let dir = TempDir::new("emit-unix-dirs");
    let file = dir.path("dirs.script");
    std::fs::write(
        &file,
        "a | mkdirat(AT_FDCWD, \"d3a\", 0700) = 0\n\
         a | mkdirat(AT_FDCWD, \"d3b\", 0700) = 0\n\
         a | mkdirat(AT_FDCWD, \"d3c\", 0700) = 0\n\
         a | mkdirat(AT_FDCWD, \"d3a/in\", 0700) = 0\n",
    )
    .unwrap();
    c_twin(&file, "made-directories");
    python_twin(&file, "made-directories");
}
