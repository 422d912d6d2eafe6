//! Argument expressions in strace's syntax: ints, names, `A|B` flags,
//! strings, NULL, `...`, structs, arrays (`[128 => 16]`), `f(...)`,
//! `&name`, `x[0]`, short addresses and `@"name"`.

use super::lex::{Cur, MAX_DEPTH};
use crate::script::ast::{Expr, ExprKind, Field, ParseError};

/// Comma-separated values until `close` (not consumed) or the end (when
/// `close` is None); a trailing comma is allowed (strace's `accept4(3,
/// <unfinished ...>`). In `[ ]`, spaces also separate (strace's sets).
pub fn list(c: &mut Cur, close: Option<u8>) -> Result<Vec<Expr>, ParseError> {
    let mut out = Vec::new();
    loop {
        c.skip_ws();
        if at_close(c, close) {
            return Ok(out);
        }
        // A call's arguments may be named, as strace names clone's
        // (`child_stack=NULL`): the value is the argument.
        out.push(match close {
            Some(b')') | None => field(c)?.value,
            _ => value(c)?,
        });
        c.skip_ws();
        if c.eat(",") {
            continue;
        }
        if at_close(c, close) {
            return Ok(out);
        }
        // strace's sets: `[INT TERM]`, `[0 1]` (elements apart by spaces).
        let spaced = c.pos.checked_sub(1).and_then(|i| c.s.as_bytes().get(i));
        if close == Some(b']') && matches!(spaced, Some(b' ' | b'\t')) {
            continue;
        }
        return Err(c.err(format!(
            "expected ',' or {}, found {}",
            closer(close),
            c.found()
        )));
    }
}

fn at_close(c: &Cur, close: Option<u8>) -> bool {
    match close {
        Some(b) => c.peek() == Some(b) || c.at_end() || c.starts_with("<unfinished"),
        None => c.at_end(),
    }
}

fn closer(close: Option<u8>) -> String {
    match close {
        Some(b) => format!("'{}'", b as char),
        None => "end of text".to_string(),
    }
}

/// `atom ('|' atom)* ('=>' value)?`
pub fn value(c: &mut Cur) -> Result<Expr, ParseError> {
    c.skip_ws();
    let first = atom(c)?;
    let span = first.span;
    c.skip_ws();
    let mut e = if c.peek() == Some(b'|') {
        let mut parts = vec![first];
        while c.eat("|") {
            c.skip_ws();
            parts.push(atom(c)?);
            c.skip_ws();
        }
        if let Some(p) = parts
            .iter()
            .find(|p| !matches!(p.kind, ExprKind::Name(_) | ExprKind::Int(_)))
        {
            return Err(super::error_at(p.span, "'|' joins only names and numbers"));
        }
        Expr {
            span,
            kind: ExprKind::Flags(parts),
        }
    } else {
        first
    };
    c.skip_ws();
    if c.eat("=>") {
        enter(c)?;
        let out = value(c);
        c.depth -= 1;
        e = Expr {
            span,
            kind: ExprKind::InOut(Box::new(e), Box::new(out?)),
        };
    }
    Ok(e)
}

fn enter(c: &mut Cur) -> Result<(), ParseError> {
    if c.depth >= MAX_DEPTH {
        return Err(c.err(format!("nesting deeper than {MAX_DEPTH}")));
    }
    c.depth += 1;
    Ok(())
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'.' | b':' | b'_' | b'%')
}

fn is_path(b: u8) -> bool {
    !matches!(b, b' ' | b'\t' | b',' | b')' | b']' | b'}' | b'|' | b'"')
}

/// The text from the cursor while `f` holds (not consumed).
fn scan<'a>(c: &Cur<'a>, f: fn(u8) -> bool) -> &'a str {
    let r = c.rest();
    let n = r.bytes().take_while(|&b| f(b)).count();
    r.get(..n).unwrap_or("")
}

