/* test_augment.c - Keras ImageDataGenerator augmentation (common/augment.c): spec parsing
 * and its canonical text, the counter-RNG draws, and the transform against expectations
 * derived by hand (identity, 90-degree rotation with Keras 1.1's +0.5 centre, flips) and
 * against a straightforward closed-form implementation in this file. The comparison with
 * scipy itself is tests/cli/augment_scipy.sh. */
#include <stdint.h>
#include <string.h>

#include "../../common/augment.h"
#include "t.h"

static int spec_eq(const fc_aug_spec *a, const fc_aug_spec *b) {
    return a->rotation_range == b->rotation_range && a->width_shift_range == b->width_shift_range &&
           a->height_shift_range == b->height_shift_range && a->shear_range == b->shear_range &&
           a->zoom_lo == b->zoom_lo && a->zoom_hi == b->zoom_hi &&
           a->horizontal_flip == b->horizontal_flip && a->vertical_flip == b->vertical_flip &&
           a->width_shift_int == b->width_shift_int && a->height_shift_int == b->height_shift_int;
}

static void test_parse(void) {
    fc_aug_spec s;
    fc_status st = {0};
    const char *keras = "rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, "
                        "shear_range=0.2, zoom_range=0.2, horizontal_flip=True, vertical_flip=False";
    CHECK(fc_aug_parse(keras, &s, &st) == FC_OK, "%s", st.msg);
    CHECK(s.rotation_range == 40 && s.width_shift_range == 0.2 && s.height_shift_range == 0.2 &&
              s.shear_range == 0.2 && s.zoom_lo == 1 - 0.2 && s.zoom_hi == 1 + 0.2 &&
              s.horizontal_flip == 1 && s.vertical_flip == 0 && !s.width_shift_int && !s.height_shift_int,
          "values of the Keras example");
    char buf[512];
    int n = fc_aug_format(&s, buf, sizeof buf);
    CHECK(n == (int)strlen(buf), "format returns its length: %d", n);
    CHECK(strcmp(buf, "rotation_range=40, width_shift_range=0.2, height_shift_range=0.2, shear_range=0.2, "
                      "zoom_range=[0.8, 1.2], horizontal_flip=True, vertical_flip=False") == 0,
          "canonical text: %s", buf);
    CHECK(fc_aug_format(&s, NULL, 0) == n, "format measures with n = 0");
    char small[10];
    CHECK(fc_aug_format(&s, small, sizeof small) == n && strlen(small) == 9, "format truncates like snprintf");

    /* other spellings of the same thing */
    fc_aug_spec t;
    CHECK(fc_aug_parse("  rotation_range = 40\twidth_shift_range=0.2,,height_shift_range=.2\n"
                       "shear_range=2e-1 zoom_range=[0.8, 1.2] horizontal_flip=1 vertical_flip=0 "
                       "fill_mode='nearest'", &t, &st) == FC_OK, "%s", st.msg);
    CHECK(spec_eq(&s, &t), "whitespace separators, [lo, hi], 1/0, fill_mode='nearest'");
    CHECK(fc_aug_parse("zoom_range=(0.8,1.2), fill_mode=\"nearest\", rotation_range=40.", &t, &st) == FC_OK,
          "%s", st.msg);
    CHECK(t.zoom_lo == 0.8 && t.zoom_hi == 1.2 && t.rotation_range == 40 && t.shear_range == 0 &&
              t.width_shift_range == 0 && !t.horizontal_flip,
          "tuple zoom, defaults for the rest");

    /* round trips, including Keras int shifts (pixel choice) vs float ones */
    const char *specs[] = {
        keras,
        "width_shift_range=3, height_shift_range=3.0",
        "height_shift_range=5",
        "rotation_range=0.1, zoom_range=[0.5, 0.5]",
        "shear_range=45, vertical_flip=True",
        "width_shift_range=12.5, zoom_range=[0.25, 4]",
        "width_shift_range=0, height_shift_range=0.0, rotation_range=30",
        "rotation_range=1e-300, width_shift_range=0.99999999999999989",
    };
    for (size_t i = 0; i < sizeof specs / sizeof *specs; i++) {
        fc_aug_spec a, b;
        int ok = fc_aug_parse(specs[i], &a, &st) == FC_OK;
        CHECK(ok, "parse %s: %s", specs[i], st.msg);
        if (!ok) continue;
        fc_aug_format(&a, buf, sizeof buf);
        ok = fc_aug_parse(buf, &b, &st) == FC_OK;
        CHECK(ok && spec_eq(&a, &b), "round trip of %s via %s (%s)", specs[i], buf, ok ? "" : st.msg);
    }
    CHECK(fc_aug_parse("width_shift_range=3, height_shift_range=3.0", &t, &st) == FC_OK &&
              t.width_shift_int == 1 && t.height_shift_int == 0, "int vs float shift range");
    fc_aug_format(&t, buf, sizeof buf);
    CHECK(strstr(buf, "width_shift_range=3,") && strstr(buf, "height_shift_range=3.0,"),
          "int shift stays int, float stays float: %s", buf);
}

