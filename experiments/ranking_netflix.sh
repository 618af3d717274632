#!/usr/bin/env bash
# The ranking models at Netflix scale, in one run over one warehouse: implicit
# ALS rank 64 (seconds per iteration), the EASE fit (time and peak memory) and
# EASE's batch top-10 for every customer (`recommend --all`), on generated data
# whose planted taste decides who rates what (`generate --taste 4`).
#
#   experiments/ranking_netflix.sh          # generates and loads on the first run (≈ 8 min), then reuses them
#
# Environment: RECSYS_HOME (default experiments/out/netflix-home), TASTE (4),
# IALS_ITERATIONS (3). Prints one line per figure beside its target and writes
# the raw logs to experiments/out/ranking-netflix/.
set -euo pipefail
cd "$(dirname "$0")/.."
export RECSYS_HOME=${RECSYS_HOME:-$PWD/experiments/out/netflix-home}
TASTE=${TASTE:-4}
IALS_ITERATIONS=${IALS_ITERATIONS:-3}
out=experiments/out/ranking-netflix
mkdir -p "$out" "$RECSYS_HOME"
recsys=$(scripts/build-release.sh)
data=$RECSYS_HOME/netflix-taste

"$recsys" db start >/dev/null
if [ ! -f "$data/truth.json" ]; then
  "$recsys" generate --netflix-scale --taste "$TASTE" --out "$data"
fi
set +e
"$recsys" load --data "$data" > "$out/load.log" 2>&1
status=$?
set -e
[ $status -eq 3 ] && "$recsys" load --data "$data" --fresh > "$out/load.log" 2>&1
[ $status -ne 0 ] && [ $status -ne 3 ] && { cat "$out/load.log"; exit $status; }
"$recsys" features --split probe > "$out/features.log" 2>&1

# Runs one command under GNU time; sets `wall` (seconds) and `peak` (GiB of resident memory).
timed() {
  local name=$1; shift
  if ! /usr/bin/time -f "%e %M" -o "$out/$name.time" "$@" > "$out/$name.log" 2>&1; then
    echo "$name failed; see $out/$name.log" >&2
    tail -n 5 "$out/$name.log" >&2
    exit 1
  fi
  local kib
  read -r wall kib < <(tail -n 1 "$out/$name.time")
  peak=$(awk -v k="$kib" 'BEGIN { printf "%.2f", k / 1048576 }')
}

timed ials "$recsys" train --model ials --rank 64 --iterations "$IALS_ITERATIONS"
fit=$(sed -n 's/.*trained ials .* in \([0-9.]*\) s.*/\1/p' "$out/ials.log")
echo "implicit ALS rank 64: fit $fit s for $IALS_ITERATIONS iterations = $(awk -v f="$fit" -v n="$IALS_ITERATIONS" 'BEGIN { printf "%.1f", f / n }') s per iteration (target ≤ 10 s); command $wall s, peak $peak GiB"
grep "validation ranking" "$out/ials.log" || true

timed ease "$recsys" train --model ease
fit=$(sed -n 's/.*trained ease .* in \([0-9.]*\) s.*/\1/p' "$out/ease.log")
echo "EASE λ 500: fit $fit s (target ≤ 300 s); command $wall s, peak $peak GiB (target ≤ 6 GiB)"
grep "validation ranking" "$out/ease.log" || true
model=$(sed -n 's/^model: //p' "$out/ease.log")

timed ease-all "$recsys" recommend --all --top 10 --model "$model"
echo "EASE batch top-10 for every customer: $wall s including the COPY into the warehouse (target ≤ 120 s); peak $peak GiB"
tail -n 3 "$out/ease-all.log"
