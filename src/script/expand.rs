//! A call as written, expanded to its row and its arguments in C order:
//! the short forms (`send(c, "hi")` is `sendto(c, "hi", ..., 0, NULL,
//! 0)`, `recv`, `accept`, `fork`, `signal`, ...) and `LEVEL:N` options.

use super::ast::{self, Expr, ExprKind, ParseError, Span};
use crate::values::calls::{self, Syscall};

fn dots(span: Span) -> Expr {
    Expr {
        span,
        kind: ExprKind::Dots,
    }
}

fn int(span: Span, n: i64) -> Expr {
    Expr {
        span,
        kind: ExprKind::Int(n),
    }
}

fn null(span: Span) -> Expr {
    Expr {
        span,
        kind: ExprKind::Null,
    }
}

/// The row and full argument list of a call as written (short forms
/// expanded: `send(c, "hi")` is `sendto(c, "hi", ..., 0, NULL, 0)`).
pub fn expand(call: &ast::Call) -> Result<(&'static Syscall, Vec<Expr>), ParseError> {
    let at = call.name_span;
    let mut args = call.args.clone();
    let name = match call.name.as_str() {
        "send" => "sendto",
        "recv" => "recvfrom",
        "fork" => "clone",
        "signal" => "rt_sigaction",
        other => other,
    };
    if !calls::by_name(name).is_some_and(|r| r.scriptable) {
        let why = match calls::by_name(name) {
            Some(row) if !row.unscripted.is_empty() => {
                format!("'{name}' cannot be scripted: {}", row.unscripted)
            }
            Some(_) => format!(
                "'{name}' cannot be scripted (socklab makes it for its own files or processes)"
            ),
            None => format!("unknown call '{}'", call.name),
        };
        return Err(err(at, why));
    }
    let Some(row) = calls::by_name(name) else {
        return Err(err(at, format!("call '{name}' is not in the call table")));
    };
    // `LEVEL:N` (as --sockopt writes it) stands for the level and optname.
    if matches!(name, "setsockopt" | "getsockopt")
        && let Some(Expr {
            kind: ExprKind::Opt(level, opt),
            span,
        }) = args.get(1).cloned()
    {
        let opt = Expr {
            span,
            kind: ExprKind::Int(opt),
        };
        args.splice(1..2, [*level, opt]);
    }
    let n = args.len();
    match (call.name.as_str(), n) {
        ("send", 2 | 3) => {
            let flags = args.get(2).cloned().unwrap_or_else(|| int(at, 0));
            args.truncate(2);
            args.extend([dots(at), flags, null(at), int(at, 0)]);
        }
        ("recv", 2 | 3) => {
            let flags = args.get(2).cloned().unwrap_or_else(|| int(at, 0));
            let len = args.remove(1);
            args.truncate(1);
            args.extend([dots(at), len, flags, null(at), null(at)]);
        }
        ("bind" | "connect", 2) => args.push(dots(at)),
        // The short address stands for the address and its length here too.
        ("sendto", 5) if is_short_addr(&args[4]) => args.push(dots(at)),
        ("getsockname" | "getpeername" | "accept", 1) => args.extend([dots(at), dots(at)]),
        ("getsockname" | "getpeername", 2) => args.push(dots(at)),
        ("accept4", 2) => {
            let flags = args.remove(1);
            args.extend([dots(at), dots(at), flags]);
        }
        ("sendto", 4) | ("recvfrom", 4) => args.extend([
            null(at),
            if name == "sendto" {
                int(at, 0)
            } else {
                null(at)
            },
        ]),
        ("read", 2) => {
            let len = args.remove(1);
            args.extend([dots(at), len]);
        }
        ("write", 2) => args.push(dots(at)),
        ("setsockopt", 4) => args.push(dots(at)),
        ("getsockopt", 3) => args.extend([dots(at), dots(at)]),
        ("socketpair", 3) => args.push(dots(at)),
        ("sendmsg" | "recvmsg", 2) => args.push(int(at, 0)),
        ("fork", 0) => args.extend([null(at), dots(at), dots(at)]),
        ("signal", 2) => {
            let handler = args.remove(1);
            let act = Expr {
                span: handler.span,
                kind: ExprKind::Struct(vec![ast::Field {
                    name: Some("sa_handler".into()),
                    value: handler,
                }]),
            };
            args.extend([act, null(at), int(at, 8)]);
        }
        ("ioctl", 2) => args.push(dots(at)),
        // strace shows openat's mode only with O_CREAT or O_TMPFILE.
        ("openat", 3) => args.push(dots(at)),
        ("epoll_wait", 3) => args.insert(1, dots(at)),
        _ => {}
    }
    let want = row.args.len();
    let ok = args.len() == want || (name == "fcntl" && args.len() == 2);
    if !ok {
        return Err(err(
            at,
            format!(
                "{name} takes {want} arguments ({}), not {n}",
                row.args
                    .iter()
                    .map(|a| a.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        ));
    }
    Ok((row, args))
}

/// `HOST:PORT`, `[V6]:PORT`, `/path`, `@name` or `@"name"`.
fn is_short_addr(e: &Expr) -> bool {
    match &e.kind {
        ExprKind::Addr(_) => true,
        ExprKind::Func(f, _) => f == "@",
        _ => false,
    }
}

pub(super) fn err(span: Span, msg: impl Into<String>) -> ParseError {
    ParseError {
        line: span.line,
        col: span.col,
        msg: msg.into(),
    }
}