static void expect_error(const char *text, const char *fragment) {
    fc_aug_spec s, before;
    memset(&s, 0x5a, sizeof s);
    before = s;
    fc_status st = {0};
    int rc = fc_aug_parse(text, &s, &st);
    CHECK(rc == FC_ERR_ARG && st.code == FC_ERR_ARG, "'%s' must fail (rc %d)", text ? text : "(null)", rc);
    CHECK(strstr(st.msg, fragment) != NULL, "'%s': message '%s' lacks '%s'", text ? text : "(null)",
          st.msg, fragment);
    CHECK(memcmp(&s, &before, sizeof s) == 0, "'%s': spec untouched on error", text ? text : "(null)");
}

static void test_parse_errors(void) {
    expect_error("rotation_range=40, rescale=1./255", "rescale is not an augmentation: the scaling of the pixels is "
                 "the store's preprocessing, chosen once at extract (--preprocess rescale is x/255");
    expect_error("preprocessing_function=f, rotation_range=40", "preprocessing_function is not an augmentation");
    expect_error("validation_split=0.2, rotation_range=40", "extract --val-frac");
    expect_error("cval=0., rotation_range=40", "'cval'");
    expect_error("rotation_range=40, fill_mode='reflect'", "fill_mode='reflect' is not supported");
    expect_error("rotation_range=40, fill_mode='constant'", "only fill_mode='nearest'");
    expect_error("rotation_range=40, fill_mode=nearest", "quoted");
    expect_error("rotation_range=-10", "cannot be negative");
    expect_error("width_shift_range=-0.1", "cannot be negative");
    expect_error("zoom_range=-0.2", "cannot be negative");
    expect_error("rotation_range=abc", "'abc' is not a number");
    expect_error("rotation_range=40deg", "'40deg' is not a number");
    expect_error("rotation_range=nan", "not a number");
    expect_error("shear_range=1e999", "not a finite number");
    expect_error("rotation_range=0x10", "not a number");
    expect_error("horizontal_flip=yes", "expected True or False");
    expect_error("zoom_range=[1.2, 0.8]", "lower <= upper");
    expect_error("zoom_range=[0, 1.2]", "lower <= upper");
    expect_error("zoom_range=[0.8]", "two values");
    expect_error("zoom_range=[0.8, 1.0, 1.2]", "more than two");
    expect_error("zoom_range=[0.8, 1.2", "unbalanced");
    expect_error("zoom_range=1.5", "z < 1");
    expect_error("width_shift_range=[-1, 0, 1]", "list of values is not supported");
    expect_error("rotation_range=10, rotation_range=20", "given twice");
    expect_error("rotation_range", "needs a value");
    expect_error("rotation_range=", "has no value");
    expect_error("", "specifies no transform");
    expect_error(" , ", "specifies no transform");
    expect_error("rotation_range=0, zoom_range=0.0, horizontal_flip=False", "specifies no transform");
    expect_error("fill_mode='nearest'", "specifies no transform");
    expect_error("width_shift_range=1", "specifies no transform"); /* Keras: choice(1) is always 0 */
    expect_error(NULL, "no augmentation spec");
    expect_error("=3", "expected key=value");
}

/* ---- draws ---- */

