#ifndef PIPELINE_FUZZ_DRIVER_H
#define PIPELINE_FUZZ_DRIVER_H
#include <stddef.h>
#include <stdint.h>

/* libFuzzer's driver (compiler-rt, -sanitize=fuzzer): SwiftPM names an executable's entry point
   <Target>_main, so each target's entry point hands its arguments and test function to it. */
int LLVMFuzzerRunDriver(int *argc, char ***argv, int (*test)(const uint8_t *data, size_t size));
#endif
