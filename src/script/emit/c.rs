//! The C program's calls: each line's call and the checks of its
//! result (the program's layout: `c_program.rs`).

use std::fmt::Write as _;

use super::c_more::{lit, var};
use super::model::{Inet, Model, Op, Out, Val, Want};

fn val(v: &Val) -> String {
    v.names.join("|")
}

fn port(p: u16) -> String {
    if p == 0 {
        "0".into()
    } else {
        format!("Port(&port_{p}, {p})")
    }
}

fn addr(i: &Inet) -> String {
    format!("n = Inet(&sa, {}, {});", lit(i.ip.as_bytes()), port(i.port))
}

/// Data to send: a literal, or a filled buffer when long.
fn data(bytes: &[u8]) -> (String, String) {
    if bytes.len() <= 256 {
        (String::new(), lit(bytes))
    } else {
        (format!("char *buf = {}; ", datum(bytes)), "buf".into())
    }
}

/// Data to send as an expression: a literal, or `Fill(...)` when long.
fn datum(bytes: &[u8]) -> String {
    if bytes.len() <= 256 {
        lit(bytes)
    } else {
        let shown: Vec<u8> = bytes.iter().copied().take(64).collect();
        let period = (1..=shown.len())
            .find(|&p| {
                bytes
                    .iter()
                    .enumerate()
                    .all(|(i, b)| shown.get(i % p) == Some(b))
            })
            .unwrap_or(0);
        let head = shown.get(..period).unwrap_or(&[]);
        format!("Fill({}, {period}, {})", lit(head), bytes.len())
    }
}

fn check_out(line: usize, o: &Out) -> String {
    match o {
        Out::Is(i) => format!(
            " if (r >= 0) {{ InetIs({line}, &sa, {}, &port_{p}, {p}); }}",
            lit(i.ip.as_bytes()),
            p = i.port
        )
        .replace("&port_0, 0", "&(int){0}, 0"),
        Out::Unix(s) => format!(
            " if (r >= 0) {{ SunIs({line}, &sa, n, {}); }}",
            super::c_unix::sun_args(s)
        ),
        _ => String::new(),
    }
}

fn received(line: usize, want: &Option<(Vec<u8>, bool)>) -> String {
    match want {
        Some((b, cut)) => format!(
            " Data({line}, buf, r, {}, {}, {});",
            lit(b),
            b.len(),
            i32::from(*cut)
        ),
        None => String::new(),
    }
}

fn buffer(size: usize) -> String {
    if size <= 65536 {
        format!("char buf[{}];", size.max(1))
    } else {
        format!("char *buf = Fill(\"\", 0, {size});")
    }
}

