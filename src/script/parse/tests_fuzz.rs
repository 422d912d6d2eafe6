//! The parser never panics and never overflows its stack: random text
//! and random mutations of valid lines, 100k+ cases (a fixed seed, so a
//! failure repeats), each through `parse_line`, `parse_args` and
//! `split_args`; every error is one line with a column inside the line.

use super::tests_lab::{LAB_ALL, STRACE};
use super::*;

/// xorshift64*: a small, fixed-seed generator.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// Characters of strace's syntax, more often than the rest.
const ALPHABET: &[char] = &[
    '(',
    ')',
    '[',
    ']',
    '{',
    '}',
    '"',
    '\\',
    ',',
    '=',
    '>',
    '<',
    '|',
    '&',
    '@',
    '/',
    '*',
    '#',
    '.',
    ':',
    '+',
    '-',
    ' ',
    ' ',
    '?',
    '~',
    '0',
    '1',
    '7',
    '8',
    '9',
    'x',
    'a',
    'E',
    'N',
    'U',
    'L',
    '_',
    '\t',
    '\r',
    'é',
    '€',
    '\u{1F600}',
    '\0',
];

fn random_char(r: &mut Rng) -> char {
    if r.below(8) == 0 {
        char::from_u32(r.below(0x11_0000) as u32).unwrap_or('?')
    } else {
        ALPHABET[r.below(ALPHABET.len())]
    }
}

fn random_text(r: &mut Rng) -> String {
    let n = r.below(60);
    (0..n).map(|_| random_char(r)).collect()
}

fn mutate(r: &mut Rng, line: &str) -> String {
    let mut cs: Vec<char> = line.chars().collect();
    for _ in 0..1 + r.below(2) {
        let at = r.below(cs.len() + 1);
        match r.below(5) {
            0 if !cs.is_empty() => {
                let end = (at + 1 + r.below(8)).min(cs.len());
                cs.drain(at.min(end)..end);
            }
            1 => cs.insert(at, random_char(r)),
            2 if at < cs.len() => cs[at] = random_char(r),
            3 => {
                let end = (at + r.below(20)).min(cs.len());
                let piece: Vec<char> = cs[at.min(end)..end].to_vec();
                let to = r.below(cs.len() + 1);
                cs.splice(to..to, piece);
            }
            _ => cs.truncate(at),
        }
    }
    cs.into_iter().collect()
}

fn check(no: usize, text: &str) {
    let width = text.chars().count() + 1;
    let ok = |e: &ParseError| {
        assert!(e.col >= 1 && e.col <= width, "{text:?}: {e:?}");
        assert!(
            !e.msg.is_empty() && !e.msg.contains('\n'),
            "{text:?}: {e:?}"
        );
    };
    match parse_line(no, text) {
        Ok(Some(l)) => {
            assert_eq!(l.no, no);
            assert!(l.call.name_span.col <= width, "{text:?}");
        }
        Ok(None) => {}
        Err(e) => {
            assert_eq!(e.line, no);
            ok(&e);
        }
    }
    if let Err(e) = parse_args(text) {
        ok(&e);
    }
    for r in split_args(text) {
        assert!(text.get(r.clone()).is_some(), "{text:?}: {r:?}");
    }
}

#[test]
fn fuzz_never_panics() {
    let valid: Vec<&str> = LAB_ALL.lines().chain(STRACE.lines()).collect();
    let mut r = Rng(0x9e37_79b9_7f4a_7c15);
    let mut errors = 0;
    let mut calls = 0;
    let n = 120_000;
    for i in 0..n {
        let text = if i % 3 == 0 {
            random_text(&mut r)
        } else {
            let pick = valid[r.below(valid.len())];
            mutate(&mut r, pick)
        };
        check(i + 1, &text);
        match parse_line(1, &text) {
            Err(_) => errors += 1,
            Ok(Some(_)) => calls += 1,
            Ok(None) => {}
        }
    }
    // The mutations reach both outcomes, many times.
    assert!(
        errors > n / 10 && calls > n / 10,
        "errors {errors}, calls {calls}"
    );
    // Whole texts: every error of every line comes back.
    let text: String = (0..200)
        .map(|_| {
            let pick = valid[r.below(valid.len())];
            mutate(&mut r, pick) + "\n"
        })
        .collect();
    if let Err(es) = parse(&text) {
        assert!(es.windows(2).all(|w| w[0].line < w[1].line));
    }
}

#[test]
fn long_lines_take_linear_time() {
    // Quadratic work on these would take minutes, not milliseconds.
    let n = 200_000;
    let line = format!("f({}) = 0", "[\"é\", {a=\"x\"}, 0x1|B], ".repeat(n));
    let l = parse_line(1, &line).unwrap().unwrap();
    assert_eq!(l.call.args.len(), n);
    assert_eq!(l.call.result.unwrap().span.col, line.chars().count());
    let bad = format!("{}é", "[".repeat(30)).repeat(n / 30);
    assert!(parse_args(&bad).is_err());
    assert_eq!(split_args(&"a, ".repeat(n)).len(), n);
}
