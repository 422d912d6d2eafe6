//! A call's arguments rendered from its row of the call table: a wrapper in
//! `sys` hands its values in C order ([`ArgVal`]), and [`render`] joins
//! them the way strace does, checking (in debug builds and unit tests) that it got one
//! value per argument of the row and that each value fits the argument's
//! kind.

use std::fmt::Write as _;

use crate::values::calls::{Dir, Entry, Kind, Syscall};
use crate::values::quoting::{len_in_out, quote};

/// One argument's value, as the wrapper knows it after the call.
#[derive(Debug)]
pub enum ArgVal<'a> {
    /// A file descriptor: `3`.
    Fd(i32),
    /// A number: `128`.
    Int(i64),
    /// A name strace prints as is: `AF_INET`, `SOCK_STREAM|SOCK_CLOEXEC`,
    /// `MSG_DONTWAIT`, `AT_FDCWD`, `0`.
    Name(&'a str),
    /// A value already in strace's syntax: a sockaddr, a structure, an
    /// option value.
    Text(String),
    /// Bytes strace quotes, at most `max` of them shown: a data buffer, a path.
    Buf(&'a [u8], usize),
    /// Memory the kernel did not fill in (the call failed): its address.
    Ptr(*const ()),
    /// A null pointer: `NULL`.
    Null,
    /// A length the kernel reads and writes: `[128 => 16]`, or `[128]`
    /// when the call failed (None).
    InOut(u32, Option<u32>),
    /// An argument strace leaves out: openat's mode without `O_CREAT`.
    Unshown,
}

impl ArgVal<'_> {
    /// Can an argument of this kind hold this value?
    fn fits(&self, kind: Kind) -> bool {
        use ArgVal as V;
        if matches!(self, V::Unshown) {
            return true;
        }
        match kind {
            Kind::Fd => matches!(self, V::Fd(_) | V::Name(_)),
            Kind::Len => matches!(self, V::Int(_) | V::InOut(..) | V::Null),
            Kind::Int => matches!(self, V::Int(_) | V::Name(_) | V::Text(_)),
            Kind::Path => matches!(self, V::Buf(..)),
            Kind::Buffer => matches!(self, V::Buf(..) | V::Ptr(_) | V::Text(_)),
            Kind::Sockaddr | Kind::Pointer | Kind::FdPair => {
                matches!(self, V::Text(_) | V::Ptr(_) | V::Null)
            }
            Kind::Domain
            | Kind::Type
            | Kind::Protocol
            | Kind::Flags
            | Kind::Level
            | Kind::Option
            | Kind::Mode => matches!(self, V::Name(_) | V::Text(_) | V::Int(_)),
        }
    }

    fn write(&self, out: &mut String) {
        let _ = match self {
            ArgVal::Fd(fd) => write!(out, "{fd}"),
            ArgVal::Int(n) => write!(out, "{n}"),
            ArgVal::Name(s) => write!(out, "{s}"),
            ArgVal::Text(s) => write!(out, "{s}"),
            ArgVal::Buf(bytes, max) => write!(out, "{}", quote(bytes, *max)),
            // The pointer itself (`{p:p}` of the binding would show where it is stored).
            ArgVal::Ptr(p) => write!(out, "{:p}", *p),
            ArgVal::Null => write!(out, "NULL"),
            ArgVal::InOut(cap, Some(len)) => write!(out, "{}", len_in_out(*cap, *len)),
            ArgVal::InOut(cap, None) => write!(out, "[{cap}]"),
            ArgVal::Unshown => Ok(()),
        };
    }
}

/// The arguments of one call of `row`, in strace's syntax: the values in
/// the row's order, joined by `, `.
pub fn render(row: &Syscall, vals: &[ArgVal]) -> String {
    check(row, vals);
    let mut out = String::new();
    for (n, v) in vals
        .iter()
        .filter(|v| !matches!(v, ArgVal::Unshown))
        .enumerate()
    {
        if n > 0 {
            out.push_str(", ");
        }
        v.write(&mut out);
    }
    out
}

