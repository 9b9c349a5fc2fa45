/* cmd_evaluate.c - `featcache evaluate STORE HEAD.h5 [--split test] [--json]`. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cmd/commands.h"
#include "../common/cmd/opts.h"
#include "../common/store.h"
#include "head_h5.h"
#include "metrics.h"
#include "run_common.h"
#include "trainer.h"

int fc_head_check_data(const fc_head *hd, const char *head_path, const fc_dataset *ds, const char *store,
                       fc_status *st);

static const fc_opt eval_opts[] = {
    {"split", 0, "train|validation|test", "split to evaluate (default test; val or valid: validation)"},
    {"json", 0, NULL, "print one JSON object instead of the report"},
    {"threads", 0, "N", "threads (default: all online CPUs)"},
    {0},
};

static const fc_cmd_spec eval_spec = {
    "evaluate", "STORE|EXPORT.h5 HEAD.h5 [--split test] [--json] [--threads N]",
    "loss, accuracy, per-class precision/recall/F1 and confusion matrix of a head on a split",
    eval_opts, 2, 2,
};

/* "[a, b, c]" of n class names (cut at cap). */
static void class_list(char *const *names, int n, char *buf, size_t cap) {
    size_t o = (size_t)snprintf(buf, cap, "[");
    for (int i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(buf + o, cap - o, "%s%s", i ? ", " : "", names ? names[i] : "?");
    if (o < cap) snprintf(buf + o, cap - o, "]");
}

/* A head of another backbone setup than the store's features: each field that differs
 * with both values (the head records them in featcache_backbone), and the classes. */
static int other_backbone(const fc_head *hd, const char *head_path, const fc_dataset *ds, const char *store,
                          fc_status *st) {
    fc_provenance hp;
    fc_status pst = {0};
    char msg[700] = "", a[160], b[160];
    int nd = 0;
    if (!fc_run_head_provenance(head_path, hd, &hp, &pst)) {
        hp.codec = ds->prov.codec; /* another codec stores the same features */
        nd = fc_provenance_diff(&hp, "the head", &ds->prov, store, msg, sizeof msg);
    }
    if (!nd) /* a head without featcache_backbone: the fingerprints alone */
        return fc_fail(st, FC_ERR_MISMATCH,
                       "%s: head was trained on features with fingerprint %.16s..., but %s has %.16s... "
                       "(different backbone, layer, input size or preprocessing)",
                       head_path, hd->fingerprint, store, ds->fingerprint);
    int same_classes = hd->n_classes == ds->n_classes;
    for (int i = 0; same_classes && hd->class_names && ds->class_names && i < hd->n_classes; i++)
        same_classes = !strcmp(hd->class_names[i], ds->class_names[i]);
    char cls[400] = "";
    if (!same_classes) {
        class_list(hd->class_names, hd->n_classes, a, sizeof a);
        class_list(ds->class_names, ds->n_classes, b, sizeof b);
        snprintf(cls, sizeof cls, "; classes: the head has %s, %s has %s", a, store, b);
    }
    return fc_fail(st, FC_ERR_MISMATCH, "%s: head was trained on features of another backbone setup than %s's: %s%s",
                   head_path, store, msg, cls);
}

/* The head must have been trained on features of this very backbone configuration (its
 * featcache_fingerprint equal to the store's), and match its shape and classes. */
int fc_head_check_data(const fc_head *hd, const char *head_path, const fc_dataset *ds, const char *store,
                       fc_status *st) {
    /* a head not trained by featcache (plain Keras) cannot be checked against the store's
     * features: its accuracy there would mean nothing. Checked first, so such a head is
     * refused for that reason whatever its classes and shape. */
    if (!hd->fingerprint[0])
        return fc_fail(st, FC_ERR_MISMATCH, "%s: head has no store fingerprint (featcache_fingerprint attribute): "
                       "not trained by featcache, so it cannot be matched to the features of %s", head_path, store);
    if (strcmp(hd->fingerprint, ds->fingerprint) != 0)
        return other_backbone(hd, head_path, ds, store, st);
    if (hd->in_h != ds->h || hd->in_w != ds->w || hd->in_c != ds->c)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: head input %dx%dx%d, %s features are %dx%dx%d", head_path,
                       hd->in_h, hd->in_w, hd->in_c, store, ds->h, ds->w, ds->c);
    if (hd->n_classes != ds->n_classes)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: head has %d classes, %s has %d", head_path, hd->n_classes, store,
                       ds->n_classes);
    for (int i = 0; hd->class_names && ds->class_names && i < hd->n_classes; i++) {
        char *text = fc_utf8_text(ds->class_names[i], st); /* the name as train wrote it in the head */
        if (!text) return st->code;
        int differ = strcmp(hd->class_names[i], text);
        free(text);
        if (differ)
            return fc_fail(st, FC_ERR_MISMATCH, "%s: class %d is '%s' in the head but '%s' in %s", head_path, i,
                           hd->class_names[i], ds->class_names[i], store);
    }
    return FC_OK;
}

