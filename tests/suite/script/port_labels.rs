//! Port labels (issue 14, rule 3): two ports written differently are two
//! ports, unless the socket that showed the first is closed: the kernel
//! gives a closed socket's port again (on loopback tcp_tw_reuse=2 even
//! takes it out of TIME_WAIT), so a replay's two clients may get one port
//! where the record's had two.

use super::script;

/// c1's port, closed, is bound again by c2 (SO_REUSEADDR): the record
/// wrote it as 50002, a new label, which now means the same port.
const GIVEN_AGAIN: &str = "c1 = socket(AF_INET, SOCK_STREAM, 0)
bind(c1, 127.0.0.1:0) = 0
getsockname(c1, 127.0.0.1:50001, ...) = 0
close(c1) = 0
c2 = socket(AF_INET, SOCK_STREAM, 0)
setsockopt(c2, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
bind(c2, 127.0.0.1:50001) = 0
getsockname(c2, 127.0.0.1:50002, ...) = 0
";

#[test]
fn script_a_port_label_may_mean_a_closed_sockets_port() {
    script(GIVEN_AGAIN, &[]).assert_ok();
}

/// Both open (SO_REUSEPORT): 50002 cannot be the port 50001 means.
const BOTH_OPEN: &str = "c1 = socket(AF_INET, SOCK_STREAM, 0)
setsockopt(c1, SOL_SOCKET, SO_REUSEPORT, [1], 4) = 0
bind(c1, 127.0.0.1:0) = 0
getsockname(c1, 127.0.0.1:50001, ...) = 0
c2 = socket(AF_INET, SOCK_STREAM, 0)
setsockopt(c2, SOL_SOCKET, SO_REUSEPORT, [1], 4) = 0
bind(c2, 127.0.0.1:50001) = 0
getsockname(c2, 127.0.0.1:50002, ...) = 0
";

#[test]
fn script_a_port_label_may_not_mean_an_open_sockets_port() {
    script(BOTH_OPEN, &[])
        .assert_code(1)
        .stderr_has("expected argument 2 (addr)");
    // Written as the same label, it holds.
    script(&BOTH_OPEN.replace("50002", "50001"), &[]).assert_ok();
}
