/// WaveKit's hot loops. Each kernel works on contiguous (or simply strided) float buffers,
/// allocates nothing and is compiled for AVX-512, AVX2+FMA and baseline x86-64 with runtime
/// dispatch, so Swift's default x86-64 target (SSE2 only) does not limit it.
#ifndef WAVEKIT_CKERNELS_H
#define WAVEKIT_CKERNELS_H

#include <stdint.h>

/// Unary elementwise operations; `alpha` is the op's parameter where it has one.
typedef enum {
    WK_NEG = 0, WK_ABS, WK_EXP, WK_LOG, WK_LOG1P, WK_SQRT, WK_SQUARE, WK_TANH, WK_SIGMOID,
    WK_RELU, WK_LEAKY_RELU, WK_ELU, WK_SOFTPLUS, WK_SIN, WK_COS, WK_ERF, WK_SIGN,
    WK_POW_SCALAR, WK_RECIPROCAL, WK_HEAVISIDE, WK_ADD_SCALAR, WK_MUL_SCALAR,
    /// ln(max(x, alpha)): the log-mel compression in one pass.
    WK_LOG_FLOOR
} wk_unary_op;

/// Binary elementwise operations. Comparisons return 1 or 0.
typedef enum {
    WK_ADD = 0, WK_SUB, WK_MUL, WK_DIV, WK_MAXIMUM, WK_MINIMUM, WK_POW,
    WK_GT, WK_GE, WK_LT, WK_LE, WK_EQ, WK_NE,
    /// 1 where a > b, 0.5 where a == b, 0 elsewhere: the share of a tie's gradient.
    WK_MAX_SHARE
} wk_binary_op;

typedef enum { WK_REDUCE_SUM = 0, WK_REDUCE_MAX, WK_REDUCE_MIN } wk_reduce_op;

/// y[i] = op(x[i]) for i in [0, n).
void wk_unary(int op, long n, const float *x, float *y, float alpha);
/// out[i] = op(a[i*sa], b[i*sb]); strides of 0 broadcast.
void wk_binary(int op, long n, const float *a, long sa, const float *b, long sb, float *out);
/// out[i] = m[i*sm] != 0 ? a[i*sa] : b[i*sb].
void wk_where(long n, const float *m, long sm, const float *a, long sa,
              const float *b, long sb, float *out);
/// out[i] = tanh(a[i]) * sigmoid(b[i]): WaveNet's and WaveGlow's gate, fused.
void wk_gated(long n, const float *a, const float *b, float *out);
/// The gradient of wk_gated given dz: da = dz · s · (1 − t²), db = dz · t · s · (1 − s),
/// with t = tanh(a), s = sigmoid(b).
void wk_gated_backward(long n, const float *a, const float *b, const float *dz, float *da, float *db);
/// y[i] = x[i*sx].
void wk_copy_strided(long n, const float *x, long sx, float *y);
/// y[i] = v.
void wk_fill(long n, float v, float *y);
/// y[i] += x[i].
void wk_accumulate(long n, const float *x, float *y);

/// out[r] = reduce(x[r, 0..cols)) for a contiguous [rows, cols] block.
void wk_reduce_rows(int op, long rows, long cols, const float *x, float *out);
/// out[o, i] = reduce_j x[o, j, i] for a contiguous [outer, n, inner] block.
void wk_reduce_mid(int op, long outer, long n, long inner, const float *x, float *out);
/// out[r] = index of the first maximum of row r of a contiguous [rows, cols] block.
void wk_argmax_rows(long rows, long cols, const float *x, float *out);
/// Running sum along the middle axis of a contiguous [outer, n, inner] block.
void wk_cumsum(long outer, long n, long inner, const float *x, float *y);

/// out[o, j, i] = x[o, idx[j], i]; x is [outer, n, inner], out is [outer, m, inner].
void wk_index_select(long outer, long n, long inner, const float *x,
                     long m, const int64_t *idx, float *out);
/// out[o, idx[j], i] += g[o, j, i]; out must be zeroed by the caller.
void wk_index_add(long outer, long n, long inner, const float *g,
                  long m, const int64_t *idx, float *out);
/// out[o, j, i] = x[o, idx[o, j, i], i]; idx holds integral floats.
void wk_gather(long outer, long n, long inner, const float *x,
               long m, const float *idx, float *out);
/// out[o, idx[o, j, i], i] += g[o, j, i]; out must be zeroed by the caller.
void wk_scatter_add(long outer, long n, long inner, const float *g,
                    long m, const float *idx, float *out);

