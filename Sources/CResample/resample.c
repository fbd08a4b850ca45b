#include "CResample.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Scratch buffers kept per thread between calls, up to SCRATCH_KEEP bytes each: a fresh
   allocation of an image's size is a fresh mmap, and its first touch a page fault per page. */
#define SCRATCH_KEEP ((size_t)16 << 20)
enum { SLOT_VERTICAL, SLOT_TURNED, SLOT_NARROWED, SLOT_BOXED, SLOT_SUMS, SLOT_BOX_SUMS, SLOTS };
static __thread struct {
    void *bytes;
    size_t size;
} slots[SLOTS];

static void *take(int slot, size_t size) {
    if (size > SCRATCH_KEEP) return malloc(size);
    if (slots[slot].size < size) {
        void *grown = realloc(slots[slot].bytes, size);
        if (!grown) return NULL;
        slots[slot].bytes = grown;
        slots[slot].size = size;
    }
    return slots[slot].bytes;
}

static void give(int slot, void *bytes) {
    if (bytes && bytes != slots[slot].bytes) free(bytes);
}

/* Fixed-point weights of 14 fractional bits: each fits an int16 (|weight| <= 1), so the AVX2
   path multiplies pairs of them with pairs of pixels in one instruction (pmaddwd), and every
   path gives the same bytes. */
#define PRECISION_BITS 14

/* The weights of one direction: output pixel i reads `count[i]` source pixels from `first[i]`,
   weighted by weights[i * taps ...]. */
typedef struct {
    int taps;
    int *first;
    int *count;
    int16_t *weights; /* taps per output pixel, zero past its count */
} Filter;

static double sinc(double x) {
    if (x == 0.0) return 1.0;
    x *= M_PI;
    return sin(x) / x;
}

static double lanczos3(double x) { return (x > -3.0 && x < 3.0) ? sinc(x) * sinc(x / 3.0) : 0.0; }

static void filter_free(Filter *filter) {
    free(filter->first);
    free(filter->count);
    free(filter->weights);
    filter->first = filter->count = NULL;
    filter->weights = NULL;
}

static int filter_make(Filter *filter, int in_size, int out_size) {
    double scale = (double)in_size / out_size;
    double filter_scale = scale < 1.0 ? 1.0 : scale;
    double support = 3.0 * filter_scale;
    int taps = (int)ceil(support) * 2 + 1;
    filter->taps = taps;
    filter->first = malloc(sizeof(int) * out_size);
    filter->count = malloc(sizeof(int) * out_size);
    filter->weights = calloc((size_t)out_size * taps + 1, sizeof(int16_t));
    double *k = malloc(sizeof(double) * taps);
    if (!filter->first || !filter->count || !filter->weights || !k) {
        free(k);
        filter_free(filter);
        return -1;
    }
    for (int i = 0; i < out_size; i++) {
        double centre = (i + 0.5) * scale;
        int lo = (int)(centre - support + 0.5);
        int hi = (int)(centre + support + 0.5);
        if (lo < 0) lo = 0;
        if (hi > in_size) hi = in_size;
        int n = hi - lo;
        if (n > taps) n = taps;
        double total = 0;
        for (int x = 0; x < n; x++) {
            k[x] = lanczos3((x + lo - centre + 0.5) / filter_scale);
            total += k[x];
        }
        int16_t *w = filter->weights + (size_t)i * taps;
        for (int x = 0; x < n; x++) {
            double v = total != 0.0 ? k[x] / total : (x == 0 ? 1.0 : 0.0);
            w[x] = (int16_t)lround(v * (1 << PRECISION_BITS));
        }
        filter->first[i] = lo;
        filter->count[i] = n;
    }
    free(k);
    return 0;
}

/* The last filters made on this thread, by sizes: a stage resamples image after image between
   the same few sizes, and making a filter costs a sine per tap and output pixel. */
enum { CACHED_FILTERS = 8 };
static __thread struct {
    int in_size;
    int out_size;
    Filter filter;
} cached[CACHED_FILTERS];
static __thread int next_cached;

