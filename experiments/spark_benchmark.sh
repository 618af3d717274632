#!/usr/bin/env bash
# Spark MLlib ALS against `recsys train --model als`, in ONE run, on the same
# train rows and test pairs:
#   1. recsys generates (once) a seeded Netflix-layout dataset and loads it into
#      its own managed cluster; psql \copy exports every rating;
#   2. experiments/spark_als.py draws the test pairs (a seeded 10 % of the
#      ratings) and writes train.csv and test_pairs.csv;
#   3. `recsys features --split file:…/test_pairs.csv --validation-fraction 0`
#      (recsys trains on exactly the other 90 %), then `recsys train --model als`
#      under /usr/bin/time;
#   4. pyspark's ALS (local[2], the same rank, regParam and iterations) fits the
#      same train rows; only ALS.fit is timed, after the DataFrame is cached.
#
#   experiments/spark_benchmark.sh                          # 10M ratings, 100,000 customers, 5,000 movies
#   RATINGS=200000 CUSTOMERS=4000 MOVIES=500 experiments/spark_benchmark.sh
#   RANK=50 REG=0.1 ITERATIONS=10 SOLVER=cg experiments/spark_benchmark.sh
#
# Prints both fit times, both test RMSEs, Spark fit ÷ recsys fit and the
# train/test row counts. λ is ALS-WR's on both sides (scaled by each row's
# rating count); Spark's ALS has no biases, recsys's default ALS learns joint
# biases with the factors. Environment: RECSYS (a built binary; default
# scripts/build-release.sh), RECSYS_HOME (default experiments/out/spark-home,
# which also holds the data and the run's files), RATINGS (10000000),
# CUSTOMERS (100000), MOVIES (5000), RANK (50), REG (0.1), ITERATIONS (10),
# SEED (42), SOLVER (recsys's --solver, left out when unset), DRIVER_MEMORY (8g).
# On small data Spark's fit time is mostly its per-stage scheduling (ALS runs
# dozens of small jobs); run nothing else on the machine while it times.
# Python (a venv under experiments/out, from PyPI) is for this experiment only.
set -euo pipefail
cd "$(dirname "$0")/.."
recsys=${RECSYS:-$(scripts/build-release.sh)}
export RECSYS_HOME=${RECSYS_HOME:-$PWD/experiments/out/spark-home}
RATINGS=${RATINGS:-10000000}
CUSTOMERS=${CUSTOMERS:-100000}
MOVIES=${MOVIES:-5000}
RANK=${RANK:-50}
REG=${REG:-0.1}
ITERATIONS=${ITERATIONS:-10}
SEED=${SEED:-42}
DRIVER_MEMORY=${DRIVER_MEMORY:-8g}
data=$RECSYS_HOME/data-$RATINGS-$CUSTOMERS-$MOVIES-$SEED
work=$RECSYS_HOME/run
mkdir -p "$RECSYS_HOME" "$work" experiments/out
chmod 755 experiments/out "$RECSYS_HOME"
command -v java >/dev/null || { apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless >/dev/null; }
venv=experiments/out/venv-spark
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" 2>/dev/null || { apt-get install -y python3-venv >/dev/null; python3 -m venv "$venv"; }
  "$venv/bin/pip" install --quiet pyspark==4.3.0 numpy "pandas<3"
fi

"$recsys" db start >/dev/null
if [ ! -f "$data/truth.json" ]; then
  "$recsys" generate --out "$data" --ratings "$RATINGS" --customers "$CUSTOMERS" --movies "$MOVIES" --seed "$SEED" >/dev/null
fi
# Exit 3: the warehouse holds another dataset (or changed files): load this one from scratch.
rc=0
"$recsys" load --data "$data" > "$work/load.log" 2>&1 || rc=$?
if [ "$rc" = 3 ]; then
  rc=0
  "$recsys" load --data "$data" --fresh > "$work/load.log" 2>&1 || rc=$?
fi
if [ "$rc" != 0 ]; then cat "$work/load.log" >&2; exit "$rc"; fi
url=$("$recsys" db url)
psql "$url" -v ON_ERROR_STOP=1 -qAt -c "\\copy (SELECT c.customer_id, m.movie_id, f.rating FROM fact_ratings f JOIN dim_customer c USING (customer_key) JOIN dim_movie m USING (movie_key)) TO '$work/ratings.csv' CSV"
"$venv/bin/python" experiments/spark_als.py split --ratings "$work/ratings.csv" --out "$work" --test-fraction 0.1 --seed "$SEED"
rm -f "$work/ratings.csv"

"$recsys" features --split "file:$work/test_pairs.csv" --validation-fraction 0 --json > "$work/features.json"
solver=()
[ -n "${SOLVER:-}" ] && solver=(--solver "$SOLVER")
/usr/bin/time -f "%e %M" -o "$work/recsys.time" \
  "$recsys" train --model als --rank "$RANK" --reg "$REG" --iterations "$ITERATIONS" --seed "$SEED" "${solver[@]}" --json > "$work/recsys.json"
/usr/bin/time -f "%e %M" -o "$work/spark.time" \
  "$venv/bin/python" experiments/spark_als.py fit --train "$work/train.csv" --test "$work/test.csv" --json "$work/spark.json" \
    --rank "$RANK" --reg "$REG" --iterations "$ITERATIONS" --seed "$SEED" --driver-memory "$DRIVER_MEMORY" >/dev/null

python3 - "$work" <<'PY'
import json, sys
work = sys.argv[1]
r = json.load(open(f"{work}/recsys.json"))
s = json.load(open(f"{work}/spark.json"))
def timed(name):
    wall, kib = open(f"{work}/{name}.time").read().split()[-2:]
    return float(wall), int(kib) / 1024 / 1024
r_wall, r_gib = timed("recsys")
s_wall, _ = timed("spark")
params = r.get("params", {})
model_parameters = json.loads(r.get("model_parameters") or "{}")
solver = params.get("solver", model_parameters.get("solver"))
solver = f", solver {solver}" if solver else ""
threads = f", {model_parameters['threads']} threads" if "threads" in model_parameters else ""
print(f"rows: {s['train_rows']:,} train, {s['test_rows']:,} test pairs (the same files for both)")
print(f"recsys ALS rank {params.get('rank')} λ {params.get('reg')} {params.get('iterations')} it{solver}{threads}, "
      f"joint biases (its default): fit {r['fit_seconds']:.2f} s, test RMSE {r['metrics']['rmse']:.4f} on {r['metrics']['n']:,} pairs "
      f"({r['metrics'].get('fallbacks', 0):,} by fallback, clipped); process {r_wall:.1f} s wall, peak RSS {r_gib:.2f} GiB")
print(f"Spark {s['pyspark']} ALS rank {s['rank']} regParam {s['reg']} {s['iterations']} it, {s['master']}, no biases: "
      f"fit {s['fit_seconds']:.2f} s, test RMSE {s['rmse']:.4f} on {s['scored_test_rows']:,} pairs (coldStartStrategy drop, unclipped), "
      f"{s['rmse_all_clipped']:.4f} on all {s['test_rows']:,} (clipped, unseen → train mean, as recsys counts); "
      f"process {s_wall:.1f} s wall (JVM start and CSV reads included), JVM peak RSS {s['jvm_peak_rss_gib']:.2f} GiB")
print(f"Spark BLAS: {s['blas']}; native: {s['native_blas']}")
print(f"Spark fit ÷ recsys fit: {s['fit_seconds'] / r['fit_seconds']:.2f}x")
PY
