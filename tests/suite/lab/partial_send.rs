//! partial-send: a send that takes less than asked, and sendall's loop,
//! with the same counts every run (both buffers fixed before connect,
//! the server reading exactly what each send took).

use super::{lab, line_with};

#[test]
fn lab_partial_send() {
    let o = lab("partial-send");
    // Both buffers fixed before connect (no autotuning); each send's
    // count is what the server then reads, exactly (MSG_WAITALL).
    line_with(&o, &["server | setsockopt(", "SO_RCVBUF, [65536], 4) = 0"]);
    line_with(&o, &["client | setsockopt(", "SO_SNDBUF, [65536], 4) = 0"]);
    let ret = |l: &str| {
        l.rsplit_once(" = ")
            .map_or(0, |(_, n)| n.parse().unwrap_or(0))
    };
    let io: Vec<&str> = o
        .stdout
        .lines()
        .filter(|l| l.contains("| sendto(") || l.contains("| recvfrom("))
        .collect();
    assert!(
        io.len() >= 4 && io[0].contains(", 524288, 0, NULL, 0) = ") && ret(io[0]) < 524288,
        "{}",
        o.dump()
    );
    for p in io.chunks(2) {
        let n = ret(p[0]);
        let read = format!(", {n}, MSG_WAITALL, NULL, NULL) = {n}");
        assert!(
            p[0].starts_with("client | sendto(")
                && p[1].starts_with("server | recvfrom(")
                && p[1].ends_with(&read),
            "{p:?}"
        );
    }
    o.stdout_has("server | # received 524288 bytes, in order");
}
