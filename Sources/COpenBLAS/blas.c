#include "COpenBLAS.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

/* cblas_sgemm's enumerations (cblas.h): row-major order, no transpose, transpose. */
enum { ROW_MAJOR = 101, NO_TRANS = 111, TRANS = 112 };

typedef void (*sgemm_fn)(int, int, int, int, int, int, float, const float *, int, const float *, int, float, float *,
                         int);
static sgemm_fn sgemm;
static void (*set_threads)(int);
static int (*get_threads)(void);
static char failure[256];
static pthread_once_t once = PTHREAD_ONCE_INIT;

static void load(void) {
    void *library = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        snprintf(failure, sizeof failure,
                 "OpenBLAS is not installed (%s): install Debian's libopenblas0-pthread (libopenblas-dev to build)",
                 dlerror());
        return;
    }
    sgemm = (sgemm_fn)dlsym(library, "cblas_sgemm");
    set_threads = (void (*)(int))dlsym(library, "openblas_set_num_threads");
    get_threads = (int (*)(void))dlsym(library, "openblas_get_num_threads");
    if (!sgemm || !set_threads || !get_threads) {
        snprintf(failure, sizeof failure, "libopenblas.so.0 lacks cblas_sgemm or its thread-count functions");
        sgemm = NULL;
    }
}

int pl_blas_load(char *error, size_t error_size) {
    pthread_once(&once, load);
    if (sgemm) return 0;
    if (error && error_size) snprintf(error, error_size, "%s", failure);
    return -1;
}

void pl_sgemm(int transpose_a, int transpose_b, int m, int n, int k, float alpha, const float *a, int lda,
              const float *b, int ldb, float beta, float *c, int ldc) {
    sgemm(ROW_MAJOR, transpose_a ? TRANS : NO_TRANS, transpose_b ? TRANS : NO_TRANS, m, n, k, alpha, a, lda, b, ldb,
          beta, c, ldc);
}

void pl_blas_set_threads(int threads) { set_threads(threads); }

int pl_blas_threads(void) { return get_threads(); }
