//! What watches the calls (DESIGN.md §1): the tracer (and through it the
//! `--wire` timeline and a lab's timeline, which are its sinks) and the
//! `--show-state`/pause inspector of inspect.rs are [`Observer`]s, plugged
//! into `Sys` through this one trait; `Sys::call` knows no other.
//!
//! With no observer (tracing off, no timeline, no inspection), `Sys::call`
//! never reaches this file: a cached bool says so (see `Sys::call`).

use std::sync::Arc;

use nix::errno::Errno;

use super::{Socket, Sys};
use crate::strace::{Entered, Event, Held, Tracer};
use crate::values::calls::Syscall;

/// Something that watches each call from outside the layer. `before`
/// and `after` are called with the layer to make its own calls through
/// (without the inspector, so that they are not inspected in turn; still
/// traced). Every method has a default that does nothing.
pub trait Observer: Send + Sync {
    /// Whether each call must be timed and rendered into an [`Event`] for
    /// this observer (the tracer: when it prints the calls).
    fn renders(&self) -> bool {
        true
    }
    /// Before `call` (on `fd`, if it is on a socket).
    fn before(&self, _sys: &Sys, _call: &'static Syscall, _fd: Option<Socket>) {}
    /// Whether this observer wants [`Observer::entering`] (a script's
    /// timeline, which prints `<unfinished ...>` for a call that blocks).
    fn wants_entry(&self) -> bool {
        false
    }
    /// A call is about to be made: `args` is what strace prints at entry
    /// (the arguments up to the first one the kernel fills in,
    /// [`crate::strace::entry_len`]).
    fn entering(&self, _call: &'static Syscall, _args: &str) {}
    /// Whether [`Observer::entering`] has anything to do now (a
    /// program's trace: only once it has started a task).
    fn entry_now(&self) -> bool {
        true
    }
    /// A call starts now (the `--wire` timeline: nothing after this may
    /// print before its line); the guard is held until the call is over.
    fn enter(&self) -> Option<Entered> {
        None
    }
    /// The sink to hold across a call that does not wait for the peer, so
    /// that the call it wakes prints after it (`socklab demo`, the labs).
    fn hold(&self, _waits_for_peer: bool) -> Option<Held<'_>> {
        None
    }
    /// A finished call, written through `held` if this observer holds it.
    fn event(&self, _ev: &Event, _held: Option<&mut Held>) {}
    /// A note after the call's line naming a line strace prints there
    /// that socklab cannot see (an ignored SIGPIPE: sys/sigpipe.rs).
    fn signal_note(&self, _text: &str) {}
    /// After `call` returned `ret` (EINTR included, before a retry).
    fn after(
        &self,
        _sys: &Sys,
        _call: &'static Syscall,
        _fd: Option<Socket>,
        _ret: &std::result::Result<i64, Errno>,
    ) {
    }
    /// A new descriptor: from socket (`tcp`: a TCP socket), accept4 or dup
    /// (`from`: the listener).
    fn opened(&self, _fd: Socket, _from: Option<Socket>, _tcp: bool) {}
    /// A descriptor closed.
    fn closed(&self, _fd: Socket) {}
    /// For a check-then-act pair: what to do before the check of `call`
    /// (see [`Sys::pause_before_check`]); returns None to keep this
    /// observer for `call`, or Some(the observer to make it with).
    fn before_check(
        &self,
        _sys: &Sys,
        _call: &'static Syscall,
    ) -> Option<Option<Arc<dyn Observer>>> {
        None
    }
}

/// The tracer watches a call by printing it: its line is written when the
/// call returns, to the trace sink or the `--wire` timeline.
impl Observer for Tracer {
    fn renders(&self) -> bool {
        self.enabled()
    }

    fn wants_entry(&self) -> bool {
        self.wants_entries()
    }

    fn entry_now(&self) -> bool {
        self.entries_now()
    }

    fn entering(&self, call: &'static Syscall, args: &str) {
        Tracer::entering(self, call, args);
    }

    fn enter(&self) -> Option<Entered> {
        Tracer::enter(self)
    }

    fn hold(&self, waits_for_peer: bool) -> Option<Held<'_>> {
        Tracer::hold(self, waits_for_peer)
    }

