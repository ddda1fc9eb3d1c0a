#!/bin/sh
# One shard of a fleet run: the command of each pod of the Indexed Job (shards-job.yaml), and of
# the local test that plays the Job (KubernetesShardReproductionTests), so both run the same line.
#
# Kubernetes sets JOB_COMPLETION_INDEX (0..N-1) in each pod of an Indexed Job; the Job sets the
# others. Pod I runs the devices whose global index % SHARDS == I and writes part-I.json.
#   SHARDS        required: N, the Job's completions
#   SEED          required: one seed for every shard (merge refuses parts of different seeds)
#   FLEET         the fleet file (default /etc/lwm2m-fleet/fleet.yaml, the ConfigMap's)
#   RESULTS       where the part goes (default /results, the shared volume)
#   WORKERS       optional: worker processes in this pod (default: one per core the pod sees)
#   LWM2M_FLEET   the binary (default lwm2m-fleet on PATH)
# Arguments given to this script go on to `lwm2m-fleet run`.
set -eu

index="${JOB_COMPLETION_INDEX:?is set by Kubernetes in the pods of an Indexed Job (completionMode: Indexed)}"
shards="${SHARDS:?must be the number of shards, the Job's completions}"
seed="${SEED:?must be set, the same for every shard: merge takes only the parts of one run}"
fleet="${FLEET:-/etc/lwm2m-fleet/fleet.yaml}"
results="${RESULTS:-/results}"

if [ -n "${WORKERS:-}" ]; then
    set -- --workers "$WORKERS" "$@"
fi

# exec: the binary becomes the container's first process and gets the SIGTERM of an eviction
# itself (a shell there would not pass it on).
exec "${LWM2M_FLEET:-lwm2m-fleet}" run "$fleet" --seed "$seed" \
    --shard "$index/$shards" --out "$results/part-$index.json" "$@"
