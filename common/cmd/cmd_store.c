/* cmd_store.c - `featcache info`, `verify` and `runs`: look into a feature store. */
#define _GNU_SOURCE
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "../dataset.h"
#include "../store.h"
#include "../store_views.h"
#include "../h5feat.h"
#include "commands.h"
#include "opts.h"
#include "settings.h"
#include "../../train/head_h5.h"

static void fmt_time(int64_t t, char *out, size_t cap) {
    time_t tt = (time_t)t;
    struct tm tm;
    if (t <= 0 || !gmtime_r(&tt, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S UTC", &tm))
        snprintf(out, cap, "-");
}

/* A provenance comes from a store or export anyone may have written (only some fields are
 * in its fingerprint): every string is printed with its control bytes escaped, as class
 * names and paths are, so that it cannot retitle or clear the terminal or fake a line. */
#define ESC(field) fc_printable(p->field, e_##field, sizeof e_##field)
static void print_provenance(const fc_provenance *p, int is_export) {
    char made[64], upd[64];
    char e_fingerprint[4 * sizeof p->fingerprint], e_model_sha256[4 * sizeof p->model_sha256],
        e_arch[4 * sizeof p->arch], e_model_path[4 * sizeof p->model_path], e_layer[4 * sizeof p->layer],
        e_resize[4 * sizeof p->resize], e_preprocess[4 * sizeof p->preprocess], e_numerics[4 * sizeof p->numerics],
        e_version[4 * sizeof p->version], e_host[4 * sizeof p->host], e_user[4 * sizeof p->user],
        e_command[4 * sizeof p->command];
    fmt_time(p->created, made, sizeof made);
    fmt_time(p->updated, upd, sizeof upd);
    printf("fingerprint  %s\n", ESC(fingerprint));
    printf("model        %s%s%s (weights sha256 %.16s...)\n", p->arch[0] ? ESC(arch) : "?",
           p->model_path[0] ? " " : "", ESC(model_path), ESC(model_sha256));
    if (p->model_abspath[0] && strcmp(p->model_abspath, p->model_path)) {
        char e[4 * sizeof p->model_abspath];
        printf("model file   %s (absolute, when extract ran)\n", fc_printable(p->model_abspath, e, sizeof e));
    }
    printf("layer        %s -> features %dx%dx%d (%lld values)", ESC(layer), p->feat_h, p->feat_w,
           p->feat_c, (long long)p->feat_h * p->feat_w * p->feat_c);
    if (p->feat_rank == 2) printf(", a vector: the layer's Keras output is (N, %d)", p->feat_c);
    putchar('\n');
    printf("input        %dx%d, resize %s, preprocess %s, numerics %s\n", p->in_h, p->in_w,
           ESC(resize), ESC(preprocess), ESC(numerics));
    /* an export's own /features are float32 or float16 HDF5: the codec is its source store's
     * (review 12 B F13), which import takes by default */
    printf("%s%s, layout %s, zstd level %d%s\n", is_export ? "store codec  " : "codec        ",
           fc_codec_name(p->codec.kind), fc_layout_name(p->codec.layout), p->codec.level,
           is_export ? " (of the store it was exported from; import's default)" : "");
    if (p->has_fracs) {
        char v[40], t[40];
        fc_format_frac(p->val_frac, v, sizeof v), fc_format_frac(p->test_frac, t, sizeof t);
        printf("hash splits  validation %s, test %s (recorded: extract splits new images alike)\n", v, t);
    }
    printf("made         %s by %s@%s with featcache %s\n", made, p->user[0] ? ESC(user) : "?",
           p->host[0] ? ESC(host) : "?", p->version[0] ? ESC(version) : "?");
    if (p->command[0]) printf("command      %s\n", ESC(command));
    printf("updated      %s\n", upd);
}
#undef ESC

/* counts[class][split] table; names in label order */
static void print_counts(char **names, int nc, const int64_t *counts) {
    int w = 5;
    char name[512];
    for (int c = 0; c < nc; c++) { /* in display columns (review 12 B F10: CJK names shifted rows) */
        int cw = fc_text_width(fc_printable(names[c], name, sizeof name));
        if (cw > w) w = cw;
    }
    if (w > 40) w = 40;
    printf("  %-*s %10s %10s %10s %10s\n", w, "class", "train", "validation", "test", "total");
    int64_t tot[4] = {0};
    for (int c = 0; c < nc; c++) {
        const int64_t *r = counts + 3 * c;
        fc_printable(names[c], name, sizeof name);
        if (fc_text_width(name) > w) { /* a longer name ends in "..." (cut between UTF-8 characters) */
            size_t k = strlen(name);
            do { /* drop characters from the end until the name and "..." fit */
                do k--; while (k > 0 && ((unsigned char)name[k] & 0xC0) == 0x80);
                name[k] = '\0';
            } while (k > 0 && fc_text_width(name) > w - 3);
            memcpy(name + k, "...", 4);
        }
        fputs("  ", stdout);
        fc_print_padded(name, w, 0);
        printf(" %10lld %10lld %10lld %10lld\n", (long long)r[0],
               (long long)r[1], (long long)r[2], (long long)(r[0] + r[1] + r[2]));
        for (int k = 0; k < 3; k++) tot[k] += r[k];
    }
    printf("  %-*s %10lld %10lld %10lld %10lld\n", w, "all", (long long)tot[0], (long long)tot[1],
           (long long)tot[2], (long long)(tot[0] + tot[1] + tot[2]));
}

static int count_per_class(fc_store *s, char **names, int nc, int64_t *counts, fc_status *st) {
    sqlite3 *db = fc_store_db(s);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT c.name, i.split, count(*) FROM images i JOIN classes c ON "
                           "c.id = i.class_id WHERE i.status = 0 GROUP BY 1, 2", -1, &q, NULL) != SQLITE_OK)
        return fc_fail(st, FC_ERR_FORMAT, "%s: %s", fc_store_path(s), sqlite3_errmsg(db));
    int r;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *name = (const char *)sqlite3_column_text(q, 0);
        int split = sqlite3_column_int(q, 1);
        for (int c = 0; c < nc && name; c++)
            if (strcmp(names[c], name) == 0 && split >= 0 && split < 3)
                counts[3 * c + split] = sqlite3_column_int64(q, 2);
    }
    sqlite3_finalize(q);
    if (r != SQLITE_DONE) return fc_fail(st, FC_ERR_FORMAT, "%s: %s", fc_store_path(s), sqlite3_errmsg(db));
    return FC_OK;
}

