//! netdevice(7)'s `struct ifreq` named for an interface: what
//! `packet.rs`'s SIOCGIFINDEX and `netns.rs`'s TUNSETIFF pass the kernel.

use std::mem::zeroed;

use crate::values::error::{Error, Result};

/// A zeroed ifreq whose `ifr_name` is `name` (NUL-terminated); a name
/// too long for it, or with a NUL, is a usage error.
pub(super) fn named(name: &str) -> Result<libc::ifreq> {
    // SAFETY: a zeroed ifreq is valid.
    let mut ifr: libc::ifreq = unsafe { zeroed() };
    let bytes = name.as_bytes();
    if bytes.len() >= ifr.ifr_name.len() || bytes.contains(&0) {
        return Err(Error::Usage(format!("invalid interface name '{name}'")));
    }
    for (d, &b) in ifr.ifr_name.iter_mut().zip(bytes) {
        *d = b as libc::c_char;
    }
    Ok(ifr)
}

/// The `ifr_name` the kernel wrote back (up to its NUL).
pub(super) fn name_of(ifr: &libc::ifreq) -> String {
    let name: Vec<u8> = ifr
        .ifr_name
        .iter()
        .take_while(|&&c| c != 0)
        .map(|&c| c as u8)
        .collect();
    String::from_utf8_lossy(&name).into_owned()
}
