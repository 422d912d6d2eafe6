//! What a benchmark run measured, and how it is printed: a few text lines,
//! or one JSON object with `--json`.

use std::fmt::Write;

use crate::sys::CpuTime;

/// Latency percentiles in microseconds.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Latency {
    pub p50: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Latency {
    /// From samples in nanoseconds (sorted here); None when there are none.
    pub fn from_ns(samples: &mut [u64]) -> Option<Latency> {
        if samples.is_empty() {
            return None;
        }
        samples.sort_unstable();
        let at = |q: f64| {
            // Nearest rank: the smallest sample with at least q of all at or below it.
            let rank = (q * samples.len() as f64).ceil() as usize;
            samples[rank.clamp(1, samples.len()) - 1] as f64 / 1e3
        };
        Some(Latency {
            p50: at(0.50),
            p99: at(0.99),
            p999: at(0.999),
            max: samples[samples.len() - 1] as f64 / 1e3,
        })
    }
}

/// One run's result.
#[derive(Clone, Debug, Default)]
pub struct Report {
    pub test: &'static str,
    pub addr: String,
    pub conns: usize,
    pub size: usize,
    /// Completed transactions: echoes (rr), connections (connect), writes
    /// (stream), datagrams answered (udp).
    pub transactions: u64,
    pub seconds: f64,
    pub bytes: u64,
    pub latency: Option<Latency>,
    pub cpu: CpuTime,
    /// udp: datagrams sent, answered, given up on.
    pub udp: Option<(u64, u64, u64)>,
    /// rr: the connections that completed at least one transaction.
    pub echoed: Option<usize>,
    /// udp: the syscalls of the load loop (sends, polls, reads).
    pub syscalls: Option<u64>,
}

impl Report {
    pub fn rate(&self) -> f64 {
        if self.seconds > 0.0 {
            self.transactions as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn gbit_per_s(&self) -> f64 {
        if self.seconds > 0.0 {
            self.bytes as f64 * 8.0 / self.seconds / 1e9
        } else {
            0.0
        }
    }

    fn cpu_us_per_transaction(&self) -> f64 {
        if self.transactions == 0 {
            return 0.0;
        }
        (self.cpu.user + self.cpu.system) * 1e6 / self.transactions as f64
    }

    fn unit(&self) -> &'static str {
        match self.test {
            "connect" => "connections",
            "stream" => "writes",
            "udp" => "datagrams",
            _ => "transactions",
        }
    }

    pub fn text(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(
            s,
            "{} {}: {} conns, {}-byte messages, {} {} in {:.3} s",
            self.test,
            self.addr,
            self.conns,
            self.size,
            self.transactions,
            self.unit(),
            self.seconds
        );
        let _ = writeln!(s, "  rate: {:.0} {}/s", self.rate(), self.unit());
        if let Some(n) = self.echoed {
            let _ = writeln!(
                s,
                "  connections: {n} of {} completed a transaction",
                self.conns
            );
        }
        if self.test == "stream" {
            let _ = writeln!(
                s,
                "  throughput: {:.3} Gbit/s ({} bytes)",
                self.gbit_per_s(),
                self.bytes
            );
        }
        if let Some((sent, answered, lost)) = self.udp {
            let loss = if sent > 0 {
                lost as f64 * 100.0 / sent as f64
            } else {
                0.0
            };
            let _ = writeln!(
                s,
                "  datagrams: {sent} sent, {answered} answered, {lost} lost ({loss:.2}%)"
            );
        }
        if let Some(calls) = self.syscalls {
            let _ = writeln!(
                s,
                "  syscalls: {calls}, {:.3} per datagram answered",
                calls as f64 / self.transactions.max(1) as f64
            );
        }
        if let Some(l) = self.latency {
            let _ = writeln!(
                s,
                "  latency: p50 {:.1} us, p99 {:.1} us, p99.9 {:.1} us, max {:.1} us",
                l.p50, l.p99, l.p999, l.max
            );
        }
        let _ = writeln!(
            s,
            "  client cpu: user {:.3} s, sys {:.3} s ({:.2} us per {})",
            self.cpu.user,
            self.cpu.system,
            self.cpu_us_per_transaction(),
            self.unit().trim_end_matches('s')
        );
        s
    }

    pub fn json(&self) -> String {
        let mut s = format!(
            "{{\"test\":\"{}\",\"addr\":{},\"conns\":{},\"size\":{},\"transactions\":{},\"seconds\":{:.6},\"rate\":{:.3},\"bytes\":{},\"gbit_per_s\":{:.6}",
            self.test,
            crate::strace::json_str(&self.addr),
            self.conns,
            self.size,
            self.transactions,
            self.seconds,
            self.rate(),
            self.bytes,
            self.gbit_per_s()
        );
        match self.latency {
            Some(l) => {
                let _ = write!(
                    s,
                    ",\"latency_us\":{{\"p50\":{:.3},\"p99\":{:.3},\"p999\":{:.3},\"max\":{:.3}}}",
                    l.p50, l.p99, l.p999, l.max
                );
            }
            None => s.push_str(",\"latency_us\":null"),
        }
        let _ = write!(
            s,
            ",\"client_cpu\":{{\"user\":{:.6},\"sys\":{:.6}}}",
            self.cpu.user, self.cpu.system
        );
        if let Some(n) = self.echoed {
            let _ = write!(s, ",\"conns_echoed\":{n}");
        }
        if let Some((sent, answered, lost)) = self.udp {
            let _ = write!(
                s,
                ",\"sent\":{sent},\"answered\":{answered},\"lost\":{lost}"
            );
        }
        if let Some(calls) = self.syscalls {
            let _ = write!(s, ",\"syscalls\":{calls}");
        }
        s.push('}');
        s
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let mut v: Vec<u64> = (1..=1000).map(|i| i * 1000).collect();
        let l = Latency::from_ns(&mut v).unwrap();
        assert_eq!((l.p50, l.p99, l.p999, l.max), (500.0, 990.0, 999.0, 1000.0));
        let mut one = vec![7000];
        let l = Latency::from_ns(&mut one).unwrap();
        assert_eq!((l.p50, l.max), (7.0, 7.0));
        assert!(Latency::from_ns(&mut []).is_none());
    }
}