/// One value per argument of the row, each fitting its argument's kind.
fn check(row: &Syscall, vals: &[ArgVal]) {
    // Checked in debug builds and in the unit tests (`make test` builds
    // them in release): src/sys/rendered.rs makes every wrapper render.
    if cfg!(any(debug_assertions, test)) {
        assert_eq!(
            vals.len(),
            row.args.len(),
            "{}: {} values for {} arguments",
            row.name,
            vals.len(),
            row.args.len()
        );
        assert!(
            row.args.iter().zip(vals).all(|(a, v)| v.fits(a.kind)),
            "{}: a value does not fit its argument's kind: {vals:?}",
            row.name
        );
    }
}

/// The same, each value after its argument's name (`child_stack=NULL`):
/// how strace prints clone's arguments.
pub fn render_named(row: &Syscall, vals: &[ArgVal]) -> String {
    check(row, vals);
    let mut out = String::new();
    for (n, (arg, v)) in row.args.iter().zip(vals).enumerate() {
        if n > 0 {
            out.push_str(", ");
        }
        out.push_str(arg.name);
        out.push('=');
        v.write(&mut out);
    }
    out
}

/// How much of a call's rendered arguments strace prints when the call
/// starts (its `<unfinished ...>` line), by the row's [`Entry`]: up to
/// where the first argument the kernel fills in (Out or InOut) starts,
/// the `, ` before it included (`accept4(3, ` then ` <unfinished ...>`);
/// all of them if the kernel fills in none (`connect(3, {...}, 16
/// <unfinished ...>`), or if strace decodes the call at its entry
/// (`accept(3, NULL, NULL <unfinished ...>`).
pub fn entry_len(row: &Syscall, args: &str) -> usize {
    match row.entry {
        Entry::Inputs | Entry::CommaAtReturn => inputs_len(row, args),
        Entry::WholeIfNull(nulls) if nulls.iter().any(|&n| arg_text(args, n) == Some("NULL")) => {
            args.len()
        }
        Entry::WholeIfNull(_) => inputs_len(row, args),
        Entry::Before(text) => args.find(text).unwrap_or(args.len()),
        Entry::Ioctl => ioctl_entry_len(args),
    }
}

/// [`Entry::Inputs`] (and the cut of [`Entry::CommaAtReturn`]).
fn inputs_len(row: &Syscall, args: &str) -> usize {
    let Some(first_out) = row.args.iter().position(|a| a.dir != Dir::In) else {
        return args.len();
    };
    if first_out == 0 {
        return 0;
    }
    // The `, ` before the first argument the kernel fills in.
    let bytes = args.as_bytes();
    let comma = comma_at_return(row);
    top_level_commas(args)
        .get(first_out - 1)
        .map_or(args.len(), |&at| match comma {
            true => at,
            false => at + 1 + usize::from(bytes.get(at + 1) == Some(&b' ')),
        })
}

/// The text of argument `n` (from 0) of rendered arguments, trimmed.
fn arg_text(args: &str, n: usize) -> Option<&str> {
    let commas = top_level_commas(args);
    let from = match n {
        0 => 0,
        _ => commas.get(n - 1)? + 1,
    };
    let to = commas.get(n).copied().unwrap_or(args.len());
    args.get(from..to).map(str::trim)
}

/// ioctl's entry by its request (strace 6.1, measured): `FIONBIO, [1]`
/// whole; `FIONREAD`/`TIOCOUTQ` without the `, ` (`<... ioctl
/// resumed>, [0]) = 0`); a structure up to its second field
/// (`SIOCGIFINDEX, {ifr_name="lo"`, then `, ifr_ifindex=1}`).
fn ioctl_entry_len(args: &str) -> usize {
    let commas = top_level_commas(args);
    let (Some(&second), Some(third)) = (commas.get(1), arg_text(args, 2)) else {
        return args.len();
    };
    if arg_text(args, 1) == Some("FIONBIO") {
        return args.len();
    }
    let Some(inner) = third.strip_prefix('{') else {
        return second;
    };
    let at = args.len() - third.len() + 1;
    // Rendered at the entry (as if it failed), one field: up to its `}`.
    let one = inner.strip_suffix('}').map_or(inner.len(), str::len);
    at + top_level_commas(inner).first().copied().unwrap_or(one)
}

