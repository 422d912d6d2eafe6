//! A private temporary directory for socket files (`socklab lab`,
//! `socklab demo`), with mkdtemp(3)'s semantics, every call through `sys`:
//!
//! 1. `openat(AT_FDCWD, TMPDIR, O_RDONLY|O_CLOEXEC|O_PATH|O_DIRECTORY)`:
//!    the parent, held to make and remove the directory in
//! 2. `getrandom(6 bytes)` → a name `PREFIX-XXXXXX` (6 of `[A-Za-z0-9]`)
//! 3. `mkdirat(PARENT, NAME, 0700)`: EEXIST (someone's file or link of
//!    that name) → back to 2; never reused, never followed
//! 4. `openat(PARENT, NAME, O_RDONLY|O_NOFOLLOW|O_CLOEXEC|O_DIRECTORY)`:
//!    the directory fd every later change goes through
//!
//! A file socklab makes in it is recorded by [`PrivateDir::made`]
//! (`newfstatat(DIR, NAME)`: its device and inode). [`PrivateDir::remove`]
//! removes only those: for each, `newfstatat(DIR, NAME)` and, if the name
//! still names that inode, `unlinkat(DIR, NAME, 0)`; then `close(DIR)`,
//! `unlinkat(PARENT, NAME, AT_REMOVEDIR)` (the kernel removes only an
//! empty directory) and `close(PARENT)`.
//!
//! Nobody else can create, rename or replace an entry of a directory made
//! 0700 by us (nor of one we later open to 0755), so a name in it that we
//! just checked is the file we made.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use nix::errno::Errno;

use crate::sys::{FileId, FileKind, PathFd, Sys};
use crate::values::error::{Error, Result};

/// How many random names to try before giving up (mkdtemp tries 238328).
const TRIES: usize = 100;

/// The characters of the random suffix, as mkdtemp's.
const LETTERS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";

/// `PREFIX-XXXXXX`: steps 2's name, 6 characters of `[A-Za-z0-9]` from
/// `getrandom(6 bytes)` (the unix-family lab's script makes its own
/// directory by such a name).
pub fn random_name(sys: &Sys, prefix: &str) -> Result<String> {
    let mut random = [0u8; 6];
    sys.getrandom(&mut random)?;
    let suffix: String = random
        .iter()
        .map(|b| {
            LETTERS
                .get(usize::from(*b) % LETTERS.len())
                .map_or('x', |c| char::from(*c))
        })
        .collect();
    Ok(format!("{prefix}-{suffix}"))
}

pub struct PrivateDir {
    parent: PathFd,
    name: OsString,
    path: PathBuf,
    fd: PathFd,
    files: Mutex<Vec<(OsString, FileId)>>,
}

impl PrivateDir {
    /// Steps 1 to 4: a fresh directory `$TMPDIR/PREFIX-XXXXXX`, mode 0700.
    pub fn create(sys: &Sys, prefix: &str) -> Result<PrivateDir> {
        let tmp = std::env::temp_dir();
        let parent = sys.openat(None, &tmp, libc::O_PATH | libc::O_DIRECTORY)?;
        match Self::make(sys, parent, &tmp, prefix) {
            Ok(d) => Ok(d),
            Err(e) => {
                let _ = sys.close_dir(parent);
                Err(e)
            }
        }
    }

    fn make(sys: &Sys, parent: PathFd, tmp: &Path, prefix: &str) -> Result<PrivateDir> {
        for _ in 0..TRIES {
            let name = OsString::from(random_name(sys, prefix)?);
            match sys.mkdirat(Some(parent), &name, 0o700) {
                Ok(()) => {}
                Err(e) if e.errno() == Some(Errno::EEXIST) => continue,
                Err(e) => return Err(e),
            }
            let fd = sys.openat(
                Some(parent),
                Path::new(&name),
                libc::O_NOFOLLOW | libc::O_DIRECTORY,
            )?;
            return Ok(PrivateDir {
                parent,
                path: tmp.join(&name),
                name,
                fd,
                files: Mutex::new(Vec::new()),
            });
        }
        Err(Error::Runtime(format!(
            "cannot make a private directory {}/{prefix}-XXXXXX: {TRIES} random names were all taken",
            tmp.display()
        )))
    }

    /// The directory's path (`/tmp/socklab-lab-XXXXXX`).
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The recorded file `name`, if the name still names it now.
    fn ours(&self, sys: &Sys, name: &OsStr) -> Result<Option<FileId>> {
        let recorded = self
            .files
            .lock()
            .ok()
            .and_then(|files| files.iter().find(|(n, _)| n == name).map(|(_, id)| *id));
        let Some(recorded) = recorded else {
            return Ok(None);
        };
        Ok(sys
            .fstatat(self.fd, name)?
            .filter(|now| now.same(&recorded) && now.kind != FileKind::Symlink))
    }

    /// Remove the recorded files still there (checked by inode), then the
    /// directory itself. Every step is tried; the first error is returned.
    pub fn remove(&self, sys: &Sys) -> Result<()> {
        let names: Vec<OsString> = self
            .files
            .lock()
            .map(|f| f.iter().map(|(n, _)| n.clone()).collect())
            .unwrap_or_default();
        let mut first = Ok(());
        for name in names {
            let r = match self.ours(sys, &name) {
                Ok(Some(_)) => sys.unlinkat(Some(self.fd), &name, 0),
                Ok(None) => Ok(()),
                Err(e) => Err(e),
            };
            first = first.and(r);
        }
        first = first.and(sys.close_dir(self.fd));
        first = first.and(sys.unlinkat(Some(self.parent), &self.name, libc::AT_REMOVEDIR));
        first.and(sys.close_dir(self.parent))
    }
}
