#include "CJPEG.h"

#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

typedef struct {
    struct jpeg_error_mgr manager;
    jmp_buf escape;
    int strict;
    char *error;
    size_t error_size;
} Errors;

static void fail(j_common_ptr info) {
    Errors *errors = (Errors *)info->err;
    char message[JMSG_LENGTH_MAX];
    (*info->err->format_message)(info, message);
    if (errors->error && errors->error_size) snprintf(errors->error, errors->error_size, "%s", message);
    longjmp(errors->escape, 1);
}

/* Level -1 is a warning (e.g. "Premature end of JPEG file"): an error when strict. */
static void notice(j_common_ptr info, int level) {
    Errors *errors = (Errors *)info->err;
    if (level < 0 && errors->strict) fail(info);
}

static int get16(const uint8_t *p, int big) { return big ? (p[0] << 8) | p[1] : p[0] | (p[1] << 8); }
static uint32_t get32(const uint8_t *p, int big) {
    return big ? ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]
               : p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

/* The orientation tag (0x0112) of IFD0 in an APP1 "Exif\0\0" segment; 1 when absent or unreadable. */
static int exif_orientation(const uint8_t *data, unsigned length) {
    if (length < 14 || memcmp(data, "Exif\0\0", 6) != 0) return 1;
    const uint8_t *tiff = data + 6;
    unsigned size = length - 6;
    int big;
    if (tiff[0] == 'M' && tiff[1] == 'M') big = 1;
    else if (tiff[0] == 'I' && tiff[1] == 'I') big = 0;
    else return 1;
    uint32_t ifd = get32(tiff + 4, big);
    if (ifd > size - 2) return 1;
    int entries = get16(tiff + ifd, big);
    for (int i = 0; i < entries; i++) {
        uint32_t at = ifd + 2 + 12 * (uint32_t)i;
        if (at + 12 > size) return 1;
        if (get16(tiff + at, big) == 0x0112) {
            int value = get16(tiff + at + 8, big);
            return value >= 1 && value <= 8 ? value : 1;
        }
    }
    return 1;
}

