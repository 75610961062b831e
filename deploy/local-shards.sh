#!/usr/bin/env bash
# Run one period as N shards on this machine, at once, then merge them: the
# same flow as the Kubernetes Indexed Job, with one process per index.
#   deploy/local-shards.sh CONFIG PERIOD N OUT [STATE]
# STATE is a SQLite file or a postgres:// URL (default: the config's store).
# Prints each shard's time and the merge's; exits non-zero if any failed.
set -euo pipefail
config=$1 period=$2 n=$3 out=$4 state=${5:-}
bin=${NEIGHBORLY:-neighborly}
extra=()
[[ -n $state ]] && extra+=(--state "$state")
start=$(date +%s.%N)
pids=()
for ((k = 0; k < n; k++)); do
  JOB_COMPLETION_INDEX=$k "$bin" run --config "$config" --period "$period" \
    --out "$out" --shards "$n" "${extra[@]}" > "$out.shard-$k.log" 2>&1 &
  pids+=($!)
done
failed=0
for ((k = 0; k < n; k++)); do
  if ! wait "${pids[$k]}"; then
    echo "shard $k/$n failed: see $out.shard-$k.log" >&2
    failed=1
  fi
done
[[ $failed == 0 ]] || exit 1
shards=()
for ((k = 0; k < n; k++)); do shards+=("$out/shard-$k"); done
"$bin" merge --config "$config" --period "$period" --out "$out" "${shards[@]}"
end=$(date +%s.%N)
awk -v s="$start" -v e="$end" -v n="$n" 'BEGIN { printf "%d shards + merge: %.1f s\n", n, e - s }'
