//! A bounded fuzz of every parser and renderer bad input reaches: the
//! address parsers, `--sockopt` values, `--pause-*` values, strace's string
//! quoting and sockaddr decoding, and the whole command line (clap's parse,
//! in-process: no syscall is made). No dependency: a deterministic xorshift
//! generator mixes structured inputs (near-valid forms, mutated) with random
//! bytes.
//!
//! Properties: no panic, no input takes more than a second, an accepted
//! address prints in a form that parses back to the same address, and a
//! refused one has a one-line reason.
//!
//! `make test` runs each target for a fraction of a second (about 3 s in
//! all); `make fuzz` sets SOCKLAB_FUZZ_SECS (seconds per target) for a
//! longer run. SOCKLAB_FUZZ_SEED picks another seed. The counts are printed
//! (`cargo test --test suite -- reliability::fuzz:: --nocapture`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
#![allow(clippy::disallowed_types, clippy::disallowed_methods)]

mod decoders;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

use clap::Parser;
use socklab::cli::Cli;
use socklab::values::addr::Addr;

/// Marsaglia's xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn new(salt: u64) -> Rng {
        let seed = std::env::var("SOCKLAB_FUZZ_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0x5eed_50c1_ab00_0001u64);
        Rng((seed ^ salt.wrapping_mul(0x9e37_79b9_7f4a_7c15)) | 1)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }

    /// A string: printable ASCII, separators that matter to the parsers,
    /// NUL, control bytes and multi-byte characters.
    fn string(&mut self, max: usize) -> String {
        const ATOMS: &[&str] = &[
            ":",
            "[",
            "]",
            "@",
            "=",
            ".",
            "-",
            "+",
            "0",
            "1",
            "9",
            "65535",
            "65536",
            "::",
            "::1",
            "127.0.0.1",
            "localhost",
            "/",
            "\0",
            "\n",
            " ",
            "%",
            "x",
            "SO_",
            "on",
            "off",
            "\u{661}",
            "\u{fffd}",
            "é",
            "\u{7f}",
            "e9",
            "1e3",
            "nan",
            "inf",
        ];
        let n = self.below(max + 1);
        let mut s = String::new();
        while s.len() < n {
            if self.below(3) == 0 {
                s.push(char::from(32 + self.below(95) as u8));
            } else {
                s.push_str(self.pick(ATOMS));
            }
        }
        s
    }

    /// Mutate a valid form: delete, duplicate, insert or replace a piece.
    fn mutate(&mut self, valid: &str) -> String {
        let mut chars: Vec<char> = valid.chars().collect();
        for _ in 0..=self.below(3) {
            let at = self.below(chars.len() + 1);
            match self.below(4) {
                0 if at < chars.len() => {
                    chars.remove(at);
                }
                1 if at < chars.len() => {
                    let c = chars[at];
                    chars.insert(at, c);
                }
                2 => {
                    let piece: Vec<char> = self.string(4).chars().collect();
                    chars.splice(at..at, piece);
                }
                _ if at < chars.len() => {
                    chars[at] = char::from(self.next() as u8 & 0x7f);
                }
                _ => {}
            }
        }
        chars.into_iter().collect()
    }
}

