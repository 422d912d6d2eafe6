//! `--trace-time`: strace's `-t`, `-tt`, `-ttt`, `-r` and `-T` on each
//! text trace line (programs, labs, scripts, demo), in strace's formats:
//!
//! - `t`: `10:11:12 `, `tt`: `10:11:12.123456 `, `ttt`: `1700000000.123456 `
//!   (the wall clock, UTC: socklab reads no time zone file, which would be
//!   a call the trace does not show; strace prints the local time);
//! - `r`: `     0.000123 `, the time since the previous line (`%6ld.%06ld`);
//!   with a clock, `10:11:12.123456 (+     0.000123) ` as strace -tt -r;
//! - `T`: ` <0.000045>` after the result, the time the call took (on a
//!   whole line and on a `<... NAME resumed>` line, not on its
//!   `<unfinished ...>` line).
//!
//! A line's time is its call's entry (a resumed line: its return). The
//! stamp goes after the line's tag (`server | `, strace's `[pid N] `).
//! Set once for the process ([`set`]); every text tracer made after
//! reads it.

use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// strace's clock prefix: none, `-t`, `-tt`, `-ttt`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Clock {
    #[default]
    None,
    Secs,
    Micros,
    Epoch,
}

/// What `--trace-time` asked for (`tt,T`: strace -tt -T).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TraceTime {
    pub clock: Clock,
    /// `-r`: the time since the previous line.
    pub relative: bool,
    /// `-T`: the time the call took, after its result.
    pub took: bool,
}

impl TraceTime {
    /// `t`, `tt`, `ttt`, `r`, `T`, joined by commas (`tt,T`).
    pub fn parse(s: &str) -> Result<TraceTime, String> {
        let mut t = TraceTime::default();
        for word in s.split(',').map(str::trim) {
            let clock = match word {
                "t" => Clock::Secs,
                "tt" => Clock::Micros,
                "ttt" => Clock::Epoch,
                "r" => {
                    t.relative = true;
                    continue;
                }
                "T" => {
                    t.took = true;
                    continue;
                }
                _ => {
                    return Err(format!(
                        "'{word}' is not a time format: t (10:11:12), tt (10:11:12.123456), \
                         ttt (1700000000.123456), r (relative) or T (time taken), \
                         joined by commas (tt,T) as strace's -t, -tt, -ttt, -r, -T"
                    ));
                }
            };
            if t.clock != Clock::None && t.clock != clock {
                return Err("give one of t, tt and ttt".to_string());
            }
            t.clock = clock;
        }
        Ok(t)
    }
}

/// The stamps of one process's trace lines (`-r` counts from the last).
pub struct Stamps {
    time: TraceTime,
    /// The previous line's time: none before the first line, which
    /// strace -r stamps `0.000000` (it counts from its own previous
    /// line, not from the start).
    last: Mutex<Option<SystemTime>>,
}

static TIME: OnceLock<Arc<Stamps>> = OnceLock::new();

/// `--trace-time` for this process's text trace lines (once, at start).
pub fn set(time: TraceTime) {
    let _ = TIME.set(Arc::new(Stamps {
        time,
        last: Mutex::new(None),
    }));
}

/// The stamps asked for, if any.
pub fn stamps() -> Option<Arc<Stamps>> {
    TIME.get().cloned()
}

impl Stamps {
    /// The prefix of a line whose time is `at` (empty for none).
    pub fn prefix(&self, at: SystemTime) -> String {
        let since = at.duration_since(UNIX_EPOCH).unwrap_or_default();
        let (secs, micros) = (since.as_secs(), since.subsec_micros());
        let (h, m, s) = ((secs / 3600) % 24, (secs / 60) % 60, secs % 60);
        let clock = match self.time.clock {
            Clock::None => String::new(),
            Clock::Secs => format!("{h:02}:{m:02}:{s:02} "),
            Clock::Micros => format!("{h:02}:{m:02}:{s:02}.{micros:06} "),
            Clock::Epoch => format!("{secs}.{micros:06} "),
        };
        if !self.time.relative {
            return clock;
        }
        let mut last = match self.last.lock() {
            Ok(l) => l,
            Err(p) => p.into_inner(),
        };
        // Once several tasks print (`open_line.rs`), the last line of
        // any of them, forked children too; before, this process's.
        let shared = super::open_line::last_stamp()
            .map(|a| a.fetch_max(since.as_micros() as u64, Ordering::SeqCst))
            .filter(|&us| us != 0)
            .map(|us| UNIX_EPOCH + Duration::from_micros(us));
        let previous = shared.or(*last).unwrap_or(at);
        let d = at.duration_since(previous).unwrap_or_default();
        *last = Some(at.max(previous));
        let rel = format!("{:6}.{:06}", d.as_secs(), d.subsec_micros());
        match self.time.clock {
            Clock::None => format!("{rel} "),
            _ => format!("{clock}(+{rel}) "),
        }
    }

    /// The suffix of a line whose call took `took` (` <0.000045>`).
    pub fn suffix(&self, took: Duration) -> String {
        if self.time.took {
            format!(" <{}.{:06}>", took.as_secs(), took.subsec_micros())
        } else {
            String::new()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stamps(s: &str) -> Stamps {
        Stamps {
            time: TraceTime::parse(s).unwrap(),
            last: Mutex::new(Some(
                UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_000),
            )),
        }
    }

    #[test]
    fn formats_as_strace() {
        // 1700000000 is 2023-11-14 22:13:20 UTC.
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_123_456);
        assert_eq!(stamps("t").prefix(at), "22:13:20 ");
        assert_eq!(stamps("tt").prefix(at), "22:13:20.123456 ");
        assert_eq!(stamps("ttt").prefix(at), "1700000000.123456 ");
        let r = stamps("r");
        let next = UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_123);
        assert_eq!(r.prefix(next), "     0.000123 ");
        assert_eq!(r.prefix(next), "     0.000000 ");
        let tr = stamps("tt,r");
        assert_eq!(tr.prefix(next), "22:13:20.000123 (+     0.000123) ");
        assert_eq!(stamps("T").suffix(Duration::from_micros(45)), " <0.000045>");
        assert_eq!(stamps("tt").suffix(Duration::from_micros(45)), "");
        assert_eq!(stamps("T").prefix(at), "");
    }

    /// strace -r's first line is `0.000000`: there is no previous line.
    #[test]
    fn the_first_relative_stamp_is_zero() {
        let first = Stamps {
            time: TraceTime::parse("r").unwrap(),
            last: Mutex::new(None),
        };
        let at = UNIX_EPOCH + Duration::from_micros(1_700_000_000_000_123);
        assert_eq!(first.prefix(at), "     0.000000 ");
        let later = at + Duration::from_micros(5);
        assert_eq!(first.prefix(later), "     0.000005 ");
    }

    #[test]
    fn refuses_what_strace_has_not() {
        assert!(TraceTime::parse("t,tt").is_err());
        assert!(TraceTime::parse("x").is_err());
        assert_eq!(
            TraceTime::parse("tt,T").unwrap(),
            TraceTime {
                clock: Clock::Micros,
                relative: false,
                took: true
            }
        );
    }
}
