/* test_codec.c - codec round trips (every codec x layout, random and ReLU-sparse data, odd
 * channel counts), exact f16/bf16 rounding against references computed another way
 * (double arithmetic, and numpy for f16), F16C vs scalar, u8 error bound and exact zeros,
 * and corrupt blobs (truncated, wrong n, bad header, garbage) that must be rejected. */
#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zstd.h>

#include "../../common/codec.h"
#include "t.h"

static uint64_t rng = 88172645463325252ull;
static uint32_t rnd32(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return (uint32_t)(rng >> 16);
}
static double rndu(void) { return (rnd32() + 0.5) / 4294967296.0; }
static float gauss(void) { return (float)(sqrt(-2 * log(rndu())) * cos(6.283185307179586 * rndu())); }

static float bits_f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }
static uint32_t f_bits(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }

/* Reference rounding by double arithmetic: nearbyint (ties to even) at the target ulp. */
static float ref_round(float x, int mant_bits, int min_exp, double max_finite) {
    if (isnan(x) || isinf(x) || x == 0) return x;
    int e = ilogb(x);
    if (e < min_exp) e = min_exp;
    double ulp = ldexp(1.0, e - mant_bits);
    double r = nearbyint((double)x / ulp) * ulp;
    if (fabs(r) > max_finite) return x < 0 ? -INFINITY : INFINITY;
    return (float)r;
}
static float ref_f16(float x) { return ref_round(x, 10, -14, 65504.0); }
static float ref_bf16(float x) { return ref_round(x, 7, -126, 3.3895313892515355e38); }

static int same_float(float a, float b) {
    return (isnan(a) && isnan(b)) || f_bits(a) == f_bits(b);
}

static void test_f16_bf16_reference(void) {
    int bad16 = 0, badbf = 0;
    uint32_t edges[] = {0x477fefff, 0x477ff000, 0x477fe000, 0x33000000, 0x33000001, 0x337fffff,
                        0x33c00000, 0x38800000, 0x387fffff, 0x387fc000, 0x387fe000, 0x80000000,
                        0x7f7fffff, 0x7f7f8000, 0x7f7f7fff, 0x00000001, 0x3f801000, 0x3f803000};
    for (int i = 0; i < 2000000; i++) {
        uint32_t u = i < 18 ? edges[i] : rnd32();
        if (i >= 18 && i % 2) u = (u & 0x83ffffff) | 0x30000000; /* concentrate near f16 range */
        float x = bits_f(u);
        float h = fc_f16_to_f32(fc_f32_to_f16(x)), hr = ref_f16(x);
        float b = fc_bf16_to_f32(fc_f32_to_bf16(x)), br = ref_bf16(x);
        if (!same_float(h, hr) && bad16++ < 5) CHECK(0, "f16(%a) = %a, reference %a", x, h, hr);
        if (!same_float(b, br) && badbf++ < 5) CHECK(0, "bf16(%a) = %a, reference %a", x, b, br);
    }
    CHECK(bad16 == 0 && badbf == 0, "%d f16 and %d bf16 mismatches", bad16, badbf);
    /* all 65536 halves: exact widening (value = m * 2^(e-25) etc.) */
    int badw = 0;
    for (uint32_t h = 0; h < 65536; h++) {
        int e = (h >> 10) & 31, m = h & 1023;
        double v = e == 0 ? ldexp(m, -24) : e == 31 ? (m ? NAN : INFINITY) : ldexp(1024 + m, e - 25);
        if (h & 0x8000) v = -v;
        float got = fc_f16_to_f32((uint16_t)h);
        if (!same_float(got, (float)v) && !(isnan(got) && isnan(v))) badw++;
        if (!isnan(got) && fc_f32_to_f16(got) != h) badw++; /* narrowing is exact on halves */
    }
    CHECK(badw == 0, "%d half widening mismatches", badw);
    CHECK(fc_f32_to_f16(-0.0f) == 0x8000, "-0");
    CHECK(fc_f32_to_f16(INFINITY) == 0x7c00 && fc_f32_to_f16(-INFINITY) == 0xfc00, "inf");
    CHECK(isnan(fc_f16_to_f32(fc_f32_to_f16(NAN))), "nan");
    CHECK(isnan(fc_bf16_to_f32(fc_f32_to_bf16(bits_f(0x7f800001)))), "snan stays nan in bf16");
}