static const Filter *filter_for(int in_size, int out_size) {
    for (int i = 0; i < CACHED_FILTERS; i++) {
        if (cached[i].filter.weights && cached[i].in_size == in_size && cached[i].out_size == out_size) {
            return &cached[i].filter;
        }
    }
    int slot = next_cached;
    next_cached = (next_cached + 1) % CACHED_FILTERS;
    if (cached[slot].filter.weights) filter_free(&cached[slot].filter);
    if (filter_make(&cached[slot].filter, in_size, out_size) != 0) return NULL;
    cached[slot].in_size = in_size;
    cached[slot].out_size = out_size;
    return &cached[slot].filter;
}

/* One output row: the weighted sum of `n` source rows of `length` bytes. */
static void weigh_rows_scalar(const uint8_t *source, size_t stride, int first, int n, const int16_t *weights,
                              int32_t *sums, uint8_t *out, size_t from, size_t length) {
    for (size_t x = from; x < length; x++) sums[x] = 1 << (PRECISION_BITS - 1);
    for (int k = 0; k < n; k++) {
        const uint8_t *row = source + (size_t)(first + k) * stride;
        int32_t w = weights[k];
        for (size_t x = from; x < length; x++) sums[x] += w * (int32_t)row[x];
    }
    for (size_t x = from; x < length; x++) {
        int32_t v = sums[x] >> PRECISION_BITS;
        out[x] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
}

#if defined(__x86_64__)
#include <immintrin.h>

/* The same with AVX2, 16 bytes at a time and two rows per multiply: pixels of rows k and k+1
   interleaved as int16 pairs, times the pair of their weights, summed into int32 (pmaddwd). */
__attribute__((target("avx2")))
static void weigh_rows_avx2(const uint8_t *source, size_t stride, int first, int n, const int16_t *weights,
                            int32_t *sums, uint8_t *out, size_t length) {
    const __m256i half = _mm256_set1_epi32(1 << (PRECISION_BITS - 1));
    const __m256i zero = _mm256_setzero_si256();
    size_t x = 0;
    for (; x + 16 <= length; x += 16) {
        __m256i low = half, high = half;
        for (int k = 0; k < n; k += 2) {
            const uint8_t *row = source + (size_t)(first + k) * stride + x;
            __m256i a = _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)row));
            __m256i b = k + 1 < n ? _mm256_cvtepu8_epi16(_mm_loadu_si128((const __m128i *)(row + stride))) : zero;
            /* weights[k + 1] is 0 past the count (the array is zero-padded). */
            __m256i pair = _mm256_set1_epi32((int32_t)(((uint32_t)(uint16_t)weights[k + 1] << 16) |
                                                       (uint16_t)weights[k]));
            low = _mm256_add_epi32(low, _mm256_madd_epi16(_mm256_unpacklo_epi16(a, b), pair));
            high = _mm256_add_epi32(high, _mm256_madd_epi16(_mm256_unpackhi_epi16(a, b), pair));
        }
        /* Within each 128-bit lane, low holds pixels 0-3 (8-11) and high 4-7 (12-15): packing
           them lane by lane puts all 16 back in order. */
        __m256i words = _mm256_packs_epi32(_mm256_srai_epi32(low, PRECISION_BITS), _mm256_srai_epi32(high, PRECISION_BITS));
        __m256i bytes = _mm256_packus_epi16(words, words);
        __m256i ordered = _mm256_permute4x64_epi64(bytes, 0x08);
        _mm_storeu_si128((__m128i *)(out + x), _mm256_castsi256_si128(ordered));
    }
    if (x < length) weigh_rows_scalar(source, stride, first, n, weights, sums, out, x, length);
}
#endif

/* Set for the duration of pl_resample_lanczos3_portable on this thread. */
static __thread int portable;

static void weigh_rows(const uint8_t *source, size_t stride, int first, int n, const int16_t *weights, int32_t *sums,
                       uint8_t *out, size_t length) {
#if defined(__x86_64__)
    if (!portable && __builtin_cpu_supports("avx2")) {
        weigh_rows_avx2(source, stride, first, n, weights, sums, out, length);
        return;
    }
#endif
    weigh_rows_scalar(source, stride, first, n, weights, sums, out, 0, length);
}

