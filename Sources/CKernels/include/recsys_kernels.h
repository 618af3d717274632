// Hot inner loops of the trainers and the item-based top-N, in C so that they
// run on AVX2 and FMA where the processor has them (chosen once at run time)
// and on plain SSE2 elsewhere: Swift code is compiled for the x86-64 baseline.
#ifndef RECSYS_KERNELS_H
#define RECSYS_KERNELS_H

#include <stddef.h>

// out = ridge·v + D·v + Σ_j (w_j·(g_j·v) − tau·t_j)·g_j over the n rows g_j of
// `block` (n × width, row-major, width a multiple of 8, 32-byte aligned rows
// and vectors). `weights` (w) may be NULL (all 1); `dense` (D, width × width,
// row-major) may be NULL. The order of every sum is fixed: the same bits on
// every call with the same inputs on one machine.
void recsys_cg_product(const float *block, ptrdiff_t n, ptrdiff_t width, const float *v,
                       const float *weights, const float *targets, float tau, float ridge,
                       const float *dense, float *out);

// sums[0..<64] = Σ over rows[0..<count] of base[rows[i]·stride ..< +64], rows in order.
void recsys_sum_rows64(const int *rows, ptrdiff_t count, const float *base, ptrdiff_t stride, float *sums);

// Whether the AVX2 + FMA versions run on this processor (for the benchmarks' notes).
int recsys_kernels_use_avx2(void);

// Whether this processor has the AVX-512 subsets OpenBLAS's SkylakeX kernels use (F, BW, DQ, VL).
int recsys_cpu_has_avx512(void);

#endif
