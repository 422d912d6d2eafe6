//! A sendmsg's ancillary data (`msg_control=[...]`) as strace prints it,
//! to the control messages socklab sends: SCM_RIGHTS (`cmsg_data=[5]`,
//! labels), SCM_CREDENTIALS (`{pid=, uid=, gid=}`), and other levels'
//! (SOL_IP's IP_TOS `[0x10]`, IP_TTL `[64]`, IP_PKTINFO `{ipi_ifindex=...,
//! ipi_spec_dst=inet_addr(...), ipi_addr=inet_addr(...)}`; SOL_IPV6's
//! IPV6_TCLASS and IPV6_HOPLIMIT `[N]`, a script's own spelling since
//! strace 6.1 prints their type as a number and no data). Data left out
//! (as strace leaves it out) is zeros, as many as cmsg_len says.

use super::ast::{Expr, ExprKind, Field};
use super::labels::Labels;
use super::resolve::{Why, bytes, fd, func_str, int};
use crate::sys::Cmsg;
use crate::values::xlat::{self, Group};

fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a Expr> {
    fields
        .iter()
        .find(|f| f.name.as_deref() == Some(name))
        .map(|f| &f.value)
}

fn fields(e: Option<&Expr>) -> &[Field] {
    match e.map(|e| &e.kind) {
        Some(ExprKind::Struct(f)) => f,
        _ => &[],
    }
}

fn items(e: Option<&Expr>) -> &[Expr] {
    match e.map(|e| &e.kind) {
        Some(ExprKind::Array(items)) => items,
        _ => &[],
    }
}

/// Whether a cmsg's `cmsg_data` holds descriptors: SCM_RIGHTS at
/// SOL_SOCKET (or a cmsg that names neither, as older scripts write).
pub fn data_is_fds(cmsg: &[Field]) -> bool {
    let level = get(cmsg, "cmsg_level").map(|e| int(e, Some(Group::Sol)));
    let ty = get(cmsg, "cmsg_type").map(|e| int(e, Some(Group::Scm)));
    matches!(level, None | Some(Ok(1))) && matches!(ty, None | Some(Ok(1)))
}

/// A sendmsg's `msg_control` list, to the control messages it sends.
pub fn control(msg: &[Field], labels: &Labels) -> Result<Vec<Cmsg>, Why> {
    items(get(msg, "msg_control"))
        .iter()
        .map(|c| {
            let f = match &c.kind {
                ExprKind::Struct(f) => f.as_slice(),
                _ => &[],
            };
            let level = level_of(f)?;
            if level == libc::SOL_SOCKET {
                socket_level(f, labels)
            } else {
                other(level, f)
            }
        })
        .collect()
}

/// A cmsg's level (SOL_SOCKET when the line leaves it out).
pub fn level_of(f: &[Field]) -> Result<i32, Why> {
    get(f, "cmsg_level")
        .map(|e| int(e, Some(Group::Sol)))
        .transpose()?
        .map_or(Ok(libc::SOL_SOCKET), i32::try_from)
        .map_err(|e| e.to_string())
}

fn socket_level(f: &[Field], labels: &Labels) -> Result<Cmsg, Why> {
    let kind = get(f, "cmsg_type")
        .map(|e| int(e, Some(Group::Scm)))
        .transpose()?;
    let data = get(f, "cmsg_data");
    if kind == Some(i64::from(libc::SCM_RIGHTS)) {
        let fds = items(data)
            .iter()
            .map(|e| fd(e, labels))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Cmsg::Rights(fds));
    }
    // `...` (or a field left out): the sender's own, which is what the
    // kernel accepts without privilege (unix(7)).
    let cred = fields(data);
    let num = |n: &str, own: i64| match get(cred, n) {
        None => Ok(own),
        Some(e) if matches!(e.kind, ExprKind::Dots) => Ok(own),
        Some(e) => int(e, None),
    };
    Ok(Cmsg::Credentials {
        pid: num("pid", i64::from(std::process::id()))? as i32,
        uid: num("uid", i64::from(crate::sys::untraced::geteuid()))? as u32,
        gid: num("gid", i64::from(crate::sys::untraced::getegid()))? as u32,
    })
}

