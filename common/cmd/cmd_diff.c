/* cmd_diff.c - `featcache diff A B`: the images only in A, only in B, under another class
 * or split, and with other feature values; exit 0 same, 1 different, 2 trouble, like
 * diff(1). A and B are stores or exports, read through fc_source (share.h).
 *
 * Features are compared in one streaming pass over the images both hold: one side is read
 * in its own order (an export, in row order, when there is one) and each of its images is
 * looked up in the other (a store by sha256, an export by row), so two decoded maps are in
 * memory at a time, whatever the stores' sizes. */
#define _GNU_SOURCE
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "opts.h"
#include "share.h"

typedef struct {
    size_t only_a, only_b, relabeled, resplit, refeatured, same, n_a, n_b;
} diff_counts;

/* An image both hold: A's path for messages, its row in the side looked up (an export's),
 * and what differs. In sha256 order, as the entries are. */
typedef struct {
    const char *sha256, *path;
    size_t row;
    int label_differs, features_differ, features_close; /* close: within the rule, not equal */
} diff_pair;

static int cmp_pair(const void *a, const void *b) {
    return strcmp(((const diff_pair *)a)->sha256, ((const diff_pair *)b)->sha256);
}

/* v sorted by (sha256, input); input 0 = A, 1 = B; only entries with features. An image in
 * both may differ in class, in split (the same image to train on in A and to test on in B),
 * or both: it is then listed and counted under each. Images in both go to pairs (n / 2
 * room), with their row in input `lookup`. */
static void diff_walk(const fc_share_entry *v, size_t n, int quiet, int lookup, diff_counts *d, diff_pair *pairs,
                      size_t *npairs) {
    for (size_t i = 0; i < n;) {
        const fc_share_entry *a = &v[i];
        if (i + 1 < n && strcmp(v[i + 1].sha256, a->sha256) == 0) {
            const fc_share_entry *b = &v[i + 1];
            int class_differs = strcmp(a->class_name, b->class_name) != 0, split_differs = a->split != b->split;
            char pa[8192], ca[1024], cb[1024];
            if (class_differs) {
                d->relabeled++;
                if (!quiet)
                    printf("label differs: %s [A: %s, B: %s] %s\n", fc_printable(a->path, pa, sizeof pa),
                           fc_printable(a->class_name, ca, sizeof ca), fc_printable(b->class_name, cb, sizeof cb),
                           a->sha256);
            }
            if (split_differs) {
                d->resplit++;
                if (!quiet)
                    printf("split differs: %s [A: %s, B: %s] %s\n", fc_printable(a->path, pa, sizeof pa),
                           fc_split_name(a->split), fc_split_name(b->split), a->sha256);
            }
            pairs[(*npairs)++] = (diff_pair){a->sha256, a->path, lookup ? b->row : a->row,
                                             class_differs || split_differs, 0, 0};
            i += 2;
            continue;
        }
        if (a->input == 0) d->only_a++;
        else d->only_b++;
        char pa[8192], ca[1024];
        if (!quiet)
            printf("only in %c: %s [%s] %s\n", a->input == 0 ? 'A' : 'B', fc_printable(a->path, pa, sizeof pa),
                   fc_printable(a->class_name, ca, sizeof ca), a->sha256);
        i++;
    }
}

static size_t keep_ok(fc_share_entry *v, size_t n, size_t from) {
    size_t k = from;
    for (size_t i = from; i < n; i++) {
        if (v[i].ok) v[k++] = v[i];
        else free(v[i].class_name), free(v[i].path);
    }
    return k;
}

/* The hash-split fractions each records, when they differ: images added to them later would
 * be split otherwise, though the images they hold are not (a note; the exit code follows
 * the images, labels and splits). */
static void split_fractions_note(const fc_provenance *a, const char *pa, const fc_provenance *b, const char *pb) {
    if (a->has_fracs == b->has_fracs && (!a->has_fracs || (a->val_frac == b->val_frac && a->test_frac == b->test_frac)))
        return;
    char f[4][40], q[2][1100];
    const fc_provenance *p[2] = {a, b};
    const char *path[2] = {pa, pb};
    for (int i = 0; i < 2; i++) {
        char pp[1024];
        fc_printable(path[i], pp, sizeof pp);
        if (p[i]->has_fracs) {
            fc_format_frac(p[i]->val_frac, f[2 * i], sizeof f[0]), fc_format_frac(p[i]->test_frac, f[2 * i + 1], sizeof f[0]);
            snprintf(q[i], sizeof q[i], "%s --val-frac %s --test-frac %s", pp, f[2 * i], f[2 * i + 1]);
        } else {
            snprintf(q[i], sizeof q[i], "%s none", pp);
        }
    }
    printf("note: the recorded split fractions differ (%s; %s): images added later would be split otherwise\n", q[0],
           q[1]);
}

