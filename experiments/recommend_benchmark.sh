#!/usr/bin/env bash
# recommend at scale, in ONE run: end-to-end wall time of `recsys recommend
# --customer ID` (process start, connection, model map and checksum, the
# customer's ratings, scoring, titles) for RUNS customers, then `recommend
# --all` (every customer's top N into the recommendations table).
#
#   RECSYS_HOME=experiments/out/home experiments/recommend_benchmark.sh
#   RUNS=20 TOP=10 experiments/recommend_benchmark.sh
#
# Needs a trained model in the warehouse recsys uses (`recsys train`).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-10}
TOP=${TOP:-10}
swift build -c release --product recsys 2>&1 | tail -n 1
recsys=$PWD/.build/release/recsys
"$recsys" db start >/dev/null
url=$("$recsys" db url)
customers=$(psql "$url" -qAt -c "SELECT customer_id FROM dim_customer ORDER BY md5(customer_id::text) LIMIT $RUNS")
"$recsys" recommend --customer "$(echo "$customers" | head -1)" --top "$TOP" >/dev/null   # page the model in once
python3 - "$recsys" "$TOP" $customers <<'PY'
import subprocess, sys, time
recsys, top, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
times = []
for c in ids:
    t = time.perf_counter()
    subprocess.run([recsys, "recommend", "--customer", c, "--top", top, "--json"], check=True, stdout=subprocess.DEVNULL)
    times.append(time.perf_counter() - t)
times.sort()
print(f"recommend --customer, {len(times)} customers: min {times[0]:.3f} s, median {times[len(times)//2]:.3f} s, max {times[-1]:.3f} s (target ≤ 0.3 s)")
PY
"$recsys" recommend --all --top "$TOP" --json > experiments/out/recommend-all.json
python3 - <<'PY'
import json
r = json.load(open("experiments/out/recommend-all.json"))
print(f"recommend --all --top {r['top']}: {r['customers']} customers, top-N {r['top_n_seconds']:.1f} s (target ≤ 60 s), "
      f"COPY of {r['rows']} rows {r['copy_seconds']:.1f} s")
PY
