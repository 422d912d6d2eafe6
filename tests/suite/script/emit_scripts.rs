//! Every script lab (src/lab/scripts) and every example (examples/) with
//! its two twins (`c_twin`, `python_twin` in emit.rs): one test each, a
//! test that none is missing, and `make compare`'s table of them.

use super::emit::{c_twin, python_twin, scripts};
use crate::harness::{TempDir, run, socklab};

macro_rules! twins {
    ($($test:ident: $name:literal,)*) => {
        const NAMES: &[&str] = &[$($name),*];
        $(
            #[test]
            fn $test() {
                let (file, name) = scripts().into_iter().find(|(_, n)| n == $name).unwrap();
                let dir = TempDir::new("emit-placed");
                let file = super::emit_unix::placed(&name, file, &dir);
                if !super::emit_unix::may_run(&name, &file) {
                    return;
                }
                c_twin(&file, &name);
                python_twin(&file, &name);
            }
        )*
    };
}

twins! {
    emit_twins_lab_accept_without_listen: "lab-accept-without-listen",
    emit_twins_lab_close_vs_blocked_accept: "lab-close-vs-blocked-accept",
    emit_twins_lab_connect_twice: "lab-connect-twice",
    emit_twins_lab_listen_without_bind: "lab-listen-without-bind",
    emit_twins_lab_nagle_stall: "lab-nagle-stall",
    emit_twins_lab_peek_waitall: "lab-peek-waitall",
    emit_twins_lab_recv_after_shut_rd: "lab-recv-after-shut-rd",
    emit_twins_lab_self_connect: "lab-self-connect",
    emit_twins_lab_send_after_shut_wr: "lab-send-after-shut-wr",
    emit_twins_lab_sigpipe: "lab-sigpipe",
    emit_twins_lab_socketpair_rights: "lab-socketpair-rights",
    emit_twins_lab_unix_family: "lab-unix-family",
    emit_twins_example_blocked_accept: "example-blocked-accept",
    emit_twins_example_connect_twice: "example-connect-twice",
    emit_twins_example_dup_iovec: "example-dup-iovec",
    emit_twins_example_epoll_echo: "example-epoll-echo",
    emit_twins_example_nonblocking_connect: "example-nonblocking-connect",
    emit_twins_example_phone_call: "example-phone-call",
    emit_twins_example_signals: "example-signals",
    emit_twins_example_udp_echo: "example-udp-echo",
    emit_twins_example_unix_permissions: "example-unix-permissions",
}

/// A handler, with and without SA_RESTART (examples/handler-restart.script):
/// the C twin's sigaction, its tgkill (it waits for the handler to have
/// run) and its recvfrom (restarted, then -1 EINTR) are the script's, and
/// its trace replays.
/// Python is refused with one line (and --explain
/// says why): signal.signal has no SA_RESTART and PEP 475 retries.
#[test]
fn emit_twins_example_handler_restart() {
    let (file, name) = scripts()
        .into_iter()
        .find(|(_, n)| n == "example-handler-restart")
        .unwrap();
    // The round trip too: the twin's rt_sigreturn (traced) joins the
    // restarted recvfrom with its interrupted start, as in a record.
    c_twin(&file, &name);
    let out = run(socklab(&["script", &file, "--emit", "python"]), b"");
    assert_eq!(out.code(), Some(2), "{}", out.dump());
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("cannot emit"))
        .collect();
    assert_eq!(lines.len(), 2, "{}", out.dump());
    for l in lines {
        assert!(
            l.contains("cannot emit: a handler (sa_handler=...) is not emitted in Python")
                && l.contains("PEP 475"),
            "{l}"
        );
    }
    let explain = run(
        socklab(&["script", &file, "--emit", "python", "--explain"]),
        b"",
    );
    assert!(explain.stdout.contains("PEP 475"), "{}", explain.dump());
}

/// The examples whose Python twin is refused (each has its own test).
pub(super) const C_ONLY: &[&str] = &["example-handler-restart"];

#[test]
fn emit_covers_every_script_lab_and_example() {
    let all: Vec<String> = scripts()
        .into_iter()
        .map(|(_, n)| n)
        .filter(|n| !C_ONLY.contains(&n.as_str()))
        .collect();
    assert_eq!(all, NAMES, "a script lab or example without its twin test");
}

/// `make compare` (tools/compare.sh) runs its report tests by their path
/// (`--exact`): each names a test that is where the path says.
#[test]
fn make_compare_runs_report_tests_that_exist() {
    let root = env!("CARGO_MANIFEST_DIR");
    let sh = std::fs::read_to_string(format!("{root}/tools/compare.sh")).unwrap();
    let paths: Vec<&str> = sh.split_whitespace().filter(|w| w.contains("::")).collect();
    assert!(paths.len() >= 2, "{paths:?}");
    for path in paths {
        let (module, name) = path.rsplit_once("::").unwrap();
        let dir = format!("{root}/tests/suite/{}", module.replace("::", "/"));
        let text = std::fs::read_to_string(format!("{dir}.rs"))
            .or_else(|_| std::fs::read_to_string(format!("{dir}/mod.rs")))
            .unwrap_or_else(|e| panic!("{path}: no {dir}.rs or {dir}/mod.rs: {e}"));
        assert!(
            text.contains(&format!("fn {name}()")),
            "{path}: no fn {name}"
        );
    }
}