static int resample_rows(const uint8_t *source, int rows, size_t length, uint8_t *out, int out_rows) {
    const Filter *filter = filter_for(rows, out_rows);
    int32_t *sums = take(SLOT_SUMS, sizeof(int32_t) * length);
    if (!filter || !sums) {
        give(SLOT_SUMS, sums);
        return -1;
    }
    for (int j = 0; j < out_rows; j++) {
        weigh_rows(source, length, filter->first[j], filter->count[j], filter->weights + (size_t)j * filter->taps, sums,
                   out + (size_t)j * length, length);
    }
    give(SLOT_SUMS, sums);
    return 0;
}

/* out row j = the rounded mean of source rows j*factor ... (fewer at the end): a box filter.
   The division is a multiplication in float, which vectorises where an integer division by a
   variable does not: for sum = q n + r (0 <= r < n), (sum + 0.5) / n lies at least 0.5 / n inside
   (q, q + 1), which for n up to 4096 is far more than float's rounding error on q <= 255, so it
   truncates to q exactly. */
__attribute__((target_clones("avx2", "default")))
static void box_rows(const uint8_t *source, int rows, size_t length, int factor, uint8_t *out, int out_rows,
                     uint32_t *sums) {
    for (int j = 0; j < out_rows; j++) {
        int first = j * factor;
        int n = first + factor <= rows ? factor : rows - first;
        for (size_t x = 0; x < length; x++) sums[x] = (uint32_t)n / 2;
        for (int k = 0; k < n; k++) {
            const uint8_t *row = source + (size_t)(first + k) * length;
            for (size_t x = 0; x < length; x++) sums[x] += row[x];
        }
        uint8_t *to = out + (size_t)j * length;
        if (n <= 4096) {
            const float inverse = 1.0f / (float)n;
            for (size_t x = 0; x < length; x++) to[x] = (uint8_t)(int32_t)(((float)sums[x] + 0.5f) * inverse);
        } else {
            for (size_t x = 0; x < length; x++) to[x] = (uint8_t)(sums[x] / (uint32_t)n);
        }
    }
}

/* rows -> out_rows along the rows as libvips' resize does it: a reduction of 2x or more is
   first a box shrink by the integer part of half the factor, then Lanczos 3 for the rest;
   the box pass reads every source row once, where Lanczos over 20x reads 120 per output row. */
static int shrink_rows(const uint8_t *source, int rows, size_t length, uint8_t *out, int out_rows) {
    int factor = (int)((double)rows / out_rows / 2.0);
    if (factor < 2) return resample_rows(source, rows, length, out, out_rows);
    int boxed = (rows + factor - 1) / factor;
    uint8_t *shrunk = take(SLOT_BOXED, length * (size_t)boxed);
    uint32_t *sums = take(SLOT_BOX_SUMS, sizeof(uint32_t) * length);
    int failed = !shrunk || !sums;
    if (!failed) {
        box_rows(source, rows, length, factor, shrunk, boxed, sums);
        failed = resample_rows(shrunk, boxed, length, out, out_rows) != 0;
    }
    give(SLOT_BOXED, shrunk);
    give(SLOT_BOX_SUMS, sums);
    return failed ? -1 : 0;
}

/* height x width pixels of `bands` bytes -> width x height, in tiles that stay in cache;
   each band count its own loop, so the copies are single moves rather than memcpy calls. */
#define TRANSPOSE(BANDS)                                                                              \
    for (int y0 = 0; y0 < height; y0 += TILE) {                                                       \
        int y1 = y0 + TILE < height ? y0 + TILE : height;                                             \
        for (int x0 = 0; x0 < width; x0 += TILE) {                                                    \
            int x1 = x0 + TILE < width ? x0 + TILE : width;                                           \
            for (int y = y0; y < y1; y++) {                                                           \
                const uint8_t *row = source + (size_t)y * width * (BANDS);                            \
                for (int x = x0; x < x1; x++) {                                                       \
                    uint8_t *to = out + ((size_t)x * height + y) * (BANDS);                           \
                    const uint8_t *from = row + (size_t)x * (BANDS);                                  \
                    for (int b = 0; b < (BANDS); b++) to[b] = from[b];                                \
                }                                                                                     \
            }                                                                                         \
        }                                                                                             \
    }

