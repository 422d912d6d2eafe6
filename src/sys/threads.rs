//! Tasks: a thread's start (glibc's pthread_create, strace's `clone3`),
//! traced as strace prints it; the count of live tasks behind strace
//! -f's `[pid N] ` prefix (`strace::tasks`), and the calling thread's id
//! read without a syscall.
#![allow(clippy::disallowed_methods)]

use std::ffi::c_void;
use std::sync::atomic::AtomicU32;
use std::sync::{Arc, Condvar, Mutex, OnceLock};

use super::*;
use crate::strace::ArgVal::{Int, Text};
use crate::strace::tasks;
use crate::sys::untraced::StartRoutine;

unsafe extern "C" {
    /// glibc (ld.so, GLIBC_PRIVATE): the static TLS block's size and
    /// alignment, which glibc keeps at the top of each thread's stack.
    fn _dl_get_tls_static_info(size: *mut usize, align: *mut usize);
    /// glibc: the attributes a thread gets with NULL (its stack size).
    fn pthread_getattr_default_np(attr: *mut libc::pthread_attr_t) -> libc::c_int;
}

/// sizeof(struct pthread) in glibc 2.36 on x86_64 (its TCB): the thread's
/// descriptor sits at the top of its stack block, the static TLS below.
const TCB_SIZE: usize = 2368;

/// The offset of `tid` in glibc's `struct pthread` (found once: the int
/// there that holds this thread's id; 720 on x86_64).
fn tid_offset() -> Option<usize> {
    static OFFSET: OnceLock<Option<usize>> = OnceLock::new();
    *OFFSET.get_or_init(|| {
        // SAFETY: pthread_self points to this thread's live struct
        // pthread; we read aligned ints within its first KiB (glibc's
        // struct is over 2 KiB).
        unsafe {
            let base = libc::pthread_self() as usize;
            let tid = libc::gettid();
            (0..1024)
                .step_by(4)
                .find(|&off| *((base + off) as *const libc::pid_t) == tid)
        }
    })
}

/// `&pd->tid` of the thread `id` (0 if not found).
pub(super) fn tid_address(id: libc::pthread_t) -> usize {
    tid_offset().map_or(0, |off| id as usize + off)
}

/// The calling thread's id, from its `struct pthread` (glibc keeps it
/// there; no syscall).
fn own_tid() -> i32 {
    match tid_address(
        // SAFETY: pthread_self has no preconditions.
        unsafe { libc::pthread_self() },
    ) {
        0 => nix::unistd::gettid().as_raw(),
        // SAFETY: the address of the tid field of this live thread's struct.
        at => unsafe { *(at as *const libc::pid_t) },
    }
}

/// The trace reads a thread's id with [`own_tid`] (a timeline's `[pid
/// N]`: `strace::tasks::Seen`).
pub(super) fn read_tids() {
    tasks::reader(own_tid);
}

impl Sys {
    /// Whether lines carry strace -f's `[pid N] ` (the trace's own lines,
    /// not a lab's sides or a timeline's), and the shared count mapped.
    pub(super) fn count_tasks(&self) -> bool {
        static LIVE: OnceLock<Option<&'static [AtomicU32; 2]>> = OnceLock::new();
        let t = &self.tracer;
        if !t.enabled() || t.is_json() || t.side().is_some() {
            return false;
        }
        let Some(live) = *LIVE.get_or_init(|| {
            // strace -f's split lines: the open line, shared the same way.
            if let Some(at) = shared_bytes(crate::strace::open_line::SIZE) {
                // SAFETY: fresh zeroed MAP_SHARED bytes of that size,
                // page aligned, never unmapped, for the slot alone.
                unsafe { crate::strace::open_line::install(at) };
            }
            shared_words()
        }) else {
            return false;
        };
        tasks::install(&live[0], &live[1], own_tid);
        true
    }

