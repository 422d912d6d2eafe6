//! `--wire --record` of a program: the capture's own calls (its packet
//! socket, filter, thread) are `wire | ` lines in the record, which the
//! replay skips as it skips a lab's; the trace itself stays strace's.
//! With `--trace=json`/`--json`, the capture's notes and calls are where
//! and whose they are.

use super::*;
use crate::script::records_models::joined;
use crate::script::script;

#[test]
fn tcp_server_wire_record_replays_with_its_client() {
    if !can_capture() {
        return;
    }
    let dir = TempDir::new("wire-record");
    let (s_rec, c_rec) = (dir.path("server.script"), dir.path("client.script"));
    let server = Server::start(&[
        "--wire",
        "--record",
        &s_rec,
        "tcp",
        "server",
        "127.0.0.1:0",
        "--once",
    ]);
    let client = run(
        socklab(&[
            "tcp",
            "client",
            &server.addr,
            "-m",
            "hello",
            "--record",
            &c_rec,
        ]),
        b"",
    );
    client.assert_ok();
    let served = server.finish();
    served.assert_ok();
    let record = std::fs::read_to_string(&s_rec).unwrap();
    // Every call of the capture is tagged, the program's are not.
    for call in [
        "socket(AF_PACKET, ",
        "bind(4, {sa_family=AF_PACKET, ",
        "clone3({",
        "SO_ATTACH_FILTER",
        "PACKET_STATISTICS",
        "close(4)",
    ] {
        let line = record.lines().find(|l| l.contains(call));
        assert!(
            line.is_some_and(|l| l.starts_with("wire | ")),
            "{call}: {line:?}\n{record}"
        );
    }
    assert!(
        record
            .lines()
            .any(|l| l.contains("listen(5, ") && !l.starts_with("wire")),
        "{record}"
    );
    // The trace is strace's: no tag, no mark.
    assert!(
        served.stderr.contains("socket(AF_PACKET, "),
        "{}",
        served.dump()
    );
    assert!(
        !served.stderr.contains("wire | ") && !served.stderr.contains('\u{1}'),
        "{}",
        served.dump()
    );
    let text = joined(
        &record,
        &[(std::fs::read_to_string(&c_rec).unwrap(), "hello")],
        false,
    );
    let o = script(&text, &[]);
    o.assert_ok();
    assert!(o.stdout.contains("\"HELLO\""), "{}", o.dump());
    assert!(!o.stdout.contains("AF_PACKET"), "{}", o.dump());
}

/// `--trace=json --wire`: a note comes where the text trace has it, in
/// time order with the call lines (it printed before every call line).
#[test]
fn tcp_client_wire_json_notes_follow_the_calls_they_are_about() {
    if !can_capture() {
        return;
    }
    let server = Server::start(&["tcp", "server", "127.0.0.1:0", "--once"]);
    let client = run(
        socklab(&[
            "--wire",
            "--trace=json",
            "tcp",
            "client",
            "-m",
            "hi",
            &server.addr,
        ]),
        b"",
    );
    server.finish().assert_ok();
    client.assert_ok();
    let clone3 = line_of(&client, &["\"call\":\"clone3\""]);
    let glibc = line_of(&client, &["\"note\":\"# not shown around this clone3"]);
    let capture = line_of(
        &client,
        &["\"note\":\"# wire: this task is socklab's capture"],
    );
    let connect = line_of(&client, &["\"call\":\"connect\""]);
    assert!(
        clone3 < glibc && clone3 < capture && glibc < connect && capture < connect,
        "{}",
        client.dump()
    );
}

/// `lab NAME --json` with `--wire`: the filter the capture attaches
/// again when a side names its port is the `wire` side's, as its other
/// calls (it was `"side":null`, a program's own call).
#[test]
fn phone_call_lab_json_wire_every_filter_is_the_wire_sides() {
    if !can_capture() {
        return;
    }
    let o = run(socklab(&["--wire", "lab", "phone-call", "--json"]), b"");
    o.assert_ok();
    let filters: Vec<&str> = o
        .stdout
        .lines()
        .filter(|l| l.contains("SO_ATTACH_FILTER"))
        .collect();
    assert!(filters.len() >= 2, "{}", o.dump());
    assert!(
        filters.iter().all(|l| l.contains("\"side\":\"wire\"")),
        "{}",
        o.dump()
    );
}
