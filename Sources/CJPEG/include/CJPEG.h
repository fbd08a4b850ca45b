#ifndef PIPELINE_CJPEG_H
#define PIPELINE_CJPEG_H
#include <stddef.h>
#include <stdint.h>

/* libjpeg(-turbo) directly, for JPEGs of a dataset's size: through libvips, decoding a 640x480
   JPEG took 1.7 ms here against 0.6 ms in libjpeg itself (libvips' per-operation machinery:
   its thread pool, region bookkeeping, a second header parse). */

/* What a JPEG's header says. `plain` is 1 when the image decodes straight to 8-bit sRGB or grey
   as libvips would render it: YCbCr, RGB or grey, EXIF orientation 1 or none. An embedded ICC
   profile does not matter: libvips' thumbnail, like Pillow, leaves the pixels as they are
   without an export profile, which this project never gives it. */
typedef struct {
    int width;
    int height;
    int components;
    int orientation;
    int plain;
} PLJpegHeader;

/* Reads the header of the JPEG in `bytes`; 0, or -1 (not a JPEG, or damaged) with `error` set. */
int pl_jpeg_header(const uint8_t *bytes, size_t length, PLJpegHeader *header, char *error, size_t error_size);

/* The width and height of the image decoded at 1/denom (denom 1, 2, 4 or 8). */
void pl_jpeg_scaled_size(int width, int height, int denom, int *scaled_width, int *scaled_height);

/* Decodes the whole image at 1/denom into `out` (scaled width x height x components bytes: RGB
   or grey), or with `out` NULL only checks that every block decodes (`denom` is then ignored:
   it decodes at 1/8, which still Huffman-decodes every coefficient). `strict` treats every
   libjpeg warning (truncated data, corrupt entropy data, bad markers) as an error. Returns 0,
   or -1 with `error` set. */
int pl_jpeg_decode(const uint8_t *bytes, size_t length, int denom, uint8_t *out, size_t out_size, int strict,
                   char *error, size_t error_size);

/* Encodes packed 8-bit RGB (bands 3) or grey (bands 1) pixels as a baseline JPEG of `quality`
   with the settings of libvips' jpegsave as normalize uses it (JFIF header, no other metadata,
   chroma subsampled 4:2:0 below quality 90 and not at all from 90, standard Huffman tables)
   into *out (free with free()). Returns 0, or -1 with `error` set. */
int pl_jpeg_encode(const uint8_t *pixels, int width, int height, int bands, int quality, uint8_t **out,
                   size_t *out_length, char *error, size_t error_size);

#endif
