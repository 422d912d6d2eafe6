//! Socket addresses: parsing the command line's forms, printing them, and the
//! raw `sockaddr` bytes the kernel sees.
//!
//! Numeric addresses only (plus `localhost`): a resolver would add socket
//! calls of its own to the trace.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::unix::ffi::OsStrExt as _;

use crate::values::quoting::terminal_safe;
use nix::sys::socket::{
    AddressFamily, SockaddrIn, SockaddrIn6, SockaddrLike, SockaddrStorage, UnixAddr,
};

/// `sun_path` is 108 bytes including the terminating NUL.
pub const UNIX_PATH_MAX: usize = 107;

/// A socket address in the form the kernel takes, with its length.
#[derive(Clone, Copy)]
pub struct Addr {
    ss: libc::sockaddr_storage,
    len: libc::socklen_t,
}

impl Addr {
    /// `HOST:PORT`, `[IPV6]:PORT`, `:PORT` (127.0.0.1) or `localhost:PORT`.
    pub fn parse_inet(s: &str) -> Result<Addr, String> {
        let bad = |why: &str| {
            crate::values::error::printable(&format!(
                "invalid address '{s}': {why} (expected HOST:PORT, [IPV6]:PORT or :PORT)"
            ))
        };
        if let Some(rest) = s.strip_prefix('[') {
            let (host, port) = rest
                .split_once("]:")
                .ok_or_else(|| bad("missing ']:PORT'"))?;
            let ip: Ipv6Addr = host
                .parse()
                .map_err(|_| bad("not a numeric IPv6 address"))?;
            return Ok(Addr::from_nix(&SockaddrIn6::from(SocketAddrV6::new(
                ip,
                parse_port(port).map_err(|e| bad(&e))?,
                0,
                0,
            ))));
        }
        let (host, port) = s.rsplit_once(':').ok_or_else(|| bad("missing ':PORT'"))?;
        if host.contains(':') {
            return Err(bad("IPv6 addresses go in brackets, as [::1]:PORT"));
        }
        let ip = match host {
            "" | "localhost" => Ipv4Addr::LOCALHOST,
            h => h.parse().map_err(|_| {
                bad("not a numeric IPv4 address (no name lookup; use 127.0.0.1 or localhost)")
            })?,
        };
        let port = parse_port(port).map_err(|e| bad(&e))?;
        Ok(Addr::from_nix(&SockaddrIn::from(SocketAddrV4::new(
            ip, port,
        ))))
    }

    /// `/path/to/socket` or `@name` (Linux abstract namespace).
    pub fn parse_unix(s: &str) -> Result<Addr, String> {
        Addr::parse_unix_bytes(s.as_bytes())
    }

    /// [`Addr::parse_unix`] of a command-line argument: its bytes, UTF-8
    /// or not (a path with byte 0xff binds as C binds it).
    pub fn parse_unix_os(s: std::ffi::OsString) -> Result<Addr, String> {
        Addr::parse_unix_bytes(s.as_bytes())
    }

    fn parse_unix_bytes(s: &[u8]) -> Result<Addr, String> {
        let bad = |why: &str| {
            format!(
                "invalid UNIX address '{}': {why}",
                String::from_utf8_lossy(s).escape_debug()
            )
        };
        if s.is_empty() {
            return Err(bad("empty path"));
        }
        if s == b"@" {
            return Err(bad("empty abstract name (use @NAME)"));
        }
        if s.len() > UNIX_PATH_MAX {
            return Err(bad(&format!(
                "{} bytes, longer than sun_path's {UNIX_PATH_MAX} (the kernel would say ENAMETOOLONG or EINVAL)",
                s.len()
            )));
        }
        let unix = match s.strip_prefix(b"@") {
            Some(name) => UnixAddr::new_abstract(name),
            None => UnixAddr::new(std::ffi::OsStr::from_bytes(s)),
        }
        .map_err(|e| bad(e.desc()))?;
        Ok(Addr::from_nix(&unix))
    }

