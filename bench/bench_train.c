/* bench_train.c - seed-001 head training speed on synthetic 4x4x512 features.
 *
 *   bench_train [--threads N] [--epochs N] [--sweep] [--membw] [--dump DIR] [--big]
 * Features are ReLU-like (about 70% exact zeros), labels a noisy linear function of them,
 * 2000 train / 1000 val: the shapes of seed 001 (VGG16 conv base at 150x150, cats vs dogs).
 * Prints seconds, s/epoch, final metrics and peak RSS; --sweep also trains the 12-config
 * grid lr 3 x hidden {64,256} x dropout {0.25,0.5} in one group. --dump writes the
 * features (x_train.f32 ...) for the numpy/PyTorch peers in bench/train.sh; --store PATH
 * writes them as a feature store (f16) for `featcache train` runs. --membw measures the
 * read-modify-write bandwidth the first layer's update needs (every step reads and writes
 * each first-layer weight and its RMSprop state: 16 B per weight) over arrays the size of
 * one config's and of the sweep's state, and prints the resulting floor per epoch. --big
 * does the same with seeds 000/003's head on InceptionV3 mixed7-shaped features (7x7x768,
 * Dense 1024, Dropout 0.2, RMSprop 1e-4; see make_split). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "../common/sha256.h"
#include "../common/store.h"
#include "../train/rng.h"
#include "../train/tpool.h"
#include "../train/trainer.h"
#include "../train/fused.h"

#include <immintrin.h>

/* big = 0: seed 001's 4x4x512 (VGG16 block5_pool at 150), each value zero with
 * probability 0.7. big = 1: seeds 000/003's 7x7x768 (InceptionV3 mixed7 at 150) with the
 * sparsity of real mixed7 maps (nsfwjs InceptionV3, `make demo`'s Fashion-MNIST images:
 * 86% zeros, 12% of the values never nonzero, 54% of the rows of W touched by a batch of
 * 20): value k is nonzero with probability 0 (12% of k) or 0.6 v^3, v uniform. */
static void make_split(fc_dataset *ds, size_t n, uint64_t seed, const float *dir, int big) {
    memset(ds, 0, sizeof *ds);
    ds->n = n, ds->h = big ? 7 : 4, ds->w = big ? 7 : 4, ds->c = big ? 768 : 512, ds->n_classes = 2;
    ds->dim = (size_t)ds->h * ds->w * ds->c;
    fc_status st = {0};
    ds->x = fc_aligned_alloc(n * ds->dim * sizeof(float), &st); /* as the store loader allocates them */
    ds->y = malloc(n * sizeof(int32_t));
    uint64_t key = fc_rng_key(seed, 9, 0, 0), pkey = fc_rng_key(3, 9, 2, 0);
    for (size_t i = 0; i < n; i++) {
        double dot = 0;
        for (size_t k = 0; k < ds->dim; k++) {
            float u = fc_rng_uniform(key, i * ds->dim + k), v;
            if (big) {
                float q = fc_rng_uniform(pkey, k), pk = q < 0.12f ? 0.0f : 0.6f * powf((q - 0.12f) / 0.88f, 3.0f);
                v = u < pk ? 2.0f * fc_rng_uniform(key ^ 55, i * ds->dim + k) : 0.0f;
            } else {
                v = u < 0.7f ? 0.0f : (u - 0.7f) * 10.0f;
            }
            ds->x[i * ds->dim + k] = v;
            dot += v * dir[k];
        }
        ds->y[i] = dot + (fc_rng_uniform(key ^ 77, i) - 0.5) * (big ? 1.0 : 4.0) > 0;
    }
}

/* ---- read-modify-write bandwidth: w, s -> w', s' like an RMSprop step without the math ---- */
typedef struct {
    float *w, *s;
    size_t n;
} rmw_job;

