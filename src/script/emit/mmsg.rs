//! sendmmsg and recvmmsg lines (issue 14 rule 7) in the C twin: a
//! `struct mmsghdr` array as the line gives it (sendmmsg: one entry per
//! datagram, each one iovec and its msg_name or none; recvmmsg: VLEN
//! entries shaped as its first written one, as `socklab script` makes
//! them), and a check of every output field the line writes (each
//! received entry's msg_name, msg_namelen, bytes, msg_flags,
//! msg_controllen and msg_len; each sent entry's msg_len; the number of
//! entries). Python's text, the same call through ctypes: python_mmsg.rs.

use std::fmt::Write as _;

use super::super::ast::{Expr, ExprKind, Field};
use super::super::check::Step;
use super::super::resolve::{self, Why};
use super::model::{Entry, Fd, Mmsg, Out, Val, fd, field, fields_of, inet, items_of, val_of};
use super::written::{data_of, out_of};
use crate::values::xlat::Group;

/// The most entries a script's recvmmsg or sendmmsg takes (UIO_MAXIOV).
const MAX_VLEN: usize = 1024;

impl Mmsg {
    pub fn fd(&self) -> &Fd {
        match self {
            Mmsg::Send(f, ..) | Mmsg::Recv(f, ..) => f,
        }
    }

    /// The port labels the line writes.
    pub fn ports(&self) -> Vec<u16> {
        let mut out: Vec<u16> = match self {
            Mmsg::Send(_, d, ..) => d
                .iter()
                .filter_map(|(_, to)| to.as_ref())
                .map(|i| i.port)
                .collect(),
            Mmsg::Recv(.., entries, _) => entries
                .iter()
                .filter_map(|e| match &e.name {
                    Some(Out::Is(i)) => Some(i.port),
                    _ => None,
                })
                .collect(),
        };
        out.retain(|&p| p != 0);
        out
    }
}

fn arg(step: &Step, i: usize) -> Result<&Expr, Why> {
    step.args
        .get(i)
        .ok_or_else(|| format!("{} lacks argument {}", step.row.name, i + 1))
}

/// An entry's msghdr fields (`{msg_hdr={...}, msg_len=N}` or the msghdr).
fn hdr(e: &Expr) -> &[Field] {
    let f = fields_of(e);
    field(f, "msg_hdr").map_or(f, fields_of)
}

/// An iovec as socklab makes it: the bytes to send, the size, and the
/// bytes the line shows (and whether cut).
type Iovec = (Vec<u8>, usize, Option<(Vec<u8>, bool)>);

/// The iovecs of a msghdr.
fn iovecs(msg: &[Field]) -> Result<Vec<Iovec>, Why> {
    items_of(field(msg, "msg_iov"))
        .iter()
        .map(|iov| {
            let f = fields_of(iov);
            let n = field(f, "iov_len").map(resolve::len).transpose()?.flatten();
            let (data, shown) = match field(f, "iov_base") {
                Some(b) if matches!(b.kind, ExprKind::Str { .. }) => {
                    (resolve::bytes(b, n)?, data_of(b))
                }
                _ => (Vec::new(), None),
            };
            let size = n.unwrap_or(data.len());
            Ok((data, size, shown))
        })
        .collect()
}

/// An int the kernel writes (`16`, `128 => 16`), if written.
fn out_int(e: Option<&Expr>) -> Result<Option<i64>, Why> {
    match e.map(|e| &e.kind) {
        None | Some(ExprKind::Dots) => Ok(None),
        Some(ExprKind::InOut(_, b)) => out_int(Some(b)),
        Some(_) => e.map(|e| resolve::int(e, None)).transpose(),
    }
}

fn not_unix(o: Out) -> Result<Out, Why> {
    match o {
        Out::Unix(_) => {
            Err("an AF_UNIX msg_name in recvmmsg is not emitted (IPv4 and IPv6 are)".into())
        }
        o => Ok(o),
    }
}

