//! From a checked step to the request its actor makes: each argument
//! resolved (labels, constants, addresses, `...` as the natural value).

use super::ast::{Expr, ExprKind, Field};

use super::call::Req;
use super::check::Step;
use super::epoll_data::Data;
use super::labels::Labels;
use super::resolve::{Why, addr, bytes, fd, int, is_null, len};
use crate::values::xlat::signal_name;
use crate::values::xlat::{self, Group};

/// The argument at `i` (the check made sure there is one; `...` if not).
fn arg(step: &Step, i: usize) -> &Expr {
    static DOTS: Expr = Expr {
        span: super::ast::Span { line: 0, col: 0 },
        kind: ExprKind::Dots,
    };
    step.args.get(i).unwrap_or(&DOTS)
}

fn i32_of(e: &Expr, group: Option<Group>) -> Result<i32, Why> {
    let n = int(e, group)?;
    i32::try_from(n).map_err(|_| format!("{n} does not fit in an int"))
}

/// An address that must be there (bind, connect).
fn need_addr(e: &Expr, labels: &mut Labels) -> Result<crate::values::addr::Addr, Why> {
    addr(e, labels)?.ok_or_else(|| "this call needs an address, not NULL".to_string())
}

/// A buffer size: the length argument, or the string's length.
fn size(len_arg: &Expr, buf: &Expr) -> Result<usize, Why> {
    match (len(len_arg)?, &buf.kind) {
        (Some(n), _) => Ok(n),
        (None, ExprKind::Str { bytes, .. }) => Ok(bytes.len()),
        (None, _) => Ok(1024),
    }
}

/// The option level and name: `SOL_SOCKET, SO_REUSEADDR` or numbers.
fn option(step: &Step, labels: &Labels) -> Result<(i32, i32), Why> {
    let _ = labels;
    let level = i32_of(arg(step, 1), Some(Group::Sol))?;
    let name = match &arg(step, 2).kind {
        ExprKind::Name(n) => {
            xlat::option(level, n).ok_or_else(|| format!("unknown option '{n}' at this level"))?
        }
        _ => i32_of(arg(step, 2), None)?,
    };
    Ok((level, name))
}

/// An option value as the kernel takes it: `[1]` an int, `{l_onoff=1,
/// l_linger=0}` a linger, `{tv_sec=1, tv_usec=0}` a timeval, an ip_mreq, a string.
pub(super) fn option_value(e: &Expr, optlen: Option<usize>) -> Result<Vec<u8>, Why> {
    let mut v = match &e.kind {
        ExprKind::Struct(fields) => {
            let num = |name: &str| {
                fields
                    .iter()
                    .find(|f| f.name.as_deref() == Some(name))
                    .map_or(Ok(0), |f| int(&f.value, None))
            };
            if let Some(group) = get(fields, "imr_multiaddr") {
                mreq(group, get(fields, "imr_interface"))?
            } else if fields.iter().any(|f| f.name.as_deref() == Some("l_onoff")) {
                let mut b = (num("l_onoff")? as i32).to_ne_bytes().to_vec();
                b.extend((num("l_linger")? as i32).to_ne_bytes());
                b
            } else {
                let mut b = num("tv_sec")?.to_ne_bytes().to_vec();
                b.extend(num("tv_usec")?.to_ne_bytes());
                b
            }
        }
        ExprKind::Str { bytes, .. } => bytes.clone(),
        _ => (i32_of(e, None)?).to_ne_bytes().to_vec(),
    };
    if let Some(n) = optlen {
        v.resize(n, 0);
    }
    Ok(v)
}

/// An ip_mreq as strace prints it, `{imr_multiaddr=inet_addr("G"),
/// imr_interface=inet_addr("I")}` (optlen 12: an ip_mreqn, ifindex 0).
fn mreq(group: &Expr, iface: Option<&Expr>) -> Result<Vec<u8>, Why> {
    let ip = |e: Option<&Expr>| -> Result<[u8; 4], Why> {
        let text = e
            .and_then(|e| super::resolve::func_str(e, "inet_addr"))
            .ok_or("an ip_mreq's addresses are inet_addr(\"A\")")?;
        let text = String::from_utf8_lossy(text);
        let ip: std::net::Ipv4Addr = text
            .parse()
            .map_err(|_| format!("'{text}' is not an IPv4 address"))?;
        Ok(ip.octets())
    };
    Ok([ip(Some(group))?, ip(iface)?].concat())
}

/// The fields of a struct argument (a msghdr, a pollfd).
pub(super) fn fields(e: &Expr) -> &[Field] {
    match &e.kind {
        ExprKind::Struct(f) => f,
        _ => &[],
    }
}

