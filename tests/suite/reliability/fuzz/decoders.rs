//! Fuzz of the decoders: strace quoting and sockaddrs, command lines, line framing, packets.

use super::*;

#[test]
fn strace_quoting_and_sockaddr_decoding_take_any_bytes() {
    fuzz(
        "quote+sockaddr",
        5,
        |rng| (rng.bytes(300), rng.below(200), rng.next()),
        |(bytes, max, fam)| {
            let q = socklab::strace::quote(bytes, *max);
            assert!(q.starts_with('"'), "{q}");
            assert!(
                q.bytes().all(|b| (0x20..0x7f).contains(&b)),
                "quoted output is printable ASCII: {q}"
            );
            let _ = socklab::output::shown(bytes);
            // SAFETY: a zeroed sockaddr_storage is valid; we fill it with bytes.
            let mut ss: libc::sockaddr_storage = unsafe { std::mem::zeroed() };
            let raw = &mut ss as *mut _ as *mut u8;
            let size = std::mem::size_of::<libc::sockaddr_storage>();
            for (i, b) in bytes.iter().take(size).enumerate() {
                // SAFETY: i < size of the storage.
                unsafe { *raw.add(i) = *b };
            }
            // A family the decoders know, most of the time.
            ss.ss_family = match fam % 4 {
                0 => libc::AF_INET as libc::sa_family_t,
                1 => libc::AF_INET6 as libc::sa_family_t,
                2 => libc::AF_UNIX as libc::sa_family_t,
                _ => (*fam >> 8) as libc::sa_family_t,
            };
            let len = (*fam >> 16) as libc::socklen_t % (size as libc::socklen_t + 20);
            let _ = socklab::strace::sockaddr(&ss, len);
            let a = Addr::from_raw(ss, len.min(size as libc::socklen_t));
            let _ = a.to_string();
            let _ = a.unix_path();
        },
    );
}

/// Whole command lines through clap and the value parsers, in-process.
#[test]
fn command_lines_parse_or_refuse_in_one_line() {
    const WORDS: &[&str] = &[
        "tcp",
        "udp",
        "unix",
        "server",
        "client",
        "demo",
        "sockopt",
        "list",
        "--trace",
        "--trace=json",
        "--backlog",
        "--bufsize",
        "--once",
        "--max-conns",
        "--naive",
        "--lines",
        "--timeout",
        "--nonblocking",
        "--sockopt",
        "--size",
        "-m",
        "--dgram",
        "--connect",
        "--shutdown",
        "--send-mode",
        "--pause-before",
        "--rcvtimeo",
        "5",
        "0",
        "-1",
        "1e3",
        ":0",
        "[::1]:0",
        "/tmp/x.sock",
        "@n",
        "SO_RCVBUF=1",
        "send",
        "",
        "--",
        "-",
        "--help",
    ];
    fuzz(
        "cli",
        6,
        |rng| {
            let n = rng.below(7);
            let mut args = vec!["socklab".to_string()];
            for _ in 0..n {
                args.push(if rng.below(5) == 0 {
                    rng.string(12)
                } else {
                    rng.pick(WORDS).to_string()
                });
            }
            args
        },
        |args| {
            if let Err(e) = Cli::try_parse_from(args) {
                let text = e.render().to_string();
                let first = text.lines().next().unwrap_or("");
                assert!(!first.is_empty() || text.is_empty(), "{args:?}: {text}");
            }
        },
    );
}

/// The line framing (`--lines`, Python's makefile) over a real socket: one
/// server, many connections, each sending random bytes with random
/// newlines in random chunks (TCP_NODELAY, so the server's recv calls split
/// them anywhere). Property: the replies are exactly each line upper-cased
/// with its `\n` (a last line without one gets one), nothing lost, nothing
/// merged, whatever the split and whatever `--bufsize`.
#[test]
fn line_framing_over_a_socket_survives_any_split() {
    use std::io::{Read, Write};
    let mut rng = Rng::new(7);
    let conns = std::env::var("SOCKLAB_FUZZ_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .map_or(300, |secs| (secs * 200.0) as u64);
    for bufsize in ["1", "7", "1024"] {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_socklab"));
        cmd.args([
            "tcp",
            "server",
            "127.0.0.1:0",
            "--lines",
            "-q",
            "--bufsize",
            bufsize,
        ])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null());
        let mut srv = cmd.spawn().unwrap();
        let mut out = std::io::BufReader::new(srv.stdout.take().unwrap());
        let mut line = String::new();
        std::io::BufRead::read_line(&mut out, &mut line).unwrap();
        let addr = line.trim().trim_start_matches("listening on ").to_string();
        // The server's per-recv lines go nowhere we read: drain them.
        std::thread::spawn(move || std::io::copy(&mut out, &mut std::io::sink()));
        for _ in 0..conns / 3 {
            let n = rng.below(600);
            let data: Vec<u8> = (0..n)
                .map(|_| match rng.below(6) {
                    0 => b'\n',
                    _ => rng.next() as u8,
                })
                .collect();
            let mut expect = Vec::new();
            let mut lines: Vec<&[u8]> = data.split(|&b| b == b'\n').collect();
            if lines.last().is_some_and(|l| l.is_empty()) {
                lines.pop();
            }
            for l in lines {
                expect.extend_from_slice(&l.to_ascii_uppercase());
                expect.push(b'\n');
            }
            let mut s = std::net::TcpStream::connect(&addr).unwrap();
            s.set_nodelay(true).unwrap();
            s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
            let w = s.try_clone().unwrap();
            let chunks: Vec<usize> = (0..data.len()).map(|_| 1 + rng.below(40)).collect();
            let writer = std::thread::spawn(move || {
                let mut w = w;
                let mut at = 0;
                for c in chunks {
                    if at >= data.len() {
                        break;
                    }
                    let end = (at + c).min(data.len());
                    w.write_all(&data[at..end]).unwrap();
                    at = end;
                }
                w.shutdown(std::net::Shutdown::Write).unwrap();
            });
            let mut got = Vec::new();
            s.read_to_end(&mut got).unwrap();
            writer.join().unwrap();
            assert_eq!(
                String::from_utf8_lossy(&got),
                String::from_utf8_lossy(&expect),
                "--bufsize {bufsize}"
            );
        }
        let _ = srv.kill();
        let _ = srv.wait();
    }
    println!("fuzz line framing: {conns} connections, replies exact");
}

