#!/usr/bin/env python3
"""`make bench`: socklab's servers beside their C twins, socat, the
tutorial's Python server and iperf3, on this machine, in one run.

Writes bench/results.json (every measurement) and BENCHMARKS.md (the
tables, the targets met or not, and tools/bench/NOTES.md verbatim).

Every server listens on 127.0.0.1, on port 0 (socklab, the C twins: each
says which port it got) or on a port the driver just found free (socat,
which would say it only with -d -d, whose notices cost it CPU per
connection; the Python server; iperf3). Every run is bounded: cells of BENCH_SECS seconds
(default 1), BENCH_REPS alternating repeats (default 3: socklab, C, socat,
Python, socklab, C, ...), and the median is reported.

Server CPU: utime+stime (and cutime+cstime of reaped children, plus any
live descendants) from /proc/PID/stat, before and after each cell.
Syscalls: `strace -c -f -p PID` around a separate short run with a fixed
count. Peak RSS: VmHWM from /proc/PID/status.

Environment: BENCH_SECS, BENCH_REPS, BENCH_PIN=same (the default: server
and client share CPU 0, taskset and --pin), split (server CPU 0, client CPU
1) or off; BENCH_ONLY=rr1,udp,... (a subset of workloads),
BENCH_BUDGET (seconds: later workloads are skipped, and
said so, once the matrix has run this long; default 420), BENCH_SERVER_BIN and BENCH_C_BIN (other builds of the servers),
BENCH_OUT (default bench/results.json), BENCH_MD (default BENCHMARKS.md).
BENCH_ONLY also takes ch30, 10k and link (the lab network's forwarder:
tools/bench/link.py).
"""

import json
import os
import platform
import re
import resource
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
# The client (and by default the servers): BENCH_BIN, e.g. a build without
# the incremental settings in another target dir.
BIN = os.environ.get("BENCH_BIN", os.path.join(ROOT, "target/release/socklab"))
# The servers' binaries (default: this tree's), to try another build.
SBIN = os.environ.get("BENCH_SERVER_BIN", BIN)
CBIN = os.environ.get("BENCH_C_BIN", os.path.join(ROOT, "c_compat/bin"))
SECS = float(os.environ.get("BENCH_SECS", "1"))
REPS = int(os.environ.get("BENCH_REPS", "3"))
PIN = os.environ.get("BENCH_PIN", "same")
if PIN not in ("same", "split", "off"):
    sys.exit("bench: BENCH_PIN is same, split or off")
SERVER_CPU, CLIENT_CPU = {"same": ("0", "0"), "split": ("0", "1"), "off": (None, None)}[PIN]
ONLY = [w for w in os.environ.get("BENCH_ONLY", "").split(",") if w]
OUT = os.environ.get("BENCH_OUT", os.path.join(ROOT, "bench/results.json"))
MD = os.environ.get("BENCH_MD", os.path.join(ROOT, "BENCHMARKS.md"))
TICK = os.sysconf("SC_CLK_TCK")
MODELS = ["iterative", "fork", "thread", "prefork:4", "prethread:4", "poll", "epoll"]
BUDGET = float(os.environ.get("BENCH_BUDGET", "420"))  # seconds for the matrix, then skip


def at_once(model):
    """How many connections a model serves at the same time."""
    if model == "iterative":
        return 1
    if model and model.split(":")[0] in ("prefork", "prethread"):
        return int(model.split(":")[1])
    return 1 << 30
T0 = time.time()
SKIPPED = []  # (servers, why) for the workload being set up


