#!/usr/bin/env bash
# handshake-cpu.sh: CPU per DTLS handshake, full and resumed, on the devices' side and on the
# embedded server's (issue 15). 10,000 devices register (1,000/s) and send an Update every 10 s
# for a minute, three times: over plain CoAP (the baseline), over DTLS with a full handshake
# before every Update (`handshake: every-update`), and the same resuming each device's last
# session (`resume: true`). Each run goes through capacity-100k.sh, which samples the processes'
# CPU time from /proc; this prints the CPU of the workers and of the embedded server per run, and
# the extra CPU per handshake against the baseline.
#
#   benchmarks/handshake-cpu.sh [LWM2M_FLEET_BINARY]
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
binary=${1:-}
if [[ -z $binary ]]; then
    (cd "$repo" && swift build -c release --product lwm2m-fleet >&2)
    binary="$repo/.build/release/lwm2m-fleet"
fi
logs=$(mktemp -d /tmp/handshake-cpu.XXXXXX)
for mode in nosec full resumed; do
    FLEET="$repo/benchmarks/handshake-cpu/$mode.yaml" WORKERS=2 OUT="$logs/$mode.json" LOG_DIR="$logs/$mode" \
        "$repo/benchmarks/capacity-100k.sh" "$binary" >"$logs/$mode.out" 2>&1 || true
done
python3 - "$logs" <<'PY'
import json, sys
logs = sys.argv[1]
cpu, counts = {}, {}
for mode in ["nosec", "full", "resumed"]:
    ticks = {}
    for line in open(f"{logs}/{mode}/samples"):
        fields = line.split()
        if fields[0] == "proc":
            ticks[fields[3]] = max(ticks.get(fields[3], 0), int(fields[6]))
    server = ticks.get("server", 0) / 100
    workers = sum(value for name, value in ticks.items() if name.startswith("worker")) / 100
    operations = json.load(open(f"{logs}/{mode}.json"))["metrics"]["operations"]
    def count(name):
        return operations.get(name, {}).get("latency", {}).get("count", 0)
    cpu[mode] = (workers, server)
    counts[mode] = (count("handshake"), count("handshake-resumed"), count("update"))
    print(f"{mode:8} workers {workers:6.2f} s  server {server:6.2f} s  full handshakes {counts[mode][0]:6}  resumed {counts[mode][1]:6}  updates {counts[mode][2]}")
base_workers, base_server = cpu["nosec"]
full = counts["full"][0]
full_workers = (cpu["full"][0] - base_workers) / full
full_server = (cpu["full"][1] - base_server) / full
first, resumed = counts["resumed"][0], counts["resumed"][1]
resumed_workers = (cpu["resumed"][0] - base_workers - first * full_workers) / resumed
resumed_server = (cpu["resumed"][1] - base_server - first * full_server) / resumed
print(f"per full handshake:    devices {full_workers * 1e6:5.0f} us  server {full_server * 1e6:5.0f} us")
print(f"per resumed handshake: devices {resumed_workers * 1e6:5.0f} us  server {resumed_server * 1e6:5.0f} us")
print(f"results in {logs}")
PY