/* ---- feature values ---- */

/* When two feature values count as the same: |a - b| <= tol * (the image's largest |value|
 * in A or B) + slack. */
typedef struct {
    double tol, slack;
    char how[512]; /* "exactly (both f16)", "within ... (A: f32, B: f16 ...)" */
} feat_rule;

/* What one side's values went through: its codec, and for a float16 export the f16
 * rounding on top (none for f16 itself). Returns the largest error that makes, relative to
 * an image's largest |value|: half an f16 or bf16 step, and for u8 half a step of a channel's
 * grid, at most 1.125 * 2 * max|value| / 254 / 2 < 1/128 (codec.c u8_grid, f16_coarse). *f16:
 * the values are f16s (whose subnormals round by an absolute 2^-25). *abs: an absolute error
 * on top: a u8 channel whose range ends are f16 subnormals (below 2^-14) has them widened to
 * a multiple of 2^-17 (f16_coarse), up to 2^-12 across zero, so its grid's half step reaches
 * 2^-12 / 508 < 2^-20 whatever the values (features near 1e-7 read back as another u8
 * store's or an f32 store's only within that). */
static double side_precision(const fc_source *s, char *name, size_t cap, int *f16, double *abs) {
    fc_codec_kind k = s->prov.codec.kind;
    double eps = k == FC_CODEC_F32 ? 0 : k == FC_CODEC_F16 ? 0x1p-11 : k == FC_CODEC_BF16 ? 0x1p-8 : 1.0 / 128;
    int half = s->h5 && fc_h5feat_float16(s->h5) && k != FC_CODEC_F16;
    snprintf(name, cap, "%s%s", fc_codec_name(k), half ? " exported as float16" : "");
    *f16 = half || k == FC_CODEC_F16;
    *abs = k == FC_CODEC_U8 ? 0x1p-20 : 0;
    return eps + (half ? 0x1p-11 : 0);
}

/* The float32 noise of two extractions of one image: the backbone's sums are blocked by
 * extract's --batch, by --batch/--threads per thread and by the kernels of the CPU (AVX2,
 * AVX-512, OpenBLAS's core), so two correct runs differ in the last bits (seen: up to 4.5e-6
 * of an image's largest |value|, nsfwjs MobileNetV2 at 96, --batch 1 --threads 1 against
 * --batch 32 --threads 2, f32 codec). 1e-4, the bound the engine is held to against Keras,
 * leaves room for other CPUs and deeper models and is still far below what another image,
 * model, layer or preprocessing changes (of the order of the values themselves). */
#define DIFF_F32_NOISE 1e-4

/* tol < 0 (the default): within the two sides' rounding errors plus the float32 noise. The
 * same codec on both sides is no exception: a value that moved by the noise can round to the
 * neighbouring f16 (bf16, u8 grid) value, one codec step, which each side's rounding error
 * bounds by half a step. tol 0: exact. */
static void feat_rule_make(const fc_source s[2], double tol, feat_rule *r) {
    char na[64], nb[64];
    int ha, hb;
    double aa, ab, ea = side_precision(&s[0], na, sizeof na, &ha, &aa), eb = side_precision(&s[1], nb, sizeof nb, &hb, &ab);
    int same = strcmp(na, nb) == 0;
    memset(r, 0, sizeof *r);
    if (tol == 0) {
        snprintf(r->how, sizeof r->how, "exactly (--tol 0; A: %s, B: %s)", na, nb);
    } else if (tol > 0) {
        r->tol = tol;
        snprintf(r->how, sizeof r->how, "within %g of each image's largest |value| (--tol; A: %s, B: %s)", tol, na, nb);
    } else {
        r->tol = ea + eb + DIFF_F32_NOISE, r->slack = (ha || hb ? 0x1p-24 : 0) + aa + ab;
        if (same)
            snprintf(r->how, sizeof r->how, "within %.2g of each image's largest |value| (both %s: float32 results "
                     "differ in the last bits with another --batch, --threads or CPU%s; --tol 0: exact)", r->tol, na,
                     ea > 0 ? ", and round to neighbouring codec values" : "");
        else
            snprintf(r->how, sizeof r->how, "within %.2g of each image's largest |value| (A: %s, B: %s: exact equality "
                     "is impossible across codecs; --tol REL sets the bound)", r->tol, na, nb);
    }
}