static void print_failed(fc_store *s, int64_t n_failed, int max) {
    if (!n_failed) return;
    printf("failed images (%lld%s):\n", (long long)n_failed, n_failed > max ? ", first ones" : "");
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s), "SELECT path, coalesce(error, '?') FROM images WHERE "
                           "status <> 0 ORDER BY path LIMIT ?1", -1, &q, NULL) != SQLITE_OK)
        return;
    sqlite3_bind_int(q, 1, max);
    while (sqlite3_step(q) == SQLITE_ROW)
    {
        fputs("  ", stdout); /* paths and errors from the folder: control bytes escaped */
        const char *rel = (const char *)sqlite3_column_text(q, 0), *err = (const char *)sqlite3_column_text(q, 1);
        fc_fputs_printable(rel, stdout);
        fputs(": ", stdout);
        /* the error as extract printed it names the file too ("IMAGE_DIR/a/x.png: not a PNG,
         * JPEG ... image"): shown once (review 12 B F13) */
        const char *at = rel && err ? strstr(err, rel) : NULL;
        size_t rl = rel ? strlen(rel) : 0;
        if (at && (at == err || at[-1] == '/') && at[rl] == ':' && at[rl + 1] == ' ') err = at + rl + 2;
        fc_fputs_printable(err, stdout);
        fputc('\n', stdout);
    }
    sqlite3_finalize(q);
}

