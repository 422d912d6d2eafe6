#!/usr/bin/env python3
"""`make bench-scale` (issue 18): 100,000 concurrent connections against
the epoll and uring servers, socklab's beside its C twin, alternating.

Each cell: the server (started once per server, `-q --backlog 4096`)
takes `socklab bench rr --conns N --size 1 --source 127.0.K.2-127.0.K.9
--duration BENCH_SECS`: N connections from 8 source addresses (one
ephemeral port range each), then one 1-byte request in flight on every
one of them. K changes with every cell: the client closes first, so the
previous cell's ports sit in TIME_WAIT for 60 s on their addresses.

Measured: echoes/s (the client's), the connections that completed a
transaction (the client's `conns_echoed`: every one must), server CPU per
echo (/proc/PID/stat), peak RSS (VmHWM) and idle RSS (VmHWM right after
`listening on`), memory per connection = (peak - idle) / N.

The kernel limits that bound N are read and reported (RLIMIT_NOFILE and
whether it can be raised: CAP_SYS_RESOURCE, fs.nr_open; fs.file-max,
net.core.somaxconn, net.ipv4.ip_local_port_range, tcp_max_orphans,
tcp_mem). No sysctl is changed: none needs to be at 100,000 connections
over 8 addresses (28,232 ports each by default). When the hard
RLIMIT_NOFILE cannot be raised to N (a container without
CAP_SYS_RESOURCE), N is the largest round thousand it allows, and the
report says so.

Environment: BENCH_SCALE_CONNS (default 100000), BENCH_SCALE_MODELS
(default epoll,uring), BENCH_SECS (default 3 here), BENCH_REPS (default 5 here), BENCH_PIN (as `make bench`),
CARGO_TARGET_DIR (where the socklab binary is), BENCH_SCALE_OUT (default
bench/scale.json), BENCH_MD (BENCHMARKS.md: its scale section is replaced).
"""

import json
import os
import resource
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
os.environ.setdefault("BENCH_SECS", "3")
os.environ.setdefault("BENCH_REPS", "5")
import run  # noqa: E402  (the driver of `make bench`: servers, client, /proc readers)

TARGET = 100_000
CONNS = int(os.environ.get("BENCH_SCALE_CONNS", str(TARGET)))
OUT = os.environ.get("BENCH_SCALE_OUT", os.path.join(run.ROOT, "bench/scale.json"))
MODELS = [m for m in os.environ.get("BENCH_SCALE_MODELS", "epoll,uring").split(",") if m]
SPARE = 256  # fds besides the connections (client: stdio; server: listener, ring)
BEGIN, END = "<!-- bench-scale -->", "<!-- /bench-scale -->"

if os.environ.get("CARGO_TARGET_DIR"):
    run.BIN = os.path.join(os.path.abspath(os.environ["CARGO_TARGET_DIR"]), "release/socklab")
    if "BENCH_SERVER_BIN" not in os.environ:
        run.SBIN = run.BIN


def read(path):
    try:
        with open(path) as fh:
            return fh.read().strip()
    except OSError:
        return None


def cap_sys_resource():
    for line in (read("/proc/self/status") or "").splitlines():
        if line.startswith("CapEff:"):
            return bool(int(line.split()[1], 16) >> 24 & 1)
    return False


