/* cmd_extract.c - `featcache extract IMAGE_DIR -m MODEL -o STORE`: run the backbone once
 * per image into the feature store (DESIGN.md "Commands", issue 4).
 *
 * Order matters for the promise "refusals exit 1 before anything is written": options,
 * the image folder and the model are checked first, then the store is opened (writer
 * lock: "store is busy") and its provenance compared; only then does the pipeline run. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../common/cmd/commands.h"
#include "../common/cmd/opts.h"
#include "../common/model.h"
#include "../common/progress.h"
#include "../common/stopsig.h"
#include "../common/store.h"
#include "augment_pass.h"
#include "pipeline.h"
#include "scan.h"
#include "sink.h"

static const fc_opt opts[] = {
    {"model", 'm', "MODEL", "backbone: Keras .h5, ARCH:weights.h5, TF.js folder, mobilenet_v2|inception_v3 (after "
     "fetch-model), or vgg16|vgg19|resnet50|resnet101|resnet152|mobilenet (keras.applications weights in "
     "~/.keras/models)"},
    {"output", 'o', "STORE", "feature store to create or extend"},
    {"layer", 'l', "NAME", "cut the backbone after this layer (default: the model's output; for the fetched "
                           "nsfwjs classifiers their conv base: out_relu, mixed10)"},
    {"size", 's', "N|HxW", "input size (default: the model's; required if it is variable)"},
    {"preprocess", 0, "MODE", "caffe|tf|torch|rescale|none (default: weights-only vgg/resnet caffe, inception/mobilenet tf, "
                              "the fetched nsfwjs models rescale; required for a full-model .h5 or another TF.js folder)"},
    {"resize", 0, "MODE", "nearest|bilinear (default nearest, as Keras load_img)"},
    {"codec", 0, "CODEC", "f32|f16|bf16|u8 (default: the store's, f16 for a new store)"},
    {"level", 0, "N", "zstd level 1-19 of a new store (default 3; an existing store keeps its own)"},
    {"batch", 'b', "N", "images per forward pass (default 20)"},
    {"threads", 't', "N", "backbone threads (default: all online CPUs)"},
    {"shard", 0, "I/N", "only the images whose sha256 falls in shard I of N (0 <= I < N)"},
    {"val-frac", 0, "F", "validation fraction when IMAGE_DIR has no split folders (default 0.2, or the one the "
                         "store records)"},
    {"test-frac", 0, "F", "test fraction when IMAGE_DIR has no split folders (default 0, or the one the store "
                          "records)"},
    {"strict", 0, NULL, "exit 1 if any image could not be read or decoded"},
    {"prune", 0, NULL, "delete stored images that are no longer in IMAGE_DIR"},
    {"augment", 0, "K", "also K augmented views of every training image (Keras ImageDataGenerator), for train --augment"},
    {"augment-spec", 0, "KEYWORDS", "the ImageDataGenerator keywords, e.g. 'rotation_range=40, width_shift_range=0.2, "
                                    "horizontal_flip=True' (default: the store's when it has views, else seed 000's set)"},
    {"augment-seed", 0, "N", "seed the views' random transforms are drawn from (default: the store's when it has "
                             "views, else 1)"},
    {"max-image-pixels", 0, "N", "refuse larger images (default 89478485, PIL's limit)"},
    {"quiet", 'q', NULL, "no progress bar"},
    {0},
};
static const fc_cmd_spec spec = {
    "extract", "IMAGE_DIR -m MODEL -o STORE [options]",
    "Run a frozen backbone once per image of a class-folder tree (as Keras flow_from_directory)\n"
    "and keep the activation maps in a compressed, resumable feature store. Re-running skips\n"
    "stored images; the split comes from train/ validation|valid|val/ test/ folders in any\n"
    "case, or else from each image's content hash (--val-frac and --test-frac set the shares).",
    opts, 1, 1};

typedef struct {
    const char *dir, *model, *store, *layer;
    int h, w;                     /* --size, 0 = model's */
    const char *preprocess;       /* NULL = from the architecture */
    fc_resize resize;
    fc_codec_params codec;
    long batch, threads, max_pixels;
    int shard_i, shard_n;
    double val_frac, test_frac;
    const char *frac_given;       /* "--val-frac", "--test-frac", both, or NULL */
    int val_given, test_given;    /* else a store's recorded fractions are used */
    int sum_deferred;             /* --test-frac + the default --val-frac exceed 1 (setup_fracs) */
    int strict, prune, quiet;
    int codec_given, level_given; /* else an existing store's codec/level are kept */
    long augment;                 /* --augment K (0: none asked) */
    const char *augment_spec;     /* --augment-spec, NULL: the store's, else the default */
    long augment_seed;
    int augment_seed_given;
} options;