/// An Ethernet frame of the kinds `--wire` sees on `lo`: IPv4 or IPv6,
/// carrying TCP, UDP, ICMP or ICMPv6 (an ICMP error quoting a packet), with
/// lengths that may lie. Returns the frame and, when it is well formed
/// TCP or UDP, the ports put in it.
fn frame(rng: &mut Rng) -> (Vec<u8>, Option<(u16, u16)>) {
    let v6 = rng.below(2) == 0;
    let proto: u8 = match rng.below(4) {
        0 => 6,
        1 => 17,
        _ if v6 => 58,
        _ => 1,
    };
    let (sport, dport) = (rng.next() as u16, rng.next() as u16);
    let payload = rng.bytes(64);
    let mut l4 = Vec::new();
    l4.extend_from_slice(&sport.to_be_bytes());
    l4.extend_from_slice(&dport.to_be_bytes());
    match proto {
        6 => {
            l4.extend_from_slice(&(rng.next() as u32).to_be_bytes()); // seq
            l4.extend_from_slice(&(rng.next() as u32).to_be_bytes()); // ack
            let doff = if rng.below(8) == 0 {
                rng.below(16) as u8
            } else {
                5
            };
            l4.push(doff << 4);
            l4.push(rng.next() as u8); // flags
            l4.extend_from_slice(&[0xff, 0xff, 0, 0, 0, 0]); // window, sum, urg
        }
        17 => {
            let len = (8 + payload.len()) as u16;
            l4.extend_from_slice(&len.to_be_bytes());
            l4.extend_from_slice(&[0, 0]);
        }
        _ => {
            // ICMP: type, code, checksum, unused, then a quoted IPv4 header.
            l4 = vec![3, 3, 0, 0, 0, 0, 0, 0, 0x45];
            l4.extend_from_slice(&rng.bytes(30));
        }
    }
    l4.extend_from_slice(&payload);
    let mut ip = Vec::new();
    if v6 {
        ip.extend_from_slice(&[0x60, 0, 0, 0]);
        ip.extend_from_slice(&(l4.len() as u16).to_be_bytes());
        ip.push(proto);
        ip.push(64);
        ip.extend_from_slice(&[0; 15]);
        ip.push(1);
        ip.extend_from_slice(&[0; 15]);
        ip.push(1);
    } else {
        ip.push(0x45);
        ip.push(0);
        ip.extend_from_slice(&((20 + l4.len()) as u16).to_be_bytes());
        ip.extend_from_slice(&[0, 0, 0x40, 0, 64, proto, 0, 0, 127, 0, 0, 1, 127, 0, 0, 1]);
    }
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&(if v6 { 0x86ddu16 } else { 0x0800 }).to_be_bytes());
    f.extend_from_slice(&ip);
    f.extend_from_slice(&l4);
    let well_formed =
        matches!(proto, 6 | 17) && (proto != 6 || f[f.len() - l4.len() + 12] >> 4 == 5);
    (f, well_formed.then_some((sport, dport)))
}

/// The packet decoder of `--wire` (src/wire/decode.rs), on frames of every
/// kind it handles, mutated, cut short, with lying lengths, and on random
/// bytes: no panic, no hang; a well-formed TCP or UDP frame gives back its
/// ports; the tcpdump rendering and a pcap record of any frame work.
#[test]
fn packet_decoder_takes_any_frame() {
    use socklab::wire::decode;
    fuzz(
        "wire decode",
        8,
        |rng| {
            let (mut f, ports) = frame(rng);
            match rng.below(4) {
                0 => (f, ports),
                1 => {
                    let cut = rng.below(f.len() + 1);
                    f.truncate(cut);
                    (f, None)
                }
                2 => {
                    for _ in 0..=rng.below(4) {
                        let i = rng.below(f.len());
                        f[i] = rng.next() as u8;
                    }
                    (f, None)
                }
                _ => (rng.bytes(200), None),
            }
        },
        |(f, ports)| {
            let p = decode::decode(f);
            if let Some(ports) = ports {
                assert_eq!(p.ports(), Some(*ports), "{f:02x?}");
            }
            let _ = p.tcpdump(None);
            let _ = p.tcpdump(Some((1, 2)));
            let _ = p.tcp();
            let _ =
                socklab::wire::pcap::record(Duration::from_micros(f.len() as u64), f, f.len() + 3);
        },
    );
}
