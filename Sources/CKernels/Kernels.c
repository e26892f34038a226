/* Fused multiply-adds wherever a product feeds a sum, Math.h's inline polynomials included
   (also -ffp-contract=fast in Package.swift, which a versioned dependency may not pass). */
#pragma clang fp contract(fast)
#include "CKernels.h"
#include "Math.h"
#include <math.h>
#include <string.h>


#if defined(__x86_64__) && defined(__clang__)
#define WK_CLONES __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define WK_CLONES
#endif

int wk_isa_level(void) {
    static int level = 0;
    if (level) return level;
#if defined(__x86_64__)
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f")) return level = 3;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return level = 2;
#endif
    return level = 1;
}

/* ---------------------------------------------------------------- unary */

/* NOTE: x and y may be the same buffer (in-place); they never overlap otherwise. Telling the
 * vectoriser so keeps in-place calls vectorised (its runtime alias check would reject them). */
#define UNARY(EXPR) do { _Pragma("clang loop vectorize(assume_safety)") \
    for (long i = 0; i < n; i++) { float v = x[i]; y[i] = (EXPR); } } while (0)

WK_CLONES
void wk_unary(int op, long n, const float *x, float *y, float alpha) {
    switch (op) {
    case WK_NEG: UNARY(-v); break;
    case WK_ABS: UNARY(fabsf(v)); break;
    case WK_EXP: UNARY(wk_exp(v)); break;
    case WK_LOG: UNARY(wk_log(v)); break;
    case WK_LOG1P: UNARY(wk_log1p(v)); break;
    case WK_SQRT: UNARY(sqrtf(v)); break;
    case WK_SQUARE: UNARY(v * v); break;
    case WK_TANH: UNARY(wk_tanh(v)); break;
    case WK_SIGMOID: UNARY(wk_sigmoid(v)); break;
    case WK_RELU: UNARY(v > 0.0f ? v : 0.0f); break;
    case WK_LEAKY_RELU: UNARY(v > 0.0f ? v : alpha * v); break;
    case WK_ELU: UNARY(v > 0.0f ? v : alpha * (wk_exp(v) - 1.0f)); break;
    case WK_SOFTPLUS: UNARY(wk_softplus(v)); break;
    case WK_SIN: UNARY(sinf(v)); break;
    case WK_COS: UNARY(cosf(v)); break;
    case WK_ERF: UNARY(erff(v)); break;
    case WK_SIGN: UNARY(v > 0.0f ? 1.0f : (v < 0.0f ? -1.0f : 0.0f)); break;
    case WK_POW_SCALAR: UNARY(powf(v, alpha)); break;
    case WK_RECIPROCAL: UNARY(1.0f / v); break;
    case WK_HEAVISIDE: UNARY(v > 0.0f ? 1.0f : 0.0f); break;
    case WK_ADD_SCALAR: UNARY(v + alpha); break;
    case WK_MUL_SCALAR: UNARY(v * alpha); break;
    case WK_LOG_FLOOR: UNARY(wk_log(v > alpha ? v : alpha)); break;
    }
}

/* ---------------------------------------------------------------- binary */

/* Four loops per op so the common stride patterns (1,1), (1,0), (0,1) vectorise. */
#define BINARY(EXPR) do { \
    if (sa == 1 && sb == 1) { for (long i = 0; i < n; i++) { float u = a[i], w = b[i]; out[i] = (EXPR); } } \
    else if (sa == 1 && sb == 0) { float w = b[0]; for (long i = 0; i < n; i++) { float u = a[i]; out[i] = (EXPR); } } \
    else if (sa == 0 && sb == 1) { float u = a[0]; for (long i = 0; i < n; i++) { float w = b[i]; out[i] = (EXPR); } } \
    else { for (long i = 0; i < n; i++) { float u = a[i * sa], w = b[i * sb]; out[i] = (EXPR); } } \
} while (0)