def log(msg):
    print(f"[{time.time() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def free_port(kind=socket.SOCK_STREAM):
    s = socket.socket(socket.AF_INET, kind)
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def raise_nofile():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


class Server:
    """A running server: its process, address, and how it was started."""

    def __init__(self, name, family, argv, proto="tcp", port_from=None, port=None, model=None, twin=None, base=None):
        self.name, self.family, self.argv, self.proto = name, family, argv, proto
        self.model, self.twin = model, twin
        # The same family's unbatched server, for a batched one (udp32).
        self.base = base
        self.port_from, self.fixed_port = port_from, port
        self.proc, self.addr = None, None
        # socat's UDP-LISTEN serves the first peer only: a fresh one per cell.
        self.restart = name == "socat" and proto == "udp"

    def start(self):
        argv = list(self.argv)
        if SERVER_CPU:
            argv = ["taskset", "-c", SERVER_CPU] + argv
        port = None
        if self.port_from == "argv":
            port = free_port(socket.SOCK_DGRAM if self.proto == "udp" else socket.SOCK_STREAM)
            argv = [a.replace("{PORT}", str(port)) for a in argv]
        self.proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if self.port_from == "stdout" else subprocess.DEVNULL,
            stderr=subprocess.PIPE if self.port_from == "stderr" else subprocess.DEVNULL,
            preexec_fn=raise_nofile,
            text=True,
        )
        deadline = time.time() + 10
        if self.port_from == "stdout":
            while time.time() < deadline:
                line = self.proc.stdout.readline()
                if not line:
                    return self._failed()
                m = re.match(r"listening on (\S+)", line)
                if m:
                    self.addr = m.group(1)
                    break
        elif self.port_from == "stderr":  # socat -d -d
            while time.time() < deadline:
                line = self.proc.stderr.readline()
                if not line:
                    return self._failed()
                m = re.search(r"listening on .*:(\d+)\s*$", line)
                if m:
                    self.addr = f"127.0.0.1:{m.group(1)}"
                    break
        else:
            self.addr = f"127.0.0.1:{port}"
            if self.proto == "tcp":
                wait_listening(port, deadline)
            else:
                time.sleep(0.3)
        if self.addr is None:
            return self._failed()
        # Keep reading what it says (socat -d -d logs every connection): a
        # full pipe would block it.
        for pipe in (self.proc.stdout, self.proc.stderr):
            if pipe:
                threading.Thread(target=drain, args=(pipe,), daemon=True).start()
        return True

    def _failed(self):
        self.stop()
        return False

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(3)
            except subprocess.TimeoutExpired:
                kill_tree(self.proc.pid)
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    @property
    def pid(self):
        return self.proc.pid


def drain(pipe):
    try:
        while pipe.read(65536):
            pass
    except (OSError, ValueError):
        pass


def wait_listening(port, deadline):
    """Wait until something listens on 127.0.0.1:port (from /proc/net/tcp)."""
    hexport = f"{port:04X}"
    while time.time() < deadline:
        with open("/proc/net/tcp") as f:
            for line in f.readlines()[1:]:
                fields = line.split()
                if fields[1].endswith(":" + hexport) and fields[3] == "0A":
                    return
        time.sleep(0.02)


def children(pid):
    out = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(c) for c in f.read().split()]
    except OSError:
        pass
    return out


def descendants(pid):
    out, todo = [], children(pid)
    while todo:
        p = todo.pop()
        out.append(p)
        todo += children(p)
    return out


def kill_tree(pid):
    for p in descendants(pid):
        try:
            os.kill(p, signal.SIGKILL)
        except OSError:
            pass


