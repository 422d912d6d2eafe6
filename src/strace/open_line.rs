//! A program's own trace split as `strace -f` splits it (issue 15): with
//! several tasks (`--model thread`, `prethread`, `fork`, `prefork`), a call
//! whose entry another task's line follows is printed as `[pid N]
//! accept4(3,  <unfinished ...>` there, and as `[pid N] <... accept4
//! resumed>...) = 5` at its return; a call that no other line cuts stays
//! one line.
//!
//! strace prints a call's entry at once and ends the line at its return
//! when nothing was printed in between. Here each call's entry (its head
//! and its `<unfinished ...>` text) is the one "open line" until another
//! line comes ([`Slot::interrupt`]: printed as unfinished, the task noted)
//! or the call returns ([`Slot::returned`]: a whole line, or a resumed
//! one). The slot is one for all the tasks: it lives in a MAP_SHARED page
//! that `sys` maps before the first fork or thread, as the task count
//! (`tasks.rs`), with a process-shared, robust mutex (a task killed while
//! it held it does not stop the others). The mutex is held while a line is
//! written, so the lines of all the tasks come in the order the slot saw.
//! Tasks are told apart by their id (`tasks::tid`), as strace tells them
//! apart by pid. `split.rs` does the same for a shared transcript (demo).
//!
//! Here: the slot (the shared page, its lock, its state); how a
//! program's `Tracer` prints through it: `open_tracer.rs`.

use std::cell::UnsafeCell;
use std::sync::OnceLock;
use std::sync::atomic::AtomicU64;

use super::split::Returned;
use super::tasks;

/// The longest open entry kept whole (head and text, bytes); a longer
/// one (strace cuts strings at 32 bytes: none here) is cut.
const OPEN_MAX: usize = 3072;

/// Tasks whose calls were printed as unfinished and have not returned.
const UNFINISHED_MAX: usize = 64;

/// The longest call name kept for an unfinished call (none is longer).
const NAME_MAX: usize = 32;

/// The slot's state, in the shared page.
#[repr(C)]
struct State {
    /// The task whose entry is open (0: none), and its process.
    open_tid: i32,
    open_pid: i32,
    /// Where its head ends in `open` (the rest: `NAME(args <unfinished ...>`).
    head_len: u32,
    open_len: u32,
    open: [u8; OPEN_MAX],
    /// Tasks printed as unfinished (0: a free place).
    unfinished: [i32; UNFINISHED_MAX],
    /// Each one's process (`tasks::process`) and call name, for the
    /// `<... NAME resumed> <unfinished ...>) = ?` of a killed thread.
    unfinished_pid: [i32; UNFINISHED_MAX],
    unfinished_name: [[u8; NAME_MAX]; UNFINISHED_MAX],
    /// Each one's entry showed all its arguments (1; `accept(3, NULL,
    /// NULL`), or stopped before one the kernel fills in (0: `recvfrom(3, `).
    unfinished_whole: [u8; UNFINISHED_MAX],
}

/// The slot: its lock and its state, in memory shared by all the tasks.
#[repr(C)]
pub struct Slot {
    mutex: UnsafeCell<libc::pthread_mutex_t>,
    state: UnsafeCell<State>,
    /// `--trace-time r`: the last stamped line's time, whichever task
    /// printed it (micros since the epoch; 0: none yet).
    stamp_us: AtomicU64,
}

// SAFETY: `state` is only read or written with `mutex` held (a
// process-shared mutex: also across processes).
unsafe impl Sync for Slot {}

/// The bytes `sys` maps for the slot.
pub const SIZE: usize = size_of::<Slot>();

static SLOT: OnceLock<&'static Slot> = OnceLock::new();

