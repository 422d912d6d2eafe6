//! Threads started with glibc's `pthread_create` (a server model's
//! workers, as the C twin starts them; the `--wire` capture's thread),
//! their `clone3` traced through [`Sys::pthread_create`]. Rust's `std::thread::spawn` also maps, installs and tears
//! down an alternate signal stack per thread (its stack-overflow handler)
//! and asks for the CPU affinity: about 23 syscalls per connection against
//! the twin's 12, which made `--model thread` cost 1.2x the twin per
//! connection (BENCHMARKS.md, connect). The thread runs the same Rust
//! closure; a thread's stack overflow hits the guard page (SIGSEGV) instead
//! of std's message.

use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};

use super::Sys;
use crate::values::error::{Error, Result};

type Body = Box<dyn FnOnce() -> Result<()> + Send>;

/// What a thread leaves behind: whether it has ended, and its result.
struct Slot {
    done: AtomicBool,
    result: Mutex<Option<Result<()>>>,
}

/// What the new thread receives: its body and where to leave the result.
struct Job {
    body: Body,
    slot: Arc<Slot>,
}

/// A running (or ended, not yet joined) thread.
pub struct Worker {
    /// None once joined.
    id: Option<libc::pthread_t>,
    slot: Arc<Slot>,
}

extern "C" fn start(arg: *mut c_void) -> *mut c_void {
    // SAFETY: `arg` is the Box<Job> that `spawn` leaked for this thread;
    // only this thread takes it back, once.
    let job = unsafe { Box::from_raw(arg.cast::<Job>()) };
    let Job { body, slot } = *job;
    // Listed while it runs: a traced program's end ends it (cli/end.rs).
    crate::strace::tasks::thread_began();
    let result = body();
    crate::strace::tasks::thread_ends();
    if let Ok(mut held) = slot.result.lock() {
        *held = Some(result);
    }
    slot.done.store(true, Ordering::Release);
    // strace -f's count of live tasks (`[pid N]`): this thread ends.
    crate::strace::tasks::ended();
    std::ptr::null_mut()
}

/// `pthread_create(&id, NULL, start, job)`: run `body` on a new thread with
/// the default attributes (as the C twin); its clone3 traced through `sys`.
pub fn spawn<F>(sys: &Sys, body: F) -> Result<Worker>
where
    F: FnOnce() -> Result<()> + Send + 'static,
{
    let slot = Arc::new(Slot {
        done: AtomicBool::new(false),
        result: Mutex::new(None),
    });
    let job = Box::into_raw(Box::new(Job {
        body: Box::new(body),
        slot: slot.clone(),
    }));
    // SAFETY: `start` has the signature pthread_create expects and owns
    // `job` from here on.
    let id = match unsafe { sys.pthread_create(start, job.cast()) } {
        Ok(id) => id,
        Err(e) => {
            // SAFETY: the thread was not created: `job` is still ours.
            drop(unsafe { Box::from_raw(job) });
            return Err(e);
        }
    };
    Ok(Worker { id: Some(id), slot })
}

impl Worker {
    pub fn is_finished(&self) -> bool {
        self.slot.done.load(Ordering::Acquire)
    }

    /// `pthread_join`: wait for the thread to end; its result.
    pub fn join(mut self) -> Result<()> {
        if let Some(id) = self.id.take() {
            // SAFETY: `id` is a joinable thread of ours, joined only here
            // (taken out, so Drop does not detach it afterwards).
            unsafe { crate::sys::untraced::pthread_join(id) };
        }
        match self.slot.result.lock() {
            Ok(mut held) => held.take().unwrap_or(Ok(())),
            Err(_) => Err(Error::Runtime("a server thread failed".to_string())),
        }
    }
}

impl Drop for Worker {
    /// A worker dropped without `join` (it has ended or will end by
    /// itself) is detached, so that its resources go when it ends.
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            // SAFETY: a thread of ours that has not been joined.
            unsafe { crate::sys::untraced::pthread_detach(id) };
        }
    }
}