static void test_draw(void) {
    fc_aug_spec s;
    fc_status st = {0};
    CHECK(fc_aug_parse("rotation_range=40, width_shift_range=0.2, height_shift_range=0.5, "
                       "shear_range=10, zoom_range=[0.8, 1.25], horizontal_flip=True, vertical_flip=True",
                       &s, &st) == FC_OK, "%s", st.msg);
    const char *sha = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
    const int h = 100, w = 10;
    fc_aug_params a, b, c;
    fc_aug_draw(&s, h, w, fc_aug_key(7, sha, 0), &a);
    fc_aug_draw(&s, h, w, fc_aug_key(7, sha, 1), &c);
    fc_aug_draw(&s, h, w, fc_aug_key(7, sha, 0), &b);
    CHECK(memcmp(&a, &b, sizeof a) == 0, "same key, same parameters (whatever was drawn in between)");
    CHECK(a.theta != c.theta && a.tx != c.tx && a.ty != c.ty && a.shear != c.shear && a.zx != c.zx,
          "another view, other parameters");
    CHECK(fc_aug_key(7, sha, 0) != fc_aug_key(8, sha, 0), "seed enters the key");
    CHECK(fc_aug_key(7, sha, 0) != fc_aug_key(7, "0f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", 0),
          "hash enters the key");
    CHECK(fc_aug_key(7, sha, 0) == fc_aug_key(7, "9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08", 0),
          "hex case does not matter");
    CHECK(fc_aug_key(7, NULL, 3) == fc_aug_key(7, "", 3), "NULL hash is the empty string");

    /* pinned: stored views must stay reproducible across versions */
    fc_aug_params g;
    fc_aug_draw(&s, 150, 150, fc_aug_key(1, sha, 2), &g);
    CHECK_NEAR(g.theta, 7.4802780918720018, 1e-12);
    CHECK_NEAR(g.tx, 60.19018523045451, 1e-12);
    CHECK_NEAR(g.ty, -24.368006745241814, 1e-12);
    CHECK_NEAR(g.shear, -3.4395519765409261, 1e-12);
    CHECK_NEAR(g.zx, 1.1456971493125399, 1e-12);
    CHECK_NEAR(g.zy, 0.91391868649897523, 1e-12);
    CHECK(!g.flip_h && !g.flip_v, "pinned flips %d %d", g.flip_h, g.flip_v);

    enum { N = 20000 };
    double lo[6] = {1e9, 1e9, 1e9, 1e9, 1e9, 1e9}, hi[6] = {-1e9, -1e9, -1e9, -1e9, -1e9, -1e9};
    double sum_theta = 0;
    int fh = 0, fv = 0, both = 0;
    for (int i = 0; i < N; i++) {
        fc_aug_params p;
        fc_aug_draw(&s, h, w, fc_aug_key(42, sha, i), &p);
        double v[6] = {p.theta, p.tx, p.ty, p.shear, p.zx, p.zy};
        for (int k = 0; k < 6; k++) {
            if (v[k] < lo[k]) lo[k] = v[k];
            if (v[k] > hi[k]) hi[k] = v[k];
        }
        sum_theta += p.theta;
        fh += p.flip_h;
        fv += p.flip_v;
        both += p.flip_h && p.flip_v;
    }
    /* theta ~ U(-40, 40); tx (rows) ~ U(-.5, .5) * h; ty (cols) ~ U(-.2, .2) * w */
    const double want[6][2] = {{-40, 40}, {-50, 50}, {-2, 2}, {-10, 10}, {0.8, 1.25}, {0.8, 1.25}};
    const char *names[6] = {"theta", "tx", "ty", "shear", "zx", "zy"};
    for (int k = 0; k < 6; k++) {
        double span = want[k][1] - want[k][0];
        CHECK(lo[k] >= want[k][0] && hi[k] <= want[k][1], "%s in [%g, %g]: saw [%g, %g]", names[k],
              want[k][0], want[k][1], lo[k], hi[k]);
        CHECK(lo[k] < want[k][0] + 0.01 * span && hi[k] > want[k][1] - 0.01 * span,
              "%s covers its range: saw [%g, %g]", names[k], lo[k], hi[k]);
    }
    CHECK(fabs(sum_theta / N) < 1.0, "theta mean %g", sum_theta / N);
    CHECK(fabs((double)fh / N - 0.5) < 0.02 && fabs((double)fv / N - 0.5) < 0.02,
          "flip rates %g %g", (double)fh / N, (double)fv / N);
    CHECK(fabs((double)both / N - 0.25) < 0.02, "flips independent: both %g", (double)both / N);

    /* absent transforms draw nothing: exactly 0 / 1 / no flip */
    fc_aug_spec z;
    CHECK(fc_aug_parse("shear_range=5", &z, &st) == FC_OK, "%s", st.msg);
    int clean = 1;
    for (int i = 0; i < 1000; i++) {
        fc_aug_params p;
        fc_aug_draw(&z, 32, 32, fc_aug_key(1, sha, i), &p);
        clean &= p.theta == 0 && p.tx == 0 && p.ty == 0 && p.zx == 1 && p.zy == 1 && !p.flip_h &&
                 !p.flip_v && p.shear != 0 && fabs(p.shear) <= 5;
    }
    CHECK(clean, "only shear drawn");

    /* Keras int shift: choice(3) * choice([-1, 1]) -> -2..2 whole pixels, never scaled */
    CHECK(fc_aug_parse("width_shift_range=3", &z, &st) == FC_OK, "%s", st.msg);
    int seen[5] = {0}, bad = 0;
    for (int i = 0; i < 5000; i++) {
        fc_aug_params p;
        fc_aug_draw(&z, 32, 480, fc_aug_key(3, sha, i), &p);
        if (p.ty != floor(p.ty) || p.ty < -2 || p.ty > 2 || p.tx != 0) bad++;
        else seen[(int)p.ty + 2]++;
    }
    CHECK(bad == 0, "%d int shifts out of -2..2 or not whole", bad);
    CHECK(seen[0] > 600 && seen[1] > 600 && seen[3] > 600 && seen[4] > 600 && seen[2] > 1300,
          "int shift distribution %d %d %d %d %d (0 has p 1/3: choice(3) = 0 with either sign)", seen[0], seen[1],
          seen[2], seen[3], seen[4]);
    /* a float >= 1 is pixels: U(-v, v), not scaled by the side */
    CHECK(fc_aug_parse("height_shift_range=3.0", &z, &st) == FC_OK, "%s", st.msg);
    double mx = 0;
    int frac = 0;
    for (int i = 0; i < 2000; i++) {
        fc_aug_params p;
        fc_aug_draw(&z, 480, 32, fc_aug_key(3, sha, i), &p);
        if (fabs(p.tx) > mx) mx = fabs(p.tx);
        frac += p.tx != floor(p.tx);
    }
    CHECK(mx <= 3 && mx > 2.9 && frac > 1900, "float pixel shift: max %g, %d fractional", mx, frac);
}

