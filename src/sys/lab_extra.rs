//! Calls only the labs make: chmod (the unix-family lab's permissions).
#![allow(clippy::disallowed_methods)]

use super::*;

impl Sys {
    /// chmod(2): set a socket file's permission bits.
    pub fn chmod(&self, path: &Path, mode: libc::mode_t) -> Result<()> {
        let c = CString::new(path.as_os_str().as_bytes())
            .map_err(|_| Error::Usage(format!("path {} contains a NUL byte", path.display())))?;
        self.call(
            Call {
                name: "chmod",
                fd: None,
                unix: true,
            },
            || {
                // SAFETY: c is a valid NUL-terminated path.
                Errno::result(unsafe { libc::chmod(c.as_ptr(), mode) }).map(i64::from)
            },
            |_| {
                // strace prints the mode with C's "%#03o": 000, 0600, 0777.
                let shown = if mode == 0 {
                    "000".to_string()
                } else {
                    format!("0{mode:o}")
                };
                plain(format!(
                    "{}, {shown}",
                    quote(path.as_os_str().as_bytes(), usize::MAX)
                ))
            },
        )?;
        Ok(())
    }
}