WK_CLONES
void wk_binary(int op, long n, const float *a, long sa, const float *b, long sb, float *out) {
    switch (op) {
    case WK_ADD: BINARY(u + w); break;
    case WK_SUB: BINARY(u - w); break;
    case WK_MUL: BINARY(u * w); break;
    case WK_DIV: BINARY(u / w); break;
    /* NaN in either operand propagates, as in torch.maximum. */
    case WK_MAXIMUM: BINARY(u != u ? u : (u > w ? u : w)); break;
    case WK_MINIMUM: BINARY(u != u ? u : (u < w ? u : w)); break;
    case WK_POW: BINARY(powf(u, w)); break;
    case WK_GT: BINARY(u > w ? 1.0f : 0.0f); break;
    case WK_GE: BINARY(u >= w ? 1.0f : 0.0f); break;
    case WK_LT: BINARY(u < w ? 1.0f : 0.0f); break;
    case WK_LE: BINARY(u <= w ? 1.0f : 0.0f); break;
    case WK_EQ: BINARY(u == w ? 1.0f : 0.0f); break;
    case WK_NE: BINARY(u != w ? 1.0f : 0.0f); break;
    case WK_MAX_SHARE: BINARY(u > w ? 1.0f : (u == w ? 0.5f : 0.0f)); break;
    }
}

WK_CLONES
void wk_where(long n, const float *m, long sm, const float *a, long sa,
              const float *b, long sb, float *out) {
    for (long i = 0; i < n; i++) out[i] = m[i * sm] != 0.0f ? a[i * sa] : b[i * sb];
}

WK_CLONES
void wk_gated(long n, const float *a, const float *b, float *out) {
    for (long i = 0; i < n; i++) out[i] = wk_tanh_sigmoid(a[i], b[i]);
}

WK_CLONES
void wk_gated_backward(long n, const float *a, const float *b, const float *dz, float *da, float *db) {
    for (long i = 0; i < n; i++) {
        float t = wk_tanh(a[i]), s = wk_sigmoid(b[i]), ds = dz[i] * s;
        da[i] = ds * (1.0f - t * t);
        db[i] = ds * t * (1.0f - s);
    }
}

WK_CLONES
void wk_copy_strided(long n, const float *x, long sx, float *y) {
    if (sx == 1) { memcpy(y, x, (size_t)n * sizeof(float)); return; }
    if (sx == 0) { float v = x[0]; for (long i = 0; i < n; i++) y[i] = v; return; }
    for (long i = 0; i < n; i++) y[i] = x[i * sx];
}

WK_CLONES
void wk_fill(long n, float v, float *y) { for (long i = 0; i < n; i++) y[i] = v; }

WK_CLONES
void wk_accumulate(long n, const float *x, float *y) { for (long i = 0; i < n; i++) y[i] += x[i]; }

/* ---------------------------------------------------------------- reductions */

/* Sums may be reassociated (that is what lets them vectorise); max and min are exact. */
WK_CLONES
void wk_reduce_rows(int op, long rows, long cols, const float *x, float *out) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        if (op == WK_REDUCE_SUM) {
#pragma clang fp reassociate(on)
            float s = 0.0f;
            for (long j = 0; j < cols; j++) s += row[j];
            out[r] = s;
        } else if (op == WK_REDUCE_MAX) {
            float m = -INFINITY; int nan = 0;
            for (long j = 0; j < cols; j++) { float v = row[j]; nan |= v != v; m = v > m ? v : m; }
            out[r] = nan ? NAN : m;
        } else {
            float m = INFINITY; int nan = 0;
            for (long j = 0; j < cols; j++) { float v = row[j]; nan |= v != v; m = v < m ? v : m; }
            out[r] = nan ? NAN : m;
        }
    }
}