/* ---- the transform ---- */

static float *image(int h, int w, int c, int kind) {
    float *x = malloc((size_t)h * w * c * sizeof *x);
    uint64_t r = 12345;
    for (size_t i = 0; i < (size_t)h * w * c; i++) {
        if (kind == 0) { /* distinct whole numbers */
            x[i] = (float)(i + 1);
        } else { /* varied floats, signs and magnitudes */
            r = r * 6364136223846793005ULL + 1442695040888963407ULL;
            double u = (double)(r >> 11) * 0x1.0p-53;
            x[i] = (float)((u - 0.3) * (i % 7 == 0 ? 1e-3 : i % 5 == 0 ? 1e4 : 255));
        }
    }
    return x;
}

static int clampi(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

static void test_identity_and_flips(void) {
    const int h = 6, w = 9, c = 3;
    float *x = image(h, w, c, 1), *y = malloc(sizeof(float) * h * w * c);
    fc_aug_params p = {0, 0, 0, 0, 1, 1, 0, 0};
    memset(y, 0xff, sizeof(float) * h * w * c);
    fc_aug_apply(&p, x, h, w, c, y);
    CHECK(memcmp(x, y, sizeof(float) * h * w * c) == 0, "identity params copy bit-exactly");

    /* integer shift goes through the interpolation path and is exact, edges repeated */
    fc_aug_params s = {0, 2, -3, 0, 1, 1, 0, 0};
    fc_aug_apply(&s, x, h, w, c, y);
    int bad = 0;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
            for (int k = 0; k < c; k++)
                bad += y[((size_t)i * w + j) * c + k] !=
                       x[((size_t)clampi(i + 2, 0, h - 1) * w + clampi(j - 3, 0, w - 1)) * c + k];
    CHECK(bad == 0, "tx=2, ty=-3 samples input (i+2, j-3) exactly, clamped: %d wrong", bad);

    for (int f = 1; f < 4; f++) {
        fc_aug_params q = {0, 0, 0, 0, 1, 1, f & 1, f >> 1};
        fc_aug_apply(&q, x, h, w, c, y);
        bad = 0;
        for (int i = 0; i < h; i++)
            for (int j = 0; j < w; j++) {
                int si = q.flip_v ? h - 1 - i : i, sj = q.flip_h ? w - 1 - j : j;
                bad += memcmp(y + ((size_t)i * w + j) * c, x + ((size_t)si * w + sj) * c, sizeof(float) * c) != 0;
            }
        CHECK(bad == 0, "flip_h=%d flip_v=%d: %d pixels wrong", q.flip_h, q.flip_v, bad);
    }

    /* flips come after the affine part */
    float *r = malloc(sizeof(float) * h * w * c);
    fc_aug_params rot = {17, 0.5, -1.25, 3, 1.1, 0.9, 0, 0}, rot_f = rot;
    rot_f.flip_h = rot_f.flip_v = 1;
    fc_aug_apply(&rot, x, h, w, c, r);
    fc_aug_apply(&rot_f, x, h, w, c, y);
    bad = 0;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
            bad += memcmp(y + ((size_t)i * w + j) * c, r + ((size_t)(h - 1 - i) * w + (w - 1 - j)) * c,
                          sizeof(float) * c) != 0;
    CHECK(bad == 0, "flips applied to the transformed image: %d pixels wrong", bad);
    free(r);
    free(x);
    free(y);
}

static void test_rotate90(void) {
    /* theta = 90: input (r, c) = (ox + oy - j, i - ox + oy) with o = size/2 + 0.5 (Keras 1.1).
     * h = 5, w = 7: ox = 3, oy = 4 -> (7 - j, i + 1): whole numbers, so an exact gather of
     * clamped indices (cos 90deg = 6e-17 only nudges weights by ~1e-16). */
    const int h = 5, w = 7, c = 2;
    float *x = image(h, w, c, 0), *y = malloc(sizeof(float) * h * w * c);
    fc_aug_params p = {90, 0, 0, 0, 1, 1, 0, 0};
    fc_aug_apply(&p, x, h, w, c, y);
    int bad = 0;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++)
            for (int k = 0; k < c; k++) {
                float want = x[((size_t)clampi(7 - j, 0, h - 1) * w + clampi(i + 1, 0, w - 1)) * c + k];
                if (y[((size_t)i * w + j) * c + k] != want) {
                    if (bad++ < 3)
                        fprintf(stderr, "  rot90 5x7 (%d,%d,%d): %g, want %g\n", i, j, k,
                                y[((size_t)i * w + j) * c + k], want);
                }
            }
    CHECK(bad == 0, "90 degrees on 5x7: %d values differ from the gather", bad);
    free(x);
    free(y);

    /* h = 4, w = 5: ox = 2.5, oy = 3 -> (5.5 - j, i + 0.5): every output is the mean of 4
     * clamped neighbours, not a permutation */
    const int h2 = 4, w2 = 5;
    x = image(h2, w2, 1, 0);
    y = malloc(sizeof(float) * h2 * w2);
    fc_aug_apply(&p, x, h2, w2, 1, y);
    bad = 0;
    for (int i = 0; i < h2; i++)
        for (int j = 0; j < w2; j++) {
            int r0 = 5 - j, c0 = i; /* floor(5.5 - j), floor(i + 0.5) */
            double want = 0;
            for (int a = 0; a < 2; a++)
                for (int b = 0; b < 2; b++)
                    want += 0.25 * x[(size_t)clampi(r0 + a, 0, h2 - 1) * w2 + clampi(c0 + b, 0, w2 - 1)];
            double got = y[(size_t)i * w2 + j];
            if (fabs(got - want) > 1e-5 * fmax(1, fabs(want))) {
                if (bad++ < 3) fprintf(stderr, "  rot90 4x5 (%d,%d): %g, want %g\n", i, j, got, want);
            }
        }
    CHECK(bad == 0, "90 degrees on 4x5: %d values differ from the 4-neighbour mean", bad);
    free(x);
    free(y);
}

