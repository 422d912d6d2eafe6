//! The `uring` lab (issue 18): epoll and io_uring servers under the same
//! echo load, syscalls per echo counted by socklab's trace and strace -c.

use super::{lab, line_with};
use crate::harness;

/// PASS, the counts of both servers, strace's count beside socklab's when
/// strace is here, and one io_uring_enter with its ring lines.
#[test]
fn lab_uring() {
    let o = lab("uring");
    line_with(
        &o,
        &["count | # socklab's trace: ", "echo path epoll_wait "],
    );
    line_with(
        &o,
        &["count | # socklab's trace: ", "echo path io_uring_enter "],
    );
    line_with(
        &o,
        &["sqe and ", "cqe lines: operations strace does not see"],
    );
    line_with(&o, &["trace | # io_uring_enter("]);
    line_with(&o, &["trace | #   cqe user_data=0x2"]);
    if harness::have("strace") {
        line_with(&o, &["count | # strace -f -c: echo path io_uring_enter "]);
        o.stdout_has("(socklab's count and strace -c agree)");
        assert!(!o.stdout.contains("NOT socklab's count"), "{}", o.dump());
    }
}
