#ifndef PIPELINE_CVIPS_SHIM_H
#define PIPELINE_CVIPS_SHIM_H
#include <string.h> /* first: it defines __GLIBC__ on glibc */
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <vips/vips.h>

/* VIPS_INIT is a macro and most libvips operations are variadic (NULL-terminated option
   lists); Swift calls these typed wrappers instead. */
static inline int pl_vips_init(const char *argv0) { return VIPS_INIT(argv0); }

static inline const char *pl_vips_version_string(void) { return vips_version_string(); }

/* Keeps freed image buffers in the heap: glibc maps buffers over its threshold (128 KiB at
   first) and hands freed ones back, and each thread arena trims memory over its trim threshold
   (madvise), so every ~1 MB decode or resample buffer was faulted in again, page by page.
   32 MiB is glibc's largest mapping threshold (a 24 MP decode is still mapped); each arena keeps
   up to 16 MiB free before it trims, which bounds what a long-running service holds unused. */
static inline void pl_malloc_keep_image_buffers(void) {
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 32 << 20);
    mallopt(M_TRIM_THRESHOLD, 16 << 20);
#endif
}

/* Turns off libvips' ORC (runtime-compiled SIMD) paths, as VIPS_NOVECTOR=1 does. */
static inline void pl_vips_vector_disable(void) { vips_vector_set_enabled(FALSE); }

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

/* The same from bytes in memory (a mapped file): no loader opens, seeks or stats anything, where
   finding a file's loader opens the file once for every loader that sniffs it. The bytes must
   outlive the image. */
static inline VipsImage *pl_vips_image_new_from_buffer_sequential(const void *bytes, size_t length) {
    return vips_image_new_from_buffer(bytes, length, "", "access", VIPS_ACCESS_SEQUENTIAL, NULL);
}
static inline VipsImage *pl_vips_image_new_from_buffer_strict(const void *bytes, size_t length) {
    return vips_image_new_from_buffer(bytes, length, "", "access", VIPS_ACCESS_SEQUENTIAL, "fail_on",
                                      VIPS_FAIL_ON_WARNING, NULL);
}
/* Whether libvips' own loader for these bytes reads them from memory: the raster formats
   (JPEG, PNG, WebP, TIFF, GIF, HEIF/AVIF, JPEG 2000, JPEG XL). Anything else is read from its
   file as before: ImageMagick's buffer loader claims any bytes (a VIPS-format file included) and
   then fails on those it cannot read. */
