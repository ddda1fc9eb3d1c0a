#!/usr/bin/env bash
# lwm2m-fleet against an asyncio + aiocoap load generator, same run, same embedded server
# (issue 8, item 5). Prints a markdown table on stdout; raw output of every run goes to
# benchmarks/alternatives/.runs/.
#
#   benchmarks/alternatives/compare.sh [LWM2M_FLEET_BINARY] [compare.py options...]
#
# Without a binary, builds the release one of the repository this script lives in. Creates
# benchmarks/alternatives/.venv with requirements.txt when missing. Starts one
# `lwm2m-fleet serve` on loopback for all runs and stops it on exit, errors included.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

if [[ $# -gt 0 && "$1" != --* ]]; then
    binary="$(cd "$(dirname "$1")" && pwd)/$(basename "$1")"
    shift
else
    (cd "$root" && swift build -c release --product lwm2m-fleet >&2)
    binary="$root/.build/release/lwm2m-fleet"
fi
[[ -x "$binary" ]] || { echo "compare.sh: $binary is not an executable" >&2; exit 1; }

venv="$here/.venv"
if [[ ! -x "$venv/bin/python" ]] || ! "$venv/bin/pip" freeze | grep -qxF -f "$here/requirements.txt"; then
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet -r "$here/requirements.txt" >&2
fi

runs="$here/.runs"
mkdir -p "$runs"
# Both generators open one socket per device.
ulimit -n "$(ulimit -Hn)"

server_pid=""
stop_server() {
    if [[ -n "$server_pid" ]] && kill -0 "$server_pid" 2>/dev/null; then
        kill -TERM "$server_pid"
        # Bounded: serve ends within a second of SIGTERM; SIGKILL if it does not.
        for _ in $(seq 50); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$server_pid" 2>/dev/null || true
    fi
}
trap stop_server EXIT
trap 'exit 130' INT TERM

"$binary" serve --host 127.0.0.1 --port 0 --bootstrap-port 0 >"$runs/serve.stdout" 2>"$runs/serve.stderr" &
server_pid=$!
server=""
for _ in $(seq 100); do
    server="$(sed -n 's/^ready .*server=\(127\.0\.0\.1:[0-9]*\).*/\1/p' "$runs/serve.stdout")"
    [[ -n "$server" ]] && break
    kill -0 "$server_pid" 2>/dev/null || { echo "compare.sh: serve exited; see $runs/serve.stderr" >&2; exit 1; }
    sleep 0.1
done
[[ -n "$server" ]] || { echo "compare.sh: serve did not print its ready line within 10 s" >&2; exit 1; }
echo "compare.sh: $binary serve at $server (pid $server_pid)" >&2

"$venv/bin/python" "$here/compare.py" --binary "$binary" --server "$server" --log-dir "$runs" "$@"
