#!/usr/bin/env bash
# Prequential evaluation over successive deltas (issue 15): a generated base
# loaded and an ALS model trained on it, then BATCHES daily batches from
# `recsys generate --delta`, each appended and the model refreshed. Every
# refresh scores yesterday's model on the new ratings before folding them in,
# and the refreshed model on the new ratings the split holds out; the script
# prints that line over the batches, and `recsys evaluate --out` draws it.
#
#   experiments/prequential.sh                   # 10M base, 5 batches of 100,000
#   RATINGS=1000000 CUSTOMERS=20000 MOVIES=2000 BATCH=20000 experiments/prequential.sh
#
# Environment: RECSYS_HOME (default experiments/out/prequential-home), RATINGS,
# CUSTOMERS, MOVIES, BATCHES (5), BATCH (ratings per batch), RANK (20).
set -euo pipefail
cd "$(dirname "$0")/.."
export RECSYS_HOME=${RECSYS_HOME:-$PWD/experiments/out/prequential-home}
RATINGS=${RATINGS:-10000000}
CUSTOMERS=${CUSTOMERS:-100000}
MOVIES=${MOVIES:-5000}
BATCHES=${BATCHES:-5}
BATCH=${BATCH:-100000}
RANK=${RANK:-20}
out=$PWD/experiments/out/prequential
rm -rf "$out"
mkdir -p "$out" "$RECSYS_HOME"
chmod 755 experiments/out "$RECSYS_HOME"
recsys=$(scripts/build-release.sh)
data=$PWD/experiments/data/netflix-$RATINGS
if [ ! -f "$data/truth.json" ]; then
  "$recsys" generate --out "$data" --ratings "$RATINGS" --customers "$CUSTOMERS" --movies "$MOVIES" --seed 1 >/dev/null
fi
"$recsys" db start >/dev/null
"$recsys" load --data "$data" --fresh > "$out/load.log" 2>&1
"$recsys" features --split random > "$out/features.log" 2>&1
"$recsys" train --model als --rank "$RANK" --reg 0.05 --iterations 10 --json > "$out/train.json" 2> "$out/train.err"
for k in $(seq 1 "$BATCHES"); do
  "$recsys" generate --delta "$k" --from "$data" --out "$out/batch-$k" --ratings "$BATCH" --json > "$out/batch-$k.json"
  "$recsys" load --append "$out/batch-$k" --json > "$out/append-$k.json" 2> "$out/append-$k.err"
  "$recsys" refresh --json > "$out/refresh-$k.json" 2> "$out/refresh-$k.err"
done
# evaluate scores on the newest split: rebuild it on the grown data (old pairs keep their parts).
"$recsys" features --split random > "$out/features-after.log" 2>&1
"$recsys" evaluate --out "$out/report" > "$out/evaluate.log" 2>&1
python3 - "$out" "$BATCHES" <<'PY'
import json, sys
out, batches = sys.argv[1], int(sys.argv[2])
train = json.load(open(f"{out}/train.json"))
print(f"base: ALS rank {train['params']['rank']}, test RMSE {train['metrics']['rmse']:.4f}")
print("batch  date        ratings  oracle  append s  before (all new)  held out  before   after   refresh s")
for k in range(1, batches + 1):
    b = json.load(open(f"{out}/batch-{k}.json"))
    a = json.load(open(f"{out}/append-{k}.json"))
    r = json.load(open(f"{out}/refresh-{k}.json"))
    rm = lambda m: f"{m['rmse']:.4f}" if m else "-"
    print(f"{k:5d}  {b['first_date']}  {b['ratings']:7d}  {b['oracle_rmse']:.4f}  {a['seconds']:8.2f}  {rm(r.get('before')):>16}  "
          f"{r['held_out']:8d}  {rm(r.get('before_held_out'))}  {rm(r.get('after'))}  {r['seconds']:9.2f}")
PY
echo "report: $out/report/report.html"
