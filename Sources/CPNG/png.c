#include "CPNG.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

typedef struct {
    uint8_t *bytes;
    size_t length;
    size_t capacity;
    int failed;
} Output;

static void append(png_structp png, png_bytep data, png_size_t length) {
    Output *output = png_get_io_ptr(png);
    if (output->failed) return;
    if (output->length + length > output->capacity) {
        size_t capacity = output->capacity * 2 > output->length + length ? output->capacity * 2 : output->length + length;
        uint8_t *grown = realloc(output->bytes, capacity);
        if (!grown) {
            output->failed = 1;
            png_error(png, "no memory for the encoded image");
        }
        output->bytes = grown;
        output->capacity = capacity;
    }
    memcpy(output->bytes + output->length, data, length);
    output->length += length;
}

static void flush(png_structp png) { (void)png; }

typedef struct {
    char *error;
    size_t error_size;
} Errors;

static void fail(png_structp png, png_const_charp message) {
    Errors *errors = png_get_error_ptr(png);
    if (errors->error && errors->error_size) snprintf(errors->error, errors->error_size, "%s", message);
    png_longjmp(png, 1);
}

static void warn(png_structp png, png_const_charp message) {
    (void)png;
    (void)message;
}

int pl_png_encode(const uint8_t *pixels, int width, int height, int bands, int compression, uint8_t **out,
                  size_t *out_length, char *error, size_t error_size) {
    static const int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                                PNG_COLOR_TYPE_RGB_ALPHA};
    if (bands < 1 || bands > 4 || width <= 0 || height <= 0) {
        if (error && error_size) snprintf(error, error_size, "%dx%d pixels of %d bands cannot be a PNG", width, height, bands);
        return -1;
    }
    Errors errors = {.error = error, .error_size = error_size};
    Output output = {.bytes = malloc(4096), .length = 0, .capacity = 4096, .failed = 0};
    if (!output.bytes) {
        if (error && error_size) snprintf(error, error_size, "no memory for the encoded image");
        return -1;
    }
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &errors, fail, warn);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!png || !info) {
        png_destroy_write_struct(&png, &info);
        free(output.bytes);
        if (error && error_size) snprintf(error, error_size, "no memory for the PNG encoder");
        return -1;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        free(output.bytes);
        return -1;
    }
    png_set_write_fn(png, &output, append, flush);
    png_set_compression_level(png, compression);
    png_set_filter(png, PNG_FILTER_TYPE_BASE, PNG_FILTER_NONE);
    png_set_IHDR(png, info, (png_uint_32)width, (png_uint_32)height, 8, types[bands - 1], PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_pHYs(png, info, 1000, 1000, PNG_RESOLUTION_METER);
    png_write_info(png, info);
    size_t row = (size_t)width * bands;
    for (int y = 0; y < height; y++) png_write_row(png, (png_const_bytep)(pixels + row * y));
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    *out = output.bytes;
    *out_length = output.length;
    return 0;
}
