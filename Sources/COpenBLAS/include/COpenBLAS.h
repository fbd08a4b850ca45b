#ifndef PIPELINE_COPENBLAS_H
#define PIPELINE_COPENBLAS_H
#include <stddef.h>

/* OpenBLAS (Debian's libopenblas0-pthread: libopenblas.so.0) for the builtin trainer's matrix
   products, loaded on first use rather than linked: OpenBLAS starts its thread pool when it is
   loaded, and its threads spin for about 0.1 s of CPU before they sleep, which every stage binary
   (all of them link the trainer's code) would otherwise pay at start, using it or not. */

/* Loads OpenBLAS if needed: 0, or -1 with `error` set (not installed). */
int pl_blas_load(char *error, size_t error_size);

/* C (m x n) = alpha A (m x k) B (k x n) + beta C on row-major buffers, either operand read
   transposed (cblas_sgemm). OpenBLAS must have loaded (pl_blas_load). */
void pl_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc);

/* OpenBLAS's own thread count (openblas_set_num_threads / openblas_get_num_threads). */
void pl_blas_set_threads(int threads);
int pl_blas_threads(void);

#endif