WK_CLONES
void wk_reduce_mid(int op, long outer, long n, long inner, const float *x, float *out) {
    for (long o = 0; o < outer; o++) {
        float *dst = out + o * inner;
        const float *src = x + o * n * inner;
        memcpy(dst, src, (size_t)inner * sizeof(float));
        for (long j = 1; j < n; j++) {
            const float *row = src + j * inner;
            if (op == WK_REDUCE_SUM) for (long i = 0; i < inner; i++) dst[i] += row[i];
            else if (op == WK_REDUCE_MAX)
                for (long i = 0; i < inner; i++) { float v = row[i], d = dst[i]; dst[i] = (v > d || v != v) ? v : d; }
            else
                for (long i = 0; i < inner; i++) { float v = row[i], d = dst[i]; dst[i] = (v < d || v != v) ? v : d; }
        }
    }
}

void wk_argmax_rows(long rows, long cols, const float *x, float *out) {
    for (long r = 0; r < rows; r++) {
        const float *row = x + r * cols;
        long best = 0; float m = row[0];
        for (long j = 1; j < cols; j++) {
            if (m != m) break;                       /* NaN is the maximum, as in PyTorch */
            if (row[j] > m || row[j] != row[j]) { m = row[j]; best = j; }
        }
        out[r] = (float)best;
    }
}

WK_CLONES
void wk_cumsum(long outer, long n, long inner, const float *x, float *y) {
    for (long o = 0; o < outer; o++) {
        const float *src = x + o * n * inner;
        float *dst = y + o * n * inner;
        memcpy(dst, src, (size_t)inner * sizeof(float));
        for (long j = 1; j < n; j++)
            for (long i = 0; i < inner; i++) dst[j * inner + i] = dst[(j - 1) * inner + i] + src[j * inner + i];
    }
}

/* ---------------------------------------------------------------- indexing */

void wk_index_select(long outer, long n, long inner, const float *x,
                     long m, const int64_t *idx, float *out) {
    for (long o = 0; o < outer; o++)
        for (long j = 0; j < m; j++)
            memcpy(out + (o * m + j) * inner, x + (o * n + idx[j]) * inner, (size_t)inner * sizeof(float));
}

WK_CLONES
void wk_index_add(long outer, long n, long inner, const float *g,
                  long m, const int64_t *idx, float *out) {
    for (long o = 0; o < outer; o++)
        for (long j = 0; j < m; j++) {
            float *dst = out + (o * n + idx[j]) * inner;
            const float *src = g + (o * m + j) * inner;
            for (long i = 0; i < inner; i++) dst[i] += src[i];
        }
}

void wk_gather(long outer, long n, long inner, const float *x,
               long m, const float *idx, float *out) {
    for (long o = 0; o < outer; o++)
        for (long j = 0; j < m; j++)
            for (long i = 0; i < inner; i++) {
                long k = (long)idx[(o * m + j) * inner + i];
                out[(o * m + j) * inner + i] = x[(o * n + k) * inner + i];
            }
}

void wk_scatter_add(long outer, long n, long inner, const float *g,
                    long m, const float *idx, float *out) {
    for (long o = 0; o < outer; o++)
        for (long j = 0; j < m; j++)
            for (long i = 0; i < inner; i++) {
                long k = (long)idx[(o * m + j) * inner + i];
                out[(o * n + k) * inner + i] += g[(o * m + j) * inner + i];
            }
}

/* ---------------------------------------------------------------- convolution layout */

WK_CLONES
void wk_im2col(long C, long H, long W, long KH, long KW, long SH, long SW,
               long PH, long PW, long DH, long DW, long OH, long OW,
               const float *x, float *cols) {
    for (long c = 0; c < C; c++)
        for (long i = 0; i < KH; i++)
            for (long j = 0; j < KW; j++) {
                float *row = cols + ((c * KH + i) * KW + j) * OH * OW;
                for (long oh = 0; oh < OH; oh++) {
                    long h = oh * SH + i * DH - PH;
                    float *dst = row + oh * OW;
                    if (h < 0 || h >= H) { memset(dst, 0, (size_t)OW * sizeof(float)); continue; }
                    const float *src = x + (c * H + h) * W;
                    for (long ow = 0; ow < OW; ow++) {
                        long w = ow * SW + j * DW - PW;
                        dst[ow] = (w >= 0 && w < W) ? src[w] : 0.0f;
                    }
                }
            }
}

