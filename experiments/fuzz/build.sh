#!/usr/bin/env bash
# Builds the libFuzzer targets into experiments/out/fuzz/, compiling the
# current files under Sources/ each time (never copies of them).
#   experiments/fuzz/build.sh [target ...]     (default: all)
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=$ROOT/experiments/out/fuzz
T=$ROOT/experiments/fuzz/targets
S=$ROOT/Sources
mkdir -p "$OUT/modules" "$OUT/logs"

# The package builds in Swift 5 language mode (Package.swift: swiftLanguageModes [.v5]).
OPT=${FUZZ_OPT:--O}
FLAGS=(-sanitize=fuzzer,address -parse-as-library "$OPT" -g -swift-version 5)

# Target name → the Sources files it is compiled with (same module, so internal API is visible).
declare -A SOURCES=(
  [rating_line]="$S/Warehouse/SourceReaders.swift $S/Warehouse/SourceSet.swift"
  [source_scan]="$S/Warehouse/SourceReaders.swift $S/Warehouse/SourceSet.swift $S/Warehouse/Scan.swift"
  [titles]="$S/Warehouse/SourceReaders.swift $S/Warehouse/SourceSet.swift"
  [csv]="$S/Warehouse/SourceReaders.swift $S/Warehouse/SourceSet.swift"
  [model_file]="$S/Models/ModelFile.swift $S/Models/FactorModel.swift"
  [edge_list]="$S/Graph/EdgeList.swift $S/Graph/WeightedGraph.swift"
)
ALL=(rating_line source_scan titles csv model_file edge_list)
TARGETS=("${@:-${ALL[@]}}")

# ld.gold warns about every ASan helper symbol; keep the logs readable.
quiet() { grep -v "Cannot export local symbol" || true; }

# Package modules the Sources files `import` (Features, Runtime, …): each is
# built (ASan, no fuzzer main) as a static library, once, before the first
# target that needs it. Found by reading the imports, so a module another
# engineer adds to these files is picked up.
declare -A BUILT=()
modules_of() {  # files... → the Sources/ modules they import, dependencies first
  local m
  for m in $(sed -n 's/^\(@preconcurrency \)\{0,1\}import \([A-Za-z_]*\).*/\2/p' "$@" | sort -u); do
    [[ -d $S/$m && $m != CLibPQ && $m != COpenBLAS ]] || continue
    modules_of "$S/$m"/*.swift
    echo "$m"
  done
}
build_module() {
  local m=$1
  [[ -n ${BUILT[$m]:-} ]] && return 0
  echo "building module $m"
  if ! swiftc -emit-library -static -emit-module -module-name "$m" -parse-as-library "$OPT" -g -swift-version 5 \
      -sanitize=address "$S/$m"/*.swift -I "$OUT/modules" \
      -emit-module-path "$OUT/modules/$m.swiftmodule" -o "$OUT/modules/lib$m.a" >"$OUT/logs/build-$m.log" 2>&1; then
    quiet <"$OUT/logs/build-$m.log" >&2; echo "build of module $m failed (log: $OUT/logs/build-$m.log)" >&2; return 1
  fi
  BUILT[$m]=1
}

for t in "${TARGETS[@]}"; do
  [[ -n ${SOURCES[$t]:-} ]] || { echo "unknown target $t (known: ${ALL[*]})" >&2; exit 2; }
  extra=(-I "$OUT/modules" -L "$OUT/modules")
  # shellcheck disable=SC2086
  for m in $(modules_of ${SOURCES[$t]} | awk '!seen[$0]++'); do
    build_module "$m" || exit 1
    extra+=("-l$m")
  done
  echo "building $t"
  # shellcheck disable=SC2086
  if ! swiftc "${FLAGS[@]}" -module-name "fuzz_$t" "${extra[@]}" \
      "$T/Common.swift" "$T/fuzz_$t.swift" ${SOURCES[$t]} -o "$OUT/$t" >"$OUT/logs/build-$t.log" 2>&1; then
    quiet <"$OUT/logs/build-$t.log" >&2
    echo "build of $t failed (log: $OUT/logs/build-$t.log)" >&2
    exit 1
  fi
  quiet <"$OUT/logs/build-$t.log" | grep -E "error|warning: .*fuzz_" || true
done
echo "built: ${TARGETS[*]} → $OUT"
