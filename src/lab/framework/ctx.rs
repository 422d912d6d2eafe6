//! What a lab gets: one traced `Sys` (and `Output`) per side on the
//! lab's timeline, notes, a private temporary directory, cleanup.

use std::io::Write;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use super::now;
use super::timeline::{JsonLines, Out};
use crate::inspect::tcp_state_name;
use crate::private_dir::PrivateDir;
use crate::strace::{Format, Tracer, json_str};
use crate::sys::{Socket, Sys};
use crate::values::error::{Error, Result};

/// What a lab gets: one traced `Sys` per side, notes on the timeline, a
/// private temporary directory. (A clone shares all of it.)
#[derive(Clone)]
pub struct Ctx {
    name: &'static str,
    pub(super) json: bool,
    pub(super) out: Out,
    pub(super) tracer: Tracer,
    pub(super) quiet: Sys,
    /// The private directory, made on first use ([`Ctx::dir`]).
    pub(super) dir: Arc<Mutex<Option<PrivateDir>>>,
}

impl Ctx {
    pub(crate) fn new(name: &'static str, json: bool, out: Out) -> Ctx {
        let (format, sink): (Format, Box<dyn Write + Send>) = if json {
            (Format::Json, Box::new(JsonLines::new(name, out.clone())))
        } else {
            (Format::Text, Box::new(out.clone()))
        };
        let tracer = Tracer::shared(format, sink);
        Ctx {
            name,
            json,
            out,
            tracer,
            quiet: Sys::new(Tracer::new(Format::Off, Box::new(std::io::sink()))),
            dir: Arc::new(Mutex::new(None)),
        }
    }

    /// The syscall layer of one side: every call it makes is a timeline line.
    pub fn sys(&self, side: &'static str) -> Sys {
        Sys::new(self.tracer.with_side(side))
    }

    /// The program output of one side, on the same timeline.
    pub fn output(&self, side: &'static str) -> crate::output::Output {
        crate::output::Output::new(self.tracer.with_side(side))
    }

    /// An untraced layer for what the lab only looks at (TCP_INFO) or for
    /// long loops the lab summarises in a note instead.
    pub fn quiet(&self) -> &Sys {
        &self.quiet
    }

    /// A `# text` line on the timeline, on behalf of `side`.
    pub fn note(&self, side: &str, text: &str) {
        if self.json {
            self.out.line(&format!(
                "{{\"time\":{:.6},\"lab\":{},\"event\":\"note\",\"side\":{},\"text\":{}}}",
                now(),
                json_str(self.name),
                json_str(side),
                json_str(text)
            ));
        } else {
            self.line(&format!("{side:>6} | # {text}"));
        }
    }

    /// A heading inside the timeline (`-- with Nagle off --`).
    pub fn part(&self, title: &str) {
        if self.json {
            self.out.line(&format!(
                "{{\"time\":{:.6},\"lab\":{},\"event\":\"part\",\"title\":{}}}",
                now(),
                json_str(self.name),
                json_str(title)
            ));
        } else {
            self.line(&format!("-- {title} --"));
        }
    }

    /// A line among the syscall lines: through the `--wire` timeline when
    /// there is one (it prints in time order), else straight out.
    pub(super) fn line(&self, text: &str) {
        match self.tracer.timeline() {
            Some(t) => t.note(SystemTime::now(), text.to_string()),
            None => self.out.line(text),
        }
    }

    /// The TCP state of `s` as the kernel reports it (getsockopt TCP_INFO,
    /// untraced), noted on the timeline.
    pub fn show_state(&self, side: &str, s: Socket) -> String {
        let state = self.state(s);
        self.note(side, &format!("fd {s} is {state} (TCP_INFO)"));
        state
    }

    pub fn state(&self, s: Socket) -> String {
        self.quiet
            .tcp_info(s)
            .map_or("?".into(), |i| tcp_state_name(i.tcpi_state).to_string())
    }

    /// The lab's private directory, made on first use by the `lab` side
    /// (src/private_dir.rs: a random name, mode 0700, never reused): its
    /// path.
    pub fn dir(&self) -> Result<PathBuf> {
        let mut dir = self
            .dir
            .lock()
            .map_err(|_| Error::Runtime("lab directory lock".into()))?;
        if dir.is_none() {
            *dir = Some(PrivateDir::create(&self.sys("lab"), "socklab-lab")?);
        }
        Ok(dir
            .as_ref()
            .map(|d| d.path().to_path_buf())
            .unwrap_or_default())
    }

    /// Run `f` on the private directory (made by [`Ctx::dir`] before).
    fn with_dir<T>(&self, f: impl FnOnce(&PrivateDir) -> Result<T>) -> Result<T> {
        match self.dir.lock().as_deref() {
            Ok(Some(d)) => f(d),
            _ => Err(Error::Runtime("the lab's directory is not made yet".into())),
        }
    }

    /// Record `name`, a socket file the lab has just bound in its
    /// directory (untraced `newfstatat`: its inode), so that cleanup may
    /// remove it and nothing else.
    pub fn made(&self, name: &str) -> Result<()> {
        self.with_dir(|d| d.made(&self.quiet, name))
    }

    /// Change the mode of `name`, a file the lab made in its directory:
    /// `newfstatat(DIR, NAME)` (still that inode, not a link), then
    /// `fchmodat(DIR, NAME, MODE)`, on `side`'s timeline.
    pub fn chmod(&self, side: &'static str, name: &str, mode: libc::mode_t) -> Result<()> {
        self.with_dir(|d| d.chmod(&self.sys(side), name, mode))
    }

    /// `fchmod(DIR, MODE)` of the lab's directory, on `side`'s timeline.
    pub fn chmod_dir(&self, side: &'static str, mode: libc::mode_t) -> Result<()> {
        self.with_dir(|d| d.set_mode(&self.sys(side), mode))
    }

    /// Remove the private directory (untraced): the socket files the lab
    /// made and left (a failed lab), each checked by inode, then the
    /// directory itself.
    pub(super) fn cleanup(&self) {
        if let Ok(mut dir) = self.dir.lock()
            && let Some(d) = dir.take()
        {
            let _ = d.remove(&self.quiet);
        }
    }
}