WK_CLONES
void wk_col2im(long C, long H, long W, long KH, long KW, long SH, long SW,
               long PH, long PW, long DH, long DW, long OH, long OW,
               const float *cols, float *x) {
    for (long c = 0; c < C; c++)
        for (long i = 0; i < KH; i++)
            for (long j = 0; j < KW; j++) {
                const float *row = cols + ((c * KH + i) * KW + j) * OH * OW;
                for (long oh = 0; oh < OH; oh++) {
                    long h = oh * SH + i * DH - PH;
                    if (h < 0 || h >= H) continue;
                    float *dst = x + (c * H + h) * W;
                    const float *src = row + oh * OW;
                    for (long ow = 0; ow < OW; ow++) {
                        long w = ow * SW + j * DW - PW;
                        if (w >= 0 && w < W) dst[w] += src[ow];
                    }
                }
            }
}

/* ---------------------------------------------------------------- spectral front end */

WK_CLONES
void wk_frames(long frames, long n, long hop, const float *x, const float *w, float *out, long ldo) {
    for (long f = 0; f < frames; f++) {
        const float *src = x + f * hop;
        float *dst = out + f * ldo;
        for (long i = 0; i < n; i++) dst[i] = src[i] * w[i];
    }
}

#if defined(__x86_64__)
#include <immintrin.h>
/* An 8×8 block transpose in AVX registers (unpack, shuffle, lane permute). */
__attribute__((target("avx2,fma")))
static void transpose8x8(const float *src, long lds, float *dst, long ldd) {
    __m256 r0 = _mm256_loadu_ps(src), r1 = _mm256_loadu_ps(src + lds), r2 = _mm256_loadu_ps(src + 2 * lds),
           r3 = _mm256_loadu_ps(src + 3 * lds), r4 = _mm256_loadu_ps(src + 4 * lds), r5 = _mm256_loadu_ps(src + 5 * lds),
           r6 = _mm256_loadu_ps(src + 6 * lds), r7 = _mm256_loadu_ps(src + 7 * lds);
    __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1), t2 = _mm256_unpacklo_ps(r2, r3),
           t3 = _mm256_unpackhi_ps(r2, r3), t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5),
           t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
    __m256 s0 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(1, 0, 1, 0)), s1 = _mm256_shuffle_ps(t0, t2, _MM_SHUFFLE(3, 2, 3, 2)),
           s2 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(1, 0, 1, 0)), s3 = _mm256_shuffle_ps(t1, t3, _MM_SHUFFLE(3, 2, 3, 2)),
           s4 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(1, 0, 1, 0)), s5 = _mm256_shuffle_ps(t4, t6, _MM_SHUFFLE(3, 2, 3, 2)),
           s6 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(1, 0, 1, 0)), s7 = _mm256_shuffle_ps(t5, t7, _MM_SHUFFLE(3, 2, 3, 2));
    _mm256_storeu_ps(dst, _mm256_permute2f128_ps(s0, s4, 0x20));
    _mm256_storeu_ps(dst + ldd, _mm256_permute2f128_ps(s1, s5, 0x20));
    _mm256_storeu_ps(dst + 2 * ldd, _mm256_permute2f128_ps(s2, s6, 0x20));
    _mm256_storeu_ps(dst + 3 * ldd, _mm256_permute2f128_ps(s3, s7, 0x20));
    _mm256_storeu_ps(dst + 4 * ldd, _mm256_permute2f128_ps(s0, s4, 0x31));
    _mm256_storeu_ps(dst + 5 * ldd, _mm256_permute2f128_ps(s1, s5, 0x31));
    _mm256_storeu_ps(dst + 6 * ldd, _mm256_permute2f128_ps(s2, s6, 0x31));
    _mm256_storeu_ps(dst + 7 * ldd, _mm256_permute2f128_ps(s3, s7, 0x31));
}