/* F16C path vs scalar, bit for bit, on a stride through all float bit patterns. */
static void test_f16c_matches_scalar(void) {
    enum { N = 4099 };
    float *x = malloc(N * sizeof *x), *a = malloc(N * sizeof *a), *b = malloc(N * sizeof *b);
    uint16_t *ha = malloc(N * 2), *hb = malloc(N * 2);
    int bad = 0;
    for (uint64_t base = 0; base < (1ull << 32); base += (uint64_t)N * 1021) {
        for (int i = 0; i < N; i++) x[i] = bits_f((uint32_t)(base + (uint64_t)i * 1021));
        fc_codec_force_scalar(0);
        fc_f32_to_f16_array(x, ha, N);
        fc_f16_to_f32_array(ha, a, N);
        fc_codec_force_scalar(1);
        fc_f32_to_f16_array(x, hb, N);
        fc_f16_to_f32_array(ha, b, N);
        fc_codec_force_scalar(0);
        for (int i = 0; i < N; i++) {
            if (ha[i] != hb[i] && bad++ < 5) CHECK(0, "%a: simd %04x scalar %04x", x[i], ha[i], hb[i]);
            if (f_bits(a[i]) != f_bits(b[i]) && bad++ < 5) CHECK(0, "widen %04x", ha[i]);
        }
    }
    CHECK(bad == 0, "%d simd/scalar mismatches", bad);
    free(x), free(a), free(b), free(ha), free(hb);
}

/* numpy's float16 cast as an independent checker. */
static void test_f16_numpy(void) {
    if (access("/usr/bin/python3", X_OK) != 0) { CHECK(0, "no /usr/bin/python3"); return; }
    enum { N = 4096 };
    float x[N];
    uint16_t want[N];
    for (int i = 0; i < N; i++) {
        uint32_t u = rnd32();
        x[i] = i < N / 2 ? bits_f((u & 0x83ffffff) | 0x30000000) : gauss() * 1000;
    }
    char in[] = "/tmp/fc-f16-XXXXXX", cmd[512];
    int fd = mkstemp(in);
    CHECK(fd >= 0 && write(fd, x, sizeof x) == (ssize_t)sizeof x, "write");
    close(fd);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 -c \"import numpy as n,sys;"
             "sys.stdout.buffer.write(n.fromfile('%s',n.float32).astype(n.float16).tobytes())\"", in);
    FILE *p = popen(cmd, "r");
    size_t got = p ? fread(want, 2, N, p) : 0;
    if (p) pclose(p);
    unlink(in);
    CHECK(got == N, "numpy gave %zu values", got);
    int bad = 0;
    for (size_t i = 0; i < got; i++)
        if (fc_f32_to_f16(x[i]) != want[i] && bad++ < 5)
            CHECK(0, "%a: %04x numpy %04x", x[i], fc_f32_to_f16(x[i]), want[i]);
    CHECK(bad == 0, "%d numpy mismatches", bad);
}