def limits():
    """The kernel limits that bound the run, and the fd limit raised (or not)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    lim = {
        "rlimit_nofile": [soft, hard],
        "cap_sys_resource": cap_sys_resource(),
        "fs.nr_open": read("/proc/sys/fs/nr_open"),
        "fs.file-max": read("/proc/sys/fs/file-max"),
        "net.core.somaxconn": read("/proc/sys/net/core/somaxconn"),
        "net.ipv4.ip_local_port_range": " ".join((read("/proc/sys/net/ipv4/ip_local_port_range") or "").split()),
        "net.ipv4.tcp_max_orphans": read("/proc/sys/net/ipv4/tcp_max_orphans"),
        "net.ipv4.tcp_mem": " ".join((read("/proc/sys/net/ipv4/tcp_mem") or "").split()),
        "sysctls_changed": [],
    }
    need = CONNS + SPARE
    if hard < need:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (need, need))
            lim["raised_to"] = need
            run.log(f"RLIMIT_NOFILE raised from {soft}/{hard} to {need} (children inherit it)")
        except (ValueError, OSError) as e:
            lim["raise_failed"] = f"setrlimit(RLIMIT_NOFILE, {need}): {e}"
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    conns = CONNS if hard >= need else max(1000, (hard - SPARE) // 1000 * 1000)
    lim["conns"] = conns
    lim["asked"] = CONNS
    lo, hi = (int(x) for x in (lim["net.ipv4.ip_local_port_range"] or "32768 60999").split())
    lim["ports_per_address"] = hi - lo + 1
    lim["addresses"] = 8
    if conns > 8 * (hi - lo + 1):
        lim["ports_short"] = True
    return lim


def cell(server, conns, k):
    src = f"127.0.{k % 250 + 1}.2-127.0.{k % 250 + 1}.9"
    before = run.stat_cpu(server.pid)
    t0 = time.time()
    r = run.client(["rr", "--conns", str(conns), "--size", "1", "--source", src,
                    "--duration", str(run.SECS), server.addr], timeout=120 + conns / 500)
    r["wall_s"] = time.time() - t0
    run.settle(server)
    after = run.stat_cpu(server.pid)
    n = max(r["transactions"], 1)
    r["server_cpu_us"] = (after[0] + after[1] - before[0] - before[1]) * 1e6 / n
    r["source"] = src
    return r


def servers(model):
    common = ["127.0.0.1:0", "-q", "--backlog", "4096", "--model", model]
    return [run.Server(f"socklab {model}", "socklab", [run.SBIN, "tcp", "server"] + common,
                       port_from="stdout", model=model, twin=f"C {model}"),
            run.Server(f"C {model}", "C", [os.path.join(run.CBIN, "tcp_server")] + common,
                       port_from="stdout", model=model)]


def model_rows(model, conns, k0):
    pair = servers(model)
    started, rows, k = [], {}, k0
    for s in pair:
        if s.start():
            started.append(s)
            rows[s.name] = {"server": s.name, "family": s.family, "model": model,
                            "idle_kib": run.peak_rss_kib(s.pid), "reps": []}
        else:
            rows[s.name] = {"server": s.name, "family": s.family, "model": model, "error": "did not start"}
    try:
        for _ in range(run.REPS):
            for s in started:
                row = rows[s.name]
                if "error" in row:
                    continue
                try:
                    run.log(f"{s.name}: {conns} connections")
                    row["reps"].append(cell(s, conns, k))
                except Exception as e:  # a server that cannot hold this many
                    row["error"] = str(e)[:400]
                    run.log(f"{s.name}: {row['error']}")
                k += 1
        for s in started:
            rows[s.name]["vmhwm_kib"] = run.peak_rss_kib(s.pid)
    finally:
        for s in started:
            s.stop()
    out = [rows[s.name] for s in pair]
    for r in out:
        if r.get("reps"):
            r["rate"] = run.median([x["rate"] for x in r["reps"]])
            r["server_cpu_us"] = run.median([x["server_cpu_us"] for x in r["reps"]])
            r["p99"] = run.median([(x.get("latency_us") or {}).get("p99") for x in r["reps"]])
            r["echoed_all"] = all(x.get("conns_echoed") == conns for x in r["reps"])
            r["per_conn_bytes"] = (r["vmhwm_kib"] - r["idle_kib"]) * 1024 / conns
    rust, c = out
    if rust.get("reps") and c.get("reps"):
        pairs = list(zip(rust["reps"], c["reps"]))
        rust["rate_ratio"] = run.median([a["rate"] / b["rate"] if b["rate"] else None for a, b in pairs])
        rust["cpu_ratio"] = run.median([a["server_cpu_us"] / b["server_cpu_us"] if b["server_cpu_us"] else None
                                        for a, b in pairs])
        rust["rss_ratio"] = rust["vmhwm_kib"] / c["vmhwm_kib"] if c["vmhwm_kib"] else None
    return out, k


def verdict(ok):
    return "**met**" if ok else "**missed**"


def section(res):
    """The BENCHMARKS.md section (kept in bench/scale.md, which `make bench`'s report.py copies in)."""
    lim, env = res["limits"], res["env"]
    n = lim["conns"]
    md = [BEGIN, f"## {TARGET:,} connections (`make bench-scale`)", "",
          f"Run {env['date']}, commit {env['git']}, {env['cpus']} CPUs, Linux {env['kernel']}; load average at start "
          f"{env['loadavg_start'].split()[0]}, at end {env.get('loadavg_end', '?').split()[0]}; whole run {env.get('seconds', '?')} s; "
          f"cells of {env['secs']} s after the connections are made, {env['reps']} alternating repeats, medians "
          "(ratios: per repeat against the twin's cell next to it, then the median).", "",
          f"`socklab bench rr ADDR --conns {n} --size 1 --source 127.0.K.2-127.0.K.9 --duration {env['secs']}` "
          "(K new for every cell: the last cell's ports are in TIME_WAIT); every connection has one 1-byte request "
          "in flight. Peak RSS is the server's VmHWM after its runs, idle RSS its VmHWM right after `listening on`; "
          "per connection = (peak - idle) / connections.", ""]
    soft, hard = lim["rlimit_nofile"]
    lines = [f"RLIMIT_NOFILE {soft}/{hard}" + (f", raised to {lim['raised_to']}" if lim.get("raised_to") else ""),
             f"CAP_SYS_RESOURCE {'yes' if lim['cap_sys_resource'] else 'no'}",
             f"fs.nr_open {lim['fs.nr_open']}", f"fs.file-max {lim['fs.file-max']}",
             f"net.core.somaxconn {lim['net.core.somaxconn']}",
             f"net.ipv4.ip_local_port_range {lim['net.ipv4.ip_local_port_range']} ({lim['ports_per_address']} ports per source address)",
             f"net.ipv4.tcp_max_orphans {lim['net.ipv4.tcp_max_orphans']}", f"net.ipv4.tcp_mem {lim['net.ipv4.tcp_mem']}"]
    md += ["Kernel limits read: " + "; ".join(lines) + ". No sysctl was changed.", ""]
    if n < CONNS_ASKED(res):
        md += [f"**Run with {n:,} connections, not {TARGET:,}**: one process may hold at most RLIMIT_NOFILE's hard "
               f"limit ({hard}) fds, and raising it failed ({lim.get('raise_failed', 'no CAP_SYS_RESOURCE')}): this machine "
               "(a container without CAP_SYS_RESOURCE) cannot give any process 100,000 fds. Where it can "
               "(root, fs.nr_open above the need), the same run takes BENCH_SCALE_CONNS=100000 (the default).", ""]
    elif n < TARGET:
        md += [f"**Run with {n:,} connections (BENCH_SCALE_CONNS), not {TARGET:,}.**", ""]
    md += ["| server | connections echoed | echoes/s | vs C | server CPU µs/echo | vs C | p99 ms | peak RSS KiB | idle RSS KiB | bytes per connection | RSS vs C |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    targets = []
    for r in res["rows"]:
        if "error" in r or not r.get("reps"):
            md.append(f"| {r['server']} | not measured: `{r.get('error', 'no runs')[:160]}` | | | | | | | | | |")
            continue
        echoed = min(x.get("conns_echoed") or 0 for x in r["reps"])
        p99 = f"{r['p99'] / 1000:.0f}" if r.get("p99") else "–"
        md.append(f"| {r['server']} | {echoed} of {n} | {r['rate']:.0f} | {run_f(r.get('rate_ratio'))} | "
                  f"{r['server_cpu_us']:.2f} | {run_f(r.get('cpu_ratio'))} | {p99} | {r['vmhwm_kib']} | {r['idle_kib']} | {r['per_conn_bytes']:.0f} | "
                  f"{run_f(r.get('rss_ratio'))} |")
        if r["family"] == "socklab" and r.get("rate_ratio") is not None:
            targets.append(f"- {r['server']}, {n:,} connections: every one echoed ({verdict(r['echoed_all'])}); "
                           f"throughput {r['rate_ratio']:.2f}x the C twin (≥ 0.9x: {verdict(r['rate_ratio'] >= 0.9)}; "
                           f"server CPU per echo {run_f(r.get('cpu_ratio'))}); "
                           f"peak RSS {r['rss_ratio']:.2f}x (≤ 1.2x: {verdict(r['rss_ratio'] <= 1.2)})")
    md += ["", "Every repeat's echoes/s (the scatter is the machine's load: see the notes): " + "; ".join(
        f"{r['server']} " + ", ".join(f"{x['rate']:.0f}" for x in r["reps"]) for r in res["rows"] if r.get("reps")) + "."]
    md += [""] + (["Targets:", ""] + targets + [""] if targets else []) + [END, ""]
    return "\n".join(md)


def CONNS_ASKED(res):
    return res["limits"].get("asked", TARGET)


def run_f(x):
    return f"{x:.2f}x" if x is not None else "–"


def write_md(res):
    try:
        with open(run.MD) as fh:
            text = fh.read()
    except OSError:
        text = "# Benchmarks\n\n"
    new = section(res)
    if BEGIN in text and END in text:
        a, b = text.index(BEGIN), text.index(END) + len(END)
        text = text[:a] + new.rstrip("\n") + text[b:]
    elif "## Notes:" in text:
        i = text.index("## Notes:")
        text = text[:i] + new + "\n" + text[i:]
    else:
        text += "\n" + new
    with open(run.MD, "w") as fh:
        fh.write(text)


def main():
    if not os.access(run.BIN, os.X_OK):
        sys.exit(f"bench-scale: no {run.BIN} (cargo build --release)")
    env = run.environment()
    env.pop("socat", None), env.pop("iperf3", None), env.pop("python", None)
    lim = limits()
    run.log(f"{lim['conns']} connections (limits: {json.dumps({k: v for k, v in lim.items() if k != 'sysctls_changed'})})")
    res = {"env": env, "limits": lim, "rows": []}
    k = 0
    for m in MODELS:
        rows, k = model_rows(m, lim["conns"], k)
        res["rows"] += rows
    env["loadavg_end"] = read("/proc/loadavg")
    env["seconds"] = round(time.time() - run.T0, 1)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as fh:
        json.dump(res, fh, indent=1)
    with open(os.path.splitext(OUT)[0] + ".md", "w") as fh:
        fh.write(section(res))
    write_md(res)
    run.log(f"wrote {OUT} (and .md) and the scale section of {run.MD}")


if __name__ == "__main__":
    main()