__attribute__((target("avx2,fma")))
static void abs_transposed_avx2(long frames, long bins, long ld, const float *z, float *out, long ldo, int power, float *scratch) {
    long kp = (bins + 7) / 8 * 8;
    for (long f = 0; f < frames; f++) {
        const float *r = z + 2 * f * ld;
        float *d = scratch + f * kp;
        for (long k = 0; k < kp; k++) { float re = r[2 * k], im = r[2 * k + 1], p = re * re + im * im; d[k] = power == 2 ? p : sqrtf(p); }
    }
    long f8 = frames / 8 * 8, k8 = bins / 8 * 8;
    for (long f0 = 0; f0 < f8; f0 += 8)
        for (long k0 = 0; k0 < k8; k0 += 8) transpose8x8(scratch + f0 * kp + k0, kp, out + k0 * ldo + f0, ldo);
    for (long k = k8; k < bins; k++) for (long f = 0; f < f8; f++) out[k * ldo + f] = scratch[f * kp + k];
    for (long f = f8; f < frames; f++) for (long k = 0; k < bins; k++) out[k * ldo + f] = scratch[f * kp + k];
}
#endif

/* Portable fallback: 16×16 tiles, rows read contiguously, columns written contiguously. */
static void abs_transposed_generic(long frames, long bins, long ld, const float *z, float *out, long ldo, int power) {
    float tile[16][16];
    for (long f0 = 0; f0 < frames; f0 += 16) {
        long fn = frames - f0 < 16 ? frames - f0 : 16;
        for (long k0 = 0; k0 < bins; k0 += 16) {
            long kn = bins - k0 < 16 ? bins - k0 : 16;
            for (long f = 0; f < fn; f++) {
                const float *row = z + 2 * ((f0 + f) * ld + k0);
                for (long k = 0; k < kn; k++) {
                    float re = row[2 * k], im = row[2 * k + 1], p = re * re + im * im;
                    tile[k][f] = power == 2 ? p : sqrtf(p);
                }
            }
            for (long k = 0; k < kn; k++) {
                float *dst = out + (k0 + k) * ldo + f0;
                for (long f = 0; f < fn; f++) dst[f] = tile[k][f];
            }
        }
    }
}

void wk_complex_abs_transposed(long frames, long bins, long ld, const float *z, float *out, long ldo, int power, float *scratch) {
#if defined(__x86_64__)
    if (wk_isa_level() >= 2) { abs_transposed_avx2(frames, bins, ld, z, out, ldo, power, scratch); return; }
#endif
    abs_transposed_generic(frames, bins, ld, z, out, ldo, power);
}

WK_CLONES
void wk_deinterleave_transposed(long frames, long bins, long ld, const float *z, float *re, float *im, long ldo) {
    for (long f0 = 0; f0 < frames; f0 += 16) {
        long fn = frames - f0 < 16 ? frames - f0 : 16;
        for (long k = 0; k < bins; k++) {
            float *r = re + k * ldo + f0, *i = im + k * ldo + f0;
            for (long f = 0; f < fn; f++) { r[f] = z[2 * ((f0 + f) * ld + k)]; i[f] = z[2 * ((f0 + f) * ld + k) + 1]; }
        }
    }
}

WK_CLONES
void wk_interleave_transposed(long frames, long bins, long ld, const float *re, const float *im, long ldi, float *z) {
    for (long f0 = 0; f0 < frames; f0 += 16) {
        long fn = frames - f0 < 16 ? frames - f0 : 16;
        for (long k = 0; k < bins; k++) {
            const float *r = re + k * ldi + f0, *i = im + k * ldi + f0;
            for (long f = 0; f < fn; f++) { z[2 * ((f0 + f) * ld + k)] = r[f]; z[2 * ((f0 + f) * ld + k) + 1] = i[f]; }
        }
    }
}

WK_CLONES
void wk_band_sums(long bands, const long *starts, const long *lengths, const long *offsets,
                  const float *weights, long F, const float *x, float *out, long ldo) {
    for (long b = 0; b < bands; b++) {
        float *dst = out + b * ldo;
        for (long f = 0; f < F; f++) dst[f] = 0.0f;
        const float *wb = weights + offsets[b];
        for (long i = 0; i < lengths[b]; i++) {
            const float wi = wb[i];
            const float *row = x + (starts[b] + i) * F;
            for (long f = 0; f < F; f++) dst[f] += wi * row[f];
        }
    }
}

