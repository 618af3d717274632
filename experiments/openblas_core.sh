#!/usr/bin/env bash
# Which OpenBLAS kernels this machine gets, and what the others would give:
# a 2000² cblas_sgemm (5 repetitions, all cores) with OPENBLAS_CORETYPE as the
# machine has it, then forced to Haswell (AVX2) and SkylakeX (AVX-512).
#   experiments/openblas_core.sh
set -euo pipefail
cd "$(dirname "$0")"
scripts=../scripts
"$scripts/ensure-deps.sh" >&2
out=out/openblas-core
mkdir -p "$out"
gcc -O2 openblas-core/sgemm.c -o "$out/sgemm" -lopenblas
echo "as the machine has it (OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}): $("$out/sgemm")"
for core in Haswell SkylakeX; do
  if grep -q "$( [ $core = SkylakeX ] && echo avx512f || echo avx2 )" /proc/cpuinfo; then
    echo "OPENBLAS_CORETYPE=$core: $(OPENBLAS_CORETYPE=$core "$out/sgemm")"
  fi
done