static int parse_options(const fc_args *a, options *o) {
    const char *cmd = "extract";
    memset(o, 0, sizeof *o);
    o->dir = a->pos[0];
    o->model = fc_arg_str(a, "model", NULL);
    o->store = fc_arg_str(a, "output", NULL);
    if (!o->model) return fc_usage_error(cmd, "-m MODEL is required");
    if (!o->store) return fc_usage_error(cmd, "-o STORE is required");
    /* as every other command's output check says it (exit 2), and before the folder is
     * scanned or the model loaded */
    if (!o->store[0]) return fc_usage_error(cmd, "-o: empty file name");
    o->layer = fc_arg_str(a, "layer", NULL);
    const char *v = fc_arg_str(a, "size", NULL);
    if (v && fc_parse_hw(v, 8192, &o->h, &o->w))
        return fc_usage_error(cmd, "--size: '%s' is not N or HxW (1..8192)", v);
    fc_preprocess pp;
    o->preprocess = fc_arg_str(a, "preprocess", NULL);
    if (o->preprocess && fc_preprocess_parse(o->preprocess, &pp))
        return fc_usage_error(cmd, "--preprocess: '%s' is not caffe, tf, torch, rescale or none",
                              o->preprocess);
    v = fc_arg_str(a, "resize", "nearest");
    if (fc_resize_parse(v, &o->resize))
        return fc_usage_error(cmd, "--resize: '%s' is not nearest or bilinear", v);
    v = fc_arg_str(a, "codec", "f16");
    if (fc_codec_parse(v, &o->codec.kind))
        return fc_usage_error(cmd, "--codec: '%s' is not f32, f16, bf16 or u8", v);
    o->codec.layout = FC_LAYOUT_AUTO;
    long level;
    int r;
    if ((r = fc_arg_long(a, "level", 3, 1, 19, &level)) != FC_ARGS_OK) return r;
    o->codec.level = (int)level;
    o->codec_given = fc_arg_str(a, "codec", NULL) != NULL;
    o->level_given = fc_arg_str(a, "level", NULL) != NULL;
    if ((r = fc_arg_long(a, "batch", 20, 1, 1024, &o->batch)) != FC_ARGS_OK ||
        (r = fc_arg_long(a, "threads", fc_online_cpus(), 1, 256, &o->threads)) != FC_ARGS_OK ||
        (r = fc_arg_long(a, "max-image-pixels", (long)FC_MAX_IMAGE_PIXELS_DEFAULT, 1, 1L << 40,
                         &o->max_pixels)) != FC_ARGS_OK ||
        (r = fc_arg_double(a, "val-frac", 0.2, 0, 1, &o->val_frac)) != FC_ARGS_OK ||
        (r = fc_arg_double(a, "test-frac", 0.0, 0, 1, &o->test_frac)) != FC_ARGS_OK)
        return r;
    /* --test-frac alone over 1 with the default --val-frac: decided once the store is open
     * (one that records its fractions lends its --val-frac; setup_fracs) */
    o->sum_deferred = o->val_frac + o->test_frac > 1 && !fc_arg_str(a, "val-frac", NULL);
    if (o->val_frac + o->test_frac > 1 && !o->sum_deferred)
        return fc_usage_error(cmd, "--val-frac %g + --test-frac %g must not exceed 1", o->val_frac, o->test_frac);
    int vf = fc_arg_str(a, "val-frac", NULL) != NULL, tf = fc_arg_str(a, "test-frac", NULL) != NULL;
    o->frac_given = vf && tf ? "--val-frac and --test-frac" : vf ? "--val-frac" : tf ? "--test-frac" : NULL;
    o->val_given = vf, o->test_given = tf;
    o->shard_n = 1;
    v = fc_arg_str(a, "shard", NULL);
    if (v && fc_shard_parse(v, &o->shard_i, &o->shard_n))
        return fc_usage_error(cmd, "--shard: '%s' is not I/N with 0 <= I < N", v);
    if ((r = fc_arg_long(a, "augment", 0, 1, 1000, &o->augment)) != FC_ARGS_OK ||
        (r = fc_arg_long(a, "augment-seed", 1, 0, LONG_MAX, &o->augment_seed)) != FC_ARGS_OK)
        return r;
    o->augment_seed_given = fc_arg_str(a, "augment-seed", NULL) != NULL;
    o->augment_spec = fc_arg_str(a, "augment-spec", NULL);
    if ((o->augment_spec || o->augment_seed_given) && !o->augment)
        return fc_usage_error(cmd, "--augment-spec and --augment-seed need --augment K");
    if (o->augment_spec) {
        fc_aug_spec sp;
        fc_status e = {0};
        if (fc_aug_parse(o->augment_spec, &sp, &e))
            return fc_usage_error(cmd, "--augment-spec: %s", e.msg);
    }
    o->strict = fc_arg_flag(a, "strict");
    o->prune = fc_arg_flag(a, "prune");
    o->quiet = fc_arg_flag(a, "quiet");
    return FC_ARGS_OK;
}

/* Keras preprocess_input mode of the known application families; NULL if unknown. */
static const char *arch_preprocess(const char *arch) {
    if (!strncmp(arch, "nsfwjs_", 7)) return "rescale"; /* the fetched defaults: x/255 */
    if (!strncmp(arch, "vgg", 3) || !strncmp(arch, "resnet", 6)) return "caffe";
    if (!strncmp(arch, "inception", 9) || !strncmp(arch, "mobilenet", 9) ||
        !strncmp(arch, "xception", 8))
        return "tf";
    return NULL;
}

static void fill_provenance(fc_provenance *p, const options *o, const fc_graph *g,
                            const char *pre, int argc, char **argv) {
    memset(p, 0, sizeof *p);
    for (int i = 0; i < 32; i++) snprintf(p->model_sha256 + 2 * i, 3, "%02x", g->weights_sha256[i]);
    snprintf(p->arch, sizeof p->arch, "%s", g->arch);
    snprintf(p->model_path, sizeof p->model_path, "%s", o->model);
    fc_model_abspath(o->model, p->model_abspath, sizeof p->model_abspath); /* "" for a bare name */
    const fc_node *out = &g->nodes[g->output];
    snprintf(p->layer, sizeof p->layer, "%s", o->layer ? o->layer : out->name);
    p->in_h = g->in_h;
    p->in_w = g->in_w;
    snprintf(p->resize, sizeof p->resize, "%s", fc_resize_name(o->resize));
    snprintf(p->preprocess, sizeof p->preprocess, "%s", pre);
    snprintf(p->numerics, sizeof p->numerics, "%s", FC_NUMERICS_VERSION);
    p->feat_h = out->oh;
    p->feat_w = out->ow;
    p->feat_c = out->oc;
    p->feat_rank = out->rank == 2 ? 2 : 3; /* a vector (Keras (N, C)) or a map (N, h, w, c) */
    p->codec = o->codec;
    snprintf(p->version, sizeof p->version, "%s", FC_VERSION);
    if (gethostname(p->host, sizeof p->host) != 0) p->host[0] = 0;
    p->host[sizeof p->host - 1] = 0;
    const char *user = getenv("USER");
    struct passwd *pw = user ? NULL : getpwuid(getuid());
    snprintf(p->user, sizeof p->user, "%s", user ? user : pw ? pw->pw_name : "");
    fc_command_line(p->command, sizeof p->command, argc, argv);
    p->created = p->updated = (int64_t)time(NULL);
    fc_provenance_fingerprint(p);
}

