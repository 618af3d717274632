#!/usr/bin/env bash
# Crash soak: SIGKILL every command that writes at a seeded random moment, run
# it again to completion, and check that nothing half-done was left behind.
#
#   experiments/crash_soak.sh [--rounds N] [--seed S]        (defaults: 50 rounds, seed 1)
#
# Self-contained: its own RECSYS_HOME (experiments/out/soak/home, git-ignored)
# with the managed PostgreSQL, its own dataset (generated once per soak), its
# own TMPDIR. Everything from the previous soak under experiments/out/soak is
# removed at the start. RECSYS_BIN picks the binary (default
# .build/release/recsys when it exists, else .build/debug/recsys).
# SOAK_RATINGS / SOAK_CUSTOMERS / SOAK_MOVIES change the dataset (defaults
# 1,000,000 / 20,000 / 1,000: about 0.7–5 s per command in a debug build).
#
# Round 0 runs each writing command once, cleanly, to measure its duration T
# (and to check that a clean pipeline passes every check); the warehouse is then
# dropped so that round 1 kills the very first load. Each round then, for each
# command in turn:
#   load       round 1: `load` into an empty warehouse, killed, then `load` again.
#              later rounds, chosen by the seed: either `load --fresh` killed
#              then `load --fresh` again, or `load --fresh` killed, the resuming
#              `load` killed too, then `load` to completion (exactly-once resume).
#   features   `features`
#   train      `train --model als --out models/als-r<round>.rsm`
#   recommend  `recommend --all`  (every customer's top 10 into `recommendations`)
#   graph      `graph --min-common 10 --top-k 50 --out reports/graph`
#   evaluate   `evaluate --out reports/evaluate`
# starts it in the background, sleeps a seeded delay in [0, T], sends SIGKILL,
# waits until the database has no session left from it, runs the same command to
# completion (exit 0 required; `timeout 300`), then verifies:
#   - `recsys check` exits 0;
#   - no advisory lock is held (pg_locks) and `load --status` says no load runs;
#   - fact_ratings holds exactly the generated number of ratings, no pair twice,
#     one finished etl_run;
#   - no orphan rows: feature rows of a missing split, recommendations of a
#     missing run or a partial list, or keys outside the dimensions, graph runs
#     whose community / centrality rows do not cover their nodes, model_runs
#     rows registered without a model file (not grid candidates);
#   - the model registry points only at complete files: every model_runs.path
#     exists and opens (`recommend --model PATH --customer ID`, which checks the
#     file's length and checksum), the newest one also passes `evaluate --model`;
#   - no orphan files: in models/ only registered als-r<N>.rsm, nothing in
#     RECSYS_HOME/models, only ratings-<version>.bin in RECSYS_HOME/cache (after
#     a matrix-reading command: the current version's only), only report files
#     in the report folders (and the rerun wrote them), nothing in TMPDIR.
# Orphan files found are moved to experiments/out/soak/evidence/round-N/ with
# the outputs of the killed run and the rerun, so a later round does not report
# them again.
#
# Prints one line per round and finally `N passed, M failed`; exits 1 when a
# round failed (2 when the soak could not run at all). The full log is
# experiments/out/soak/soak.log. The seed fixes the kill delays and variants;
# where in the work a delay lands still depends on the machine's speed.
set -uo pipefail

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; }
rounds=50
seed=1
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=${2:?--rounds needs a number}; shift 2 ;;
    --rounds=*) rounds=${1#*=}; shift ;;
    --seed) seed=${2:?--seed needs a number}; shift 2 ;;
    --seed=*) seed=${1#*=}; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "crash_soak: unknown argument '$1'" >&2; usage >&2; exit 2 ;;
  esac
done
[[ "$rounds" =~ ^[0-9]+$ ]] || { echo "crash_soak: --rounds must be a whole number" >&2; exit 2; }
[[ "$seed" =~ ^[0-9]+$ ]] || { echo "crash_soak: --seed must be a whole number" >&2; exit 2; }

cd "$(dirname "$0")/.."
ROOT=$PWD
if [ -n "${RECSYS_BIN:-}" ]; then
  BIN=$RECSYS_BIN
elif [ -x .build/release/recsys ]; then
  BIN=.build/release/recsys
else
  BIN=.build/debug/recsys
fi
case "$BIN" in /*) ;; *) BIN=$ROOT/$BIN ;; esac
[ -x "$BIN" ] || { echo "crash_soak: no recsys binary at $BIN (build it, or set RECSYS_BIN)" >&2; exit 2; }
for tool in psql jq awk timeout; do
  command -v "$tool" >/dev/null || { echo "crash_soak: needs $tool on PATH" >&2; exit 2; }
done

OUT=$ROOT/experiments/out/soak
export RECSYS_HOME=$OUT/home
DATA=$OUT/data
MODELS=$OUT/models
REPORTS=$OUT/reports
W=$OUT/work            # outputs of the current round's commands (cwd of every command: no .env)
EVIDENCE=$OUT/evidence
LOG=$OUT/soak.log
export TMPDIR=$OUT/tmp # recsys' own temporary files land here, so leftovers can be seen
RATINGS=${SOAK_RATINGS:-1000000}
CUSTOMERS=${SOAK_CUSTOMERS:-20000}
MOVIES=${SOAK_MOVIES:-1000}
GRAPH_ARGS=(--min-common 10 --top-k 50)

# Only the managed cluster: nothing from the caller's environment may redirect commands.
unset RECSYS_DATABASE_URL
while read -r v; do unset "$v"; done < <(compgen -e | grep '^PG' || true)

# --- start from nothing ------------------------------------------------------
if [ -d "$RECSYS_HOME/postgres" ]; then "$BIN" db stop >/dev/null 2>&1 || true; fi
rm -rf "$RECSYS_HOME" "$DATA" "$MODELS" "$REPORTS" "$W" "$EVIDENCE" "$TMPDIR" "$LOG"
mkdir -p "$RECSYS_HOME" "$MODELS" "$REPORTS" "$W" "$TMPDIR"
# The server runs as the unprivileged postgres user when we are root: it must reach the home.
chmod 755 "$ROOT/experiments/out" "$OUT" "$RECSYS_HOME"
cd "$W"

now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
log() { printf '%s\n' "$*" >>"$LOG"; }
say() { printf '%s\n' "$*"; log "$*"; }
die() { say "crash_soak: $*"; exit 2; }

BGPID=
SOAK_START=$(now)
cleanup() {
  if [ -n "$BGPID" ]; then kill -9 "$BGPID" 2>/dev/null; wait "$BGPID" 2>/dev/null; fi
  "$BIN" db stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
trap 'exit 130' INT TERM

log "crash soak: $(date -u +%FT%TZ), binary $BIN ($(stat -c '%s bytes, modified %y' "$BIN")), seed $seed, $rounds rounds"
timeout 120 "$BIN" db start >>"$LOG" 2>&1 || die "recsys db start failed (see $LOG)"
SOCKET=$("$BIN" db status --json | jq -r '.socket_directory')
[ -n "$SOCKET" ] && [ "$SOCKET" != null ] || die "no socket directory from recsys db status --json"
CONN="host=$SOCKET port=5432 user=recsys dbname=recsys"
sql() { timeout 120 psql -X -q -A -t -v ON_ERROR_STOP=1 "$CONN" -c "$1"; }

# --- seeded random numbers (64-bit LCG; R in 0 … 2^31-1) ----------------------
rng=$(( seed * 2654435761 + 88172645463325252 ))
R=0
next_rand() {
  rng=$(( rng * 6364136223846793005 + 1442695040888963407 ))
  R=$(( (rng >> 33) & 0x7FFFFFFF ))
}
for _ in 1 2 3 4; do next_rand; done

# --- the dataset ---------------------------------------------------------------
timeout 300 "$BIN" generate --out "$DATA" --ratings "$RATINGS" --customers "$CUSTOMERS" --movies "$MOVIES" --seed 42 --json \
  >"$W/generate.json" 2>>"$LOG" || die "recsys generate failed (see $LOG)"
EXPECTED=$(jq -r '.ratings' "$W/generate.json")
counted=$(cat "$DATA"/combined_data_*.txt | grep -vc ':$')
[ "$EXPECTED" = "$counted" ] || die "generate reports $EXPECTED ratings but the files hold $counted rating lines"
log "dataset: $DATA, $EXPECTED ratings, $CUSTOMERS customers, $MOVIES movies"

# --- one round's bookkeeping ---------------------------------------------------
declare -A T             # typical duration of each step (round 0)
declare -A OPENED        # model_runs.run_id whose file was opened successfully
declare -A NOFILE_SEEN   # model_runs.run_id without a file, already reported
declare -A REC_SEEN      # recommendations.run_id already checked complete
GRAPH_SEEN=0             # graph runs up to this id were checked
declare -A BADPATH_SEEN  # model_runs.run_id whose file was missing or broken, already reported
PROBLEMS=()
STEP=""
ROUND=0
fail() { PROBLEMS+=("$STEP: $*"); log "  FAIL [$STEP] $*"; }

# The last meaningful line a command printed (progress lines end in \r or \n).
last_line() { tail -c 2000 "$1" 2>/dev/null | tr '\r' '\n' | grep -v '^[[:space:]]*$' | tail -n 1 | cut -c1-160; }

# Moves a leftover file into the evidence folder (keeps it, and keeps later rounds from re-reporting it).
keep_evidence() {
  local dir=$EVIDENCE/round-$ROUND/orphans
  mkdir -p "$dir"
  mv -f "$1" "$dir/$(echo "$1" | sed "s|^$OUT/||; s|/|__|g")" 2>/dev/null || rm -rf "$1"
}

# Waits (up to 30 s) until no session of a killed command is left on the server.
quiesce() {
  local t0 n=x i
  t0=$(now)
  for i in $(seq 1 300); do
    n=$(sql "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()") || n=x
    [ "$n" = 0 ] && break
    sleep 0.1
  done
  if [ "$n" != 0 ]; then
    fail "sessions of the killed command still on the server after 30 s: $(sql "SELECT string_agg(pid || ' ' || state || ' ' || left(query, 80), '; ') FROM pg_stat_activity WHERE backend_type = 'client backend' AND pid <> pg_backend_pid()" | tr '\n' ' ')"
  else
    log "    server sessions gone after $(since "$t0") s"
  fi
}

# killrun MAXSECONDS ARGS…: starts recsys ARGS in the background, SIGKILLs it
# after a seeded delay in [0, MAXSECONDS]; appends a note to NOTES.
killrun() {
  local max=$1; shift
  local delay t0 killed=0 rc tag="${STEP}.killed${KILLN}"
  next_rand
  delay=$(awk -v r="$R" -v t="$max" 'BEGIN { printf "%.2f", r / 2147483648 * t }')
  t0=$(now)
  "$BIN" "$@" >"$W/$tag.out" 2>"$W/$tag.err" &
  BGPID=$!
  sleep "$delay"
  if kill -0 "$BGPID" 2>/dev/null && kill -9 "$BGPID" 2>/dev/null; then killed=1; fi
  wait "$BGPID" 2>/dev/null; rc=$?
  BGPID=
  local what=$1
  [ "${2:-}" = --fresh ] && what="load --fresh"
  if [ "$rc" = 137 ] && [ "$killed" = 1 ]; then
    NOTES+=("$what killed at $delay s")
    log "  $what: killed at $delay s; its last output: $(last_line "$W/$tag.err")"
  elif [ "$rc" = 0 ]; then
    NOTES+=("$what done before the kill ($(since "$t0") s)")
    log "  $what: finished (exit 0) in $(since "$t0") s, before the kill at $delay s"
  else
    NOTES+=("$what exited $rc")
    fail "\`recsys $*\` exited $rc by itself before the kill at $delay s: $(last_line "$W/$tag.err")"
  fi
  KILLN=$((KILLN + 1))
  quiesce
}

# rerun ARGS…: runs recsys ARGS to completion; exit 0 required.
RERUN_START=0
rerun() {
  local rc t0
  RERUN_START=$(date +%s)
  t0=$(now)
  timeout -k 10 300 "$BIN" "$@" >"$W/$STEP.rerun.out" 2>"$W/$STEP.rerun.err"; rc=$?
  if [ "$rc" != 0 ]; then
    fail "rerun \`recsys $*\` exited $rc: $(last_line "$W/$STEP.rerun.err")"
    return 1
  fi
  log "  rerun \`recsys ${*}\`: exit 0 in $(since "$t0") s"
}

# --- the checks ---------------------------------------------------------------
check_warehouse() {
  local rc out
  timeout 300 "$BIN" check --json >"$W/check.json" 2>"$W/check.err"; rc=$?
  if [ "$rc" != 0 ]; then
    out=$(jq -r '[.results[] | select(.passed | not) | "\(.name) (observed \(.observed), expected \(.expected))"] | join("; ")' "$W/check.json" 2>/dev/null)
    fail "recsys check exited $rc: ${out:-$(last_line "$W/check.err")}"
  fi

  # No lock left behind.
  out=$(sql "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
  [ "$out" = 0 ] || fail "advisory lock(s) held with no command running: $(sql "SELECT string_agg(l.pid || ' ' || l.classid || '/' || l.objid || ' ' || coalesce(a.state, '?'), '; ') FROM pg_locks l LEFT JOIN pg_stat_activity a USING (pid) WHERE l.locktype = 'advisory'")"
  if timeout 120 "$BIN" load --status --json >"$W/status.json" 2>"$W/status.err"; then
    [ "$(jq -r '.load_running' "$W/status.json")" = false ] || fail "load --status says a load is running: $(jq -c '{state, load_running}' "$W/status.json")"
    [ "$(jq -r '.state' "$W/status.json")" = complete ] || fail "load --status state is $(jq -r '.state' "$W/status.json"), not complete"
  else
    fail "recsys load --status exited non-zero: $(last_line "$W/status.err")"
  fi

  # Exactly once.
  out=$(sql "SELECT (SELECT count(*) FROM fact_ratings) || ' ' ||
                    (SELECT count(*) FROM (SELECT 1 FROM fact_ratings GROUP BY customer_key, movie_key HAVING count(*) > 1) d) || ' ' ||
                    (SELECT count(*) FROM etl_run) || ' ' || (SELECT count(*) FROM etl_run WHERE finished_at IS NOT NULL)")
  read -r facts dups runs finished <<<"$out"
  [ "$facts" = "$EXPECTED" ] || fail "fact_ratings holds $facts rows, the files $EXPECTED"
  [ "$dups" = 0 ] || fail "$dups customer-movie pairs are in fact_ratings more than once"
  [ "$runs $finished" = "1 1" ] || fail "etl_run: $runs rows, $finished finished (want 1 finished)"
  DATA_VERSION=$(sql "SELECT data_version FROM etl_run LIMIT 1")

  # Orphan rows.
  out=$(sql "SELECT (SELECT count(*) FROM feature_split_pair p WHERE NOT EXISTS (SELECT 1 FROM feature_split s WHERE s.split_id = p.split_id)) || ' ' ||
                    (SELECT count(*) FROM feature_customer_bias b WHERE NOT EXISTS (SELECT 1 FROM feature_split s WHERE s.split_id = b.split_id)) || ' ' ||
                    (SELECT count(*) FROM feature_movie_bias b WHERE NOT EXISTS (SELECT 1 FROM feature_split s WHERE s.split_id = b.split_id))")
  read -r pairs cbias mbias <<<"$out"
  [ "$pairs $cbias $mbias" = "0 0 0" ] || fail "feature rows of a split that does not exist: $pairs pairs, $cbias customer biases, $mbias movie biases"
  local gid
  for gid in $(sql "SELECT run_id FROM graph_run g WHERE run_id > $GRAPH_SEEN
                      AND ((g.algorithm IS NOT NULL AND (SELECT count(*) FROM graph_community c WHERE c.run_id = g.run_id) <> g.nodes)
                           OR (SELECT count(*) FROM graph_centrality c WHERE c.run_id = g.run_id) <> g.nodes)"); do
    fail "graph run $gid has partial results: $(sql "SELECT nodes || ' nodes, ' || (SELECT count(*) FROM graph_community c WHERE c.run_id = g.run_id) || ' community rows, ' || (SELECT count(*) FROM graph_centrality c WHERE c.run_id = g.run_id) || ' centrality rows' FROM graph_run g WHERE run_id = $gid")"
  done
  GRAPH_SEEN=$(sql "SELECT coalesce(max(run_id), 0) FROM graph_run")
  # The newest split must have its biases (features replaces them in the split's own transaction).
  out=$(sql "SELECT count(*) FROM feature_split s WHERE s.split_id = (SELECT max(split_id) FROM feature_split)
               AND NOT EXISTS (SELECT 1 FROM feature_customer_bias b WHERE b.split_id = s.split_id)")
  [ "${out:-0}" = 0 ] || fail "the newest feature_split has no customer biases"

  # Recommendations: every run's list is whole and refers to existing runs and keys (new runs only; the table grows).
  local run rows customers top badkeys
  for run in $(sql "WITH RECURSIVE r AS (SELECT min(run_id) AS id FROM recommendations
                      UNION ALL SELECT (SELECT min(run_id) FROM recommendations WHERE run_id > r.id) FROM r WHERE r.id IS NOT NULL)
                    SELECT id FROM r WHERE id IS NOT NULL"); do
    [ -n "${REC_SEEN[$run]:-}" ] && continue
    out=$(sql "SELECT count(*) || ' ' || count(DISTINCT customer_key) || ' ' || max(position) || ' ' ||
                      count(*) FILTER (WHERE NOT EXISTS (SELECT 1 FROM dim_customer c WHERE c.customer_key = r.customer_key)
                                          OR NOT EXISTS (SELECT 1 FROM dim_movie m WHERE m.movie_key = r.movie_key))
               FROM recommendations r WHERE run_id = $run")
    read -r rows customers top badkeys <<<"$out"
    [ "$(sql "SELECT count(*) FROM model_runs WHERE run_id = $run")" = 1 ] || fail "recommendations of run $run, which model_runs does not hold ($rows rows)"
    [ "$rows" = "$((customers * top))" ] || fail "recommendations of run $run are partial: $rows rows for $customers customers × top $top"
    [ "$badkeys" = 0 ] || fail "recommendations of run $run: $badkeys rows with keys outside the dimensions"
    REC_SEEN[$run]=1
  done

  # Model runs registered without their file (a killed train): orphans of the register.
  local ids=() id
  for id in $(sql "SELECT run_id FROM model_runs WHERE path IS NULL AND grid_id IS NULL ORDER BY run_id"); do
    [ -n "${NOFILE_SEEN[$id]:-}" ] && continue
    NOFILE_SEEN[$id]=1; ids+=("$id")
  done
  [ ${#ids[@]} = 0 ] || fail "model_runs rows registered without a model file (not grid candidates): run ${ids[*]} — $(sql "SELECT string_agg(run_id || ' ' || model || ' created ' || to_char(created_at, 'HH24:MI:SS'), '; ') FROM model_runs WHERE run_id IN ($(IFS=,; echo "${ids[*]}"))")"

  # The register points only at complete files.
  local path newest=""
  while IFS='|' read -r id path; do
    [ -n "$id" ] || continue
    newest=$path
    [ -n "${BADPATH_SEEN[$id]:-}" ] && continue
    if [ ! -f "$path" ] || [ ! -s "$path" ]; then
      BADPATH_SEEN[$id]=1
      fail "model_runs run $id points at $path, which does not exist (or is empty)"
      continue
    fi
    [ -n "${OPENED[$id]:-}" ] && continue
    if timeout 120 "$BIN" recommend --model "$path" --customer "$CUSTOMER" --top 3 --json >"$W/open.json" 2>"$W/open.err"; then
      OPENED[$id]=1
    else
      BADPATH_SEEN[$id]=1
      fail "model_runs run $id points at $path, which does not open: $(last_line "$W/open.err")"
    fi
  done < <(sql "SELECT run_id, path FROM model_runs WHERE path IS NOT NULL ORDER BY run_id")
  if [ "$STEP" = train ] && [ -n "$newest" ]; then
    timeout 300 "$BIN" evaluate --model "$newest" --json >"$W/evaluate-newest.json" 2>"$W/evaluate-newest.err" \
      || fail "the newest registered model $newest fails \`evaluate --model\`: $(last_line "$W/evaluate-newest.err")"
  fi
}

check_files() {
  local f name registered
  registered=$(sql "SELECT DISTINCT path FROM model_runs WHERE path IS NOT NULL")
  # Our --out folder: registered als-r<N>.rsm only.
  while IFS= read -r -d '' f; do
    name=${f##*/}
    if [[ ! "$name" =~ ^als-r[0-9]+\.rsm$ ]] || [ ! -f "$f" ]; then
      fail "orphan file in the model folder: $(ls -la "$f" | cut -c1-200)"; keep_evidence "$f"
    elif ! grep -qxF "$f" <<<"$registered"; then
      fail "model file no model_runs row points at: $f"; keep_evidence "$f"
    fi
  done < <(find "$MODELS" -mindepth 1 -maxdepth 1 -print0)
  # recsys' default model folder: nothing is written there (train gets --out).
  if [ -d "$RECSYS_HOME/models" ]; then
    while IFS= read -r -d '' f; do
      fail "orphan file in RECSYS_HOME/models: $(ls -la "$f" | cut -c1-200)"; keep_evidence "$f"
    done < <(find "$RECSYS_HOME/models" -mindepth 1 -maxdepth 1 -print0)
  fi
  # The ratings cache: ratings-<version>.bin only; after a matrix-reading command, the current version's only.
  if [ -d "$RECSYS_HOME/cache" ]; then
    while IFS= read -r -d '' f; do
      name=${f##*/}
      if [[ ! "$name" =~ ^ratings-[0-9a-f]+-[0-9]+\.bin$ ]]; then
        fail "orphan file in the ratings cache: $(ls -la "$f" | cut -c1-200)"; keep_evidence "$f"
      elif [ "$STEP" != load ] && [ "$name" != "ratings-$DATA_VERSION.bin" ]; then
        fail "stale cache of another data version left after $STEP: $name (current $DATA_VERSION)"; keep_evidence "$f"
      fi
    done < <(find "$RECSYS_HOME/cache" -mindepth 1 -maxdepth 1 -print0)
  fi
  # Report folders: report.html, report.md, <name>.json, charts/*.svg only.
  local dir json
  for dir in "$REPORTS/graph:graph.json" "$REPORTS/evaluate:metrics.json"; do
    json=${dir##*:}; dir=${dir%:*}
    [ -d "$dir" ] || continue
    while IFS= read -r -d '' f; do
      name=${f#"$dir"/}
      case "$name" in
        report.html|report.md|"$json"|charts) ;;
        charts/[!.]*.svg) ;;
        *) fail "orphan file in the report folder ${dir#"$OUT"/}: $(ls -lad "$f" | cut -c1-200)"; keep_evidence "$f" ;;
      esac
    done < <(find "$dir" -mindepth 1 -print0)
  done
  # The report this step wrote is whole, and was written by the rerun.
  if [ "$STEP" = graph ] || [ "$STEP" = evaluate ]; then
    dir=$REPORTS/$STEP; json=$([ "$STEP" = graph ] && echo graph.json || echo metrics.json)
    for f in report.html report.md "$json"; do
      if [ ! -s "$dir/$f" ]; then fail "the rerun left no $f in ${dir#"$OUT"/}"
      elif [ "$(stat -c %Y "$dir/$f")" -lt "$RERUN_START" ]; then fail "$f in ${dir#"$OUT"/} is older than the rerun"
      fi
    done
    jq -e . "$dir/$json" >/dev/null 2>&1 || fail "${dir#"$OUT"/}/$json is not valid JSON"
    grep -q '</html>' "$dir/report.html" 2>/dev/null || fail "${dir#"$OUT"/}/report.html is not complete"
  fi
  # recsys' temporary files (subprocess output) go to TMPDIR: nothing may stay there.
  while IFS= read -r -d '' f; do
    fail "orphan temporary file: $(ls -la "$f" | cut -c1-200)"; keep_evidence "$f"
  done < <(find "$TMPDIR" -mindepth 1 -maxdepth 1 -print0)
  # Nothing unexpected at the top of RECSYS_HOME.
  while IFS= read -r -d '' f; do
    case "${f##*/}" in postgres|logs|cache|models) ;; *) fail "unexpected file in RECSYS_HOME: $(ls -lad "$f" | cut -c1-200)"; keep_evidence "$f" ;; esac
  done < <(find "$RECSYS_HOME" -mindepth 1 -maxdepth 1 -print0)
}

