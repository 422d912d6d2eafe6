//! A checked step as the emitters see it: each argument resolved to what a program writes (a
//! label's variable, a constant's name, an address's host and port label, the bytes to send),
//! the expectations it can check, or the reason it cannot be emitted faithfully.

use super::super::ast::{Expr, ExprKind, Field};
use super::super::epoll_data::Data;
use super::super::resolve::{self, Why};
use crate::values::xlat::Group;

/// An fd as a program names it.
#[derive(Debug, Clone, PartialEq)]
pub enum Fd {
    /// `s = socket(...)`: the variable `s`.
    Name(String),
    /// `p[1]` of `p = socketpair(...)`.
    Pair(String, usize),
    /// A written fd label (`3`): the variable `fd3`.
    Label(i64),
    /// 0, 1, 2: themselves.
    Std(i64),
}

/// An integer argument: its C and Python text (constants joined by `|`), its value.
#[derive(Debug, Clone, PartialEq)]
pub struct Val {
    pub names: Vec<String>,
    pub value: i64,
}

/// An IPv4 or IPv6 address and its port label (the port as written).
#[derive(Debug, Clone, PartialEq)]
pub struct Inet {
    pub ip: String,
    pub port: u16,
}

/// An address the kernel writes: none asked (NULL), anything, or one to check.
#[derive(Debug, Clone, PartialEq)]
pub enum Out {
    Null,
    Any,
    Is(Inet),
    /// An AF_UNIX address to check (unix.rs).
    Unix(Sun),
}

/// What the call is, its arguments resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Socket(Val, Val, Val),
    Socketpair(Val, Val, Val, Vec<Fd>),
    Bind(Fd, Inet),
    Connect(Fd, Inet),
    Listen(Fd, Val),
    Accept(Fd, Out, Option<Val>),
    Getsockname(Fd, Out),
    Getpeername(Fd, Out),
    Shutdown(Fd, Val),
    Close(Fd),
    Dup(Fd),
    Dup2(Fd, Val),
    Sendto(Fd, Vec<u8>, Val, Option<Inet>),
    /// fd, size, flags, from, the bytes expected (and whether cut).
    Recvfrom(Fd, usize, Val, Out, Option<(Vec<u8>, bool)>),
    Read(Fd, usize, Option<(Vec<u8>, bool)>),
    Write(Fd, Vec<u8>),
    /// fd, level, name, the value set (optval.rs).
    Setsockopt(Fd, Val, Val, OptVal),
    /// fd, level, name, the value read back (and compared) (optval.rs).
    Getsockopt(Fd, Val, Val, OptVal),
    Fcntl(Fd, Val, Option<Val>),
    Ioctl(Fd, Val, i64, Option<Val>),
    /// fd, iovecs, SCM_RIGHTS fds, flags.
    Sendmsg(Fd, Vec<Vec<u8>>, Vec<Fd>, Val),
    /// fd, iov sizes, controllen, flags, bytes expected, fds received.
    Recvmsg(Fd, Vec<usize>, usize, Val, Option<Vec<u8>>, Vec<Fd>),
    /// (fd, events), timeout, expected revents (fd index, value).
    Poll(Vec<(Fd, Val)>, i64, Vec<Option<Val>>),
    /// `NAME = fork()` / a clone3 line (threads.rs): the new actor; the tid written.
    Fork(Who),
    Thread(Who, Option<i64>),
    /// `rt_sigaction(SIG, {sa_handler=SIG_DFL|SIG_IGN, ...})`: SIG_DFL?
    Sigaction(Val, bool),
    /// `rt_sigaction(SIG, {sa_handler=..., sa_flags=...})`: the signal and
    /// the flags as written, SA_RESTORER taken out (libc's sigaction adds it).
    Handler(Val, Vec<String>),
    Kill(Who, Val),
    /// wait4's process (pid -1: any), status (strace's text), options, result's pid.
    Wait4(Who, Option<String>, Val, Option<Who>),
    /// `exit_group(N)` in a process actor.
    Exit(i64),
    /// epoll_create1's flags (epoll.rs).
    EpollCreate1(Val),
    /// The epoll fd, the operation, the fd, its events and data (None: NULL).
    EpollCtl(Fd, Val, Fd, Option<(Val, Data<Fd>)>),
    /// The epoll fd, maxevents, timeout (ms), events written (events, data).
    EpollWait(Fd, usize, i64, Vec<(Val, Data<Fd>)>),
    /// AF_UNIX, msg_name, SCM_CREDENTIALS, file calls, credentials (unix.rs).
    Unix(UnixOp),
    /// sendmmsg, recvmmsg (mmsg.rs); getpid, getppid, prlimit64 (own.rs).
    Mmsg(Mmsg),
    Own(Own),
    /// geteuid, prctl, rt_sigprocmask, rt_sigtimedwait, sched_setaffinity, alarm (procs.rs).
    Proc(Proc),
}