typedef struct {
    options o;
    fc_scan scan;
    fc_graph *g;
    fc_plan *plan;
    fc_store *store;
    fc_sink sink;
    int sink_open;
    fc_provenance prov;
    char pre_source[64];          /* "--preprocess" or "default for ARCH" */
    fc_progress *progress;
    char (*shas)[65];
    fc_pl_stats stats;
    fc_views_config aug;          /* views to keep complete (aug.views 0: none) */
    fc_aug_spec aug_spec;
    char real_dir[PATH_MAX];      /* IMAGE_DIR, absolute and without symlinks */
    char rec_dir[PATH_MAX];       /* the folder the store records ("": none) */
    int dir_state;                /* DIR_*: how IMAGE_DIR relates to the store's folder */
    int prune_skipped;            /* --prune asked for, stored images gone, not pruned (exit 1) */
    int fracs;                    /* FRACS_*: where the hash split fractions come from */
} job;

/* The fractions of hash splits: this run's for a new store (recorded with it), the ones an
 * existing store records, or this run's for the new images of a store that records none. */
enum { FRACS_NEW, FRACS_STORE, FRACS_UNRECORDED };

/* IMAGE_DIR and the store's recorded folder (check_folder): the same; new (a store
 * without features: recorded at once); or a folder that holds some of the store's files
 * and is recorded once the run shows it holds all of them (settle_folder): the store
 * records none (made before the record), or another folder that is gone (moved) or
 * still there (a copy). */
enum { DIR_SAME, DIR_NEW, DIR_LEGACY, DIR_MOVED, DIR_COPY };

/* failed: a store this run created is removed if nothing went into it */
static void job_free(job *j, int failed) {
    if (j->sink_open) fc_sink_free(&j->sink);
    if (failed) fc_store_close_unused(j->store);
    else fc_store_close(j->store);
    fc_plan_free(j->plan);
    fc_graph_free(j->g);
    fc_scan_free(&j->scan);
    fc_progress_free(j->progress);
    free(j->shas);
}

static void print_skipped(const fc_scan *s) {
    char a[1024], b[1024];
    for (size_t i = 0; i < s->n_ignored; i++)
        fprintf(stderr, "extract: warning: %s/%s/ (%zu image%s) is not a split folder (train, validation|valid|val, "
                "test): ignored\n", fc_printable(s->root, a, sizeof a),
                fc_printable(s->ignored[i].name, b, sizeof b), s->ignored[i].images,
                s->ignored[i].images == 1 ? "" : "s");
    if (s->n_hidden || s->n_other || s->n_loose || s->n_linked_dirs || s->n_ignored_dirs)
        fprintf(stderr,
                "extract: ignored %zu hidden, %zu non-image, %zu outside class folders, "
                "%zu symlinked folder(s) not followed, %zu other folder(s) without images\n",
                s->n_hidden, s->n_other, s->n_loose, s->n_linked_dirs, s->n_ignored_dirs);
}

/* A class folder whose name is not UTF-8 keeps its bytes in the store; heads and exports
 * (UTF-8 formats) write each stray byte as \xNN (fc_utf8_text): say so once per class. */
static void note_non_utf8_classes(const fc_scan *s) {
    for (int i = 0; i < s->n_classes; i++) {
        char *text = fc_utf8_valid(s->classes[i]) ? NULL : fc_utf8_text(s->classes[i], NULL);
        char shown[512];
        if (text)
            fprintf(stderr, "extract: note: a class folder name is not UTF-8: heads and exports name the class '%s' "
                            "(\\xNN for each byte that is not UTF-8)\n", fc_printable(text, shown, sizeof shown));
        free(text);
    }
}

/* Scan IMAGE_DIR; exit 1 with a clear message when nothing is there. */
static int scan_folder(job *j, fc_status *st) {
    int rc = fc_scan_dir(j->o.dir, &j->scan, st);
    if (rc) return rc;
    print_skipped(&j->scan);
    /* with split folders no image gets a hash split: the fractions would be recorded in the
     * command line while doing nothing (as train refuses options that shape no head) */
    if (j->scan.split_dirs && j->o.frac_given)
        return fc_fail(st, FC_ERR_FORMAT,
                       "%s has train/ with validation/ or test/ folders, which are the splits: %s %s only to "
                       "a folder without them (splits drawn by content hash); drop %s", j->o.dir,
                       j->o.frac_given, strchr(j->o.frac_given, ' ') ? "apply" : "applies",
                       strchr(j->o.frac_given, ' ') ? "them" : "it");
    note_non_utf8_classes(&j->scan);
    if (j->scan.n_files == 0)
        return fc_fail(st, FC_ERR_FORMAT,
                       "%s: no images (.png .jpg .jpeg .bmp .ppm .tif .tiff) in class sub-folders (%d class folder(s) found; "
                       "expected IMAGE_DIR/CLASS/IMAGE.png as for Keras flow_from_directory)",
                       j->o.dir, j->scan.n_classes);
    return FC_OK;
}

/* Model, cut, input size and preprocessing. */
static int setup_model(job *j, fc_status *st) {
    options *o = &j->o;
    int rc = fc_model_load(o->model, &j->g, st);
    if (rc) return rc;
    if (!o->layer && (o->layer = fc_model_default_layer(j->g->arch)) && !o->quiet)
        fprintf(stderr, "extract: layer %s by default: %s's conv base (include_top=False); its own output is "
                        "nsfwjs's 5-class classifier (--layer NAME to cut elsewhere)\n",
                o->layer, j->g->arch);
    if (!o->h && (j->g->in_h <= 0 || j->g->in_w <= 0))
        return fc_fail(st, FC_ERR_ARG,
                       "%s: the model's input size is variable; pass --size N or --size HxW",
                       o->model);
    if ((rc = fc_graph_finalize(j->g, o->layer, o->h, o->w, st))) {
        /* a layer the --size input is too small for: the option, not the model, is wrong */
        int by_size = o->h && rc == FC_ERR_MISMATCH && strstr(st->msg, "is too small for");
        if (by_size) fc_wrap(st, "%s at --size %dx%d", o->model, (int)o->h, (int)o->w), st->code = FC_ERR_ARG;
        else if (!strstr(st->msg, o->model)) fc_wrap(st, "%s", o->model);
        return st->code;
    }
    const fc_node *out = &j->g->nodes[j->g->output];
    if (out->oc > FC_MAX_DIM) /* a Flatten or Dense cut; checked here, before a store exists */
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: layer '%s' gives %d values per image; a store holds feature maps "
                       "of at most %d channels (cut at a layer before the Flatten)", o->model, out->name, out->oc,
                       FC_MAX_DIM);
    if (o->layer == NULL && fc_graph_out_elems(j->g) == 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: the model has an empty output", o->model);
    if (j->g->in_c != 3)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: the model takes %d channels; images are RGB (3)",
                       o->model, j->g->in_c);
    const char *pre = o->preprocess;
    if (pre) {
        snprintf(j->pre_source, sizeof j->pre_source, "--preprocess");
    } else if ((pre = arch_preprocess(j->g->arch))) {
        snprintf(j->pre_source, sizeof j->pre_source, "default for %s", j->g->arch);
    } else {
        return fc_fail(st, FC_ERR_ARG,
                       "%s: architecture '%s' has no known preprocessing; pass --preprocess "
                       "caffe|tf|torch|rescale|none (rescale = x/255 as ImageDataGenerator(rescale=1./255))",
                       o->model, j->g->arch);
    }
    o->preprocess = pre;
    j->plan = fc_plan_create(j->g, (int)o->batch, (int)o->threads, st);
    if (!j->plan) {
        if (st->code == FC_ERR_NOMEM) { /* what extract can change (predict has no --size) */
            size_t n = strlen(st->msg);
            snprintf(st->msg + n, sizeof st->msg - n, "; a smaller --batch or --size needs less");
        }
        return fc_wrap(st, "%s at %dx%d", o->model, j->g->in_h, j->g->in_w);
    }
    return FC_OK;
}

