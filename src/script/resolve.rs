//! From a line's argument expressions to the values a call is made with:
//! fds through their labels, constants through strace's tables
//! (`values::xlat`), addresses (strace's structs or the short forms
//! `HOST:PORT`, `[V6]:PORT`, `/path`, `@name`) with their port and
//! abstract-name labels, buffers (a cut string repeated to its length).

use std::os::fd::RawFd;

use super::ast::{Expr, ExprKind, Field};
use super::labels::Labels;
use crate::values::addr::Addr;
use crate::values::xlat::{self, Group};

/// Why an argument cannot be made into a value (a message for the user).
pub type Why = String;

/// The option levels whose option names are constants.
const LEVELS: &[i32] = &[
    libc::SOL_SOCKET,
    libc::IPPROTO_IP,
    libc::IPPROTO_IPV6,
    libc::IPPROTO_TCP,
    libc::IPPROTO_UDP,
];

/// Is `name` a constant strace prints (a flag, a level, an option, an errno)?
pub fn is_constant(name: &str) -> bool {
    xlat::any_value(name).is_some()
        || LEVELS.iter().any(|&l| xlat::option(l, name).is_some())
        || xlat::errno(name).is_some()
        || matches!(
            name,
            "SIG_DFL"
                | "SIG_IGN"
                | "AT_FDCWD"
                | "AT_SYMLINK_NOFOLLOW"
                | "AT_REMOVEDIR"
                | "RLIMIT_NOFILE"
                | "SIG_BLOCK"
                | "SIG_UNBLOCK"
                | "SIG_SETMASK"
                | "PR_SET_PDEATHSIG"
        )
        // A signal in a set, as strace prints it (`[CHLD TERM]`).
        || xlat::value(Group::Sig, &format!("SIG{name}")).is_some()
        // newfstatat's st_mode, an output compared as written.
        || matches!(
            name,
            "S_IFSOCK"
                | "S_IFREG"
                | "S_IFDIR"
                | "S_IFLNK"
                | "S_IFIFO"
                | "S_IFCHR"
                | "S_IFBLK"
                | "S_ISUID"
                | "S_ISGID"
                | "S_ISVTX"
        )
}

/// The fd an argument means: a written fd through its label, a script
/// name, `NAME[i]` of a pair.
pub fn fd(e: &Expr, labels: &Labels) -> Result<RawFd, Why> {
    match &e.kind {
        ExprKind::Int(n) => labels
            .fd(*n)
            .ok_or_else(|| format!("fd {n} is not bound yet")),
        ExprKind::Name(name) => labels
            .name(name)
            .ok_or_else(|| format!("'{name}' is not bound yet")),
        ExprKind::Index(name, i) => labels
            .pair(name, *i)
            .ok_or_else(|| format!("'{name}[{i}]' is not bound yet")),
        _ => Err("expected an fd (a number or a name)".to_string()),
    }
}

/// An integer argument: a number, a constant of `group`, flags joined by
/// `|`, `NULL` (0); `[N]` is N (an int behind a pointer).
pub fn int(e: &Expr, group: Option<Group>) -> Result<i64, Why> {
    match &e.kind {
        ExprKind::Int(n) => Ok(*n),
        ExprKind::Null => Ok(0),
        ExprKind::Name(name) => constant(name, group),
        ExprKind::Flags(parts) => parts
            .iter()
            .try_fold(0i64, |acc, p| Ok(acc | int(p, group)?)),
        ExprKind::Array(items) if items.len() == 1 => {
            items.first().map_or(Ok(0), |item| int(item, group))
        }
        ExprKind::InOut(input, _) => int(input, group),
        _ => Err("expected a number or a constant".to_string()),
    }
}