fn atom(c: &mut Cur) -> Result<Expr, ParseError> {
    let start = c.pos;
    let span = c.span_at(start);
    let mk = |kind| Ok(Expr { span, kind });
    let Some(b) = c.peek() else {
        return Err(c.err("expected a value, found end of line"));
    };
    match b {
        b'"' => {
            let (bytes, cut) = c.string()?;
            mk(ExprKind::Str { bytes, cut })
        }
        b'.' if c.starts_with("...") => {
            c.pos += 3;
            mk(ExprKind::Dots)
        }
        // wait4's status, as strace decodes it: `{WIFEXITED(s) &&
        // WEXITSTATUS(s) == 0}`, kept as its text.
        b'{' if c.starts_with("{WIF") => {
            let rest = c.s.get(start..).unwrap_or("");
            let Some(end) = rest.find('}') else {
                return Err(c.err("expected '}' after a wait status"));
            };
            c.pos += end + 1;
            let text = rest.get(..=end).unwrap_or("");
            mk(ExprKind::Str {
                bytes: text.as_bytes().to_vec(),
                cut: false,
            })
        }
        b'{' => {
            enter(c)?;
            c.bump();
            let fields = fields(c);
            c.depth -= 1;
            mk(ExprKind::Struct(fields?))
        }
        b'[' => {
            if let Some(a) = v6_addr(c) {
                c.pos += a.len();
                return mk(ExprKind::Addr(a.to_string()));
            }
            enter(c)?;
            c.bump();
            let items = list(c, Some(b']'));
            c.depth -= 1;
            let items = items?;
            if !c.eat("]") {
                return Err(c.err(format!("expected ']' (for the '[' at column {})", span.col)));
            }
            mk(ExprKind::Array(items))
        }
        b'&' => {
            c.bump();
            match c.ident(false) {
                Some(n) => mk(ExprKind::Ref(n.to_string())),
                None => Err(c.err(format!("expected a name after '&', found {}", c.found()))),
            }
        }
        b'@' => {
            c.bump();
            if c.peek() == Some(b'"') {
                let (bytes, cut) = c.string()?;
                let s = Expr {
                    span: c.span_at(start + 1),
                    kind: ExprKind::Str { bytes, cut },
                };
                return mk(ExprKind::Func("@".to_string(), vec![s]));
            }
            let w = scan(c, is_path);
            c.pos += w.len();
            mk(ExprKind::Addr(format!("@{w}")))
        }
        b'/' => {
            let w = scan(c, is_path);
            c.pos += w.len();
            mk(ExprKind::Addr(w.to_string()))
        }
        b'-' | b'0'..=b'9' => {
            let w = scan(c, is_word);
            if let Some((level, n)) = level_number(w) {
                let level = Expr {
                    span,
                    kind: ExprKind::Int(level),
                };
                c.pos += w.len();
                return mk(ExprKind::Opt(Box::new(level), n));
            }
            if b != b'-' && (w.contains('.') || w.contains(':')) {
                if w.parse::<std::net::SocketAddrV4>().is_err() {
                    return Err(c.err(format!("bad address '{w}' (IPv4 ADDR:PORT)")));
                }
                c.pos += w.len();
                return mk(ExprKind::Addr(w.to_string()));
            }
            let mut v = c.int()?;
            // strace's limits (prlimit64): `rlim_cur=8192*1024`.
            while c.peek() == Some(b'*') {
                c.bump();
                let m = c.int()?;
                v = v
                    .checked_mul(m)
                    .ok_or_else(|| c.err("the product is out of range"))?;
            }
            match c.peek() {
                Some(x) if x.is_ascii_alphanumeric() || x == b'_' => {
                    Err(c.err(format!("unexpected {} after a number", c.found())))
                }
                _ => mk(ExprKind::Int(v)),
            }
        }
        _ => name_atom(c, start, span),
    }
}