/// The line's call: the rules of `socklab script`'s own (request.rs).
pub fn op(step: &Step) -> Result<Mmsg, Why> {
    let f = fd(arg(step, 0)?)?;
    let all_items = items_of(Some(arg(step, 1)?));
    let all = !all_items
        .last()
        .is_some_and(|e| matches!(e.kind, ExprKind::Dots));
    let entries: Vec<&Expr> = all_items
        .iter()
        .filter(|e| !matches!(e.kind, ExprKind::Dots))
        .collect();
    let flags = val_of(arg(step, 3)?, Some(Group::Msg))?;
    let vlen = resolve::len(arg(step, 2)?)?.unwrap_or(entries.len());
    if vlen == 0 || vlen > MAX_VLEN {
        return Err(format!("{}'s vlen {vlen}: 1 to {MAX_VLEN}", step.row.name));
    }
    if step.row.name == "recvmmsg" {
        let first = entries.first().map_or(&[][..], |e| hdr(e));
        let size = match iovecs(first)?.as_slice() {
            [] => 1024,
            [(_, n, _)] => *n,
            _ => return Err("a script's recvmmsg entry has one iovec".into()),
        };
        if size > 65536 {
            return Err(format!(
                "recvmmsg's iov_len {size}: a script asks for at most 65536"
            ));
        }
        let named = field(first, "msg_name").is_none_or(|e| !matches!(e.kind, ExprKind::Null));
        let mut written = Vec::new();
        for e in &entries {
            let m = hdr(e);
            written.push(Entry {
                name: field(m, "msg_name")
                    .map(out_of)
                    .transpose()?
                    .map(not_unix)
                    .transpose()?,
                namelen: out_int(field(m, "msg_namelen"))?,
                data: iovecs(m)?
                    .into_iter()
                    .next()
                    .and_then(|(_, _, shown)| shown),
                flags: match field(m, "msg_flags") {
                    Some(x) if !matches!(x.kind, ExprKind::Dots) => {
                        Some(val_of(x, Some(Group::Msg))?)
                    }
                    _ => None,
                },
                controllen: out_int(field(m, "msg_controllen"))?,
                len: out_int(field(fields_of(e), "msg_len"))?,
            });
        }
        return Ok(Mmsg::Recv(f, vlen, size, named, flags, written, all));
    }
    if entries.len() != vlen || !all {
        return Err(format!(
            "sendmmsg's vlen {vlen}: the line writes {} entries (write each one)",
            entries.len()
        ));
    }
    let (mut data, mut lens) = (Vec::new(), Vec::new());
    for e in &entries {
        let m = hdr(e);
        let bytes = match iovecs(m)?.as_slice() {
            [(d, _, _)] => d.clone(),
            _ => return Err("a script's sendmmsg entry has one iovec".into()),
        };
        let to = match field(m, "msg_name") {
            None => None,
            Some(x) if matches!(x.kind, ExprKind::Null) => None,
            Some(x) => Some(inet(x)?),
        };
        data.push((bytes, to));
        lens.push(out_int(field(fields_of(e), "msg_len"))?);
    }
    if data.iter().any(|(_, t)| t.is_some()) && data.iter().any(|(_, t)| t.is_none()) {
        return Err(
            "a script's sendmmsg names every entry's msg_name or none (a connected socket)".into(),
        );
    }
    Ok(Mmsg::Send(f, data, flags, lens))
}

/// The words C writes: an fd's variable, a constant's text, a literal,
/// data to send (a literal or a filled buffer), an address's port.
pub struct Words<'a> {
    pub var: &'a dyn Fn(&Fd) -> String,
    pub val: &'a dyn Fn(&Val) -> String,
    pub lit: &'a dyn Fn(&[u8]) -> String,
    pub data: &'a dyn Fn(&[u8]) -> String,
    pub port: &'a dyn Fn(u16) -> String,
}

/// The array's declarations, zeroed (`n`: its entries; `named`: with
/// an address buffer each).
fn arrays(n: usize, named: bool) -> String {
    let names = if named {
        format!(" struct sockaddr_storage nm[{n}];")
    } else {
        String::new()
    };
    format!("struct mmsghdr mm[{n}]; struct iovec iv[{n}];{names} memset(mm, 0, sizeof mm);\n\t\t ")
}

