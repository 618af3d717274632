// See include/recsys_kernels.h. Each kernel body is written once with GCC/Clang
// vector extensions and compiled twice: for AVX2 + FMA, and for the baseline.
#include "recsys_kernels.h"

typedef float v8 __attribute__((vector_size(32), aligned(4)));

// Macros, not functions: a function taking or returning a 32-byte vector has a
// different ABI with and without AVX, and each body is compiled both ways.
#define load8(p) ({ v8 v_; __builtin_memcpy(&v_, (p), 32); v_; })
#define store8(p, v) ({ v8 s_ = (v); __builtin_memcpy((p), &s_, 32); })
#define splat8(x) ({ float x_ = (x); (v8){x_, x_, x_, x_, x_, x_, x_, x_}; })
// A fixed tree: (0+4, 1+5, 2+6, 3+7), then pairs, then the last two.
#define sum8(v) ({ v8 t_ = (v); ((t_[0] + t_[4]) + (t_[2] + t_[6])) + ((t_[1] + t_[5]) + (t_[3] + t_[7])); })

// One pass: every block row's coefficient, then D's rows, each added lane by lane by ADD(lane, s, source).
#define CG_PASS(ADD)                                                                             \
    for (ptrdiff_t j = 0; j < n; j++) {                                                          \
        const float *g = block + j * width;                                                      \
        v8 d = load8(g) * load8(v);                                                              \
        for (ptrdiff_t l = 1; l < lanes; l++) d += load8(g + 8 * l) * load8(v + 8 * l);         \
        float w = weights ? weights[j] : 1.0f;                                                   \
        v8 s = splat8(w * sum8(d) - tau * targets[j]);                                           \
        for (ptrdiff_t l = 0; l < lanes; l++) ADD(l, s, g + 8 * l);                              \
    }                                                                                            \
    if (dense)                                                                                   \
        for (ptrdiff_t i = 0; i < width; i++) {                                                  \
            v8 s = splat8(v[i]);                                                                 \
            for (ptrdiff_t l = 0; l < lanes; l++) ADD(l, s, dense + i * width + 8 * l);          \
        }
// Up to 64 unknowns the sums live in registers; wider rows add into `out` in memory.
#define ADD_IN_REGISTERS(l, s, p) (o[l] += (s) * load8(p))
#define ADD_IN_MEMORY(l, s, p) store8(out + 8 * (l), load8(out + 8 * (l)) + (s) * load8(p))

#define CG_PRODUCT_BODY                                                                          \
    ptrdiff_t lanes = width / 8;                                                                 \
    v8 r = splat8(ridge);                                                                        \
    if (lanes <= 8) {                                                                            \
        v8 o[8];                                                                                 \
        for (int l = 0; l < 8; l++) o[l] = splat8(0);                                            \
        CG_PASS(ADD_IN_REGISTERS)                                                                \
        for (ptrdiff_t l = 0; l < lanes; l++) store8(out + 8 * l, o[l] + r * load8(v + 8 * l));  \
        return;                                                                                  \
    }                                                                                            \
    for (ptrdiff_t l = 0; l < lanes; l++) store8(out + 8 * l, splat8(0));                        \
    CG_PASS(ADD_IN_MEMORY)                                                                       \
    for (ptrdiff_t l = 0; l < lanes; l++) store8(out + 8 * l, load8(out + 8 * l) + r * load8(v + 8 * l));

#define SUM_ROWS64_BODY                                                                          \
    v8 a0 = splat8(0), a1 = a0, a2 = a0, a3 = a0, a4 = a0, a5 = a0, a6 = a0, a7 = a0;            \
    for (ptrdiff_t i = 0; i < count; i++) {                                                      \
        const float *row = base + (ptrdiff_t)rows[i] * stride;                                   \
        a0 += load8(row);      a1 += load8(row + 8);  a2 += load8(row + 16); a3 += load8(row + 24); \
        a4 += load8(row + 32); a5 += load8(row + 40); a6 += load8(row + 48); a7 += load8(row + 56); \
    }                                                                                            \
    store8(sums, a0);      store8(sums + 8, a1);  store8(sums + 16, a2); store8(sums + 24, a3);   \
    store8(sums + 32, a4); store8(sums + 40, a5); store8(sums + 48, a6); store8(sums + 56, a7);

#define SIGNATURE_CG(name)                                                                       \
    static void name(const float *block, ptrdiff_t n, ptrdiff_t width, const float *v,           \
                     const float *weights, const float *targets, float tau, float ridge,          \
                     const float *dense, float *out)
#define SIGNATURE_SUM(name) \
    static void name(const int *rows, ptrdiff_t count, const float *base, ptrdiff_t stride, float *sums)

#if defined(__x86_64__)
// Contraction into FMA is off in both versions: the products are rounded as the baseline rounds them.
#pragma clang fp contract(off)
__attribute__((target("avx2,fma"))) SIGNATURE_CG(cg_product_avx2) { CG_PRODUCT_BODY }
__attribute__((target("avx2,fma"))) SIGNATURE_SUM(sum_rows64_avx2) { SUM_ROWS64_BODY }
#endif
SIGNATURE_CG(cg_product_base) { CG_PRODUCT_BODY }
SIGNATURE_SUM(sum_rows64_base) { SUM_ROWS64_BODY }

int recsys_kernels_use_avx2(void) {
#if defined(__x86_64__)
    // Workers may ask at once: the cached answer is read and written atomically.
    static int answer = -1;
    int known = __atomic_load_n(&answer, __ATOMIC_RELAXED);
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
        __atomic_store_n(&answer, known, __ATOMIC_RELAXED);
    }
    return known;
#else
    return 0;
#endif
}

void recsys_cg_product(const float *block, ptrdiff_t n, ptrdiff_t width, const float *v, const float *weights,
                       const float *targets, float tau, float ridge, const float *dense, float *out) {
#if defined(__x86_64__)
    if (recsys_kernels_use_avx2()) { cg_product_avx2(block, n, width, v, weights, targets, tau, ridge, dense, out); return; }
#endif
    cg_product_base(block, n, width, v, weights, targets, tau, ridge, dense, out);
}

int recsys_cpu_has_avx512(void) {
#if defined(__x86_64__)
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw")
        && __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl");
#else
    return 0;
#endif
}

void recsys_sum_rows64(const int *rows, ptrdiff_t count, const float *base, ptrdiff_t stride, float *sums) {
#if defined(__x86_64__)
    if (recsys_kernels_use_avx2()) { sum_rows64_avx2(rows, count, base, stride, sums); return; }
#endif
    sum_rows64_base(rows, count, base, stride, sums);
}
