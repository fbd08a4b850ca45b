#ifndef PIPELINE_CPNG_H
#define PIPELINE_CPNG_H
#include <stddef.h>
#include <stdint.h>

/* libpng directly (libvips' own PNG writer, headers from libvips-dev's libpng-dev), for the small
   lossless variants of a dataset's images: libvips' pngsave runs every save through its sink
   and thread pool, whose semaphores cost more than encoding a 32x32 image. */

/* Encodes packed 8-bit grey (bands 1), grey + alpha (2), RGB (3) or RGBA (4) pixels as a PNG with
   the settings libvips' pngsave uses by default: not interlaced, no row filter, zlib level
   `compression` (0-9), a pHYs chunk of 1 pixel per millimetre (libvips' default resolution) and
   no other metadata. The bytes are the same as libvips 8.14 writes for such an image. Into *out
   (free with free()); 0, or -1 with `error` set. */
int pl_png_encode(const uint8_t *pixels, int width, int height, int bands, int compression, uint8_t **out,
                  size_t *out_length, char *error, size_t error_size);

#endif
