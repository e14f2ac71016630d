#!/usr/bin/env bash
# Long fuzzing runs (docs/RELIABILITY.md): every libFuzzer target for SECONDS (default 3600), all
# at once, each growing its own corpus in BUILD/test/fuzz/long/<target> from the checked-in
# seeds. Crashes land beside the corpus as crash-*/leak-*/timeout-*; a summary line per target.
#   bash test/fuzz/run_long.sh [SECONDS] [BUILD]     (BUILD: default build)
set -uo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
seconds=${1:-3600}
bin=${2:-$root/build}/test/fuzz
for target in safetensors spec_mlir spec_flags; do
  [ -x "$bin/fuzz_$target" ] || { echo "no $bin/fuzz_$target: configure with -DGRUGEN_FUZZ=ON"; exit 1; }
  dict=()
  [ -f "$root/test/fuzz/$target.dict" ] && dict=(-dict="$root/test/fuzz/$target.dict")
  mkdir -p "$bin/long/$target"
  (cd "$bin/long" && "$bin/fuzz_$target" -max_total_time="$seconds" -max_len=8192 \
     -print_final_stats=1 "${dict[@]}" -artifact_prefix="$bin/long/$target-" \
     "$bin/long/$target" "$root/test/fuzz/corpus/$target" >"$bin/long/$target.log" 2>&1)&
done
wait
status=0
for target in safetensors spec_mlir spec_flags; do
  log=$bin/long/$target.log
  runs=$(sed -n 's/^stat::number_of_executed_units: //p' "$log")
  corpus=$(ls "$bin/long/$target" | wc -l)
  crashes=$(ls "$bin/long" | grep -c "^$target-\(crash\|leak\|timeout\|oom\)" || true)
  echo "fuzz_$target: ${runs:-?} executions in ${seconds}s, corpus $corpus inputs, $crashes crashes (log: $log)"
  [ "$crashes" = 0 ] && grep -q '^Done ' "$log" || status=1
done
exit $status
