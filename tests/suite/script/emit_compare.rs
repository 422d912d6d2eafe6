//! `make compare`'s tables of the emitted twins: the script labs and
//! examples (`emit_compare_report`), and the records (issue 17:
//! "make compare gains the emitted twins beside the hand-written ones"):
//! the `--record` of socklab's programs (`unix client`, stream and
//! datagram; `unix server` with a client; `tcp server --model epoll`
//! with a client) and of every lab on the lab network (root only), each
//! emitted as C and as Python and compared with the record replayed by
//! `socklab script`, as their own tests do (emit_unix.rs,
//! emit_records.rs, emit_netset.rs: each row is one of those tests).

use super::{emit, emit_netset, emit_records, emit_scripts, emit_unix};

/// `make compare`'s table of the emitted twins: each script lab and
/// example, its C twin and its Python twin (the allow-list taken back),
/// the same calls or not (a differing one prints its traces side by side).
#[test]
#[ignore = "run by `make compare`"]
fn emit_compare_report() {
    println!("\nemitted twins (socklab script FILE --emit c|python), normalised socket calls:");
    println!("{:<36} {:<10} {:<10}", "script", "C", "Python");
    let mut all = true;
    for (file, name) in emit::scripts() {
        let refused = emit_scripts::C_ONLY.contains(&name.as_str());
        let c = std::panic::catch_unwind(|| emit::c_twin(&file, &name)).is_ok();
        let p = refused || std::panic::catch_unwind(|| emit::python_twin(&file, &name)).is_ok();
        let word = |ok: bool| if ok { "identical" } else { "DIFFERS" };
        let py = if refused { "refused" } else { word(p) };
        println!("{name:<36} {:<10} {:<10}", word(c), py);
        all &= c && p;
    }
    assert!(all, "an emitted twin differs from its script (above)");
}

/// One row: its name, the test that records, emits and compares, and
/// whether it needs the lab network (root).
type Row = (String, Box<dyn Fn()>, bool);

fn rows() -> Vec<Row> {
    let mut out: Vec<Row> = vec![
        (
            "record-unix-stream-client".into(),
            Box::new(emit_unix::emit_twins_record_unix_stream_client_on_a_path),
            false,
        ),
        (
            "record-unix-datagram-client".into(),
            Box::new(emit_unix::emit_twins_record_unix_datagram_client_on_an_abstract_name),
            false,
        ),
        (
            "record-unix-stream-server".into(),
            Box::new(emit_unix::emit_twins_record_unix_stream_server_with_its_umask),
            false,
        ),
        (
            "record-tcp-server-epoll".into(),
            Box::new(emit_records::emit_twins_record_of_the_epoll_server_and_a_client),
            false,
        ),
    ];
    for lab in emit_records::NET_EMITTED {
        out.push((
            format!("record-lab-{lab}"),
            Box::new(move || emit_records::net_twins(lab, "x")),
            true,
        ));
    }
    for lab in emit_netset::NET_SET {
        out.push((
            format!("record-lab-{lab}"),
            Box::new(move || emit_netset::link_twins(lab, "x")),
            true,
        ));
    }
    out
}

/// A row's outcome: (C, Python), from the failure's message (the C twin
/// is compared first; a message naming Python is the Python twin's).
fn judged(outcome: std::thread::Result<()>) -> (bool, bool) {
    let Err(payload) = outcome else {
        return (true, true);
    };
    let msg = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default();
    if msg.contains("Python") {
        (true, false)
    } else {
        (false, false)
    }
}

/// `make compare`: each record's C twin and Python twin, identical to the
/// record's replay or not (a differing one prints why above the table).
#[test]
#[ignore = "run by `make compare`"]
fn emit_records_compare_report() {
    // SAFETY: geteuid only reads the process's effective uid.
    let root = unsafe { libc::geteuid() } == 0;
    let mut lines = Vec::new();
    let mut all = true;
    for (name, test, net) in rows() {
        if net && !root {
            lines.push(format!("{name:<36} {:<10} {:<10}", "skipped", "(root)"));
            continue;
        }
        let (c, p) = judged(std::panic::catch_unwind(std::panic::AssertUnwindSafe(test)));
        let word = |ok: bool| if ok { "identical" } else { "DIFFERS" };
        let py = if c { word(p) } else { "not run" };
        lines.push(format!("{name:<36} {:<10} {py:<10}", word(c)));
        all &= c && p;
    }
    println!("\nemitted twins of records (socklab ... --record, then script --emit c|python):");
    println!("{:<36} {:<10} {:<10}", "record", "C", "Python");
    for l in lines {
        println!("{l}");
    }
    assert!(all, "an emitted twin differs from its record (above)");
}
