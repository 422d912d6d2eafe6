//! strace -f's `[pid N] ` prefix: strace prints it on every line once it
//! traces more than one task (process or thread), `N` the calling task's
//! id (`[pid %5u] `), and drops it again when the others have ended.
//!
//! socklab counts its live tasks in one word that every process shares
//! (a MAP_SHARED page `sys` maps before its first fork or thread:
//! [`install`]): `sys` adds one before it forks or starts a thread
//! ([`started`]), a child or a thread takes itself off just before it
//! ends ([`ended`]), and a parent takes off a child it reaps that died by
//! a signal (it could not). A line's prefix is [`prefix`]: the only one
//! function that decides it, for a time prefix (`--trace-time`) to join.

use std::cell::{Cell, RefCell};
use std::sync::atomic::{AtomicPtr, AtomicU32, Ordering};

/// The shared count of live tasks; null until the first fork or thread
/// (one task: no prefix).
static LIVE: AtomicPtr<AtomicU32> = AtomicPtr::new(std::ptr::null_mut());

/// How `sys` reads the calling thread's id without a syscall (glibc's
/// `struct pthread` holds it), set by [`install`].
static TID_OF: AtomicPtr<()> = AtomicPtr::new(std::ptr::null_mut());

thread_local! {
    /// This thread's id, once read (0: not yet).
    static TID: Cell<i32> = const { Cell::new(0) };
    /// The prefix of the next line, decided before it (see [`pin`]).
    static PINNED: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Count tasks in `live` (a word shared with the children to come, at 1:
/// this task), reading a task's id with `tid`. Only the first call counts.
pub fn install(live: &'static AtomicU32, tid: fn() -> i32) {
    TID_OF.store(tid as *mut (), Ordering::SeqCst);
    let _ = LIVE.compare_exchange(
        std::ptr::null_mut(),
        std::ptr::from_ref(live).cast_mut(),
        Ordering::SeqCst,
        Ordering::SeqCst,
    );
}

fn live() -> Option<&'static AtomicU32> {
    // SAFETY: LIVE is null or a &'static AtomicU32 stored by `install`.
    unsafe { LIVE.load(Ordering::SeqCst).as_ref() }
}

/// A task is about to be started (a fork, a thread).
pub fn started() {
    if let Some(n) = live() {
        n.fetch_add(1, Ordering::SeqCst);
    }
}

/// A task has ended (or was not started after [`started`]).
pub fn ended() {
    if let Some(n) = live() {
        let _ = n.fetch_update(Ordering::SeqCst, Ordering::SeqCst, |v| {
            (v > 1).then(|| v - 1)
        });
    }
}

/// A forked child starts with its parent's cached id and pinned prefix:
/// forget them.
pub fn forget_tid() {
    TID.with(|t| t.set(0));
    PINNED.with(|p| p.borrow_mut().take());
}

/// The next line's prefix is the one of now: strace prints a call's
/// prefix at its entry, so a `clone` made while one task lived has none,
/// although its line is written when there are two.
pub fn pin() {
    let now = prefix();
    PINNED.with(|p| *p.borrow_mut() = Some(now));
}

/// The calling task's id.
fn tid() -> i32 {
    TID.with(|t| {
        if t.get() == 0 {
            let f = TID_OF.load(Ordering::SeqCst);
            if !f.is_null() {
                // SAFETY: TID_OF holds only a `fn() -> i32` (see `install`).
                let f: fn() -> i32 = unsafe { std::mem::transmute(f) };
                t.set(f());
            }
        }
        t.get()
    })
}

/// `[pid  1234] ` when more than one task lives, else nothing.
pub fn prefix() -> String {
    if let Some(p) = PINNED.with(|p| p.borrow_mut().take()) {
        return p;
    }
    match live() {
        Some(n) if n.load(Ordering::SeqCst) > 1 => format!("[pid {:>5}] ", tid()),
        _ => String::new(),
    }
}