static int cmp_float(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* h x w x c maps: dense gaussian, or ReLU of a spatially smooth field with ~zero_frac zeros */
static void make_map(float *x, int h, int w, int c, double zero_frac, int signed_vals) {
    for (int i = 0; i < h * w * c; i++) x[i] = gauss();
    for (int y = 0; y < h; y++)
        for (int xx = 1; xx < w; xx++)
            for (int k = 0; k < c; k++) {
                float *v = &x[(y * w + xx) * c + k];
                *v = 0.6f * v[-c] + 0.8f * *v;
            }
    if (zero_frac <= 0) return;
    int n = h * w * c;
    float *tmp = malloc((size_t)n * sizeof *tmp);
    memcpy(tmp, x, (size_t)n * sizeof *tmp);
    qsort(tmp, (size_t)n, sizeof *tmp, cmp_float);
    float thr = tmp[(int)(zero_frac * (n - 1))];
    free(tmp);
    for (int i = 0; i < n; i++) x[i] = x[i] > thr ? (signed_vals ? x[i] : x[i] - thr) : 0;
}

static const fc_layout layouts[] = {FC_LAYOUT_PLAIN, FC_LAYOUT_SHUFFLE, FC_LAYOUT_SPARSE,
                                    FC_LAYOUT_AUTO};

/* Check decoded y against x for codec k; returns max relative error (to max|x|). */
static double check_decoded(fc_codec_kind k, const float *x, const float *y, size_t n, int C,
                            const char *what) {
    int bad = 0;
    double maxabs = 0, maxerr = 0;
    for (size_t i = 0; i < n; i++) maxabs = fmax(maxabs, fabs(x[i]));
    for (size_t i = 0; i < n && bad < 3; i++) {
        float want = k == FC_CODEC_F32 ? x[i] : k == FC_CODEC_F16 ? fc_f16_to_f32(fc_f32_to_f16(x[i]))
                   : k == FC_CODEC_BF16 ? fc_bf16_to_f32(fc_f32_to_bf16(x[i])) : x[i];
        maxerr = fmax(maxerr, fabs((double)y[i] - x[i]));
        if (k != FC_CODEC_U8 && !same_float(y[i], want)) {
            bad++;
            CHECK(0, "%s: value %zu is %a, want %a", what, i, y[i], want);
        }
        if (k == FC_CODEC_U8 && x[i] == 0 && y[i] != 0) {
            bad++;
            CHECK(0, "%s: zero at %zu decoded as %g", what, i, y[i]);
        }
    }
    if (k == FC_CODEC_U8) { /* |err| <= half a step of the channel's range (+ f16 widening) */
        for (int c = 0; c < C && bad < 3; c++) {
            double lo = INFINITY, hi = -INFINITY, e = 0;
            for (size_t i = (size_t)c; i < n; i += (size_t)C) {
                lo = fmin(lo, x[i]), hi = fmax(hi, x[i]);
                e = fmax(e, fabs((double)y[i] - x[i]));
            }
            /* the stored range is anchored at 0 and widened by up to 1/8 (4 significant bits) */
            lo = fmin(lo, 0), hi = fmax(hi, 0);
            double bound = 0.5 * (hi - lo) * 1.126 / 254 + 1e-30;
            if (e > bound) {
                bad++;
                CHECK(0, "%s: channel %d error %g > bound %g (range %g..%g)", what, c, e, bound, lo, hi);
            }
        }
    }
    return maxabs > 0 ? maxerr / maxabs : maxerr;
}

static void roundtrip_one(fc_codec_kind k, fc_layout l, const float *x, int h, int w, int C,
                          const char *data) {
    size_t n = (size_t)h * w * C;
    char what[128];
    snprintf(what, sizeof what, "%s/%s %s %dx%dx%d", fc_codec_name(k), fc_layout_name(l), data, h, w, C);
    fc_codec_params p = {k, l, 3};
    uint8_t *blob = NULL;
    size_t len = 0;
    fc_status st = {0};
    float *y = malloc(n * sizeof *y);
    CHECK(fc_codec_encode(&p, x, n, C, &blob, &len, &st) == 0, "%s: %s", what, st.msg);
    fc_blob_info bi;
    CHECK(fc_codec_peek(blob, len, &bi, &st) == 0 && bi.kind == k && bi.n == n && bi.channels == C &&
          (l == FC_LAYOUT_AUTO || bi.layout == l), "%s: peek", what);
    CHECK(fc_codec_decode(blob, len, y, n, &st) == 0, "%s: %s", what, st.msg);
    check_decoded(k, x, y, n, C, what);
    CHECK(fc_codec_decode(blob, len, y, n + 1, &st) == FC_ERR_FORMAT, "%s: wrong n accepted", what);
    free(blob);
    free(y);
}

static void test_roundtrips(void) {
    static const int shapes[][3] = {{1, 1, 1}, {3, 5, 7}, {4, 4, 33}, {6, 6, 64}, {2, 3, 1}, {7, 7, 13}};
    for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++) {
        int h = shapes[s][0], w = shapes[s][1], C = shapes[s][2];
        size_t n = (size_t)h * w * C;
        float *dense = malloc(n * 4), *relu = malloc(n * 4), *sparse = malloc(n * 4), *mixed = malloc(n * 4);
        make_map(dense, h, w, C, 0, 0);
        make_map(relu, h, w, C, 0.7, 0);
        make_map(sparse, h, w, C, 0.95, 0);
        make_map(mixed, h, w, C, 0.5, 1); /* nonzeros of both signs next to exact zeros */
        for (int k = 0; k < 4; k++)
            for (int l = 0; l < 4; l++) {
                roundtrip_one((fc_codec_kind)k, layouts[l], dense, h, w, C, "dense");
                roundtrip_one((fc_codec_kind)k, layouts[l], relu, h, w, C, "relu70");
                roundtrip_one((fc_codec_kind)k, layouts[l], sparse, h, w, C, "relu95");
                roundtrip_one((fc_codec_kind)k, layouts[l], mixed, h, w, C, "mixed");
            }
        free(dense), free(relu), free(sparse), free(mixed);
    }
}

