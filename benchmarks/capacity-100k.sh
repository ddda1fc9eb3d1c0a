#!/usr/bin/env bash
# capacity-100k.sh: runs fleets/capacity-100k.yaml (100,000 devices bootstrap, register, update for
# 2 minutes, deregister against the embedded servers) and prints what issue 8 asks for: time to
# all registered, register latency p50/p99/p999, failures by operation, dropped arrivals, loop lag,
# retransmissions, peak RSS and open files of the processes, UDP receive-buffer drops, the load
# average, and the embedded server's counts. Findings: benchmarks/CAPACITY-100K-FINDINGS.md.
#
#   benchmarks/capacity-100k.sh [LWM2M_FLEET_BINARY]
#
# Without an argument it builds the release binary of this checkout first. Environment:
#   FLEET     another fleet file to run and report the same way (default fleets/capacity-100k.yaml)
#   WORKERS   worker processes (default 12). A fleet file cannot set them; the run refuses workers
#             that could open more sockets than the open-file limit allows (one per device, two
#             while it bootstraps): with ulimit -n 20000 this fleet needs 7 or more (at cfd9299, 11).
#   OUT       the result JSON (default: capacity-100k-result.json in the current directory)
#   LOG_DIR   where the run's stdout, stderr and samples go (default: a new directory under /tmp)
#   RUN_ARGS  more arguments for `run`, such as --metrics-port 0 (default none)
# The run ends by itself (about 4 minutes): the file's duration-limit is 5 minutes, and `timeout`
# stops it at 8.
# Exit status: the run's (0, or 99 when a threshold of the file failed).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
fleet=$(readlink -f "${FLEET:-$repo/fleets/capacity-100k.yaml}")
workers=${WORKERS:-12}
out=$(readlink -f "${OUT:-capacity-100k-result.json}")
logs=${LOG_DIR:-$(mktemp -d /tmp/capacity-100k.XXXXXX)}
mkdir -p "$logs"

