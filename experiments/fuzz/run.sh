#!/usr/bin/env bash
# Runs the fuzz targets one after another (never two at once), each for the
# given time, under nice -n 19.
#   experiments/fuzz/run.sh [seconds] [target ...]      (default: 600 s, all targets)
# Build first with experiments/fuzz/build.sh.
#
# A crash, hang (-timeout=5) or leak does not end a target's time: the finding
# is kept in experiments/out/fuzz/crashes/<target>/ and fuzzing resumes from
# the grown corpus for the time left (at most 10 findings per target).
# RECSYS_FUZZ_IGNORE=id,id… skips properties whose findings are already
# reported (default: none).
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/experiments/out/fuzz
SEEDS=$ROOT/experiments/fuzz/corpus
SECONDS_EACH=${1:-600}
shift || true
ALL=(rating_line source_scan titles csv model_file edge_list)
TARGETS=("${@:-${ALL[@]}}")
MAX_FINDINGS=${MAX_FINDINGS:-10}

# The findings in experiments/fuzz/findings/ were fixed in a9476f7, so by default every
# property is checked. On older Sources, skip their properties so the search goes on past them:
#   RECSYS_FUZZ_IGNORE=scan-parallel-reopen-stop,scan-garbled-header-block,titles-movielens-year,edge-write-unquoted-labels,edge-weight-finite,model-lookup
# Still open (findings/README.md): edge-label-leading-combining.
export RECSYS_FUZZ_IGNORE=${RECSYS_FUZZ_IGNORE-}
# The Swift runtime's backtracer would catch the crash signal first (and wait); let libFuzzer handle it.
export SWIFT_BACKTRACE=enable=no
SCRATCH=$(mktemp -d /dev/shm/recsys-fuzz-run.XXXXXX 2>/dev/null || mktemp -d)
export RECSYS_FUZZ_TMP=$SCRATCH
trap 'rm -rf "$SCRATCH"' EXIT

mkdir -p "$OUT/logs"
SUMMARY=$OUT/summary.tsv
[[ -f $SUMMARY ]] || printf 'date\ttarget\tseconds\texecutions\texec_per_s\tfindings\tignored\n' >"$SUMMARY"
echo "ignoring known properties: ${RECSYS_FUZZ_IGNORE:-none}"

for t in "${TARGETS[@]}"; do
  bin=$OUT/$t
  [[ -x $bin ]] || { echo "$t: not built ($bin); run experiments/fuzz/build.sh" >&2; exit 1; }
  work=$OUT/corpus/$t crashes=$OUT/crashes/$t
  mkdir -p "$work" "$crashes"
  start=$(date +%s)
  execs=0 runs=0 findings=0
  while :; do
    left=$(( SECONDS_EACH - ($(date +%s) - start) ))
    (( left > 0 && findings < MAX_FINDINGS )) || break
    runs=$((runs + 1))
    log=$OUT/logs/run-$t-$runs.log
    nice -n 19 "$bin" "$work" "$SEEDS/$t" -max_total_time="$left" -timeout=5 -print_final_stats=1 \
      -artifact_prefix="$crashes/" -close_fd_mask=1 >"$log" 2>&1
    rc=$?
    n=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
    execs=$((execs + ${n:-0}))
    # A finding: libFuzzer names the unit it wrote (the same input twice keeps one file).
    if grep -q 'Test unit written to' "$log"; then
      findings=$((findings + 1))
      echo "$t: finding in run $runs (rc $rc): $(grep -m1 -E 'FUZZ PROPERTY VIOLATED|ERROR: (libFuzzer|AddressSanitizer)|Fatal error' "$log")"
      echo "    $(grep -m1 'Test unit written to' "$log")"
    elif (( rc != 0 )); then   # not a finding: a fuzzer error (bad flag, RSS limit without a unit, …)
      echo "$t: run $runs ended with rc $rc and no artifact; see $log" >&2
      break
    fi
  done
  elapsed=$(( $(date +%s) - start ))
  rate=$(( elapsed > 0 ? execs / elapsed : 0 ))
  echo "$t: executions $execs in ${elapsed}s (${rate}/s), libFuzzer runs $runs, findings $findings, corpus $(ls "$work" | wc -l) units"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$t" "$elapsed" "$execs" "$rate" "$findings" "${RECSYS_FUZZ_IGNORE:-none}" >>"$SUMMARY"
done
