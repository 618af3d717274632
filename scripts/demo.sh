#!/usr/bin/env bash
# The main job end to end on a fresh machine: install what is missing, build,
# start the managed PostgreSQL, generate a sample Netflix-layout dataset, load it,
# build features (the probe split), train ALS and EASE, evaluate them against the baselines
# (with the HTML report), recommend movies for one customer, append a day of
# their ratings and refresh the model (first run), and write the graph and
# analytics reports.
# Sizes: RATINGS, CUSTOMERS, MOVIES (defaults below); a second run reuses the data and the load.
set -euo pipefail
cd "$(dirname "$0")/.."
RATINGS=${RATINGS:-1000000}
CUSTOMERS=${CUSTOMERS:-20000}
MOVIES=${MOVIES:-2000}
recsys=$(scripts/build-release.sh)
data=.recsys/data/netflix-sample-$RATINGS

$recsys db start
if [ ! -f "$data/truth.json" ]; then
  $recsys generate --out "$data" --ratings "$RATINGS" --customers "$CUSTOMERS" --movies "$MOVIES" --seed 42
fi
set +e
$recsys load --data "$data"
status=$?
set -e
if [ $status -eq 3 ]; then
  echo "the warehouse holds another dataset; replacing it with the sample" >&2
  $recsys load --data "$data" --fresh
elif [ $status -ne 0 ]; then
  exit $status
fi
echo
$recsys load --status
echo
$recsys features --split probe
echo
$recsys train --model als --rank 8 --reg 0.03 --iterations 10
echo
# A ranking model beside it: recommend serves whichever ranked the validation part best.
$recsys train --model ease
echo
reports=${RECSYS_HOME:-.recsys}/reports
$recsys evaluate --out "$reports/evaluate"
echo
customer=$(sed -n 2p "$data/combined_data_1.txt" | cut -d, -f1)
$recsys recommend --customer "$customer" --top 10
echo
# A day later (first run only): the customer gives their three best recommendations one star — a
# new file appended exactly once, the ALS model refreshed without a retrain, and the list again.
day=${RECSYS_HOME:-.recsys}/data/day-after-$RATINGS
if [ ! -d "$day" ]; then
  mkdir -p "$day"
  for movie in $($recsys recommend --customer "$customer" --top 3 --json | sed -n 's/.*"movie_id" : \([0-9]*\).*/\1/p'); do
    printf '%s:\n%s,1,2006-01-02\n' "$movie" "$customer" >> "$day/combined_data_day2.txt"
  done
  $recsys load --append "$day"
  echo
  $recsys refresh
  echo
  $recsys recommend --customer "$customer" --top 10
  echo
fi
$recsys graph --min-common 20 --weight jaccard --top-k 20 --show 5 --out "$reports/graph"
echo
$recsys analytics --out "$reports/analytics"
echo
echo "reports: $reports/evaluate/report.html, $reports/graph/report.html, $reports/analytics/report.html"