static void test_special_values(void) {
    float x[12] = {0.0f, -0.0f, INFINITY, -INFINITY, NAN, 1e-30f, -1e-8f, 65504.f, 70000.f,
                   3.4e38f, -3.4e38f, 1.0f};
    /* finite extremes round-trip in every codec whose range holds them: f16 up to 65504,
     * bf16 up to its 3.39e38, f32 everything finite */
    float fin[10] = {0.0f, -0.0f, 1e-30f, -1e-8f, 65504.f, -65504.f, 1.0f, 3e-41f, 12345.5f, -2.5f};
    for (int k = 0; k < 3; k++)
        for (int l = 0; l < 3; l++) roundtrip_one((fc_codec_kind)k, layouts[l], fin, 1, 1, 10, "special");
    float huge[4] = {70000.f, 3.38e38f, -3.38e38f, 1.0f};
    for (int l = 0; l < 3; l++) roundtrip_one(FC_CODEC_F32, layouts[l], huge, 1, 1, 4, "huge f32");
    for (int l = 0; l < 3; l++) roundtrip_one(FC_CODEC_BF16, layouts[l], huge, 1, 1, 4, "huge bf16");
    uint8_t *blob = NULL;
    size_t len;
    fc_status st = {0};
    /* every codec refuses non-finite values, naming the first (review 12 D F2: a NaN
     * feature trained a NaN head silently); f16 and bf16 refuse values they would store as
     * Inf */
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 3; l++) {
            fc_codec_params q = {(fc_codec_kind)k, layouts[l], 3};
            st = (fc_status){0};
            CHECK(fc_codec_encode(&q, x, 12, 3, &blob, &len, &st) == FC_ERR_FORMAT && strstr(st.msg, "non-finite") &&
                      strstr(st.msg, " at 2)"), "codec %d layout %d: %s", k, l, st.msg);
        }
    fc_codec_params h = {FC_CODEC_F16, FC_LAYOUT_PLAIN, 3};
    st = (fc_status){0};
    CHECK(fc_codec_encode(&h, huge, 4, 1, &blob, &len, &st) == FC_ERR_FORMAT &&
              strstr(st.msg, "beyond the f16 codec's range (the first, 70000, at 0"), "f16 70000: %s", st.msg);
    float bhuge[2] = {1.0f, 3.4e38f};
    h.kind = FC_CODEC_BF16;
    st = (fc_status){0};
    CHECK(fc_codec_encode(&h, bhuge, 2, 1, &blob, &len, &st) == FC_ERR_FORMAT && strstr(st.msg, "beyond the bf16"),
          "bf16 3.4e38: %s", st.msg);
    /* u8 handles huge finite values (f32 parameters) */
    fc_codec_params p = {FC_CODEC_U8, FC_LAYOUT_PLAIN, 3};
    st = (fc_status){0};
    CHECK(fc_codec_encode(&p, x, 12, 3, &blob, &len, &st) == FC_ERR_FORMAT, "u8 nan (a data error, exit 1)");
    CHECK(strstr(st.msg, "non-finite") != NULL && strstr(st.msg, " at 2") != NULL, "%s", st.msg);
    p.layout = FC_LAYOUT_SPARSE; /* the first bad value is named whatever the layout */
    CHECK(fc_codec_encode(&p, x, 12, 3, &blob, &len, &st) == FC_ERR_FORMAT && strstr(st.msg, " at 2") != NULL, "%s",
          st.msg);
    float big[6] = {1e30f, -2e30f, 0, 3e38f, -3e38f, 5};
    for (int l = 0; l < 3; l++) roundtrip_one(FC_CODEC_U8, layouts[l], big, 1, 1, 6, "huge");
    roundtrip_one(FC_CODEC_U8, FC_LAYOUT_PLAIN, big, 3, 2, 1, "huge-1ch");
    /* a range reaching the float limit: the zero-anchored grid would widen past FLT_MAX
     * (255/254 of the range), so the encoder refuses it and the decoder refuses a blob
     * that declares it (converting such a value to float is undefined behaviour) */
    float edge[2] = {-1e-30f, 3.4e38f};
    p.layout = FC_LAYOUT_PLAIN;
    CHECK(fc_codec_encode(&p, edge, 2, 1, &blob, &len, &st) == FC_ERR_FORMAT && strstr(st.msg, "float limit"), "%s",
          st.msg);
    float fine[2] = {-1e-30f, 3e38f};
    CHECK(fc_codec_encode(&p, fine, 2, 1, &blob, &len, &st) == FC_OK, "%s", st.msg);
    if (blob) { /* swap its f32 parameter section (lo, hi) for one declaring the edge range */
        uint32_t s0, s1;
        memcpy(&s0, blob + 16, 4), memcpy(&s1, blob + 20, 4);
        CHECK(blob[6] == 1 && blob[7] == 2 && 24 + (size_t)s0 + s1 == len, "u8 blob layout with f32 params");
        uint8_t sec[64], *crafted = malloc(len + 64);
        size_t ns = ZSTD_compress(sec, sizeof sec, edge, sizeof edge, 3);
        CHECK(!ZSTD_isError(ns) && crafted, "crafting");
        if (!ZSTD_isError(ns) && crafted) {
            uint32_t n32 = (uint32_t)ns;
            memcpy(crafted, blob, 24), memcpy(crafted + 16, &n32, 4);
            memcpy(crafted + 24, sec, ns), memcpy(crafted + 24 + ns, blob + 24 + s0, s1);
            float out[2];
            CHECK(fc_codec_decode(crafted, 24 + ns + s1, out, 2, &st) == FC_ERR_FORMAT &&
                      strstr(st.msg, "float limit"), "crafted edge range: %s", st.msg);
            memcpy(crafted + 24, blob + 24, s0), memcpy(crafted + 16, &s0, 4); /* the original decodes */
            memcpy(crafted + 24 + s0, blob + 24 + s0, s1);
            CHECK(fc_codec_decode(crafted, len, out, 2, &st) == FC_OK, "%s", st.msg);
        }
        free(crafted);
        free(blob);
        blob = NULL;
    }
    /* an all-zero map, one channel constant */
    float z[40] = {0};
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 3; l++) roundtrip_one((fc_codec_kind)k, layouts[l], z, 2, 4, 5, "zeros");
}

