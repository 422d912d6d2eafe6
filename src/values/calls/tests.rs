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