static void print_sizes(const fc_provenance *p, const fc_store_stats *ss) {
    char a[32], b[32];
    fc_fmt_bytes((double)ss->feature_bytes, a, sizeof a);
    fc_fmt_bytes((double)ss->file_bytes, b, sizeof b);
    double raw = (double)p->feat_h * p->feat_w * p->feat_c * 4.0;
    if (ss->images_ok > 0) {
        double per = (double)ss->feature_bytes / (double)ss->images_ok;
        double disk = (double)ss->file_bytes / (double)ss->images_ok;
        printf("size         features %s = %.0f B/image = %.3f of raw float32 (%.1fx %s)\n", a, per, per / raw,
               per <= raw ? raw / per : per / raw, per <= raw ? "smaller" : "larger");
        printf("             file %s = %.0f B/image = %.3f of raw float32 (raw %.0f B/image)\n", b,
               disk, disk / raw, raw);
    } else {
        printf("size         file %s, no features yet\n", b);
    }
}

/* extract --augment: K views per training image, how many are stored, their size. */
static int print_views(fc_store *s, const fc_provenance *p, int64_t n_train, fc_status *st) {
    fc_views_config vc;
    int64_t n = 0, bytes = 0;
    int rc = fc_views_get_config(s, &vc, st);
    if (rc || !vc.views || (rc = fc_views_stats(s, &n, &bytes, st))) return rc;
    char spec[4 * sizeof vc.spec];
    printf("augmented    %d views per training image (%s; seed %llu): %lld stored of %lld", vc.views,
           fc_printable(vc.spec, spec, sizeof spec), (unsigned long long)vc.seed, (long long)n,
           (long long)(n_train * vc.views));
    if (n && p) {
        char b[32];
        fc_fmt_bytes((double)bytes, b, sizeof b);
        printf(", %s, %.0f B/view", b, (double)bytes / (double)n);
    }
    printf("%s\n", n < n_train * vc.views ? " (extract on the folder again completes them)" : "");
    return FC_OK;
}

static int info_store(const char *path, int max_failed, fc_status *st) {
    fc_store *s = NULL;
    char **names = NULL;
    int nc = 0, rc;
    int64_t *counts = NULL, nruns = 0;
    fc_store_stats ss;
    if ((rc = fc_store_open(path, FC_STORE_READ, &s, st))) return rc;
    const fc_provenance *p = fc_store_provenance(s);
    /* every count below from one snapshot, while an extract may be adding images */
    int in_tx = sqlite3_exec(fc_store_db(s), "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
    if ((rc = fc_store_stats_get(s, &ss, st))) goto out;
    fc_test_hook("FC_TEST_HOOK_INFO_AFTER_STATS"); /* tests: the store changes while info reads it */
    if ((rc = fc_store_classes(s, &names, &nc, st))) goto out;
    if (!(counts = fc_calloc((size_t)nc + 1, 3 * sizeof *counts, st))) {
        rc = FC_ERR_NOMEM;
        goto out;
    }
    if ((rc = count_per_class(s, names, nc, counts, st))) goto out;
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(fc_store_db(s), "SELECT count(*) FROM runs", -1, &q, NULL) == SQLITE_OK &&
        sqlite3_step(q) == SQLITE_ROW)
        nruns = sqlite3_column_int64(q, 0);
    sqlite3_finalize(q);
    printf("store        %s (featcache store, format %d)\n", path, FC_STORE_FORMAT_VERSION);
    if (p) print_provenance(p, 0);
    else printf("provenance   none (nothing extracted yet)\n");
    char dir[PATH_MAX], pr[PATH_MAX];
    fc_status ign = {0};
    if (fc_store_get_image_dir(s, dir, sizeof dir, &ign) == 1)
        printf("images from  %s\n", fc_printable(dir, pr, sizeof pr));
    printf("images       %lld with features, %lld failed, %d class%s\n", (long long)ss.images_ok,
           (long long)ss.images_failed, nc, nc == 1 ? "" : "es");
    if (nc) print_counts(names, nc, counts);
    if (p) print_sizes(p, &ss);
    if ((rc = print_views(s, p, ss.per_split[FC_SPLIT_TRAIN], st))) goto out;
    printf("runs         %lld recorded%s\n", (long long)nruns, nruns ? " (featcache runs STORE)" : "");
    print_failed(s, ss.images_failed, max_failed);
out:
    if (in_tx) sqlite3_exec(fc_store_db(s), "COMMIT", NULL, NULL, NULL);
    free(counts);
    fc_strlist_free(names, nc);
    fc_store_close(s);
    return rc;
}