static void test_bad_args(void) {
    float x[6] = {1, 2, 3, 4, 5, 6};
    uint8_t *b = NULL;
    size_t len;
    fc_status st = {0};
    fc_codec_params p = {FC_CODEC_F16, FC_LAYOUT_PLAIN, 3};
    CHECK(fc_codec_encode(&p, x, 6, 4, &b, &len, &st) == FC_ERR_ARG, "6 values in 4 channels");
    CHECK(fc_codec_encode(&p, x, 0, 1, &b, &len, &st) == FC_ERR_ARG, "0 values");
    p.level = 99;
    CHECK(fc_codec_encode(&p, x, 6, 1, &b, &len, &st) == FC_ERR_ARG, "level 99");
    fc_codec_kind k;
    fc_layout l;
    CHECK(fc_codec_parse("bf16", &k) == 0 && k == FC_CODEC_BF16, "parse bf16");
    CHECK(fc_codec_parse("f64", &k) != 0, "parse f64");
    CHECK(fc_layout_parse("sparse", &l) == 0 && l == FC_LAYOUT_SPARSE, "parse sparse");
    CHECK(strcmp(fc_codec_name(FC_CODEC_U8), "u8") == 0 && strcmp(fc_layout_name(FC_LAYOUT_SHUFFLE), "shuffle") == 0, "names");
}

static void test_corrupt(void) {
    enum { H = 4, W = 4, C = 9, N = H * W * C };
    float x[N], y[N];
    make_map(x, H, W, C, 0.7, 0);
    fc_status st = {0};
    int crashes_avoided = 0;
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 3; l++) {
            fc_codec_params p = {(fc_codec_kind)k, layouts[l], 3};
            uint8_t *blob = NULL;
            size_t len = 0;
            CHECK(fc_codec_encode(&p, x, N, C, &blob, &len, &st) == 0, "%s", st.msg);
            for (size_t cut = 0; cut < len; cut++) /* every truncation is refused */
                if (fc_codec_decode(blob, cut, y, N, &st) != FC_ERR_FORMAT) {
                    CHECK(0, "%s/%s truncated to %zu accepted", fc_codec_name(p.kind),
                          fc_layout_name(p.layout), cut);
                    break;
                }
            uint8_t *m = malloc(len + 1);
            for (size_t i = 0; i < len; i++) /* every bit flip: refused or harmless (layout 5, flags 6, channels 12-15 may stay valid) */
                for (int bit = 0; bit < 8; bit += 3) {
                    memcpy(m, blob, len);
                    m[i] ^= (uint8_t)(1u << bit);
                    int rc = fc_codec_decode(m, len, y, N, &st);
                    if (i < 16 + 4 && rc == 0 && i != 5 && i != 6 && !(i >= 12 && i < 16))
                        CHECK(0, "header byte %zu changed but accepted", i);
                    crashes_avoided++;
                }
            memcpy(m, blob, len);
            m[len] = 0;
            CHECK(fc_codec_decode(m, len + 1, y, N, &st) == FC_ERR_FORMAT, "trailing byte");
            CHECK(fc_codec_decode(blob, len, y, N - 1, &st) == FC_ERR_FORMAT, "wrong n");
            CHECK(strstr(st.msg, "expected") != NULL, "%s", st.msg);
            free(m);
            free(blob);
        }
    uint8_t garbage[300];
    for (int r = 0; r < 200; r++) {
        for (size_t i = 0; i < sizeof garbage; i++) garbage[i] = (uint8_t)rnd32();
        if (r % 2) memcpy(garbage, "FCB\1", 4), garbage[4] = (uint8_t)(r % 5), garbage[5] = (uint8_t)(r % 4);
        CHECK(fc_codec_decode(garbage, sizeof garbage, y, N, &st) == FC_ERR_FORMAT, "garbage accepted");
    }
    CHECK(fc_codec_decode(NULL, 0, y, N, &st) == FC_ERR_FORMAT, "NULL blob");
    CHECK(crashes_avoided > 0, "ran");
}

