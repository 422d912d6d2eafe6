//! sendmsg and recvmsg with a msg_name (an address to send to, a buffer
//! for the sender's) or SCM_CREDENTIALS: this module's [`UnixOp`]s. The
//! others (no name, SCM_RIGHTS only) are ops.rs's.

use super::super::ast::{Expr, ExprKind};
use super::super::check::Step;
use super::super::resolve::{self, Why};
use super::model::{
    Cred, Ctl, From, Name, Op, UnixOp, fd, field, fields_of, inet, items_of, val_of,
};
use super::written::{data_of, sun};
use crate::values::xlat::Group;

/// The op of a sendmsg or recvmsg line if it is this module's.
pub fn msg(step: &Step) -> Result<Option<Op>, Why> {
    let (Some(f0), Some(m), Some(fl)) = (step.args.first(), step.args.get(1), step.args.get(2))
    else {
        return Ok(None);
    };
    let m = fields_of(m);
    let send = step.row.name == "sendmsg";
    let name = field(m, "msg_name");
    let named = match name.map(|e| &e.kind) {
        None | Some(ExprKind::Null) => false,
        Some(ExprKind::Dots) => !send,
        Some(_) => true,
    };
    let mut rights = Vec::new();
    let mut creds = None;
    let mut control = Vec::new();
    for c in items(field(m, "msg_control")) {
        let f = fields_of(c);
        if send && let Some(a) = super::ancillary::parse(f)? {
            control.push(Ctl::Other(a));
            continue;
        }
        match field(f, "cmsg_type").map(|e| &e.kind) {
            Some(ExprKind::Name(n)) if n == "SCM_RIGHTS" => {
                let mut fds = Vec::new();
                for e in items(field(f, "cmsg_data")) {
                    if !matches!(e.kind, ExprKind::Dots) {
                        fds.push(fd(e)?);
                    }
                }
                rights.extend(fds.iter().cloned());
                if !fds.is_empty() {
                    control.push(Ctl::Rights(fds));
                }
            }
            Some(ExprKind::Name(n)) if n == "SCM_CREDENTIALS" => {
                let c = cred(field(f, "cmsg_data"))?;
                if !send && creds.is_some() {
                    return Err(
                        "a recvmsg receives one SCM_CREDENTIALS message (the kernel sends the last one a sendmsg gave)"
                            .into(),
                    );
                }
                creds = Some(c.clone());
                control.push(Ctl::Cred(c));
            }
            // Other ancillary data received (IP_TOS, IP_PKTINFO...): the
            // kernel's to give; the program takes them (as ops.rs's).
            _ if !send => {}
            _ => {
                return Err(
                    "SCM_RIGHTS, SCM_CREDENTIALS and SOL_IP/SOL_IPV6 ancillary data are emitted"
                        .into(),
                );
            }
        }
    }
    // One SCM_RIGHTS message alone (or none) and no name: ops.rs's.
    let several = control.len() > 1;
    if !named && creds.is_none() && !(send && several) && control.iter().all(is_rights) {
        return Ok(None);
    }
    let fd = fd(f0)?;
    let flags = val_of(fl, Some(Group::Msg))?;
    let iovs = items(field(m, "msg_iov"));
    if send {
        let mut iov = Vec::new();
        for i in iovs {
            let f = fields_of(i);
            let n = field(f, "iov_len").map(resolve::len).transpose()?.flatten();
            let base = field(f, "iov_base").ok_or("an iovec is {iov_base=\"...\", iov_len=N}")?;
            iov.push(resolve::bytes(base, n)?);
        }
        let to = match msg_name(name)? {
            From::Is(n) => Some(n),
            _ => None,
        };
        return Ok(Some(Op::Unix(UnixOp::Sendmsg {
            fd,
            iov,
            to,
            control,
            flags,
        })));
    }
    let mut sizes = Vec::new();
    for i in iovs {
        let f = fields_of(i);
        let n = field(f, "iov_len").map(resolve::len).transpose()?.flatten();
        let shown_len = match field(f, "iov_base").map(|e| &e.kind) {
            Some(ExprKind::Str { bytes, .. }) => bytes.len(),
            _ => 0,
        };
        sizes.push(n.unwrap_or(shown_len));
    }
    let controllen = field(m, "msg_controllen")
        .map(resolve::len)
        .transpose()?
        .flatten()
        .unwrap_or(0);
    Ok(Some(Op::Unix(UnixOp::Recvmsg {
        fd,
        sizes,
        from: msg_name(name)?,
        controllen,
        flags,
        want: shown(iovs),
        rights,
        cred: creds,
    })))
}

fn is_rights(c: &Ctl) -> bool {
    matches!(c, Ctl::Rights(_))
}

fn name_of(e: &Expr) -> Result<Name, Why> {
    match sun(e)? {
        Some(s) => Ok(Name::Unix(s)),
        None => inet(e).map(Name::Inet),
    }
}

/// SCM_CREDENTIALS' `{pid=..., uid=0, gid=0}`.
fn cred(data: Option<&Expr>) -> Result<Cred, Why> {
    let f = data.map(fields_of).unwrap_or(&[]);
    let num = |n: &str| match field(f, n) {
        None => Ok(None),
        Some(e) if matches!(e.kind, ExprKind::Dots) => Ok(None),
        Some(e) => resolve::int(e, None).map(Some),
    };
    Ok(Cred {
        pid: num("pid")?,
        uid: num("uid")?,
        gid: num("gid")?,
    })
}

/// A msg_name as written (None: NULL or absent; `...`: asked).
fn msg_name(e: Option<&Expr>) -> Result<From, Why> {
    match e.map(|e| &e.kind) {
        None | Some(ExprKind::Null) => Ok(From::Null),
        Some(ExprKind::Dots) => Ok(From::Any),
        Some(_) => e.map_or(Ok(From::Null), |e| name_of(e).map(From::Is)),
    }
}

/// The received bytes, if every iovec shows them.
fn shown(iovs: &[Expr]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    for i in iovs {
        let (bytes, _) = data_of(field(fields_of(i), "iov_base")?)?;
        out.extend(bytes);
    }
    Some(out)
}

fn items(e: Option<&Expr>) -> &[Expr] {
    items_of(e)
}
