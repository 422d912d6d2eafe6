//! A thread a script's `clone3(...)` line starts (the `--model thread`
//! and `prethread` records' lines): the parent actor's own thread makes
//! it, through its layer's traced pthread_create, so that its line is the
//! real clone3 (strace -f shows it in the parent's task) and its result
//! the new thread's id. The runner made the new actor's body beforehand
//! (`threads.rs`); this holds it until the parent's call, then the
//! thread, joined at the end with the actor.

use std::sync::{Arc, Mutex};

use crate::sys::Sys;
use crate::sys::pthread::{self, Worker};
use crate::values::error::{Error, Result};

/// The new thread's body: an actor's loop, which first sends its thread
/// id (once it is ready: its own files opened) through the sender.
pub type Body = Box<dyn FnOnce(std::sync::mpsc::Sender<i32>) + Send>;

#[derive(Default)]
struct Inner {
    body: Option<Body>,
    worker: Option<Worker>,
}

/// A thread to start, shared by the request (the parent's side) and the
/// runner (which takes the started thread to join it).
#[derive(Clone)]
pub struct Birth(Arc<Mutex<Inner>>);

impl std::fmt::Debug for Birth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Birth")
    }
}

impl Birth {
    pub fn new(body: Body) -> Birth {
        Birth(Arc::new(Mutex::new(Inner {
            body: Some(body),
            worker: None,
        })))
    }

    /// On the parent actor's thread: pthread_create (its clone3 traced
    /// through `sys`); the new thread's id, which it sends once ready
    /// (so that it opens nothing while the next line's call runs).
    pub fn start(&self, sys: &Sys) -> Result<i64> {
        let body = crate::strace::lock(&self.0).body.take();
        let Some(body) = body else {
            return Err(Error::Runtime(
                "this clone3 line's thread was started already".into(),
            ));
        };
        let (tx, rx) = std::sync::mpsc::channel();
        let worker = pthread::spawn(sys, move || {
            body(tx);
            Ok(())
        })?;
        let tid = rx
            .recv()
            .map_err(|_| Error::Runtime("the new thread did not start".into()))?;
        crate::strace::lock(&self.0).worker = Some(worker);
        Ok(i64::from(tid))
    }

    /// The thread once started, for the runner to join at the end.
    pub fn worker(&self) -> Option<Worker> {
        crate::strace::lock(&self.0).worker.take()
    }
}
