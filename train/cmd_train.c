/* cmd_train.c - `featcache train STORE -o HEAD.h5 [options]`: Model.fit of one head. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "../common/cmd/commands.h"
#include "../common/cmd/opts.h"
#include "../common/outtmp.h"
#include "head_h5.h"
#include "metrics.h"
#include "plot.h"
#include "run_common.h"
#include "train_opts.h"

static const fc_opt train_opts[] = {
    {"output", 'o', "HEAD.h5", "where to write the trained head (Keras 2.2.4 HDF5)"},
    FC_TRAIN_OPT_ENTRIES("HEAD.h5 gets the lowest-val_loss epoch's weights"),
    {"history", 0, "H.csv", "write the per-epoch history as CSV"},
    {"plot", 0, "CURVES.png", "draw accuracy and loss curves (PNG)"},
    FC_RUN_CKPT_OPT_ENTRIES,
    {"threads", 0, "N", "threads (default: all online CPUs)"},
    {"quiet", 'q', NULL, "print nothing on success: no per-epoch lines, 'resuming' line or final 'saved' "
                         "summary (notes, warnings and errors still go to stderr)"},
    {0},
};

static const fc_cmd_spec train_spec = {
    "train", "STORE|EXPORT.h5 -o HEAD.h5 [options]",
    "train a dense head on the train split, validating on the validation split every epoch",
    train_opts, 1, 1,
};

typedef struct {
    int epochs, quiet, has_val; /* has_val: the store has a validation split */
} log_ctx;

/* A metric as Keras prints it (metrics.h). */
static const char *num4(float v, char buf[FC_KERAS_NUM_CAP]) { return fc_keras_num(v, buf); }

static void log_epoch(void *ctx, int cfg, int epoch, const fc_epoch_stat *s) {
    const log_ctx *l = ctx;
    char b[4][FC_KERAS_NUM_CAP];
    if (l->quiet) return;
    printf("Epoch %d/%d - %.2fs - loss: %s - acc: %s", epoch + 1, l->epochs, s->seconds, num4(s->loss, b[0]),
           num4(s->acc, b[1]));
    /* a diverged head's NaN val_loss is shown, not dropped */
    if (l->has_val) printf(" - val_loss: %s - val_acc: %s", num4(s->val_loss, b[2]), num4(s->val_acc, b[3]));
    printf("\n");
    fflush(stdout);
}

/* The summary line says which epoch's weights HEAD.h5 holds: the last epoch's (Keras
 * Model.fit), or with --patience the lowest val_loss epoch's, restored; and where the
 * lowest val_loss was when that is another epoch. */
static void print_saved(const char *out, const fc_train_config *c, const fc_head *hd, const fc_history *h,
                        int has_val, double secs) {
    const int last = h->n - 1, restored = fc_history_restored(h, c->patience), held = restored ? h->best : last;
    const fc_epoch_stat *e = &h->ep[held], *b = &h->ep[h->best];
    char v[4][FC_KERAS_NUM_CAP];
    printf("saved %s: %zu parameters; weights %s epoch %d of %d", out, fc_head_n_params(hd),
           restored ? "of" : "after", held + 1, c->epochs);
    if (has_val) printf(" (val_loss %s, val_acc %s)", num4(e->val_loss, v[0]), num4(e->val_acc, v[1]));
    if (restored)
        printf(", the lowest val_loss, restored by --patience");
    else if (c->patience > 0)
        printf("; no epoch had a finite val_loss: the last epoch's weights are kept");
    if (h->stopped_early) printf("; stopped early after epoch %d", h->n);
    /* a tie is no lower epoch, and a NaN val_loss no lowest one */
    if (!restored && has_val && h->best != last && isfinite(b->val_loss) && b->val_loss != e->val_loss)
        printf("; lowest val_loss %s at epoch %d (val_acc %s)", num4(b->val_loss, v[2]), h->best + 1,
               num4(b->val_acc, v[3]));
    printf(", %.2f s\n", secs);
}

static int finish(const char *store, const char *out, const fc_args *a, const fc_train_config *c,
                  fc_head *hd, const fc_history *h, const fc_dataset *tr, int has_val, double secs, int resumed,
                  fc_status *st) {
    char *cfg_text = fc_train_config_text(c);
    int rc = fc_run_stamp_head(hd, tr, st);
    if (!rc) rc = fc_run_stamp_result(hd, c, h, st);
    if (!rc) rc = fc_head_save(hd, out, &c->opt, c->l2, cfg_text, st);
    const char *hist = fc_arg_str(a, "history", NULL), *plot = fc_arg_str(a, "plot", NULL);
    if (!rc && hist) rc = fc_history_write_csv(h, hist, st);
    if (!rc && plot) {
        char title[300];
        fc_train_config_label(c, title, sizeof title);
        rc = fc_plot_history(h, title, c->patience > 0 ? h->best + 1 : 0, plot, st);
    }
    if (!rc) {
        fc_status rst = {0};
        if (fc_run_recordable(store, "train") && fc_run_record(store, "train", tr, 1, &cfg_text, h, secs, resumed, &rst))
            fprintf(stderr, "featcache train: warning: run not recorded: %s\n", rst.msg);
        fc_test_hook("FC_TEST_HOOK_AFTER_RECORD"); /* tests: killed before the checkpoint is removed */
    }
    if (!rc && !fc_arg_flag(a, "quiet")) print_saved(out, c, hd, h, has_val, secs);
    free(cfg_text);
    return rc;
}