/// The call's statement(s) (r = the result).
pub(super) fn call(m: &Model) -> String {
    let line = m.line;
    let name_buf = "n = sizeof sa; ";
    match &m.op {
        Op::Socket(d, t, p) => format!("r = socket({}, {}, {});", val(d), val(t), val(p)),
        Op::Socketpair(d, t, p, fds) => {
            let mut s = format!(
                "int sv[2]; r = socketpair({}, {}, {}, sv); if (r == 0) {{ Opened(sv[0]); Opened(sv[1]); }}",
                val(d),
                val(t),
                val(p)
            );
            if let Some(b) = &m.bind {
                let v = var(b);
                let _ = write!(s, " {v}[0] = sv[0]; {v}[1] = sv[1];");
            }
            for (i, f) in fds.iter().enumerate() {
                let _ = write!(s, " {} = sv[{i}];", var(f));
            }
            s
        }
        Op::Bind(f, i) => format!(
            "{} r = bind({}, (struct sockaddr *)&sa, n);",
            addr(i),
            var(f)
        ),
        Op::Connect(f, i) => format!(
            "{} r = connect({}, (struct sockaddr *)&sa, n);",
            addr(i),
            var(f)
        ),
        Op::Listen(f, b) => format!("r = listen({}, {});", var(f), val(b)),
        Op::Accept(f, o, flags) => {
            let (pre, args) = match o {
                Out::Null => ("", "NULL, NULL".to_string()),
                _ => (name_buf, "(struct sockaddr *)&sa, &n".to_string()),
            };
            let call = match flags {
                Some(fl) => format!("accept4({}, {args}, {})", var(f), val(fl)),
                None => format!("accept({}, {args})", var(f)),
            };
            format!("{pre}r = {call};{}", check_out(line, o))
        }
        Op::Getsockname(f, o) | Op::Getpeername(f, o) => {
            let name = match &m.op {
                Op::Getsockname(..) => "getsockname",
                _ => "getpeername",
            };
            format!(
                "{name_buf}r = {name}({}, (struct sockaddr *)&sa, &n);{}",
                var(f),
                check_out(line, o)
            )
        }
        Op::Shutdown(f, how) => format!("r = shutdown({}, {});", var(f), val(how)),
        Op::Close(f) => format!("r = close({0}); Closed({0});", var(f)),
        Op::Dup(f) => format!("r = dup({});", var(f)),
        Op::Dup2(f, to) => format!("r = dup2({}, {});", var(f), val(to)),
        Op::Sendto(f, bytes, flags, to) => {
            let (pre, d) = data(bytes);
            let (a, dest) = match to {
                Some(i) => (addr(i) + " ", "(struct sockaddr *)&sa, n".to_string()),
                None => (String::new(), "NULL, 0".to_string()),
            };
            format!(
                "{pre}{a}r = sendto({}, {d}, {}, {}, {dest});",
                var(f),
                bytes.len(),
                val(flags)
            )
        }
        Op::Recvfrom(f, size, flags, from, want) => {
            let (pre, src) = match from {
                Out::Null => ("", "NULL, NULL"),
                _ => (name_buf, "(struct sockaddr *)&sa, &n"),
            };
            format!(
                "{} {pre}r = recvfrom({}, buf, {size}, {}, {src});{}{}",
                buffer(*size),
                var(f),
                val(flags),
                check_out(line, from),
                received(line, want)
            )
        }
        Op::Read(f, size, want) => format!(
            "{} r = read({}, buf, {size});{}",
            buffer(*size),
            var(f),
            received(line, want)
        ),
        Op::Write(f, bytes) => {
            let (pre, d) = data(bytes);
            format!("{pre}r = write({}, {d}, {});", var(f), bytes.len())
        }
        Op::Unix(u) => super::c_unix::call(line, u),
        Op::Mmsg(b) => {
            let words = super::mmsg::Words {
                var: &var,
                val: &val,
                lit: &|b| lit(b),
                data: &datum,
                port: &port,
            };
            super::mmsg::c(line, b, &words)
        }
        Op::Own(o) => super::own::c(line, o),
        Op::Proc(p) => super::procs::c(line, p),
        _ => super::c_more::call(m),
    }
}

/// The checks of the result, and the label it binds.
pub(super) fn result(m: &Model, opens: bool) -> String {
    let line = m.line;
    let mut s = match &m.want {
        Want::Nothing => String::new(),
        Want::Value(v) => format!(" Is({line}, r, {v});"),
        Want::Fd => format!(" IsFd({line}, r);"),
        Want::Errno(e) => format!(" IsErr({line}, r, {e});"),
    };
    if opens {
        match &m.bind {
            Some(b) => {
                let _ = write!(s, " {} = Opened(r);", var(b));
            }
            None => s.push_str(" Opened(r);"),
        }
    }
    s
}

/// The result's checks right after the call (before errno can change).
pub(super) fn with_result(call: &str, result: &str) -> String {
    match call.find(");") {
        Some(i) if call.contains("r = ") => {
            let at = call[call.find("r = ").unwrap_or(0)..]
                .find(");")
                .map_or(i, |j| j + call.find("r = ").unwrap_or(0))
                + 2;
            format!("{}{result}{}", &call[..at], &call[at..])
        }
        _ => format!("{call}{result}"),
    }
}