    /// `{sa_family=AF_UNIX}` with length 2: binding it asks the kernel to
    /// autobind an abstract name (unix(7), "Autobind feature").
    pub fn unix_autobind() -> Addr {
        Addr::from_nix(&UnixAddr::new_unnamed())
    }

    fn from_nix(a: &dyn SockaddrLike) -> Addr {
        // SAFETY: a sockaddr_storage is valid when zeroed.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        let len = (a.len() as usize).min(std::mem::size_of_val(&ss));
        // SAFETY: `a.as_ptr()` points to `a.len()` bytes; we copy at most
        // the size of the storage.
        unsafe {
            std::ptr::copy_nonoverlapping(
                a.as_ptr() as *const u8,
                &mut ss as *mut _ as *mut u8,
                len,
            )
        };
        Addr {
            ss,
            len: len as libc::socklen_t,
        }
    }

    /// Wrap what the kernel wrote into a storage (accept4, recvfrom, getsockname).
    pub fn from_raw(ss: libc::sockaddr_storage, len: libc::socklen_t) -> Addr {
        Addr { ss, len }
    }

    /// The storage itself (a sendmmsg entry's msg_name, sys/mmsg.rs).
    pub fn storage(&self) -> libc::sockaddr_storage {
        self.ss
    }

    /// The storage's bytes and the length: a script's process actor gets
    /// its addresses from the runner this way (through a pipe).
    pub fn to_bytes(&self) -> (Vec<u8>, libc::socklen_t) {
        let size = std::mem::size_of::<libc::sockaddr_storage>();
        let p = (&raw const self.ss).cast::<u8>();
        // SAFETY: `ss` is a live sockaddr_storage of `size` plain bytes.
        let b = unsafe { std::slice::from_raw_parts(p, size) };
        (b.to_vec(), self.len)
    }

    /// The inverse of [`Addr::to_bytes`] (None: not a storage's size).
    pub fn from_bytes(b: &[u8], len: libc::socklen_t) -> Option<Addr> {
        let size = std::mem::size_of::<libc::sockaddr_storage>();
        if b.len() != size {
            return None;
        }
        // SAFETY: all-zero bytes are a valid sockaddr_storage.
        let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
        // SAFETY: `b` holds exactly `size` bytes and `ss` is `size` bytes long.
        unsafe { std::ptr::copy_nonoverlapping(b.as_ptr(), (&raw mut ss).cast::<u8>(), size) };
        Some(Addr { ss, len })
    }

    /// The length socklab passes to bind, connect and sendto: nix's for the
    /// concrete type (for a UNIX path that is SUN_LEN, without the NUL).
    pub fn kernel_len(&self) -> libc::socklen_t {
        self.with_nix(|a| a.len()).unwrap_or(self.len)
    }

    /// Call `f` with the address as nix's concrete type, whose `len()` is the
    /// length the kernel must see (a `SockaddrStorage` would pass 128).
    pub fn with_nix<R>(&self, f: impl FnOnce(&dyn SockaddrLike) -> R) -> Option<R> {
        let storage = self.as_nix()?;
        if let Some(a) = storage.as_sockaddr_in() {
            Some(f(a))
        } else if let Some(a) = storage.as_sockaddr_in6() {
            Some(f(a))
        } else {
            storage.as_unix_addr().map(|a| f(a))
        }
    }

    /// The same address as nix's type.
    fn as_nix(&self) -> Option<SockaddrStorage> {
        // SAFETY: `ss` holds `len` valid bytes of a sockaddr.
        unsafe {
            SockaddrStorage::from_raw(
                &self.ss as *const _ as *const libc::sockaddr,
                Some(self.len),
            )
        }
    }

    pub fn family(&self) -> Option<AddressFamily> {
        AddressFamily::from_i32(i32::from(self.ss.ss_family))
    }

