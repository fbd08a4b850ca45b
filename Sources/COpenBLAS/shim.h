#ifndef PIPELINE_COPENBLAS_SHIM_H
#define PIPELINE_COPENBLAS_SHIM_H
/* OpenBLAS's CBLAS interface (Debian's libopenblas-dev, the pthread build), for the builtin
   trainer's matrix products, and its thread-count setter. */
#include <cblas.h>
#endif
