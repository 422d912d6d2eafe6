//! When the timeline's lines are printed, and how: a packet line in
//! tcpdump's form (relative sequence numbers), each item once nothing
//! earlier can still arrive (see the rule in `mod.rs`).

use super::*;

impl Timeline {
    /// In a forked child (no capture thread there), or once the timeline
    /// is closed, a line goes straight out.
    pub(super) fn direct(&self, line: &str) -> bool {
        if !self.goes_straight_out() {
            return false;
        }
        let mut w = crate::strace::lock(&self.sink);
        crate::strace::write_line(&mut **w, line);
        true
    }

    fn goes_straight_out(&self) -> bool {
        // Not getpid(2) (a call the program did not make, on every line).
        crate::strace::tasks::forked() || self.closed.load(Ordering::SeqCst)
    }

    /// The end of the run: everything left is printed, and any line
    /// after this (the capture's summary) goes straight out.
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        self.flush(true);
    }

    /// A signal's or an end's line at `at`, stamped as it prints (a
    /// forked child's, or after the close: now).
    pub fn signal_line(&self, at: SystemTime, prefix: String, text: String) {
        if self.goes_straight_out() {
            let line = format!("{prefix}{}{text}", self.stamp(at));
            let mut w = crate::strace::lock(&self.sink);
            crate::strace::write_line(&mut **w, &line);
            return;
        }
        self.lock().items.push(Item::Resumed {
            end: at,
            prefix,
            text,
        });
    }

    /// A line of the program's stdout at `at` (see [`Item::Say`]).
    pub fn say_line(&self, at: SystemTime, line: Vec<u8>) {
        if self.goes_straight_out() {
            let mut w = crate::strace::lock(self.out.as_ref().unwrap_or(&self.sink));
            let _ = w.write_all(&[line.as_slice(), b"\n"].concat());
            let _ = w.flush();
            return;
        }
        self.lock().items.push(Item::Say { at, line });
    }

    /// The line of a kept packet (tcpdump's, relative seq/ack).
    fn packet_line(&self, st: &mut State, ts: SystemTime, p: &Packet) -> String {
        let text = p.tcpdump(st.seq.relative(p));
        if self.json {
            format!(
                "{{\"time\":{:.6},\"side\":\"wire\",\"packet\":{}}}",
                secs(ts),
                json_str(&text)
            )
        } else {
            format!("{WIRE_PREFIX}{text}")
        }
    }

    /// Decide a frame at print time: the program's (by port) or not; if
    /// so, count it, write it to the pcap file and return its line.
    fn decide(
        &self,
        st: &mut State,
        ts: SystemTime,
        frame: &[u8],
        orig_len: usize,
    ) -> Option<String> {
        st.pending = st.pending.saturating_sub(1);
        let p = decode(frame);
        let ours = key(&p).is_some_and(|k| matches(&st.ports, k));
        if !ours {
            return None;
        }
        if st.stats.kept >= MAX_PACKETS {
            st.stats.over_limit += 1;
            return None;
        }
        st.stats.kept += 1;
        if let Some(w) = st.pcap.as_mut()
            && let Err(e) = w.write(ts, frame, orig_len)
        {
            st.pcap_error.get_or_insert(e.to_string());
        }
        let line = self.packet_line(st, ts, &p);
        self.show.then_some(line)
    }

    /// A call's line (`--trace-time` stamped): whole, or (`split`) its
    /// `<unfinished ...>` line, its `<... NAME resumed>` rest queued at
    /// its return time.
    #[allow(clippy::too_many_arguments)]
    fn call_lines(
        &self,
        st: &mut State,
        start: SystemTime,
        end: SystemTime,
        prefix: &str,
        call: &'static Syscall,
        line: &str,
        split: bool,
    ) -> String {
        let took = self.stamps.as_ref().map_or_else(String::new, |s| {
            s.suffix(end.duration_since(start).unwrap_or_default())
        });
        let args = line
            .get(call.name.len() + 1..)
            .and_then(|rest| rest.rfind(") = ").and_then(|at| rest.get(..at)));
        match args {
            Some(args) if split => {
                // `= RET`: after the name, `(`, the arguments and `) `.
                let ret = line.get(call.name.len() + args.len() + 3..).unwrap_or("");
                let text = crate::strace::resumed_line(call, args, ret);
                st.items.push(Item::Resumed {
                    end,
                    prefix: prefix.to_string(),
                    text: format!("{text}{took}"),
                });
                format!(
                    "{prefix}{}{}",
                    self.stamp(start),
                    crate::strace::unfinished_text(call, args)
                )
            }
            _ => format!("{prefix}{}{line}{took}", self.stamp(start)),
        }
    }

    /// The `--trace-time` stamp of a line printed for time `at`.
    pub(super) fn stamp(&self, at: SystemTime) -> String {
        self.stamps
            .as_ref()
            .map_or_else(String::new, |s| s.prefix(at))
    }

    /// Print what can be printed now; with `all`, everything.
    pub fn flush(&self, all: bool) {
        let _printing = crate::strace::lock(&self.printing);
        let mut st = self.lock();
        let now = SystemTime::now();
        if !all {
            self.show_blocked(&mut st, now);
        }
        let horizon = if all {
            None
        } else {
            let settled = now.checked_sub(GRACE).unwrap_or(UNIX_EPOCH);
            // A call still running, or one whose packets may not all be in
            // yet, holds back everything after its start.
            let held = st.items.iter().filter_map(|i| match i {
                Item::Call { start, end, .. } if *end >= settled => Some(*start),
                _ => None,
            });
            Some(
                st.open
                    .values()
                    .filter(|o| !o.shown)
                    .map(|o| o.start)
                    .chain(held)
                    .chain([settled])
                    .min()
                    .unwrap_or(settled),
            )
        };
        let mut out = Vec::new();
        while let Some(i) = (0..st.items.len()).min_by_key(|&i| st.items[i].key()) {
            if horizon.is_some_and(|h| st.items[i].key() >= h) {
                break;
            }
            let key = st.items[i].key();
            match st.items.remove(i) {
                Item::Call {
                    start,
                    end,
                    prefix,
                    call,
                    line,
                    shown,
                } => {
                    // Split as strace -f splits a call when another line
                    // comes while it runs: a packet, or another side's call.
                    let interrupted = shown
                        || !self.json
                            && st.items.iter().any(|p| match p {
                                Item::Packet { ts, .. } => self.show && *ts > start && *ts < end,
                                Item::Call { start: s2, .. } => *s2 > start && *s2 < end,
                                _ => false,
                            });
                    let head =
                        self.call_lines(&mut st, start, end, &prefix, call, &line, interrupted);
                    // Shown while it ran: its unfinished line is out already.
                    if !(shown && head.ends_with("<unfinished ...>")) {
                        out.push(Out::Trace(head));
                    }
                }
                Item::Packet {
                    frame, orig_len, ..
                } => {
                    if let Some(line) = self.decide(&mut st, key, &frame, orig_len) {
                        out.push(Out::Trace(line));
                    }
                }
                Item::Resumed { end, prefix, text } => {
                    out.push(Out::Trace(format!("{prefix}{}{text}", self.stamp(end))));
                }
                Item::Note { line, .. } => out.push(Out::Trace(line)),
                Item::Say { line, .. } => out.push(Out::Stdout(line)),
            }
        }
        if let Some(w) = st.pcap.as_mut()
            && let Err(e) = w.flush()
        {
            st.pcap_error.get_or_insert(e.to_string());
        }
        drop(st);
        if !out.is_empty() {
            self.write(out);
        }
    }

    /// Write the lines in their order, each to its stream and flushed
    /// (so that `2>&1` keeps the order); the sink first, then stdout,
    /// as `hold_for_fork` takes them.
    fn write(&self, lines: Vec<Out>) {
        let mut w = crate::strace::lock(&self.sink);
        let says = lines.iter().any(|l| matches!(l, Out::Stdout(_)));
        let mut stdout = self
            .out
            .as_ref()
            .filter(|_| says)
            .map(|o| crate::strace::lock(o));
        for line in lines {
            match (line, stdout.as_mut()) {
                (Out::Trace(line), _) => crate::strace::write_line(&mut **w, &line),
                (Out::Stdout(line), out) => {
                    let out = match out {
                        Some(out) => &mut ***out,
                        None => &mut **w,
                    };
                    let _ = out.write_all(&[line.as_slice(), b"\n"].concat());
                    let _ = out.flush();
                }
            }
        }
    }
}

/// A line the timeline prints: to the trace's stream, or the program's stdout.
enum Out {
    Trace(String),
    Stdout(Vec<u8>),
}