    /// The port of an IPv4 or IPv6 address (None for UNIX addresses).
    pub fn port(&self) -> Option<u16> {
        match i32::from(self.ss.ss_family) {
            libc::AF_INET if self.len as usize >= std::mem::size_of::<libc::sockaddr_in>() => {
                // SAFETY: the family says AF_INET and `len` covers a sockaddr_in.
                let sin = unsafe { &*(&self.ss as *const _ as *const libc::sockaddr_in) };
                Some(u16::from_be(sin.sin_port))
            }
            libc::AF_INET6 if self.len as usize >= std::mem::size_of::<libc::sockaddr_in6>() => {
                // SAFETY: the family says AF_INET6 and `len` covers a sockaddr_in6.
                let sin6 = unsafe { &*(&self.ss as *const _ as *const libc::sockaddr_in6) };
                Some(u16::from_be(sin6.sin6_port))
            }
            _ => None,
        }
    }

    pub fn is_unix(&self) -> bool {
        i32::from(self.ss.ss_family) == libc::AF_UNIX
    }

    /// The filesystem path of a pathname UNIX address (not abstract, not unnamed).
    pub fn unix_path(&self) -> Option<std::path::PathBuf> {
        use std::os::unix::ffi::OsStrExt;
        if !self.is_unix() {
            return None;
        }
        let path = crate::values::sockaddr::unix_path_bytes(&self.ss, self.len as usize);
        match path.first() {
            None | Some(0) => None,
            Some(_) => {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                Some(std::ffi::OsStr::from_bytes(&path[..end]).into())
            }
        }
    }

    /// A UNIX address's name as the programs print it: `("@", name)` for
    /// an abstract name (all the bytes its length covers), `("", path)` for
    /// a path (up to its NUL); None for other families and the unnamed.
    fn unix_name(&self) -> Option<(&'static str, &[u8])> {
        if !self.is_unix() {
            return None;
        }
        let path = crate::values::sockaddr::unix_path_bytes(&self.ss, self.len as usize);
        match path.split_first() {
            None => None,
            Some((0, name)) => Some(("@", name)),
            Some(_) => {
                let end = path.iter().position(|&b| b == 0).unwrap_or(path.len());
                Some(("", path.get(..end).unwrap_or(path)))
            }
        }
    }

    /// Whether [`Addr::shown_bytes`] differs from the Display text: a UNIX
    /// name with a control character or bytes that are not UTF-8.
    pub fn has_unprintable_name(&self) -> bool {
        self.unix_name()
            .is_some_and(|(_, name)| terminal_safe(name, false).as_bytes() != name)
    }

    /// The address as the C twins' `addr_str` prints it, bytes as they
    /// are: a UNIX path, or `@` and an abstract name up to its first NUL
    /// (C's `%.*s` stops there); other addresses as Display writes them.
    pub fn shown_bytes(&self) -> Vec<u8> {
        match self.unix_name() {
            Some((at, name)) => {
                let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
                let mut b = at.as_bytes().to_vec();
                b.extend_from_slice(name.get(..end).unwrap_or(name));
                b
            }
            None => self.to_string().into_bytes(),
        }
    }

    /// How strace prints it: `{sa_family=AF_INET, sin_port=htons(8081), ...}`.
    pub fn strace(&self) -> String {
        crate::values::sockaddr::sockaddr(&self.ss, self.len)
    }
}

fn parse_port(s: &str) -> Result<u16, String> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return Err(format!("port '{s}' is not a number"));
    }
    s.parse::<u16>()
        .map_err(|_| format!("port {s} is out of range (0-65535)"))
}

impl fmt::Display for Addr {
    /// `127.0.0.1:8081`, `[::1]:8081`, `/tmp/socklab.sock`, `@name`,
    /// `(unnamed)`. A UNIX name's control characters and bytes that are
    /// not UTF-8 are escaped as the trace escapes them (`/tmp/x\377`):
    /// this text goes to terminals, errors and trace notes. A program's
    /// stdout line that should carry the bytes as they are (the C twins'
    /// form) uses [`Addr::shown_bytes`].
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let nix = self.as_nix();
        if let Some(sin) = nix.as_ref().and_then(|a| a.as_sockaddr_in()) {
            return write!(f, "{}:{}", sin.ip(), sin.port());
        }
        if let Some(sin6) = nix.as_ref().and_then(|a| a.as_sockaddr_in6()) {
            return write!(f, "[{}]:{}", sin6.ip(), sin6.port());
        }
        if let Some((at, name)) = self.unix_name() {
            return write!(f, "{at}{}", terminal_safe(name, false));
        }
        if self.is_unix() {
            return f.write_str("(unnamed)");
        }
        f.write_str(&self.strace())
    }
}