/* "folders train/, valid/ (validation)": the split folders there are, by their own names. */
static void print_split_folders(const fc_scan *s) {
    char a[1024];
    printf("folders");
    for (int k = 0, n = 0; k < 3; k++) {
        if (!s->split_dir[k]) continue;
        printf("%s %s/", n++ ? "," : "", fc_printable(s->split_dir[k], a, sizeof a));
        if (strcmp(s->split_dir[k], fc_split_name(k)) != 0) printf(" (%s)", fc_split_name(k));
    }
    printf("\n");
}

/* Class folders named like splits (train/ alone, Testing/, ...): the user probably meant
 * split folders, so say what was made of them. */
static void note_split_like(const fc_scan *s) {
    char list[512] = "", a[1024];
    int n = 0;
    for (int c = 0; c < s->n_classes; c++) {
        if (!fc_scan_looks_like_split(s->classes[c])) continue;
        size_t used = strlen(list);
        snprintf(list + used, sizeof list - used, "%s%s/", n++ ? ", " : "",
                 fc_printable(s->classes[c], a, sizeof a));
    }
    if (n)
        fprintf(stderr, "extract: note: %s has split-like folders (%s) but not train/ with validation/ or test/: "
                "they are taken as class folders and the splits are drawn by content hash (split folders: "
                "train/ with validation/ (valid/, val/) and/or test/, in any case)\n",
                fc_printable(s->root, a, sizeof a), list);
}

/* What made a store that records no split fractions, for the banner. */
static const char *unrecorded_fracs_why(job *j) {
    char origin[32];
    fc_status ign = {0};
    if (fc_store_get_origin(j->store, origin, sizeof origin, &ign) == 1) {
        if (!strcmp(origin, "merge")) return "made by `featcache merge` of stores that do not all record the same";
        if (!strcmp(origin, "import")) return "made by `featcache import` of an export without them";
    }
    return "made before featcache recorded them, or from split folders";
}

static void print_header(job *j) {
    const fc_provenance *p = &j->prov;
    const fc_scan *s = &j->scan;
    printf("extract: %zu image%s in %d class%s from %s; split: ", s->n_files, s->n_files == 1 ? "" : "s",
           s->n_classes, s->n_classes == 1 ? "" : "es", s->root);
    if (s->split_dirs)
        print_split_folders(s);
    else if (j->fracs == FRACS_STORE)
        printf("by content hash (validation %.3g, test %.3g, as the store records)\n", j->o.val_frac, j->o.test_frac);
    else if (j->fracs == FRACS_UNRECORDED)
        printf("by content hash for new images (validation %.3g, test %.3g); %s records no split fractions (%s): its "
               "stored images keep their splits\n", j->o.val_frac, j->o.test_frac, j->o.store, unrecorded_fracs_why(j));
    else
        printf("by content hash (validation %.3g, test %.3g)\n", j->o.val_frac, j->o.test_frac);
    if (!s->split_dirs) note_split_like(s);
    char shape[64];
    if (p->feat_rank == 2) /* as `layers` shows a vector: Keras's (N, C) */
        snprintf(shape, sizeof shape, "(%d), a vector", p->feat_c);
    else
        snprintf(shape, sizeof shape, "%dx%dx%d", p->feat_h, p->feat_w, p->feat_c);
    printf("backbone: %s (%s), layer %s, input %dx%d -> %s; preprocessing %s (%s); "
           "resize %s; codec %s level %d\n",
           p->arch, p->model_path, p->layer, p->in_h, p->in_w, shape, p->preprocess, j->pre_source, p->resize,
           fc_codec_name(p->codec.kind), p->codec.level);
    if (j->o.shard_n > 1) printf("shard %d of %d\n", j->o.shard_i, j->o.shard_n);
    fflush(stdout);
}

/* fc_pl_ops adapters: ctx is the job. */
static int op_forward(void *ctx, const float *in, int n, float *out, fc_status *st) {
    return fc_plan_forward(((job *)ctx)->plan, in, n, out, st);
}
static int op_write(void *ctx, const fc_pl_batch *b, fc_status *st) {
    return fc_sink_write(&((job *)ctx)->sink, b, st);
}
static int op_path_sha(void *ctx, const fc_scan_entry *e, char sha256[65]) {
    return fc_sink_path_sha(&((job *)ctx)->sink, e, sha256);
}
static int op_is_stored(void *ctx, const char *sha256) {
    return fc_sink_is_stored(&((job *)ctx)->sink, sha256);
}
static int op_label_differs(void *ctx, const char *sha256, const fc_scan_entry *e, int split) {
    return fc_sink_label_differs(&((job *)ctx)->sink, sha256, e, split);
}

