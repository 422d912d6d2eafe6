//! Sizes that do not fit in memory (issue 12): `--size`, `--bufsize` and
//! `bench --size` under an address-space limit (RLIMIT_AS) are an error
//! line and exit 1, not the allocator's abort; a UNIX server that cannot
//! allocate its buffer removes its socket file (socklab and its C twin).

// Tests report by panicking: unwrap, expect and panic are how they fail.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

use std::os::unix::process::CommandExt;
use std::process::Command;

use super::clients::c_bin;
use crate::harness::{self, TempDir, run, socklab};

/// The address-space limit for the allocation tests: the binary starts
/// and runs under it, and 64 MiB (the largest --bufsize and bench --size)
/// does not fit.
const AS_LIMIT: libc::rlim_t = 48 << 20;

fn limited(args: &[&str]) -> Command {
    limit_as(socklab(args))
}

fn limit_as(mut cmd: Command) -> Command {
    // SAFETY: setrlimit is async-signal-safe; nothing else runs in the child.
    unsafe {
        cmd.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: AS_LIMIT,
                rlim_max: AS_LIMIT,
            };
            if libc::setrlimit(libc::RLIMIT_AS, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

fn assert_cannot_allocate(out: &harness::Outcome, n: &str, what: &str) {
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(
        out.status.signal(),
        None,
        "killed (SIGABRT?)\n{}",
        out.dump()
    );
    out.assert_code(1);
    out.stderr_has(&format!(": cannot allocate {n} bytes for {what}"));
}

/// `--size`, `--bufsize` and `bench --size` that do not fit in memory:
/// before, Rust's allocator aborted (SIGABRT, exit 134); now an error
/// line and exit 1.
#[test]
fn sizes_that_cannot_be_allocated_are_an_error_not_an_abort() {
    // The binary itself runs under the limit: a refused connect, exit 1.
    let (_fd, port) = harness::bound_tcp(None);
    let addr = format!("127.0.0.1:{port}");
    let out = run(limited(&["tcp", "client", &addr, "-m", "x"]), b"");
    out.assert_code(1);
    out.stderr_has("ECONNREFUSED");

    let out = run(
        limited(&["tcp", "client", &addr, "--size", "1073741824"]),
        b"",
    );
    assert_cannot_allocate(&out, "1073741824", "--size");
    // The clients' --bufsize, before any call.
    for family in ["tcp", "udp"] {
        let out = run(
            limited(&[family, "client", &addr, "--bufsize", "67108864", "-m", "x"]),
            b"",
        );
        assert_cannot_allocate(&out, "67108864", "--bufsize");
    }
    let out = run(limited(&["bench", "rr", &addr, "--size", "67108864"]), b"");
    assert_cannot_allocate(&out, "67108864", "--size");
    let out = run(
        limited(&["udp", "server", "127.0.0.1:0", "--bufsize", "67108864"]),
        b"",
    );
    assert_cannot_allocate(&out, "67108864", "--bufsize");
    let out = run(
        limited(&["tcp", "server", "127.0.0.1:0", "--bufsize", "67108864"]),
        b"",
    );
    assert_cannot_allocate(&out, "67108864", "--bufsize");
}

/// A UNIX server whose --bufsize cannot be allocated: before, SIGABRT left
/// its socket file behind; now exit 1, and the file is removed.
#[test]
fn unix_server_that_cannot_allocate_its_buffer_removes_its_file() {
    let dir = TempDir::new("nomem");
    for (twin, extra) in [
        (false, &[][..]),
        (false, &["--dgram"][..]),
        (true, &[][..]),
        (true, &["--dgram"][..]),
    ] {
        let path = dir.path("s.sock");
        let mut args = vec![path.as_str(), "--bufsize", "67108864"];
        args.extend_from_slice(extra);
        let mut cmd = if twin {
            Command::new(c_bin().join("unix_server"))
        } else {
            socklab(&["unix", "server"])
        };
        cmd.args(&args);
        let out = run(limit_as(cmd), b"");
        assert_cannot_allocate(&out, "67108864", "--bufsize");
        assert!(
            !std::path::Path::new(&path).exists(),
            "{path} left behind\n{}",
            out.dump()
        );
    }
}
