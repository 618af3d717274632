#!/usr/bin/env bash
# The incremental warehouse at Netflix scale, in ONE run over one warehouse
# (issue 15): a full load of the generated Netflix-scale dataset (the limit an
# append is compared with), a rank-50 ALS on it, then two follow-up batches
# from `recsys generate --delta` — 10,000 and 1,000,000 ratings — appended into
# the live warehouse; the ratings cache brought up to date by the delta; the
# model refreshed (prequential scores); and a warm-started ALS (3 iterations)
# against a full 10-iteration fit on the grown data.
#
#   experiments/append_netflix.sh      # ≈ 25 min; generates the base on the first run
#
# Environment: RECSYS_HOME (default experiments/out/append-home), DATA (default
# experiments/data/netflix-scale, seed 1 as in load_benchmark.sh), RANK (50),
# ITERATIONS (10), WARM_ITERATIONS (3). Prints one line per figure beside its
# target; raw logs go to experiments/out/append-netflix/.
set -euo pipefail
cd "$(dirname "$0")/.."
export RECSYS_HOME=${RECSYS_HOME:-$PWD/experiments/out/append-home}
DATA=${DATA:-$PWD/experiments/data/netflix-scale}
RANK=${RANK:-50}
ITERATIONS=${ITERATIONS:-10}
WARM_ITERATIONS=${WARM_ITERATIONS:-3}
out=$PWD/experiments/out/append-netflix
mkdir -p "$out" "$RECSYS_HOME"
chmod 755 experiments/out "$RECSYS_HOME"
recsys=$(scripts/build-release.sh)

if [ ! -f "$DATA/truth.json" ]; then
  "$recsys" generate --out "$DATA" --netflix-scale --seed 1 >/dev/null
fi
# Fresh batches each run: their paths are what the warehouse remembers as appended.
rm -rf "$out/batch-10k" "$out/batch-1m"
"$recsys" generate --delta 1 --from "$DATA" --out "$out/batch-10k" --ratings 10000 > "$out/batch-10k.log"
"$recsys" generate --delta 2 --from "$DATA" --out "$out/batch-1m" --ratings 1000000 > "$out/batch-1m.log"
cat "$out/batch-1m.log"
"$recsys" db start >/dev/null

now() { date +%s.%N; }
seconds() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.2f", b - a }'; }
# Runs one step, its output in $out/NAME.log (stderr: NAME.err); sets `took` to its wall seconds.
step() {
  local name=$1; shift
  local start; start=$(now)
  if ! "$@" > "$out/$name.log" 2> "$out/$name.err"; then
    echo "$name failed; see $out/$name.log and $out/$name.err" >&2
    tail -n 5 "$out/$name.err" >&2
    exit 1
  fi
  took=$(seconds "$start" "$(now)")
}

step load "$recsys" load --data "$DATA" --fresh
full_load=$took
echo "full load (generated Netflix scale, keys, indexes, checks): $full_load s"
step features "$recsys" features --split random
echo "features on the load (ratings cache exported in full, split, biases): $took s"
step train-base "$recsys" train --model als --rank "$RANK" --reg 0.05 --iterations "$ITERATIONS" --json
base_model=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["model_path"])' "$out/train-base.log")
echo "base ALS rank $RANK: $base_model"

step append-10k "$recsys" load --append "$out/batch-10k"
echo "append 10,000 ratings: $took s (target ≤ 2 s)"
step append-1m "$recsys" load --append "$out/batch-1m"
append_1m=$took
echo "append 1,000,000 ratings: $append_1m s (target ≤ 15 s); the full load took $full_load s: $(awk -v f="$full_load" -v a="$append_1m" 'BEGIN { printf "%.1f", f / a }')× less time (target ≥ 20×)"
tail -n 6 "$out/append-1m.log"
step check "$recsys" check
echo "recsys check of the whole warehouse after the appends: $took s"

step features-delta "$recsys" features --split random
echo "features on the grown warehouse: $took s"
grep "ratings cache" "$out/features-delta.err" || true

step refresh "$recsys" refresh --model "$base_model"
echo "refresh (fold-in of the touched rows): $took s (target: seconds)"
cat "$out/refresh.log"

step train-cold "$recsys" train --model als --rank "$RANK" --reg 0.05 --iterations "$ITERATIONS" --json
step train-warm "$recsys" train --model als --rank "$RANK" --reg 0.05 --iterations "$WARM_ITERATIONS" --warm-start "$base_model" --json
python3 - "$out/train-cold.log" "$out/train-warm.log" <<'PY'
import json, sys
cold, warm = (json.load(open(p)) for p in sys.argv[1:3])
cf, wf = cold["fit_seconds"], warm["fit_seconds"]
cr, wr = cold["metrics"]["rmse"], warm["metrics"]["rmse"]
print(f"cold ALS ({len(cold['iterations'])} it.) fit {cf:.1f} s, test RMSE {cr:.4f}; "
      f"warm start ({len(warm['iterations'])} it.) fit {wf:.1f} s, test RMSE {wr:.4f}")
print(f"warm start: {100 * wf / cf:.1f} % of the cold fit's time (target ≤ 35 %), RMSE {100 * (wr / cr - 1):+.2f} % (target within 0.5 %)")
PY