/* A hand-built sparse blob whose bitmap has a bit set past n must be refused. */
static void test_bitmap_past_end(void) {
    float x[5] = {1, 0, 2, 0, 3}, y[5];
    fc_codec_params p = {FC_CODEC_F32, FC_LAYOUT_SPARSE, 3};
    uint8_t *blob = NULL;
    size_t len;
    fc_status st = {0};
    CHECK(fc_codec_encode(&p, x, 5, 1, &blob, &len, &st) == 0, "%s", st.msg);
    /* change n from 5 to 4 (and channels stays 1): bit 4 is now past the end */
    blob[8] = 4;
    CHECK(fc_codec_decode(blob, len, y, 4, &st) == FC_ERR_FORMAT, "bits past n");
    free(blob);
}

/* Blobs written before the channel-major bitmap (position-major sparse, flags without
 * bit 2), with what that version decoded them to: stores made then must decode to the
 * same bits. The map: 3x2 positions x 5 channels, ReLU zeros, channel 4 negative. */
static const struct {
    const char *codec;
    size_t len;
    const char *hex;
    float want[30];
} legacy[] = {
{"f32", 116, "46434201000200021e000000050000000d0000004f00000028b52ffd20042100007edfbe2d28b52ffd205c350200840300d7233c295c8f3f52b80e40c3f5283e53b8be3f666626400000403fd7a390bf14aec7be7b14ee3f3433b33e5c8fc23e86eb71bf85eb51be0400807040f84f826070ea09",
     {0x0p+0, 0x1.47aep-7, 0x1.1eb852p+0, 0x1.1d70a4p+1, 0x1.51eb86p-3, 0x1.7d70a6p+0, 0x1.4cccccp+1, 0x0p+0, 0x1.8p-1, -0x1.2147aep+0, 0x1.47aep-7, 0x1.1eb852p+0, 0x1.1d70a4p+1, 0x0p+0, -0x1.8f5c28p-2, 0x1.4cccccp+1, 0x0p+0, 0x1.8p-1, 0x1.dc28f6p+0, 0x1.666668p-2, 0x1.1eb852p+0, 0x1.1d70a4p+1, 0x0p+0, 0x1.851eb8p-2, -0x1.e3d70cp-1, 0x0p+0, 0x1.8p-1, 0x1.dc28f6p+0, 0x0p+0, -0x1.a3d70ap-3}},
    {"f16", 89, "46434201010200021e000000050000000d0000003400000028b52ffd20042100007edfbe2d28b52ffd202e5d010004021f217b3c76404831f63d3341003a85bc3db6713f9a3514368fbb003a713f8fb203002048cc80cd3097",
     {0x0p+0, 0x1.47cp-7, 0x1.1ecp+0, 0x1.1d8p+1, 0x1.52p-3, 0x1.7d8p+0, 0x1.4ccp+1, 0x0p+0, 0x1.8p-1, -0x1.214p+0, 0x1.47cp-7, 0x1.1ecp+0, 0x1.1d8p+1, 0x0p+0, -0x1.8f4p-2, 0x1.4ccp+1, 0x0p+0, 0x1.8p-1, 0x1.dc4p+0, 0x1.668p-2, 0x1.1ecp+0, 0x1.1d8p+1, 0x0p+0, 0x1.85p-2, -0x1.e3cp-1, 0x0p+0, 0x1.8p-1, 0x1.dc4p+0, 0x0p+0, -0x1.a3cp-3}},
    {"bf16", 92, "46434201020200021e000000050000000d0000003700000028b52ffd20042100007edfbe2d28b52ffd202e710100243c8f3f0f40293ebf3f2640403f91bf243c8f3f0f40c8be2640403fee3fb33e8f3f0f40c33e72bf403fee3f52be",
     {0x0p+0, 0x1.48p-7, 0x1.1ep+0, 0x1.1ep+1, 0x1.52p-3, 0x1.7ep+0, 0x1.4cp+1, 0x0p+0, 0x1.8p-1, -0x1.22p+0, 0x1.48p-7, 0x1.1ep+0, 0x1.1ep+1, 0x0p+0, -0x1.9p-2, 0x1.4cp+1, 0x0p+0, 0x1.8p-1, 0x1.dcp+0, 0x1.66p-2, 0x1.1ep+0, 0x1.1ep+1, 0x0p+0, 0x1.86p-2, -0x1.e4p-1, 0x0p+0, 0x1.8p-1, 0x1.dcp+0, 0x0p+0, -0x1.a4p-3}},
    {"u8", 102, "46434201030200031e000000050000001d0000000d0000002000000028b52ffd2014a10000000000000000000000bd8041804180408040003628b52ffd20042100007edfbe2d28b52ffd2017b90000017ffddd8af155120168fd86f155d3fa68cf2b2f46d3a3",
     {0x0p+0, 0x1.616162p-7, 0x1.1ededep+0, 0x1.1dbdbep+1, 0x1.54a952p-3, 0x1.7cfcfcp+0, 0x1.4cacacp+1, 0x0p+0, 0x1.8p-1, -0x1.21e3c8p+0, 0x1.616162p-7, 0x1.1f1f2p+0, 0x1.1dbdbep+1, 0x0p+0, -0x1.8f9f3ep-2, 0x1.4cacacp+1, 0x0p+0, 0x1.8p-1, 0x1.dc9c9cp+0, 0x1.6850a2p-2, 0x1.1f1f2p+0, 0x1.1dbdbep+1, 0x0p+0, 0x1.848484p-2, -0x1.e4c994p-1, 0x0p+0, 0x1.828282p-1, 0x1.dc9c9cp+0, 0x0p+0, -0x1.a3468ep-3}},
};
static const float legacy_x[30] = {0x0p+0, 0x1.47aep-7, 0x1.1eb852p+0, 0x1.1d70a4p+1, 0x1.51eb86p-3, 0x1.7d70a6p+0, 0x1.4cccccp+1, 0x0p+0, 0x1.8p-1, -0x1.2147aep+0, 0x1.47aep-7, 0x1.1eb852p+0, 0x1.1d70a4p+1, 0x0p+0, -0x1.8f5c28p-2, 0x1.4cccccp+1, 0x0p+0, 0x1.8p-1, 0x1.dc28f6p+0, 0x1.666668p-2, 0x1.1eb852p+0, 0x1.1d70a4p+1, 0x0p+0, 0x1.851eb8p-2, -0x1.e3d70cp-1, 0x0p+0, 0x1.8p-1, 0x1.dc28f6p+0, 0x0p+0, -0x1.a3d70ap-3};