/* A JSON number, or null for NaN/inf (a diverged head's loss): JSON has no NaN. */
static json_t *num(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *triple(const double v[3]) {
    return json_pack("{s:o, s:o, s:o}", "precision", num(v[0]), "recall", num(v[1]), "f1", num(v[2]));
}

static int print_json(const char *split, const fc_report_t *r, double loss, char **names, fc_status *st) {
    json_t *pc = json_array(), *conf = json_array(), *cls = json_array();
    for (int c = 0; c < r->k; c++) {
        json_array_append_new(cls, json_string(names ? names[c] : ""));
        json_array_append_new(pc, json_pack("{s:o, s:o, s:o, s:I}", "precision", num(r->precision[c]), "recall",
                                            num(r->recall[c]), "f1", num(r->f1[c]), "support",
                                            (json_int_t)r->support[c]));
        json_t *row = json_array();
        for (int j = 0; j < r->k; j++) json_array_append_new(row, json_integer(r->confusion[(size_t)c * r->k + j]));
        json_array_append_new(conf, row);
    }
    json_t *o = json_pack("{s:s, s:I, s:o, s:o, s:o, s:o, s:o}", "split", split, "n", (json_int_t)r->n, "loss",
                          num(loss), "accuracy", num(r->accuracy), "classes", cls, "per_class", pc, "confusion", conf);
    if (o) {
        json_object_set_new(o, "macro_avg", triple(r->macro));
        json_object_set_new(o, "weighted_avg", triple(r->weighted));
    }
    char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(8)) : NULL;
    json_decref(o);
    if (!s) return fc_fail(st, FC_ERR_NOMEM, "cannot build the JSON report");
    printf("%s\n", s);
    free(s);
    return FC_OK;
}

static void print_report(const char *store, const char *split, const fc_report_t *r, double loss, char **names) {
    /* class names from a store or a head anyone may have written: control bytes escaped, as
     * info shows them; columns padded by display width, so a name in another script (CJK,
     * accents) keeps the table aligned (review 12 B F10) */
    char **shown = calloc((size_t)r->k, sizeof *shown);
    for (int c = 0; shown && c < r->k; c++) {
        char buf[1024];
        shown[c] = strdup(names ? fc_printable(names[c], buf, sizeof buf) : "?");
        if (!shown[c]) {
            while (c-- > 0) free(shown[c]);
            free(shown), shown = NULL;
        }
    }
    char *const *nm = shown ? shown : names;
    int w = 12;
    for (int c = 0; nm && c < r->k; c++) w = fc_text_width(nm[c]) > w ? fc_text_width(nm[c]) : w;
    char lb[FC_KERAS_NUM_CAP], ab[FC_KERAS_NUM_CAP];
    printf("%s, split %s: %zu image%s\nloss: %s - accuracy: %s\n\n", store, split, r->n, r->n == 1 ? "" : "s",
           fc_keras_num(loss, lb),
           fc_keras_num(r->accuracy, ab)); /* as Keras's evaluate prints them */
    printf("%*s  precision  recall  f1-score  support\n", w, "");
    for (int c = 0; c < r->k; c++) {
        fc_print_padded(nm ? nm[c] : "?", w, 1);
        printf("  %9.4f  %6.4f  %8.4f  %7ld\n", r->precision[c], r->recall[c], r->f1[c], r->support[c]);
    }
    printf("\n%*s  %9.4f  %6.4f  %8.4f  %7zu\n", w, "macro avg", r->macro[0], r->macro[1], r->macro[2], r->n);
    printf("%*s  %9.4f  %6.4f  %8.4f  %7zu\n", w, "weighted avg", r->weighted[0], r->weighted[1], r->weighted[2], r->n);
    /* columns as wide as the longest class name (at least 8), so that none is cut; past 16
     * characters they are headed by class index, and each row names its index */
    int maxlen = 0;
    for (int c = 0; nm && c < r->k; c++) maxlen = fc_text_width(nm[c]) > maxlen ? fc_text_width(nm[c]) : maxlen;
    const int by_index = !names || maxlen > 16; /* no names: indices, not a column of "?" (review 12 C F4) */
    const int cw = by_index ? 8 : (maxlen > 8 ? maxlen : 8);
    char lab[32];
    printf("\nconfusion matrix (rows: true class, columns: predicted%s):\n%*s%s", by_index ? " class index" : "", w, "",
           by_index ? "     " : "");
    for (int j = 0; j < r->k; j++) {
        if (by_index) snprintf(lab, sizeof lab, "[%d]", j);
        putchar(' ');
        fc_print_padded(by_index ? lab : nm[j], cw, 1);
    }
    printf("\n");
    for (int c = 0; c < r->k; c++) {
        fc_print_padded(nm ? nm[c] : "?", w, 1);
        if (by_index) snprintf(lab, sizeof lab, "[%d]", c), printf(" %4s", lab);
        for (int j = 0; j < r->k; j++) printf(" %*ld", cw, r->confusion[(size_t)c * r->k + j]);
        printf("\n");
    }
    for (int c = 0; shown && c < r->k; c++) free(shown[c]);
    free(shown);
}

