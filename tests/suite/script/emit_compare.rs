//! `make compare`'s tables of the emitted twins: the script labs and
//! examples (`emit_compare_report`), and the records (issue 17:
//! "make compare gains the emitted twins beside the hand-written ones"):
//! the `--record` of socklab's programs (`unix client`, stream and
//! datagram; `unix server` with a client; `tcp server` with two clients
//! in the models that make other tasks, thread, prethread, fork, prefork,
//! and with one client in `--model epoll`; `udp server` with a client)
//! and of every lab on the lab network (root only), each emitted as C
//! and as Python and compared with the record replayed by `socklab
//! script`, as their own tests do (emit_unix.rs, emit_records.rs,
//! emit_models.rs, emit_netset.rs: each row is one of those tests). A
//! Python twin `--emit python` refuses is `refused (why)`, the refusal
//! checked, its whole reason under the table.

use super::emit_models::{MODELS, model_c, model_python, model_record, python_refusal, udp_twins};
use super::{emit, emit_netset, emit_records, emit_scripts, emit_unix};
use crate::harness::TempDir;

/// A refusal's short form for a row (`line N: REASON` cut to the call
/// or the thing refused: `a handler`, `prctl`).
fn short(why: &str) -> String {
    let text = why.split_once(": ").map_or(why, |(_, t)| t);
    let head = text.split(" is not emitted").next().unwrap_or(text);
    let head = head.split(" (").next().unwrap_or(head);
    format!("refused ({head})")
}

/// The reasons of the refused rows, printed under a table.
fn print_refusals(refusals: &[(String, String)]) {
    for (name, why) in refusals {
        println!("  {name}: Python refused, {why}");
    }
}

/// `make compare`'s table of the emitted twins: each script lab and
/// example, its C twin and its Python twin (the allow-list taken back),
/// the same calls or not (a differing one prints its traces side by side).
#[test]
#[ignore = "run by `make compare`"]
fn emit_compare_report() {
    println!("\nemitted twins (socklab script FILE --emit c|python), normalised socket calls:");
    println!("{:<36} {:<10} {:<10}", "script", "C", "Python");
    let mut all = true;
    let mut refusals = Vec::new();
    for (file, name) in emit::scripts() {
        let refused = emit_scripts::C_ONLY.contains(&name.as_str());
        let cell = |outcome: std::thread::Result<()>| match outcome {
            Ok(()) => SAME,
            Err(e) => failed(&message(&*e)),
        };
        let c = cell(std::panic::catch_unwind(|| emit::c_twin(&file, &name)));
        let py = if refused {
            // A C-only example whose Python twin is written is a failure.
            let why = python_refusal(&file);
            all &= why.is_some();
            let why = why.unwrap_or_else(|| "not refused".into());
            let row = short(&why);
            refusals.push((name.clone(), why));
            row
        } else {
            let p = cell(std::panic::catch_unwind(|| emit::python_twin(&file, &name)));
            all &= p == SAME;
            p.to_string()
        };
        println!("{name:<36} {c:<10} {py}");
        all &= c == SAME;
    }
    print_refusals(&refusals);
    assert!(all, "an emitted twin differs from its script (above)");
}

/// A row's outcome: the C twin's cell (`identical`, `DIFFERS`: other
/// calls, `FAILS`: its exit was not 0); the Python twin's cell, or not
/// run (the C twin failed first), or refused (why).
struct Twins {
    c: &'static str,
    python: Python,
}

enum Python {
    Cell(&'static str),
    NotRun,
    Refused(String),
}

const SAME: &str = "identical";

/// One row: its name, the test that records, emits and compares, and
/// whether it needs the lab network (root).
type Row = (String, Box<dyn Fn() -> Twins>, bool);

/// A test that compares both twins, the C twin first (a failure's
/// message naming Python is the Python twin's), as a row's.
fn both(test: impl Fn() + 'static) -> Box<dyn Fn() -> Twins> {
    Box::new(move || {
        let (c, p) = judged(&std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            &test,
        )));
        let python = p.map_or(Python::NotRun, Python::Cell);
        Twins { c, python }
    })
}