static size_t unhex(const char *h, uint8_t *out) {
    size_t n = 0;
    for (; h[0] && h[1]; h += 2) {
        unsigned v = 0;
        if (sscanf(h, "%2x", &v) != 1) break;
        out[n++] = (uint8_t)v;
    }
    return n;
}

static void test_position_major_blobs(void) {
    fc_status st = {0};
    for (size_t k = 0; k < sizeof legacy / sizeof legacy[0]; k++) {
        uint8_t old[256] = {0}, *blob = NULL;
        size_t len = unhex(legacy[k].hex, old), nlen = 0;
        float y[30];
        CHECK(len == legacy[k].len && (old[6] & 2) == 0, "%s: fixture", legacy[k].codec);
        CHECK(fc_codec_decode(old, len, y, 30, &st) == 0, "%s: %s", legacy[k].codec, st.msg);
        for (int i = 0; i < 30; i++)
            CHECK(same_float(y[i], legacy[k].want[i]), "%s: old blob value %d is %a, want %a", legacy[k].codec, i,
                  y[i], legacy[k].want[i]);
        /* today's encoder orders the same map channel by channel: same decoded bits */
        fc_codec_params p = {FC_CODEC_F32, FC_LAYOUT_SPARSE, 3};
        CHECK(fc_codec_parse(legacy[k].codec, &p.kind) == 0, "%s", legacy[k].codec);
        CHECK(fc_codec_encode(&p, legacy_x, 30, 5, &blob, &nlen, &st) == 0, "%s", st.msg);
        CHECK(nlen >= 8 && (blob[6] & 2), "%s: channel-major flag not set", legacy[k].codec);
        CHECK(fc_codec_decode(blob, nlen, y, 30, &st) == 0, "%s: %s", legacy[k].codec, st.msg);
        for (int i = 0; i < 30; i++)
            CHECK(same_float(y[i], legacy[k].want[i]), "%s: new blob value %d is %a, want %a", legacy[k].codec, i,
                  y[i], legacy[k].want[i]);
        free(blob);
    }
    /* one channel, or one position: the two orders coincide and the flag stays clear */
    static const int shapes[][2] = {{30, 1}, {30, 30}};
    for (int s = 0; s < 2; s++) {
        fc_codec_params p = {FC_CODEC_F16, FC_LAYOUT_SPARSE, 3};
        uint8_t *blob = NULL;
        size_t len = 0;
        CHECK(fc_codec_encode(&p, legacy_x, 30, shapes[s][1], &blob, &len, &st) == 0, "%s", st.msg);
        CHECK(len >= 8 && !(blob[6] & 2), "%d channels: flag set", shapes[s][1]);
        free(blob);
    }
    /* the flag is refused on the layouts it does not apply to */
    fc_codec_params p = {FC_CODEC_F16, FC_LAYOUT_PLAIN, 3};
    uint8_t *blob = NULL;
    size_t len = 0;
    float y[30];
    CHECK(fc_codec_encode(&p, legacy_x, 30, 5, &blob, &len, &st) == 0, "%s", st.msg);
    blob[6] |= 2;
    CHECK(fc_codec_decode(blob, len, y, 30, &st) == FC_ERR_FORMAT && strstr(st.msg, "flags"), "plain + flag 2: %s",
          st.msg);
    free(blob);
}

