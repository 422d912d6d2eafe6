//! `socklab bench`'s command line.

use std::time::Duration;

use clap::{Args, Subcommand};

use super::{Opts, Test};
use crate::values::addr::Addr;

#[derive(Subcommand, Debug)]
pub enum BenchCommand {
    /// Request/response: each connection sends SIZE bytes and reads SIZE bytes back, one request in flight; transactions/s and latency percentiles.
    Rr {
        #[command(flatten)]
        common: BenchArgs,
        /// Connections, each with one request in flight (many thousands: RLIMIT_NOFILE is raised as they need, and said so; over ~28,000 to one server: --source).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
        conns: u32,
        /// Bytes per request (and per reply).
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=(64 << 20)))]
        size: u32,
        /// Stop after N transactions (default: run for --duration).
        #[arg(long, value_name = "N", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
    },
    /// One-way bulk transfer on one connection (pair with `tcp server --sink`): Gbit/s.
    Stream {
        #[command(flatten)]
        common: BenchArgs,
        /// Bytes per sendto.
        #[arg(long, default_value_t = 65536, value_parser = clap::value_parser!(u32).range(1..=(64 << 20)))]
        size: u32,
        /// Stop after sending N bytes (default: run for --duration).
        #[arg(long, value_name = "N", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
        bytes: Option<u64>,
    },
    /// Connections per second: socket, connect, one exchange of SIZE bytes, close.
    Connect {
        #[command(flatten)]
        common: BenchArgs,
        /// Threads connecting side by side.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=1024))]
        conns: u32,
        /// Bytes sent (and read back) on each connection.
        #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u32).range(1..=(64 << 20)))]
        size: u32,
        /// Stop after N connections (default: run for --duration).
        #[arg(long, value_name = "N", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
    },
    /// Datagrams per second and loss against a UDP echo server (HOST:PORT).
    Udp {
        #[command(flatten)]
        common: BenchArgs,
        /// Bytes per datagram (16 or more: each carries its sequence number, for latency).
        #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..=65507))]
        size: u32,
        /// Stop after sending N datagrams (default: run for --duration).
        #[arg(long, value_name = "N", conflicts_with = "duration", value_parser = clap::value_parser!(u64).range(1..))]
        count: Option<u64>,
        /// Datagrams in flight.
        #[arg(long, default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..=4096))]
        window: u32,
        /// Seconds of silence after which the datagrams in flight count as lost.
        #[arg(long, value_name = "SECS", default_value_t = 0.2, value_parser = parse_secs)]
        wait: f64,
        /// Send with sendmmsg and read with recvmmsg, up to N datagrams per call (pair with `udp server --batch N`).
        #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1024))]
        batch: Option<u32>,
    },
}

/// Options of every benchmark.
#[derive(Args, Debug)]
pub struct BenchArgs {
    /// The server: HOST:PORT, [IPV6]:PORT, :PORT, or a UNIX stream socket's /PATH or @NAME.
    #[arg(value_parser = parse_addr)]
    pub addr: Addr,
    /// Run for SECS seconds (the default: 2).
    #[arg(long, value_name = "SECS", value_parser = parse_secs)]
    pub duration: Option<f64>,
    /// Print one JSON object instead of text.
    #[arg(long)]
    pub json: bool,
    /// Run the client on CPU N only (sched_setaffinity).
    #[arg(long, value_name = "CPU", value_parser = clap::value_parser!(u32).range(0..1024))]
    pub pin: Option<u32>,
    /// Connect from these local addresses, round robin (FIRST-LAST, an IPv4 range, or ADDR,ADDR,...): each connection binds one (port 0) before connect, and each address has its own ephemeral port range (100,000 connections: --source 127.0.0.2-127.0.0.9).
    #[arg(long, value_name = "ADDRS", value_parser = super::source::parse_sources)]
    pub source: Option<super::source::Sources>,
    /// Give up (exit 1) when a connect does not complete within SECS: the server is not accepting (non-blocking connect, then poll).
    #[arg(long, value_name = "SECS", default_value_t = 3.0, value_parser = parse_secs)]
    pub connect_timeout: f64,
}

fn parse_addr(s: &str) -> Result<Addr, String> {
    if s.starts_with('/') || s.starts_with('@') || s.starts_with('.') {
        Addr::parse_unix(s)
    } else {
        Addr::parse_inet(s)
    }
}

fn parse_secs(s: &str) -> Result<f64, String> {
    match s.parse::<f64>() {
        Ok(v) if v.is_finite() && (0.001..=86400.0).contains(&v) => Ok(v),
        _ => Err(format!("'{s}' is not a number of seconds (0.001 to 86400)")),
    }
}

impl BenchCommand {
    pub fn opts(&self) -> Opts {
        let (test, common, conns, size, count, bytes, window, wait) = match self {
            BenchCommand::Rr {
                common,
                conns,
                size,
                count,
            } => (Test::Rr, common, *conns, *size, *count, None, 1, 0.2),
            BenchCommand::Stream {
                common,
                size,
                bytes,
            } => (Test::Stream, common, 1, *size, None, *bytes, 1, 0.2),
            BenchCommand::Connect {
                common,
                conns,
                size,
                count,
            } => (Test::Connect, common, *conns, *size, *count, None, 1, 0.2),
            BenchCommand::Udp {
                common,
                size,
                count,
                window,
                wait,
                ..
            } => (Test::Udp, common, 1, *size, *count, None, *window, *wait),
        };
        Opts {
            test,
            addr: common.addr,
            conns: conns as usize,
            size: size as usize,
            count,
            bytes,
            duration: Duration::from_secs_f64(common.duration.unwrap_or(2.0)),
            json: common.json,
            pin: common.pin.map(|c| c as usize),
            window: window as usize,
            wait: Duration::from_secs_f64(wait),
            connect_timeout: Duration::from_secs_f64(common.connect_timeout),
            source: common.source.clone().map(|s| s.0).unwrap_or_default(),
            batch: match self {
                BenchCommand::Udp { batch, .. } => batch.map(|n| n as usize),
                _ => None,
            },
        }
    }
}