/* Straightforward reference: input = R(theta) (shift + Sh(shear) Z (p - o)) + o, written
 * out by components, then bilinear with the coordinate clamped to the image. */
static void ref_apply(const fc_aug_params *p, const float *x, int h, int w, int c, float *y) {
    double t = p->theta * M_PI / 180, s = p->shear * M_PI / 180;
    double ox = h / 2.0 + 0.5, oy = w / 2.0 + 0.5;
    for (int i = 0; i < h; i++)
        for (int j = 0; j < w; j++) {
            double a = (i - ox) * p->zx, b = (j - oy) * p->zy;   /* zoom */
            double a2 = a - sin(s) * b, b2 = cos(s) * b;         /* shear */
            a2 += p->tx, b2 += p->ty;                            /* shift */
            double r = cos(t) * a2 - sin(t) * b2 + ox;           /* rotation */
            double q = sin(t) * a2 + cos(t) * b2 + oy;
            r = fmin(fmax(r, 0), h - 1);
            q = fmin(fmax(q, 0), w - 1);
            int r0 = (int)r, q0 = (int)q, r1 = r0 + 1 < h ? r0 + 1 : r0, q1 = q0 + 1 < w ? q0 + 1 : q0;
            double fr = r - r0, fq = q - q0;
            for (int k = 0; k < c; k++) {
#define X(rr, cc) (double)x[((size_t)(rr) * w + (cc)) * c + k]
                double v = (1 - fr) * ((1 - fq) * X(r0, q0) + fq * X(r0, q1)) +
                           fr * ((1 - fq) * X(r1, q0) + fq * X(r1, q1));
#undef X
                int oi = p->flip_v ? h - 1 - i : i, oj = p->flip_h ? w - 1 - j : j;
                y[((size_t)oi * w + oj) * c + k] = (float)v;
            }
        }
}

