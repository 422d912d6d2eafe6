//! A sendmsg's ancillary data at another level than SOL_SOCKET (SOL_IP's
//! IP_TOS, IP_TTL, IP_PKTINFO; SOL_IPV6's IPV6_TCLASS, IPV6_HOPLIMIT), as
//! the twins write it: C `cm->cmsg_level = SOL_IP; cm->cmsg_type = IP_TOS;`
//! and the data's bytes (an int where it is one), Python
//! `(socket.IPPROTO_IP, socket.IP_TOS, bytes([0x10]))`.

use super::super::ast::Field;
use super::super::cmsgs;
use super::super::resolve::Why;
use crate::sys::Cmsg;
use crate::values::xlat::{self, Group};

/// One control message to send: its level, type and data.
#[derive(Debug, Clone, PartialEq)]
pub struct Anc {
    pub level: i32,
    pub ty: i32,
    pub data: Vec<u8>,
}

/// The message a cmsg's fields stand for, None at SOL_SOCKET (unix_msg.rs's).
pub fn parse(f: &[Field]) -> Result<Option<Anc>, Why> {
    let level = cmsgs::level_of(f)?;
    if level == libc::SOL_SOCKET {
        return Ok(None);
    }
    match cmsgs::other(level, f)? {
        Cmsg::Other { level, ty, data } => Ok(Some(Anc { level, ty, data })),
        _ => Err("a control message at SOL_SOCKET".into()),
    }
}

/// The level's and the type's C names (`SOL_IP`, `IP_TOS`), numbers for
/// those without one.
fn names(a: &Anc) -> (String, String) {
    let level = xlat::name_of(Group::Sol, i64::from(a.level))
        .map_or_else(|| a.level.to_string(), str::to_string);
    let ty = match a.level {
        libc::SOL_IP => xlat::name_of(Group::IpCmsg, i64::from(a.ty)),
        _ => xlat::option_name(a.level, a.ty),
    };
    (level, ty.map_or_else(|| a.ty.to_string(), str::to_string))
}

/// The data as an int when it is 4 bytes (IP_TTL, IPV6_TCLASS).
fn int(a: &Anc) -> Option<i32> {
    a.data.as_slice().try_into().ok().map(i32::from_ne_bytes)
}

fn bytes(d: &[u8]) -> Vec<String> {
    d.iter().map(|b| format!("{b:#04x}")).collect()
}

/// The control buffer's size term of another level's message.
pub fn c_space(a: &Anc) -> String {
    format!(" + CMSG_SPACE({})", a.data.len())
}

/// The C statements that fill the message `a`, its data in `d{i}`
/// (`cm` at the first free message, then at the next).
pub fn c_fill(i: usize, a: &Anc) -> String {
    let (level, ty) = names(a);
    let data = match int(a) {
        Some(v) => format!("int d{i} = {v};"),
        None => format!("unsigned char d{i}[] = {{{}}};", bytes(&a.data).join(", ")),
    };
    let amp = if int(a).is_some() { "&" } else { "" };
    format!(
        "\n\t\t  {data} cm->cmsg_level = {level}; cm->cmsg_type = {ty};\n\t\t  cm->cmsg_len = CMSG_LEN(sizeof d{i}); memcpy(CMSG_DATA(cm), {amp}d{i}, sizeof d{i}); cm = CMSG_NXTHDR(&m, cm);"
    )
}

/// Python's `(socket.IPPROTO_IP, socket.IP_TOS, bytes([0x10]))`: the level
/// as Python's socket module names it, the type through `name` (the
/// module's constant, or getattr with the number where it has none).
pub fn python(a: &Anc, name: impl Fn(&str) -> String) -> String {
    let level = match a.level {
        libc::SOL_IP => "socket.IPPROTO_IP".to_string(),
        libc::SOL_IPV6 => "socket.IPPROTO_IPV6".to_string(),
        n => n.to_string(),
    };
    let (_, ty) = names(a);
    let data = match int(a) {
        Some(v) => format!("({v}).to_bytes(4, sys.byteorder, signed=True)"),
        None => format!("bytes([{}])", bytes(&a.data).join(", ")),
    };
    format!("({level}, {}, {data})", name(&ty))
}