/// A constant by name, from `group` (or any group when None).
pub fn constant(name: &str, group: Option<Group>) -> Result<i64, Why> {
    let found = match group {
        Some(g) => xlat::value(g, name),
        None => xlat::any_value(name).map(|(_, v)| v),
    };
    // The `*at` calls' names (a script's file calls).
    let at = match name {
        "AT_FDCWD" => Some(i64::from(libc::AT_FDCWD)),
        "AT_SYMLINK_NOFOLLOW" => Some(i64::from(libc::AT_SYMLINK_NOFOLLOW)),
        "AT_REMOVEDIR" => Some(i64::from(libc::AT_REMOVEDIR)),
        "RLIMIT_NOFILE" => Some(libc::RLIMIT_NOFILE as i64),
        "SIG_BLOCK" => Some(i64::from(libc::SIG_BLOCK)),
        "SIG_UNBLOCK" => Some(i64::from(libc::SIG_UNBLOCK)),
        "SIG_SETMASK" => Some(i64::from(libc::SIG_SETMASK)),
        "PR_SET_PDEATHSIG" => Some(i64::from(libc::PR_SET_PDEATHSIG)),
        _ => None,
    };
    found
        .or(at)
        .ok_or_else(|| format!("unknown constant '{name}'"))
}

/// An address argument: None for `NULL`; a struct as strace prints it or
/// a short form. Port and abstract-name labels are applied.
pub fn addr(e: &Expr, labels: &mut Labels) -> Result<Option<Addr>, Why> {
    match &e.kind {
        ExprKind::Null => Ok(None),
        ExprKind::Addr(text) => short_addr(text, labels).map(Some),
        ExprKind::Struct(fields) => struct_addr(fields, labels).map(Some),
        // `@"x"`: the abstract name quoted, as strace prints sun_path.
        ExprKind::Func(f, args) if f == "@" => quoted_abstract(args, labels).map(Some),
        _ => {
            Err("expected an address: {sa_family=...}, HOST:PORT, [V6]:PORT, /path or @name".into())
        }
    }
}

/// `127.0.0.1:8080`, `[::1]:0`, `/tmp/x`, `@name`.
pub fn short_addr(text: &str, labels: &mut Labels) -> Result<Addr, Why> {
    if let Some(name) = text.strip_prefix('@') {
        let name = labels.abstract_in(name.as_bytes());
        return Addr::parse_unix(&format!("@{}", String::from_utf8_lossy(&name)));
    }
    if text.starts_with('/') {
        return Addr::parse_unix(text);
    }
    let (host, port) = text
        .rsplit_once(':')
        .ok_or_else(|| format!("invalid address '{text}'"))?;
    let port: u16 = port
        .parse()
        .map_err(|_| format!("invalid port in '{text}'"))?;
    Addr::parse_inet(&format!("{host}:{}", labels.port_in(port)))
}

/// The value of the field named `name`.
fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Expr> {
    fields
        .iter()
        .find(|f| f.name.as_deref() == Some(name))
        .map(|f| &f.value)
}

/// `htons(N)` -> N (through the port labels).
fn port_of(e: Option<&Expr>, labels: &mut Labels) -> Result<u16, Why> {
    let n = match e.map(|e| &e.kind) {
        Some(ExprKind::Func(f, args)) if f == "htons" => match args.first().map(|a| &a.kind) {
            Some(ExprKind::Int(n)) => *n,
            _ => return Err("htons(N) takes a number".into()),
        },
        Some(ExprKind::Int(n)) => *n,
        None => 0,
        _ => return Err("a port is htons(N)".into()),
    };
    let port = u16::try_from(n).map_err(|_| format!("port {n} is out of range"))?;
    Ok(labels.port_in(port))
}

/// The string inside `inet_addr("...")` or a bare `inet_pton(AF_INET6, "...", &sin6_addr)`.
pub(super) fn func_str<'a>(e: &'a Expr, func: &str) -> Option<&'a [u8]> {
    match &e.kind {
        ExprKind::Func(f, args) if f == func => args.iter().find_map(|a| match &a.kind {
            ExprKind::Str { bytes, .. } => Some(bytes.as_slice()),
            _ => None,
        }),
        _ => None,
    }
}

