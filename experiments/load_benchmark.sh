#!/usr/bin/env bash
# Load benchmark: in ONE run, generate (or reuse) a Netflix-layout dataset,
# load it with `recsys load`, then load the same final fact rows with a plain
# psql \copy of a pre-keyed CSV into an index-free copy of fact_ratings (the
# practical limit), and print both rates and their ratio.
#
#   experiments/load_benchmark.sh                 # 10M ratings
#   RATINGS=2000000 experiments/load_benchmark.sh
#   NETFLIX_SCALE=1 experiments/load_benchmark.sh # 100,480,507 ratings: the ≤ 6 min target
#
# Uses its own managed cluster under experiments/out/home; the data lives in
# experiments/data (both ignored by git). Needs python3 only to read JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
recsys=$(scripts/build-release.sh)
RATINGS=${RATINGS:-10000000}
CUSTOMERS=${CUSTOMERS:-100000}
MOVIES=${MOVIES:-5000}
export RECSYS_HOME=$PWD/experiments/out/home
mkdir -p "$RECSYS_HOME"
chmod 755 experiments/out "$RECSYS_HOME"
if [ "${NETFLIX_SCALE:-0}" = 1 ]; then
  data=$PWD/experiments/data/netflix-scale
  generate=(--netflix-scale)
else
  data=$PWD/experiments/data/netflix-$RATINGS
  generate=(--ratings "$RATINGS" --customers "$CUSTOMERS" --movies "$MOVIES")
fi
if [ ! -f "$data/truth.json" ]; then
  "$recsys" generate --out "$data" "${generate[@]}" --seed 1 >/dev/null
fi
"$recsys" db start >/dev/null
url=$("$recsys" db url)
psql_() { psql "$url" -v ON_ERROR_STOP=1 -qAt "$@"; }

echo "== recsys load (fresh, every stage) =="
now() { python3 -c 'import time; print(time.time())'; }
start=$(now)
"$recsys" load --data "$data" --fresh --json > experiments/out/load.json
wall=$(python3 -c "print($(now) - $start)")

echo "== plain COPY of the same fact rows =="
csv=$PWD/experiments/out/fact.csv
psql_ -c "\\copy fact_ratings TO '$csv' (FORMAT csv)"
psql_ -c "DROP TABLE IF EXISTS bench_raw_copy; CREATE TABLE bench_raw_copy (LIKE fact_ratings)"
cstart=$(now)
psql_ -c "\\copy bench_raw_copy FROM '$csv' (FORMAT csv)"
copy_seconds=$(python3 -c "print($(now) - $cstart)")
copy_rows=$(psql_ -c "SELECT count(*) FROM bench_raw_copy")
psql_ -c "DROP TABLE bench_raw_copy"
rm -f "$csv"

python3 - "$copy_rows" "$copy_seconds" "$wall" <<'PY'
import json, sys
copy_rows, copy_seconds, wall = int(sys.argv[1]), float(sys.argv[2]), float(sys.argv[3])
report = json.load(open("experiments/out/load.json"))
stages = {s["stage"]: s for s in report["stages"]}
fact = stages["fact_ratings"]
fact_rate = fact["rows_this_run"] / fact["seconds"]
copy_rate = copy_rows / copy_seconds
print(f"rows: {fact['rows']:,}")
print(f"scan: {report['scan_seconds']:.1f} s")
for name in ("dim_date", "dim_movie", "dim_customer", "fact_ratings", "post_processing"):
    print(f"  {name:16s} {stages[name]['seconds']:7.1f} s")
print(f"recsys fact stage: {fact_rate:,.0f} rows/s ({fact['seconds']:.1f} s)")
print(f"plain \\copy:       {copy_rate:,.0f} rows/s ({copy_seconds:.1f} s)")
print(f"ratio: {fact_rate / copy_rate:.2f}x of raw COPY (target >= 0.80)")
print(f"whole load, keys and constraints included: {wall:.1f} s wall ({wall / 60:.2f} min; Netflix-scale target <= 6 min)")
PY
