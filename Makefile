# socklab: `make demo` shows it, `make test` proves it.
CARGO ?= cargo
BIN := target/release/socklab

.PHONY: all build deps demo test lint clean

all: build

build:
	$(CARGO) build --release

# Debian packages the tests use (strace, socat, netcat-openbsd): installed
# when missing and run as root; under CI=true a missing one fails the run.
deps:
	@tools/install-deps.sh

demo: build
	$(BIN) demo

test: deps
	$(CARGO) test --release

lint:
	$(CARGO) fmt --check
	$(CARGO) clippy --release --all-targets -- -D warnings

clean:
	$(CARGO) clean