/// Whether strace prints the rest of the arguments at the call's return
/// as it is, `, ` first, not from the next argument (the `, ` ended the
/// entry): clone's decoder (`clone(child_stack=NULL, flags=...|SIGCHLD
/// <unfinished ...>`, then `<... clone resumed>, child_tidptr=0x...) =
/// N`), ioctl's, clone3's ` => {parent_tid=...`, io_uring_setup's
/// `, sq_entries=...` (strace 6.1, measured).
pub fn comma_at_return(row: &Syscall) -> bool {
    !matches!(row.entry, Entry::Inputs | Entry::WholeIfNull(_))
}

/// What a `<... NAME resumed>` line starts with, before the `)`: the
/// arguments after [`entry_len`], the `, ` that ended the entry left
/// out, except where strace prints it at the return
/// ([`comma_at_return`]). The one rule for every resumed half (the
/// trace's, a timeline's, a script's interrupted or killed call).
pub fn resumed_args<'a>(row: &Syscall, args: &'a str) -> &'a str {
    let cut = entry_len(row, args).min(args.len());
    let rest = args.get(cut..).unwrap_or("");
    match comma_at_return(row) {
        true => rest,
        false => rest.trim_start_matches(", "),
    }
}

/// The byte offsets of the commas that separate the arguments of a
/// rendered (or written) argument list: those outside strings (with
/// their escapes) and brackets.
pub fn top_level_commas(text: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let (mut depth, mut in_str, mut escaped) = (0usize, false, false);
    for (at, b) in text.bytes().enumerate() {
        if in_str {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth = depth.saturating_sub(1),
            b',' if depth == 0 => out.push(at),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::values::calls;

    #[test]
    fn joins_the_values_in_the_rows_order() {
        let line = render(
            &calls::RECVFROM,
            &[
                ArgVal::Fd(3),
                ArgVal::Buf(b"hi\n", 32),
                ArgVal::Int(1024),
                ArgVal::Name("0"),
                ArgVal::Null,
                ArgVal::Null,
            ],
        );
        assert_eq!(line, r#"3, "hi\n", 1024, 0, NULL, NULL"#);
        let line = render(
            &calls::GETSOCKNAME,
            &[
                ArgVal::Fd(3),
                ArgVal::Text("{sa_family=AF_UNIX}".into()),
                ArgVal::InOut(128, Some(2)),
            ],
        );
        assert_eq!(line, "3, {sa_family=AF_UNIX}, [128 => 2]");
        let line = render(
            &calls::GETSOCKNAME,
            &[ArgVal::Fd(3), ArgVal::Null, ArgVal::InOut(128, None)],
        );
        assert_eq!(line, "3, NULL, [128]");
        let at = 0x7ffd_1234_5678usize as *const ();
        let line = render(
            &calls::GETSOCKNAME,
            &[ArgVal::Fd(3), ArgVal::Ptr(at), ArgVal::InOut(128, None)],
        );
        assert_eq!(line, "3, 0x7ffd12345678, [128]");
        let line = render_named(
            &calls::CLONE,
            &[ArgVal::Null, ArgVal::Name("SIGCHLD"), ArgVal::Ptr(at)],
        );
        assert_eq!(
            line,
            "child_stack=NULL, flags=SIGCHLD, child_tidptr=0x7ffd12345678"
        );
    }

    #[test]
    fn entry_stops_before_what_the_kernel_fills_in() {
        let args = r#"3, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, [128 => 16], SOCK_CLOEXEC"#;
        assert_eq!(&args[..entry_len(&calls::ACCEPT4, args)], "3, ");
        let args =
            r#"3, {sa_family=AF_INET, sin_port=htons(80), sin_addr=inet_addr("127.0.0.1")}, 16"#;
        assert_eq!(entry_len(&calls::CONNECT, args), args.len());
        // A string with `, ` and brackets in it is one argument.
        let args = r#"3, "a, [b\", (c", 9, 0, NULL, 0"#;
        assert_eq!(entry_len(&calls::SENDTO, args), args.len());
        let args = r#"3, "a, "]x", 1024, 0, NULL, NULL"#;
        assert_eq!(&args[..entry_len(&calls::RECVFROM, args)], "3, ");
        assert_eq!(entry_len(&calls::CLOSE, "3"), 1);
        // strace 6.1: `clone(child_stack=NULL, flags=SIGCHLD <unfinished ...>`.
        let args = "child_stack=NULL, flags=SIGCHLD, child_tidptr=0x7f00";
        assert_eq!(
            &args[..entry_len(&calls::CLONE, args)],
            "child_stack=NULL, flags=SIGCHLD"
        );
        let args = "[{fd=3, events=POLLIN}], 1, -1";
        assert_eq!(entry_len(&calls::POLL, args), args.len());
        assert_eq!(entry_len(&calls::READ, "5, 0x7ffd0000, 100"), 3);
    }

    /// Each form as strace 6.1 printed it (notes-splits20.md): the
    /// `<unfinished ...>` text, then the `<... NAME resumed>` rest.
    #[test]
    fn entries_split_where_strace_splits_them() {
        let cases: &[(&Syscall, &str, &str)] = &[
            (&calls::ACCEPT, "3, NULL, NULL", ""),
            (&calls::ACCEPT4, "3, NULL, NULL, SOCK_CLOEXEC", ""),
            (
                &calls::ACCEPT4,
                "3, 0x7ffd0000, [128], SOCK_CLOEXEC",
                "0x7ffd0000, [128], SOCK_CLOEXEC",
            ),
            (&calls::GETSOCKNAME, "3, NULL, NULL", ""),
            (
                &calls::GETPEERNAME,
                "3, 0x7ffd0000, [128]",
                "0x7ffd0000, [128]",
            ),
            (
                &calls::RT_SIGTIMEDWAIT,
                "[PIPE], NULL, {tv_sec=0, tv_nsec=0}, 8",
                "",
            ),
            (
                &calls::GETSOCKOPT,
                "3, SOL_SOCKET, SO_ERROR, [0], [4]",
                "[0], [4]",
            ),
            (&calls::IOCTL, "3, FIONBIO, [1]", ""),
            (&calls::IOCTL, "3, FIONREAD, [0]", ", [0]"),
            (&calls::IOCTL, "3, TIOCOUTQ, [0]", ", [0]"),
            (
                &calls::IOCTL,
                r#"3, SIOCGIFINDEX, {ifr_name="lo", ifr_ifindex=1}"#,
                ", ifr_ifindex=1}",
            ),
            (&calls::IOCTL, r#"3, SIOCGIFINDEX, {ifr_name="lo"}"#, "}"),
            (
                &calls::PTHREAD_CREATE,
                "{flags=CLONE_VM, child_tid=0x7f00, parent_tid=0x7f00, exit_signal=0, stack=0x7e00, stack_size=0x7fff80, tls=0x7f01} => {parent_tid=[9057]}, 88",
                " => {parent_tid=[9057]}, 88",
            ),
            (
                &calls::IO_URING_SETUP,
                "4, {flags=0, sq_thread_cpu=0, sq_thread_idle=0, sq_entries=4, cq_entries=8}",
                ", sq_entries=4, cq_entries=8}",
            ),
            (
                &calls::WAIT4,
                "-1, 0x7ffd0000, WNOHANG, NULL",
                "0x7ffd0000, WNOHANG, NULL",
            ),
            (&calls::EPOLL_WAIT, "5, [], 4, 0", "[], 4, 0"),
            (
                &calls::RECVMMSG,
                "4, 0x7ffd0000, 1, 0, NULL",
                "0x7ffd0000, 1, 0, NULL",
            ),
            (&calls::GETRANDOM, r#""\xfe", 4, 0"#, r#""\xfe", 4, 0"#),
            (&calls::IO_URING_ENTER, "5, 0, 0, 0, NULL, 8", ""),
        ];
        for (row, args, rest) in cases {
            assert_eq!(resumed_args(row, args), *rest, "{}({args})", row.name);
        }
    }

    #[test]
    #[should_panic(expected = "2 values for 3 arguments")]
    fn a_value_missing_is_caught() {
        render(&calls::BIND, &[ArgVal::Fd(3), ArgVal::Int(16)]);
    }

    #[test]
    #[should_panic(expected = "does not fit")]
    fn a_value_of_the_wrong_kind_is_caught() {
        render(&calls::LISTEN, &[ArgVal::Int(3), ArgVal::Int(16)]);
    }
}
