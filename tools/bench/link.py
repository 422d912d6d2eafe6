"""`make bench`'s lab-network row (issue 16): what socklab's link (the
userspace forwarder of `socklab net`) adds per packet.

The same UDP ping-pong (`socklab bench udp --window 1`, 64-byte datagrams,
the C twin's udp_server echoing) runs between two network namespaces
joined two ways, alternating, REPS times:
- a plain veth pair (the kernel forwards: the baseline);
- `socklab net up` (a TAP device in each host, socklab's forwarder between
  them, link SPEC empty: every packet forwarded at once).
With one datagram in flight, a round trip takes 1 / (round trips per
second); each crosses the link twice, so the forwarder's added latency per
packet is (round trip over the link - round trip over veth) / 2. (Not the
client's p50 latency: it starts its clock after sendto returns, and on veth
the echo can be queued before that.) Its CPU per
packet is the forwarder's utime+stime over the packets it forwarded (both
directions, from `net show`'s counters). Packets/s is what the ping-pong
reached (one datagram in flight: the rate is set by the round trip).

Needs root (namespaces); every namespace and process made here is removed.
Addresses are the documentation range's 192.0.2.1/.2, as socklab net's.
"""

import json
import os
import re
import secrets
import subprocess
import time


def sh(*argv, check=True):
    return subprocess.run(list(argv), capture_output=True, text=True, check=check, timeout=60)


def ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime + stime


class Veth:
    """Two namespaces joined by a veth pair: the kernel's own forwarding."""

    def __init__(self):
        tag = secrets.token_hex(3)
        self.a, self.b = f"sbv-{tag}-a", f"sbv-{tag}-b"
        self.pid = None

    def up(self):
        sh("ip", "netns", "add", self.a)
        sh("ip", "netns", "add", self.b)
        sh("ip", "link", "add", "veth-a", "netns", self.a, "type", "veth", "peer", "name", "veth-b", "netns", self.b)
        for ns, dev, ip in ((self.a, "veth-a", "192.0.2.1"), (self.b, "veth-b", "192.0.2.2")):
            sh("ip", "-n", ns, "link", "set", "lo", "up")
            sh("ip", "-n", ns, "addr", "add", f"{ip}/24", "dev", dev)
            sh("ip", "-n", ns, "link", "set", dev, "up")

    def down(self):
        for ns in (self.a, self.b):
            sh("ip", "netns", "del", ns, check=False)

    def forwarded(self):
        return None


class Link:
    """`socklab net up`: the link socklab drives, every packet forwarded."""

    def __init__(self, bin):
        self.bin = bin
        self.name = f"sbl-{secrets.token_hex(3)}"
        self.a, self.b = f"{self.name}-a", f"{self.name}-b"
        self.pid = None

    def up(self):
        out = sh(self.bin, "net", "up", "--name", self.name).stdout
        m = re.search(r"forwarder pid (\d+)", out)
        if not m:
            raise RuntimeError(f"net up did not say its forwarder's pid: {out[-300:]}")
        self.pid = int(m.group(1))

    def down(self):
        sh(self.bin, "net", "down", "--name", self.name, check=False)

    def forwarded(self):
        out = sh(self.bin, "net", "show", "--name", self.name).stdout
        return sum(int(n) for n in re.findall(r"forwarded (\d+)", out))


def ping_pong(net, bin, cbin, secs):
    """One run: the C twin echoing in host b, socklab bench udp in host a."""
    server = subprocess.Popen(["ip", "netns", "exec", net.b, os.path.join(cbin, "udp_server"), "192.0.2.2:0", "-q"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = server.stdout.readline()
        m = re.search(r":(\d+)\s*$", line)
        if not m:
            raise RuntimeError(f"the echo server said {line!r}")
        before = (ticks(net.pid), net.forwarded()) if net.pid else None
        out = sh("ip", "netns", "exec", net.a, bin, "bench", "udp", f"192.0.2.2:{m.group(1)}", "--window", "1",
                 "--size", "64", "--duration", str(secs), "--json").stdout
        r = json.loads(out)
        if before:
            cpu_s = (ticks(net.pid) - before[0]) / os.sysconf("SC_CLK_TCK")
            packets = net.forwarded() - before[1]
            r["forwarder_us_per_packet"] = cpu_s * 1e6 / packets if packets else None
            r["packets"] = packets
        return r
    finally:
        server.kill()
        server.wait()


def measure(bin, cbin, secs, reps, log):
    """The row: medians over REPS alternating runs on veth and on the link."""
    veth, link = Veth(), Link(bin)
    runs = {"veth": [], "link": []}
    try:
        veth.up()
        link.up()
        for _ in range(reps):
            for key, net in (("veth", veth), ("link", link)):
                runs[key].append(ping_pong(net, bin, cbin, secs))
    except Exception as e:  # one row that says why, not a failed matrix
        log(f"lab network row: {e}")
        return {"error": str(e)[:300]}
    finally:
        link.down()
        veth.down()
    med = lambda xs: sorted(xs)[len(xs) // 2]
    rtt = {k: med([1e6 / r["rate"] for r in v]) for k, v in runs.items()}
    return {
        "rtt_us": rtt,
        "rate": {k: med([r["rate"] for r in v]) for k, v in runs.items()},
        "added_us_per_packet": (rtt["link"] - rtt["veth"]) / 2,
        "forwarder_cpu_us_per_packet": med([r["forwarder_us_per_packet"] for r in runs["link"]]),
        "packets_per_s": med([2 * r["rate"] for r in runs["link"]]),
        "reps": runs,
    }


def markdown(row):
    """BENCHMARKS.md's section and the target line."""
    title = ["## The lab network's link (socklab net)", "",
             "`socklab bench udp 192.0.2.2:PORT --window 1 --size 64` in host a against the C twin's udp_server in "
             "host b, over a plain veth pair and over `socklab net up`'s link (no impairment), alternating; medians. "
             "One datagram in flight, so a round trip is 1 / (round trips per second); added per packet = (round trip "
             "over the link - over veth) / 2; forwarder CPU = its utime+stime over the "
             "packets it forwarded (both directions).", ""]
    if not row:
        return title + ["Not run.", ""], "- Lab network: not measured"
    if "error" in row:
        return title + [f"Not measured: `{row['error']}`", ""], f"- Lab network: not measured (`{row['error'][:80]}`)"
    r = row
    title += ["| path | round trip µs | round trips/s |", "|---|---|---|",
              f"| veth pair (kernel) | {r['rtt_us']['veth']:.1f} | {r['rate']['veth']:.0f} |",
              f"| socklab net link | {r['rtt_us']['link']:.1f} | {r['rate']['link']:.0f} |", "",
              f"Forwarded {r['packets_per_s']:.0f} packets/s; added latency {r['added_us_per_packet']:.1f} µs per "
              f"packet; forwarder CPU {r['forwarder_cpu_us_per_packet']:.1f} µs per packet.", ""]
    ok = r["added_us_per_packet"] < 100 and r["packets_per_s"] >= 10000
    target = (f"- Lab network: the forwarder adds {r['added_us_per_packet']:.1f} µs per packet at "
              f"{r['packets_per_s']:.0f} packets/s (target < 100 µs at 10k packets/s): "
              f"{'**met**' if ok else '**not met**'}")
    return title, target
