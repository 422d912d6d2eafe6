//! Address arguments as a script writes them: the quoted abstract form
//! `@"x"` (strace's sun_path=@"x") is the abstract name x; sendto's short
//! address stands for the address and its length; a bad address is found
//! by the check (exit 2, its position, no call made); a port label whose
//! sockets are closed may mean the next port a result shows.

use super::script;
use crate::harness;

#[test]
fn script_quoted_abstract_name_binds_and_sends() {
    let name = harness::abstract_name("quoted");
    let name = name.trim_start_matches('@');
    let text = format!(
        "s = socket(AF_UNIX, SOCK_DGRAM, 0)
bind(s, @\"{name}\") = 0
c = socket(AF_UNIX, SOCK_DGRAM, 0)
sendto(c, \"hi\", 2, 0, @\"{name}\") = 2
recvfrom(s, \"hi\", 10, 0, NULL, NULL) = 2
"
    );
    let out = script(&text, &[]);
    out.assert_ok();
    out.stdout_has(&format!(
        "bind(3, {{sa_family=AF_UNIX, sun_path=@\"{name}\"}}, "
    ));
    out.stdout_has(&format!(
        "sendto(4, \"hi\", 2, 0, {{sa_family=AF_UNIX, sun_path=@\"{name}\"}}, "
    ));
}

#[test]
fn script_sendto_short_address_is_address_and_length() {
    let text = "u = socket(AF_INET, SOCK_DGRAM, 0)
bind(u, 127.0.0.1:0) = 0
getsockname(u, 127.0.0.1:40000, ...) = 0
v = socket(AF_INET, SOCK_DGRAM, 0)
sendto(v, \"ping\", 4, 0, 127.0.0.1:40000) = 4
recvfrom(u, \"ping\", 10, 0, NULL, NULL) = 4
";
    let out = script(text, &[]);
    out.assert_ok();
    let sent = out
        .stdout
        .lines()
        .find(|l| l.starts_with("sendto(4, \"ping\", 4, 0, {sa_family=AF_INET"))
        .unwrap_or_else(|| panic!("no sendto line\n{}", out.dump()));
    assert!(
        sent.ends_with("inet_addr(\"127.0.0.1\")}, 16) = 4"),
        "{sent}"
    );
}

#[test]
fn script_bad_address_found_by_the_check_makes_no_call() {
    let dir = harness::TempDir::new("checkaddr");
    let path = dir.path("first.sock");
    // The first bind would create the file if any call were made.
    let text = format!(
        "s = socket(AF_UNIX, SOCK_DGRAM, 0)
bind(s, {path}) = 0
c = socket(AF_UNIX, SOCK_DGRAM, 0)
sendto(c, \"hi\", 2, 0, \"not an address\", 8) = 2
"
    );
    let out = script(&text, &[]);
    assert_eq!(out.code(), Some(2), "{}", out.dump());
    out.stderr_has("-:4:23: expected an address");
    assert!(out.stdout.is_empty(), "{}", out.dump());
    assert!(!std::path::Path::new(&path).exists(), "a call was made");
}

#[test]
fn script_bad_sendmsg_msg_name_found_by_the_check() {
    let text = "u = socket(AF_INET, SOCK_DGRAM, 0)
sendmsg(u, {msg_name=7, msg_iov=[{iov_base=\"hi\", iov_len=2}], msg_iovlen=1}, 0) = 2
";
    let out = script(text, &[]);
    assert_eq!(out.code(), Some(2), "{}", out.dump());
    out.stderr_has("-:2:22: expected an address");
    assert!(out.stdout.is_empty(), "{}", out.dump());
}

/// Two listeners the record's kernel gave one port (40001: the first was
/// closed, bind(0) gave its port again); this run's kernel gives two.
/// The label means the new port once every fd open when it was shown
/// is closed; while the first listener is open it still means its port.
#[test]
fn script_a_port_label_may_mean_a_new_port_once_its_socket_is_closed() {
    let round = |close: &str| {
        format!(
            "socket(AF_INET, SOCK_STREAM, IPPROTO_IP) = 3
bind(3, {{sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr(\"127.0.0.1\")}}, 16) = 0
listen(3, 5) = 0
getsockname(3, {{sa_family=AF_INET, sin_port=htons(40001), sin_addr=inet_addr(\"127.0.0.1\")}}, [128 => 16]) = 0
{close}"
        )
    };
    let given_again = round("close(3) = 0\n").repeat(2);
    script(&given_again, &[]).assert_ok();
    // The first listener still open: the second (fd 4) has another port.
    let held = round("") + &round("").replace('3', "4");
    let o = script(&held, &[]);
    assert_eq!(o.code(), Some(1), "{}", o.dump());
    assert!(o.stderr.contains("getsockname(4, "), "{}", o.dump());
}