__attribute__((target("avx2"))) static void rmw_avx2(float *w, float *s, size_t n) {
    const __m256 a = _mm256_set1_ps(0.9f), c = _mm256_set1_ps(1e-6f);
    size_t k = 0;
    for (; k + 8 <= n; k += 8) {
        __m256 sv = _mm256_mul_ps(a, _mm256_load_ps(s + k)), wv = _mm256_load_ps(w + k);
        _mm256_store_ps(s + k, sv);
        _mm256_store_ps(w + k, _mm256_sub_ps(wv, _mm256_mul_ps(c, sv)));
    }
    for (; k < n; k++) s[k] *= 0.9f, w[k] -= 1e-6f * s[k];
}

static void rmw_phase(void *ctx, int tid, int nt) {
    rmw_job *j = ctx;
    size_t k0 = (j->n * tid / nt) & ~(size_t)7, k1 = tid + 1 == nt ? j->n : (j->n * (tid + 1) / nt) & ~(size_t)7;
    if (__builtin_cpu_supports("avx2")) rmw_avx2(j->w + k0, j->s + k0, k1 - k0);
    else
        for (size_t k = k0; k < k1; k++) j->s[k] *= 0.9f, j->w[k] -= 1e-6f * j->s[k];
}

/* Best GB/s (16 B per element: read w, s; write w, s) of `reps` passes over n elements. */
static double rmw_gbps(fc_tpool *pool, size_t n, int reps) {
    fc_status st = {0};
    rmw_job j = {fc_aligned_alloc(n * 4, &st), fc_aligned_alloc(n * 4, &st), n}; /* as the trainer's state */
    if (!j.w || !j.s) return free(j.w), free(j.s), 0;
    for (size_t k = 0; k < n; k++) j.w[k] = 0.01f, j.s[k] = 1.0f;
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = fc_now();
        fc_tpool_run(pool, rmw_phase, &j);
        double dt = fc_now() - t0;
        best = dt < best ? dt : best;
    }
    free(j.w), free(j.s);
    return 16.0 * (double)n / best / 1e9;
}

/* First-layer weights of a config list (each step reads and writes them and their state). */
static double first_layer_weights(const fc_train_config *cfg, int n, size_t d0) {
    double s = 0;
    for (int i = 0; i < n; i++) s += (double)d0 * cfg[i].arch.hidden[0];
    return s;
}

static void membw_report(int threads, const fc_train_config *cfg, int n, int steps) {
    fc_status st = {0};
    fc_tpool *pool = NULL;
    if (fc_tpool_create(threads, &pool, &st)) return;
    fc_train_config one;
    fc_train_config_defaults(&one);
    double w1 = first_layer_weights(&one, 1, 8192), wn = first_layer_weights(cfg, n, 8192);
    double bw1 = rmw_gbps(pool, (size_t)w1, 20), bwn = rmw_gbps(pool, (size_t)wn, 6);
    printf("memory (read-modify-write, %d threads): %.1f GB/s over one config's state (%.0f MB), "
           "%.1f GB/s over %d configs' state (%.0f MB)\n",
           threads, bw1, w1 * 8 / 1e6, bwn, n, wn * 8 / 1e6);
    printf("traffic floor per epoch (%d steps x 16 B/weight): one config %.4f s, %d configs %.4f s "
           "(%.2fx one config)\n",
           steps, steps * w1 * 16 / (bw1 * 1e9), n, steps * wn * 16 / (bwn * 1e9),
           (wn / bwn) / (w1 / bw1));
    fc_tpool_free(pool);
}

static int put_split(fc_store *s, const fc_dataset *ds, int split, fc_status *st) {
    if (fc_store_begin(s, st)) return st->code;
    for (size_t i = 0; i < ds->n; i++) {
        char path[64];
        fc_image_rec r = {0};
        uint64_t key[2] = {i, (uint64_t)split};
        fc_sha256_hex(key, sizeof key, r.sha256);
        snprintf(path, sizeof path, "%s/%s/%05zu.png", fc_split_name(split), ds->y[i] ? "dogs" : "cats", i);
        r.path = path, r.class_name = ds->y[i] ? "dogs" : "cats", r.split = split, r.status = FC_IMG_OK;
        r.bytes = 1, r.width = r.height = 150;
        if (fc_store_put(s, &r, ds->x + i * ds->dim, st)) return st->code;
    }
    return fc_store_commit(s, st);
}

