#!/usr/bin/env bash
# Rewrite README.md's emitted example (examples/connect-twice.script, its
# C and Python twins whole) and its `--emit python --explain` block from
# what `socklab script --emit` prints now, then check them: run it after a
# change to the emitted programs (src/script/emit/), and read the diff.
# The regions are README.md's `<!-- emit-...: -->` ... `<!-- /emit-... -->`;
# tests/suite/script/emit_readme.rs writes them (UPDATE_README=1) and
# checks them (without it, as `make test` does).
set -euo pipefail
cd "$(dirname "$0")/.."
test=script::emit_readme::emit_readme_programs_are_what_emit_prints
cargo build --release -q
UPDATE_README=1 cargo test --release -q --test suite -- --exact "$test"
cargo test --release -q --test suite -- --exact "$test"
git diff --stat -- README.md
