#!/usr/bin/env bash
# The persistent thread team against one thread (bench/team.c): for each H, gru-gen builds a
# library (D = H, fp32, --threads-max THREADS) for the host and team.c times run (L steps) and
# step with and without the team, in turns. Builds gru-gen if needed.
#   bench/team.sh [THREADS [H,H,... [N [L [ROUNDS]]]]]     defaults: 2 256,512 1 128 50
set -euo pipefail
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
threads=${1:-2}
hidden=${2:-256,512}
batch=${3:-1}
seq_len=${4:-128}
rounds=${5:-50}
[ -x "$root/build/bin/gru-gen" ] || bash "$root/tools/build.sh"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
echo "cpu: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for H in ${hidden//,/ }; do
  "$root/build/bin/gru-gen" -q --input-size "$H" --hidden-size "$H" --batch "$batch" \
    --threads-max "$threads" --name team -o "$work/lib$H"
  ${CC:-cc} -O2 -std=c11 -DLIB=team -DLIB_UPPER=TEAM -I"$work/lib$H" -I"$root/test/e2e" "$root/bench/team.c" \
    "$work/lib$H/host/libteam.a" -lpthread -ldl -lm -o "$work/team$H"
  "$work/team$H" "$threads" "$seq_len" "$rounds"
done
echo "load average after: $(cut -d' ' -f1-3 /proc/loadavg)"