def stat_cpu(pid):
    """(user, sys) seconds of pid, its reaped children, and its live descendants."""
    user = system = 0.0
    for p in [pid] + descendants(pid):
        try:
            with open(f"/proc/{p}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        # fields[0] is state (field 3); utime is field 14 -> index 11.
        user += (int(fields[11]) + int(fields[13])) / TICK
        system += (int(fields[12]) + int(fields[14])) / TICK
    return user, system


def peak_rss_kib(pid):
    total = 0
    for p in [pid] + descendants(pid):
        try:
            with open(f"/proc/{p}/status") as f:
                for line in f:
                    if line.startswith("VmHWM:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def settle(server, timeout=3.0):
    """After a load: wait (bounded) until per-connection children are reaped."""
    if server.model in ("fork",) or server.name == "socat":
        deadline = time.time() + timeout
        while time.time() < deadline and descendants(server.pid):
            time.sleep(0.02)


def client(args, timeout=120):
    argv = [BIN, "bench"] + args + ["--json"]
    if CLIENT_CPU:
        argv += ["--pin", CLIENT_CPU]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=timeout)
    if r.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: exit {r.returncode}: {r.stderr.strip()}")
    return json.loads(r.stdout)


def strace_count(server, run):
    """Syscalls the server makes during run(): strace -c -f -p PID."""
    out = f"/tmp/socklab-bench-strace-{os.getpid()}.txt"
    st = subprocess.Popen(
        ["strace", "-c", "-f", "-o", out] + [a for p in [server.pid] + descendants(server.pid) for a in ("-p", str(p))],
        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )
    # strace says `strace: Process PID attached` on stderr once it is in.
    deadline = time.time() + 5
    while time.time() < deadline:
        line = st.stderr.readline()
        if not line or "attached" in line:
            break
    time.sleep(0.1)
    try:
        result = run()
    finally:
        time.sleep(0.15)  # let the server finish the last close
        st.send_signal(signal.SIGINT)
        try:
            st.wait(10)
        except subprocess.TimeoutExpired:
            st.kill()
            st.wait()
    calls = {}
    try:
        with open(out) as f:
            for line in f:
                m = re.match(r"\s*[\d.]+\s+[\d.]+\s+\d+\s+(\d+)\s+(\d+\s+)?(\w+)\s*$", line)
                if m and m.group(3) != "total":
                    calls[m.group(3)] = int(m.group(1))
        os.unlink(out)
    except OSError:
        pass
    return calls, result


def median(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


# ---------------------------------------------------------------- servers

def has_model_flag(prog_argv):
    r = subprocess.run(prog_argv + ["--help"], capture_output=True, text=True)
    return "--model" in r.stdout + r.stderr


def stream_servers(sink=False, conns=1, extra=()):
    """socklab in each model (MODELS and `extra`), the C twins, socat,
    Python (echo) for one workload."""
    out = []
    rust_models = MODELS + list(extra) if has_model_flag([SBIN, "tcp", "server"]) else ["iterative"]
    # The C twins' --help does not list their options: each model is tried,
    # and one the twin lacks fails to start (usage error) and is listed so.
    c_models = MODELS + list(extra)
    # A sink reads 64 KiB at a time (as iperf3 reads 128 KiB), not the
    # tutorial's 1024.
    extra = ["--sink", "--bufsize", "65536"] if sink else []
    for m in rust_models:
        if conns > at_once(m):
            SKIPPED.append((f"socklab {m} and C {m}", f"serve {at_once(m)} connection(s) at a time; the load keeps {conns} open"))
            continue
        model = [] if m == "iterative" else ["--model", m]
        out.append(Server(f"socklab {m}", "socklab",
                          [SBIN, "tcp", "server", "127.0.0.1:0", "-q", "--backlog", "4096"] + model + extra,
                          port_from="stdout", model=m, twin=f"C {m}"))
        if m in c_models:
            out.append(Server(f"C {m}", "C",
                              [os.path.join(CBIN, "tcp_server"), "127.0.0.1:0", "-q", "--backlog", "4096"] + model + extra,
                              port_from="stdout", model=m))
    # socat without -d -d: its notices (a few writes per connection) would
    # count against it; so the driver picks its port.
    if sink:
        out.append(Server("socat", "socat", ["socat", "-u", "TCP-LISTEN:{PORT},bind=127.0.0.1,fork,backlog=4096", "OPEN:/dev/null"], port_from="argv"))
    else:
        out.append(Server("socat", "socat", ["socat", "TCP-LISTEN:{PORT},bind=127.0.0.1,fork,backlog=4096", "PIPE"], port_from="argv"))
        if conns == 1:
            out.append(Server("python", "python", ["python3", os.path.join(ROOT, "tools/bench/tutorial_server.py"), "{PORT}"], port_from="argv"))
    return out


def udp_servers():
    out = []
    rust_models = ["iterative", "epoll"] if has_model_flag([SBIN, "udp", "server"]) else ["iterative"]
    c_models = ["iterative", "epoll"]
    for m in rust_models:
        model = [] if m == "iterative" else ["--model", m]
        out.append(Server(f"socklab {m}", "socklab", [SBIN, "udp", "server", "127.0.0.1:0", "-q"] + model,
                          proto="udp", port_from="stdout", model=m, twin=f"C {m}"))
        if m in c_models:
            out.append(Server(f"C {m}", "C", [os.path.join(CBIN, "udp_server"), "127.0.0.1:0", "-q"] + model,
                              proto="udp", port_from="stdout", model=m))
    out.append(Server("socat", "socat", ["socat", "UDP-LISTEN:{PORT},bind=127.0.0.1", "PIPE"], proto="udp", port_from="argv"))
    out.append(Server("python", "python", ["python3", os.path.join(ROOT, "tools/bench/tutorial_udp_server.py"), "{PORT}"], proto="udp", port_from="argv"))
    return out


def udp_batch_servers():
    """`--batch 32` beside the unbatched (iterative) server, socklab and C."""
    if not has_batch_flag([SBIN, "udp", "server"]):
        SKIPPED.append(("socklab --batch 32, C --batch 32", "no udp server --batch in this build"))
        return []
    out = []
    for fam, argv0 in (("socklab", [SBIN, "udp", "server"]), ("C", [os.path.join(CBIN, "udp_server")])):
        out.append(Server(f"{fam} iterative", fam, argv0 + ["127.0.0.1:0", "-q"], proto="udp",
                          port_from="stdout", model="iterative", twin="C iterative" if fam == "socklab" else None))
        out.append(Server(f"{fam} --batch 32", fam, argv0 + ["127.0.0.1:0", "-q", "--batch", "32"], proto="udp",
                          port_from="stdout", model="batch32", twin="C --batch 32" if fam == "socklab" else None,
                          base=f"{fam} iterative"))
    return out


def has_batch_flag(argv):
    r = subprocess.run(argv + ["--help"], capture_output=True, text=True)
    return "--batch" in r.stdout


# ---------------------------------------------------------------- workloads

WORKLOADS = [
    # key, title, bench args (before the address), per-transaction unit, servers, strace count args
    # --model uring (issue 18) in rr1 and rr100 only: what one connection
    # costs, and the batching at 100 (against the epoll C twin too).
    ("rr1", "RR, 1 byte, 1 connection", ["rr", "--size", "1", "--conns", "1"], "echo", lambda: stream_servers(extra=("uring",)), ["--count", "1000"]),
    ("rr1k", "RR, 1 KiB, 1 connection", ["rr", "--size", "1024", "--conns", "1"], "echo", lambda: stream_servers(), ["--count", "1000"]),
    ("rr100", "RR, 1 byte, 100 connections", ["rr", "--size", "1", "--conns", "100"], "echo", lambda: stream_servers(conns=100, extra=("uring",)), ["--count", "20000"]),
    ("rr1000", "RR, 1 byte, 1000 connections", ["rr", "--size", "1", "--conns", "1000"], "echo", lambda: stream_servers(conns=1000), ["--count", "20000"]),
    ("bulk", "Bulk, 64 KiB writes, 1 connection (into a sink)", ["stream", "--size", "65536"], "64 KiB write", lambda: stream_servers(sink=True), ["--bytes", str(32 << 20)]),
    ("connect", "Connect rate (connect, 1-byte exchange, close)", ["connect", "--size", "1", "--conns", "1"], "connection", lambda: stream_servers(), ["--count", "300"]),
    ("udp", "UDP, 64-byte datagrams, 16 in flight", ["udp", "--size", "64", "--window", "16"], "datagram", udp_servers, ["--count", "3000"]),
    ("udp32", "UDP batched: 64-byte datagrams, 64 in flight, client and server --batch 32 (recvmmsg/sendmmsg)",
     ["udp", "--size", "64", "--window", "64", "--batch", "32"], "datagram", udp_batch_servers, ["--count", "30000"]),
]


def run_cell(server, args):
    before = stat_cpu(server.pid)
    r = client(args + [server.addr, "--duration", str(SECS)])
    settle(server)
    after = stat_cpu(server.pid)
    user, system = after[0] - before[0], after[1] - before[1]
    n = max(r["transactions"], 1)
    r["server_user_us"] = user * 1e6 / n
    r["server_sys_us"] = system * 1e6 / n
    r["server_cpu_us"] = (user + system) * 1e6 / n
    return r


def iperf3_row(key):
    """iperf3 -s / -c on loopback, 64 KiB writes, SECS seconds, REPS times."""
    reps = []
    for _ in range(REPS):
        port = free_port()
        srv = subprocess.Popen(["iperf3", "-s", "-1", "-p", str(port), "-B", "127.0.0.1"] + (["-A", SERVER_CPU] if SERVER_CPU else []),
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_listening(port, time.time() + 5)
        before = stat_cpu(srv.pid)
        r = subprocess.run(["iperf3", "-c", "127.0.0.1", "-p", str(port), "-t", str(max(1, round(SECS))), "-l", "65536", "-J"]
                           + (["-A", CLIENT_CPU] if CLIENT_CPU else []), capture_output=True, text=True, timeout=60)
        after = stat_cpu(srv.pid)
        try:
            srv.wait(5)
        except subprocess.TimeoutExpired:
            srv.kill()
            srv.wait()
        try:
            j = json.loads(r.stdout)
            end = j["end"]["sum_received"]
            gbit = end["bits_per_second"] / 1e9
            writes = end["bytes"] / 65536
            reps.append({"gbit_per_s": gbit, "rate": writes / end["seconds"], "transactions": writes,
                         "server_user_us": (after[0] - before[0]) * 1e6 / writes,
                         "server_sys_us": (after[1] - before[1]) * 1e6 / writes,
                         "server_cpu_us": (after[0] + after[1] - before[0] - before[1]) * 1e6 / writes,
                         "latency_us": None})
        except (ValueError, KeyError) as e:
            log(f"iperf3: no result ({e}): {r.stderr.strip()[:200]}")
    return reps


def summarize(reps):
    if not reps:
        return None
    lat = [r.get("latency_us") for r in reps]
    s = {
        "rate": median([r["rate"] for r in reps]),
        "gbit_per_s": median([r.get("gbit_per_s") for r in reps]),
        "server_cpu_us": median([r["server_cpu_us"] for r in reps]),
        "server_user_us": median([r["server_user_us"] for r in reps]),
        "server_sys_us": median([r["server_sys_us"] for r in reps]),
        "loss": median([r["lost"] / r["sent"] if r.get("sent") else None for r in reps]),
    }
    for q in ("p50", "p99", "p999", "max"):
        s[q] = median([l[q] if l else None for l in lat])
    return s


def run_workload(key, title, args, unit, make_servers, count_args):
    SKIPPED.clear()
    servers = make_servers()
    skipped = list(SKIPPED)
    started = []
    for s in servers:
        if s.start():
            started.append(s)
        else:
            skipped.append((s.name, "did not start (no such model in this build)"))
            log(f"{key}: {s.name} did not start; skipped")
    reps = {s.name: [] for s in started}
    errors = {}
    try:
        for rep in range(REPS):
            for s in started:
                if s.name in errors:
                    continue
                try:
                    if s.restart:
                        s.stop()
                        s.start()
                    reps[s.name].append(run_cell(s, args))
                except Exception as e:  # a server that cannot take this load
                    errors[s.name] = str(e)[:300]
                    log(f"{key}: {s.name}: {errors[s.name]}")
        syscalls = {}
        for s in started:
            if s.name in errors:
                continue
            try:
                if s.restart:
                    s.stop()
                    s.start()
                calls, r = strace_count(s, lambda: client(args + [s.addr] + count_args))
                n = max(r["transactions"], 1)
                syscalls[s.name] = {"per_transaction": sum(calls.values()) / n, "transactions": n,
                                    "calls": {k: v / n for k, v in sorted(calls.items(), key=lambda kv: -kv[1])}}
            except Exception as e:
                log(f"{key}: strace of {s.name}: {e}")
    finally:
        for s in started:
            s.stop()
    rows = []
    for s in started:
        rows.append({"server": s.name, "family": s.family, "model": s.model, "twin": s.twin, "base": s.base,
                     "reps": reps[s.name], "median": summarize(reps[s.name]),
                     "syscalls": syscalls.get(s.name), "error": errors.get(s.name)})
    if key == "bulk":
        r = iperf3_row(key)
        rows.append({"server": "iperf3", "family": "iperf3", "model": None, "twin": None, "reps": r,
                     "median": summarize(r), "syscalls": None, "error": None if r else "no result"})
    # Ratios per repeat against the twin (same run, alternating), then the median.
    by = {row["server"]: row for row in rows}
    for row in rows:
        ratios = {}
        against = [(row["twin"], "c"), ("socat", "socat"), ("python", "python"), ("iperf3", "iperf3"),
                   (row.get("base"), "unbatched")]
        if row["model"] == "uring":
            against.append(("C epoll", "c_epoll"))  # issue 18's target: uring vs the epoll C twin
        for other, label in against:
            o = by.get(other) if other else None
            if not o or o is row or not o["reps"] or not row["reps"]:
                continue
            pairs = list(zip(row["reps"], o["reps"]))
            ratios[label] = {
                "cpu": median([a["server_cpu_us"] / b["server_cpu_us"] if b["server_cpu_us"] else None for a, b in pairs]),
                "user": median([a["server_user_us"] / b["server_user_us"] if b["server_user_us"] else None for a, b in pairs]),
                "rate": median([a["rate"] / b["rate"] if b["rate"] else None for a, b in pairs]),
            }
        row["ratios"] = ratios
    conns = int(args[args.index("--conns") + 1]) if "--conns" in args else 1
    return {"key": key, "title": title, "args": args, "unit": unit, "rows": rows, "skipped": skipped,
            "conns": conns, "count_args": count_args}


def chapter30():
    """UNP ch. 30: 5000 connections each sending 4000 bytes and reading 4000
    back (5 client threads), server CPU per model minus iterative."""
    rows = []
    for s in stream_servers():
        if s.family not in ("socklab", "C"):
            continue
        if not s.start():
            continue
        try:
            cpu = []
            for _ in range(REPS):
                before = stat_cpu(s.pid)
                client(["connect", "--conns", "5", "--count", "5000", "--size", "4000", s.addr])
                settle(s)
                after = stat_cpu(s.pid)
                cpu.append((after[0] + after[1] - before[0] - before[1]))
            rows.append({"server": s.name, "family": s.family, "model": s.model, "cpu_s": median(cpu), "reps": cpu})
        except Exception as e:
            rows.append({"server": s.name, "family": s.family, "model": s.model, "error": str(e)[:300]})
        finally:
            s.stop()
    base = {r["family"]: r.get("cpu_s") for r in rows if r["model"] == "iterative"}
    for r in rows:
        if r.get("cpu_s") is not None and base.get(r["family"]) is not None:
            r["minus_iterative_s"] = r["cpu_s"] - base[r["family"]]
    return rows


def tenk():
    """10,000 connections doing RR against the epoll servers (socklab's and
    the C twin's, alternating, REPS times): rate, p99 and peak RSS."""
    servers = [s for s in stream_servers(conns=10000) if s.model == "epoll"]
    started = []
    rows = {}
    idle = {}
    for s in servers:
        if s.start():
            started.append(s)
            idle[s.name] = peak_rss_kib(s.pid)
        else:
            rows[s.name] = {"server": s.name, "family": s.family, "error": "did not start"}
    runs = {s.name: [] for s in started}
    try:
        for _ in range(REPS):
            for s in started:
                if s.name in rows:
                    continue
                try:
                    runs[s.name].append(client(["rr", "--conns", "10000", "--size", "1", "--duration", str(max(2.0, SECS)), s.addr], timeout=180))
                except Exception as e:
                    rows[s.name] = {"server": s.name, "family": s.family, "error": str(e)[:300]}
        for s in started:
            if s.name not in rows and runs[s.name]:
                rows[s.name] = {"server": s.name, "family": s.family,
                                "rate": median([r["rate"] for r in runs[s.name]]),
                                "rates": [r["rate"] for r in runs[s.name]],
                                "p99": median([(r["latency_us"] or {}).get("p99") for r in runs[s.name]]),
                                "vmhwm_kib": peak_rss_kib(s.pid), "idle_kib": idle[s.name]}
    finally:
        for s in started:
            s.stop()
    return [rows[s.name] for s in servers if s.name in rows]


def environment():
    def sh(cmd):
        try:
            return subprocess.run(cmd, shell=True, capture_output=True, text=True, timeout=10).stdout.strip()
        except Exception:
            return ""
    cpu = sh("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2").strip()
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "kernel": platform.release(),
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "loadavg_start": sh("cat /proc/loadavg"),
        "git": sh(f"git -C {ROOT} rev-parse --short HEAD"),
        "secs": SECS, "reps": REPS, "pin": PIN,
        "server_bin": None if SBIN == BIN else f"{SBIN} ({sh(f'cat {os.path.dirname(SBIN)}/../../BUILD_FROM 2>/dev/null')})",
        "c_bin": None if CBIN == os.path.join(ROOT, "c_compat/bin") else CBIN,
        "socat": sh("socat -V | sed -n 2p"), "iperf3": sh("iperf3 --version | head -1"),
        "python": sh("python3 --version"), "cc": sh("cc --version | head -1"),
    }


def main():
    for tool in ("strace", "socat", "iperf3", "python3"):
        if subprocess.run(["sh", "-c", f"command -v {tool}"], capture_output=True).returncode:
            sys.exit(f"bench: {tool} is missing (make deps)")
    env = environment()
    results = {"env": env, "workloads": [], "chapter30": None, "tenk": None}
    for w in WORKLOADS:
        if ONLY and w[0] not in ONLY:
            continue
        if time.time() - T0 > BUDGET:
            log(f"workload {w[0]}: skipped, over the time budget ({BUDGET:.0f} s)")
            results["workloads"].append({"key": w[0], "title": w[1], "args": w[2], "unit": w[3], "rows": [],
                                         "skipped": [("all", f"over the time budget of {BUDGET:.0f} s")]})
            continue
        log(f"workload {w[0]}: {w[1]}")
        results["workloads"].append(run_workload(*w))
    over = lambda: time.time() - T0 > BUDGET + 60
    if (not ONLY or "ch30" in ONLY) and not over():
        log("UNP chapter 30 table")
        results["chapter30"] = chapter30()
    if (not ONLY or "10k" in ONLY) and not over():
        log("10,000 connections")
        results["tenk"] = tenk()
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    if (not ONLY or "link" in ONLY) and not over():
        log("the lab network's link")
        import link
        results["link"] = link.measure(BIN, CBIN, max(1.0, SECS), REPS, log)
    if over():
        results["budget_exceeded"] = True
        log("over the time budget: the remaining tables are left out")
    env["loadavg_end"] = open("/proc/loadavg").read().strip()
    env["seconds"] = round(time.time() - T0, 1)
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        json.dump(results, f, indent=1)
    import report
    with open(MD, "w") as f:
        f.write(report.markdown(results, os.path.join(ROOT, "tools/bench/NOTES.md")))
    log(f"wrote {OUT} and {MD}")


if __name__ == "__main__":
    main()