    /// pthread_create(3) with the default attributes: glibc's `clone3`,
    /// traced as strace prints it (`clone3({flags=..., child_tid=...,
    /// stack=..., stack_size=..., tls=...} => {parent_tid=[N]}, 88) = N`).
    /// A failure is not traced (glibc may fail before its clone3).
    ///
    /// # Safety
    /// As [`crate::sys::untraced::pthread_create`].
    pub unsafe fn pthread_create(
        &self,
        start: StartRoutine,
        arg: *mut c_void,
    ) -> Result<libc::pthread_t> {
        let counted = self.count_tasks();
        if counted {
            tasks::pin();
            tasks::started();
        }
        let t0 = Instant::now();
        let begun = SystemTime::now();
        // Traced: the new thread waits (`after_clone3`) until this
        // clone3's line is written below (`_spawning` held until then).
        let _spawning = self
            .tracer
            .enabled()
            .then(|| crate::strace::lock(&SPAWNING));
        // Its entry, which the new thread may open for this one.
        let entry = self.tracer.entries_now().then(|| {
            Arc::new(Entry {
                parent: tasks::tid(),
                prefix: tasks::pinned(),
                at: begun,
                tracer: self.tracer.clone(),
                opened: Mutex::new(false),
                ready: Condvar::new(),
            })
        });
        let started = match self.tracer.enabled() {
            true => {
                let entry = entry.clone();
                let boxed = Box::into_raw(Box::new(Start { start, arg, entry })) as *mut c_void;
                // SAFETY: as the caller vouches; `after_clone3` takes the
                // box back in the new thread (below: if there is none).
                let r = unsafe { untraced::pthread_create(after_clone3, boxed) };
                if r.is_err() {
                    // SAFETY: no thread took it: the box is still ours.
                    drop(unsafe { Box::from_raw(boxed as *mut Start) });
                }
                r
            }
            // SAFETY: as the caller vouches.
            false => unsafe { untraced::pthread_create(start, arg) },
        };
        let id = match started {
            Ok(id) => id,
            Err(e) => {
                if counted {
                    tasks::ended();
                    let _ = tasks::prefix();
                }
                return Err(e);
            }
        };
        // The entry comes before the return, as strace -f prints them:
        // wait until the new thread has opened it (it runs no code of
        // its own before).
        if let Some(e) = &entry {
            let mut opened = crate::strace::lock(&e.opened);
            while !*opened {
                opened = e
                    .ready
                    .wait(opened)
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
            }
        }
        // Rendered for every observer that wants it (a script actor's
        // watch too, whose tracer is off).
        if self.renders {
            let at = tid_address(id);
            // SAFETY: the kernel wrote the new thread's id there
            // (CLONE_PARENT_SETTID) before pthread_create returned.
            let tid = if at == 0 {
                0
            } else {
                unsafe { *(at as *const i32) }
            };
            let args = clone3_args(id, at);
            let ret = Ok(i64::from(tid));
            let event = Event {
                call: &calls::PTHREAD_CREATE,
                args: &args,
                ret: &ret,
                ret_note: "",
                addr: None,
                start: begun,
                duration: t0.elapsed(),
            };
            self.emit(&event, &mut [None, None]);
        }
        if self.tracer.enabled() {
            self.tracer.signal(GLIBC_START);
        }
        Ok(id)
    }
}

/// The note after each traced clone3, in the task that made it (with its
/// `[pid N]`, a lab side's tag): the calls around it that are not shown
/// (glibc's pthread_create: `--model thread`/`prethread`'s workers, the
/// `--wire` capture thread), and socklab's one look at where glibc keeps
/// a thread's id (`tid_offset`).
pub const GLIBC_START: &str = "# not shown around this clone3 (glibc's pthread_create): the \
     stack's mmap and mprotect; rt_sigaction(SIGRT_1, ...) and rt_sigprocmask(SIG_UNBLOCK, \
     [RTMIN RT_1], NULL, 8) (the process's first thread only); rt_sigprocmask(SIG_BLOCK, ~[], \
     ...) before it and rt_sigprocmask(SIG_SETMASK, ...) after it; socklab's gettid() (once: \
     where glibc keeps a thread's id)";

/// Held by a thread that starts another, from before its clone3 until
/// the clone3's line is written: strace -f prints a clone3's return
/// before the new thread's first line (the new task stays stopped until
/// strace has seen the clone3 return); without it, the new thread's
/// first line could come first (3 runs in 10 of `tcp server --model
/// prethread:8`).
static SPAWNING: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// A traced thread's start routine and its argument, and its clone3's
/// entry to open (a program's own trace with several tasks).
struct Start {
    start: StartRoutine,
    arg: *mut c_void,
    entry: Option<Arc<Entry>>,
}

/// A clone3's entry, as strace -f prints it when another task's line
/// comes before its return (`clone3({flags=..., tls=0x...} <unfinished
/// ...>`, then `<... clone3 resumed> => {parent_tid=[N]}, 88) = N`).
/// Its arguments (the stack glibc made) are known only inside
/// pthread_create: the new thread opens the entry for its parent
/// (`open_line.rs`) as its first code, and the parent waits for it
/// (`opened`) before it prints its line.
struct Entry {
    parent: i32,
    /// The parent's prefix, pinned at the entry (before the count grew).
    prefix: String,
    at: SystemTime,
    tracer: Tracer,
    opened: Mutex<bool>,
    ready: Condvar,
}

