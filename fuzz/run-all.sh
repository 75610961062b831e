#!/usr/bin/env bash
# Run every fuzz target for SECONDS each (default 600), two at a time, on
# the seeds in seeds/<target> and the corpus grown in corpus/<target>.
# Needs the nightly toolchain and cargo-fuzz (`cargo install cargo-fuzz`).
# Crashes are saved in artifacts/<target>/; each run's last lines in logs/.
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
targets=(customers usage interval greenbutton config wording tips lists)
mkdir -p logs
run() {
  local t=$1
  mkdir -p "corpus/$t"
  if cargo +nightly fuzz run -O -s none "$t" "corpus/$t" "seeds/$t" -- \
      -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
      > "logs/$t.log" 2>&1; then
    echo "$t: no crash; $(grep -E '^stat::number_of_executed_units' "logs/$t.log" | awk '{print $2}') runs"
  else
    echo "$t: FAILED, see fuzz/logs/$t.log and fuzz/artifacts/$t/"
  fi
}
for ((i = 0; i < ${#targets[@]}; i += 2)); do
  run "${targets[i]}" &
  if ((i + 1 < ${#targets[@]})); then run "${targets[i + 1]}" & fi
  wait
done