WK_CLONES
void wk_overlap_add(long frames, long n, long hop, const float *framesData, long ld, const float *w, float *y) {
    for (long f = 0; f < frames; f++) {
        float *dst = y + f * hop;
        const float *src = framesData + f * ld;
        for (long i = 0; i < n; i++) dst[i] += src[i] * w[i];
    }
}

/* ---------------------------------------------------------------- cached generation */

/* Register tiles: BT batch rows × MT outputs of accumulators stay in vector registers across
 * the whole K loop (4 × 32 or 1 × 64 floats = 8 or 4 AVX-512 registers), so each weight
 * vector loaded feeds BT FMAs and nothing is stored until the end. */
/* Panel-packed weights: [ceil(M/32)][K][32], zero-padded past M, so a 32-column tile streams
 * its weights contiguously (the prefetcher's best case). Measured at WaveNet `small`'s dilated
 * convolution (K = 3·64, M = 128, 20 layers whose 2 MB of weights come from L3 each step):
 * 8 utterances at 227 GFLOP/s (the core's FMA peak) against 83 for the row-major [K][M]
 * sweep it replaced; 4 utterances 189 against 56; 1 utterance the same (bandwidth-bound). */
void wk_panel_pack(long K, long M, const float *Wt, float *P) {
    for (long m0 = 0; m0 < M; m0 += 32)
        for (long k = 0; k < K; k++)
            for (long j = 0; j < 32; j++) *P++ = m0 + j < M ? Wt[k * M + m0 + j] : 0.0f;
}

typedef float wk_v16 __attribute__((vector_size(64)));
typedef float wk_v16u __attribute__((vector_size(64), aligned(4)));
#define V16_LOAD(p) ((wk_v16)*(const wk_v16u *)(p))
#define V16_STORE(p, v) (*(wk_v16u *)(p) = (v))

/* BT utterances × 32 columns in 2·BT vector accumulators; a partial last panel goes through a
 * 32-float buffer so nothing past M is read or written. */
#define PANEL_TILE(BT) do { \
    const int full = m0 + 32 <= M; \
    const long width = full ? 32 : M - m0; \
    wk_v16 a0[BT], a1[BT], c0 = {0}, c1 = {0}; \
    if (bias) { float row[32] = {0}; const float *src = bias + m0; \
        if (!full) { for (long j = 0; j < width; j++) row[j] = bias[m0 + j]; src = row; } \
        c0 = V16_LOAD(src); c1 = V16_LOAD(src + 16); } \
    for (int i = 0; i < BT; i++) { \
        a0[i] = c0; a1[i] = c1; \
        if (accumulate) { float row[32] = {0}; const float *src = Y + (b0 + i) * ldy + m0; \
            if (!full) { for (long j = 0; j < width; j++) row[j] = src[j]; src = row; } \
            a0[i] += V16_LOAD(src); a1[i] += V16_LOAD(src + 16); } \
    } \
    const float *p = P + (m0 / 32) * S * K * 32; \
    for (long s = 0; s < S; s++) { \
        const float *x = X[s] + b0 * ldx; \
        for (long k = 0; k < K; k++, p += 32) { \
            const wk_v16 w0 = V16_LOAD(p), w1 = V16_LOAD(p + 16); \
            for (int i = 0; i < BT; i++) { const float xv = x[i * ldx + k]; a0[i] += w0 * xv; a1[i] += w1 * xv; } \
        } \
    } \
    for (int i = 0; i < BT; i++) { \
        float *dst = Y + (b0 + i) * ldy + m0; \
        if (full) { V16_STORE(dst, a0[i]); V16_STORE(dst + 16, a1[i]); } \
        else { float row[32]; V16_STORE(row, a0[i]); V16_STORE(row + 16, a1[i]); for (long j = 0; j < width; j++) dst[j] = row[j]; } \
    } \
} while (0)

