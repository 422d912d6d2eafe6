#!/usr/bin/env bash
# `make compare [SCENARIO=NAME]`: run the differential scenarios (socklab
# and its C twins in c_compat/, each under strace) and print a table:
# scenario, Rust syscalls, C syscalls, identical or not; for a scenario
# that differs, the two normalised traces side by side. With SCENARIO=NAME,
# that scenario's two traces side by side even when they agree. Then the
# emitted twins' tables (`socklab script FILE --emit c|python`, issue 17):
# script labs and examples, then the records of programs and network labs.
# The scenarios and normalisation rules: tests/suite/programs/differential/,
# tests/suite/harness/cmp/.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v strace >/dev/null || { echo "compare: strace is missing (make deps)" >&2; exit 1; }
make -s -C c_compat
export SCENARIO="${SCENARIO:-}"
# One ignored report test, its table printed; its failure is the run's
# (not an exit: under set -e and pipefail the next tables would be lost).
status=0
report() {
  cargo test --release -q --test suite -- --ignored --exact --nocapture "$1" 2>&1 |
    grep -v -E '^(running 1 test|test result: |\.$)' | sed '/^$/N;/^\n$/D'
}
report programs::differential::compare_report || status=1
if [ -z "$SCENARIO" ]; then
  # The emitted twins (issue 17): every script lab and example, as C and as Python.
  report script::emit_compare::emit_compare_report || status=1
  # The emitted twins of records: socklab's programs and the network labs (root).
  report script::emit_compare::emit_records_compare_report || status=1
fi
exit "$status"