int cmd_train(int argc, char **argv) {
    fc_args a;
    int rc = fc_args_parse(&train_spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    fc_train_config c;
    fc_train_config_defaults(&c);
    int threads;
    fc_ckpt ck = {0};
    int out_lock = -1;
    const char *out = fc_arg_str(&a, "output", NULL);
    if (!out) {
        rc = fc_usage_error("train", "-o HEAD.h5 is required");
        goto done;
    }
    if ((rc = fc_train_config_from_args(&a, &c)) != FC_ARGS_OK || (rc = fc_run_threads(&a, &threads)) != FC_ARGS_OK ||
        (rc = fc_run_ckpt_args(&a, "train", out, &ck)) != FC_ARGS_OK)
        goto done;
    fc_status st = {0};
    fc_dataset tr, va;
    fc_head *hd = NULL;
    fc_history h = {0};
    log_ctx lc = {c.epochs, fc_arg_flag(&a, "quiet"), 0};
    fc_train_hooks hooks = {log_epoch, &lc, &ck, NULL};
    const char *store = a.pos[0];
    static const char *const outs[] = {"output", "history", "plot"};
    static const int kinds[] = {FC_OUT_HDF5, FC_OUT_TEXT, FC_OUT_PNG};
    if (fc_run_check_outputs(&a, store, outs, kinds, 3, &st) || fc_run_lock_output("-o", out, &out_lock, &st)) {
        rc = fc_report("train", &st);
        goto done;
    }
    fc_run_ckpt_drop(&ck);
    if ((rc = fc_run_precheck_pool("train", 0, &c, 1, store)) != FC_ARGS_OK) goto done;
    if (fc_run_load(store, c.augment, &tr, &va, &st)) {
        rc = fc_report("train", &st);
        goto done;
    }
    fc_run_warn_untrained_classes("train", store, &tr, &va);
    if ((rc = fc_run_check_pool("train", 0, &c, 1, store, &tr)) != FC_ARGS_OK) {
        fc_run_free_data(&tr, &va);
        goto done;
    }
    if (fc_run_check_val(&c, 1, store, &va, &st)) {
        rc = fc_report("train", &st);
        fc_run_free_data(&tr, &va);
        goto done;
    }
    fc_run_note_writer("train", store, tr.n + va.n);
    lc.has_val = va.n > 0;
    ck.cfg = &c, ck.n_cfg = 1, ck.threads = threads, ck.tr = &tr, ck.va = &va, ck.quiet = lc.quiet;
    unsigned char done1 = 0;
    fc_history h0 = {0};
    fc_head *h0best = NULL;
    int best = -1, resumed = 0;
    rc = -1;
    if (!fc_run_check_memory(&c, 1, &tr, va.n, threads, &st) &&
        (resumed = fc_ckpt_open(&ck, &done1, &h0, &best, &h0best, &st)) >= 0) {
        if (resumed && !lc.quiet)
            printf("resuming from %s: %u of %d epochs done%s\n", ck.path, ck.r_epochs, c.epochs,
                   ck.r_steps ? " and part of the next" : "");
        double t0 = fc_now();
        struct sigaction old[FC_STOP_NSIG];
        if (ck.path) fc_stop_catch(old);
        if (!fc_train_group(&tr, &va, &c, 1, threads, &hooks, &hd, &h, &st) &&
            !finish(store, out, &a, &c, hd, &h, &tr, va.n > 0, fc_now() - t0 + ck.elapsed, resumed, &st)) {
            rc = 0;
            fc_ckpt_remove(&ck);
        }
        if (ck.path) fc_stop_restore(old);
    }
    if (rc) {
        rc = fc_report("train", &st);
        fc_run_ckpt_space_note("train", &ck, &st);
    }
    fc_history_free(&h0);
    fc_head_free(h0best);
    fc_head_free(hd);
    fc_history_free(&h);
    fc_run_free_data(&tr, &va);
done:
    fc_store_unlock(out, out_lock);
    fc_run_ckpt_free(&ck);
    fc_args_free(&a);
    return rc;
}