/* Three bands a pixel as one 4-byte move: the extra byte lands on the next pixel of the output
   column, (x, y + 1), which a later source row writes over, and is read from the next pixel of
   the source row. The last source row, whose extra byte would fall on (x + 1, 0), written
   already, or past the end of both buffers, moves its pixels byte by byte. */
static void transpose3(const uint8_t *source, int width, int height, uint8_t *out) {
    enum { TILE = 32 };
    for (int y0 = 0; y0 < height; y0 += TILE) {
        int y1 = y0 + TILE < height ? y0 + TILE : height;
        for (int x0 = 0; x0 < width; x0 += TILE) {
            int x1 = x0 + TILE < width ? x0 + TILE : width;
            for (int y = y0; y < y1; y++) {
                const uint8_t *row = source + (size_t)y * width * 3;
                if (y == height - 1) {
                    for (int x = x0; x < x1; x++) {
                        uint8_t *to = out + ((size_t)x * height + y) * 3;
                        const uint8_t *from = row + (size_t)x * 3;
                        to[0] = from[0];
                        to[1] = from[1];
                        to[2] = from[2];
                    }
                    continue;
                }
                for (int x = x0; x < x1; x++) {
                    uint32_t pixel;
                    memcpy(&pixel, row + (size_t)x * 3, 4);
                    memcpy(out + ((size_t)x * height + y) * 3, &pixel, 4);
                }
            }
        }
    }
}

static void transpose(const uint8_t *source, int width, int height, int bands, uint8_t *out) {
    enum { TILE = 32 };
    switch (bands) {
    case 1: TRANSPOSE(1) break;
    case 2: TRANSPOSE(2) break;
    case 3: transpose3(source, width, height, out); break;
    default: TRANSPOSE(4) break;
    }
}
#undef TRANSPOSE

int pl_resample_lanczos3(const uint8_t *input, int width, int height, int bands, uint8_t *output, int out_width,
                         int out_height) {
    if (width <= 0 || height <= 0 || out_width <= 0 || out_height <= 0 || bands <= 0 || bands > 4) return -1;
    size_t row = (size_t)width * bands;
    if (out_width == width && out_height == height) {
        memcpy(output, input, row * height);
        return 0;
    }
    /* Vertically first, over the source's full rows. */
    const uint8_t *vertical = input;
    uint8_t *scratch = NULL;
    if (out_height != height) {
        if (out_width == width) return shrink_rows(input, height, row, output, out_height);
        scratch = take(SLOT_VERTICAL, row * out_height);
        if (!scratch || shrink_rows(input, height, row, scratch, out_height) != 0) {
            give(SLOT_VERTICAL, scratch);
            return -1;
        }
        vertical = scratch;
    }
    /* Then horizontally: transpose (width rows of out_height pixels), along the rows, back. */
    size_t column = (size_t)out_height * bands;
    uint8_t *turned = take(SLOT_TURNED, column * width);
    uint8_t *narrowed = take(SLOT_NARROWED, column * out_width);
    int failed = !turned || !narrowed;
    if (!failed) {
        transpose(vertical, width, out_height, bands, turned);
        failed = shrink_rows(turned, width, column, narrowed, out_width) != 0;
        if (!failed) transpose(narrowed, out_height, out_width, bands, output);
    }
    give(SLOT_TURNED, turned);
    give(SLOT_NARROWED, narrowed);
    give(SLOT_VERTICAL, scratch);
    return failed ? -1 : 0;
}

int pl_resample_lanczos3_portable(const uint8_t *input, int width, int height, int bands, uint8_t *output,
                                  int out_width, int out_height) {
    portable = 1;
    int result = pl_resample_lanczos3(input, width, height, bands, output, out_width, out_height);
    portable = 0;
    return result;
}