typedef struct {
    fc_source *other;      /* the side looked up */
    diff_pair *pairs;
    size_t n, dim;
    float *y;              /* dim floats: the other side's map */
    const feat_rule *rule;
    int quiet;
    size_t compared, differ, close;
    double max_diff, max_rel; /* over every image compared: |x - y|, and it over the image's largest |value| */
    fc_status *st;
    int rc;
} feat_ctx;

/* The largest |x - y| (NaN if any is not finite) and the largest |value| of two maps. */
static void max_diff(const float *x, const float *y, size_t n, double *d, double *m) {
    float dd = 0, mm = 0;
    int bad = 0;
    for (size_t i = 0; i < n; i++) {
        float e = fabsf(x[i] - y[i]);
        bad |= !(e <= FLT_MAX);
        dd = fmaxf(dd, e);
        mm = fmaxf(mm, fmaxf(fabsf(x[i]), fabsf(y[i])));
    }
    *d = bad ? NAN : dd, *m = mm;
}

static int load_other(feat_ctx *c, const diff_pair *p) {
    if (c->other->h5) return fc_h5feat_read(c->other->h5, p->row, 1, c->y, c->st);
    int r = fc_store_load_features(c->other->store, p->sha256, c->y, c->st);
    if (r < 0) return -r;
    if (r == 0)
        return fc_fail(c->st, FC_ERR_INTERNAL, "%s: features of %s (%s) missing", c->other->path, p->path, p->sha256);
    return 0;
}

static int feat_one(void *vctx, const fc_image_rec *rec, const float *x, const uint8_t *b, size_t len) {
    feat_ctx *c = vctx;
    diff_pair key = {.sha256 = rec->sha256};
    diff_pair *p = x ? bsearch(&key, c->pairs, c->n, sizeof key, cmp_pair) : NULL;
    if (!p) return 0; /* only in this side, or a failed record */
    if ((c->rc = load_other(c, p))) return 1;
    double d, m;
    max_diff(x, c->y, c->dim, &d, &m);
    c->compared++;
    if (!(d <= c->max_diff)) c->max_diff = d; /* NaN sticks */
    if (d > 0 && !(d / m <= c->max_rel)) c->max_rel = d / m; /* what the rule compares with its bound */
    if (d <= c->rule->tol * m + c->rule->slack) {
        if (d > 0) p->features_close = 1, c->close++;
        return 0;
    }
    p->features_differ = 1;
    c->differ++;
    char pa[8192];
    if (!c->quiet)
        printf("features differ: %s [largest difference %.4g, %.3g of its largest |value|] %s\n",
               fc_printable(p->path, pa, sizeof pa), d, m > 0 ? d / m : d, p->sha256);
    return 0;
}

/* Compares the features of every pair; the side read in its own order is an export when
 * one is (rows in order), and the other is looked up. */
static int diff_features(fc_source s[2], int lookup, diff_pair *pairs, size_t n, const feat_rule *rule, int quiet,
                         feat_ctx *c, fc_status *st) {
    const fc_provenance *p = &s[0].prov;
    *c = (feat_ctx){.other = &s[lookup], .pairs = pairs, .n = n, .rule = rule, .quiet = quiet, .st = st};
    c->dim = (size_t)p->feat_h * p->feat_w * p->feat_c;
    if (!(c->y = fc_aligned_alloc(c->dim * sizeof(float), st))) return st->code;
    int rc = fc_source_foreach(&s[1 - lookup], 1, feat_one, c, st);
    if (!rc) rc = c->rc;
    free(c->y);
    return rc;
}

static void print_features(const feat_ctx *c, const feat_rule *r) {
    printf("features: %zu image%s in both compared %s: %zu differ", c->compared, c->compared == 1 ? "" : "s",
           r->how, c->differ);
    if (c->close) printf(", %zu agree within it but not bit for bit", c->close);
    if (!(c->max_diff <= 0))
        printf(", largest difference %.4g (at most %.3g of an image's largest |value|)", c->max_diff, c->max_rel);
    printf("\n");
}

/* ---- the command ---- */

