#!/usr/bin/env bash
# million.sh: runs benchmarks/million/million.yaml (a million devices registered from one
# machine) and reports devices held, memory per device (RSS of every process, and the kernel's:
# slab and socket memory from /proc/meminfo and /proc/net/sockstat) and what limited it first.
#
#   benchmarks/million/million.sh [LWM2M_FLEET_BINARY]
#
# Samples every 5 s, lightly (no per-process file counting: 64 workers with 15,000 sockets each
# would make the sampler a load of its own). Environment: OUT (result JSON, default
# million-result.json), LOG_DIR (default a new directory under /tmp), WORKERS (default 64).
set -euo pipefail
repo=$(cd "$(dirname "$0")/../.." && pwd)
out=$(readlink -m "${OUT:-million-result.json}")
logs=${LOG_DIR:-$(mktemp -d /tmp/million.XXXXXX)}
workers=${WORKERS:-64}
mkdir -p "$logs"
if [[ $# -ge 1 ]]; then binary=$(readlink -f "$1"); else
    (cd "$repo" && swift build -c release --product lwm2m-fleet >&2); binary="$repo/.build/release/lwm2m-fleet"; fi

meminfo() { awk '/^(MemAvailable|Slab|SUnreclaim):/ {printf "%s %s ", $1, $2}' /proc/meminfo; }
sockstat() { awk '/^UDP:/ {print "udp_inuse", $3, "udp_mem_pages", $5}' /proc/net/sockstat; }
descendants() { local pid; for pid in "$@"; do echo "$pid"; for child in $(pgrep -P "$pid"); do descendants "$child"; done; done; }

echo "binary $binary, $workers workers, open-file limit $(ulimit -n), $(nproc) cores, $(free -g | awk '/^Mem:/ {print $2}') GiB"
echo "before: $(meminfo) $(sockstat)" | tee "$logs/samples"
cd "$repo"
status=0
timeout --signal=INT --kill-after=60 15m "$binary" run benchmarks/million/million.yaml --workers "$workers" --out "$out" \
    >"$logs/stdout" 2>"$logs/stderr" &
run=$!
start=$SECONDS
while kill -0 "$run" 2>/dev/null; do
    rss=0; server=0; count=0
    for pid in $(descendants "$run"); do
        kb=$(awk '/^VmRSS/ {print $2}' /proc/"$pid"/status 2>/dev/null) || continue
        [[ -z $kb ]] && continue
        rss=$((rss + kb)); count=$((count + 1))
        if tr '\0' ' ' </proc/"$pid"/cmdline 2>/dev/null | grep -q ' serve '; then server=$kb; fi
    done
    echo "t $((SECONDS - start)) processes $count rss_kb $rss server_rss_kb $server $(meminfo) $(sockstat) load $(cut -d' ' -f1 /proc/loadavg)" >>"$logs/samples"
    sleep 5
done
wait "$run" || status=$?
echo "exit status $status; logs in $logs"
tail -1 "$logs/samples"
grep -E "^(register|arrivals|embedded server|loop lag)|devices started|peak|thresholds|PASS|FAIL" "$logs/stdout" | head -20
python3 - "$logs/samples" <<'PY'
import sys
before = None; best = None
for line in open(sys.argv[1]):
    f = line.split()
    d = {f[i].rstrip(':'): f[i + 1] for i in range(len(f) - 1) if not f[i].replace('.', '').isdigit()}
    if line.startswith('before'):
        before = d
    elif 'udp_inuse' in d and (best is None or int(d['udp_inuse']) > int(best['udp_inuse'])):
        best = d
if before and best:
    sockets = int(best['udp_inuse']) - int(before['udp_inuse'])
    rss = int(best['rss_kb']) * 1024
    slab = (int(best['Slab']) - int(before['Slab'])) * 1024
    udp_mem = (int(best['udp_mem_pages']) - int(before['udp_mem_pages'])) * 4096
    print(f"at the most sockets ({sockets} UDP sockets open, t={best['t']} s): RSS of all processes {rss / 2**30:.2f} GiB "
          f"({rss / max(sockets, 1):.0f} B per socket), server {int(best['server_rss_kb']) / 2**20:.2f} GiB, kernel slab +{slab / 2**30:.2f} GiB "
          f"({slab / max(sockets, 1):.0f} B per socket), UDP buffer memory {udp_mem / 2**20:.1f} MiB, "
          f"MemAvailable {int(best['MemAvailable']) / 2**20:.1f} GiB")
PY
exit "$status"
