use super::*;
use nix::errno::Errno::*;

#[test]
fn every_row_has_a_name_of_its_own() {
    for row in ALL {
        assert!(!row.name.is_empty());
        assert!(
            std::ptr::eq(by_name(row.name).unwrap(), *row),
            "{}",
            row.name
        );
    }
}

#[test]
fn every_row_is_in_all() {
    let rows = [
        include_str!("sockets.rs"),
        include_str!("processes.rs"),
        include_str!("scripts.rs"),
        include_str!("uring.rs"),
        include_str!("batch.rs"),
        include_str!("files.rs"),
    ]
    .iter()
    .map(|src| src.matches(": Syscall = Syscall {").count())
    .sum::<usize>();
    assert_eq!(rows, ALL.len(), "a row missing from ALL");
}

#[test]
fn every_traced_row_has_its_syscall_number() {
    for row in ALL {
        if row.name != "sysconf" {
            assert!(row.nr >= 0, "{}", row.name);
        }
    }
    assert_eq!(ACCEPT.nr, 43);
    assert_eq!(ACCEPT4.nr, libc::SYS_accept4);
    assert_eq!(READ.nr, 0);
}

#[test]
fn fault_lists_by_socket_kind() {
    assert_eq!(BIND.errnos_for(true, false)[3], EROFS);
    assert_eq!(BIND.errnos_for(false, false)[2], EADDRNOTAVAIL);
    assert_eq!(SENDTO.errnos_for(false, true)[0], EMSGSIZE);
    assert_eq!(SENDTO.errnos_for(false, false)[0], EPIPE);
    assert_eq!(EPOLL_WAIT.errnos_for(false, false), &[EINTR]);
}

#[test]
fn pause_names_are_unique_and_include_the_new_ones() {
    let names: Vec<_> = pausable().collect();
    for n in ["accept4", "epoll_wait", "wait4", "unlinkat", "close"] {
        assert!(names.contains(&n), "{n}");
    }
    let mut sorted = names.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), names.len());
}

#[test]
fn every_scriptable_call_has_its_man_pages_errors() {
    for row in scriptable() {
        let man = man_errors(row.name).unwrap_or_else(|| panic!("{}: no man errors", row.name));
        let names: Vec<&str> = man.names().collect();
        // A page that lists none says so in its own words.
        assert!(
            !names.is_empty() || !man.none.is_empty(),
            "{}: an empty list",
            row.name
        );
        for (i, n) in names.iter().enumerate() {
            assert!(
                crate::values::xlat::errno(n).is_some() || n.starts_with("ERESTART"),
                "{}: {n} is no errno",
                row.name
            );
            assert!(!names[..i].contains(n), "{}: {n} twice", row.name);
            assert!(*n != "EWOULDBLOCK" && *n != "ENOTSUP", "{}: {n}", row.name);
        }
    }
    for man in MAN_ERRORS {
        assert!(
            by_name(man.call).is_some_and(|r| r.scriptable),
            "{}: not a scriptable call",
            man.call
        );
    }
}

#[test]
fn man_errors_are_the_pages_not_the_injected_ones() {
    let accept: Vec<&str> = man_errors("accept4").unwrap().names().collect();
    assert!(accept.contains(&"EINVAL") && accept.contains(&"EAGAIN"));
    assert_eq!(man_errors("accept4").unwrap().page, "accept");
    let connect: Vec<&str> = man_errors("connect").unwrap().names().collect();
    for e in ["EISCONN", "EALREADY", "EINPROGRESS"] {
        assert!(connect.contains(&e), "{e}");
    }
    // EINVAL is dup3's only on dup(2).
    assert!(!man_errors("dup2").unwrap().names().any(|n| n == "EINVAL"));
    assert_eq!(
        man_errors("getpid").unwrap().line(),
        "errors (man 2 getpid): none, \"These functions are always successful.\""
    );
}