static int run_pipeline(job *j, fc_status *st) {
    const options *o = &j->o;
    j->shas = calloc(j->scan.n_files, sizeof *j->shas);
    if (!j->shas) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    j->progress = fc_progress_create("extract", "img", (int64_t)j->scan.n_files, o->quiet);
    j->sink.progress = j->progress;
    fc_pl_config cfg = {
        .scan = &j->scan, .batch = (int)o->batch, .in_h = j->g->in_h, .in_w = j->g->in_w,
        .out_elems = fc_graph_out_elems(j->g), .max_pixels = (size_t)o->max_pixels,
        .val_frac = o->val_frac, .test_frac = o->test_frac,
        .shard_i = o->shard_i, .shard_n = o->shard_n, .progress = j->progress,
        .stop = &fc_stop_requested, .shas = j->shas,
    };
    fc_preprocess_parse(j->prov.preprocess, &cfg.preprocess);
    cfg.resize = o->resize;
    fc_pl_ops ops = {j, op_forward, op_write, op_path_sha, op_is_stored, op_label_differs};
    struct sigaction old[FC_STOP_NSIG];
    fc_stop_catch(old);
    int rc = fc_pl_run(&cfg, &ops, &j->stats, st);
    fc_stop_restore(old);
    fc_progress_finish(j->progress);
    return rc;
}

/* The folder a split folder's parent would be: "/a/b" for "/a/b/train" (any split name,
 * any case), else NULL. out: PATH_MAX bytes. */
static const char *split_parent(const char *dir, char *out) {
    const char *slash = dir ? strrchr(dir, '/') : NULL;
    if (!slash || slash == dir || fc_scan_split_of_name(slash + 1) < 0) return NULL;
    snprintf(out, PATH_MAX, "%.*s", (int)(slash - dir), dir);
    return out;
}

/* A store holds the images of one folder. Another folder's images would be added with
 * hash splits (mixed into the store's), and every stored image would be reported as gone
 * from it, with --prune offered to delete them. So a store that holds images takes only
 * the folder it records (fc_store_get_image_dir), or a folder where some of its files sit
 * at their stored paths with their stored content: the folder moved, renamed or copied,
 * or a store from before the record. Anything else is refused before anything is
 * written. Colliding relative paths (x/0.png in two folders) are another folder too. */
static int check_folder(job *j, fc_status *st) {
    char *rec = j->rec_dir, parent[PATH_MAX], a[PATH_MAX], b[PATH_MAX], c[PATH_MAX];
    if (!realpath(j->o.dir, j->real_dir))
        return fc_fail(st, FC_ERR_IO, "%s: %s", j->o.dir, strerror(errno));
    int have = fc_store_get_image_dir(j->store, rec, sizeof j->rec_dir, st);
    if (have < 0) return -have;
    struct stat sb;
    int rec_there = have && stat(rec, &sb) == 0;
    size_t n_ok = 0;
    for (size_t i = 0; i < j->sink.n_imgs; i++) n_ok += j->sink.imgs[i].status == FC_IMG_OK;
    j->dir_state = have && !strcmp(rec, j->real_dir) ? DIR_SAME : n_ok == 0 ? DIR_NEW
                   : !have ? DIR_LEGACY : rec_there ? DIR_COPY : DIR_MOVED;
    size_t overlap = 0;
    if (j->dir_state == DIR_SAME || j->dir_state == DIR_NEW || fc_sink_shares_files(&j->sink, 32, &overlap))
        return FC_OK;
    char what[PATH_MAX * 3 + 256], todo[PATH_MAX + 256] = "";
    const char *dir = fc_printable(j->o.dir, c, sizeof c);
    if (have)
        snprintf(what, sizeof what, "%s was made from %s%s; %s (%s) is another folder", j->o.store,
                 fc_printable(rec, a, sizeof a), rec_there ? "" : " (no longer there)", dir,
                 fc_printable(j->real_dir, b, sizeof b));
    else
        snprintf(what, sizeof what, "%s holds the images of another folder than %s (%s)", j->o.store, dir,
                 fc_printable(j->real_dir, b, sizeof b));
    const char *par = j->scan.split_dirs ? j->real_dir : split_parent(j->real_dir, parent);
    if (!par && rec_there) par = split_parent(rec, parent);
    char keep[PATH_MAX + 256] = "";
    if (par)
        snprintf(todo, sizeof todo, "To use train/ and validation/ (and test/) as the splits, extract the folder "
                 "that holds them, %s, into a new store", fc_printable(par, a, sizeof a));
    if (par != j->real_dir)
        snprintf(keep, sizeof keep, "%s %s's images apart, extract it into a store of its own (featcache "
                 "merge joins stores)", par ? "; to keep" : "To keep", dir);
    return fc_fail(st, FC_ERR_MISMATCH,
                   "%s: none of the store's %zu image(s) is there at its stored path%s. Nothing written: its "
                   "images would get splits drawn by content hash, mixed into the store's. %s%s",
                   what, n_ok, overlap ? " (the same paths hold other images)" : "", todo, keep);
}

/* A split folder (train/, Validation/, ...) whose parent holds another split folder: the
 * layout seed 001 extracted one folder at a time, so a store without a record may hold
 * both; its images found here are no sign that the others are this folder's. The other
 * split's name is written to other (PATH_MAX bytes). */