/* ---- HDF5 exports (when featcache is built with export support: h5feat.c) ---- */

#pragma weak fc_h5feat_load

static int info_h5(const char *path, fc_status *st) {
    if (!fc_h5feat_load)
        return fc_fail(st, FC_ERR_UNSUPPORTED,
                       "%s: HDF5 feature files need featcache built with export support", path);
    fc_dataset ds[3];
    memset(ds, 0, sizeof ds);
    int rc = FC_OK;
    for (int k = 0; k < 3 && !rc; k++) rc = fc_h5feat_load(path, k, &ds[k], st);
    if (!rc) {
        int nc = ds[0].n_classes;
        int64_t *counts = calloc((size_t)nc + 1, 3 * sizeof *counts);
        if (!counts) {
            rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
        } else {
            for (int k = 0; k < 3; k++)
                for (size_t i = 0; i < ds[k].n; i++)
                    if (ds[k].y[i] >= 0 && ds[k].y[i] < nc) counts[3 * ds[k].y[i] + k]++;
            printf("store        %s (HDF5 export)\n", path);
            print_provenance(&ds[0].prov, 1);
            size_t total = ds[0].n + ds[1].n + ds[2].n;
            printf("images       %zu, %d class%s\n", total, nc, nc == 1 ? "" : "es");
            print_counts(ds[0].class_names, nc, counts);
            struct stat sb;
            double raw = (double)ds[0].dim * 4;
            if (total && stat(path, &sb) == 0) {
                char b[32];
                fc_fmt_bytes((double)sb.st_size, b, sizeof b);
                printf("size         file %s = %.0f B/image = %.3f of raw float32 (raw %.0f B/image)\n", b,
                       (double)sb.st_size / (double)total, (double)sb.st_size / (double)total / raw, raw);
            }
            free(counts);
        }
    }
    fc_h5feat *f = NULL;
    if (!rc && !(rc = fc_h5feat_open(path, &f, st))) { /* its augmented views, if any */
        char spec[512], e_spec[4 * sizeof spec];
        uint64_t seed = 0;
        int k = 0;
        size_t m = fc_h5feat_views(f, spec, sizeof spec, &seed, &k);
        if (m) printf("augmented    %zu views, %d per training image (%s; seed %llu): /views\n", m, k,
                      fc_printable(spec, e_spec, sizeof e_spec), (unsigned long long)seed);
        fc_h5feat_close(f);
    }
    for (int k = 0; k < 3; k++) fc_dataset_free(&ds[k]);
    return rc;
}

static const fc_opt info_opts[] = {
    {"failed", 0, "N", "list at most N failed images (default 10)"},
    {0},
};
static const fc_cmd_spec info_spec = {"info", "STORE|EXPORT.h5|HEAD.h5 [--failed N]",
                                      "show a store's or HDF5 export's provenance, counts and size; for a head "
                                      "(HEAD.h5), its layers, classes, training settings and the features it "
                                      "takes",
                                      info_opts, 1, 1};

int cmd_info(int argc, char **argv) {
    fc_args a;
    long maxf;
    int r = fc_args_parse(&info_spec, argc, argv, &a);
    if (r != FC_ARGS_OK || (r = fc_arg_long(&a, "failed", 10, 0, 1000000, &maxf)) != FC_ARGS_OK) {
        fc_args_free(&a);
        return r;
    }
    fc_status st = {0};
    const char *path = a.pos[0];
    int rc, head = 0;
    if (!fc_is_hdf5(path)) rc = info_store(path, (int)maxf, &st);
    else if (!(rc = fc_head_describe(path, &head, &st)) && !head) rc = info_h5(path, &st);
    fc_args_free(&a);
    return rc ? fc_report("info", &st) : 0;
}

