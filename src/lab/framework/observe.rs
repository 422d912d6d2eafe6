//! What a lab looks at besides return values: the syscall a thread is
//! blocked in (/proc), a listener's accept queue (TCP_INFO), a result as
//! one word; and how it shows bytes.

use std::time::{Duration, Instant};

use super::ctx::Ctx;
use crate::sys::Socket;
use crate::values::error::Result;

/// The errno name of a failed call, or `Ok` / the error's text.
pub fn outcome<T>(r: &Result<T>) -> String {
    match r {
        Ok(_) => "success".to_string(),
        Err(e) => match e.errno() {
            Some(errno) => format!("{errno:?}"),
            None => e.to_string(),
        },
    }
}

/// The kernel thread id of the calling thread (for [`wait_blocked`]);
/// the lab's look at where a side waits is named in a note (own.rs).
pub fn gettid(ctx: &Ctx) -> i32 {
    ctx.note_once("lab", super::own::WATCH);
    crate::sys::untraced::gettid()
}

/// The syscall thread `tid` of this process is blocked in, from
/// /proc/self/task/TID/syscall (its first field is the syscall number).
pub fn syscall_of(ctx: &Ctx, tid: i32) -> Option<&'static str> {
    ctx.note_once("lab", super::own::WATCH);
    let text = std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).ok()?;
    let nr: i64 = text.split_whitespace().next()?.parse().ok()?;
    let names = [
        (libc::SYS_recvfrom, "recvfrom"),
        (libc::SYS_accept4, "accept4"),
        (libc::SYS_connect, "connect"),
        (libc::SYS_poll, "poll"),
        (libc::SYS_sendto, "sendto"),
    ];
    names
        .iter()
        .find(|(n, _)| *n == nr)
        .map(|(_, name)| *name)
        .or(Some("another syscall"))
}

/// Wait (up to `limit`, looking every millisecond) until thread `tid` is
/// blocked in `call`: an observation of where a side waits, not an ordering.
pub fn wait_blocked(ctx: &Ctx, tid: i32, call: &str, limit: Duration) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if syscall_of(ctx, tid) == Some(call) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(1));
    }
    false
}

/// A /proc file the lab reads for a note that names it (/proc/net/tcp,
/// a sysctl): the reads themselves named once (own.rs).
pub fn read_proc(ctx: &Ctx, path: &str) -> Option<String> {
    ctx.note_once("lab", super::own::PROC);
    std::fs::read_to_string(path).ok()
}

/// Upper-case, as the tutorial's server answers.
pub fn upper(b: &[u8]) -> Vec<u8> {
    b.to_ascii_uppercase()
}

pub fn show(b: &[u8]) -> String {
    format!("{:?}", String::from_utf8_lossy(b))
}

/// Look at a value until `done` says it settled, for up to `limit` (loopback
/// packets are usually processed before the sending call returns, but a
/// loaded machine may defer them to ksoftirqd): an observation, not an
/// ordering. Returns the last value seen.
pub fn settle<T>(limit: Duration, mut look: impl FnMut() -> T, done: impl Fn(&T) -> bool) -> T {
    let end = Instant::now() + limit;
    loop {
        let v = look();
        if done(&v) || Instant::now() >= end {
            return v;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// A listener's accept queue length (TCP_INFO's tcpi_unacked), untraced.
pub fn accept_queue(ctx: &Ctx, l: Socket) -> u32 {
    ctx.quiet().tcp_info(l).map_or(0, |i| i.tcpi_unacked)
}