/// A traced thread's first code: open its clone3's entry for its parent
/// (a program's own trace with several tasks), wait until its clone3's
/// line is out (`SPAWNING`), then run its start routine.
extern "C" fn after_clone3(p: *mut c_void) -> *mut c_void {
    // SAFETY: `p` is the box `pthread_create` made for this thread alone.
    let s = unsafe { Box::from_raw(p as *mut Start) };
    if let Some(e) = &s.entry {
        // SAFETY: pthread_self has no preconditions.
        let me = unsafe { libc::pthread_self() };
        let args = clone3_args(me, tid_address(me));
        let row = &calls::PTHREAD_CREATE;
        e.tracer
            .open_entering_for(e.parent, &e.prefix, e.at, row, &args);
        *crate::strace::lock(&e.opened) = true;
        e.ready.notify_one();
    }
    drop(crate::strace::lock(&SPAWNING));
    (s.start)(s.arg)
}

/// clone3's arguments for the thread `id` as glibc made it: its
/// descriptor (`tls`) at the top of a default-sized stack block (`stack`:
/// the block, guard page included), the usable part below the static TLS.
fn clone3_args(id: libc::pthread_t, tid_at: usize) -> String {
    let (mut size, mut guard) = (0usize, 0usize);
    let (mut tls_size, mut tls_align) = (0usize, 1usize);
    // SAFETY: a zeroed attr is filled in by pthread_getattr_default_np
    // and destroyed after; the out-pointers are live locals.
    unsafe {
        let mut attr: libc::pthread_attr_t = std::mem::zeroed();
        if pthread_getattr_default_np(&mut attr) == 0 {
            libc::pthread_attr_getstacksize(&attr, &mut size);
            libc::pthread_attr_getguardsize(&attr, &mut guard);
            libc::pthread_attr_destroy(&mut attr);
        }
        _dl_get_tls_static_info(&mut tls_size, &mut tls_align);
    }
    let pd = id as usize;
    let block = size + guard;
    let stack = (pd + TCB_SIZE).wrapping_sub(block);
    let usable = block.saturating_sub(tls_size.next_multiple_of(tls_align.max(1)));
    let flags = "CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM|CLONE_SETTLS|CLONE_PARENT_SETTID|CLONE_CHILD_CLEARTID";
    let tid = if tid_at == 0 {
        String::new()
    } else {
        // SAFETY: as in pthread_create above.
        unsafe { *(tid_at as *const i32) }.to_string()
    };
    let cl = format!(
        "{{flags={flags}, child_tid={tid_at:#x}, parent_tid={tid_at:#x}, exit_signal=0, stack={stack:#x}, stack_size={usable:#x}, tls={pd:#x}}} => {{parent_tid=[{tid}]}}"
    );
    row_args(&calls::PTHREAD_CREATE, &[Text(cl), Int(88)])
}

/// Two words in a MAP_SHARED anonymous page, shared by this process and
/// the children it forks: the live tasks (at 1) and the children that
/// took themselves off as a signal killed them (`strace::tasks`). None if the mapping fails
/// (then no `[pid N]`: one task is assumed). mmap is memory management,
/// not traced (as a Vec's allocation is not).
fn shared_words() -> Option<&'static [AtomicU32; 2]> {
    let p = shared_bytes(size_of::<[u32; 2]>())?;
    // SAFETY: a fresh anonymous mapping of 8 zeroed bytes, page-aligned,
    // never unmapped: a valid &'static [AtomicU32; 2].
    let words = unsafe { &*(p as *const [AtomicU32; 2]) };
    words[0].store(1, std::sync::atomic::Ordering::SeqCst);
    Some(words)
}

/// `len` zeroed bytes in a fresh MAP_SHARED anonymous mapping (page
/// aligned, never unmapped), shared with the children to come; None if
/// the mapping fails.
fn shared_bytes(len: usize) -> Option<*mut u8> {
    // SAFETY: a new anonymous mapping; no memory of ours is touched.
    let p = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED | libc::MAP_ANONYMOUS,
            -1,
            0,
        )
    };
    (p != libc::MAP_FAILED).then_some(p.cast())
}