/* verify and runs read a store only: an HDF5 file (an export, which records no runs and
 * has no SQLite to check, or a head) is named as such rather than "not an SQLite database". */
static int refuse_hdf5(const char *cmd, const char *path, fc_status *st) {
    return fc_fail(st, FC_ERR_FORMAT, "%s: an HDF5 file (an export or a head), not a store: %s takes a feature "
                   "store (featcache info reads an export or a head; featcache import makes a store of an export)",
                   path, cmd);
}

/* ---- verify ---- */

static void print_problem(void *ctx, const char *msg) {
    printf("  %s\n", msg);
}

static const fc_opt verify_opts[] = {
    {"max", 0, "N", "list at most N problems (default 20)"},
    {0},
};
static const fc_cmd_spec verify_spec = {
    "verify", "STORE [--max N]", "check SQLite integrity, decode every feature blob and check its checksum",
    verify_opts, 1, 1};

int cmd_verify(int argc, char **argv) {
    fc_args a;
    long maxr;
    int r = fc_args_parse(&verify_spec, argc, argv, &a);
    if (r != FC_ARGS_OK || (r = fc_arg_long(&a, "max", 20, 1, 1000000, &maxr)) != FC_ARGS_OK) {
        fc_args_free(&a);
        return r;
    }
    fc_status st = {0};
    fc_store *s = NULL;
    fc_store_stats ss;
    const char *path = a.pos[0];
    int rc = fc_is_hdf5(path) ? refuse_hdf5("verify", path, &st)
                              : fc_store_open(path, FC_STORE_READ | FC_STORE_ANY_FINGERPRINT, &s, &st);
    if (!rc) rc = fc_store_stats_get(s, &ss, &st);
    if (!rc) {
        fflush(stdout);
        rc = fc_store_verify(s, print_problem, NULL, (int)maxr, &st);
        int64_t nv = 0, bad = 0, vbytes = 0;
        if (!rc && !(rc = fc_views_verify(s, print_problem, NULL, &bad, &st)) && bad)
            rc = fc_fail(&st, FC_ERR_FORMAT, "%s: %lld augmented view(s) damaged", path, (long long)bad);
        if (!rc) rc = fc_views_stats(s, &nv, &vbytes, &st);
        if (!rc) {
            printf("%s: ok (%lld images with features decoded and checksummed, %lld failed images "
                   "recorded, ", path, (long long)ss.images_ok, (long long)ss.images_failed);
            if (nv) printf("%lld augmented views decoded and checksummed, ", (long long)nv);
            printf("SQLite integrity ok)\n");
        }
    }
    fc_store_close(s);
    fc_args_free(&a);
    return rc ? fc_report("verify", &st) : 0;
}

/* ---- runs ---- */

static double max_in(json_t *arr) {
    double best = -1;
    size_t i;
    json_t *e;
    json_array_foreach(arr, i, e) if (json_is_number(e) && json_number_value(e) > best) best = json_number_value(e);
    return best;
}

/* Best validation accuracy from the metrics object, else from the history (an object of
 * per-epoch arrays, or an array of per-epoch objects); -1 if absent. */
static double best_val_acc(const char *metrics, const char *history) {
    static const char *keys[] = {"best_val_acc", "best_val_accuracy", "val_acc", "val_accuracy"};
    double best = -1;
    json_t *m = metrics ? json_loads(metrics, 0, NULL) : NULL;
    for (int k = 0; k < 4 && best < 0 && json_is_object(m); k++) {
        json_t *v = json_object_get(m, keys[k]);
        if (json_is_number(v)) best = json_number_value(v);
        else if (json_is_array(v)) best = max_in(v);
    }
    json_decref(m);
    json_t *h = best < 0 && history ? json_loads(history, 0, NULL) : NULL;
    for (int k = 2; k < 4 && json_is_object(h); k++) {
        json_t *v = json_object_get(h, keys[k]);
        if (json_is_array(v) && max_in(v) > best) best = max_in(v);
    }
    size_t i;
    json_t *e;
    if (json_is_array(h))
        json_array_foreach(h, i, e) for (int k = 2; k < 4; k++) {
            json_t *v = json_object_get(e, keys[k]);
            if (json_is_number(v) && json_number_value(v) > best) best = json_number_value(v);
        }
    json_decref(h);
    return best;
}