verify() {
  local before=${#PROBLEMS[@]}
  check_warehouse
  check_files
  if [ ${#PROBLEMS[@]} -gt "$before" ]; then
    local dir=$EVIDENCE/round-$ROUND/$STEP
    mkdir -p "$dir"
    cp -f "$W"/"$STEP".* "$W"/check.json "$W"/status.json "$dir"/ 2>/dev/null
    sql "SELECT run_id, model, path, grid_id, data_version, created_at FROM model_runs ORDER BY run_id DESC LIMIT 10" >"$dir/model_runs.txt" 2>&1
    sql "SELECT stage, file, rows, expected, done FROM etl_checkpoint ORDER BY stage, file" >"$dir/etl_checkpoint.txt" 2>&1
  fi
}

# The arguments of each step.
step_args() {
  case "$1" in
    features) ARGS=(features) ;;
    train) ARGS=(train --model als --out "$MODELS/als-r$ROUND.rsm") ;;
    recommend) ARGS=(recommend --all) ;;
    graph) ARGS=(graph "${GRAPH_ARGS[@]}" --out "$REPORTS/graph") ;;
    evaluate) ARGS=(evaluate --out "$REPORTS/evaluate") ;;
  esac
}
STEPS=(features train recommend graph evaluate)

# --- round 0: clean runs, their durations, a clean pipeline passes ------------
ROUND=0
say "round 0: clean run of each command (durations, baseline checks)"
for STEP in load "${STEPS[@]}"; do
  if [ "$STEP" = load ]; then ARGS=(load --data "$DATA"); else step_args "$STEP"; fi
  t0=$(now)
  rerun "${ARGS[@]}" || die "round 0: \`recsys ${ARGS[*]}\` failed: $(last_line "$W/$STEP.rerun.err") (see $LOG)"
  T[$STEP]=$(since "$t0")
  if [ "$STEP" = load ]; then CUSTOMER=$(sql "SELECT customer_id FROM dim_customer ORDER BY customer_key LIMIT 1"); fi
  verify