static void test_choose_layout(void) {
    enum { H = 6, W = 6, C = 64, N = H * W * C, M = 4 };
    float *x = malloc(sizeof(float) * N * M);
    for (int i = 0; i < M; i++) make_map(x + i * N, H, W, C, 0.95, 0);
    fc_codec_params p = {FC_CODEC_F16, FC_LAYOUT_AUTO, 3};
    CHECK(fc_codec_choose_layout(&p, x, M, N, C) == FC_LAYOUT_SPARSE, "sparse maps -> sparse");
    for (int i = 0; i < M; i++) make_map(x + i * N, H, W, C, 0, 0);
    p.kind = FC_CODEC_F32;
    fc_layout l = fc_codec_choose_layout(&p, x, M, N, C);
    CHECK(l != FC_LAYOUT_SPARSE, "dense maps -> %s", fc_layout_name(l));
    /* the choice is the smallest of the three encodings */
    size_t best = SIZE_MAX, got = 0;
    for (int k = 0; k < 3; k++) {
        fc_codec_params q = {FC_CODEC_F32, layouts[k], 3};
        size_t tot = 0;
        for (int i = 0; i < M; i++) {
            uint8_t *b;
            size_t len;
            fc_codec_encode(&q, x + i * N, N, C, &b, &len, NULL);
            free(b);
            tot += len;
        }
        if (tot < best) best = tot;
        if (layouts[k] == l) got = tot;
    }
    CHECK(got == best, "chosen %zu, best %zu", got, best);
    free(x);
}

/* Encoding from several threads at once (thread-local zstd contexts) is deterministic. */
typedef struct { const float *x; size_t n; uint8_t *blob; size_t len; } job;
static void *enc_thread(void *arg) {
    job *j = arg;
    fc_codec_params p = {FC_CODEC_U8, FC_LAYOUT_SPARSE, 3};
    for (int r = 0; r < 20; r++) {
        free(j->blob);
        fc_codec_encode(&p, j->x, j->n, 16, &j->blob, &j->len, NULL);
    }
    fc_codec_thread_cleanup();
    return NULL;
}

static void test_threads(void) {
    enum { N = 8 * 8 * 16 };
    float x[N];
    make_map(x, 8, 8, 16, 0.7, 0);
    job j[3] = {{x, N, NULL, 0}, {x, N, NULL, 0}, {x, N, NULL, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++) pthread_create(&th[i], NULL, enc_thread, &j[i]);
    enc_thread(&j[2]);
    for (int i = 0; i < 2; i++) pthread_join(th[i], NULL);
    CHECK(j[0].len == j[2].len && j[1].len == j[2].len && memcmp(j[0].blob, j[2].blob, j[2].len) == 0 &&
          memcmp(j[1].blob, j[2].blob, j[2].len) == 0, "threads agree");
    for (int i = 0; i < 3; i++) free(j[i].blob);
}

static void test_checksum(void) {
    float a[3] = {1, 2, 3}, b[3] = {1, 2, 3.0000002f};
    char ca[65], cb[65];
    fc_checksum_floats(a, 3, ca);
    fc_checksum_floats(b, 3, cb);
    CHECK(strlen(ca) == 64 && strcmp(ca, cb) != 0, "checksums differ");
    /* sha256 of the 12 little-endian float bytes, computed by sha256sum */
    CHECK(strcmp(ca, "8e628779e6a74ee0b36991c10158f63cafec7d340ad4e075592502c8708524dd") == 0, "%s", ca);
}

int main(void) {
    T_RUN(test_f16_bf16_reference);
    T_RUN(test_f16c_matches_scalar);
    T_RUN(test_f16_numpy);
    T_RUN(test_roundtrips);
    T_RUN(test_special_values);
    T_RUN(test_bad_args);
    T_RUN(test_corrupt);
    T_RUN(test_bitmap_past_end);
    T_RUN(test_position_major_blobs);
    T_RUN(test_choose_layout);
    T_RUN(test_threads);
    T_RUN(test_checksum);
    fc_codec_thread_cleanup();
    return t_done("test_codec");
}