static json_t *json_or_string(const char *text) {
    if (!text) return json_null();
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    return j ? j : json_string(text);
}

/* The keys of every config object of the runs, each once. */
static int union_keys(json_t *const *cfg, int n, const char ***keys) {
    int nk = 0, cap = 0;
    *keys = NULL;
    for (int r = 0; r < n; r++) {
        const char *k;
        json_t *v;
        if (!json_is_object(cfg[r])) continue;
        json_object_foreach(cfg[r], k, v) {
            int seen = 0;
            for (int i = 0; i < nk && !seen; i++) seen = !strcmp((*keys)[i], k);
            if (seen) continue;
            if (nk == cap) {
                const char **g = realloc(*keys, (size_t)(cap = cap ? 2 * cap : 32) * sizeof *g);
                if (!g) return nk;
                *keys = g;
            }
            (*keys)[nk++] = k;
        }
    }
    return nk;
}

typedef struct {
    long long id;
    char kind[16], when[64];
    double seconds, best;
    json_t *cfg;
} run_row;

/* The table: settings every run shares on one line above it, then per run the settings
 * that differ between runs (all of them when there is one run); both as fc_settings_text
 * shows them, in the order sweep labels and info use. */
static void print_runs_table(run_row *rows, int n) {
    json_t **cfg = malloc((size_t)n * sizeof *cfg);
    const char **keys = NULL;
    int nk = 0, ns = 0, nd = 0;
    if (cfg) {
        for (int r = 0; r < n; r++) cfg[r] = rows[r].cfg;
        nk = union_keys(cfg, n, &keys);
    }
    const char **same = calloc((size_t)nk + 1, sizeof *same), **differ = calloc((size_t)nk + 1, sizeof *differ);
    for (int i = 0; same && differ && i < nk; i++) {
        char first[256] = "", v[256];
        int shared = n > 1;
        for (int r = 0; r < n && shared; r++) {
            json_t *x = json_is_object(rows[r].cfg) ? json_object_get(rows[r].cfg, keys[i]) : NULL;
            if (x) fc_setting_value(x, v, sizeof v);
            if (!x || (r && strcmp(first, v))) shared = 0;
            else if (!r) snprintf(first, sizeof first, "%s", v);
        }
        if (shared) same[ns++] = keys[i];
        else differ[nd++] = keys[i];
    }
    char text[1024];
    if (n > 1 && same && json_is_object(rows[0].cfg)) {
        fc_settings_text(rows[0].cfg, same, ns, text, sizeof text);
        if (text[0]) {
            printf("settings all %d runs share: ", n);
            fc_fputs_printable(text, stdout); /* runs: a store anyone may have written */
            putchar('\n');
        }
    }
    printf("%4s  %-6s  %-23s  %8s  %-9s  %s\n", "id", "kind", "created", "seconds", "best val", "config");
    for (int r = 0; r < n; r++) {
        char bv[16] = "-";
        if (rows[r].best >= 0) snprintf(bv, sizeof bv, "%.4f", rows[r].best);
        if (differ && json_is_object(rows[r].cfg)) fc_settings_text(rows[r].cfg, differ, nd, text, sizeof text);
        else snprintf(text, sizeof text, "%s", json_is_string(rows[r].cfg) ? json_string_value(rows[r].cfg) : "?");
        char kind[4 * sizeof rows[r].kind];
        printf("%4lld  %-6s  %-23s  %8.1f  %-9s  ", rows[r].id, fc_printable(rows[r].kind, kind, sizeof kind),
               rows[r].when, rows[r].seconds, bv);
        fc_fputs_printable(text, stdout);
        putchar('\n');
    }
    free(same), free(differ), free(keys), free(cfg);
}

