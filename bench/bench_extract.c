/* bench_extract.c - end-to-end extract throughput against the backbone alone, and the
 * re-run speed-up. Never fails on time; prints figures and ratios.
 *
 *   bench_extract [--arch vgg16] [--layer block5_pool] [--size 150] [--images 120]
 *                 [--batch 20] [--threads N] [--codec f16] [--dir IMAGE_DIR]
 *
 * Without --dir it writes --images synthetic 320x240 JPEG photos-sized images (two class
 * folders) into a temp folder. The backbone has seeded random weights (fc_arch_build_random):
 * speed does not depend on weight values. Goals (issue 4): end-to-end >= 0.90 x backbone
 * only; a re-run of a finished extract >= 50x faster than the first run. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <jpeglib.h> /* after stdio.h: it needs FILE and size_t */
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/arch.h"
#include "../common/graph.h"
#include "../common/store.h"
#include "../extract/augment_pass.h"
#include "../extract/pipeline.h"
#include "../extract/scan.h"
#include "../extract/sink.h"

static void die(const char *what, const fc_status *st) {
    fprintf(stderr, "bench_extract: %s: %s\n", what, st ? st->msg : "");
    exit(1);
}

/* 320x240 RGB: smooth colour gradients plus some texture, JPEG quality 90. */
static void write_jpeg(const char *path, unsigned seed) {
    enum { W = 320, H = 240 };
    static unsigned char px[W * H * 3];
    unsigned r = seed * 2654435761u + 1;
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            r = r * 1103515245u + 12345u;
            unsigned char *p = px + (y * W + x) * 3;
            p[0] = (unsigned char)((x * 255 / W + seed * 37) & 255);
            p[1] = (unsigned char)((y * 255 / H + (r >> 28)) & 255);
            p[2] = (unsigned char)(((x + y) * 2 + seed * 11 + (r >> 26)) & 255);
        }
    FILE *f = fopen(path, "wb");
    if (!f) die(path, NULL);
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = W;
    c.image_height = H;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < H) {
        JSAMPROW row = px + c.next_scanline * W * 3;
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void make_images(const char *dir, int n) {
    char p[4200];
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/class%d", dir, c);
        mkdir(p, 0755);
    }
    for (int i = 0; i < n; i++) {
        snprintf(p, sizeof p, "%s/class%d/%05d.jpg", dir, i % 2, i);
        write_jpeg(p, (unsigned)i);
    }
}

typedef struct {
    fc_plan *plan;
    fc_sink sink;
} bench_ctx;

static int op_forward(void *c, const float *in, int n, float *out, fc_status *st) {
    return fc_plan_forward(((bench_ctx *)c)->plan, in, n, out, st);
}
static int op_write(void *c, const fc_pl_batch *b, fc_status *st) {
    return fc_sink_write(&((bench_ctx *)c)->sink, b, st);
}
static int op_path(void *c, const fc_scan_entry *e, char sha[65]) {
    return fc_sink_path_sha(&((bench_ctx *)c)->sink, e, sha);
}
static int op_stored(void *c, const char *sha) {
    return fc_sink_is_stored(&((bench_ctx *)c)->sink, sha);
}

/* Backbone alone on preprocessed inputs, the batches extract would run. */
static double backbone_rate(fc_plan *plan, const fc_graph *g, int batch, int n_images) {
    size_t in_n = (size_t)batch * g->in_h * g->in_w * 3;
    float *in = fc_aligned_alloc(in_n * sizeof *in, NULL);
    float *out = fc_aligned_alloc((size_t)batch * fc_graph_out_elems(g) * sizeof *out, NULL);
    if (!in || !out) die("out of memory", NULL);
    for (size_t i = 0; i < in_n; i++) in[i] = (float)((i * 7919) % 255) - 120.0f;
    fc_status st = {0};
    if (fc_plan_forward(plan, in, batch, out, &st)) die("forward", &st); /* warm-up */
    double t0 = fc_now();
    for (int done = 0; done < n_images; done += batch) {
        int n = n_images - done < batch ? n_images - done : batch;
        if (fc_plan_forward(plan, in, n, out, &st)) die("forward", &st);
    }
    double t = fc_now() - t0;
    free(in);
    free(out);
    return n_images / t;
}

/* What `featcache extract` does after loading the model: scan, load the store's index,
 * run. *seconds covers all of it. */
