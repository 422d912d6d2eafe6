//! Unit tests of argument expressions (every [`ExprKind`]), `parse_args`
//! and `split_args`.

use super::*;
use crate::script::ast::{ExprKind, Field};
use ExprKind::*;

/// The kinds of `text`'s arguments.
fn kinds(text: &str) -> Vec<ExprKind> {
    parse_args(text)
        .unwrap_or_else(|e| panic!("{text}: {e:?}"))
        .into_iter()
        .map(|e| e.kind)
        .collect()
}

fn kind(text: &str) -> ExprKind {
    let mut k = kinds(text);
    assert_eq!(k.len(), 1, "{text}");
    k.remove(0)
}

fn e(kind: ExprKind) -> Expr {
    Expr {
        span: Span { line: 1, col: 1 },
        kind,
    }
}

fn name(n: &str) -> ExprKind {
    Name(n.to_string())
}

fn s(b: &[u8]) -> ExprKind {
    Str {
        bytes: b.to_vec(),
        cut: false,
    }
}

#[test]
fn ints() {
    assert_eq!(
        kinds("3, -1, 0x802, 0600, 0, 000, 0x7fffffffffff"),
        vec![
            Int(3),
            Int(-1),
            Int(0x802),
            Int(0o600),
            Int(0),
            Int(0),
            Int(0x7fff_ffff_ffff)
        ]
    );
    assert_eq!(kind("-9223372036854775808"), Int(i64::MIN));
    assert_eq!(kind("0xffffffffffffffff"), Int(-1));
    // prlimit64's limits as strace prints them.
    assert_eq!(kind("8192*1024"), Int(8192 * 1024));
    assert!(parse_args("9223372036854775808").is_err());
}

#[test]
fn names_flags_null_dots() {
    assert_eq!(
        kinds("AF_INET, s, NULL, ..."),
        vec![name("AF_INET"), name("s"), Null, Dots]
    );
    let Flags(f) = kind("SOCK_STREAM|SOCK_CLOEXEC | 0x800") else {
        panic!()
    };
    let f: Vec<ExprKind> = f.into_iter().map(|e| e.kind).collect();
    assert_eq!(
        f,
        vec![name("SOCK_STREAM"), name("SOCK_CLOEXEC"), Int(0x800)]
    );
    let Flags(f) = kind("S_IFSOCK|0755") else {
        panic!()
    };
    assert_eq!(f[1].kind, Int(0o755));
    assert_eq!(f[1].span.col, 10);
}