/* One run in full: its settings, results and per-epoch history (Keras's history columns). */
static void print_run_detail(const run_row *row, json_t *metrics, json_t *hist) {
    char text[2048], kind[4 * sizeof row->kind];
    printf("run          %lld (%s), %s, %.1f s\n", row->id, fc_printable(row->kind, kind, sizeof kind), row->when,
           row->seconds);
    if (json_is_object(row->cfg)) {
        fc_settings_text(row->cfg, NULL, 0, text, sizeof text);
        fputs("config       ", stdout);
        fc_fputs_printable(text, stdout);
        putchar('\n');
    }
    if (json_is_object(metrics)) {
        const char *k;
        json_t *v;
        size_t used = 0;
        text[0] = '\0';
        json_object_foreach(metrics, k, v) {
            char val[128];
            fc_setting_value(v, val, sizeof val);
            used += (size_t)snprintf(text + used, used < sizeof text ? sizeof text - used : 0, "%s%s=%s",
                                     used ? " " : "", k, val);
            if (used >= sizeof text) break;
        }
        fputs("result       ", stdout);
        fc_fputs_printable(text, stdout);
        putchar('\n');
    }
    /* history: an object of equal-length arrays (featcache), or an array of epoch objects */
    static const char *cols[] = {"loss", "acc", "val_loss", "val_acc", "seconds"};
    size_t ne = 0;
    if (json_is_object(hist)) {
        for (int c = 0; c < 5; c++)
            if (json_array_size(json_object_get(hist, cols[c])) > ne) ne = json_array_size(json_object_get(hist, cols[c]));
    } else if (json_is_array(hist)) ne = json_array_size(hist);
    if (!ne) return;
    if (!strcmp(row->kind, "sweep"))
        printf("(a sweep trains its configs together: an epoch's seconds are the whole group's, the "
               "run's time above its share)\n");
    printf("\n%5s  %10s  %8s  %10s  %8s  %8s\n", "epoch", "loss", "acc", "val_loss", "val_acc", "seconds");
    for (size_t e = 0; e < ne; e++) {
        printf("%5zu", e + 1);
        for (int c = 0; c < 5; c++) {
            json_t *v = json_is_object(hist) ? json_array_get(json_object_get(hist, cols[c]), e)
                                             : json_object_get(json_array_get(hist, e), cols[c]);
            int w = c == 0 || c == 2 ? 10 : 8;
            if (json_is_number(v)) printf(c == 4 ? "  %*.3f" : "  %*.4f", w, json_number_value(v));
            else printf("  %*s", w, "-");
        }
        printf("\n");
    }
}