static void test_against_reference(void) {
    const int sizes[][3] = {{7, 5, 3}, {32, 48, 3}, {48, 32, 1}, {1, 5, 2}, {5, 1, 2}};
    fc_aug_spec s;
    fc_status st = {0};
    CHECK(fc_aug_parse("rotation_range=180, width_shift_range=0.3, height_shift_range=0.3, "
                       "shear_range=30, zoom_range=[0.6, 1.4], horizontal_flip=True, vertical_flip=True",
                       &s, &st) == FC_OK, "%s", st.msg);
    double worst = 0;
    for (size_t z = 0; z < sizeof sizes / sizeof *sizes; z++) {
        int h = sizes[z][0], w = sizes[z][1], c = sizes[z][2];
        size_t n = (size_t)h * w * c;
        float *x = image(h, w, c, 1), *y = malloc(n * sizeof *y), *r = malloc(n * sizeof *r);
        for (int v = 0; v < 40; v++) {
            fc_aug_params p;
            fc_aug_draw(&s, h, w, fc_aug_key(99, "abc", v), &p);
            if (v == 0) p.shear = 0;  /* and a few with single transforms absent */
            if (v == 1) p.theta = 0;
            if (v == 2) p.zx = p.zy = 1;
            fc_aug_apply(&p, x, h, w, c, y);
            ref_apply(&p, x, h, w, c, r);
            for (size_t i = 0; i < n; i++) {
                double d = fabs((double)y[i] - r[i]) / fmax(1, fabs((double)r[i]));
                if (d > worst || d != d) worst = d != d ? INFINITY : d;
            }
        }
        free(x);
        free(y);
        free(r);
    }
    CHECK(worst <= 1e-5, "fc_aug_apply vs closed-form reference: worst relative error %g", worst);
}

int main(void) {
    T_RUN(test_parse);
    T_RUN(test_parse_errors);
    T_RUN(test_draw);
    T_RUN(test_identity_and_flips);
    T_RUN(test_rotate90);
    T_RUN(test_against_reference);
    return t_done("test_augment");
}