/// The C statements of the line (r = the result), its checks after.
pub fn c(line: usize, m: &Mmsg, w: &Words) -> String {
    match m {
        Mmsg::Send(f, data, flags, lens) => {
            let mut s = arrays(data.len(), data.iter().any(|(_, to)| to.is_some()));
            for (i, (bytes, to)) in data.iter().enumerate() {
                let _ = write!(
                    s,
                    " iv[{i}].iov_base = (void *){}; iv[{i}].iov_len = {}; mm[{i}].msg_hdr.msg_iov = &iv[{i}]; mm[{i}].msg_hdr.msg_iovlen = 1;",
                    (w.data)(bytes),
                    bytes.len()
                );
                if let Some(to) = to {
                    let _ = write!(
                        s,
                        " mm[{i}].msg_hdr.msg_name = &nm[{i}]; mm[{i}].msg_hdr.msg_namelen = Inet(&nm[{i}], {}, {});",
                        (w.lit)(to.ip.as_bytes()),
                        (w.port)(to.port)
                    );
                }
                s.push_str("\n\t\t ");
            }
            let _ = write!(
                s,
                " r = sendmmsg({}, mm, {}, {});",
                (w.var)(f),
                data.len(),
                (w.val)(flags)
            );
            for (i, n) in lens.iter().enumerate() {
                if let Some(n) = n {
                    let _ = write!(
                        s,
                        " if (r > {i}) {{ IntIs({line}, \"msg_len\", mm[{i}].msg_len, {n}); }}"
                    );
                }
            }
            s
        }
        Mmsg::Recv(fd, vlen, size, named, flags, entries, all) => {
            let total = vlen * size.max(&1);
            let mut s = if total <= 65536 {
                format!("char bb[{total}]; ")
            } else {
                format!("char *bb = Fill(\"\", 0, {total}); ")
            };
            s += &arrays(*vlen, *named);
            let _ = write!(
                s,
                " for (int i = 0; i < {vlen}; i++) {{ iv[i].iov_base = bb + i * {size}; iv[i].iov_len = {size}; mm[i].msg_hdr.msg_iov = &iv[i]; mm[i].msg_hdr.msg_iovlen = 1;{} }}\n\t\t ",
                if *named {
                    " mm[i].msg_hdr.msg_name = &nm[i]; mm[i].msg_hdr.msg_namelen = sizeof nm[i];"
                } else {
                    ""
                }
            );
            let _ = write!(
                s,
                " r = recvmmsg({}, mm, {vlen}, {}, NULL);",
                (w.var)(fd),
                (w.val)(flags)
            );
            if *all {
                let _ = write!(
                    s,
                    " if (r >= 0) {{ IntIs({line}, \"entries\", r, {}); }}",
                    entries.len()
                );
            }
            for (i, e) in entries.iter().enumerate() {
                s += &received(line, i, *size, *named, e, w);
            }
            s
        }
    }
}

/// The checks of received entry `i` (when the call filled it).
fn received(line: usize, i: usize, size: usize, named: bool, e: &Entry, w: &Words) -> String {
    let mut c = String::new();
    let int = |what: &str, got: String, want: String| {
        format!(" IntIs({line}, \"{what}\", {got}, {want});")
    };
    if let (Some(Out::Is(a)), true) = (&e.name, named) {
        let p = a.port;
        let _ = write!(
            c,
            " InetIs({line}, &nm[{i}], {}, {}, {p});",
            (w.lit)(a.ip.as_bytes()),
            if p == 0 {
                "&(int){0}".to_string()
            } else {
                format!("&port_{p}")
            }
        );
    }
    if let Some(n) = e.namelen {
        c += &int(
            "msg_namelen",
            format!("mm[{i}].msg_hdr.msg_namelen"),
            n.to_string(),
        );
    }
    if let Some((b, cut)) = &e.data {
        let _ = write!(
            c,
            " Data({line}, bb + {i} * {size}, mm[{i}].msg_len, {}, {}, {});",
            (w.lit)(b),
            b.len(),
            i32::from(*cut)
        );
    }
    if let Some(f) = &e.flags {
        c += &int(
            "msg_flags",
            format!("mm[{i}].msg_hdr.msg_flags"),
            (w.val)(f),
        );
    }
    if let Some(n) = e.controllen {
        c += &int(
            "msg_controllen",
            format!("(long)mm[{i}].msg_hdr.msg_controllen"),
            n.to_string(),
        );
    }
    if let Some(n) = e.len {
        c += &int("msg_len", format!("mm[{i}].msg_len"), n.to_string());
    }
    if c.is_empty() {
        return c;
    }
    format!("\n\t\t  if (r > {i}) {{{c} }}")
}
