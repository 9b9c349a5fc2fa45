/* codec_half.c - float32 <-> IEEE half (f16) and bfloat16 (bf16) conversions.
 *
 * Both narrowings round to nearest, ties to even, keep infinities, quiet NaNs (payload
 * top bits kept, as x86 F16C does) and produce f16 subnormals. The scalar versions are
 * exact; the array versions use F16C (8 values per instruction) when the CPU has it,
 * picked at run time, and give bit-identical results (tested). */
#include "codec.h"

#include <string.h>

#include <cpuid.h>
#include <immintrin.h>

static inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

uint16_t fc_f32_to_f16(float f) {
    uint32_t u = f32_bits(f);
    uint16_t sign = (uint16_t)((u >> 16) & 0x8000);
    uint32_t a = u & 0x7fffffff;
    if (a > 0x7f800000) /* NaN: quiet, keep the top 9 payload bits */
        return (uint16_t)(sign | 0x7e00 | ((a >> 13) & 0x3ff));
    if (a >= 0x477ff000) /* >= 65520 rounds to infinity (and inf stays inf) */
        return (uint16_t)(sign | 0x7c00);
    if (a < 0x38800000) { /* below 2^-14: f16 subnormal or zero */
        if (a < 0x33000000) return sign; /* <= 2^-25 rounds to zero (tie at 2^-25 -> even 0) */
        uint32_t e = a >> 23, m = (a & 0x7fffff) | 0x800000;
        uint32_t shift = 126 - e; /* value = m * 2^(e-150); half subnormal unit 2^-24 */
        uint32_t q = m >> shift, rem = m & ((1u << shift) - 1), half = 1u << (shift - 1);
        if (rem > half || (rem == half && (q & 1))) q++;
        return (uint16_t)(sign | q); /* q may carry into the exponent field: still right */
    }
    /* normal: rebias exponent, round the 13 dropped mantissa bits */
    uint32_t r = a + 0xfff + ((a >> 13) & 1);
    return (uint16_t)(sign | ((r - 0x38000000) >> 13));
}

float fc_f16_to_f32(uint16_t h) {
    uint32_t sign = (uint32_t)(h & 0x8000) << 16;
    uint32_t e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0x1f) /* inf / NaN (quieted, as F16C does) */
        return bits_f32(sign | 0x7f800000 | (m << 13) | (m ? 0x400000 : 0));
    if (e == 0) { /* zero or subnormal: m * 2^-24, exact in float */
        float v = (float)m * 0x1p-24f;
        return sign ? -v : v;
    }
    return bits_f32(sign | ((e + 112) << 23) | (m << 13));
}

uint16_t fc_f32_to_bf16(float f) {
    uint32_t u = f32_bits(f);
    if ((u & 0x7fffffff) > 0x7f800000) return (uint16_t)((u >> 16) | 0x40);
    return (uint16_t)((u + 0x7fff + ((u >> 16) & 1)) >> 16);
}

float fc_bf16_to_f32(uint16_t h) {
    return bits_f32((uint32_t)h << 16);
}

__attribute__((target("avx,f16c"))) static void f32_to_f16_f16c(const float *x, uint16_t *y,
                                                                 size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8) {
        __m128i h = _mm256_cvtps_ph(_mm256_loadu_ps(x + i), _MM_FROUND_TO_NEAREST_INT);
        _mm_storeu_si128((__m128i *)(y + i), h);
    }
    for (; i < n; i++) y[i] = fc_f32_to_f16(x[i]);
}

__attribute__((target("avx,f16c"))) static void f16_to_f32_f16c(const uint16_t *x, float *y,
                                                                 size_t n) {
    size_t i = 0;
    for (; i + 8 <= n; i += 8)
        _mm256_storeu_ps(y + i, _mm256_cvtph_ps(_mm_loadu_si128((const __m128i *)(x + i))));
    for (; i < n; i++) y[i] = fc_f16_to_f32(x[i]);
}

/* F16C needs the CPU flag plus AVX state enabled by the OS (cpuid + xgetbv; clang's
 * __builtin_cpu_supports does not know "f16c"). */
static int have_f16c(void) {
    static int cached = -1;
    if (cached < 0) {
        unsigned a, b, c, d, lo = 0, hi = 0;
        int ok = __get_cpuid(1, &a, &b, &c, &d) && (c >> 29 & 1) && (c >> 28 & 1) && (c >> 27 & 1);
        if (ok) __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
        cached = ok && (lo & 6) == 6;
    }
    return cached;
}

/* fc_codec_force_scalar: tests compare the dispatched path against the scalar one. */
static int force_scalar;
void fc_codec_force_scalar(int on) {
    force_scalar = on;
}

void fc_f32_to_f16_array(const float *x, uint16_t *y, size_t n) {
    if (!force_scalar && have_f16c()) {
        f32_to_f16_f16c(x, y, n);
        return;
    }
    for (size_t i = 0; i < n; i++) y[i] = fc_f32_to_f16(x[i]);
}

void fc_f16_to_f32_array(const uint16_t *x, float *y, size_t n) {
    if (!force_scalar && have_f16c()) {
        f16_to_f32_f16c(x, y, n);
        return;
    }
    for (size_t i = 0; i < n; i++) y[i] = fc_f16_to_f32(x[i]);
}
