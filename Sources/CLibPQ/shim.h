#ifndef PIPELINE_CLIBPQ_SHIM_H
#define PIPELINE_CLIBPQ_SHIM_H
/* libpq has no variadic or macro API that Swift needs wrapped. */
#include <libpq-fe.h>
#endif