/// What a line writes of one entry recvmmsg fills (None: not written).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Entry {
    pub name: Option<Out>,
    pub namelen: Option<i64>,
    pub data: Option<(Vec<u8>, bool)>,
    pub flags: Option<Val>,
    pub controllen: Option<i64>,
    pub len: Option<i64>,
}

/// Send: fd, each datagram (its bytes, its address or none), flags, each entry's
/// msg_len as written. Recv: fd, vlen, each buffer's size, msg_name asked for,
/// flags, the entries written, whether they are all (no trailing `...`).
#[derive(Debug, Clone, PartialEq)]
pub enum Mmsg {
    Send(Fd, Vec<(Vec<u8>, Option<Inet>)>, Val, Vec<Option<i64>>),
    Recv(Fd, usize, usize, bool, Val, Vec<Entry>, bool),
}

/// getpid, getppid or gettid and the pid written (a label);
/// prlimit64(0, RLIMIT_NOFILE, ...): the limit set (rlim_cur, rlim_max),
/// or the old one's fields as written (None: not written).
#[derive(Debug, Clone, PartialEq)]
pub enum Own {
    Pid(&'static str, Option<Who>),
    Nofile(Option<(u64, u64)>, Option<(Option<u64>, Option<u64>)>),
}

/// An option value (setsockopt's, getsockopt's): its text is optval.rs.
#[derive(Debug, Clone, PartialEq)]
pub enum OptVal {
    /// An int: set, or read back (compared when the line writes it).
    Int(Option<Val>),
    /// Bytes set as written (a string value).
    Bytes(Vec<u8>),
    /// Read back into a buffer of this length, not compared.
    Len(u32),
    /// A linger or a timeval, set or read back and compared field by field.
    Pair(Pair),
    /// An ip_mreq (or ip_mreqn) set (optval.rs).
    Mreq(Mreq),
}

/// IP_ADD_MEMBERSHIP's value as strace prints it: an ip_mreq (len 8) or
/// an ip_mreqn (12, its ifindex 0), `{imr_multiaddr=..., imr_interface=...}`.
#[derive(Debug, Clone, PartialEq)]
pub struct Mreq {
    pub group: String,
    pub iface: String,
    pub len: usize,
}

/// `{l_onoff=1, l_linger=0}` or `{tv_sec=1, tv_usec=0}`: the struct's
/// C type and its two fields, as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Pair {
    pub linger: bool,
    pub a: i64,
    pub b: i64,
}

/// An actor a call names (kill, wait4, a fork's child): its name and its
/// index among the plan's actors (set by the plan), or a written pid that
/// names no fork (`actor` None: the number itself).
#[derive(Debug, Clone, PartialEq)]
pub struct Who {
    pub name: String,
    pub actor: Option<usize>,
    pub pid: i64,
    /// The actor is a process (forked by a line), not a thread.
    pub process: bool,
    /// A kill's: a handler is installed for its signal where the actor
    /// runs (set by the plan): the twin waits for it to have run.
    pub handled: bool,
}

/// What the line expects of the result.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    Nothing,
    Value(i64),
    /// An fd (a label, bound whatever its number).
    Fd,
    /// `-1 ENAME`.
    Errno(String),
}

/// One step, ready to write.
#[derive(Debug, Clone)]
pub struct Model {
    pub line: usize,
    pub op: Op,
    /// The label a returned fd binds.
    pub bind: Option<Fd>,
    pub want: Want,
}

