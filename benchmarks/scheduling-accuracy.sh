#!/usr/bin/env bash
# Scheduling accuracy (issue 8): fleets/scheduling-accuracy.yaml asks for 10,000 arrivals a second
# for 30 s against the embedded server. Prints, per stage, the target and achieved arrival rates,
# then how late devices started and how late the event loop ran its timers.
#
#   benchmarks/scheduling-accuracy.sh [path/to/lwm2m-fleet] [extra `run` options, e.g. --workers 2]
#
# Exit status: the run's own (0 when every threshold of the fleet file passed, 99 otherwise).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
binary="${1:-}"
if [ -z "$binary" ]; then
    (cd "$root" && swift build -c release --product lwm2m-fleet >&2)
    binary="$root/.build/release/lwm2m-fleet"
else
    shift
fi
result="$(mktemp -d)/scheduling-accuracy.json"
status=0
"$binary" run "$root/fleets/scheduling-accuracy.yaml" --out "$result" --quiet "$@" || status=$?
python3 "$root/benchmarks/result-summary.py" "$result" --arrivals --loop-lag
exit "$status"
