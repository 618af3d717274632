// Debian's cblas.h (the openblas-pthread alternative) also declares OpenBLAS's
// own thread controls, which the parallel trainers need to keep BLAS single-threaded.
#include <cblas.h>
#include <lapacke.h>

// A read prefetch, for the ALS gather: its partner rows are random reads from
// a table far larger than the cache, which no hardware prefetcher predicts.
static inline void recsys_prefetch(const void *address) { __builtin_prefetch(address, 0, 3); }