static fc_pl_stats run_extract(bench_ctx *bc, const char *dir, fc_store *store,
                               fc_provenance *prov, const fc_graph *g, int batch, double *seconds) {
    fc_status st = {0};
    double t0 = fc_now();
    fc_scan scan0, *scan = &scan0;
    if (fc_scan_dir(dir, scan, &st)) die(dir, &st);
    if (fc_sink_open(&bc->sink, store, scan, prov, &st)) die("sink", &st);
    fc_pl_config cfg = {.scan = scan, .batch = batch, .in_h = g->in_h, .in_w = g->in_w,
                        .out_elems = fc_graph_out_elems(g), .resize = FC_RESIZE_NEAREST,
                        .preprocess = FC_PRE_CAFFE, .val_frac = 0.2, .shard_n = 1};
    fc_pl_ops ops = {bc, op_forward, op_write, op_path, op_stored, NULL};
    fc_pl_stats ps;
    if (fc_pl_run(&cfg, &ops, &ps, &st)) die("extract", &st);
    fc_sink_free(&bc->sink);
    fc_scan_free(scan);
    *seconds = fc_now() - t0;
    return ps;
}

/* extract --augment K on the stored training images: views per second against the
 * backbone alone, and what seeds 000/001's loop (the frozen base inside fit, a fresh
 * transform of every image every epoch) would cost in backbone time for 30 epochs. */
static void bench_augment(bench_ctx *bc, const char *dir, fc_store *store, const fc_graph *g, int batch, int k,
                          double bb) {
    fc_status st = {0};
    fc_scan scan;
    if (fc_scan_dir(dir, &scan, &st)) die(dir, &st);
    char(*shas)[65] = calloc(scan.n_files ? scan.n_files : 1, sizeof *shas);
    if (!shas) die("out of memory", NULL);
    for (size_t i = 0; i < scan.n_files; i++)
        if (fc_store_path_lookup(store, scan.files[i].path, shas[i], &st) < 0) die("paths", &st);
    fc_augpass a = {.store = store, .plan = bc->plan, .scan = &scan, .shas = shas, .batch = batch,
                    .in_h = g->in_h, .in_w = g->in_w, .out_elems = fc_graph_out_elems(g),
                    .resize = FC_RESIZE_NEAREST, .preprocess = FC_PRE_CAFFE, .quiet = 1};
    if (fc_aug_parse(FC_AUG_DEFAULT_SPEC, &a.spec, &st))
        die("spec", &st);
    fc_aug_format(&a.spec, a.cfg.spec, sizeof a.cfg.spec);
    a.cfg.seed = 1, a.cfg.views = k;
    fc_augpass_stats s;
    if (fc_augment_pass(&a, &s, &st)) die("augment", &st);
    double rate = (double)s.views / s.seconds;
    printf("extract --augment %d (seed 000's transforms): %lld views of %zu training images in %.2f s = %.2f views/s "
           "(backbone %.2f s); ratio to backbone-only %.3f\n", k, (long long)s.views, s.images, s.seconds, rate,
           s.forward_seconds, rate / bb);
    printf("  augmented training, 30 epochs: the seeds' loop runs the backbone 30x per training image (%.1f s of "
           "backbone here), featcache %dx once (%.1f s): %.1fx less\n", 30.0 * (double)s.images / bb, k, s.seconds,
           30.0 * (double)s.images / bb / s.seconds);
    free(shas);
    fc_scan_free(&scan);
}