/// A constant or number, as written; `group` names the constants.
pub(super) fn val_of(e: &Expr, group: Option<Group>) -> Result<Val, Why> {
    let value = match (resolve::int(e, group), &e.kind) {
        (Ok(v), _) => v,
        // SO_ERROR's value: an errno by name.
        (Err(why), ExprKind::Array(items)) => match items.first().map(|i| &i.kind) {
            Some(ExprKind::Name(n)) => crate::values::xlat::errno(n).ok_or(why)? as i64,
            _ => return Err(why),
        },
        (Err(why), _) => return Err(why),
    };
    let mut names = Vec::new();
    collect(e, &mut names)?;
    Ok(Val { names, value })
}

fn collect(e: &Expr, out: &mut Vec<String>) -> Result<(), Why> {
    match &e.kind {
        ExprKind::Int(n) => out.push(n.to_string()),
        ExprKind::Null => out.push("0".into()),
        ExprKind::Name(n) => out.push(n.clone()),
        ExprKind::Flags(items) => items.iter().try_for_each(|i| collect(i, out))?,
        ExprKind::Array(items) if items.len() == 1 => {
            items.iter().try_for_each(|i| collect(i, out))?
        }
        ExprKind::InOut(a, _) => collect(a, out)?,
        _ => return Err("expected a number or a constant".into()),
    }
    Ok(())
}

pub fn num(n: i64) -> Val {
    Val {
        names: vec![n.to_string()],
        value: n,
    }
}

/// An fd argument: a name, a pair's half, a written label.
pub fn fd(e: &Expr) -> Result<Fd, Why> {
    Ok(match &e.kind {
        ExprKind::Name(n) => Fd::Name(n.clone()),
        ExprKind::Index(n, i) => Fd::Pair(n.clone(), *i),
        ExprKind::Int(n) if (0..=2).contains(n) => Fd::Std(*n),
        ExprKind::Int(n) => Fd::Label(*n),
        _ => return Err("expected an fd (a number or a name)".into()),
    })
}

pub(super) fn fields_of(e: &Expr) -> &[Field] {
    match &e.kind {
        ExprKind::Struct(f) => f,
        _ => &[],
    }
}

pub(super) fn field<'a>(fields: &'a [Field], name: &str) -> Option<&'a Expr> {
    fields
        .iter()
        .find(|f| f.name.as_deref() == Some(name))
        .map(|f| &f.value)
}

pub(super) fn items_of(e: Option<&Expr>) -> &[Expr] {
    match e.map(|e| &e.kind) {
        Some(ExprKind::Array(items)) => items,
        _ => &[],
    }
}

fn string_in(e: &Expr) -> Option<String> {
    match &e.kind {
        ExprKind::Func(_, args) => args.iter().find_map(|a| match &a.kind {
            ExprKind::Str { bytes, .. } => Some(String::from_utf8_lossy(bytes).into_owned()),
            _ => None,
        }),
        _ => None,
    }
}

fn port_in(e: Option<&Expr>) -> Result<u16, Why> {
    let n = match e.map(|e| &e.kind) {
        Some(ExprKind::Func(_, args)) => match args.first().map(|a| &a.kind) {
            Some(ExprKind::Int(n)) => *n,
            _ => return Err("a port is htons(N)".into()),
        },
        Some(ExprKind::Int(n)) => *n,
        _ => 0,
    };
    u16::try_from(n).map_err(|_| format!("port {n} is out of range"))
}

