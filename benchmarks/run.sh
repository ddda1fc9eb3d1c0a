#!/usr/bin/env bash
# Runs every benchmark of this folder; `make bench` from the repository root calls it.
# Results go to standard output; record them in RESULTS.md with the machine they ran on.
set -euo pipefail
cd "$(dirname "$0")"

echo "## CoAP codec micro-benchmarks (ordo-one/benchmark, allocations counted)"
swift package --disable-sandbox benchmark --target CoAPCodec --no-progress

echo "## Fleet hot paths: client Register/Update, server Register/De-register, CoAP endpoint round trip"
swift package --disable-sandbox benchmark --target FleetHotPaths --no-progress

echo "## Raw UDP ceiling vs the CoAP endpoint path (same run, same responder process)"
swift build -c release --product udp-ceiling
.build/release/udp-ceiling compare --sockets 1000 10000 --seconds "${SECONDS_PER_RUN:-10}"

echo "## Embedded server: registrations/s with 1,000 and with 150,000 registrations held"
(cd .. && swift build -c release --product lwm2m-fleet)
swift build -c release --product register-flood
.build/release/register-flood "$(cd .. && pwd)/.build/release/lwm2m-fleet" 10000 5 150000

echo "## Client memory per registered device"
swift build -c release --product client-memory
.build/release/client-memory 100000
