#!/usr/bin/env bash
# Fixed vs jointly learned biases in ALS, in ONE run on one split: trains the
# same configuration twice (`--biases fixed`, `--biases joint`) and prints the
# validation and test RMSE of each, with the bias-only baseline beside them.
#
#   RECSYS_HOME=experiments/out/home experiments/als_biases.sh        # the warehouse there
#   RANK=50 REG=0.05 ITERATIONS=10 SPLIT=probe experiments/als_biases.sh
#
# Needs a complete load in the warehouse recsys uses (see load_benchmark.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
RANK=${RANK:-50}
REG=${REG:-0.05}
ITERATIONS=${ITERATIONS:-10}
SPLIT=${SPLIT:-probe}
swift build -c release --product recsys 2>&1 | tail -n 1
recsys=$PWD/.build/release/recsys
"$recsys" db start >/dev/null
"$recsys" features --split "$SPLIT" >&2
for mode in fixed joint; do
  "$recsys" train --model als --rank "$RANK" --reg "$REG" --iterations "$ITERATIONS" --biases "$mode" --json > "experiments/out/als-$mode.json"
done
"$recsys" evaluate --json > experiments/out/als-evaluate.json
python3 - <<'PY'
import json
rows = json.load(open("experiments/out/als-evaluate.json"))
bias = next(r for r in rows if r["name"] == "bias")
print(f"bias-only baseline: test RMSE {bias['rmse']:.4f} on {bias['n']} ratings")
for mode in ("fixed", "joint"):
    t = json.load(open(f"experiments/out/als-{mode}.json"))
    print(f"ALS rank {t['params']['rank']} λ {t['params']['reg']} {t['params']['iterations']} it, {mode:5} biases: "
          f"validation RMSE {t['validation_metrics']['rmse']:.4f}, test RMSE {t['metrics']['rmse']:.4f}, "
          f"fit {t['fit_seconds']:.1f} s")
PY