pub(super) fn get<'a>(fields: &'a [Field], name: &str) -> Option<&'a Expr> {
    fields
        .iter()
        .find(|f| f.name.as_deref() == Some(name))
        .map(|f| &f.value)
}

fn items(e: Option<&Expr>) -> &[Expr] {
    match e.map(|e| &e.kind) {
        Some(ExprKind::Array(items)) => items,
        _ => &[],
    }
}

/// A msghdr's iovecs: `[{iov_base="hi", iov_len=2}, ...]` (data or sizes).
fn iovecs(msg: &[Field]) -> Result<Vec<(Vec<u8>, usize)>, Why> {
    items(get(msg, "msg_iov"))
        .iter()
        .map(|iov| {
            let f = fields(iov);
            let base = get(f, "iov_base");
            let n = get(f, "iov_len").map(len).transpose()?.flatten();
            let data = match base {
                Some(b) if matches!(b.kind, ExprKind::Str { .. }) => bytes(b, n)?,
                _ => Vec::new(),
            };
            let size = n.unwrap_or(data.len());
            Ok((data, size))
        })
        .collect()
}

/// The signal of a `kill(WHO, SIG)` line.
pub fn signal(step: &Step) -> Result<i32, Why> {
    signal_at(step, 1)
}

/// The signal argument `i` of a line (tgkill's is the third).
pub fn signal_at(step: &Step, i: usize) -> Result<i32, Why> {
    i32_of(arg(step, i), Some(Group::Sig))
}