/// Use the slot at `at` (only the first call counts).
///
/// # Safety
/// `at` points to [`SIZE`] zeroed bytes of a MAP_SHARED mapping, page
/// aligned, never unmapped, and used for nothing else.
pub unsafe fn install(at: *mut u8) {
    if SLOT.get().is_some() {
        return;
    }
    let slot = at.cast::<Slot>();
    // SAFETY: as the caller vouches: the memory is ours, aligned, zeroed
    // (a zeroed State is an empty slot); the attributes are a live local,
    // destroyed after the mutex is made.
    let made = unsafe {
        let mut attr: libc::pthread_mutexattr_t = std::mem::zeroed();
        let ok = libc::pthread_mutexattr_init(&mut attr) == 0
            && libc::pthread_mutexattr_setpshared(&mut attr, libc::PTHREAD_PROCESS_SHARED) == 0
            && libc::pthread_mutexattr_setrobust(&mut attr, libc::PTHREAD_MUTEX_ROBUST) == 0
            && libc::pthread_mutex_init((*slot).mutex.get(), &attr) == 0;
        libc::pthread_mutexattr_destroy(&mut attr);
        ok.then(|| &*slot)
    };
    if let Some(slot) = made {
        let _ = SLOT.set(slot);
    }
}

/// The time of the last stamped line of all the tasks (`stamp.rs`), once
/// the slot is in use: strace -r counts from the line before, whichever
/// task printed it, and a forked child's own clock of it would not.
pub fn last_stamp() -> Option<&'static AtomicU64> {
    SLOT.get().map(|s| &s.stamp_us)
}

/// Whether the slot is in use (a program that has started a task).
pub fn active() -> bool {
    SLOT.get().is_some()
}

/// `--wire`, a fork: the parent holds the slot from before the fork
/// until its clone's line is printed; the child waits for it before its
/// first line ([`Gate::child`]), as strace -f prints a clone's line
/// before the child's (its lines go straight out, the parent's through
/// the timeline).
pub struct Gate {
    _held: Held,
}

/// Hold the gate, if the slot is in use.
pub fn gate() -> Option<Gate> {
    hold().map(|h| Gate { _held: h })
}

impl Gate {
    /// In the child: the parent's hold is not ours to release; wait
    /// until the parent releases it.
    pub fn child(self) {
        std::mem::forget(self);
        drop(hold());
    }
}

/// The slot, held (unlocked on drop).
pub(super) struct Held {
    slot: &'static Slot,
}

/// Hold the slot; None if not installed (or its lock is unusable).
pub(super) fn hold() -> Option<Held> {
    let slot = *SLOT.get()?;
    // SAFETY: an initialised process-shared mutex in the shared page.
    let r = unsafe { libc::pthread_mutex_lock(slot.mutex.get()) };
    match r {
        0 => {}
        // Its holder died holding it (a task killed mid-line): the state
        // is whole (it is written before or after a line, not during).
        libc::EOWNERDEAD => {
            // SAFETY: we hold the mutex now.
            unsafe { libc::pthread_mutex_consistent(slot.mutex.get()) };
        }
        _ => return None,
    }
    Some(Held { slot })
}

impl Drop for Held {
    fn drop(&mut self) {
        // SAFETY: this task holds the mutex (`hold`).
        unsafe { libc::pthread_mutex_unlock(self.slot.mutex.get()) };
    }
}

impl Held {
    fn state(&mut self) -> &mut State {
        // SAFETY: the mutex is held while `self` lives, and `&mut self`
        // is the only way to it in this task.
        unsafe { &mut *self.slot.state.get() }
    }

