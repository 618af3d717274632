#!/usr/bin/env bash
# `recsys serve` under load, in ONE run: wrk on loopback against a release
# server over the warehouse recsys uses, the two sharing the machine's cores.
#
#   SETUP=netflix experiments/serve_benchmark.sh   # first: generate, load, split, train ALS rank 50 at Netflix scale
#   experiments/serve_benchmark.sh                 # then: the benchmark over that warehouse
#
# Prints, per route: requests/s, p50/p99 latency, non-2xx count, and the CPU
# seconds of the server and of wrk over the run (from /proc and getrusage);
# the server's resident memory (VmRSS, peak VmHWM); POST /v1/ratings in
# batches of BATCH with a fresh Idempotency-Key each, then the exactly-once
# check (rows added = the server's batch log; the same keys again add none);
# and a model swap under full load (a new model trained while wrk runs).
# Environment: RECSYS_HOME (default experiments/out/serve-home), DURATION (s,
# default 20), CONNECTIONS (16), BATCH (1000), PORT (18089).
set -euo pipefail
cd "$(dirname "$0")/.."
export RECSYS_HOME=${RECSYS_HOME:-$PWD/experiments/out/serve-home}
DURATION=${DURATION:-20}
CONNECTIONS=${CONNECTIONS:-16}
BATCH=${BATCH:-1000}
PORT=${PORT:-18089}
out=experiments/out/serve
mkdir -p "$out" "$RECSYS_HOME"
command -v wrk >/dev/null || { apt-get update -qq && apt-get install -y -qq wrk >/dev/null; }
swift build -c release --product recsys 2>&1 | tail -n 1
recsys=$PWD/.build/release/recsys

if [ "${SETUP:-}" = netflix ]; then
  "$recsys" generate --netflix-scale --out "$RECSYS_HOME/netflix"
  "$recsys" load --data "$RECSYS_HOME/netflix"
  "$recsys" features
  "$recsys" train --model als --rank 50 --iterations 10
fi

"$recsys" db start >/dev/null
url=$("$recsys" db url)
# Reads go to customers no batch has touched (served from the model); writes to others, so the
# read figures stay the model path's whatever earlier runs wrote (fold-in is measured apart).
psql "$url" -qAt -c "SELECT customer_id FROM dim_customer c WHERE NOT EXISTS (SELECT 1 FROM live_customer l WHERE l.customer_key = c.customer_key) ORDER BY md5(customer_id::text) LIMIT 20000" > "$out/customers.txt"
psql "$url" -qAt -c "SELECT customer_id FROM dim_customer ORDER BY md5(customer_id::text || 'w') LIMIT 20000" > "$out/writers.txt"
psql "$url" -qAt -c "SELECT movie_id FROM dim_movie ORDER BY md5(movie_id::text)" > "$out/movies.txt"
echo "warehouse: $(psql "$url" -qAt -c "SELECT count(*) FROM fact_ratings") ratings, $(psql "$url" -qAt -c "SELECT count(*) FROM dim_customer") customers, $(psql "$url" -qAt -c "SELECT count(*) FROM dim_movie") movies"

token=$(head -c 24 /dev/urandom | base64 | tr -d '/+=')
printf '%s' "$token" > "$out/token"
chmod 600 "$out/token"
"$recsys" serve --port "$PORT" --token-file "$out/token" --poll-seconds 1 > "$out/serve.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 600); do curl -sf "localhost:$PORT/health/ready" >/dev/null && break; sleep 0.5; done
curl -sf "localhost:$PORT/v1/models/current" > "$out/model-before.json"
python3 -c "import json; m = json.load(open('$out/model-before.json')); print(f\"serving {m['model']} rank {m['rank']} (run {m['run_id']}), {m['customers']} customers × {m['movies']} movies\")"