done
[ ${#PROBLEMS[@]} = 0 ] || die "round 0 (no kills) already fails: ${PROBLEMS[*]}"
say "  durations: $(for s in load "${STEPS[@]}"; do printf '%s %s s, ' "$s" "${T[$s]}"; done | sed 's/, $//')"

# Round 1 kills the very first load: back to an empty warehouse (and no models, reports or cache).
sql "SELECT 1" >/dev/null
timeout 120 psql -X -q -v ON_ERROR_STOP=1 "host=$SOCKET port=5432 user=recsys dbname=postgres" -c "DROP DATABASE recsys" >>"$LOG" 2>&1 \
  || die "could not drop the round-0 database"
timeout 120 "$BIN" db start >>"$LOG" 2>&1 || die "recsys db start (recreating the database) failed"
rm -rf "$MODELS"/* "$REPORTS"/* "$RECSYS_HOME/cache" "$RECSYS_HOME/models"
OPENED=(); NOFILE_SEEN=(); REC_SEEN=(); BADPATH_SEEN=(); GRAPH_SEEN=0

# --- the rounds ---------------------------------------------------------------
passed=0
failed=0
for ((ROUND = 1; ROUND <= rounds; ROUND++)); do
  PROBLEMS=()
  NOTES=()
  round_start=$(now)
  log ""
  log "round $ROUND ($(date -u +%T))"
  rm -f "$W"/*

  # load
  STEP=load
  KILLN=1
  if [ "$ROUND" = 1 ]; then
    variant=first
  else
    next_rand
    if (( R % 2 )); then variant=fresh; else variant=resume; fi
  fi
  log "  load variant: $variant"
  case $variant in
    first)  killrun "${T[load]}" load --data "$DATA"
            rerun load --data "$DATA" ;;
    fresh)  killrun "${T[load]}" load --fresh --data "$DATA"
            rerun load --fresh --data "$DATA" ;;
    resume) killrun "${T[load]}" load --fresh --data "$DATA"
            killrun "${T[load]}" load --data "$DATA"
            rerun load --data "$DATA" ;;
  esac
  load_ok=$?
  verify
  if [ "$load_ok" != 0 ]; then
    # Later steps need a loaded warehouse: repair with a clean fresh load.
    log "  repair: load --fresh after the failed rerun"
    timeout -k 10 300 "$BIN" load --fresh --data "$DATA" >>"$LOG" 2>&1 || die "round $ROUND: even a clean load --fresh fails; stopping"
  fi

  for STEP in "${STEPS[@]}"; do
    KILLN=1
    step_args "$STEP"
    killrun "${T[$STEP]}" "${ARGS[@]}"
    rerun "${ARGS[@]}"
    verify
  done

  secs=$(since "$round_start")
  notes=$(IFS=,; echo "${NOTES[*]}" | sed 's/,/, /g')
  if [ ${#PROBLEMS[@]} = 0 ]; then
    passed=$((passed + 1))
    say "round $ROUND: ok ($notes) in $secs s"
  else
    failed=$((failed + 1))
    say "round $ROUND: FAILED ($notes) in $secs s"
    for p in "${PROBLEMS[@]}"; do say "  - $p"; done
  fi
done

log ""
log "soak finished $(date -u +%FT%TZ) after $(since "$SOAK_START") s; evidence of failures in $EVIDENCE"
say "$passed passed, $failed failed"
[ "$failed" = 0 ]