    /// Another line is printed: the open entry first, as unfinished.
    pub(super) fn interrupt(&mut self) -> Option<String> {
        let s = self.state();
        if s.open_tid == 0 {
            return None;
        }
        let tid = std::mem::replace(&mut s.open_tid, 0);
        let len = (s.open_len as usize).min(OPEN_MAX);
        let line = String::from_utf8_lossy(s.open.get(..len).unwrap_or(&[])).into_owned();
        let free = s.unfinished.iter().position(|t| *t == 0 || *t == tid);
        // Full (tasks killed mid-call never return): the oldest goes.
        let at = free.unwrap_or_else(|| {
            s.unfinished.rotate_left(1);
            s.unfinished_pid.rotate_left(1);
            s.unfinished_name.rotate_left(1);
            s.unfinished_whole.rotate_left(1);
            UNFINISHED_MAX - 1
        });
        if let Some(t) = s.unfinished.get_mut(at) {
            *t = tid;
        }
        let text = line.get(s.head_len as usize..).unwrap_or("");
        let args = text.strip_suffix(" <unfinished ...>").unwrap_or(text);
        let whole = u8::from(!args.ends_with(", ") && !args.ends_with('('));
        if let Some(w) = s.unfinished_whole.get_mut(at) {
            *w = whole;
        }
        let name = text.split('(').next().unwrap_or("").as_bytes();
        let mut kept = [0u8; NAME_MAX];
        for (k, b) in kept.iter_mut().zip(name) {
            *k = *b;
        }
        let pid = s.open_pid;
        if let (Some(p), Some(k)) = (s.unfinished_pid.get_mut(at), s.unfinished_name.get_mut(at)) {
            *p = pid;
            *k = kept;
        }
        Some(line)
    }

    /// `me` enters a call: its entry is open; the one open before it, if
    /// any, is to be printed now (returned).
    pub(super) fn enter(&mut self, me: i32, head: &str, text: &str) -> Option<String> {
        let before = self.interrupt();
        let s = self.state();
        forget(&mut s.unfinished, me);
        let mut len = (head.len() + text.len()).min(OPEN_MAX);
        let joined = format!("{head}{text}");
        while !joined.is_char_boundary(len) {
            len -= 1;
        }
        let bytes = joined.as_bytes().get(..len).unwrap_or(&[]);
        if let Some(dst) = s.open.get_mut(..len) {
            dst.copy_from_slice(bytes);
        }
        s.open_len = len as u32;
        s.head_len = head.len().min(len) as u32;
        s.open_tid = me;
        s.open_pid = tasks::process();
        before
    }

    /// `me`'s call returned: how to print it (`Whole` with its entry's
    /// head), and the line to print before it (another's, unfinished).
    pub(super) fn returned(&mut self, me: i32) -> (Option<String>, Returned) {
        let s = self.state();
        if s.open_tid == me {
            s.open_tid = 0;
            let head = s.open.get(..s.head_len as usize).unwrap_or(&[]);
            return (
                None,
                Returned::Whole(String::from_utf8_lossy(head).into_owned().into()),
            );
        }
        let how = if forget(&mut s.unfinished, me) {
            Returned::Resumed
        } else {
            Returned::Unentered
        };
        (self.interrupt(), how)
    }
}

impl Held {
    /// Process `pid`'s tasks other than `me` printed as unfinished,
    /// with their calls' names and whether each entry was whole, in the
    /// list's order.
    pub(super) fn unfinished_of(&mut self, pid: i32, me: i32) -> Vec<(i32, String, bool)> {
        let s = self.state();
        let names = s.unfinished_name.iter().zip(&s.unfinished_whole);
        let tasks = s.unfinished.iter().zip(&s.unfinished_pid).zip(names);
        tasks
            .filter(|((t, p), _)| **t != 0 && **t != me && **p == pid)
            .map(|((t, _), (name, whole))| {
                let end = name.iter().position(|b| *b == 0).unwrap_or(NAME_MAX);
                let name = String::from_utf8_lossy(name.get(..end).unwrap_or(&[]));
                (*t, name.into_owned(), *whole == 1)
            })
            .collect()
    }
}

/// Take `tid` off the unfinished list; whether it was there.
fn forget(unfinished: &mut [i32], tid: i32) -> bool {
    let mut found = false;
    for t in unfinished.iter_mut().filter(|t| **t == tid) {
        *t = 0;
        found = true;
    }
    found
}