/* All runs (only_id < 0) as a table or JSON, or run only_id in full. */
static int runs_list(fc_store *s, int as_json, long long only_id, fc_status *st) {
    sqlite3 *db = fc_store_db(s);
    sqlite3_stmt *q = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, kind, created, seconds, config, history, metrics, host, "
                           "user FROM runs WHERE ?1 < 0 OR id = ?1 ORDER BY id", -1, &q, NULL) != SQLITE_OK)
        return fc_fail(st, FC_ERR_FORMAT, "%s: %s", fc_store_path(s), sqlite3_errmsg(db));
    sqlite3_bind_int64(q, 1, only_id);
    json_t *all = as_json ? json_array() : NULL;
    run_row *rows = NULL;
    int r, n = 0, cap = 0, oom = 0;
    while ((r = sqlite3_step(q)) == SQLITE_ROW) {
        const char *kind = (const char *)sqlite3_column_text(q, 1);
        const char *cfg = (const char *)sqlite3_column_text(q, 4);
        const char *hist = (const char *)sqlite3_column_text(q, 5);
        const char *met = (const char *)sqlite3_column_text(q, 6);
        run_row row = {.id = sqlite3_column_int64(q, 0), .seconds = sqlite3_column_double(q, 3)};
        snprintf(row.kind, sizeof row.kind, "%s", kind ? kind : "?");
        fmt_time(sqlite3_column_int64(q, 2), row.when, sizeof row.when);
        if (as_json) {
            json_t *o = json_pack("{s:I, s:s, s:s, s:f}", "id", (json_int_t)row.id, "kind", row.kind, "created",
                                  row.when, "seconds", row.seconds);
            json_object_set_new(o, "config", json_or_string(cfg));
            json_object_set_new(o, "history", json_or_string(hist));
            json_object_set_new(o, "metrics", json_or_string(met));
            json_array_append_new(all, o);
            n++;
            continue;
        }
        row.cfg = json_or_string(cfg);
        row.best = best_val_acc(met, hist);
        if (only_id >= 0) {
            json_t *mj = json_or_string(met), *hj = json_or_string(hist);
            print_run_detail(&row, mj, hj);
            json_decref(mj), json_decref(hj), json_decref(row.cfg);
            n++;
            continue;
        }
        if (n == cap) {
            run_row *g = realloc(rows, (size_t)(cap = cap ? 2 * cap : 64) * sizeof *g);
            if (!g) {
                json_decref(row.cfg);
                oom = 1;
                break;
            }
            rows = g;
        }
        rows[n++] = row;
    }
    sqlite3_finalize(q);
    if (!oom && r == SQLITE_DONE && !as_json && only_id < 0 && n) print_runs_table(rows, n);
    for (int i = 0; rows && i < n; i++) json_decref(rows[i].cfg);
    free(rows);
    if (oom) {
        json_decref(all);
        return fc_fail(st, FC_ERR_NOMEM, "out of memory listing the runs of %s", fc_store_path(s));
    }
    if (r != SQLITE_DONE) {
        json_decref(all);
        return fc_fail(st, FC_ERR_FORMAT, "%s: %s", fc_store_path(s), sqlite3_errmsg(db));
    }
    if (as_json && !(n == 0 && only_id >= 0)) { /* a missing ID is an error, not an empty list */
        char *txt = json_dumps(all, JSON_INDENT(1) | JSON_REAL_PRECISION(9)); /* as stored (9 digits at most) */
        printf("%s\n", txt ? txt : "[]");
        free(txt);
    }
    json_decref(all);
    if (!n && only_id >= 0)
        return fc_fail(st, FC_ERR_MISMATCH, "%s has no run %lld (featcache runs STORE lists them)", fc_store_path(s),
                       only_id);
    if (!n && !as_json) printf("no runs recorded in %s (featcache train/sweep record them)\n", fc_store_path(s));
    return FC_OK;
}

static const fc_opt runs_opts[] = {
    {"json", 0, NULL, "print the runs as a JSON array (config, history, metrics in full)"},
    {0},
};
static const fc_cmd_spec runs_spec = {"runs", "STORE [ID] [--json]",
                                      "list the train/sweep runs recorded in a store; with ID, one run's "
                                      "settings, results and per-epoch history. The 'best val' column is the "
                                      "validation accuracy at the epoch with the lowest val_loss (the metrics' "
                                      "best_val_acc; '-' without a validation split), not the highest "
                                      "val_acc of the run",
                                      runs_opts, 1, 2};

int cmd_runs(int argc, char **argv) {
    fc_args a;
    int r = fc_args_parse(&runs_spec, argc, argv, &a);
    if (r != FC_ARGS_OK) {
        fc_args_free(&a);
        return r;
    }
    fc_status st = {0};
    fc_store *s = NULL;
    long long id = -1;
    if (a.npos > 1) {
        char *end;
        errno = 0;
        id = strtoll(a.pos[1], &end, 10);
        if (errno || end == a.pos[1] || *end || id < 0) {
            int u = fc_usage_error("runs", "ID: '%s' is not a run number (the id column of featcache runs STORE)",
                                   a.pos[1]);
            fc_args_free(&a);
            return u;
        }
    }
    int rc = fc_is_hdf5(a.pos[0]) ? refuse_hdf5("runs", a.pos[0], &st) : fc_store_open(a.pos[0], FC_STORE_READ, &s, &st);
    if (!rc) rc = runs_list(s, fc_arg_flag(&a, "json"), id, &st);
    fc_store_close(s);
    fc_args_free(&a);
    return rc ? fc_report("runs", &st) : 0;
}