static int write_store(const char *path, const fc_dataset *tr, const fc_dataset *va) {
    fc_status st = {0};
    fc_store *s = NULL;
    fc_provenance p = {0};
    fc_sha256_hex("bench_train synthetic", 21, p.model_sha256);
    snprintf(p.arch, sizeof p.arch, "synthetic");
    snprintf(p.layer, sizeof p.layer, "block5_pool");
    p.in_h = p.in_w = 150;
    snprintf(p.resize, sizeof p.resize, "nearest");
    snprintf(p.preprocess, sizeof p.preprocess, "rescale");
    snprintf(p.numerics, sizeof p.numerics, "%s", FC_NUMERICS_VERSION);
    p.feat_h = p.feat_w = 4, p.feat_c = 512;
    p.codec.kind = FC_CODEC_F16, p.codec.layout = FC_LAYOUT_SPARSE, p.codec.level = 3;
    fc_provenance_fingerprint(&p);
    int rc = fc_store_open(path, FC_STORE_CREATE | FC_STORE_EXCLUSIVE, &s, &st);
    if (!rc) rc = fc_store_set_provenance(s, &p, &st);
    if (!rc) rc = put_split(s, tr, FC_SPLIT_TRAIN, &st);
    if (!rc) rc = put_split(s, va, FC_SPLIT_VAL, &st);
    fc_store_close(s);
    if (rc) fprintf(stderr, "bench_train: %s\n", st.msg);
    return rc;
}

static int write_f32(const char *dir, const char *name, const void *p, size_t bytes) {
    char path[1024];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) return -1;
    size_t w = fwrite(p, 1, bytes, f);
    fclose(f);
    return w == bytes ? 0 : -1;
}