/// How long each target runs: SOCKLAB_FUZZ_SECS (make fuzz), or a short
/// bound for make test.
fn budget() -> Duration {
    std::env::var("SOCKLAB_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or(Duration::from_millis(400), Duration::from_secs_f64)
}

/// Feed `target` generated inputs until the budget is spent; a panic or an
/// input slower than a second fails with the input shown.
fn fuzz<T: std::fmt::Debug>(
    name: &str,
    salt: u64,
    mut gen_input: impl FnMut(&mut Rng) -> T,
    target: impl Fn(&T),
) {
    let mut rng = Rng::new(salt);
    let end = Instant::now() + budget();
    let mut cases = 0u64;
    while Instant::now() < end || cases < 1000 {
        let input = gen_input(&mut rng);
        let t0 = Instant::now();
        if catch_unwind(AssertUnwindSafe(|| target(&input))).is_err() {
            panic!("{name}: panicked on input {input:?}");
        }
        assert!(
            t0.elapsed() < Duration::from_secs(1),
            "{name}: {input:?} took {:?}",
            t0.elapsed()
        );
        cases += 1;
    }
    println!("fuzz {name}: {cases} inputs, no panic, no hang");
}

const INET: &[&str] = &[
    "127.0.0.1:8081",
    ":0",
    "localhost:80",
    "[::1]:9",
    "0.0.0.0:65535",
    "[fe80::1]:1",
    "10.0.0.1:53",
];

fn inet_input(rng: &mut Rng) -> String {
    match rng.below(3) {
        0 => rng.string(40),
        1 => {
            let v = rng.pick(INET);
            rng.mutate(v)
        }
        _ => String::from_utf8_lossy(&rng.bytes(40)).into_owned(),
    }
}

#[test]
fn inet_addresses_parse_or_refuse_and_round_trip() {
    fuzz("parse_inet", 1, inet_input, |s| match Addr::parse_inet(s) {
        Ok(a) => {
            let shown = a.to_string();
            let again = Addr::parse_inet(&shown)
                .unwrap_or_else(|e| panic!("{s:?} printed as {shown:?}, which fails: {e}"));
            assert_eq!(again.to_string(), shown, "{s:?}");
            assert_eq!(again.strace(), a.strace(), "{s:?}");
        }
        Err(e) => assert!(!e.contains('\n') && !e.is_empty(), "{s:?}: {e:?}"),
    });
}

#[test]
fn unix_addresses_parse_or_refuse() {
    fuzz(
        "parse_unix",
        2,
        |rng| {
            let base = rng.pick(&["/tmp/x.sock", "@lab", "rel/path", "/", "@"]);
            match rng.below(4) {
                0 => rng.string(130),
                1 => rng.mutate(base),
                2 => format!("{base}{}", "y".repeat(rng.below(120))),
                _ => String::from_utf8_lossy(&rng.bytes(120)).into_owned(),
            }
        },
        |s| match Addr::parse_unix(s) {
            Ok(a) => {
                assert!(a.is_unix());
                assert!(s.len() <= socklab::values::addr::UNIX_PATH_MAX, "{s:?}");
                // A path is never silently cut at a NUL byte; its bytes
                // print as given (Display escapes control characters).
                if !s.starts_with('@') {
                    assert_eq!(a.shown_bytes(), s.as_bytes(), "{s:?}");
                }
                let _ = a.strace();
                let _ = a.kernel_len();
            }
            Err(e) => assert!(!e.contains('\n') && !e.is_empty(), "{s:?}: {e:?}"),
        },
    );
}

#[test]
fn sockopt_settings_parse_or_refuse() {
    const NAMES: &[&str] = &[
        "SO_RCVBUF",
        "SO_SNDBUF",
        "SO_LINGER",
        "SO_REUSEADDR",
        "SO_RCVTIMEO",
        "SO_KEEPALIVE",
        "TCP_NODELAY",
        "SOL_SOCKET:7",
        "6:1",
        "SO_TYPE",
        "so_rcvbuf",
    ];
    const VALUES: &[&str] = &[
        "1",
        "0",
        "on",
        "off",
        "on:5",
        "on:-1",
        "4096",
        "-1",
        "2147483648",
        "0.5",
        "1e9",
        "1e10",
        "nan",
        "",
    ];
    fuzz(
        "parse_setting",
        3,
        |rng| match rng.below(3) {
            0 => rng.string(40),
            1 => {
                let phase = rng.pick(&["", "@accepted", "@connected", "@x", "@"]);
                let (n, v) = (rng.pick(NAMES), rng.pick(VALUES));
                format!("{n}={v}{phase}")
            }
            _ => {
                let (n, v) = (rng.pick(NAMES), rng.pick(VALUES));
                rng.mutate(&format!("{n}={v}"))
            }
        },
        |s| match socklab::cli::parse_sockopt(s) {
            Ok(setting) => {
                let _ = setting.to_string();
                let _ = setting.value.strace(setting.opt.kind);
            }
            Err(e) => assert!(!e.contains('\n') && !e.is_empty(), "{s:?}: {e:?}"),
        },
    );
}

#[test]
fn pause_values_parse_or_refuse() {
    fuzz(
        "parse_pause",
        4,
        |rng| match rng.below(2) {
            0 => rng.string(30),
            _ => {
                let v = rng.pick(&["accept4", "listen:1", "close:0.5", "poll:3600"]);
                rng.mutate(v)
            }
        },
        |s| {
            if let Err(e) = socklab::cli::parse_pause(s) {
                assert!(!e.contains('\n') && !e.is_empty(), "{s:?}: {e:?}");
            }
        },
    );
}