WK_CLONES
void wk_panel_gemm(long B, long S, long K, long M, const float *const *X, long ldx, const float *P, const float *bias,
                   float *Y, long ldy, int accumulate) {
    long b0 = 0;
    for (; b0 + 8 <= B; b0 += 8) for (long m0 = 0; m0 < M; m0 += 32) PANEL_TILE(8);
    for (; b0 + 4 <= B; b0 += 4) for (long m0 = 0; m0 < M; m0 += 32) PANEL_TILE(4);
    for (; b0 + 2 <= B; b0 += 2) for (long m0 = 0; m0 < M; m0 += 32) PANEL_TILE(2);
    for (; b0 < B; b0++) for (long m0 = 0; m0 < M; m0 += 32) PANEL_TILE(1);
}

WK_CLONES
void wk_relu_scale(long n, const float *x, float *y, float scale) {
    for (long i = 0; i < n; i++) { float v = x[i] * scale; y[i] = v > 0.0f ? v : 0.0f; }
}

WK_CLONES
void wk_sample_categorical(long B, long C, const float *logits, float invT, const float *u, float *out, float *scratch) {
    for (long b = 0; b < B; b++) {
        const float *x = logits + b * C;
        float m = -INFINITY;
        for (long c = 0; c < C; c++) m = x[c] > m ? x[c] : m;
        float total = 0.0f;
        {
#pragma clang fp reassociate(on)
            for (long c = 0; c < C; c++) { float p = wk_exp((x[c] - m) * invT); scratch[c] = p; total += p; }
        }
        float target = u[b] * total, acc = 0.0f;
        long k = C - 1;
        for (long c = 0; c < C; c++) { acc += scratch[c]; if (target < acc) { k = c; break; } }
        while (k > 0 && scratch[k] == 0.0f) k--;      /* never a zero-probability class */
        out[b] = (float)k;
    }
}

WK_CLONES
void wk_gated_rows(long B, long h, const float *y, long ldy, float *z) {
    for (long b = 0; b < B; b++) {
        const float *a = y + b * ldy, *g = a + h;
        float *o = z + b * h;
        for (long i = 0; i < h; i++) o[i] = wk_tanh_sigmoid(a[i], g[i]);
    }
}

WK_CLONES
void wk_accumulate_rows(long B, long n, const float *x, long ldx, float *y, long ldy) {
    for (long b = 0; b < B; b++) {
        const float *src = x + b * ldx;
        float *dst = y + b * ldy;
        for (long i = 0; i < n; i++) dst[i] += src[i];
    }
}

/* Y[b·ldy + i] = init[b·ldi + i] + Σ_j w[j] · X[j][offset + b·ldx + i] for b < B, i < n:
 * WaveNet's conditioning for one sample, mixed from the (already projected) mel frames around
 * it, added to the gate's starting value (the bias, ldi = 0, or each utterance's past-tap
 * products). A 16-float block of Y stays in a register across the taps: one store per block,
 * where an axpy per tap would load and store it every tap. */
WK_CLONES
void wk_taps_mix(long B, long n, long taps, const float *const *X, long ldx, long offset, const float *w,
                 const float *init, long ldi, float *Y, long ldy) {
    for (long b = 0; b < B; b++) {
        float *dst = Y + b * ldy;
        const float *start = init ? init + b * ldi : 0;
        const long at = offset + b * ldx;
        long i = 0;
        for (; i + 16 <= n; i += 16) {
            wk_v16 acc = start ? V16_LOAD(start + i) : (wk_v16){0};
            for (long j = 0; j < taps; j++) acc += w[j] * V16_LOAD(X[j] + at + i);
            V16_STORE(dst + i, acc);
        }
        for (; i < n; i++) {
            float acc = start ? start[i] : 0.0f;
            for (long j = 0; j < taps; j++) acc += w[j] * X[j][at + i];
            dst[i] = acc;
        }
    }
}