/// A server model's row: its record, the C twin and the Python twin
/// (or its refusal) judged each on its own.
fn model(name: &'static str) -> Box<dyn Fn() -> Twins> {
    Box::new(move || {
        let dir = TempDir::new(&format!("cmp-model-{name}"));
        let (file, row) = model_record(&dir, name);
        let c = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model_c(&file, row)));
        let (c, _) = judged(&c);
        let p =
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| model_python(&file, name)));
        let python = match p {
            Ok(Some(why)) => Python::Refused(why),
            Ok(None) => Python::Cell(SAME),
            Err(e) => Python::Cell(failed(&message(&*e))),
        };
        Twins { c, python }
    })
}

fn rows() -> Vec<Row> {
    let mut out: Vec<Row> = vec![
        (
            "record-unix-stream-client".into(),
            both(emit_unix::emit_twins_record_unix_stream_client_on_a_path),
            false,
        ),
        (
            "record-unix-datagram-client".into(),
            both(emit_unix::emit_twins_record_unix_datagram_client_on_an_abstract_name),
            false,
        ),
        (
            "record-unix-stream-server".into(),
            both(emit_unix::emit_twins_record_unix_stream_server_with_its_umask),
            false,
        ),
        (
            "record-tcp-server-epoll".into(),
            both(emit_records::emit_twins_record_of_the_epoll_server_and_a_client),
            false,
        ),
    ];
    for &(name, _, _) in MODELS {
        out.push((format!("record-tcp-server-{name}"), model(name), false));
    }
    out.push(("record-udp-server".into(), both(udp_twins), false));
    for lab in emit_records::NET_EMITTED {
        out.push((
            format!("record-lab-{lab}"),
            both(move || emit_records::net_twins(lab, "x")),
            true,
        ));
    }
    for lab in emit_netset::NET_SET {
        out.push((
            format!("record-lab-{lab}"),
            both(move || emit_netset::link_twins(lab, "x")),
            true,
        ));
    }
    out
}

/// A panic's message.
fn message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_default()
}

/// A failed twin's cell, from its test's message (emit.rs: `the C twin
/// failed`, `the Python twin failed` when its exit was not 0).
fn failed(msg: &str) -> &'static str {
    if msg.contains("twin failed") {
        "FAILS"
    } else {
        "DIFFERS"
    }
}

/// A test's outcome: the C cell and the Python cell (None: not run),
/// from the failure's message (the C twin is compared first; a message
/// naming Python is the Python twin's).
fn judged<T>(outcome: &std::thread::Result<T>) -> (&'static str, Option<&'static str>) {
    let Err(payload) = outcome else {
        return (SAME, Some(SAME));
    };
    let msg = message(&**payload);
    if msg.contains("Python") {
        (SAME, Some(failed(&msg)))
    } else {
        (failed(&msg), None)
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
    let mut refusals = Vec::new();
    let mut all = true;
    for (name, test, net) in rows() {
        if net && !root {
            lines.push(format!("{name:<36} {:<10} {}", "skipped", "(root)"));
            continue;
        }
        let Twins { c, python } = test();
        let (py, p) = match python {
            Python::Refused(why) => {
                let row = short(&why);
                refusals.push((name.clone(), why));
                (row, true)
            }
            Python::Cell(p) => (p.to_string(), p == SAME),
            Python::NotRun => ("not run".to_string(), false),
        };
        lines.push(format!("{name:<36} {c:<10} {py}"));
        all &= c == SAME && p;
    }
    println!("\nemitted twins of records (socklab ... --record, then script --emit c|python):");
    println!("{:<36} {:<10} {:<10}", "record", "C", "Python");
    for l in lines {
        println!("{l}");
    }
    print_refusals(&refusals);
    assert!(all, "an emitted twin differs from its record (above)");
}
