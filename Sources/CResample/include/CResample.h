#ifndef PIPELINE_CRESAMPLE_H
#define PIPELINE_CRESAMPLE_H
#include <stddef.h>
#include <stdint.h>

/* Resamples packed 8-bit pixels (`bands` interleaved bands, rows `width * bands` bytes apart)
   from width x height to out_width x out_height with a separable Lanczos-3 filter, widened by
   the scale when reducing (each output pixel weighs every source pixel it covers), with the
   weights of each output pixel normalised to 1 and held in fixed point (14 fractional bits),
   results rounded and clamped to 0..255; a reduction of 2x or more is first a box shrink by the
   integer part of half the factor, as libvips' resize does. The vertical pass runs along whole
   rows, two rows per AVX2 multiply where the CPU has it (the same bytes either way); the
   horizontal pass is the vertical one on the transposed image.
   Colour channels only: an image with alpha must be premultiplied first.
   Returns 0, or -1 when the sizes are invalid or memory ran out. */
int pl_resample_lanczos3(const uint8_t *input, int width, int height, int bands, uint8_t *output, int out_width,
                         int out_height);

/* The same without the AVX2 weighing, for checking that both give the same bytes. */
int pl_resample_lanczos3_portable(const uint8_t *input, int width, int height, int bands, uint8_t *output,
                                  int out_width, int out_height);

#endif
