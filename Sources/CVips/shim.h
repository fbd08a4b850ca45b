#ifndef PIPELINE_CVIPS_SHIM_H
#define PIPELINE_CVIPS_SHIM_H
#include <vips/vips.h>

/* VIPS_INIT is a macro and most libvips operations are variadic (NULL-terminated option
   lists); Swift calls these typed wrappers instead. */
static inline int pl_vips_init(const char *argv0) { return VIPS_INIT(argv0); }

static inline const char *pl_vips_version_string(void) { return vips_version_string(); }

/* Opens a file lazily: only the header is read until pixels are asked for. */
static inline VipsImage *pl_vips_image_new_from_file_sequential(const char *filename) {
    return vips_image_new_from_file(filename, "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}

/* Shrink-on-load thumbnail to fit width x height; crop is a VipsInteresting value
   (VIPS_INTERESTING_NONE to keep the whole image), size a VipsSize value. */
static inline int pl_vips_thumbnail(const char *filename, VipsImage **out, int width, int height,
                                    VipsSize size, VipsInteresting crop) {
    return vips_thumbnail(filename, out, width, "height", height, "size", size, "crop", crop, NULL);
}

static inline void pl_g_object_unref(VipsImage *image) { g_object_unref(image); }

/* Opens a file with every decoder warning treated as an error (truncation, bad CRCs). */
static inline VipsImage *pl_vips_image_new_from_file_strict(const char *filename) {
    return vips_image_new_from_file(filename, "access", VIPS_ACCESS_SEQUENTIAL, "fail_on", VIPS_FAIL_ON_WARNING, NULL);
}

/* The loader that recognised the file ("jpegload", "pngload", ...), or NULL. */
static inline const char *pl_vips_image_loader(VipsImage *image) {
    const char *loader = NULL;
    if (vips_image_get_typeof(image, "vips-loader") && vips_image_get_string(image, "vips-loader", &loader) == 0) {
        return loader;
    }
    return NULL;
}

/* The mean of every pixel: decodes the whole image, in a streaming fashion. */
static inline int pl_vips_avg(VipsImage *image, double *out) { return vips_avg(image, out, NULL); }

/* Geometry and tone operations for augmentation. */
static inline int pl_vips_flip(VipsImage *in, VipsImage **out, VipsDirection direction) {
    return vips_flip(in, out, direction, NULL);
}
static inline int pl_vips_rot(VipsImage *in, VipsImage **out, VipsAngle angle) { return vips_rot(in, out, angle, NULL); }
static inline int pl_vips_extract_area(VipsImage *in, VipsImage **out, int left, int top, int width, int height) {
    return vips_extract_area(in, out, left, top, width, height, NULL);
}
/* out = in * a + b on every band, cast back to the input's format. */
static inline int pl_vips_linear_uchar(VipsImage *in, VipsImage **out, double a, double b) {
    return vips_linear1(in, out, a, b, "uchar", TRUE, NULL);
}
/* Applies EXIF orientation to the pixels and drops the tag. */
static inline int pl_vips_autorot(VipsImage *in, VipsImage **out) { return vips_autorot(in, out, NULL); }
static inline VipsImage *pl_vips_image_new_from_file_random(const char *filename) {
    return vips_image_new_from_file(filename, "access", VIPS_ACCESS_RANDOM, NULL);
}
/* Saves by the file name's suffix; metadata is stripped so output bytes depend on pixels only. */
static inline int pl_vips_write_stripped(VipsImage *image, const char *filename) {
    return vips_image_write_to_file(image, filename, "strip", TRUE, NULL);
}

/* The error buffer's text, cleared; free it with g_free. */
static inline char *pl_vips_take_error(void) { return vips_error_buffer_copy(); }
static inline void pl_g_free(void *pointer) { g_free(pointer); }
#endif