    fn event(&self, ev: &Event, held: Option<&mut Held>) {
        self.emit(ev, held);
    }

    fn signal_note(&self, text: &str) {
        self.signal(text);
    }
}

/// The tracer as an observer, None when it has nothing to do (not
/// tracing, no timeline).
pub(super) fn tracing(tracer: &Tracer) -> Option<Arc<dyn Observer>> {
    (tracer.enabled() || tracer.timeline().is_some())
        .then(|| Arc::new(tracer.clone()) as Arc<dyn Observer>)
}

/// What one call does with its observers, in their order: the tracer's
/// slot first, then the inspector's.
impl Sys {
    /// Each observer, with the layer it makes its own calls through.
    pub(super) fn each(&self, mut f: impl FnMut(&dyn Observer, &Sys)) {
        if !self.observed {
            return;
        }
        // The inspector's calls are made without it (so not inspected in
        // turn); the layer is built only when there is an inspector.
        let plain = self.observer.is_some().then(|| self.plain());
        let view = plain.as_ref().unwrap_or(self);
        for o in self.trace.iter().chain(self.observer.iter()) {
            f(&**o, view);
        }
    }

    /// A call starts (see [`Observer::entering`]): its arguments as
    /// strace prints them at entry, to each observer that wants them.
    pub(super) fn entering(&self, row: &'static Syscall, args: &str) {
        let shown = args
            .get(..crate::strace::entry_len(row, args))
            .unwrap_or(args);
        for o in self.trace.iter() {
            if o.wants_entry() && o.entry_now() {
                o.entering(row, shown);
            }
        }
        // The other observer (a script's actor) gets them whole: the
        // rest is what a handler's `= ? ERESTARTSYS` line shows after
        // `<... NAME resumed>` (the buffer's address).
        for o in self.observer.iter() {
            if o.wants_entry() && o.entry_now() {
                o.entering(row, args);
            }
        }
    }

    /// Whether some observer wants a call's entry now (else it is not
    /// rendered before the call).
    pub(super) fn entry_now(&self) -> bool {
        self.trace
            .iter()
            .chain(self.observer.iter())
            .any(|o| o.wants_entry() && o.entry_now())
    }

    /// A new descriptor (see [`Observer::opened`]), to each observer:
    /// made by socket or socketpair (`made`: its domain and type), or a
    /// copy of `from` (accept4's listener, dup's old fd), or neither (a
    /// descriptor received: its kind unknown).
    pub(super) fn opened(&self, fd: Socket, from: Option<Socket>, made: Option<(i32, i32)>) {
        let stream = match (made, from) {
            (Some((domain, ty)), _) => super::sigpipe::raises(domain, ty),
            (None, Some(l)) => super::sigpipe::is_stream(l.0),
            (None, None) => false,
        };
        super::sigpipe::opened(fd.0, stream);
        let tcp = made.is_some_and(|(domain, ty)| {
            matches!(domain, libc::AF_INET | libc::AF_INET6) && ty & 0xf == libc::SOCK_STREAM
        });
        for o in self.trace.iter().chain(self.observer.iter()) {
            o.opened(fd, from, tcp);
        }
    }

    /// A call starts: each observer's guard, held until it is over.
    pub(super) fn enter(&self) -> [Option<Entered>; 2] {
        [
            self.trace.as_ref().and_then(|o| o.enter()),
            self.observer.as_ref().and_then(|o| o.enter()),
        ]
    }

    /// Each observer's sink to hold across the call (see [`Observer::hold`]).
    pub(super) fn hold(&self, waits_for_peer: bool) -> [Option<Held<'_>>; 2] {
        [
            self.trace.as_ref().and_then(|o| o.hold(waits_for_peer)),
            self.observer.as_ref().and_then(|o| o.hold(waits_for_peer)),
        ]
    }

    /// A finished call, to each observer (through the sink it holds).
    pub(super) fn emit(&self, ev: &Event, held: &mut [Option<Held<'_>>; 2]) {
        let [t, o] = held;
        if let Some(obs) = &self.trace {
            obs.event(ev, t.as_mut());
        }
        if let Some(obs) = &self.observer {
            obs.event(ev, o.as_mut());
        }
        self.sigpipe_note(ev);
    }
}
