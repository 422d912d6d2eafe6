//! Unit tests of the check pass and the expectations, on parsed lines.

use super::check::{Step, expand};
use super::expect;
use super::labels::Labels;
use super::parse;

fn steps(text: &str) -> Result<Vec<Step>, Vec<String>> {
    super::prepare(text, "t")
}

#[test]
fn short_forms_expand_to_the_real_calls() {
    let call = |text: &str| {
        let line = parse::parse_line(1, text).unwrap().unwrap();
        let (row, args) = expand(&line.call).unwrap();
        let shown: Vec<String> = args.iter().map(expect::show).collect();
        format!("{}({})", row.name, shown.join(", "))
    };
    assert_eq!(
        call("send(c, \"hi\")"),
        "sendto(c, \"hi\", ..., 0, NULL, 0)"
    );
    assert_eq!(
        call("send(c, \"hi\", MSG_DONTWAIT)"),
        "sendto(c, \"hi\", ..., MSG_DONTWAIT, NULL, 0)"
    );
    assert_eq!(
        call("recv(a, 1024)"),
        "recvfrom(a, ..., 1024, 0, NULL, NULL)"
    );
    assert_eq!(
        call("recv(a, 10, MSG_PEEK)"),
        "recvfrom(a, ..., 10, MSG_PEEK, NULL, NULL)"
    );
    assert_eq!(call("accept(s)"), "accept(s, ..., ...)");
    assert_eq!(
        call("accept4(s, SOCK_CLOEXEC)"),
        "accept4(s, ..., ..., SOCK_CLOEXEC)"
    );
    assert_eq!(call("bind(s, 127.0.0.1:0)"), "bind(s, 127.0.0.1:0, ...)");
    assert_eq!(call("getsockname(s)"), "getsockname(s, ..., ...)");
    assert_eq!(call("read(f, 100)"), "read(f, ..., 100)");
    assert_eq!(call("write(f, \"x\")"), "write(f, \"x\", ...)");
}

#[test]
fn an_unfinished_line_and_its_resumed_line_are_one_step() {
    let s = steps(
        "a | s = socket(AF_INET, SOCK_STREAM, 0)\n\
         a | accept4(s,  <unfinished ...>\n\
         b | c = socket(AF_INET, SOCK_STREAM, 0)\n\
         a | <... accept4 resumed>NULL, NULL, 0) = 5\n\
         a | close(5)\n",
    )
    .unwrap();
    assert_eq!(s.len(), 4);
    assert_eq!(s[1].row.name, "accept4");
    assert_eq!(s[1].args.len(), 4);
    assert_eq!(s[1].no, 2);
    assert!(s[1].result.is_some());
    assert!(s[1].tagged);
}

#[test]
fn every_error_is_found_with_its_position() {
    let errors = steps("x = socket(AF_INET, SOCK_STREAM, 0)\nclose(y)\nlisten(x, 1, 2)\nclose(9)\nshutdown(x, SHUT_SIDEWAYS)\n").unwrap_err();
    assert_eq!(
        errors,
        [
            "t:2:7: 'y' is used before a line binds it ('y = socket(...)')",
            "t:3:1: listen takes 2 arguments (sockfd, backlog), not 3",
            "t:4:7: fd 9 is never opened by an earlier line (a result '= 9' binds it)",
            "t:5:13: unknown constant 'SHUT_SIDEWAYS'",
        ]
    );
    // A result binds an fd; socketpair's output binds both; a name its fd.
    assert!(steps("socket(AF_INET, SOCK_STREAM, 0) = 7\nclose(7) = 0\n").is_ok());
    assert!(steps("socketpair(AF_UNIX, SOCK_STREAM, 0, [3, 4]) = 0\nclose(4)\n").is_ok());
    assert!(steps("p = socketpair(AF_UNIX, SOCK_STREAM, 0)\nclose(p[1])\n").is_ok());
    assert!(steps("close(1)\n").is_ok(), "0, 1, 2 are open");
    assert_eq!(
        steps("n = listen(1, 5)\n").unwrap_err(),
        ["t:1:1: 'n = ' names an fd, and listen returns none"]
    );
}

#[test]
fn outputs_unify_with_labels() {
    let s = steps("socket(AF_INET, SOCK_STREAM, 0) = 3\ngetsockname(3, {sa_family=AF_INET, sin_port=htons(40000), sin_addr=inet_addr(\"127.0.0.1\")}, [128 => 16]) = 0\n")
        .unwrap();
    let mut labels = Labels::new();
    assert!(
        expect::check(
            &s[0],
            &Ok(9),
            "AF_INET, SOCK_STREAM, IPPROTO_IP",
            "",
            b"",
            &mut labels
        )
        .is_ok()
    );
    assert_eq!(labels.fd(3), Some(9));
    let real = "9, {sa_family=AF_INET, sin_port=htons(51000), sin_addr=inet_addr(\"127.0.0.1\")}, [128 => 16]";
    assert!(expect::check(&s[1], &Ok(0), real, "", b"", &mut labels).is_ok());
    assert_eq!(labels.port_in(40000), 51000);
    let other = real.replace("127.0.0.1", "127.0.0.2");
    let m = expect::check(&s[1], &Ok(0), &other, "", b"", &mut labels).unwrap_err();
    assert_eq!(m.what, "argument 2 (addr)");
    let m = expect::check(
        &s[1],
        &Err(nix::errno::Errno::EBADF),
        real,
        "",
        b"",
        &mut labels,
    )
    .unwrap_err();
    assert_eq!(
        (m.expected.as_str(), m.got.as_str()),
        ("= 0", "= -1 EBADF (Bad file descriptor)")
    );
}
