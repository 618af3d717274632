#!/usr/bin/env bash
# Graph benchmark (issue 5), in one run:
#   1. recsys vs scipy + NetworkX on the same pruned movie co-rating network of a
#      10M-rating dataset: build + Louvain + Leiden + PageRank + sampled
#      betweenness, each timed, the ratios and both modularities printed
#      (graph-bench compare, which runs experiments/graph_networkx.py itself);
#   2. with NETFLIX_SCALE=1, the full movie network (every co-rated pair) of the
#      Netflix-scale warehouse in experiments/out/home: the ≤ 2 min build target
#      (make that warehouse with `NETFLIX_SCALE=1 experiments/load_benchmark.sh`).
#
#   experiments/graph_benchmark.sh
#   MIN_COMMON=10 WEIGHT=jaccard TOP_K=20 PIVOTS=100 experiments/graph_benchmark.sh
#   NETFLIX_SCALE=1 experiments/graph_benchmark.sh
#
# The 10M dataset (generated with seed 5) and its warehouse live in
# experiments/out/graph10m (ignored by git); they are made on the first run.
set -euo pipefail
cd "$(dirname "$0")/.."
RATINGS=${RATINGS:-10000000}
CUSTOMERS=${CUSTOMERS:-200000}
MOVIES=${MOVIES:-17770}
MIN_COMMON=${MIN_COMMON:-10}
WEIGHT=${WEIGHT:-jaccard}
TOP_K=${TOP_K:-20}
PIVOTS=${PIVOTS:-100}
scripts/ensure-deps.sh
python3 -c 'import networkx, scipy' 2>/dev/null || python3 -m pip install --quiet networkx scipy
swift build -c release --product recsys 2>&1 | tail -n 1
swift build -c release --product graph-bench 2>&1 | tail -n 1
recsys=$PWD/.build/release/recsys
bench=$PWD/.build/release/graph-bench

home=$PWD/experiments/out/graph10m
mkdir -p "$home"
chmod 755 experiments/out "$home"
data=$home/data
if [ ! -f "$data/truth.json" ]; then
  RECSYS_HOME=$home "$recsys" generate --out "$data" --ratings "$RATINGS" --customers "$CUSTOMERS" --movies "$MOVIES" --seed 5 >/dev/null
fi
RECSYS_HOME=$home "$recsys" load --data "$data" >/dev/null   # a no-op once loaded

echo "== recsys vs NetworkX: movie network of $RATINGS ratings, min common $MIN_COMMON, $WEIGHT, top-$TOP_K, $PIVOTS pivots =="
RECSYS_HOME=$home "$bench" compare --min-common "$MIN_COMMON" --weight "$WEIGHT" --top-k "$TOP_K" \
  --pivots "$PIVOTS" --out "$PWD/experiments/out/graph-bench" --script "$PWD/experiments/graph_networkx.py"

if [ "${NETFLIX_SCALE:-0}" = 1 ]; then
  echo
  echo "== the full Netflix-scale movie network (every co-rated pair) =="
  RECSYS_HOME=$PWD/experiments/out/home "$recsys" db start >/dev/null
  RECSYS_HOME=$PWD/experiments/out/home "$bench" build
fi