/// Lays out the receptive fields of x [C, H, W] as cols [C*KH*KW, OH*OW] (zero outside x).
void wk_im2col(long C, long H, long W, long KH, long KW, long SH, long SW,
               long PH, long PW, long DH, long DW, long OH, long OW,
               const float *x, float *cols);
/// The adjoint of wk_im2col: accumulates cols [C*KH*KW, OH*OW] into x [C, H, W].
void wk_col2im(long C, long H, long W, long KH, long KW, long SH, long SW,
               long PH, long PW, long DH, long DW, long OH, long OW,
               const float *cols, float *x);

/// Windowed frames: out[f * ldo + i] = x[f * hop + i] * w[i] for f < frames, i < n.
void wk_frames(long frames, long n, long hop, const float *x, const float *w, float *out, long ldo);
/// Magnitudes transposed: z holds `frames` spectra of interleaved complex values, frame f
/// starting at complex index f·ld; out[k·ldo + f] = |z[f, k]| (power 1) or |z[f, k]|² (power 2) for k < bins.
/// `scratch` holds frames · ⌈bins/8⌉·8 floats; each spectrum row must hold that many bins.
void wk_complex_abs_transposed(long frames, long bins, long ld, const float *z, float *out, long ldo, int power, float *scratch);
/// re[k·ldo + f], im[k·ldo + f] = the parts of z[f, k] (layout as above).
void wk_deinterleave_transposed(long frames, long bins, long ld, const float *z, float *re, float *im, long ldo);
/// The inverse of wk_deinterleave_transposed: z[f, k] = re[k·ldi + f] + i·im[k·ldi + f].
void wk_interleave_transposed(long frames, long bins, long ld, const float *re, const float *im, long ldi, float *z);
/// Sparse band sums vectorised across frames: for band b, out[b*ldo + f] =
/// Σ_i weights[offsets[b] + i] · x[(starts[b] + i)*F + f], i < lengths[b], f < F.
void wk_band_sums(long bands, const long *starts, const long *lengths, const long *offsets,
                  const float *weights, long F, const float *x, float *out, long ldo);
/// Overlap-add: y[f * hop + i] += frames[f * ld + i] * w[i]; single-threaded (outputs overlap).
void wk_overlap_add(long frames, long n, long hop, const float *framesData, long ld, const float *w, float *y);

/// Packs a weight Wt [K, M] (row-major, the weight transposed) into 32-column panels
/// P [ceil(M/32)][K][32], zero-padded: ceil(M/32)·32·K floats.
void wk_panel_pack(long K, long M, const float *Wt, float *P);
/// Small batched products for sample-by-sample generation over S sources concatenated along
/// K: for b < B, Y[b·ldy + m] = (accumulate ? Y : 0) + bias[m] + Σ_s Σ_k X[s][b·ldx + k] · W[s·K + k, m],
/// with P = wk_panel_pack(S·K, M, W). Accumulators stay in registers across sources (the
/// taps of a dilated convolution step), each weight panel is read once per 8 utterances.
/// (bias may be NULL).
void wk_panel_gemm(long B, long S, long K, long M, const float *const *X, long ldx, const float *P, const float *bias,
                   float *Y, long ldy, int accumulate);
/// One categorical draw per row of logits [B, C] at temperature 1/invT: u[b] in [0, 1);
/// the chosen class index is written to out[b] (as a float).
void wk_sample_categorical(long B, long C, const float *logits, float invT, const float *u, float *out, float *scratch);
/// z[b·h + i] = tanh(y[b·ldy + i]) · sigmoid(y[b·ldy + h + i]) for b < B, i < h.
void wk_gated_rows(long B, long h, const float *y, long ldy, float *z);
/// y[b·ldy + i] += x[b·ldx + i] for b < B, i < n (rows of different strides).
void wk_accumulate_rows(long B, long n, const float *x, long ldx, float *y, long ldy);
/// Y[b·ldy + i] = init[b·ldi + i] + Σ_j w[j] · X[j][offset + b·ldx + i] for b < B, i < n, j < taps
/// (init may be NULL for 0; ldi = 0 starts every row from the same vector, e.g. a bias).
void wk_taps_mix(long B, long n, long taps, const float *const *X, long ldx, long offset, const float *w,
                 const float *init, long ldi, float *Y, long ldy);
/// y[i] = max(x[i], 0) · scale.
void wk_relu_scale(long n, const float *x, float *y, float scale);

/// Which instruction set the kernels dispatched to: 3 = AVX-512, 2 = AVX2, 1 = baseline.
int wk_isa_level(void);

#endif