int main(int argc, char **argv) {
    int threads = 2, epochs = 30, sweep = 0, membw = 0, big = 0;
    const char *dump = NULL, *store = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc) threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--epochs") && i + 1 < argc) epochs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sweep")) sweep = 1;
        else if (!strcmp(argv[i], "--membw")) membw = 1;
        else if (!strcmp(argv[i], "--big")) big = 1;
        else if (!strcmp(argv[i], "--dump") && i + 1 < argc) dump = argv[++i];
        else if (!strcmp(argv[i], "--store") && i + 1 < argc) store = argv[++i];
        else if (!strcmp(argv[i], "--isa") && i + 1 < argc) fc_fused_set_isa(atoi(argv[++i])); /* 1 = AVX2 only */
    }
    if (membw) { /* the 12-config grid: 3 lr x hidden {64, 256} x 2 dropout; 2000 rows, batch 20 */
        fc_train_config grid[12];
        int m = 0;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 4; b++) fc_train_config_defaults(&grid[m]), grid[m++].arch.hidden[0] = b < 2 ? 64 : 256;
        membw_report(threads, grid, m, (2000 + grid[0].batch - 1) / grid[0].batch);
        return 0;
    }
    const int dim = big ? 7 * 7 * 768 : 8192;
    float *dir = malloc((size_t)dim * sizeof(float));
    uint64_t k = fc_rng_key(5, 9, 1, 0);
    for (int i = 0; i < dim; i++) dir[i] = fc_rng_uniform(k, (uint64_t)i) - 0.5f;
    fc_dataset tr, va;
    make_split(&tr, 2000, 1, dir, big);
    make_split(&va, 1000, 2, dir, big);
    double mean = 0;
    for (size_t i = 0; i < 2000; i++) mean += tr.y[i];
    if (store) {
        if (write_store(store, &tr, &va)) return 1;
        printf("wrote store %s\n", store);
        return 0;
    }
    if (dump) {
        if (write_f32(dump, "x_train.f32", tr.x, tr.n * tr.dim * 4) ||
            write_f32(dump, "y_train.i32", tr.y, tr.n * 4) ||
            write_f32(dump, "x_val.f32", va.x, va.n * va.dim * 4) ||
            write_f32(dump, "y_val.i32", va.y, va.n * 4)) {
            fprintf(stderr, "bench_train: cannot write %s\n", dump);
            return 1;
        }
        printf("dumped to %s (train positives %.0f / 2000)\n", dump, mean);
        return 0;
    }
    fc_train_config cfg[12];
    int n = 1;
    fc_train_config_defaults(&cfg[0]);
    cfg[0].epochs = epochs;
    if (big) /* seeds 000/003: Flatten -> Dense(1024, relu) -> Dropout(0.2) -> Dense(1, sigmoid), RMSprop 1e-4 */
        cfg[0].arch.hidden[0] = 1024, cfg[0].arch.dropout = 0.2f, cfg[0].opt.lr = 1e-4f;
    if (sweep) {
        const float lrs[3] = {1e-5f, 2e-5f, 5e-5f};
        const int hid[2] = {64, 256};
        const float drop[2] = {0.25f, 0.5f};
        n = 0;
        for (int a = 0; a < 3; a++)
            for (int b = 0; b < 2; b++)
                for (int c = 0; c < 2; c++) {
                    fc_train_config_defaults(&cfg[n]);
                    cfg[n].epochs = epochs;
                    cfg[n].opt.lr = lrs[a], cfg[n].arch.hidden[0] = hid[b], cfg[n].arch.dropout = drop[c];
                    n++;
                }
    }
    fc_head *heads[12];
    fc_history hist[12];
    fc_status st = {0};
    struct rusage r0;
    getrusage(RUSAGE_SELF, &r0);
    double t0 = fc_now();
    if (fc_train_group(&tr, &va, cfg, n, threads, NULL, heads, hist, &st)) {
        fprintf(stderr, "bench_train: %s\n", st.msg);
        return 1;
    }
    double secs = fc_now() - t0;
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double cpu = (ru.ru_utime.tv_sec - r0.ru_utime.tv_sec) + (ru.ru_utime.tv_usec - r0.ru_utime.tv_usec) * 1e-6 +
                 (ru.ru_stime.tv_sec - r0.ru_stime.tv_sec) + (ru.ru_stime.tv_usec - r0.ru_stime.tv_usec) * 1e-6;
    double feat_mb = (tr.n + va.n) * tr.dim * 4 / 1e6;
    printf("%s: %d config(s), %d epochs, %d threads: %.3f s (%.4f s/epoch), cpu %.3f s\n",
           sweep ? "sweep" : "train", n, epochs, threads, secs, secs / epochs, cpu);
    double best = 1e9;
    for (int e = 0; e < hist[0].n; e++) best = hist[0].ep[e].seconds < best ? hist[0].ep[e].seconds : best;
    printf("fastest epoch %.4f s (the least disturbed by other load)\n", best);
    static const char *const isa_names[] = {"scalar", "AVX2", "AVX-512"};
    printf("first-layer pass and validation forward: %s path\n", isa_names[fc_fused_isa()]);
    if (getenv("BENCH_EPOCHS_VERBOSE"))
        for (int e = 0; e < hist[0].n; e++) printf("  epoch %d %.4f s\n", e + 1, hist[0].ep[e].seconds);
    for (int i = 0; i < n; i++) {
        fc_epoch_stat *e = &hist[i].ep[hist[i].n - 1];
        char hex[65]; /* fingerprint of the trained first layer: equal bits across builds */
        fc_sha256_hex(heads[i]->w[0], (size_t)heads[i]->dims[0] * heads[i]->dims[1] * sizeof(float), hex);
        printf("  cfg %2d lr %g hidden %d dropout %.2f: loss %.4f acc %.4f val_loss %.4f val_acc %.4f w0 %.12s\n",
               i, cfg[i].opt.lr, cfg[i].arch.hidden[0], cfg[i].arch.dropout, e->loss, e->acc,
               e->val_loss, e->val_acc, hex);
    }
    printf("peak RSS %.1f MB (decoded features %.1f MB)\n", ru.ru_maxrss / 1024.0, feat_mb);
    for (int i = 0; i < n; i++) fc_head_free(heads[i]), fc_history_free(&hist[i]);
    free(tr.x), free(tr.y), free(va.x), free(va.y), free(dir);
    return 0;
}
