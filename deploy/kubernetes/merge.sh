#!/bin/sh
# Merges the parts the Indexed Job's shards wrote into one result: the command of the merge Job
# (merge-job.yaml) and of the local test that plays it.
#
#   SHARDS        required: N, the shard Job's completions; part-0.json .. part-(N-1).json are merged
#   RESULTS       where the parts are and result.json goes (default /results)
#   LWM2M_FLEET   the binary (default lwm2m-fleet on PATH)
# Arguments given to this script go on to `lwm2m-fleet merge` (e.g. --allow-partial).
#
# Only this run's N parts are given, so a part left on the volume by an earlier run with more
# shards is not taken; a missing part is named here, and `merge` then refuses the set (exit 104)
# unless --allow-partial was given.
set -eu

shards="${SHARDS:?must be the number of shards, the shard Job's completions}"
results="${RESULTS:-/results}"
case "$shards" in
    '' | *[!0-9]* | 0)
        echo "merge.sh: SHARDS must be a number above 0, got '$shards'" >&2
        exit 104 ;;
esac

found=0
index=0
while [ "$index" -lt "$shards" ]; do
    part="$results/part-$index.json"
    if [ -f "$part" ]; then
        set -- "$@" "$part"
        found=$((found + 1))
    else
        echo "merge.sh: no $part: shard $index/$shards wrote no result (see its pod's log)" >&2
    fi
    index=$((index + 1))
done

if [ "$found" -eq 0 ]; then
    echo "merge.sh: no part-*.json for $shards shards in $results" >&2
    exit 104
fi

exec "${LWM2M_FLEET:-lwm2m-fleet}" merge "$@" --out "$results/result.json"
