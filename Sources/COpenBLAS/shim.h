// Debian's cblas.h (the openblas-pthread alternative) also declares OpenBLAS's
// own thread controls, which the parallel trainers need to keep BLAS single-threaded.
#include <cblas.h>
#include <lapacke.h>