/// The request a step makes, with this run's labels.
pub fn request(step: &Step, labels: &mut Labels) -> Result<Req, Why> {
    let a = |i: usize| arg(step, i);
    let fd0 = || fd(a(0), labels);
    Ok(match step.row.name {
        "socket" | "socketpair" => {
            let (d, t, p) = (
                i32_of(a(0), Some(Group::Af))?,
                i32_of(a(1), Some(Group::Sock))?,
                i32_of(a(2), Some(Group::Ipproto))?,
            );
            if step.row.name == "socket" {
                Req::Socket(d, t, p)
            } else {
                Req::Socketpair(d, t, p)
            }
        }
        "bind" => {
            let f = fd0()?;
            Req::Bind(f, need_addr(a(1), labels)?)
        }
        "connect" => {
            let f = fd0()?;
            Req::Connect(f, need_addr(a(1), labels)?)
        }
        "listen" => Req::Listen(fd0()?, i32_of(a(1), None)?),
        "accept" => Req::Accept(fd0()?, !is_null(a(1))),
        "accept4" => Req::Accept4(
            fd0()?,
            !is_null(a(1)),
            i32_of(a(3), Some(Group::SockFlags))?,
        ),
        "getsockname" => Req::Getsockname(fd0()?),
        "getpeername" => Req::Getpeername(fd0()?),
        "shutdown" => Req::Shutdown(fd0()?, i32_of(a(1), Some(Group::Shut))?),
        "close" => Req::Close(fd0()?),
        "dup" => Req::Dup(fd0()?),
        "dup2" => Req::Dup2(fd0()?, i32_of(a(1), None)?),
        "sendto" => {
            let f = fd0()?;
            let data = bytes(a(1), len(a(2))?)?;
            let to = addr(a(4), labels)?;
            Req::Sendto(f, data, i32_of(a(3), Some(Group::Msg))?, to)
        }
        "recvfrom" => Req::Recvfrom(
            fd0()?,
            size(a(2), a(1))?,
            i32_of(a(3), Some(Group::Msg))?,
            !is_null(a(4)),
        ),
        "read" => Req::Read(fd0()?, size(a(2), a(1))?),
        "write" => Req::Write(fd0()?, bytes(a(1), len(a(2))?)?),
        "setsockopt" => {
            let (level, name) = option(step, labels)?;
            let value = option_value(a(3), len(a(4))?)?;
            Req::Setsockopt(fd0()?, level, name, value)
        }
        "getsockopt" => {
            let (level, name) = option(step, labels)?;
            let optlen = len(a(4))?.unwrap_or(4);
            Req::Getsockopt(fd0()?, level, name, optlen as u32)
        }
        "fcntl" => {
            let cmd = i32_of(a(1), Some(Group::Fcntl))?;
            let group = if cmd == libc::F_SETFD {
                Group::FdFlags
            } else {
                Group::OFlags
            };
            let arg = match step.args.get(2) {
                Some(e) if !matches!(e.kind, ExprKind::Dots) => Some(int(e, Some(group))?),
                _ => None,
            };
            Req::Fcntl(fd0()?, cmd, arg)
        }
        "ioctl" => {
            let request = int(a(1), Some(Group::Ioctl))?;
            let value = match a(2).kind {
                ExprKind::Dots => 0,
                _ => i32_of(a(2), None).unwrap_or(0),
            };
            Req::Ioctl(fd0()?, request as u64, value)
        }
        "sendmsg" | "recvmsg" => {
            let f = fd0()?;
            let msg = fields(a(1));
            let iov = iovecs(msg)?;
            let flags = i32_of(a(2), Some(Group::Msg))?;
            let name = get(msg, "msg_name");
            if step.row.name == "sendmsg" {
                let to = match name {
                    Some(e) => addr(e, labels)?,
                    None => None,
                };
                let control = super::cmsgs::control(msg, labels)?;
                Req::Sendmsg(
                    f,
                    iov.into_iter().map(|(d, _)| d).collect(),
                    to,
                    control,
                    flags,
                )
            } else {
                let lens = iov.iter().map(|(_, n)| *n).collect();
                let controllen = get(msg, "msg_controllen")
                    .map(len)
                    .transpose()?
                    .flatten()
                    .unwrap_or(0);
                let want = name.is_some_and(|e| !is_null(e));
                Req::Recvmsg(f, lens, controllen, flags, want)
            }
        }
        "recvmmsg" | "sendmmsg" => mmsg(step, labels)?,
        "poll" => {
            let mut fds = Vec::new();
            for p in items(Some(a(0))) {
                let f = fields(p);
                let e = get(f, "fd").ok_or("a pollfd is {fd=N, events=POLLIN}")?;
                let events = get(f, "events").map_or(Ok(0), |e| int(e, Some(Group::Poll)))?;
                fds.push((fd(e, labels)?, events as i16));
            }
            Req::Poll(fds, i32_of(a(2), None)?)
        }
        "epoll_create1" => Req::EpollCreate1(i32_of(a(0), Some(Group::EpollFlags))?),
        "epoll_ctl" => {
            let (ep, op, f) = (
                fd0()?,
                i32_of(a(1), Some(Group::EpollCtl))?,
                fd(a(2), labels)?,
            );
            let event = match super::epoll_data::ctl(a(2), a(3))? {
                None => None,
                Some(data) => {
                    let events = get(fields(a(3)), "events")
                        .map_or(Ok(0), |e| int(e, Some(Group::Epoll)))?;
                    let value = match data {
                        Data::Fd(e) => fd(e, labels)? as u64,
                        Data::Num(n) => n,
                    };
                    if let Some(n) = data.fd_label() {
                        labels.epoll_data_fd(n);
                    }
                    Some((events as u32, value))
                }
            };
            Req::EpollCtl(ep, op, f, event)
        }
        "epoll_wait" => {
            let max = len(a(2))?.unwrap_or(1);
            if max > 65536 {
                return Err(format!(
                    "epoll_wait's maxevents {max}: a script asks for at most 65536"
                ));
            }
            Req::EpollWait(fd0()?, max, i32_of(a(3), None)?)
        }
        "kill" => Req::Kill(i32_of(a(0), None)?, i32_of(a(1), Some(Group::Sig))?),
        "rt_sigaction" => sigaction(i32_of(a(0), Some(Group::Sig))?, a(1))?,
        // The file calls and credentials; files.rs refuses the rest.
        _ => super::files::request(step, labels)?,
    })
}

/// The signals a thread actor's handler would take from socklab itself:
/// its stop signals (it must stay killable), SIGCHLD (process actors'
/// ends), SIGALRM.
const SOCKLABS: [i32; 6] = [
    libc::SIGINT,
    libc::SIGTERM,
    libc::SIGHUP,
    libc::SIGQUIT,
    libc::SIGUSR2,
    libc::SIGALRM,
];