int main(int argc, char **argv) {
    const char *arch = "vgg16", *layer = "block5_pool", *dir = NULL, *codec = "f16";
    int size = 150, n_images = 120, batch = 20, threads = fc_online_cpus(), augment = 0;
    for (int i = 1; i + 1 < argc; i += 2) {
        const char *k = argv[i], *v = argv[i + 1];
        if (!strcmp(k, "--arch")) arch = v;
        else if (!strcmp(k, "--layer")) layer = v;
        else if (!strcmp(k, "--size")) size = atoi(v);
        else if (!strcmp(k, "--images")) n_images = atoi(v);
        else if (!strcmp(k, "--batch")) batch = atoi(v);
        else if (!strcmp(k, "--threads")) threads = atoi(v);
        else if (!strcmp(k, "--codec")) codec = v;
        else if (!strcmp(k, "--dir")) dir = v;
        else if (!strcmp(k, "--augment")) augment = atoi(v);
        else { fprintf(stderr, "bench_extract: unknown option %s\n", k); return 2; }
    }
    fc_status st = {0};
    char tmp[] = "/tmp/fc-bench-extract.XXXXXX";
    if (!mkdtemp(tmp)) die("mkdtemp", NULL);
    char imgdir[4200], store_path[4200];
    if (!dir) {
        snprintf(imgdir, sizeof imgdir, "%s/images", tmp);
        mkdir(imgdir, 0755);
        make_images(imgdir, n_images);
        dir = imgdir;
    }
    fc_graph *g = fc_graph_create(&st);
    if (!g || fc_arch_build_random(arch, g, 42, &st) ||
        fc_graph_finalize(g, layer, size, size, &st))
        die(arch, &st);
    bench_ctx bc = {0};
    if (!(bc.plan = fc_plan_create(g, batch, threads, &st))) die("plan", &st);
    fc_scan scan;
    if (fc_scan_dir(dir, &scan, &st)) die(dir, &st);
    size_t n_files = scan.n_files;
    fc_scan_free(&scan);
    const fc_node *o = &g->nodes[g->output];
    printf("bench_extract: %s cut at %s, %dx%d -> %dx%dx%d, %zu images from %s, batch %d, "
           "%d threads, codec %s\n", arch, layer, size, size, o->oh, o->ow, o->oc, n_files,
           dir, batch, threads, codec);
    double bb = backbone_rate(bc.plan, g, batch, (int)n_files);

    fc_provenance prov = {0};
    snprintf(prov.arch, sizeof prov.arch, "%s", arch);
    snprintf(prov.layer, sizeof prov.layer, "%s", layer);
    for (int i = 0; i < 32; i++) snprintf(prov.model_sha256 + 2 * i, 3, "%02x", g->weights_sha256[i]);
    prov.in_h = prov.in_w = size;
    snprintf(prov.resize, sizeof prov.resize, "nearest");
    snprintf(prov.preprocess, sizeof prov.preprocess, "caffe");
    snprintf(prov.numerics, sizeof prov.numerics, "%s", FC_NUMERICS_VERSION);
    prov.feat_h = o->oh;
    prov.feat_w = o->ow;
    prov.feat_c = o->oc;
    if (fc_codec_parse(codec, &prov.codec.kind)) die("bad --codec", NULL);
    prov.codec.layout = FC_LAYOUT_AUTO;
    prov.codec.level = 3;
    fc_provenance_fingerprint(&prov);
    snprintf(store_path, sizeof store_path, "%s/bench.db", tmp);
    fc_store *store = NULL;
    if (fc_store_open(store_path, FC_STORE_CREATE | FC_STORE_EXCLUSIVE, &store, &st)) die("store", &st);
    double t_first, t_again;
    fc_pl_stats first = run_extract(&bc, dir, store, &prov, g, batch, &t_first);
    double e2e = (double)first.stored / t_first;
    fc_pl_stats again = run_extract(&bc, dir, store, &prov, g, batch, &t_again);
    fc_store_stats ss;
    if (fc_store_stats_get(store, &ss, &st)) die("stats", &st);

    printf("backbone only        %8.2f img/s\n", bb);
    printf("extract end-to-end   %8.2f img/s  (%lld stored in %.2f s; reader busy %.2f s, "
           "forward %.2f s, writer busy %.2f s)\n", e2e, (long long)first.stored, t_first,
           first.reader_seconds, first.forward_seconds, first.writer_seconds);
    printf("reader CPU %.3f s (%.2f ms/image), writer CPU %.3f s (%.2f ms/image)\n",
           first.reader_cpu_seconds, 1e3 * first.reader_cpu_seconds / (double)n_files,
           first.writer_cpu_seconds, 1e3 * first.writer_cpu_seconds / (double)n_files);
    printf("ratio end-to-end / backbone  %.3f  (goal >= 0.90)\n", e2e / bb);
    printf("re-run of the finished extract: %.3f s, %lld skipped (%lld not re-read); "
           "speed-up %.0fx (goal >= 50x)\n", t_again, (long long)again.skipped,
           (long long)again.fast_path, t_first / t_again);
    printf("store: %.0f bytes/image, %.1fx smaller than float32\n",
           (double)ss.feature_bytes / (double)ss.images_ok,
           4.0 * (double)fc_graph_out_elems(g) * (double)ss.images_ok / (double)ss.feature_bytes);
    if (augment > 0) bench_augment(&bc, dir, store, g, batch, augment, bb);
    fc_store_close(store);
    fc_plan_free(bc.plan);
    fc_graph_free(g);
    char cmd[4300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmp);
    if (system(cmd) != 0) fprintf(stderr, "bench_extract: cannot remove %s\n", tmp);
    return 0;
}
