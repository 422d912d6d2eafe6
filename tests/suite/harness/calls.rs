//! The tests' views of the call table (`socklab::values::calls`): the
//! strace trace sets, which traced lines are the programs' own calls, and
//! the errnos to inject. A new row is traced and injected with no list
//! here to edit.

use std::sync::OnceLock;

use socklab::values::calls::{self, Kind, Syscall};

/// The rows of the sockets, descriptors and files (`values/calls/sockets.rs`)
/// that socklab's programs make and trace (not a script's only: read,
/// write, whose runtime calls strace shows too): the rows of `ALL` before the first process row
/// (`CLONE`), as `ALL` is in the order of sys's files. The table has no
/// field for it: see notes-tablereaders.md.
pub fn file_rows() -> impl Iterator<Item = &'static Syscall> {
    calls::ALL
        .iter()
        .copied()
        .take_while(|r| !std::ptr::eq(*r, &calls::CLONE))
        .filter(|r| r.traced && r.programs)
}

/// The traced rows of processes, threads and signals (`CLONE` on).
pub fn process_rows() -> impl Iterator<Item = &'static Syscall> {
    calls::ALL
        .iter()
        .copied()
        .skip_while(|r| !std::ptr::eq(*r, &calls::CLONE))
        .filter(|r| r.traced && r.programs)
        // A handler's return lands wherever the signal does (in the
        // runtime's own writes too): compared by strace/tasks.rs alone.
        .filter(|r| !std::ptr::eq(*r, &calls::RT_SIGRETURN))
}

/// `%net` (so a call of the C twins' that has no row still shows) and the
/// names of the file rows, comma separated: strace's `-e trace=` set.
pub fn trace_set() -> &'static str {
    static SET: OnceLock<String> = OnceLock::new();
    SET.get_or_init(|| {
        std::iter::once("%net")
            .chain(file_rows().map(|r| r.name))
            .collect::<Vec<_>>()
            .join(",")
    })
}

/// `trace=` and [`trace_set`]: strace's `-e` argument.
pub fn trace_filter() -> &'static str {
    static FILTER: OnceLock<String> = OnceLock::new();
    FILTER.get_or_init(|| format!("trace={}", trace_set()))
}

/// The row of a traced line (`NAME(...`), if the table has one.
pub fn row_of(line: &str) -> Option<&'static Syscall> {
    line.split_once('(')
        .and_then(|(name, _)| calls::by_name(name))
}

/// A traced line of a row that takes no descriptor on a socket: does the
/// program make it (or the loader, the runtime, the C library)? From the
/// row's first argument: a socket it makes (`Domain`: socket,
/// socketpair), a path or mode of the working directory (unlink, umask),
/// or a call relative to a directory fd with a path (the UNIX server's
/// socket file directory). The table cannot tell the runtime's calls of
/// the same names apart; per name, as strace shows them:
/// - newfstatat: the UNIX server's lstat passes AT_SYMLINK_NOFOLLOW (the
///   loader's stat of library directories, flags 0; the runtime's fstat,
///   AT_EMPTY_PATH);
/// - openat: the socket file's directory and the hold on the file are
///   O_DIRECTORY or O_PATH (the loader's and runtime's are files, neither).
pub fn is_own_path_call(row: &Syscall, line: &str) -> bool {
    match row.args.first().map(|a| a.kind) {
        Some(Kind::Domain | Kind::Path | Kind::Mode) => true,
        Some(Kind::Fd) if row.args.iter().any(|a| a.kind == Kind::Path) => match row.name {
            "newfstatat" => line.contains(", AT_SYMLINK_NOFOLLOW)"),
            "openat" => line.contains("|O_DIRECTORY)") || line.contains("|O_PATH)"),
            _ => true,
        },
        _ => false,
    }
}

/// The errnos to inject into the call named `name` on this kind of socket
/// (its row's list, EINTR last for the calls a signal can interrupt):
/// with `all` (make faults) every one; else the first and EINTR. A call
/// with no row fails the test: add a row.
pub fn fault_errnos(name: &str, unix: bool, dgram: bool, all: bool) -> Vec<String> {
    let row = calls::by_name(name)
        .unwrap_or_else(|| panic!("no row for {name} in src/values/calls: add one"));
    let list = row.errnos_for(unix, dgram);
    let eintr = list.contains(&nix::errno::Errno::EINTR);
    let mut v: Vec<String> = list
        .iter()
        .filter(|e| **e != nix::errno::Errno::EINTR)
        .map(|e| format!("{e:?}"))
        .collect();
    if !all {
        v.truncate(1);
    }
    if eintr {
        v.push("EINTR".into());
    }
    v
}