static inline int pl_vips_loads_from_memory(const void *bytes, size_t length) {
    static const char *const native[] = {"VipsForeignLoadJpegBuffer", "VipsForeignLoadPngBuffer",
                                         "VipsForeignLoadWebpBuffer", "VipsForeignLoadTiffBuffer",
                                         "VipsForeignLoadNsgifBuffer", "VipsForeignLoadHeifBuffer",
                                         "VipsForeignLoadJp2kBuffer", "VipsForeignLoadJxlBuffer"};
    const char *loader = vips_foreign_find_load_buffer(bytes, length);
    if (loader == NULL) {
        vips_error_clear();
        return 0;
    }
    for (size_t i = 0; i < sizeof(native) / sizeof(native[0]); i++) {
        if (strcmp(loader, native[i]) == 0) return 1;
    }
    return 0;
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

/* Normalize: shrink-on-load to fit width x height (never up), autorotated, sRGB imported. */
static inline int pl_vips_thumbnail_down(const char *filename, VipsImage **out, int width, int height) {
    return vips_thumbnail(filename, out, width, "height", height, "size", VIPS_SIZE_DOWN, NULL);
}
static inline int pl_vips_thumbnail_buffer_down(const void *bytes, size_t length, VipsImage **out, int width,
                                                int height) {
    return vips_thumbnail_buffer((void *)bytes, length, out, width, "height", height, "size", VIPS_SIZE_DOWN, NULL);
}
static inline int pl_vips_colourspace(VipsImage *in, VipsImage **out, VipsInterpretation space) {
    return vips_colourspace(in, out, space, NULL);
}
static inline int pl_vips_cast_uchar(VipsImage *in, VipsImage **out) { return vips_cast_uchar(in, out, NULL); }
static inline int pl_vips_copy_memory(VipsImage *in, VipsImage **out) {
    VipsImage *copy = vips_image_copy_memory(in);
    if (copy == NULL) return -1;
    *out = copy;
    return 0;
}
/* Lanczos3 resize by separate horizontal and vertical factors. */
static inline int pl_vips_resize(VipsImage *in, VipsImage **out, double hscale, double vscale) {
    return vips_resize(in, out, hscale, "vscale", vscale, NULL);
}
/* Places the image at (x, y) on a width x height canvas of a constant colour. */
static inline int pl_vips_embed_colour(VipsImage *in, VipsImage **out, int x, int y, int width, int height,
                                       const double *colour, int n) {
    VipsArrayDouble *background = vips_array_double_new(colour, n);
    int result = vips_embed(in, out, x, y, width, height, "extend", VIPS_EXTEND_BACKGROUND, "background",
                            background, NULL);
    vips_area_unref(VIPS_AREA(background));
    return result;
}
/* Places the image at (x, y), repeating its edge pixels outwards (for off-by-one sizes). */
static inline int pl_vips_embed_copy(VipsImage *in, VipsImage **out, int x, int y, int width, int height) {
    return vips_embed(in, out, x, y, width, height, "extend", VIPS_EXTEND_COPY, NULL);
}
/* Drops alpha onto a constant colour. */
static inline int pl_vips_flatten(VipsImage *in, VipsImage **out, const double *colour, int n) {
    VipsArrayDouble *background = vips_array_double_new(colour, n);
    int result = vips_flatten(in, out, "background", background, NULL);
    vips_area_unref(VIPS_AREA(background));
    return result;
}
/* Encoders with metadata stripped, so output bytes depend on the pixels and settings only. */
static inline int pl_vips_jpegsave(VipsImage *in, const char *filename, int quality) {
    return vips_jpegsave(in, filename, "Q", quality, "strip", TRUE, "optimize_coding", TRUE, NULL);
}
static inline int pl_vips_webpsave(VipsImage *in, const char *filename, int quality) {
    return vips_webpsave(in, filename, "Q", quality, "strip", TRUE, NULL);
}
static inline int pl_vips_pngsave(VipsImage *in, const char *filename, int compression) {
    return vips_pngsave(in, filename, "compression", compression, "strip", TRUE, NULL);
}
/* The same encoders into memory (free the buffer with g_free). JPEG without optimised Huffman
   tables: the second pass over the coefficients saved 2.9 % of the bytes on the dataset benchmark's
   640x480 images (vips jpegsave, Q 82) at a cost in time that is paid on every image; Pillow,
   libjpeg's cjpeg and most writers leave it off by default as well. */
static inline int pl_vips_jpegsave_buffer(VipsImage *in, void **buffer, size_t *length, int quality) {
    return vips_jpegsave_buffer(in, buffer, length, "Q", quality, "strip", TRUE, NULL);
}
static inline int pl_vips_webpsave_buffer(VipsImage *in, void **buffer, size_t *length, int quality) {
    return vips_webpsave_buffer(in, buffer, length, "Q", quality, "strip", TRUE, NULL);
}
static inline int pl_vips_pngsave_buffer(VipsImage *in, void **buffer, size_t *length, int compression) {
    return vips_pngsave_buffer(in, buffer, length, "compression", compression, "strip", TRUE, NULL);
}
/* The pixels as one packed buffer (free with g_free). */
static inline void *pl_vips_write_to_memory(VipsImage *in, size_t *size) { return vips_image_write_to_memory(in, size); }
static inline void pl_vips_concurrency_set(int threads) { vips_concurrency_set(threads); }
static inline int vips_extract_band_shim(VipsImage *in, VipsImage **out, int band, int n) {
    return vips_extract_band(in, out, band, "n", n, NULL);
}
/* An 8-bit image from packed pixels (copied). */
static inline VipsImage *pl_vips_image_from_uchar(const void *data, size_t size, int width, int height, int bands) {
    return vips_image_new_from_memory_copy(data, size, width, height, bands, VIPS_FORMAT_UCHAR);
}

/* A new memory image of width x height 8-bit pixels with the bands and interpretation of `like`,
   its pixels allocated (uninitialised) and written at pl_vips_pixels. */
static inline VipsImage *pl_vips_new_uchar_like(VipsImage *like, int width, int height) {
    VipsImage *out = vips_image_new_memory();
    vips_image_init_fields(out, width, height, like->Bands, VIPS_FORMAT_UCHAR, VIPS_CODING_NONE, like->Type,
                           like->Xres, like->Yres);
    if (vips_image_write_prepare(out) != 0) {
        g_object_unref(out);
        return NULL;
    }
    return out;
}
/* A new memory image of width x height 8-bit pixels, `bands` 3 (sRGB) or 1 (grey), its pixels
   allocated (uninitialised) and written at pl_vips_pixels. */
static inline VipsImage *pl_vips_new_uchar(int width, int height, int bands) {
    VipsImage *out = vips_image_new_memory();
    vips_image_init_fields(out, width, height, bands, VIPS_FORMAT_UCHAR, VIPS_CODING_NONE,
                           bands == 1 ? VIPS_INTERPRETATION_B_W : VIPS_INTERPRETATION_sRGB, 1.0, 1.0);
    if (vips_image_write_prepare(out) != 0) {
        g_object_unref(out);
        return NULL;
    }
    return out;
}
/* The pixels of an image held in memory (a copy_memory or pl_vips_new_uchar_like result), else NULL. */
static inline unsigned char *pl_vips_pixels(VipsImage *image) {
    return image->data != NULL ? (unsigned char *)VIPS_IMAGE_ADDR(image, 0, 0) : NULL;
}

/* The error buffer's text, cleared; free it with g_free. */
static inline char *pl_vips_take_error(void) { return vips_error_buffer_copy(); }
static inline void pl_g_free(void *pointer) { g_free(pointer); }
#endif