static int run_diff(const char *pa, const char *pb, int quiet, double tol) {
    fc_status st = {0};
    fc_source s[2];
    fc_share_entry *v = NULL;
    diff_pair *pairs = NULL;
    size_t n = 0, cap = 0, na, npairs = 0;
    int opened = 0, rc = 0;
    diff_counts d = {0};
    const char *paths[2] = {pa, pb};
    for (; opened < 2; opened++)
        if ((rc = fc_source_open(paths[opened], &s[opened], &st))) goto out;
    if ((rc = fc_share_collect(&s[0], 0, &v, &n, &cap, &st))) goto out;
    na = n = keep_ok(v, n, 0);
    if ((rc = fc_share_collect(&s[1], 1, &v, &n, &cap, &st))) goto out;
    n = keep_ok(v, n, na);
    d.n_a = na, d.n_b = n - na;
    char pmsg[900];
    fc_provenance pb_ = s[1].prov;
    pb_.codec = s[0].prov.codec; /* the codec changes bytes, not the images or labels */
    int prov_differs = fc_provenance_diff(&s[0].prov, pa, &pb_, pb, pmsg, sizeof pmsg) != 0;
    if (prov_differs) printf("provenance differs: %s\n", pmsg);
    split_fractions_note(&s[0].prov, pa, &s[1].prov, pb);
    fc_share_sort(v, n);
    int lookup = s[0].h5 || !s[1].h5; /* B is looked up unless only B is an export */
    if (!(pairs = fc_calloc(n / 2 + 1, sizeof *pairs, &st))) goto out;
    diff_walk(v, n, quiet, lookup, &d, pairs, &npairs);
    feat_rule rule;
    feat_ctx fc = {0};
    feat_rule_make(s, tol, &rule);
    if (npairs && !prov_differs && (rc = diff_features(s, lookup, pairs, npairs, &rule, quiet, &fc, &st))) goto out;
    size_t close = 0;
    for (size_t i = 0; i < npairs; i++) {
        d.refeatured += pairs[i].features_differ;
        d.same += !pairs[i].label_differs && !pairs[i].features_differ;
        close += !pairs[i].label_differs && pairs[i].features_close;
    }
    printf("A: %s, %zu image%s; B: %s, %zu image%s\n", pa, d.n_a, d.n_a == 1 ? "" : "s", pb, d.n_b,
           d.n_b == 1 ? "" : "s");
    if (npairs && prov_differs) printf("features: not compared (other backbone setups give other features)\n");
    else if (npairs) print_features(&fc, &rule);
    printf("%zu only in A, %zu only in B, %zu with different labels, %zu with different splits, ", d.only_a, d.only_b,
           d.relabeled, d.resplit);
    if (prov_differs) /* the features were not compared: nothing is known to be identical */
        printf("%zu with the same label and split (features not compared)\n", d.same);
    else if (close)
        printf("%zu with different features, %zu the same (%zu bit for bit, %zu within the tolerance)\n", d.refeatured,
               d.same, d.same - close, close);
    else
        printf("%zu with different features, %zu identical\n", d.refeatured, d.same);
    rc = (prov_differs || d.only_a || d.only_b || d.relabeled || d.resplit || d.refeatured) ? 1 : 0;
out:
    for (int i = 0; i < opened; i++) fc_source_close(&s[i]);
    fc_share_free(v, n);
    free(pairs);
    if (st.code != FC_OK) {
        fflush(stdout); /* the lines so far, then the trouble */
        fc_report("diff", &st);
        return 2;
    }
    return rc;
}

int cmd_diff(int argc, char **argv) {
    static const fc_opt opts[] = {
        {"quiet", 'q', NULL, "print only the summary"},
        {"tol", 0, "REL", "feature values agree when they differ by at most REL times the image's largest |value| "
                          "(0: exact; default: the rounding error of A's and B's codecs plus 1e-4 for float32 "
                          "results that differ in the last bits, e.g. 0.0011 for f16 vs f16, 0.00059 for f32 vs "
                          "f16, 0.0001 for f32 vs f32)"},
        {0},
    };
    static const fc_cmd_spec spec = {
        "diff", "A B [--quiet] [--tol REL]",
        "compare the images (by sha256), labels, splits and feature values of two stores or exports; exit 0 if "
        "the same, 1 if different, 2 on trouble (a missing or damaged input)",
        opts, 2, 2};
    fc_args a;
    int rc = fc_args_parse(&spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    double tol;
    rc = fc_arg_double(&a, "tol", -1, 0, 1, &tol);
    if (rc == FC_ARGS_OK) rc = run_diff(a.pos[0], a.pos[1], fc_arg_flag(&a, "quiet"), tol);
    fc_args_free(&a);
    return rc;
}
