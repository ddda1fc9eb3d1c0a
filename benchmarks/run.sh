#!/usr/bin/env bash
# Runs every benchmark of this folder; `make bench` from the repository root calls it.
# Results go to standard output; record them in RESULTS.md with the machine they ran on.
set -euo pipefail
cd "$(dirname "$0")"

echo "## CoAP codec micro-benchmarks (ordo-one/benchmark, allocations counted)"
swift package --disable-sandbox benchmark --target CoAPCodec --no-progress

echo "## Raw UDP ceiling vs the CoAP endpoint path (same run, same responder process)"
swift build -c release --product udp-ceiling
.build/release/udp-ceiling compare --sockets 1000 10000 --seconds "${SECONDS_PER_RUN:-10}"