if [[ $# -ge 1 ]]; then
    binary=$(readlink -f "$1")
else
    (cd "$repo" && swift build -c release --product lwm2m-fleet >&2)
    binary="$repo/.build/release/lwm2m-fleet"
fi
[[ -x $binary ]] || { echo "capacity-100k.sh: $binary is not an executable lwm2m-fleet" >&2; exit 2; }

echo "binary $binary, $workers workers, open-file limit $(ulimit -n), $(nproc) cores"
echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
# The embedded server binds 127.0.0.1 with a port the kernel picks; another run holding every
# ephemeral port of 127.0.0.1 makes it fail with "the embedded server did not start".
if command -v ss >/dev/null; then
    held=$(ss -uan | awk '$4 ~ /^127\.0\.0\.1:/' | wc -l)
    range=$(awk '{print $2 - $1 + 1}' /proc/sys/net/ipv4/ip_local_port_range)
    if ((held > range - 100)); then
        echo "warning: $held UDP sockets already hold 127.0.0.1 ports (ephemeral range $range): the embedded server may not start" >&2
    fi
fi

# Descendants of a process (the workers and the embedded server are children of the run).
descendants() {
    local pid child
    for pid in "$@"; do
        echo "$pid"
        for child in $(pgrep -P "$pid"); do descendants "$child"; done
    done
}

# Once a second: each process's RSS, peak RSS (VmHWM), CPU ticks and open files; the load average.
sample() {
    local run=$1 start=$SECONDS
    while kill -0 "$run" 2>/dev/null; do
        local now=$((SECONDS - start)) pid
        echo "load $now $(cut -d' ' -f1-3 /proc/loadavg)" >>"$logs/samples"
        # Machine-wide UDP receive-buffer drops (other processes' too): InErrors, RcvbufErrors.
        echo "udp $now $(awk '/^Udp:/ && $2 ~ /^[0-9]/ {print $4, $6}' /proc/net/snmp)" >>"$logs/samples"
        for pid in $(descendants "$run"); do
            local rss hwm cmd ticks fds
            rss=$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null) || continue
            hwm=$(awk '/^VmHWM/ {print $2}' /proc/"$pid"/status 2>/dev/null) || continue
            ticks=$(awk '{print $14 + $15}' /proc/"$pid"/stat 2>/dev/null) || continue
            fds=$(ls /proc/"$pid"/fd 2>/dev/null | wc -l)
            cmd=$(tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | awk '{print $2 == "serve" ? "server" : ($4 == "--shard" ? "worker-" $5 : "parent")}')
            [[ -n $rss && -n $cmd ]] && echo "proc $now $pid $cmd ${rss:-0} ${hwm:-0} ${ticks:-0} ${fds:-0}" >>"$logs/samples"
        done
        sleep 1
    done
}

cd "$repo"
rm -f "$out"
status=0
timeout --signal=INT --kill-after=60 8m \
    "$binary" run "$fleet" --workers "$workers" --out "$out" ${RUN_ARGS:-} >"$logs/stdout" 2>"$logs/stderr" &
run=$!
sample "$run" &
sampler=$!
wait "$run" || status=$?
wait "$sampler" || true

echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
echo "exit status $status; stdout, stderr (worker 0's progress) and samples in $logs"
grep -h '^embedded server:' "$logs/stdout" || echo "embedded server: no summary line"
if [[ ! -s $out ]]; then
    echo "no result file $out; last lines of stderr:" >&2
    tail -20 "$logs/stderr" >&2
    exit "${status:-1}"
fi

python3 - "$out" "$logs/samples" <<'PY'
import json, math, sys
from collections import defaultdict

result = json.load(open(sys.argv[1]))
metrics = result["metrics"]

def percentile(histogram, p):
    """HdrHistogram's valueAtPercentile from the result file's [lowest value, count] buckets:
    the highest value of the bucket that holds the p-th percentile, at most the maximum."""
    total = histogram.get("count", 0)
    if total == 0:
        return 0
    digits = histogram["significantDigits"]
    sub_bucket_count = 2 ** math.ceil(math.log2(2 * 10 ** digits))
    half_magnitude = int(math.log2(sub_bucket_count)) - 1
    unit_magnitude = int(math.log2(histogram["lowestDiscernibleNanoseconds"]))
    mask = (sub_bucket_count - 1) << unit_magnitude
    wanted = max(1, math.ceil(math.nextafter(p, 0) * total / 100))
    seen = 0
    for lowest, count in histogram["buckets"]:
        seen += count
        if seen >= wanted:
            bucket_index = max(0, (lowest | mask).bit_length() - 1 - unit_magnitude - half_magnitude)
            highest = lowest + (1 << (unit_magnitude + bucket_index)) - 1
            return min(highest, histogram["maxNanoseconds"])
    return histogram["maxNanoseconds"]

def ms(ns):
    return f"{ns / 1e6:.3f} ms"

devices = int(metrics["arrivals"]) if metrics["arrivals"] else 0
spec_count = None
for line in result["spec"]["text"].splitlines():
    if line.strip().startswith("count:"):
        spec_count = int(line.split(":")[1])
series = metrics["timeSeries"]
all_registered = next((p["elapsedNanoseconds"] for p in series if p["registeredDevices"] >= spec_count), None)
peak = max(series, key=lambda p: p["registeredDevices"]) if series else None
print()
print(f"devices in the file {spec_count}, arrivals {metrics['arrivals']}, dropped arrivals {metrics['droppedArrivals']}")
if all_registered is not None:
    print(f"time to all registered: {all_registered / 1e9:.0f} s (first one-second interval that ends with all {spec_count} registered)")
    last_all = max(p["elapsedNanoseconds"] for p in series if p["registeredDevices"] >= spec_count)
    print(f"all {spec_count} registered together from {all_registered / 1e9:.0f} s to {last_all / 1e9:.0f} s ({(last_all - all_registered) / 1e9:.0f} s)")
else:
    print(f"time to all registered: never (at most {peak['registeredDevices'] if peak else 0} registered, at {peak['elapsedNanoseconds'] / 1e9:.0f} s)" if peak else "time to all registered: no time series")

register = metrics["operations"].get("register", {})
if register:
    latency = register["latency"]
    print("register latency: p50 {}  p99 {}  p999 {}  max {}".format(
        ms(percentile(latency, 50)), ms(percentile(latency, 99)), ms(percentile(latency, 99.9)), ms(latency["maxNanoseconds"])))
print()
print(f"{'operation':<18} {'count':>9} {'ok':>9} {'failed':>7} {'timeouts':>8} {'p50':>12} {'p99':>12} {'p999':>12} {'max':>12}")
for name in ["bootstrap", "register", "update", "deregister"] + sorted(k for k in metrics["operations"] if k not in ("bootstrap", "register", "update", "deregister")):
    operation = metrics["operations"].get(name)
    if not operation:
        continue
    latency = operation["latency"]
    cells = [ms(percentile(latency, p)) for p in (50, 99, 99.9)] + [ms(latency["maxNanoseconds"])] if latency.get("count") else ["-"] * 4
    print(f"{name:<18} {operation['count']:>9} {operation['succeeded']:>9} {operation['failed']:>7} {operation['timeouts']:>8} " + " ".join(f"{c:>12}" for c in cells))
lag = metrics["loopLag"]
print()
print(f"loop lag: p50 {ms(percentile(lag, 50))}  p99 {ms(percentile(lag, 99))}  p999 {ms(percentile(lag, 99.9))}  max {ms(lag['maxNanoseconds'])}  ({lag['count']} probes)")
lateness = metrics.get("arrivalLateness")
if lateness and lateness.get("count"):
    print(f"arrival lateness (device start behind its intended time): p50 {ms(percentile(lateness, 50))}  "
          f"p99 {ms(percentile(lateness, 99))}  max {ms(lateness['maxNanoseconds'])}")
print(f"retransmissions {metrics['retransmissions']}, violations {metrics['violations']}, devices at the end {metrics['devicesByState']}")

# Seconds with failures or late registrations, to see which phase they belong to.
def failures(p):
    return sum(window["failed"] for window in p["operations"].values())
def register_p99(p):
    return ((p["operations"].get("register") or {}).get("latency", {}).get("percentiles", {}).get("p99") or 0)
bad = [(p["elapsedNanoseconds"] / 1e9, failures(p), register_p99(p) / 1e6) for p in series
       if failures(p) or register_p99(p) > 50e6]
if bad:
    print("seconds with failures or register p99 over 50 ms (s, failures, register p99 ms):",
          ", ".join(f"{s:.0f}:{f}:{l:.0f}" for s, f, l in bad[:40]) + (" ..." if len(bad) > 40 else ""))

print()
print("thresholds:")
for threshold in result["thresholds"]:
    observed = threshold["observed"]
    shown = ms(observed) if any(k in threshold["metric"] for k in ("latency.", "service.", "loop_lag.")) else f"{observed:g}"
    print(f"  {'PASS' if threshold['passed'] else 'FAIL'}  {threshold['expression']}  (observed {shown})")

# Peak RSS per process (VmHWM), the largest sum of RSS at one sample, CPU seconds per process.
peak_hwm, peak_fds, cpu, role = {}, {}, {}, {}
total_by_second = defaultdict(int)
loads, drops = [], []
try:
    for line in open(sys.argv[2]):
        fields = line.split()
        if fields[0] == "load":
            loads.append(float(fields[2]))
        elif fields[0] == "udp" and len(fields) == 4:
            drops.append((int(fields[1]), int(fields[3])))
        elif fields[0] == "proc" and len(fields) == 8:  # a process that ended mid-sample leaves fields out
            _, second, pid, name, rss, hwm, ticks, fds = fields
            peak_fds[pid] = max(peak_fds.get(pid, 0), int(fds))
            role[pid] = name
            peak_hwm[pid] = max(peak_hwm.get(pid, 0), int(hwm))
            cpu[pid] = int(ticks) / 100
            total_by_second[second] += int(rss)
except FileNotFoundError:
    pass
if peak_hwm:
    workers = [pid for pid in peak_hwm if role[pid].startswith("worker")]
    servers = [pid for pid in peak_hwm if role[pid] == "server"]
    print()
    if workers:
        print(f"peak RSS of a worker {max(peak_hwm[p] for p in workers) / 1024:.0f} MiB (of {len(workers)} workers; "
              f"CPU {min(cpu[p] for p in workers):.0f}-{max(cpu[p] for p in workers):.0f} s each by the last sample)")
        print(f"most open files in a worker {max(peak_fds[p] for p in workers)} (the limit is per process)")
    for pid in servers:
        print(f"peak RSS of the embedded server {peak_hwm[pid] / 1024:.0f} MiB (CPU {cpu[pid]:.0f} s by the last sample)")
    print(f"largest RSS of all processes together {max(total_by_second.values()) / 1024:.0f} MiB")
if len(drops) > 1:
    # Seconds in which UDP datagrams were dropped for a full receive buffer (machine-wide).
    steps = [(second, now - before) for (_, before), (second, now) in zip(drops, drops[1:]) if now > before]
    print(f"UDP receive-buffer drops on the machine during the run: {drops[-1][1] - drops[0][1]}"
          + (" (s:drops " + ", ".join(f"{s}:{d}" for s, d in steps[:30]) + (" ..." if len(steps) > 30 else "") + ")" if steps else ""))
if loads:
    print(f"1-minute load average during the run: min {min(loads):.2f}, max {max(loads):.2f}, mean {sum(loads) / len(loads):.2f}")
PY
exit "$status"