/// A name, `NULL`, `f(args)` or `x[N]`.
fn name_atom(
    c: &mut Cur,
    start: usize,
    span: crate::script::ast::Span,
) -> Result<Expr, ParseError> {
    let mk = |kind| Ok(Expr { span, kind });
    let Some(n) = c.ident(false) else {
        return Err(c.err_at(start, format!("expected a value, found {}", c.found())));
    };
    if c.peek() == Some(b'(') {
        enter(c)?;
        c.bump();
        let args = list(c, Some(b')'));
        c.depth -= 1;
        let args = args?;
        if !c.eat(")") {
            return Err(c.err(format!("expected ')' to close '{n}(', found {}", c.found())));
        }
        return mk(ExprKind::Func(n.to_string(), args));
    }
    if c.peek() == Some(b'[') && c.peek_at(1).is_some_and(|d| d.is_ascii_digit()) {
        c.bump();
        let at = c.pos;
        let d = c.digits(10);
        let i = d
            .parse::<usize>()
            .map_err(|_| c.err_at(at, "index too large"))?;
        if !c.eat("]") {
            return Err(c.err(format!("expected ']' after '{n}[{d}', found {}", c.found())));
        }
        return mk(ExprKind::Index(n.to_string(), i));
    }
    if n == "NULL" {
        return mk(ExprKind::Null);
    }
    let name = Expr {
        span,
        kind: ExprKind::Name(n.to_string()),
    };
    // `SOL_TCP:11`: a level by name and an option number (`localhost:80`
    // stays an error: no host names).
    if (n.starts_with("SOL_") || n.starts_with("IPPROTO_"))
        && c.peek() == Some(b':')
        && c.peek_at(1).is_some_and(|d| d.is_ascii_digit())
    {
        c.bump();
        let at = c.pos;
        let d = c.digits(10);
        let opt = d
            .parse::<i64>()
            .map_err(|_| c.err_at(at, "option number too large"))?;
        return mk(ExprKind::Opt(Box::new(name), opt));
    }
    Ok(name)
}

/// `41:67`: a level and an option number (not an address: no dots).
fn level_number(w: &str) -> Option<(i64, i64)> {
    let (level, n) = w.split_once(':')?;
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if !digits(level) || !digits(n) {
        return None;
    }
    Some((level.parse().ok()?, n.parse().ok()?))
}

/// `[v6]:port` at the cursor, if that is what is there.
fn v6_addr<'a>(c: &Cur<'a>) -> Option<&'a str> {
    let r = c.rest();
    let inner = r.get(1..)?;
    let host = inner
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b':' | b'.' | b'%'))
        .count();
    if !inner.get(..host)?.contains(':') {
        return None;
    }
    let after = inner.get(host..)?.strip_prefix("]:")?;
    let port = after.bytes().take_while(|b| b.is_ascii_digit()).count();
    if port == 0 {
        return None;
    }
    r.get(..host + 3 + port)
}

/// Struct fields after `{`, through `}`.
fn fields(c: &mut Cur) -> Result<Vec<Field>, ParseError> {
    let open = c.pos.saturating_sub(1);
    let mut out = Vec::new();
    loop {
        c.skip_ws();
        if c.eat("}") {
            return Ok(out);
        }
        if c.at_end() {
            let col = c.span_at(open).col;
            return Err(c.err(format!("expected '}}' (for the '{{' at column {col})")));
        }
        out.push(field(c)?);
        c.skip_ws();
        if c.eat(",") {
            continue;
        }
        if c.eat("}") {
            return Ok(out);
        }
        return Err(c.err(format!("expected ',' or '}}', found {}", c.found())));
    }
}

/// `name=value` or a bare value.
fn field(c: &mut Cur) -> Result<Field, ParseError> {
    let save = c.pos;
    if let Some(n) = c.ident(false) {
        c.skip_ws();
        if c.peek() == Some(b'=') && c.peek_at(1) != Some(b'>') {
            c.bump();
            let v = value(c)?;
            return Ok(Field {
                name: Some(n.to_string()),
                value: v,
            });
        }
        c.pos = save;
    }
    Ok(Field {
        name: None,
        value: value(c)?,
    })
}