/// The request of an `rt_sigaction(SIG, ACT, NULL, 8)` line: SIG_DFL,
/// SIG_IGN, or socklab's handler with the line's sa_flags.
pub(super) fn sigaction(sig: i32, act: &Expr) -> Result<Req, Why> {
    let f = fields(act);
    match get(f, "sa_handler").map(|e| &e.kind) {
        Some(ExprKind::Name(n)) if n == "SIG_DFL" => return Ok(Req::Sigaction(sig, true)),
        Some(ExprKind::Name(n)) if n == "SIG_IGN" => return Ok(Req::Sigaction(sig, false)),
        Some(ExprKind::Int(_) | ExprKind::Dots) => {}
        _ => {
            return Err(
                "rt_sigaction's sa_handler: SIG_DFL, SIG_IGN, or a handler (an \
                        address or `...`: socklab's own, which only records that it ran)"
                    .into(),
            );
        }
    }
    match get(f, "sa_mask").map(|e| &e.kind) {
        None | Some(ExprKind::Dots) => {}
        Some(ExprKind::Array(v)) if v.is_empty() => {}
        _ => return Err("a script's handler takes sa_mask=[]".into()),
    }
    let flags = get(f, "sa_flags").map_or(Ok(0), |e| int(e, Some(Group::SaFlags)))? as u64;
    if !cfg!(target_arch = "x86_64") {
        return Err("a script's handler is made on x86-64 only".into());
    }
    if flags & crate::sys::handler::SA_RESTORER == 0 {
        return Err(
            "x86-64's kernel returns from a handler through sa_restorer: write \
                    sa_flags=SA_RESTORER|... (glibc's sigaction adds it; socklab's \
                    restorer makes rt_sigreturn)"
                .into(),
        );
    }
    Ok(Req::Handler(sig, flags))
}

/// Why a thread actor cannot make this rt_sigaction (None: it can).
pub(super) fn in_thread(step: &Step) -> Option<String> {
    let sig = signal_at(step, 0).unwrap_or(0);
    match step.args.get(1).map(|a| sigaction(sig, a)) {
        Some(Ok(Req::Handler(..))) if SOCKLABS.contains(&sig) => Some(format!(
            "a handler for {} in a thread actor would be socklab's own: make it in a process \
             actor (NAME = fork())",
            signal_name(sig)
        )),
        Some(Ok(Req::Handler(..)) | Err(_)) => None,
        _ => Some(
            "rt_sigaction with SIG_DFL or SIG_IGN changes every thread's disposition \
             (socklab's own too): make it in a process actor (NAME = fork()), or install \
             a handler ({sa_handler=..., ...})"
                .into(),
        ),
    }
}

/// The most entries a script's recvmmsg or sendmmsg takes (UIO_MAXIOV).
const MAX_VLEN: usize = 1024;

/// recvmmsg(fd, [{msg_hdr={...}, msg_len=N}, ...], VLEN, FLAGS, NULL) and
/// sendmmsg(fd, [...], VLEN, FLAGS): recvmmsg's entries as its first one
/// (its iov_len, 1024 if not written; its msg_name or NULL), sendmmsg's
/// one datagram per entry (its one iovec's bytes, its msg_name).
fn mmsg(step: &Step, labels: &mut Labels) -> Result<Req, Why> {
    let a = |i: usize| arg(step, i);
    let f = fd(a(0), labels)?;
    let entries = items(Some(a(1)));
    let hdr = |e: &Expr| fields(get(fields(e), "msg_hdr").unwrap_or(e)).to_vec();
    let flags = i32_of(a(3), Some(Group::Msg))?;
    let vlen = match len(a(2))? {
        Some(n) => n,
        None => entries.len(),
    };
    if vlen == 0 || vlen > MAX_VLEN {
        return Err(format!("{}'s vlen {vlen}: 1 to {MAX_VLEN}", step.row.name));
    }
    if step.row.name == "recvmmsg" {
        let first = entries.first().map(hdr).unwrap_or_default();
        let size = match iovecs(&first)?.as_slice() {
            [] => 1024,
            [(_, n)] => *n,
            _ => return Err("a script's recvmmsg entry has one iovec".into()),
        };
        if size > 65536 {
            return Err(format!(
                "recvmmsg's iov_len {size}: a script asks for at most 65536"
            ));
        }
        let named = get(&first, "msg_name").is_none_or(|e| !is_null(e));
        return Ok(Req::Recvmmsg(f, vlen, size, flags, named));
    }
    if entries.len() != vlen {
        return Err(format!(
            "sendmmsg's vlen {vlen}: the line writes {} entries (write each one)",
            entries.len()
        ));
    }
    let (mut data, mut to) = (Vec::new(), Vec::new());
    for e in entries {
        let msg = hdr(e);
        match iovecs(&msg)?.as_slice() {
            [(d, _)] => data.push(d.clone()),
            _ => return Err(
                "a script's sendmmsg entry has one iovec: msg_iov=[{iov_base=\"hi\", iov_len=2}]"
                    .into(),
            ),
        }
        to.push(match get(&msg, "msg_name") {
            Some(e) => addr(e, labels)?,
            None => None,
        });
    }
    if to.iter().any(Option::is_some) && to.iter().any(Option::is_none) {
        return Err(
            "a script's sendmmsg names every entry's msg_name or none (a connected socket)".into(),
        );
    }
    Ok(Req::Sendmmsg(f, data, to, flags))
}