/* For the hint on an empty split: the first of test, validation, train other than `empty`
 * that holds images in path (a store: its counts; an export: loaded), or -1. */
static int nonempty_split(const char *path, int empty) {
    static const int order[3] = {FC_SPLIT_TEST, FC_SPLIT_VAL, FC_SPLIT_TRAIN};
    fc_status st = {0};
    fc_store_stats ss = {0};
    fc_store *s = NULL;
    int is_store = !fc_is_hdf5(path) && fc_store_open(path, FC_STORE_READ, &s, &st) == FC_OK;
    if (is_store && fc_store_stats_get(s, &ss, &st)) is_store = 0;
    fc_store_close(s);
    for (int i = 0; i < 3; i++) {
        if (order[i] == empty) continue;
        if (is_store) {
            if (ss.per_split[order[i]] > 0) return order[i];
            continue;
        }
        fc_dataset ds, none = {0};
        size_t n = fc_run_load_split(path, order[i], &ds, &st) ? 0 : ds.n;
        fc_run_free_data(&ds, &none);
        if (n > 0) return order[i];
    }
    return -1;
}

static int evaluate(const char *store, const char *head_path, int split, int json, fc_status *st) {
    fc_head *hd = NULL;
    fc_dataset ds = {0}, none = {0};
    float *probs = NULL;
    int32_t *pred = NULL;
    fc_report_t r = {0};
    int rc;
    if ((rc = fc_head_load(head_path, &hd, st)) ||
        (rc = fc_run_load_split(store, split, &ds, st)) || (rc = fc_head_check_data(hd, head_path, &ds, store, st)))
        goto out;
    fc_run_note_writer("evaluate", store, ds.n);
    if (ds.n == 0) {
        int other = nonempty_split(store, split);
        if (other >= 0)
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: the %s split is empty (try --split %s)", store,
                         fc_run_split_name(split), fc_run_split_name(other));
        else
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: the %s split is empty, and so are the others", store,
                         fc_run_split_name(split));
        goto out;
    }
    for (size_t i = 0; i < ds.n; i++)
        if (ds.y[i] < 0 || ds.y[i] >= hd->n_classes) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: label %d of image %zu out of range [0, %d)", store, ds.y[i], i,
                         hd->n_classes);
            goto out;
        }
    int U = hd->dims[hd->n_layers];
    probs = fc_aligned_alloc(ds.n * (size_t)U * sizeof(float), st);
    pred = fc_calloc(ds.n, sizeof *pred, st);
    if (!probs || !pred) { rc = st->code; goto out; }
    double loss, acc;
    if ((rc = fc_head_evaluate(hd, ds.x, ds.n, ds.y, hd->l2, &loss, &acc, probs, st))) goto out;
    for (size_t i = 0; i < ds.n; i++) pred[i] = fc_argmax_class(probs + i * U, U);
    if ((rc = fc_report_compute(ds.y, pred, ds.n, hd->n_classes, &r, st))) goto out;
    if (json) rc = print_json(fc_run_split_name(split), &r, loss, hd->class_names, st);
    else print_report(store, fc_run_split_name(split), &r, loss, hd->class_names);
out:
    fc_report_free(&r);
    free(probs), free(pred);
    fc_run_free_data(&ds, &none);
    fc_head_free(hd);
    return rc;
}

/* Does path start like an SQLite database (a store given where a head belongs)? */
static int is_sqlite(const char *path) {
    char h[16] = {0};
    fc_status st = {0};
    FILE *f = fc_fopen_regular(path, NULL, &st); /* never blocks on a FIFO */
    if (!f) return 0;
    size_t got = fread(h, 1, sizeof h, f);
    fclose(f);
    return got == sizeof h && memcmp(h, "SQLite format 3", 16) == 0;
}

int cmd_evaluate(int argc, char **argv) {
    fc_args a;
    int rc = fc_args_parse(&eval_spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    int threads;
    const char *sp = fc_arg_str(&a, "split", "test");
    int split = fc_run_split_parse(sp);
    if (split < 0) rc = fc_usage_error("evaluate", "--split '%s': use train, validation (or val, valid) or test", sp);
    else if (fc_is_head_file(a.pos[0]) && !fc_is_head_file(a.pos[1]))
        rc = fc_usage_error("evaluate", "%s is a head and %s is not: the order is evaluate STORE HEAD.h5", a.pos[0],
                            a.pos[1]);
    else if (is_sqlite(a.pos[1]))
        rc = fc_usage_error("evaluate", "%s is a feature store (SQLite), not a head: the order is evaluate STORE HEAD.h5",
                            a.pos[1]);
    else if ((rc = fc_run_threads(&a, &threads)) == FC_ARGS_OK) {
        fc_status st = {0};
        rc = evaluate(a.pos[0], a.pos[1], split, fc_arg_flag(&a, "json"), &st) ? fc_report("evaluate", &st) : 0;
    }
    fc_args_free(&a);
    return rc;
}