/// An address written as `HOST:PORT`, `[V6]:PORT` or strace's struct.
pub fn inet(e: &Expr) -> Result<Inet, Why> {
    let unix = "AF_UNIX addresses are not emitted (only IPv4 and IPv6)";
    match &e.kind {
        ExprKind::Addr(text) if text.starts_with('/') || text.starts_with('@') => Err(unix.into()),
        ExprKind::Addr(text) => {
            let (host, port) = text
                .rsplit_once(':')
                .ok_or_else(|| format!("invalid address '{text}'"))?;
            let port = port
                .parse()
                .map_err(|_| format!("invalid port in '{text}'"))?;
            let ip = host.trim_start_matches('[').trim_end_matches(']');
            Ok(Inet {
                ip: ip.to_string(),
                port,
            })
        }
        ExprKind::Struct(f) => match field(f, "sa_family").map(|e| &e.kind) {
            Some(ExprKind::Name(n)) if n == "AF_INET" => Ok(Inet {
                ip: field(f, "sin_addr")
                    .and_then(string_in)
                    .unwrap_or_else(|| "0.0.0.0".into()),
                port: port_in(field(f, "sin_port"))?,
            }),
            Some(ExprKind::Name(n)) if n == "AF_INET6" => Ok(Inet {
                ip: f
                    .iter()
                    .find_map(|x| match &x.value.kind {
                        ExprKind::Func(name, _) if name == "inet_pton" => string_in(&x.value),
                        _ => None,
                    })
                    .unwrap_or_else(|| "::".into()),
                port: port_in(field(f, "sin6_port"))?,
            }),
            Some(ExprKind::Name(n)) if n == "AF_UNIX" => Err(unix.into()),
            _ => Err("an address is {sa_family=AF_INET, ...} or HOST:PORT".into()),
        },
        _ => Err("expected an address".into()),
    }
}

/// An AF_UNIX address as written: a path, an abstract name (a label, as
/// socklab's: bound by the first result that shows it), or unnamed.
#[derive(Debug, Clone, PartialEq)]
pub enum Sun {
    Path(Vec<u8>),
    Abstract(Vec<u8>),
    Unnamed,
}

/// A msghdr's msg_name.
#[derive(Debug, Clone, PartialEq)]
pub enum Name {
    Unix(Sun),
    Inet(Inet),
}

/// SCM_CREDENTIALS' fields as written (None: `...`, the sender's own).
#[derive(Debug, Clone, PartialEq)]
pub struct Cred {
    pub pid: Option<i64>,
    pub uid: Option<i64>,
    pub gid: Option<i64>,
}

/// A file call's directory: AT_FDCWD or an fd.
#[derive(Debug, Clone, PartialEq)]
pub enum Dir {
    Cwd,
    Fd(Fd),
}

/// One control message a sendmsg line sends, in the line's order:
/// SCM_RIGHTS (its fds, one message), SCM_CREDENTIALS, another level's.
#[derive(Debug, Clone, PartialEq)]
pub enum Ctl {
    Rights(Vec<Fd>),
    Cred(Cred),
    Other(super::ancillary::Anc),
}

/// A received message's address: none asked (NULL), asked, or checked.
#[derive(Debug, Clone, PartialEq)]
pub enum From {
    Null,
    Any,
    Is(Name),
}

/// The calls of this module, their arguments resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum UnixOp {
    Bind(Fd, Sun),
    Connect(Fd, Sun),
    Sendto(Fd, Vec<u8>, Val, Sun),
    Sendmsg {
        fd: Fd,
        iov: Vec<Vec<u8>>,
        to: Option<Name>,
        /// The control messages in the line's order.
        control: Vec<Ctl>,
        flags: Val,
    },
    Recvmsg {
        fd: Fd,
        sizes: Vec<usize>,
        from: From,
        controllen: usize,
        flags: Val,
        want: Option<Vec<u8>>,
        rights: Vec<Fd>,
        cred: Option<Cred>,
    },
    Openat(Dir, Vec<u8>, Val, u32),
    Getrandom(usize, Val),
    Mkdirat(Dir, Vec<u8>, u32),
    Newfstatat(Dir, Vec<u8>),
    Fchmod(Fd, u32),
    Fchmodat(Dir, Vec<u8>, u32),
    Unlinkat(Dir, Vec<u8>, Val),
    Unlink(Vec<u8>),
    Setgroups(Vec<u32>),
    Setgid(u32),
    Setuid(u32),
    Umask(u32),
}

/// A process or signal-mask call (procs.rs), its arguments resolved.
#[derive(Debug, Clone, PartialEq)]
pub enum Proc {
    Euid,
    Pdeathsig(i32),
    /// how, the set (None: NULL), the old mask (None: NULL; Some(None):
    /// asked for, not compared).
    Mask(i32, Option<u64>, Option<Option<u64>>),
    /// The set, the timeout (None: NULL, for ever).
    Wait(u64, Option<(u64, u64)>),
    /// cpusetsize, the CPUs.
    Affinity(usize, Vec<usize>),
    Alarm(u32),
}