#[test]
fn strings_and_escapes() {
    assert_eq!(kind(r#""hi""#), s(b"hi"));
    assert_eq!(kind(r#""""#), s(b""));
    assert_eq!(kind(r#""\n\t\r\v\f\"\\""#), s(b"\n\t\r\x0b\x0c\"\\"));
    assert_eq!(kind(r#""\x68\x69\xff\x0""#), s(b"hi\xff\0"));
    assert_eq!(
        kind(r#""\0\1\10\177\200\377\0001""#),
        s(b"\0\x01\x08\x7f\x80\xff\x001")
    );
    assert_eq!(kind("\"é\""), s("é".as_bytes()));
    assert_eq!(
        kind(r#""abc"..."#),
        Str {
            bytes: b"abc".to_vec(),
            cut: true
        }
    );
    assert_eq!(kind(r#""a,b)]}""#), s(b"a,b)]}"));
}

#[test]
fn structs_arrays_inout() {
    let k = kind(r#"{sa_family=AF_INET, sin_port=htons(8080), sin_addr=inet_addr("127.0.0.1")}"#);
    let Struct(fs) = k else { panic!() };
    assert_eq!(fs.len(), 3);
    assert_eq!(fs[0].name.as_deref(), Some("sa_family"));
    assert_eq!(
        fs[1].value.kind,
        Func("htons".into(), vec![e(Int(8080))]).clone_with_spans(&fs[1].value.kind)
    );
    assert!(
        matches!(&fs[2].value.kind, Func(n, a) if n == "inet_addr" && a[0].kind == s(b"127.0.0.1"))
    );
    let Struct(fs) = kind("{st_mode=S_IFSOCK|0755, st_size=0, ...}") else {
        panic!()
    };
    assert_eq!(
        fs[2],
        Field {
            name: None,
            value: fs[2].value.clone()
        }
    );
    assert_eq!(fs[2].value.kind, Dots);
    assert_eq!(kind("{}"), Struct(vec![]));
    assert_eq!(kind("[]"), Array(vec![]));
    let Array(a) = kind("[128 => 16]") else {
        panic!()
    };
    assert!(matches!(&a[0].kind, InOut(x, y) if x.kind == Int(128) && y.kind == Int(16)));
    let Array(a) = kind("[3, 4]") else { panic!() };
    assert_eq!(
        a.iter().map(|e| e.kind.clone()).collect::<Vec<_>>(),
        vec![Int(3), Int(4)]
    );
    let Array(a) = kind("[{fd=3, events=POLLIN|POLLOUT}]") else {
        panic!()
    };
    assert!(matches!(&a[0].kind, Struct(f) if f.len() == 2));
    let Struct(fs) = kind("{events=EPOLLIN, data={u32=3, u64=3}}") else {
        panic!()
    };
    assert!(matches!(&fs[1].value.kind, Struct(f) if f[1].name.as_deref() == Some("u64")));
    let Struct(fs) = kind("{msg_namelen=110 => 0}") else {
        panic!()
    };
    assert!(matches!(fs[0].value.kind, InOut(..)));
    let Array(a) = kind("[INT TERM CHLD]") else {
        panic!()
    };
    assert_eq!(a.len(), 3);
}

#[test]
fn funcs_refs_index_addrs() {
    let Func(n, a) = kind(r#"inet_pton(AF_INET6, "::1", &sin6_addr)"#) else {
        panic!()
    };
    assert_eq!(n, "inet_pton");
    assert_eq!(a[2].kind, Ref("sin6_addr".into()));
    assert_eq!(kind("makedev()"), Func("makedev".into(), vec![]));
    assert_eq!(
        kinds("x[0], pair[1]"),
        vec![Index("x".into(), 0), Index("pair".into(), 1)]
    );
    assert_eq!(
        kinds("127.0.0.1:8080, [::1]:0, [2001:db8::1]:80, /tmp/s.sock, @abstract, 0.0.0.0:0"),
        vec![
            Addr("127.0.0.1:8080".into()),
            Addr("[::1]:0".into()),
            Addr("[2001:db8::1]:80".into()),
            Addr("/tmp/s.sock".into()),
            Addr("@abstract".into()),
            Addr("0.0.0.0:0".into()),
        ]
    );
    let Struct(fs) = kind(r#"{sa_family=AF_UNIX, sun_path=@"name"}"#) else {
        panic!()
    };
    let Func(at, a) = &fs[1].value.kind else {
        panic!()
    };
    assert_eq!((at.as_str(), a.len()), ("@", 1));
    assert_eq!(a[0].kind, s(b"name"));
    // LEVEL:N as --sockopt writes it; an IPv4 address has dots.
    let opt = |level: ExprKind, n| Opt(Box::new(e(level)), n);
    let got: Vec<ExprKind> = kinds("SOL_IP:13, 41:67, IPPROTO_TCP:1")
        .into_iter()
        .map(|k| match k {
            Opt(l, n) => Opt(Box::new(e(l.kind)), n),
            k => k,
        })
        .collect();
    assert_eq!(
        got,
        vec![
            opt(name("SOL_IP"), 13),
            opt(Int(41), 67),
            opt(name("IPPROTO_TCP"), 1)
        ]
    );
    assert!(parse_args("SOL_IP:x").is_err());
    // `[::1]` without a port is an array that fails, not an address.
    assert!(parse_args("[::1]").is_err());
    assert!(parse_args("localhost:80").is_err());
}

#[test]
fn spans_and_comments() {
    let a = parse_args("3,  {a=1}, /* 2 entries */ [x]").unwrap();
    assert_eq!(
        a.iter().map(|e| e.span.col).collect::<Vec<_>>(),
        vec![1, 5, 28]
    );
    let Struct(f) = &a[1].kind else { panic!() };
    assert_eq!(f[0].value.span, Span { line: 1, col: 8 });
    assert_eq!(parse_args("").unwrap(), vec![]);
    assert_eq!(kinds("3, "), vec![Int(3)]);
    assert!(parse_args("3 4").is_err());
    assert!(parse_args("(3)").is_err());
}

#[test]
fn split_args_at_top_level_commas() {
    let split = |t: &str| -> Vec<String> {
        split_args(t)
            .into_iter()
            .map(|r| t[r].to_string())
            .collect()
    };
    assert_eq!(
        split(r#"3, {sa_family=AF_INET, sin_port=htons(0)}, [128 => 16], "a,\"b", f(1, 2)"#),
        vec![
            "3",
            "{sa_family=AF_INET, sin_port=htons(0)}",
            "[128 => 16]",
            r#""a,\"b""#,
            "f(1, 2)"
        ]
    );
    assert_eq!(split(""), Vec::<String>::new());
    assert_eq!(split("  "), Vec::<String>::new());
    assert_eq!(split("3,  "), vec!["3"]);
    assert_eq!(split("a,,b"), vec!["a", "", "b"]);
    assert_eq!(split(r#""\\", x"#), vec![r#""\\""#, "x"]);
}

#[test]
fn named_arguments_and_wait_statuses() {
    // strace names clone's arguments; the value is the argument.
    let k = kinds("child_stack=NULL, flags=SIGCHLD, child_tidptr=0x10");
    assert_eq!(k, vec![Null, name("SIGCHLD"), Int(16)]);
    // wait4's status as strace decodes it: kept as its text.
    let status = "{WIFSIGNALED(s) && WTERMSIG(s) == SIGPIPE}";
    match kind(&format!("[{status}]")) {
        Array(items) => assert_eq!(items[0].kind, s(status.as_bytes())),
        other => panic!("{other:?}"),
    }
    assert!(parse_args("[{WIFEXITED(s) && ").is_err());
}

trait CloneWithSpans {
    fn clone_with_spans(&self, like: &ExprKind) -> ExprKind;
}

impl CloneWithSpans for ExprKind {
    /// `self` with the spans of `like` (same shape), to compare kinds.
    fn clone_with_spans(&self, like: &ExprKind) -> ExprKind {
        match (self, like) {
            (Func(n, a), Func(_, b)) => Func(
                n.clone(),
                a.iter()
                    .zip(b)
                    .map(|(x, y)| Expr {
                        span: y.span,
                        kind: x.kind.clone_with_spans(&y.kind),
                    })
                    .collect(),
            ),
            _ => self.clone(),
        }
    }
}