/// The type at `level`: SOL_IP's as strace names them (`IP_TOS`), an
/// option's name at the level (`IPV6_TCLASS`), or a number (`0x43`).
fn cmsg_type(level: i32, e: &Expr) -> Result<i32, Why> {
    let n = match &e.kind {
        ExprKind::Name(n) => {
            let ip = (level == libc::SOL_IP)
                .then(|| xlat::value(Group::IpCmsg, n))
                .flatten();
            ip.or_else(|| xlat::option(level, n).map(i64::from))
                .ok_or_else(|| format!("unknown control message type '{n}' at this level"))?
        }
        _ => int(e, None)?,
    };
    i32::try_from(n).map_err(|_| format!("{n} does not fit in an int"))
}

/// A control message at another level than SOL_SOCKET.
pub fn other(level: i32, f: &[Field]) -> Result<Cmsg, Why> {
    let ty = match get(f, "cmsg_type") {
        Some(e) => cmsg_type(level, e)?,
        None => return Err("a control message needs its cmsg_type".into()),
    };
    // IP_TOS (and the IP options) are bytes, strace's `[0x10]`; the rest ints.
    let bytewise =
        level == libc::SOL_IP && matches!(ty, libc::IP_TOS | libc::IP_RECVOPTS | libc::IP_RETOPTS);
    let data = match get(f, "cmsg_data").map(|e| &e.kind) {
        None | Some(ExprKind::Dots) => {
            let len = get(f, "cmsg_len").map(|e| int(e, None)).transpose()?;
            let hdr = size_of::<libc::cmsghdr>() as i64;
            let n = len.map_or(if bytewise { 1 } else { 4 }, |l| (l - hdr).max(0));
            vec![0; n as usize]
        }
        Some(ExprKind::Array(items)) => items
            .iter()
            .map(|e| {
                let v = int(e, None)?;
                Ok(if bytewise {
                    vec![u8::try_from(v).map_err(|_| format!("{v} is not a byte"))?]
                } else {
                    (v as u32).to_ne_bytes().to_vec()
                })
            })
            .collect::<Result<Vec<_>, Why>>()?
            .concat(),
        Some(ExprKind::Struct(p)) => pktinfo(p)?,
        Some(_) => bytes(get(f, "cmsg_data").unwrap_or(&DOTS), None)?,
    };
    Ok(Cmsg::Other { level, ty, data })
}

static DOTS: Expr = Expr {
    span: super::ast::Span { line: 0, col: 0 },
    kind: ExprKind::Dots,
};

/// `{ipi_ifindex=if_nametoindex("lo"), ipi_spec_dst=inet_addr("A"),
/// ipi_addr=inet_addr("B")}`: a `struct in_pktinfo`.
fn pktinfo(p: &[Field]) -> Result<Vec<u8>, Why> {
    let index = match get(p, "ipi_ifindex") {
        None => 0,
        Some(e) => match func_str(e, "if_nametoindex") {
            // The loopback interface is index 1 in every namespace.
            Some(b"lo") => 1,
            Some(name) => {
                return Err(format!(
                    "interface {}: a script names only lo; write its index",
                    String::from_utf8_lossy(name)
                ));
            }
            None => u32::try_from(int(e, None)?).map_err(|_| "a bad ipi_ifindex".to_string())?,
        },
    };
    let ip = |name: &str| -> Result<[u8; 4], Why> {
        match get(p, name) {
            None => Ok([0; 4]),
            Some(e) => {
                let text = func_str(e, "inet_addr")
                    .ok_or_else(|| format!("{name} is inet_addr(\"A\")"))?;
                let text = std::str::from_utf8(text).map_err(|e| e.to_string())?;
                text.parse::<std::net::Ipv4Addr>()
                    .map(|a| a.octets())
                    .map_err(|_| format!("{name}: '{text}' is no IPv4 address"))
            }
        }
    };
    let mut b = index.to_ne_bytes().to_vec();
    b.extend(ip("ipi_spec_dst")?);
    b.extend(ip("ipi_addr")?);
    Ok(b)
}