# Lua: random ids from the lists; POST bodies of BATCH distinct (customer, movie) pairs, one key per request.
cat > "$out/ids.lua" <<'LUA'
local function lines(path) local t = {} for l in io.lines(path) do t[#t + 1] = l end return t end
customers = lines(os.getenv("OUT") .. "/customers.txt")
writers = lines(os.getenv("OUT") .. "/writers.txt")
movies = lines(os.getenv("OUT") .. "/movies.txt")
mode = os.getenv("MODE")
batch = tonumber(os.getenv("BATCH"))
token = os.getenv("TOKEN")
counter = 0
function setup(thread) thread:set("tid", tostring(math.random(1, 1e9))) end
function init(args) math.randomseed(tonumber(tid) or os.time()) end
function request()
  if mode == "recommend" then
    return wrk.format("GET", "/v1/customers/" .. customers[math.random(#customers)] .. "/recommendations?top=10")
  elseif mode == "similar" then
    return wrk.format("GET", "/v1/movies/" .. movies[math.random(#movies)] .. "/similar?top=10")
  end
  counter = counter + 1
  local movie = movies[math.random(#movies)]
  local start = math.random(#writers - batch)
  local parts = {}
  for i = 1, batch do
    parts[i] = '{"customer_id":' .. writers[start + i] .. ',"movie_id":' .. movie .. ',"rating":' .. math.random(1, 5) .. ',"date":"2006-01-15"}'
  end
  local key = "bench-" .. (tid or "0") .. "-" .. counter
  local f = io.open(os.getenv("OUT") .. "/keys.txt", "a") f:write(key .. "\n") f:close()
  return wrk.format("POST", "/v1/ratings",
    {["Authorization"] = "Bearer " .. token, ["Content-Type"] = "application/json", ["Idempotency-Key"] = key},
    '{"ratings":[' .. table.concat(parts, ",") .. ']}')
end
LUA

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }   # utime + stime, clock ticks
ticks=$(getconf CLK_TCK)
run() {   # run NAME MODE CONNECTIONS
  local name=$1 mode=$2 connections=$3
  local before; before=$(cpu_of $server)
  /usr/bin/time -f "%U %S" -o "$out/$name.wrk-cpu" env OUT="$out" MODE="$mode" BATCH="$BATCH" TOKEN="$token" \
    wrk -t2 -c"$connections" -d"${DURATION}s" --latency -s "$out/ids.lua" "http://127.0.0.1:$PORT" > "$out/$name.txt"
  local after; after=$(cpu_of $server)
  python3 - "$out/$name.txt" "$out/$name.wrk-cpu" "$before" "$after" "$ticks" "$name" "$DURATION" "$BATCH" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
wrk_cpu = sum(float(x) for x in open(sys.argv[2]).read().split()[-2:])
server_cpu = (float(sys.argv[4]) - float(sys.argv[3])) / float(sys.argv[5])
name, duration, batch = sys.argv[6], float(sys.argv[7]), int(sys.argv[8])
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", text).group(1))
def latency(p):
    m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)\b", text)
    v, unit = float(m.group(1)), m.group(2)
    return v / 1000 if unit == "us" else v * 1000 if unit == "s" else v
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: (.*)", text)
line = (f"{name}: {rps:,.0f} requests/s, p50 {latency(50):.2f} ms, p99 {latency(99):.2f} ms, non-2xx {bad.group(1) if bad else 0}"
        f"{', socket errors ' + errors.group(1) if errors else ''}; CPU over {duration:.0f} s: server {server_cpu:.1f} s, wrk {wrk_cpu:.1f} s")
if name.startswith("ratings"):
    line += f"; {rps * batch:,.0f} ratings/s"
print(line)
PY
}

run recommendations recommend "$CONNECTIONS"
run similar similar "$CONNECTIONS"
grep -E "VmRSS|VmHWM" "/proc/$server/status" | tr -s ' \t' ' ' | paste -sd ';' | sed 's/^/server memory after the reads: /'

facts_before=$(psql "$url" -qAt -c "SELECT count(*) FROM fact_ratings")
last_batch=$(psql "$url" -qAt -c "SELECT coalesce(max(batch_id), 0) FROM rating_batch")
rm -f "$out/keys.txt"
run ratings post 4
# Requests wrk gave up on may still commit: wait until the batch log stops growing.
previous=-1
while true; do
  now=$(psql "$url" -qAt -c "SELECT count(*) FROM rating_batch")
  [ "$now" = "$previous" ] && break
  previous=$now; sleep 2
done
facts_after=$(psql "$url" -qAt -c "SELECT count(*) FROM fact_ratings")
psql "$url" -qAt -c "SELECT count(*), coalesce(sum(inserted), 0), coalesce(sum(replaced), 0), coalesce(sum((response->>'accepted')::int), 0) FROM rating_batch WHERE batch_id > $last_batch" \
  | awk -F'|' -v d=$((facts_after - facts_before)) '{ printf "exactly once: %d batches logged, %d ratings accepted (%d new pairs, %d replaced); fact_ratings grew by %d: %s\n", $1, $4, $2, $3, d, ($2 == d ? "equal to the new pairs" : "DIFFERENT") }'
# Fold-in: the customers the writes touched are folded in per request (their ratings are newer than the model).
cp "$out/customers.txt" "$out/customers-model.txt"
psql "$url" -qAt -c "SELECT c.customer_id FROM dim_customer c JOIN live_customer l USING (customer_key) ORDER BY md5(customer_id::text) LIMIT 20000" > "$out/customers.txt"
run recommendations-folded-in recommend "$CONNECTIONS"
cp "$out/customers-model.txt" "$out/customers.txt"
# The same keys again write nothing.
replayed=0
for key in $(head -20 "$out/keys.txt"); do
  code=$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: Bearer $token" -H "Idempotency-Key: $key" \
    -H "Content-Type: application/json" "localhost:$PORT/v1/ratings" \
    -d "{\"ratings\":[{\"customer_id\":$(head -1 "$out/customers.txt"),\"movie_id\":$(head -1 "$out/movies.txt"),\"rating\":3}]}")
  [ "$code" = 422 ] && replayed=$((replayed + 1))
done
echo "the first 20 keys again with another body: $replayed × 422 (refused, nothing written); fact_ratings now $(psql "$url" -qAt -c "SELECT count(*) FROM fact_ratings") (was $facts_after)"

# A model swap under full load: train a new model (the ratings above made a new data version) while wrk runs.
if [ -z "${SKIP_SWAP:-}" ]; then
rm -f "$out/swap.done"
( "$recsys" features > "$out/swap-train.log" 2>&1 && "$recsys" train --model als --rank 50 --iterations 2 >> "$out/swap-train.log" 2>&1
  echo $? > "$out/swap.done" ) &
trainer=$!
env OUT="$out" MODE=recommend BATCH="$BATCH" TOKEN="$token" wrk -t2 -c"$CONNECTIONS" -d"${DURATION_SWAP:-900}s" -s "$out/ids.lua" "http://127.0.0.1:$PORT" > "$out/swap.txt" &
loader=$!
wait $trainer || true
[ "$(cat "$out/swap.done")" = 0 ] || { echo "the swap's features/train failed:"; tail -5 "$out/swap-train.log"; }
sleep 10   # the server polls every second: the new model is in before wrk stops
kill -INT $loader 2>/dev/null || true
wait $loader 2>/dev/null || true
curl -sf "localhost:$PORT/v1/models/current" > "$out/model-after.json"
python3 - "$out/swap.txt" "$out/model-before.json" "$out/model-after.json" <<'PY'
import json, re, sys
text = open(sys.argv[1]).read()
before, after = json.load(open(sys.argv[2])), json.load(open(sys.argv[3]))
total = re.search(r"(\d+) requests in", text)
bad = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
errors = re.search(r"Socket errors: (.*)", text)
print(f"swap under load: run {before['run_id']} → {after['run_id']}; {total.group(1) if total else '?'} requests, "
      f"non-2xx {bad.group(1) if bad else 0}, socket errors {errors.group(1) if errors else 'none'}")
PY
fi
kill -TERM $server
wait $server && echo "SIGTERM: server exited 0"
