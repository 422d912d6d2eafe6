#!/usr/bin/env bash
# Install the Debian packages that socklab's tests and benchmarks drive
# (strace, socat, nc, ...), when they are missing. Root installs them with
# apt-get; anyone else is told what to install. Under CI=true a tool that is
# still missing is a failure, never a silent skip.
set -euo pipefail

# command:package pairs
wanted=("strace:strace" "socat:socat" "nc:netcat-openbsd" "ss:iproute2" "cc:gcc" "make:make" "tcpdump:tcpdump" "iperf3:iperf3" "python3:python3")
missing=()
for pair in "${wanted[@]}"; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
  echo "installing missing packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing packages: ${missing[*]} (install them: sudo apt-get install ${missing[*]})" >&2
  [[ ${CI:-} == true ]] && exit 1
fi