int pl_jpeg_header(const uint8_t *bytes, size_t length, PLJpegHeader *header, char *error, size_t error_size) {
    struct jpeg_decompress_struct info;
    Errors errors = {.strict = 0, .error = error, .error_size = error_size};
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = fail;
    errors.manager.emit_message = notice;
    if (length < 3 || bytes[0] != 0xFF || bytes[1] != 0xD8) {
        if (error && error_size) snprintf(error, error_size, "not a JPEG");
        return -1;
    }
    if (setjmp(errors.escape)) {
        jpeg_destroy_decompress(&info);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_save_markers(&info, JPEG_APP0 + 1, 0xFFFF);
    jpeg_mem_src(&info, bytes, (unsigned long)length);
    jpeg_read_header(&info, TRUE);
    header->width = (int)info.image_width;
    header->height = (int)info.image_height;
    header->components = info.num_components;
    header->orientation = 1;
    int exif = 0;
    for (jpeg_saved_marker_ptr marker = info.marker_list; marker; marker = marker->next) {
        /* The first Exif segment counts, as for libvips. */
        if (marker->marker == JPEG_APP0 + 1 && !exif && marker->data_length >= 6 &&
            memcmp(marker->data, "Exif\0\0", 6) == 0) {
            exif = 1;
            header->orientation = exif_orientation(marker->data, marker->data_length);
        }
    }
    int colours = (info.num_components == 3 && (info.jpeg_color_space == JCS_YCbCr || info.jpeg_color_space == JCS_RGB)) ||
                  (info.num_components == 1 && info.jpeg_color_space == JCS_GRAYSCALE);
    header->plain = colours && header->orientation == 1 && info.data_precision == 8;
    jpeg_destroy_decompress(&info);
    return 0;
}

void pl_jpeg_scaled_size(int width, int height, int denom, int *scaled_width, int *scaled_height) {
    *scaled_width = (width + denom - 1) / denom;
    *scaled_height = (height + denom - 1) / denom;
}

int pl_jpeg_decode(const uint8_t *bytes, size_t length, int denom, uint8_t *out, size_t out_size, int strict,
                   char *error, size_t error_size) {
    struct jpeg_decompress_struct info;
    Errors errors = {.strict = strict, .error = error, .error_size = error_size};
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = fail;
    errors.manager.emit_message = notice;
    JSAMPLE *volatile scratch = NULL;
    if (setjmp(errors.escape)) {
        free(scratch);
        jpeg_destroy_decompress(&info);
        return -1;
    }
    jpeg_create_decompress(&info);
    jpeg_mem_src(&info, bytes, (unsigned long)length);
    jpeg_read_header(&info, TRUE);
    if (out) {
        if (info.num_components == 1) info.out_color_space = JCS_GRAYSCALE;
        else if (info.num_components == 3) info.out_color_space = JCS_RGB;
        info.scale_num = 1;
        info.scale_denom = (unsigned)denom;
    } else {
        /* Checking only: at 1/8 scale libjpeg still reads every marker and Huffman-decodes
           every coefficient of every block (where all damage shows: bad codes, a marker in the
           middle of the data, the data ending early) but transforms only the DC term: about
           0.6 of a full decode's time. */
        info.scale_num = 1;
        info.scale_denom = 8;
        info.do_fancy_upsampling = FALSE;
    }
    jpeg_start_decompress(&info);
    size_t row = (size_t)info.output_width * info.output_components;
    if (out && row * info.output_height > out_size) {
        if (error && error_size) snprintf(error, error_size, "the decoded image does not fit its buffer");
        jpeg_destroy_decompress(&info);
        return -1;
    }
    if (!out) {
        scratch = malloc(row);
        if (!scratch) {
            jpeg_destroy_decompress(&info);
            return -1;
        }
    }
    while (info.output_scanline < info.output_height) {
        JSAMPROW line = out ? out + row * info.output_scanline : scratch;
        jpeg_read_scanlines(&info, &line, 1);
    }
    jpeg_finish_decompress(&info);
    jpeg_destroy_decompress(&info);
    free(scratch);
    return 0;
}

int pl_jpeg_encode(const uint8_t *pixels, int width, int height, int bands, int quality, uint8_t **out,
                   size_t *out_length, char *error, size_t error_size) {
    struct jpeg_compress_struct info;
    Errors errors = {.strict = 0, .error = error, .error_size = error_size};
    if (bands != 1 && bands != 3) {
        if (error && error_size) snprintf(error, error_size, "%d bands cannot be a JPEG", bands);
        return -1;
    }
    /* The destination starts in a buffer of ours as large as the pixels, which a JPEG of these
       qualities stays below: libjpeg then never reallocates it. Should it have to, it copies
       into a buffer of its own (returned below) and leaves ours alone, so ours is always freed
       here and nothing is freed twice on an error. */
    size_t capacity = (size_t)width * height * bands + 65536;
    unsigned char *initial = malloc(capacity);
    if (!initial) {
        if (error && error_size) snprintf(error, error_size, "no memory for %zu bytes", capacity);
        return -1;
    }
    unsigned char *buffer = initial;
    unsigned long length = capacity;
    info.err = jpeg_std_error(&errors.manager);
    errors.manager.error_exit = fail;
    errors.manager.emit_message = notice;
    if (setjmp(errors.escape)) {
        jpeg_destroy_compress(&info);
        free(initial);
        return -1;
    }
    jpeg_create_compress(&info);
    jpeg_mem_dest(&info, &buffer, &length);
    info.image_width = (JDIMENSION)width;
    info.image_height = (JDIMENSION)height;
    info.input_components = bands;
    info.in_color_space = bands == 1 ? JCS_GRAYSCALE : JCS_RGB;
    jpeg_set_defaults(&info);
    jpeg_set_quality(&info, quality, TRUE);
    info.optimize_coding = FALSE;
    if (bands == 3 && quality >= 90) {
        for (int c = 0; c < info.num_components; c++) {
            info.comp_info[c].h_samp_factor = 1;
            info.comp_info[c].v_samp_factor = 1;
        }
    }
    jpeg_start_compress(&info, TRUE);
    size_t row = (size_t)width * bands;
    while (info.next_scanline < info.image_height) {
        JSAMPROW line = (JSAMPROW)(pixels + row * info.next_scanline);
        jpeg_write_scanlines(&info, &line, 1);
    }
    jpeg_finish_compress(&info);
    jpeg_destroy_compress(&info);
    if (buffer != initial) free(initial);
    *out = buffer;
    *out_length = length;
    return 0;
}