static int split_sibling(const char *dir, char *other) {
    char parent[PATH_MAX];
    const char *name = strrchr(dir, '/');
    if (!split_parent(dir, parent)) return 0;
    int mine = fc_scan_split_of_name(name + 1), found = 0;
    DIR *d = opendir(parent);
    struct dirent *e;
    while (d && !found && (e = readdir(d))) {
        int sp = fc_scan_split_of_name(e->d_name);
        struct stat sb;
        char path[PATH_MAX * 2];
        snprintf(path, sizeof path, "%s/%s", parent, e->d_name);
        if (sp >= 0 && sp != mine && stat(path, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            snprintf(other, PATH_MAX, "%s", path);
            found = 1;
        }
    }
    if (d) closedir(d);
    return found;
}

/* What made a store that records no folder, for messages. */
static const char *unrecorded_why(job *j) {
    char origin[32];
    fc_status ign = {0};
    if (fc_store_get_origin(j->store, origin, sizeof origin, &ign) == 1) {
        if (!strcmp(origin, "merge"))
            return "it was made by `featcache merge` of stores that do not all record the same folder";
        if (!strcmp(origin, "import"))
            return "it was made by `featcache import`, and exports do not carry the folder";
    }
    return "made before featcache kept it";
}

/* --prune was asked for and stored images are gone, but they are not pruned: said on
 * stderr with why and what to do; extract then exits 1 (after its other work, which is
 * committed), so a script does not take the pruning as done. */
static void prune_not_applied(job *j, size_t n, const char *why, const char *todo) {
    char a[PATH_MAX];
    fprintf(stderr, "extract: warning: --prune not applied: %zu stored image(s) are not in %s, %s. %s\n", n,
            fc_printable(j->o.dir, a, sizeof a), why, todo);
    j->prune_skipped = 1;
}

/* After a run from a folder that holds some of the store's files but is not the one it
 * records: record it when the run found every stored image there (or the recorded folder
 * is gone: moved). A store that records no folder (made by merge, import, or before the
 * record) also takes the folder when more than half of its images (with features) were
 * found at their stored paths with their stored content, unless the folder is a split
 * folder with a sibling split (seed 001's train/ and validation/ may both be in it).
 * Otherwise the images not found may be another folder's (a store mixing two, or a copy
 * of part of the folder): said, and --prune is not applied. */
static int settle_folder(job *j, size_t n_gone, int *unsure, fc_status *st) {
    char a[PATH_MAX], b[PATH_MAX], c[PATH_MAX], sib[PATH_MAX];
    int state = j->dir_state;
    *unsure = 0;
    if (state == DIR_SAME || state == DIR_NEW) return FC_OK;
    if (state == DIR_LEGACY && (n_gone > 0 || j->o.shard_n > 1)) {
        size_t total = 0, found = fc_sink_found_in_place(&j->sink, j->shas, j->scan.n_files);
        for (size_t i = 0; i < j->sink.n_imgs; i++) total += j->sink.imgs[i].status == FC_IMG_OK;
        int split = split_sibling(j->real_dir, sib);
        if (2 * found > total && !split) {
            fprintf(stderr, "extract: note: %s records no image folder (%s); %zu of its %zu images are in %s at "
                    "their stored paths: the store now records this folder\n", j->o.store, unrecorded_why(j), found,
                    total, fc_printable(j->real_dir, c, sizeof c));
            return fc_store_set_image_dir(j->store, j->real_dir, st);
        }
        *unsure = n_gone > 0;
        if (!n_gone) return FC_OK;
        char why[PATH_MAX * 2 + 512];
        int w = snprintf(why, sizeof why, "and %s does not record the folder it was made from (%s); ", j->o.store,
                         unrecorded_why(j));
        if (split)
            snprintf(why + w, sizeof why - w, "%s is a split folder next to %s, whose images it may also hold",
                     fc_printable(j->real_dir, c, sizeof c), fc_printable(sib, b, sizeof b));
        else
            snprintf(why + w, sizeof why - w, "only %zu of its %zu images are there at their stored paths (more than "
                     "half must be to take it for the store's folder)", found, total);
        const char *todo = "They may be another folder's images. To have this folder's images alone, extract it "
                           "into a new store";
        if (j->o.prune) prune_not_applied(j, n_gone, why, todo);
        else printf("%zu stored image(s) are not in %s, %s: --prune is not offered. %s\n", n_gone,
                    fc_printable(j->o.dir, a, sizeof a), why, todo);
        return FC_OK;
    }
    if (state != DIR_MOVED && (n_gone > 0 || j->o.shard_n > 1)) {
        *unsure = n_gone > 0;
        if (!n_gone) return FC_OK;
        char why[PATH_MAX + 256], todo[PATH_MAX * 2 + 128];
        snprintf(why, sizeof why, "and %s was made from %s, which is still there: this is a copy", j->o.store,
                 fc_printable(j->rec_dir, b, sizeof b));
        snprintf(todo, sizeof todo, "`featcache extract %s -o %s --prune` removes the images gone from there", b,
                 j->o.store);
        if (j->o.prune) prune_not_applied(j, n_gone, why, todo);
        else printf("%zu stored image(s) are not in %s; %s was made from %s, which is still there: --prune is "
                    "not offered for a copy (%s)\n", n_gone, fc_printable(j->o.dir, a, sizeof a), j->o.store, b, todo);
        return FC_OK;
    }
    if (state != DIR_LEGACY)
        fprintf(stderr, "extract: note: %s was made from %s; %s holds its files (%s): the store now records "
                "this folder\n", j->o.store, fc_printable(j->rec_dir, b, sizeof b),
                fc_printable(j->real_dir, c, sizeof c), state == DIR_MOVED ? "moved" : "a copy");
    return fc_store_set_image_dir(j->store, j->real_dir, st);
}

/* Stored images whose file is gone: reported, removed with --prune. */
static int check_removed(job *j, fc_status *st) {
    size_t *idx = NULL, n = 0;
    int unsure = 0;
    int rc = fc_sink_removed(&j->sink, j->shas, j->scan.n_files, j->o.shard_i, j->o.shard_n, &idx,
                             &n, st);
    if (!rc) rc = settle_folder(j, n, &unsure, st);
    if (rc || n == 0 || unsure) goto out;
    char why[256];
    if (!j->o.prune) {
        printf("%zu stored image(s) are no longer in %s; --prune removes them\n", n, j->o.dir);
    } else if (j->stats.skipped == 0) {
        /* nothing of IMAGE_DIR was stored before: most likely another folder than the one
         * the store was made from; pruning would delete every feature it held */
        prune_not_applied(j, n, "and none of its images was stored before (another folder?)",
                          "To keep this folder's images alone, extract it into a new store");
    } else if (j->stats.unreadable > 0) {
        snprintf(why, sizeof why, "because %lld file(s) could not be read", (long long)j->stats.unreadable);
        prune_not_applied(j, n, why, "Make them readable (or remove them) and run again");
    } else if (!(rc = fc_sink_prune(&j->sink, idx, n, st))) {
        printf("pruned %zu stored image(s) that are no longer in %s\n", n, j->o.dir);
    }
out:
    free(idx);
    return rc;
}

static void print_summary(job *j) {
    const fc_pl_stats *s = &j->stats;
    double rate = s->seconds > 0 ? (double)s->stored / s->seconds : 0;
    /* the parentheses only where they say something (review 12 B F13): what skipped means
     * when some were, a rate when something ran */
    printf("stored %lld, skipped %lld", (long long)s->stored, (long long)s->skipped);
    if (s->skipped) printf(" (already stored; %lld unchanged, not re-read)", (long long)s->fast_path);
    printf(", failed %lld", (long long)(s->failed + s->unreadable));
    if (s->duplicates) printf(", duplicates %lld", (long long)s->duplicates);
    if (s->cross_dups) printf(" (%lld under another class or split: see the warnings)", (long long)s->cross_dups);
    if (s->other_shard) printf(", other shards %lld", (long long)s->other_shard);
    if (s->stored) printf(" in %.1f s (%.1f img/s, backbone %.1f s)", s->seconds, rate, s->forward_seconds);
    else printf(" in %.1f s", s->seconds);
    fc_store_stats ss;
    fc_status st = {0};
    /* measure the file as `info` (and anyone after this run) sees it: without the WAL's
     * copies of pages that a checkpoint writes into it */
    fc_store_checkpoint(j->store, &st);
    fc_status_clear(&st);
    if (fc_store_stats_get(j->store, &ss, &st) == FC_OK && ss.images_ok > 0) {
        double per = (double)ss.feature_bytes / (double)ss.images_ok;
        double file = (double)ss.file_bytes / (double)ss.images_ok;
        double raw = 4.0 * (double)fc_graph_out_elems(j->g);
        double ratio = per > 0 ? raw / per : 0; /* below 1 for a few values with per-blob overhead */
        printf("; store %lld images, features %.0f B/image (%.1fx %s than float32), file %.0f B/image",
               (long long)ss.images_ok, per, ratio >= 1 || ratio == 0 ? ratio : 1 / ratio,
               ratio >= 1 || ratio == 0 ? "smaller" : "larger", file);
    }
    printf("\n");
    fflush(stdout);
}

/* The augmentation this run keeps complete: --augment K (checked against what the store
 * holds: another spec or seed is refused before anything is written), or the store's. */
static int setup_augment(job *j, fc_status *st) {
    const options *o = &j->o;
    fc_views_config have;
    int rc = fc_views_get_config(j->store, &have, st);
    if (rc) return rc;
    if (!o->augment && !have.views) return FC_OK;
    const char *text = o->augment_spec ? o->augment_spec : have.views ? have.spec : FC_AUG_DEFAULT_SPEC;
    if (fc_aug_parse(text, &j->aug_spec, st)) {
        if (o->augment_spec) return fc_wrap(st, "%s: augmentation", j->o.store);
        /* the store's record (--augment-spec was checked as a usage error): a damaged store */
        fc_wrap(st, "%s: the augmentation spec the store records does not parse (the store is damaged)", j->o.store);
        return st->code = FC_ERR_FORMAT;
    }
    fc_views_config want = {0};
    fc_aug_format(&j->aug_spec, want.spec, sizeof want.spec);
    want.seed = o->augment_seed_given || !have.views ? (uint64_t)o->augment_seed : have.seed;
    want.views = (int)(o->augment > have.views ? o->augment : have.views);
    fc_aug_spec hs;
    fc_status ign = {0};
    int same = have.views && fc_aug_parse(have.spec, &hs, &ign) == FC_OK && fc_aug_spec_equal(&hs, &j->aug_spec);
    if (same) snprintf(want.spec, sizeof want.spec, "%s", have.spec); /* the stored text stays as it is */
    if (have.views && (!same || have.seed != want.seed))
        return fc_fail(st, FC_ERR_MISMATCH,
                       "%s: the store's augmented views were made with '%s' (seed %llu); this run asks for "
                       "'%s' (seed %llu): one augmentation per store (extract into a new store to try another)",
                       o->store, have.spec, (unsigned long long)have.seed, want.spec,
                       (unsigned long long)want.seed);
    j->aug = want;
    return FC_OK;
}

static int run_augment(job *j, fc_status *st) {
    const options *o = &j->o;
    fc_augpass a = {
        .store = j->store, .plan = j->plan, .scan = &j->scan, .shas = j->shas, .batch = (int)o->batch,
        .in_h = j->g->in_h, .in_w = j->g->in_w, .out_elems = fc_graph_out_elems(j->g),
        .max_pixels = (size_t)o->max_pixels, .resize = o->resize, .spec = j->aug_spec, .cfg = j->aug,
        .quiet = o->quiet, .stop = &fc_stop_requested,
    };
    fc_preprocess_parse(j->prov.preprocess, &a.preprocess);
    fc_augpass_stats s;
    struct sigaction old[FC_STOP_NSIG];
    fc_stop_catch(old);
    int rc = fc_augment_pass(&a, &s, st);
    fc_stop_restore(old);
    printf("augment: %d view%s of each of %zu training image%s (%s; seed %llu): stored %lld in %.1f s "
           "(backbone %.1f s)", j->aug.views, j->aug.views == 1 ? "" : "s", s.images, s.images == 1 ? "" : "s",
           j->aug.spec, (unsigned long long)j->aug.seed,
           (long long)s.views, s.seconds, s.forward_seconds);
    if (s.changed) printf(", %lld file(s) changed since stored: skipped", (long long)s.changed);
    if (s.failed) printf(", %lld unreadable: skipped", (long long)s.failed);
    printf("\n");
    fflush(stdout);
    return rc;
}

/* Hash splits: a new store records the fractions it is split with (a folder with split
 * folders uses none, and records none). A store that records them splits new images with
 * them too, so an image's split never depends on the run that added it: the options may be
 * left out, and other values are refused (exit 2) before anything is written. A store
 * without a record splits its new images with this run's fractions, as before. */
static int setup_fracs(job *j, fc_status *st) {
    options *o = &j->o;
    const fc_provenance *have = fc_store_provenance(j->store);
    j->prov.has_fracs = !j->scan.split_dirs;
    j->prov.val_frac = o->val_frac, j->prov.test_frac = o->test_frac;
    j->fracs = !have ? FRACS_NEW : have->has_fracs ? FRACS_STORE : FRACS_UNRECORDED;
    char tv[40], tt[40], hv[40], ht[40];
    fc_format_frac(o->val_frac, tv, sizeof tv), fc_format_frac(o->test_frac, tt, sizeof tt);
    if (o->sum_deferred && (j->fracs != FRACS_STORE || j->scan.split_dirs))
        return fc_fail(st, FC_ERR_ARG, "--test-frac %s with the default --val-frac 0.2 exceeds 1 (lower --test-frac, "
                       "or pass --val-frac, e.g. --val-frac 0 for no validation split)", tt);
    if (j->fracs != FRACS_STORE || j->scan.split_dirs) return FC_OK;
    fc_format_frac(have->val_frac, hv, sizeof hv), fc_format_frac(have->test_frac, ht, sizeof ht);
    int vbad = o->val_given && o->val_frac != have->val_frac, tbad = o->test_given && o->test_frac != have->test_frac;
    if (vbad || tbad) {
        char asked[96];
        if (vbad && tbad) snprintf(asked, sizeof asked, "--val-frac %s --test-frac %s", tv, tt);
        else snprintf(asked, sizeof asked, "%s %s", vbad ? "--val-frac" : "--test-frac", vbad ? tv : tt);
        return fc_fail(st, FC_ERR_ARG, "%s records the split fractions --val-frac %s --test-frac %s (set when it was "
                       "created: its images were split with them); this run asks for %s. Nothing written: leave the "
                       "option out to split new images as the store's, or extract into a new store to split otherwise",
                       o->store, hv, ht, asked);
    }
    o->val_frac = have->val_frac, o->test_frac = have->test_frac;
    return FC_OK;
}

/* 0 ok, 1 runtime error; returns through st. */
static int extract(job *j, int argc, char **argv, fc_status *st) {
    int rc = scan_folder(j, st);
    if (!rc) rc = setup_model(j, st);
    if (rc) return rc;
    fill_provenance(&j->prov, &j->o, j->g, j->o.preprocess, argc, argv);
    if ((rc = fc_store_open(j->o.store, FC_STORE_CREATE | FC_STORE_EXCLUSIVE, &j->store, st)))
        return rc;
    /* An existing store keeps its codec unless --codec asks for another (then refused:
     * one codec per store) and always keeps its zstd level: the store encodes with the
     * level in its provenance, so the banner prints that one and a differing --level is
     * named as not applied. */
    const fc_provenance *have = fc_store_provenance(j->store);
    if (have && !j->o.codec_given) j->prov.codec.kind = have->codec.kind;
    if (have && j->o.level_given && have->codec.level != j->prov.codec.level)
        fprintf(stderr, "extract: note: %s keeps its zstd level %d (set when it was created); "
                "--level %d applies only to a new store\n",
                j->o.store, have->codec.level, j->prov.codec.level);
    if (have) j->prov.codec.level = have->codec.level;
    /* one codec per store: say so, not "a different backbone setup" (review 12 B F14) */
    if (have && have->codec.kind != j->prov.codec.kind && !fc_provenance_diff_besides_codec(have, &j->prov))
        return fc_fail(st, FC_ERR_MISMATCH, "%s holds its features as %s (one codec per store, set when it was created); "
                       "this run asks for --codec %s. Nothing written: leave --codec out to add to it as %s, or "
                       "re-encode a copy with 'featcache merge -o NEW.db --codec %s %s'", j->o.store,
                       fc_codec_name(have->codec.kind), fc_codec_name(j->prov.codec.kind),
                       fc_codec_name(have->codec.kind), fc_codec_name(j->prov.codec.kind), j->o.store);
    if ((rc = setup_fracs(j, st))) return rc;
    if ((rc = fc_sink_open(&j->sink, j->store, &j->scan, &j->prov, st))) return rc;
    j->sink_open = 1;
    if ((rc = check_folder(j, st)) || (rc = setup_augment(j, st))) return rc;
    if (j->dir_state == DIR_NEW && (rc = fc_sink_record_folder(&j->sink, j->real_dir, st))) return rc;
    print_header(j);
    rc = run_pipeline(j, st);
    if (rc == FC_ERR_INTERRUPTED) {
        print_summary(j);
        return rc;
    }
    if (rc) return rc;
    if ((rc = check_removed(j, st))) return rc;
    int vector = 0;
    if ((rc = fc_sink_learn_rank(&j->sink, &vector, st))) return rc;
    if (vector)
        printf("%s now records that its features are vectors (layer %s gives (N, %d) in Keras): heads trained "
               "from it start with their Dense layer, and --pool gap|gmp do not apply\n", j->o.store, j->prov.layer,
               j->prov.feat_c);
    if (j->sink.relabeled)
        printf("%lld stored image(s) relabelled: class/split now from the folder names (features reused, the "
               "backbone not run%s)\n", (long long)j->sink.relabeled,
               j->sink.relabeled > FC_SINK_RELABEL_LINES ? "; the first 20 are named above" : "");
    print_summary(j);
    const fc_pl_stats *s = &j->stats;
    int64_t bad = s->failed + s->unreadable;
    if (s->stored + s->skipped == 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: no image could be stored (%lld failed)", j->o.dir,
                       (long long)bad);
    if (j->aug.views && (rc = run_augment(j, st))) return rc;
    if (j->o.strict && bad > 0)
        return fc_fail(st, FC_ERR_FORMAT, "%lld image(s) failed (--strict)", (long long)bad);
    if (j->prune_skipped)
        return fc_fail(st, FC_ERR_MISMATCH, "--prune was not applied (see the warning above); everything else "
                       "this run did is stored");
    return FC_OK;
}

int cmd_extract(int argc, char **argv) {
    fc_args a;
    int r = fc_args_parse(&spec, argc, argv, &a);
    if (r != FC_ARGS_OK) {
        fc_args_free(&a);
        return r == FC_ARGS_HELP ? 0 : 2;
    }
    job j = {0};
    r = parse_options(&a, &j.o);
    if (r != FC_ARGS_OK) {
        fc_args_free(&a);
        return 2;
    }
    fc_status st = {0};
    int rc = extract(&j, argc, argv, &st);
    int code = rc ? fc_report("extract", &st) : 0;
    if (rc == FC_ERR_IO && j.stats.stored > 0) /* e.g. the disk filled up part way */
        fprintf(stderr, "featcache extract: the %lld image(s) stored before the error are kept in %s; the same "
                "command goes on from there\n", (long long)j.stats.stored, j.o.store);
    job_free(&j, rc != FC_OK);
    fc_args_free(&a);
    return code;
}
