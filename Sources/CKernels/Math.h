/* Branch-free float approximations that auto-vectorise (glibc's libm calls never do).
 * exp and log follow Cephes' single-precision polynomials (max rel. error ~2e-7 on the useful
 * range); tanh is the [13/6] rational approximation used by Eigen (max abs. error ~1e-7). */
#ifndef WAVEKIT_MATH_H
#define WAVEKIT_MATH_H

#include <stdint.h>
#include <string.h>
#include <math.h>

static inline float wk_as_float(int32_t i) { float f; memcpy(&f, &i, 4); return f; }
static inline int32_t wk_as_int(float f) { int32_t i; memcpy(&i, &f, 4); return i; }

static inline float wk_exp(float x) {
    /* Keep NaN: comparisons with NaN are false, so it passes through both clamps. */
    float xc = x < -87.33654f ? -87.33654f : x;
    xc = xc > 88.72283f ? 88.72283f : xc;
    float n = floorf(xc * 1.44269504088896341f + 0.5f);
    float r = xc - n * 0.693359375f;
    r = r - n * -2.12194440e-4f;
    float z = r * r;
    float p = 1.9875691500e-4f;
    p = p * r + 1.3981999507e-3f;
    p = p * r + 8.3334519073e-3f;
    p = p * r + 4.1665795894e-2f;
    p = p * r + 1.6666665459e-1f;
    p = p * r + 5.0000001201e-1f;
    p = p * z + r + 1.0f;
    /* n is in [-126, 128]; 2^128 overflows the exponent field, so scale in two halves. */
    int32_t ni = (int32_t)n;
    int32_t n1 = ni >> 1, n2 = ni - n1;
    float y = p * wk_as_float((n1 + 127) << 23) * wk_as_float((n2 + 127) << 23);
    y = x < -87.33654f ? 0.0f : y;
    y = x > 88.72283f ? INFINITY : y;
    return y;
}

static inline float wk_log(float x) {
    /* Subnormals: scale into the normal range first. */
    int tiny = x < 1.17549435e-38f;
    float xs = tiny ? x * 8388608.0f : x;
    int32_t bits = wk_as_int(xs);
    float e = (float)(((bits >> 23) & 0xff) - 126) - (tiny ? 23.0f : 0.0f);
    float m = wk_as_float((bits & 0x007fffff) | 0x3f000000);   /* m in [0.5, 1) */
    int small = m < 0.707106781186547524f;
    e = small ? e - 1.0f : e;
    m = small ? m + m - 1.0f : m - 1.0f;
    float z = m * m;
    float y = 7.0376836292e-2f;
    y = y * m - 1.1514610310e-1f;
    y = y * m + 1.1676998740e-1f;
    y = y * m - 1.2420140846e-1f;
    y = y * m + 1.4249322787e-1f;
    y = y * m - 1.6668057665e-1f;
    y = y * m + 2.0000714765e-1f;
    y = y * m - 2.4999993993e-1f;
    y = y * m + 3.3333331174e-1f;
    y = y * m * z;
    y += e * -2.12194440e-4f;
    y += -0.5f * z;
    float r = m + y + e * 0.693359375f;
    r = x == INFINITY ? INFINITY : r;
    r = x == 0.0f ? -INFINITY : r;
    r = x < 0.0f ? NAN : r;
    r = x != x ? x : r;
    return r;
}

/* log(1 + x) without cancellation: log(u) * x / (u - 1) with u = 1 + x (Goldberg's trick). */
static inline float wk_log1p(float x) {
    float u = 1.0f + x;
    float d = u - 1.0f;
    float r = wk_log(u) * (x / (d == 0.0f ? 1.0f : d));
    r = d == 0.0f ? x : r;
    r = u == INFINITY ? INFINITY : r;
    return r;
}

/* tanh as the rational p(x) / q(x) on x clamped to ±7.905 (where tanh is 1 in float): returns
 * p and stores q. q lies in [0.0049, 0.6] there. */
static inline float wk_tanh_ratio(float x, float *q_out) {
    float xc = x > 7.90531110763549805f ? 7.90531110763549805f : x;
    xc = xc < -7.90531110763549805f ? -7.90531110763549805f : xc;
    float x2 = xc * xc;
    float p = -2.76076847742355e-16f;
    p = p * x2 + 2.00018790482477e-13f;
    p = p * x2 - 8.60467152213735e-11f;
    p = p * x2 + 5.12229709037114e-08f;
    p = p * x2 + 1.48572235717979e-05f;
    p = p * x2 + 6.37261928875436e-04f;
    p = p * x2 + 4.89352455891786e-03f;
    p = p * xc;
    float q = 1.19825839466702e-06f;
    q = q * x2 + 1.18534705686654e-04f;
    q = q * x2 + 2.26843463243900e-03f;
    q = q * x2 + 4.89352518554385e-03f;
    *q_out = q;
    return p;
}

static inline float wk_tanh(float x) {
    float q, p = wk_tanh_ratio(x, &q);
    return fabsf(x) < 0.0004f ? x : p / q;
}

static inline float wk_sigmoid(float x) { return 1.0f / (1.0f + wk_exp(-x)); }

/* tanh(a) · sigmoid(g), WaveNet's gate, with one division: (p / q) · 1 / (1 + e^-g) is
 * p / (q · (1 + e^-g)). With q bounded the product stays finite until e^-g itself saturates,
 * where the gate is 0 anyway. */
static inline float wk_tanh_sigmoid(float a, float g) {
    float q, p = wk_tanh_ratio(a, &q);
    p = fabsf(a) < 0.0004f ? a * q : p;
    return p / (q * (1.0f + wk_exp(-g)));
}

/* softplus(x) = max(x, 0) + log1p(exp(-|x|)), stable for large |x|. */
static inline float wk_softplus(float x) {
    float m = x > 0.0f ? x : 0.0f;
    return m + wk_log1p(wk_exp(-fabsf(x)));
}

#endif