/// `{sa_family=AF_INET, sin_port=htons(N), sin_addr=inet_addr("A")}`,
/// its AF_INET6 and AF_UNIX forms.
fn struct_addr(fields: &[Field], labels: &mut Labels) -> Result<Addr, Why> {
    let family = match field(fields, "sa_family").map(|e| &e.kind) {
        Some(ExprKind::Name(f)) => f.as_str(),
        _ => return Err("an address struct starts with sa_family=AF_...".into()),
    };
    match family {
        "AF_INET" => {
            let port = port_of(field(fields, "sin_port"), labels)?;
            let ip = field(fields, "sin_addr")
                .and_then(|e| func_str(e, "inet_addr"))
                .unwrap_or(b"0.0.0.0");
            Addr::parse_inet(&format!("{}:{port}", String::from_utf8_lossy(ip)))
        }
        "AF_INET6" => {
            let port = port_of(field(fields, "sin6_port"), labels)?;
            let ip = fields
                .iter()
                .find_map(|f| func_str(&f.value, "inet_pton"))
                .unwrap_or(b"::");
            Addr::parse_inet(&format!("[{}]:{port}", String::from_utf8_lossy(ip)))
        }
        "AF_UNIX" => match field(fields, "sun_path").map(|e| &e.kind) {
            None => Ok(Addr::unix_autobind()),
            Some(ExprKind::Str { bytes, .. }) => Addr::parse_unix(&String::from_utf8_lossy(bytes)),
            Some(ExprKind::Func(f, args)) if f == "@" => quoted_abstract(args, labels),
            _ => Err("sun_path is a string".into()),
        },
        other => Err(format!("addresses of family {other} cannot be scripted")),
    }
}

/// `@"NAME"` (a bare address or a sun_path): the abstract name, a label.
fn quoted_abstract(args: &[Expr], labels: &mut Labels) -> Result<Addr, Why> {
    match args.first().map(|a| &a.kind) {
        Some(ExprKind::Str { bytes, .. }) => {
            let name = labels.abstract_in(bytes);
            Addr::parse_unix(&format!("@{}", String::from_utf8_lossy(&name)))
        }
        _ => Err("an abstract name is @\"NAME\"".into()),
    }
}

/// The bytes of a data argument: a string, repeated cyclically to `len`
/// when `len` is larger (a cut string `"abc"...` with its length), cut to
/// `len` when smaller; `...` with a length is that many bytes of 'x'.
pub fn bytes(e: &Expr, len: Option<usize>) -> Result<Vec<u8>, Why> {
    let shown: &[u8] = match &e.kind {
        ExprKind::Str { bytes, .. } => bytes,
        ExprKind::Dots => b"x",
        _ => return Err("expected a string".into()),
    };
    let Some(len) = len else {
        return Ok(shown.to_vec());
    };
    if shown.is_empty() {
        return Ok(vec![0; len]);
    }
    Ok(shown.iter().copied().cycle().take(len).collect())
}

/// A length argument: a number, `[N]`, the input side of `[N => M]`;
/// None for `...` (the natural value).
pub fn len(e: &Expr) -> Result<Option<usize>, Why> {
    match &e.kind {
        ExprKind::Dots => Ok(None),
        _ => {
            let n = int(e, None)?;
            match usize::try_from(n) {
                Err(_) => Err(format!("length {n} is negative")),
                Ok(n) if n > MAX_LEN => Err(format!(
                    "length {n} is more than a script's buffers hold ({MAX_LEN} bytes)"
                )),
                Ok(n) => Ok(Some(n)),
            }
        }
    }
}

/// The largest buffer a script's call is given (64 MiB).
pub const MAX_LEN: usize = 64 << 20;

/// Is the argument `NULL` (no buffer asked for)?
pub fn is_null(e: &Expr) -> bool {
    matches!(e.kind, ExprKind::Null)
}
