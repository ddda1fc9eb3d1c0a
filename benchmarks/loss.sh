#!/usr/bin/env bash
# loss.sh: what loss does to the bootstrap and registration path (issue 14). 10,000 devices
# bootstrap (client-initiated) and register against the embedded servers, 1,000 a second for 10 s,
# stay registered 20 s and de-register at the end, with 0%, 5% and 20% of the datagrams lost each
# way at the devices (`faults: { loss: N% }`). Prints, per loss: the injected drops, registrations
# per second at the busiest second, bootstrap / register / De-register outcomes and latency
# percentiles, unfinished devices, violations and the requests ignored without proof.
#
#   benchmarks/loss.sh [LWM2M_FLEET_BINARY]
#
# Without an argument it builds the release binary of this checkout first. Environment:
#   LOSSES    the losses to run (default "0% 5% 20%"); WORKERS (default 2); OUT_DIR (default a new
#             directory under /tmp) keeps each run's result JSON and output.
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
if [[ $# -ge 1 ]]; then
    binary=$(readlink -f "$1")
else
    (cd "$repo" && swift build -c release --product lwm2m-fleet >&2)
    binary="$repo/.build/release/lwm2m-fleet"
fi
out=${OUT_DIR:-$(mktemp -d /tmp/loss.XXXXXX)}
mkdir -p "$out"
echo "binary $binary, workers ${WORKERS:-2}, $(nproc) cores, results in $out"

for loss in ${LOSSES:-0% 5% 20%}; do
    name=${loss%\%}
    fleet="$out/loss-$name.yaml"
    cat >"$fleet" <<YAML
seed: 14
duration-limit: 10m
server: embedded
devices:
  - count: 10000
    bootstrap: client-initiated
    lifetime: 300s
    faults: { loss: $loss }
stages:
  - { duration: 10s, rate: 1000/s }
  - { duration: 20s, hold: true }
end: { mode: deregister, grace: 100s }
YAML
    status=0
    "$binary" run "$fleet" --workers "${WORKERS:-2}" --out "$out/loss-$name.json" --quiet >"$out/loss-$name.out" 2>&1 || status=$?
    echo
    echo "== loss $loss each way (exit $status)"
    python3 - "$out/loss-$name.json" <<'PY'
import json, sys
result = json.load(open(sys.argv[1]))
m = result["metrics"]

def percentile(h, fraction):
    total = h.get("count", 0)
    if total == 0:
        return float("nan")
    seen = 0
    for value, count in h["buckets"]:
        seen += count
        if seen >= fraction * total:
            return value / 1e6
    return h.get("maxNanoseconds", 0) / 1e6

faults = m.get("faults") or {}
print("injected:", json.dumps(faults, sort_keys=True))
peak = max(((p["operations"].get("register") or {}).get("count", 0) for p in m["timeSeries"]), default=0)
print(f"registrations: peak {peak}/s")
for name in ["bootstrap", "register", "deregister"]:
    op = m["operations"].get(name)
    if not op:
        continue
    lat = op["latency"]
    print(f"{name:11} count {op['count']:6} ok {op['succeeded']:6} failed {op['failed']:4} timeouts {op['timeouts']:4} "
          f"retransmissions {op.get('retransmissions', 0):6}  p50 {percentile(lat, .5):9.3f} ms  p99 {percentile(lat, .99):9.3f} ms  "
          f"p999 {percentile(lat, .999):9.3f} ms")
print("unfinished:", json.dumps(m.get("unfinishedDevices", {}), sort_keys=True),
      "violations:", m.get("violations"), "ignored, not proven:", m.get("ignoredUnproven"))
PY
done
