# socklab: `make demo` shows it, `make test` proves it.
CARGO ?= cargo
BIN := target/release/socklab

.PHONY: all build deps demo labs test lint clean c compare bench bench-scale fuzz soak faults

all: build

build:
	$(CARGO) build --release

# Debian packages the tests use (strace, socat, netcat-openbsd, tcpdump, iperf3,
# iproute2, gcc, make, python3: tools/install-deps.sh): installed
# when missing and run as root; under CI=true a missing one fails the run.
deps:
	@tools/install-deps.sh

demo: build
	$(BIN) demo

# Every experiment of the tutorial and of UNP, self-checking, with a summary.
labs: build
	$(BIN) lab all

test: deps c
	$(CARGO) test --release

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

clean:
	$(CARGO) clean
	$(MAKE) -C c_compat clean

# The C twins of every program (c_compat/bin/), in the style of UNP.
c:
	$(MAKE) -C c_compat

# Rust and C side by side under strace: a table of every scenario, or
# one scenario's two traces with SCENARIO=NAME.
compare: deps c
	@SCENARIO=$(SCENARIO) tools/compare.sh

# Issue #8: the parsers' fuzz harness (tests/suite/reliability/fuzz) for
# longer than the fraction of a second `make test` gives it: FUZZ_SECS
# seconds per target.
FUZZ_SECS ?= 60
fuzz:
	SOCKLAB_FUZZ_SECS=$(FUZZ_SECS) $(CARGO) test --release --test suite -- reliability::fuzz:: --nocapture

# Issue #8: tests/suite/sys/faults with every errno of each call's list (make
# test injects the first one and EINTR).
faults: deps
	SOCKLAB_FAULTS=all $(CARGO) test --release --test suite -- sys::faults:: --nocapture

# Issue #8: tests/suite/reliability/soak.rs with more clients (make test
# runs 400 per server).
SOAK_CLIENTS ?= 5000
soak: build
	SOCKLAB_SOAK_CLIENTS=$(SOAK_CLIENTS) $(CARGO) test --release --test suite -- reliability::soak:: --nocapture

# The benchmark matrix (BENCHMARKS.md, bench/results.json): socklab's
# servers beside their C twins, socat, the tutorial's Python server and
# iperf3, on loopback. BENCH_SECS, BENCH_REPS, BENCH_PIN, BENCH_ONLY: see
# tools/bench/run.py. Under 10 minutes from a clean clone.
bench: deps c build
	python3 tools/bench/run.py

# Issue 18: 100,000 concurrent connections against the epoll and uring
# servers and their C twins (tools/bench/scale.py): echoes/s, every
# connection echoed, RSS per connection; its section of BENCHMARKS.md.
# A few minutes. BENCH_SCALE_CONNS, BENCH_SECS (3), BENCH_REPS (3).
bench-scale: c build
	python3 tools/bench/scale.py
