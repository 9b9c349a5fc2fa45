/* bench_codec.c - feature codecs and the store container on ReLU-like activation maps.
 *
 * For each codec x layout: bytes/image, ratio to raw float32 for the blob alone and for
 * the SQLite file, max round-trip error, encode/decode throughput (MB of raw float32 per
 * second, one thread). Then the on-disk overhead of the container per page size.
 * Maps: synthetic (ReLU of a spatially smooth correlated field, like MobileNetV2
 * block_13_expand_relu 6x6x576 at 70% zeros and out_relu 7x7x1280 at 95%), or the
 * decoded features of a real store:  bench_codec [--store STORE.db] [--max N] */
#define _GNU_SOURCE
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/codec.h"
#include "../common/dataset.h"
#include "../common/sha256.h"
#include "../common/store.h"

typedef struct {
    const char *name;
    int h, w, c;
    size_t count, n;
    float *x; /* count maps of n floats */
} mapset;

static uint64_t rng = 0x9e3779b97f4a7c15ull;
static double unif(void) {
    rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static float gauss(void) { return (float)(sqrt(-2 * log(unif())) * cos(6.283185307179586 * unif())); }

static int cmpf(const void *a, const void *b) {
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

/* Channel c has its own scale and bias; values are smoothed over 3x3 neighbourhoods and
 * across neighbouring channels, then ReLU'd at the quantile giving zero_frac zeros. */
static void synth(mapset *m, double zero_frac) {
    size_t hw = (size_t)m->h * m->w, C = (size_t)m->c;
    float *g = malloc(m->n * sizeof *g), *scale = malloc(C * sizeof *scale), *bias = malloc(C * sizeof *bias);
    for (size_t k = 0; k < C; k++) scale[k] = (float)exp(gauss() * 0.7), bias[k] = gauss() * 0.8f;
    float *tmp = malloc(m->n * sizeof *tmp);
    for (size_t i = 0; i < m->count; i++) {
        float *x = m->x + i * m->n;
        for (size_t j = 0; j < m->n; j++) g[j] = gauss();
        for (int y = 0; y < m->h; y++)
            for (int xx = 0; xx < m->w; xx++)
                for (size_t k = 0; k < C; k++) {
                    double s = 0;
                    int cnt = 0;
                    for (int dy = -1; dy <= 1; dy++)
                        for (int dx = -1; dx <= 1; dx++) {
                            int yy = y + dy, x2 = xx + dx;
                            if (yy < 0 || yy >= m->h || x2 < 0 || x2 >= m->w) continue;
                            s += g[((size_t)yy * m->w + x2) * C + k] + 0.5 * g[((size_t)yy * m->w + x2) * C + (k + 1) % C];
                            cnt++;
                        }
                    x[((size_t)y * m->w + xx) * C + k] = (float)(s / cnt) * scale[k] + bias[k];
                }
        memcpy(tmp, x, m->n * sizeof *tmp);
        qsort(tmp, m->n, sizeof *tmp, cmpf);
        float thr = tmp[(size_t)(zero_frac * (double)(m->n - 1))];
        for (size_t j = 0; j < m->n; j++) x[j] = x[j] > thr ? x[j] - thr : 0.0f;
    }
    (void)hw;
    free(g), free(scale), free(bias), free(tmp);
}

static int load_real(mapset *m, const char *path, size_t max) {
    fc_dataset ds;
    fc_status st = {0};
    if (fc_dataset_load(path, FC_SPLIT_ANY, &ds, &st)) {
        fprintf(stderr, "bench_codec: %s\n", st.msg);
        return -1;
    }
    m->name = "real";
    m->h = ds.h, m->w = ds.w, m->c = ds.c;
    m->n = ds.dim;
    m->count = ds.n < max ? ds.n : max;
    m->x = malloc(m->count * m->n * sizeof(float));
    memcpy(m->x, ds.x, m->count * m->n * sizeof(float));
    static char label[160];
    snprintf(label, sizeof label, "%s %s (%s, %s)", ds.prov.arch, ds.prov.layer, fc_codec_name(ds.prov.codec.kind),
             path);
    m->name = label;
    fc_dataset_free(&ds);
    return 0;
}

static double zero_fraction(const mapset *m) {
    size_t z = 0, tot = m->count * m->n;
    for (size_t i = 0; i < tot; i++) z += m->x[i] == 0;
    return (double)z / (double)tot;
}

/* Thread CPU seconds: the machines are shared, so wall time would measure the neighbours. */
static double cpu_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct {
    size_t bytes;        /* sum of blob sizes */
    double enc_s, dec_s; /* seconds for all maps */
    double rel, norm;    /* max elementwise relative error (|x| >= 1e-4 max), max normalized error */
    uint8_t **blob;
    size_t *len;
} result;

static void errors(const float *x, const float *y, size_t n, double *rel, double *norm) {
    double mx = 0, me = 0;
    for (size_t i = 0; i < n; i++) mx = fmax(mx, fabs(x[i]));
    for (size_t i = 0; i < n; i++) {
        double e = fabs((double)y[i] - x[i]);
        me = fmax(me, e);
        if (fabs(x[i]) >= 1e-4 * mx && fabs(x[i]) > 0) *rel = fmax(*rel, e / fabs(x[i]));
    }
    if (mx > 0) *norm = fmax(*norm, me / mx);
}

static int run_codec(const mapset *m, const fc_codec_params *p, result *r) {
    memset(r, 0, sizeof *r);
    r->blob = calloc(m->count, sizeof *r->blob);
    r->len = calloc(m->count, sizeof *r->len);
    float *y = malloc(m->n * sizeof *y);
    fc_status st = {0};
    double t0 = cpu_now();
    for (size_t i = 0; i < m->count; i++)
        if (fc_codec_encode(p, m->x + i * m->n, m->n, m->c, &r->blob[i], &r->len[i], &st)) {
            fprintf(stderr, "bench_codec: %s\n", st.msg);
            return -1;
        }
    r->enc_s = cpu_now() - t0;
    t0 = cpu_now();
    for (size_t i = 0; i < m->count; i++) fc_codec_decode(r->blob[i], r->len[i], y, m->n, &st);
    r->dec_s = cpu_now() - t0;
    for (size_t i = 0; i < m->count; i++) {
        r->bytes += r->len[i];
        fc_codec_decode(r->blob[i], r->len[i], y, m->n, &st);
        errors(m->x + i * m->n, y, m->n, &r->rel, &r->norm);
    }
    free(y);
    return 0;
}

static void free_result(result *r, size_t count) {
    for (size_t i = 0; r->blob && i < count; i++) free(r->blob[i]);
    free(r->blob);
    free(r->len);
}

/* Bytes on disk of a store holding these blobs (created with page_size), -1 on error. */
static int64_t store_bytes(const mapset *m, const fc_codec_params *p, const result *r, int page_size) {
    char path[] = "/tmp/fc-bench-codec-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    close(fd);
    unlink(path);
    fc_store *s = NULL;
    fc_status st = {0};
    fc_provenance pv = {0};
    snprintf(pv.model_sha256, sizeof pv.model_sha256, "bench");
    snprintf(pv.layer, sizeof pv.layer, "bench");
    snprintf(pv.resize, sizeof pv.resize, "nearest");
    snprintf(pv.preprocess, sizeof pv.preprocess, "tf");
    snprintf(pv.numerics, sizeof pv.numerics, FC_NUMERICS_VERSION);
    pv.in_h = pv.in_w = 96;
    pv.feat_h = m->h, pv.feat_w = m->w, pv.feat_c = m->c;
    pv.codec = *p;
    int rc = fc_store_open_page_size(path, FC_STORE_CREATE | FC_STORE_EXCLUSIVE, page_size, &s, &st);
    if (!rc) rc = fc_store_set_provenance(s, &pv, &st);
    if (!rc) rc = fc_store_begin(s, &st);
    for (size_t i = 0; i < m->count && !rc; i++) {
        char key[32], rel[64];
        fc_image_rec rec = {.class_name = i % 2 ? "dogs" : "cats", .split = (int)(i % 3), .bytes = 20000,
                            .width = 500, .height = 375};
        snprintf(key, sizeof key, "%zu", i);
        fc_sha256_hex(key, strlen(key), rec.sha256);
        snprintf(rel, sizeof rel, "%s/%s.%05zu.jpg", rec.class_name, rec.class_name, i);
        rec.path = rel;
        rc = fc_store_put_blob(s, &rec, r->blob[i], r->len[i], NULL, &st);
    }
    if (!rc) rc = fc_store_commit(s, &st);
    fc_store_close(s);
    if (rc) fprintf(stderr, "bench_codec: %s\n", st.msg);
    struct stat sb;
    int64_t size = (!rc && stat(path, &sb) == 0) ? (int64_t)sb.st_size : -1;
    if (getenv("FC_BENCH_KEEP")) fprintf(stderr, "kept %s\n", path); else unlink(path);
    return size;
}

static void bench_maps(const mapset *m) {
    double raw = (double)m->n * 4, mb = raw * (double)m->count / 1e6;
    printf("\n== %s: %dx%dx%d, %zu maps, %.1f%% zeros, raw float32 %.0f B/image\n", m->name, m->h, m->w,
           m->c, m->count, 100 * zero_fraction(m), raw);
    printf("%-5s %-8s %9s %9s %9s %11s %10s %9s %9s\n", "codec", "layout", "B/image", "blob/raw",
           "disk/raw", "max-rel-err", "norm-err", "enc MB/s", "dec MB/s");
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 3; l++) {
            if (k == FC_CODEC_U8 && l == FC_LAYOUT_SHUFFLE) continue; /* same bytes as plain */
            fc_codec_params p = {(fc_codec_kind)k, (fc_layout)l, 3};
            result r;
            if (run_codec(m, &p, &r) == 0) {
                int64_t disk = store_bytes(m, &p, &r, 0);
                double per = (double)r.bytes / (double)m->count;
                printf("%-5s %-8s %9.0f %9.3f %9.3f %11.2e %10.2e %9.0f %9.0f\n", fc_codec_name(p.kind),
                       fc_layout_name(p.layout), per, per / raw, (double)disk / (raw * (double)m->count),
                       r.rel, r.norm, mb / r.enc_s, mb / r.dec_s);
            }
            free_result(&r, m->count);
        }
    printf("layout chosen from the first %d maps:", m->count < 20 ? (int)m->count : 20);
    for (int k = 0; k < 4; k++) {
        fc_codec_params p = {(fc_codec_kind)k, FC_LAYOUT_AUTO, 3};
        fc_layout l = fc_codec_choose_layout(&p, m->x, m->count < 20 ? m->count : 20, m->n, m->c);
        printf(" %s=%s", fc_codec_name(p.kind), fc_layout_name(l));
    }
    printf("\n");
}

/* Container overhead: file size vs sum of blobs, per SQLite page size. */
static void bench_pages(const mapset *m, fc_codec_kind kind) {
    fc_codec_params p = {kind, FC_LAYOUT_AUTO, 3};
    p.layout = fc_codec_choose_layout(&p, m->x, m->count < 20 ? m->count : 20, m->n, m->c);
    result r;
    if (run_codec(m, &p, &r)) return;
    double per = (double)r.bytes / (double)m->count, raw = (double)m->n * 4;
    printf("container, %s %s (blob %.0f B/image = %.3f of raw):\n  page  file B/image  overhead/image  disk/raw\n",
           fc_codec_name(kind), fc_layout_name(p.layout), per, per / raw);
    for (int ps = 512; ps <= 16384; ps *= 2) {
        int64_t disk = store_bytes(m, &p, &r, ps);
        double dper = (double)disk / (double)m->count;
        printf("  %5d %13.0f %15.0f %9.3f%s\n", ps, dper, dper - per, dper / raw,
               ps == FC_STORE_PAGE_SIZE ? "  <- default" : "");
    }
    free_result(&r, m->count);
}

int main(int argc, char **argv) {
    const char *store = NULL;
    size_t max = 300;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--store") == 0 && i + 1 < argc) store = argv[++i];
        else if (strcmp(argv[i], "--max") == 0 && i + 1 < argc) max = (size_t)atol(argv[++i]);
        else {
            fprintf(stderr, "usage: bench_codec [--store STORE] [--max N]\n");
            return 2;
        }
    }
    printf("bench_codec: zstd level 3, one thread, MB/s = raw float32 MB per CPU second; max-rel-err over |x| >= 1e-4 max|x|, "
           "norm-err = max|err| / max|x| per map\n");
    if (store) {
        mapset m = {0};
        if (load_real(&m, store, max)) return 1;
        bench_maps(&m);
        bench_pages(&m, FC_CODEC_F16);
        bench_pages(&m, FC_CODEC_U8);
        free(m.x);
        return 0;
    }
    mapset a = {"synthetic block_13_expand_relu-like", 6, 6, 576, max, 0, NULL};
    mapset b = {"synthetic out_relu-like", 7, 7, 1280, max / 2, 0, NULL};
    a.n = (size_t)a.h * a.w * a.c, b.n = (size_t)b.h * b.w * b.c;
    a.x = malloc(a.count * a.n * sizeof(float));
    b.x = malloc(b.count * b.n * sizeof(float));
    synth(&a, 0.70);
    synth(&b, 0.95);
    bench_maps(&a);
    bench_pages(&a, FC_CODEC_F16);
    bench_pages(&a, FC_CODEC_U8);
    bench_maps(&b);
    bench_pages(&b, FC_CODEC_F16);
    free(a.x);
    free(b.x);
    return 0;
}
