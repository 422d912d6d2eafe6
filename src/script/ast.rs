//! What a script line says, as the parser (`parse/`) reads it: the actor,
//! a time prefix, a name to bind, the call with its argument expressions
//! in strace's syntax, and the expected result. Every node keeps where it
//! was written ([`Span`]) so that an error or a failed expectation can
//! point at it.

use std::time::Duration;

/// Where something was written: 1-based line and column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub line: usize,
    pub col: usize,
}

/// A parsed script: its call lines, in file order (comments, blank lines
/// and the timeline lines that are not calls are left out).
#[derive(Debug, Clone, PartialEq)]
pub struct Script {
    pub lines: Vec<Line>,
}

/// One call line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    /// 1-based line number in the file.
    pub no: usize,
    /// The line as written (without its newline), for messages.
    pub text: String,
    /// `NAME | ` before the call, or `[pid N]` (as "pid N"); None: the
    /// default actor ("main").
    pub actor: Option<String>,
    /// The task id of `[pid N]` (or strace -o's bare pid): after an
    /// actor tag (`NAME | [pid N] call`), N is that actor's tid or pid.
    pub task: Option<i64>,
    /// packetdrill's `+SECS` prefix: wait this long before the line.
    pub delay: Option<Duration>,
    /// `NAME = call(...)`: bind NAME to the returned fd (or, for
    /// socketpair, to the pair: `NAME[0]`, `NAME[1]`).
    pub bind: Option<(String, Span)>,
    pub call: Call,
}

/// A call as written.
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    pub name: String,
    pub name_span: Span,
    pub args: Vec<Expr>,
    pub form: Form,
    /// `= RESULT`; None when the line has no `=` (nothing expected).
    pub result: Option<Expect>,
}

/// strace -f splits a call that blocks while another task runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `name(args) = result`, or `name(args)` with nothing expected.
    Whole,
    /// `name(args <unfinished ...>`: `args` are those strace printed at
    /// entry; the call is made by this line, its result comes later.
    Unfinished,
    /// `<... name resumed>args) = result`: the rest of an unfinished call
    /// of the same actor; `args` are the ones printed after `resumed>`.
    Resumed,
}

/// An expected result.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub span: Span,
    pub value: Outcome,
    /// strace's comment after the value, as written, without the
    /// parentheses: `Timeout`, `[{fd=3, revents=POLLIN}]`, `flags
    /// O_RDWR|O_NONBLOCK`, `Connection refused`.
    pub note: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// `= 3`, `= 0x802`.
    Value(i64),
    /// `= -1 ECONNREFUSED` (the errno's name as written).
    Errno(String),
    /// `= ?` (strace: the call did not return, or ERESTARTSYS & co. after
    /// it: `= ? ERESTARTSYS`, kept as `Unknown(Some("ERESTARTSYS"))`).
    Unknown(Option<String>),
    /// `= ...`: anything.
    Any,
}

/// One argument expression.
#[derive(Debug, Clone, PartialEq)]
pub struct Expr {
    pub span: Span,
    pub kind: ExprKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ExprKind {
    /// `3`, `-1`, `0x802`, `0600` (octal when it starts with 0).
    Int(i64),
    /// A constant or a script name: `AF_INET`, `s`, `NULL` is [`ExprKind::Null`].
    Name(String),
    /// Two or more names or ints joined by `|`: `SOCK_STREAM|SOCK_CLOEXEC`.
    Flags(Vec<Expr>),
    /// `"..."` with strace's escapes decoded; `cut`: strace's `"..."...`
    /// (only the first bytes were shown).
    Str { bytes: Vec<u8>, cut: bool },
    /// `NULL`.
    Null,
    /// `...`: don't care (an output), the natural value (an input).
    Dots,
    /// `{a=b, c=d}`; a field may have no name (`inet_pton(...)` inside
    /// a sockaddr_in6), and a struct may end with `...`.
    Struct(Vec<Field>),
    /// `[1]`, `[3, 4]`, `[{fd=3, events=POLLIN}]`, `[128 => 16]`
    /// (one [`ExprKind::InOut`] element), `[]`.
    Array(Vec<Expr>),
    /// `IN => OUT` (inside `[ ]`).
    InOut(Box<Expr>, Box<Expr>),
    /// `htons(8081)`, `inet_addr("127.0.0.1")`, `inet_pton(AF_INET6, "::1", &sin6_addr)`, `makedev(...)`.
    Func(String, Vec<Expr>),
    /// `&sin6_addr`.
    Ref(String),
    /// A short-form address, the text as written: `127.0.0.1:8080`,
    /// `[::1]:0`, `/tmp/sock`, `@name`, `localhost:80` is not one (no names).
    Addr(String),
    /// `x[0]`: one fd of a socketpair bound to `x`.
    Index(String, usize),
    /// `SOL_IP:13`, `41:67`: an option's level and number in one
    /// argument, as `--sockopt LEVEL:N` writes them (get/setsockopt).
    Opt(Box<Expr>, i64),
}

/// One field of a struct: `name=value`, or a bare value.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: Option<String>,
    pub value: Expr,
}

/// A syntax error: where, and what (one line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub line: usize,
    pub col: usize,
    pub msg: String,
}