impl fmt::Debug for Addr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Addr({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_the_command_line_forms() {
        for (input, shown) in [
            ("127.0.0.1:8081", "127.0.0.1:8081"),
            (":0", "127.0.0.1:0"),
            ("localhost:80", "127.0.0.1:80"),
            ("[::1]:9", "[::1]:9"),
            ("0.0.0.0:65535", "0.0.0.0:65535"),
        ] {
            assert_eq!(
                Addr::parse_inet(input).unwrap().to_string(),
                shown,
                "{input}"
            );
        }
        assert_eq!(
            Addr::parse_unix("/tmp/x.sock").unwrap().to_string(),
            "/tmp/x.sock"
        );
        assert_eq!(Addr::parse_unix("@lab").unwrap().to_string(), "@lab");
    }

    #[test]
    fn unix_names_print_escaped_and_their_bytes_as_c_prints_them() {
        use std::ffi::OsString;
        use std::os::unix::ffi::OsStringExt;
        let path = Addr::parse_unix_os(OsString::from_vec(b"/tmp/d\xff\n".to_vec())).unwrap();
        assert_eq!(path.to_string(), "/tmp/d\\377\\n");
        assert_eq!(path.shown_bytes(), b"/tmp/d\xff\n");
        assert!(path.has_unprintable_name());
        let abs = Addr::parse_unix_os(OsString::from_vec(b"@a\x1b1\x00b".to_vec())).unwrap();
        assert_eq!(abs.to_string(), "@a\\0331\\0b");
        // C's `%.*s` stops at the NUL.
        assert_eq!(abs.shown_bytes(), b"@a\x1b1");
        let plain = Addr::parse_unix("@caf\u{e9}").unwrap();
        assert_eq!(plain.to_string(), "@caf\u{e9}");
        assert!(!plain.has_unprintable_name());
        assert!(!Addr::unix_autobind().has_unprintable_name());
        assert_eq!(Addr::unix_autobind().shown_bytes(), b"(unnamed)");
    }

    #[test]
    fn strace_forms_and_lengths() {
        let a = Addr::parse_inet("127.0.0.1:8081").unwrap();
        assert_eq!(
            a.strace(),
            r#"{sa_family=AF_INET, sin_port=htons(8081), sin_addr=inet_addr("127.0.0.1")}"#
        );
        assert_eq!(a.kernel_len(), 16);
        let u = Addr::parse_unix("/tmp/py.sock").unwrap();
        assert_eq!(
            u.strace(),
            r#"{sa_family=AF_UNIX, sun_path="/tmp/py.sock"}"#
        );
        assert_eq!(u.kernel_len(), 14, "SUN_LEN, as the C twin passes it");
        let abs = Addr::parse_unix("@abs").unwrap();
        assert_eq!(abs.strace(), r#"{sa_family=AF_UNIX, sun_path=@"abs"}"#);
        assert_eq!(abs.kernel_len(), 6);
        assert_eq!(Addr::unix_autobind().strace(), "{sa_family=AF_UNIX}");
        assert_eq!(Addr::unix_autobind().kernel_len(), 2);
    }

    #[test]
    fn rejects_bad_forms() {
        for bad in [
            "",
            "8081",
            "127.0.0.1",
            "127.0.0.1:",
            "1.2.3:80",
            "::1:80",
            "[::1]80",
            "h.example:80",
            ":65536",
            ":-1",
            ":+5",
            "[::1]:x",
        ] {
            assert!(Addr::parse_inet(bad).is_err(), "{bad:?} should be rejected");
        }
        assert!(Addr::parse_unix("").is_err());
        assert!(Addr::parse_unix(&"x".repeat(108)).is_err());
        assert!(Addr::parse_unix(&"x".repeat(107)).is_ok());
    }
}
