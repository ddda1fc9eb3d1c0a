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

echo "## LwM2M wire formats (ordo-one/benchmark)"
swift package --disable-sandbox benchmark --target LwM2MFormats --no-progress

echo "## Memory per registered device with real sockets (RSS and kernel Slab)"
swift build -c release --product fleet-memory
for count in 1000 10000 19000; do .build/release/fleet-memory "$(cd .. && pwd)/.build/release/lwm2m-fleet" "$count"; done

echo "## Scheduling accuracy: 10,000 arrivals/s for 30 s"
./scheduling-accuracy.sh "$(cd .. && pwd)/.build/release/lwm2m-fleet" || echo "(a threshold failed: exit $?)"

echo "## 100,000 devices on this machine"
OUT="$(mktemp -d)/capacity-100k-result.json" ./capacity-100k.sh "$(cd .. && pwd)/.build/release/lwm2m-fleet" || echo "(a threshold failed: exit $?)"

echo "## Against asyncio + aiocoap, same server"
./alternatives/compare.sh "$(cd .. && pwd)/.build/release/lwm2m-fleet" --ours-modes cycle,churn
