/* cmd_sweep.c - `featcache sweep STORE --grid '...' -o RESULTS.csv [--best HEAD.h5]`.
 *
 * The features are decoded once. Configs that share pooling, batch size and seed see the
 * same batches, so they are trained together (trainer.h): one pass over each batch's
 * input rows serves every config's first layer. Each config's history is bit-identical
 * to a lone `train` run of it with the same thread count. */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cmd/commands.h"
#include "../common/cmd/opts.h"
#include "../common/outtmp.h"
#include "grid.h"
#include "head_h5.h"
#include "plot.h"
#include "run_common.h"
#include "train_opts.h"

static const fc_opt sweep_opts[] = {
    {"grid", 0, "'KEY=V1,V2 ...'", "axes: any training option, e.g. 'lr=1e-5,2e-5 hidden=64,256 dropout=0.25,0.5'; "
                                   "spaces separate axes and ',' an axis's values (no spaces inside an axis), so several hidden layers are joined by ':' "
                                   "(hidden=256:128,64: a 256-128 head and a 64 head; hidden=0: none)"},
    {"output", 'o', "RESULTS.csv", "one row per config: options, best and final metrics"},
    {"best", 0, "HEAD.h5", "save the best config's head"},
    {"plot", 0, "SWEEP.png", "validation accuracy curves of every config (PNG)"},
    FC_TRAIN_OPT_ENTRIES("each config keeps its lowest-val_loss epoch's weights, which rank it and which --best gets"),
    {"max-memory", 0, "SIZE", "memory for the configs trained at once (weights, optimizer state), e.g. 4G or "
                              "500M; more configs than fit are trained in rounds (default: 85% of the memory "
                              "available when training starts)"},
    FC_RUN_CKPT_OPT_ENTRIES,
    {"threads", 0, "N", "threads (default: all online CPUs)"},
    {"quiet", 'q', NULL, "print nothing on success: no progress lines, leaderboard, 'best:' line or summary "
                         "(notes, warnings and errors still go to stderr)"},
    {0},
};

static const fc_cmd_spec sweep_spec = {
    "sweep", "STORE|EXPORT.h5 --grid 'lr=1e-5,2e-5 hidden=64,256' -o RESULTS.csv [options]",
    "train a grid of head configurations at once (features decoded once, shared passes)",
    sweep_opts, 1, 1,
};

typedef struct {
    int n;
    fc_train_config *cfg;
    fc_head **heads;
    fc_history *hist;
    char **labels;
    double *score_acc, *score_loss; /* the saved head's val metrics (best epoch with patience);
                                     * without a validation split its training acc and loss */
    double seconds;
    int has_val; /* the store has a validation split */
    int resumed; /* from a checkpoint (fc_run_record's duplicate check) */
} sweep_run;

typedef struct {
    int quiet, group, groups, round, rounds, epochs;
    int logged; /* epochs of this round reported: the first config to finish an epoch reports it,
                 * so progress goes on after config 0 stops early or has fewer epochs */
} sweep_log;

static void log_epoch(void *ctx, int cfg, int epoch, const fc_epoch_stat *s) {
    sweep_log *l = ctx;
    (void)cfg;
    if (l->quiet || epoch < l->logged) return;
    l->logged = epoch + 1;
    if (l->rounds > 1)
        fprintf(stderr, "sweep: group %d/%d, round %d/%d: epoch %d/%d (%.2fs)\n", l->group + 1, l->groups,
                l->round + 1, l->rounds, epoch + 1, l->epochs, s->seconds);
    else
        fprintf(stderr, "sweep: group %d/%d: epoch %d/%d (%.2fs)\n", l->group + 1, l->groups, epoch + 1, l->epochs,
                s->seconds);
}

/* need and limit for a message ("1.8 MiB", "1 MiB"); when they round alike ("40 MiB" and
 * "40 MiB") each says its bytes too. */
static void fmt_need(double need, double limit, char *nout, char *lout, size_t cap) {
    fc_fmt_bytes(need, nout, cap);
    fc_fmt_bytes(limit, lout, cap);
    if (strcmp(nout, lout)) return;
    size_t a = strlen(nout), b = strlen(lout);
    snprintf(nout + a, cap - a, " (%.0f B)", need);
    snprintf(lout + b, cap - b, " (%.0f B)", limit);
}

/* "1.50 GiB" style (the units --max-memory takes), for messages. */
/* SIZE for --max-memory: a number of bytes with an optional K, M, G or T suffix (powers of
 * 1024; "B" or "iB" may follow it). -1 if malformed. */
static double parse_size(const char *s) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0) || !isfinite(v)) return -1;
    static const char units[] = "KMGT";
    const char *u = *end && isalpha((unsigned char)*end) ? strchr(units, toupper((unsigned char)*end)) : NULL;
    if (u) {
        for (const char *p = units; p <= u; p++) v *= 1024.0;
        end++;
        if (*end == 'i') end++;
    }
    if (*end == 'B' || *end == 'b') end++;
    return *end ? -1 : v;
}

/* Score of config i (its saved head's val metrics, or train metrics without validation). */
static void score_one(sweep_run *r, int i) {
    const fc_history *h = &r->hist[i];
    if (h->n < 1) { /* no epoch recorded: nothing to score */
        r->score_acc[i] = r->score_loss[i] = NAN;
        return;
    }
    const fc_epoch_stat *e = &h->ep[r->cfg[i].patience > 0 ? h->best : h->n - 1];
    r->score_acc[i] = r->has_val ? e->val_acc : e->acc;
    r->score_loss[i] = r->has_val ? e->val_loss : e->loss;
}

/* A strict total order (NaN scores rank last, ties by config number), so the best config is
 * the same whatever order configs finish in. */
static double or_else(double v, double nan_value) { return isnan(v) ? nan_value : v; }

static int better(const sweep_run *r, int a, int b) {
    double aa = or_else(r->score_acc[a], -INFINITY), ab = or_else(r->score_acc[b], -INFINITY);
    double la = or_else(r->score_loss[a], INFINITY), lb = or_else(r->score_loss[b], INFINITY);
    if (aa != ab) return aa > ab;
    if (la != lb) return la < lb;
    return a < b;
}

/* The end of the round that starts at member k of a group (idx: its configs): members
 * while their memory fits the budget, at least one. */
static int round_end(const double *need, const int *idx, int k, int m, double budget) {
    double sum = need[idx[k++]];
    while (k < m && sum + need[idx[k]] <= budget) sum += need[idx[k++]];
    return k;
}

/* Trains every config: groups of configs sharing pool, batch, seed and augment together, in rounds
 * that fit max_mem bytes (<= 0: 85% of MemAvailable now). A finished round's heads are
 * freed except the best so far when keep_best (only --best needs a head). */
static int train_all(const fc_dataset *tr, const fc_dataset *va, sweep_run *r, int threads, int quiet,
                     double max_mem, int keep_best, fc_ckpt *ck, fc_status *st) {
    int *done = calloc((size_t)r->n, sizeof *done), *idx = calloc((size_t)r->n, sizeof *idx);
    fc_train_config *gc = calloc((size_t)r->n, sizeof *gc);
    fc_head **gh = calloc((size_t)r->n, sizeof *gh);
    fc_history *ghist = calloc((size_t)r->n, sizeof *ghist);
    double *need = calloc((size_t)r->n, sizeof *need);
    unsigned char *fin = calloc((size_t)r->n, 1); /* configs finished (this run or a resumed one) */
    int rc = FC_OK, groups = 0, best = -1;
    if (!done || !idx || !gc || !gh || !ghist || !need || !fin) {
        rc = fc_fail(st, FC_ERR_NOMEM, "sweep: out of memory");
        goto out;
    }
    ck->cfg = r->cfg, ck->n_cfg = r->n, ck->threads = threads, ck->tr = tr, ck->va = va, ck->quiet = quiet;
    ck->done = fin, ck->hist = r->hist, ck->best = &best, ck->heads = r->heads;
    ck->extra = keep_best ? "sweep, best head kept" : "sweep";
    int resumed = fc_ckpt_open(ck, fin, r->hist, &best, r->heads, st);
    if (resumed < 0) { rc = st->code; goto out; }
    r->resumed = resumed;
    int n_fin = 0;
    for (int i = 0; i < r->n; i++)
        if (fin[i]) score_one(r, i), n_fin++;
    if (resumed && !quiet) { /* and how far the configs in progress were (review 12 A F7) */
        fprintf(stderr, "sweep: resuming from %s: %d of %d configs finished", ck->path, n_fin, r->n);
        if (ck->r_n_unit > 0 && (ck->r_epochs || ck->r_steps))
            fprintf(stderr, "; %d in progress with %u epoch%s done%s", ck->r_n_unit, ck->r_epochs,
                    ck->r_epochs == 1 ? "" : "s", ck->r_steps ? " and part of the next" : "");
        fputc('\n', stderr);
    }
    for (int i = 0; i < r->n; i++) /* compatibility is equality of (pool, batch, seed, augment) */
        if (!done[i]) {
            groups++;
            for (int j = i; j < r->n; j++) done[j] |= fc_train_compatible(&r->cfg[i], &r->cfg[j]);
        }
    memset(done, 0, (size_t)r->n * sizeof *done);
    const int auto_mem = !(max_mem > 0);
    for (int i = 0; i < r->n; i++) need[i] = fc_train_config_bytes(&r->cfg[i], tr, va ? va->n : 0, threads);
    double t0 = fc_now();
    for (int i = 0, g = 0; i < r->n && rc == FC_OK; i++) {
        if (done[i]) continue;
        int m = 0;
        for (int j = i; j < r->n; j++)
            if (!done[j] && fc_train_compatible(&r->cfg[i], &r->cfg[j])) {
                done[j] = 1;
                if (!fin[j]) idx[m++] = j;
            }
        if (!m) { /* every config of this group finished before a resume */
            g++;
            continue;
        }
        /* rounds: consecutive members while their memory fits (at least one per round) */
        double budget = max_mem;
        if (auto_mem) {
            double avail = fc_mem_available(0);
            budget = avail > 0 ? 0.85 * avail : INFINITY;
        }
        int rounds = 0;
        for (int k = 0; k < m; k = round_end(need, idx, k, m, budget)) rounds++;
        char bb[64], nb[64];
        fc_fmt_bytes(budget, bb, sizeof bb);
        if (!quiet && groups > 1) { /* what the group's configs share, its values (fc_train_compatible) */
            const fc_train_config *c = &r->cfg[idx[0]];
            fprintf(stderr, "sweep: group %d/%d: %d config(s) sharing pool=%s batch=%d seed=%llu augment=%s, trained "
                    "together\n", g + 1, groups, m, fc_pool_name(c->arch.pool), c->batch, (unsigned long long)c->seed,
                    c->augment ? "true" : "false");
        }
        if (!quiet && rounds > 1) {
            double total = 0;
            for (int k = 0; k < m; k++) total += need[idx[k]];
            fmt_need(total, budget, nb, bb, sizeof nb);
            fprintf(stderr, "sweep: %s%d configs need %s for weights and optimizer state, %s %s: %d rounds\n",
                    groups > 1 ? "this group's " : "", m, nb, auto_mem ? "memory available (85%):" : "--max-memory",
                    bb, rounds);
        }
        { /* configs over the budget on their own: one warning for the group, not one per
           * config and round (review 12 A F7) */
            int over = 0, big = -1;
            for (int k = 0; k < m; k++)
                if (need[idx[k]] > budget) {
                    over++;
                    if (big < 0 || need[idx[k]] > need[big]) big = idx[k];
                }
            if (over) {
                char lb[64];
                fmt_need(need[big], budget, nb, lb, sizeof nb);
                if (over == 1)
                    fprintf(stderr, "featcache sweep: warning: config %d alone needs %s for its weights and optimizer "
                                    "state, more than the %s %s; it may run out of memory\n",
                            big + 1, nb, lb, auto_mem ? "available (85%)" : "of --max-memory");
                else
                    fprintf(stderr, "featcache sweep: warning: %d configs each alone need more for their weights and "
                                    "optimizer state than the %s %s (config %d the most: %s); they may run out of memory\n",
                            over, lb, auto_mem ? "available (85%)" : "of --max-memory", big + 1, nb);
            }
        }
        sweep_log lg = {quiet, g++, groups, 0, rounds, r->cfg[i].epochs, 0};
        for (int k = 0; k < m && rc == FC_OK; lg.round++) {
            const int k0 = k, n = (k = round_end(need, idx, k, m, budget)) - k0;
            lg.logged = 0;
            int maxe = 0;
            for (int q = 0; q < n; q++) {
                gc[q] = r->cfg[idx[k0 + q]];
                maxe = gc[q].epochs > maxe ? gc[q].epochs : maxe;
            }
            lg.epochs = maxe;
            fc_train_hooks hooks = {log_epoch, &lg, ck, idx + k0};
            if (fc_ckpt_resumes(ck, idx + k0, n)) {
                if (!quiet && ck->r_steps)
                    fprintf(stderr, "sweep: %d config(s) in progress continue from step %u of epoch %u\n", n,
                            ck->r_steps + 1, ck->r_epochs + 1);
                else if (!quiet)
                    fprintf(stderr, "sweep: %d config(s) in progress continue after epoch %u\n", n, ck->r_epochs);
            } else if (ck->rf) { /* the checkpoint's round is not this one: does it share configs with it? */
                int shared = 0;
                for (int q = 0; q < n; q++)
                    for (int u = 0; u < ck->r_n_unit; u++) shared += ck->r_unit[u] == idx[k0 + q];
                if (shared) {
                    if (!quiet)
                        fprintf(stderr, "sweep: the %d config(s) in progress in %s are now trained in other rounds "
                                        "(--max-memory or the memory available changed): they start over\n",
                                ck->r_n_unit, ck->path);
                    fc_ckpt_close(ck);
                }
            }
            if ((rc = fc_train_group(tr, va, gc, n, threads, &hooks, gh, ghist, st))) break;
            for (int q = 0; q < n; q++) {
                int c = idx[k0 + q];
                r->heads[c] = gh[q], r->hist[c] = ghist[q];
                score_one(r, c);
                if (keep_best && (best < 0 || better(r, c, best))) {
                    if (best >= 0) fc_head_free(r->heads[best]), r->heads[best] = NULL;
                    best = c;
                } else {
                    fc_head_free(r->heads[c]), r->heads[c] = NULL;
                }
                fin[c] = 1;
            }
            int left = 0;
            for (int c = 0; c < r->n; c++) left += !fin[c];
            if (left && (fc_stop_requested || fc_ckpt_due(ck))) { /* between units: the finished configs' results */
                fc_ckw w;
                if (!fc_ckpt_begin(ck, &w, NULL, 0, 0, 0, 0.0)) fc_ckpt_commit(&w);
            }
            if (left && fc_stop_requested && ck->path) {
                rc = fc_fail(st, FC_ERR_INTERRUPTED, "interrupted with %d of %d configs finished: %s", r->n - left, r->n,
                             ck->disabled ? "no checkpoint could be written" : "state saved; run the same command to resume");
                break;
            }
        }
    }
    r->seconds = fc_now() - t0 + ck->elapsed;
out:
    free(done), free(idx), free(gc), free(gh), free(ghist), free(need), free(fin);
    return rc;
}

/* A CSV cell of real option key of config c: its value as Python's repr, as runs and the
 * labels show it (2e-05, 0.0), or empty when it had no effect on c (momentum of an adam
 * config, dropout without hidden layers). */
static const char *csv_cell(const fc_train_config *c, const char *key, float v, char buf[48]) {
    char have[160];
    if (fc_train_key_unused(c, key, have, sizeof have)) return "";
    fc_fmt_repr_f32(v, buf, 48);
    return buf;
}

static int write_csv(const sweep_run *r, const char *path, fc_status *st) {
    char *tmp;
    FILE *f = fc_outtmp_fopen(path, &tmp, st);
    if (!f) return st->code;
    fprintf(f, "config,label,pool,hidden,activation,dropout,optimizer,lr,momentum,nesterov,rho,epochs,batch,seed,"
               "patience,l2,class_weight,epochs_run,best_epoch,best_val_loss,best_val_acc,final_loss,final_acc,"
               "final_val_loss,final_val_acc,stopped_early,augment\n");
    for (int i = 0; i < r->n; i++) {
        const fc_train_config *c = &r->cfg[i];
        const fc_history *h = &r->hist[i];
        const fc_epoch_stat *b = &h->ep[h->best], *l = &h->ep[h->n - 1];
        char hid[96] = "0", cell[3][48], num[6][24], lr[48], l2[48], best[16] = "";
        if (isfinite(b->val_loss)) snprintf(best, sizeof best, "%d", h->best + 1); /* else no best epoch: empty */
        size_t o = 0;
        for (int k = 0; k < c->arch.n_hidden; k++) o += (size_t)snprintf(hid + o, sizeof hid - o, "%s%d", k ? ":" : "", c->arch.hidden[k]);
        char have[160];
        const char *act = fc_train_key_unused(c, "activation", have, sizeof have) ? "" : fc_hact_name(c->arch.act);
        fc_fmt_repr_f32(c->opt.lr, lr, sizeof lr);
        fc_fmt_repr_f32(c->l2, l2, sizeof l2);
        fprintf(f, "%d,\"%s\",%s,%s,%s,%s,%s,%s,%s,%s,%s,%d,%d,%llu,%d,%s,%s,%d,%s,%s,%s,%s,%s,%s,%s,%d,%d\n",
                i + 1, r->labels[i], fc_pool_name(c->arch.pool), hid, act, csv_cell(c, "dropout", c->arch.dropout, cell[0]),
                fc_optim_name(c->opt.kind), lr, csv_cell(c, "momentum", c->opt.momentum, cell[1]),
                fc_train_key_unused(c, "nesterov", have, sizeof have) ? "" : c->opt.nesterov ? "1" : "0",
                csv_cell(c, "rho", c->opt.rho, cell[2]), c->epochs, c->batch, (unsigned long long)c->seed, c->patience, l2,
                c->class_weight ? "balanced" : "none",
                h->n, best, fc_csv_f32(b->val_loss, num[0]), fc_csv_f32(b->val_acc, num[1]),
                fc_csv_f32(l->loss, num[2]), fc_csv_f32(l->acc, num[3]), fc_csv_f32(l->val_loss, num[4]),
                fc_csv_f32(l->val_acc, num[5]), h->stopped_early, c->augment);
    }
    return fc_outtmp_fclose(f, tmp, path, st);
}

/* order = the configs best first (the leaderboard's ranking; the plot takes it too). */
static void rank_configs(const sweep_run *r, int *order) {
    for (int i = 0; i < r->n; i++) order[i] = i;
    for (int i = 1; i < r->n; i++) /* insertion sort: n is small */
        for (int j = i; j > 0 && better(r, order[j], order[j - 1]); j--) {
            int t = order[j]; order[j] = order[j - 1]; order[j - 1] = t;
        }
}

static void leaderboard(const sweep_run *r, const int *order) {
    /* without a validation split the ranking is by training metrics, and says so */
    const char *acc = r->has_val ? "val_acc" : "acc (train)", *loss = r->has_val ? "val_loss" : "loss (train)";
    int wa = (int)strlen(acc), wl = (int)strlen(loss);
    printf("rank  config  %s  %s  epochs  %s\n", acc, loss, "options");
    for (int k = 0; k < r->n; k++) {
        int i = order[k];
        printf("%4d  %6d  %*.4f  %*.4f  %6d  %s\n", k + 1, i + 1, wa, fc_csv_num(r->score_acc[i]), wl,
               fc_csv_num(r->score_loss[i]), r->hist[i].n, r->labels[i]);
    }
}

static int outputs(const char *store, const fc_args *a, sweep_run *r, const fc_dataset *tr, fc_status *st) {
    int *order = calloc((size_t)r->n, sizeof *order);
    if (!order) return fc_fail(st, FC_ERR_NOMEM, "sweep: out of memory");
    int quiet = fc_arg_flag(a, "quiet");
    rank_configs(r, order);
    if (!quiet) leaderboard(r, order);
    int best = 0;
    for (int i = 1; i < r->n; i++) best = better(r, i, best) ? i : best;
    int rc = write_csv(r, fc_arg_str(a, "output", NULL), st);
    const char *best_path = fc_arg_str(a, "best", NULL), *plot = fc_arg_str(a, "plot", NULL);
    if (!rc && best_path) {
        char *cfg = fc_train_config_text(&r->cfg[best]);
        rc = fc_run_stamp_head(r->heads[best], tr, st);
        if (!rc) rc = fc_run_stamp_result(r->heads[best], &r->cfg[best], &r->hist[best], st);
        if (!rc) rc = fc_head_save(r->heads[best], best_path, &r->cfg[best].opt, r->cfg[best].l2, cfg, st);
        free(cfg);
        if (!rc && !quiet) printf("best: config %d (%s), saved %s\n", best + 1, r->labels[best], best_path);
    }
    if (!rc && plot) rc = fc_plot_sweep(r->hist, r->labels, r->n, order, plot, st);
    if (!rc && fc_run_recordable(store, "sweep")) {
        char **cfgs = calloc((size_t)r->n, sizeof *cfgs);
        fc_status rst = {0};
        int err = !cfgs;
        for (int i = 0; !err && i < r->n; i++) err = !(cfgs[i] = fc_train_config_text(&r->cfg[i]));
        if (err) fc_fail(&rst, FC_ERR_NOMEM, "out of memory");
        else err = fc_run_record(store, "sweep", tr, r->n, cfgs, r->hist, r->seconds / r->n, r->resumed, &rst);
        if (err) fprintf(stderr, "featcache sweep: warning: runs not recorded: %s\n", rst.msg);
        for (int i = 0; cfgs && i < r->n; i++) free(cfgs[i]);
        free(cfgs);
        fc_test_hook("FC_TEST_HOOK_AFTER_RECORD"); /* tests: killed before the checkpoint is removed */
    }
    if (!rc && !quiet)
        printf("%d config%s in %.2f s; results in %s\n", r->n, r->n == 1 ? "" : "s", r->seconds,
               fc_arg_str(a, "output", ""));
    free(order);
    return rc;
}

static void run_free(sweep_run *r) {
    for (int i = 0; i < r->n; i++) {
        if (r->heads) fc_head_free(r->heads[i]);
        if (r->hist) fc_history_free(&r->hist[i]);
        if (r->labels) free(r->labels[i]);
    }
    free(r->cfg), free(r->heads), free(r->hist), free(r->labels), free(r->score_acc), free(r->score_loss);
}

/* NULL when option key shapes at least one of the n configs; else what it applies to, with
 * what config 1 has instead in have (fc_train_key_unused). */
static const char *unused_in_all(const fc_train_config *c, int n, const char *key, char *have, size_t cap) {
    const char *need = NULL;
    for (int i = n - 1; i >= 0; i--)
        if (!(need = fc_train_key_unused(&c[i], key, have, cap))) return NULL;
    return need;
}

/* The note on configs dropped as identical to an earlier one (same[i] >= 0: config i trains
 * the same head as config same[i]): their labels with every axis, as given (base: the fixed
 * options), and the setting that made no difference. */
static void note_dropped(const fc_grid *g, const char *const *base, const fc_train_config *cfg, const int *same,
                         int n, int n_drop) {
    fprintf(stderr, "featcache sweep: note: %d configs, %d identical %s dropped (each trains the same head as a "
            "config kept):", n, n_drop, n_drop == 1 ? "one" : "ones");
    for (int i = 0, shown = 0; i < n; i++) {
        if (same[i] < 0) continue;
        if (shown++ == 6) {
            fprintf(stderr, " and %d more", n_drop - 6);
            break;
        }
        char a[512] = "", b[512] = "", have[160], err[300];
        const char *need = NULL, *key = NULL;
        fc_train_config ci, cs;
        if (!fc_grid_config_as_given(g, i, base, &ci, err, sizeof err)) fc_grid_label(g, &ci, 1, a, sizeof a);
        if (!fc_grid_config_as_given(g, same[i], base, &cs, err, sizeof err)) fc_grid_label(g, &cs, 1, b, sizeof b);
        for (int x = 0; x < g->n_axes && !need; x++)
            if (fc_grid_index(g, i, x) != fc_grid_index(g, same[i], x))
                key = g->key[x], need = fc_train_key_unused(&cfg[i], key, have, sizeof have);
        if (need) fprintf(stderr, "%s '%s' = '%s' (%s: applies to %s)", shown > 1 ? ";" : "", a, b, key, need);
        else fprintf(stderr, "%s '%s' = '%s' (the same values)", shown > 1 ? ";" : "", a, b);
    }
    fprintf(stderr, "\n");
}

/* Expands the grid over the base options; 2 (usage) on a bad grid or value, on an option
 * given both fixed and as an axis, and on an option or axis that shapes no config (e.g.
 * --momentum when no config uses sgd). A config that trains the same head as an earlier
 * one (they differ only in settings with no effect on it) is dropped, with a note. */
static int build(const fc_args *a, sweep_run *r, fc_grid *g) {
    char err[300], have[160];
    const char *text = fc_arg_str(a, "grid", NULL);
    if (!text) return fc_usage_error("sweep", "--grid 'KEY=V1,V2 ...' is required");
    if (!fc_arg_str(a, "output", NULL)) return fc_usage_error("sweep", "-o RESULTS.csv is required");
    if (fc_grid_parse(text, g, err, sizeof err)) return fc_usage_error("sweep", "--grid: %s", err);
    const char *base[FC_TRAIN_MAX_KEYS];
    fc_train_args_values(a, base);
    for (int k = 0; k < fc_train_n_keys; k++)
        for (int x = 0; base[k] && x < g->n_axes; x++)
            if (!strcmp(g->key[x], fc_train_keys[k]))
                return fc_usage_error("sweep", "--%s is also a grid axis: give its values in --grid only",
                                      fc_train_keys[k]);
    const int n = g->n_configs;
    r->cfg = calloc((size_t)n, sizeof *r->cfg);
    r->heads = calloc((size_t)n, sizeof *r->heads);
    r->hist = calloc((size_t)n, sizeof *r->hist);
    r->labels = calloc((size_t)n, sizeof *r->labels);
    r->score_acc = calloc((size_t)n, sizeof(double));
    r->score_loss = calloc((size_t)n, sizeof(double));
    char **texts = calloc((size_t)n, sizeof *texts);
    int *same = malloc((size_t)n * sizeof *same), rc = FC_ARGS_OK, m = 0, n_drop = 0;
    if (!r->cfg || !r->heads || !r->hist || !r->labels || !r->score_acc || !r->score_loss || !texts || !same) {
        fprintf(stderr, "featcache sweep: out of memory\n");
        rc = 1;
        goto out;
    }
    for (int i = 0; i < n; i++) {
        if (fc_grid_config(g, i, base, &r->cfg[i], err, sizeof err)) {
            rc = fc_usage_error("sweep", "--%s", err);
            goto out;
        }
        if (!(texts[i] = fc_train_config_text(&r->cfg[i]))) {
            rc = 1;
            goto out;
        }
    }
    for (int k = 0; k < fc_train_n_keys; k++) {
        const char *need = base[k] ? unused_in_all(r->cfg, n, fc_train_keys[k], have, sizeof have) : NULL;
        if (need) {
            rc = fc_usage_error("sweep", "--%s applies to %s; no config of this sweep qualifies: config 1 %s",
                                fc_train_keys[k], need, have);
            goto out;
        }
    }
    for (int x = 0; x < g->n_axes; x++) {
        const char *need = unused_in_all(r->cfg, n, g->key[x], have, sizeof have);
        if (need) {
            rc = fc_usage_error("sweep", "--grid: axis '%s' applies to %s; no config of this sweep qualifies: "
                                "config 1 %s", g->key[x], need, have);
            goto out;
        }
    }
    /* configs equal once canonical (their JSON) train the same head: keep the first */
    for (int i = 0; i < n; i++) {
        same[i] = -1;
        for (int j = 0; j < i && same[i] < 0; j++)
            if (same[j] < 0 && !strcmp(texts[i], texts[j])) same[i] = j;
        n_drop += same[i] >= 0;
    }
    if (n_drop) note_dropped(g, base, r->cfg, same, n, n_drop);
    for (int i = 0; i < n; i++) {
        if (same[i] >= 0) continue;
        char label[512];
        fc_grid_label(g, &r->cfg[i], 0, label, sizeof label);
        r->cfg[m] = r->cfg[i];
        if (!(r->labels[m++] = strdup(label))) {
            rc = 1;
            break;
        }
    }
out:
    r->n = m; /* run_free frees what was made */
    for (int i = 0; texts && i < n; i++) free(texts[i]);
    free(texts), free(same);
    return rc;
}

int cmd_sweep(int argc, char **argv) {
    fc_args a;
    int rc = fc_args_parse(&sweep_spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) return rc;
    sweep_run r = {0};
    fc_grid g = {0};
    fc_ckpt ck = {0};
    int threads, out_lock = -1, best_lock = -1;
    const char *out = fc_arg_str(&a, "output", NULL), *best_out = fc_arg_str(&a, "best", NULL);
    if ((rc = build(&a, &r, &g)) != FC_ARGS_OK || (rc = fc_run_threads(&a, &threads)) != FC_ARGS_OK ||
        (rc = fc_run_ckpt_args(&a, "sweep", fc_arg_str(&a, "output", NULL), &ck)) != FC_ARGS_OK)
        goto done;
    double max_mem = 0;
    const char *mm = fc_arg_str(&a, "max-memory", NULL);
    if (mm && (max_mem = parse_size(mm)) < 0) {
        rc = fc_usage_error("sweep", "--max-memory: '%s' is not a size (a number of bytes, or with K, M, G or T: 4G, 500M)", mm);
        goto done;
    }
    fc_status st = {0};
    fc_dataset tr, va;
    const char *store = a.pos[0];
    static const char *const outs[] = {"output", "best", "plot"};
    static const int kinds[] = {FC_OUT_TEXT, FC_OUT_HDF5, FC_OUT_PNG};
    if (fc_run_check_outputs(&a, store, outs, kinds, 3, &st) || (out && fc_run_lock_output("-o", out, &out_lock, &st)) ||
        (best_out && fc_run_lock_output("--best", best_out, &best_lock, &st))) { /* --best too (review 12 C F7) */
        rc = fc_report("sweep", &st);
        goto done;
    }
    fc_run_ckpt_drop(&ck);
    int any_augment = 0, pool_axis = 0;
    for (int i = 0; i < r.n; i++) any_augment |= r.cfg[i].augment;
    for (int x = 0; x < g.n_axes; x++) pool_axis |= !strcmp(g.key[x], "pool");
    if ((rc = fc_run_precheck_pool("sweep", pool_axis, r.cfg, r.n, store)) != FC_ARGS_OK) goto done;
    if (fc_run_load(store, any_augment, &tr, &va, &st)) {
        rc = fc_report("sweep", &st);
        goto done;
    }
    fc_run_warn_untrained_classes("sweep", store, &tr, &va);
    if ((rc = fc_run_check_pool("sweep", pool_axis, r.cfg, r.n, store, &tr)) != FC_ARGS_OK) {
        fc_run_free_data(&tr, &va);
        goto done;
    }
    fc_run_note_writer("sweep", store, tr.n + va.n);
    if (fc_run_check_val(r.cfg, r.n, store, &va, &st) || fc_run_check_memory(r.cfg, r.n, &tr, va.n, threads, &st)) {
        rc = fc_report("sweep", &st);
        fc_run_free_data(&tr, &va);
        goto done;
    }
    r.has_val = va.n > 0;
    if (!r.has_val)
        fprintf(stderr, "featcache sweep: note: %s has no validation split: configs are ranked by their training "
                "acc and loss (the CSV's val columns are nan)\n", store);
    if (!fc_arg_flag(&a, "quiet"))
        fprintf(stderr, "sweep: %d config%s, %zu train / %zu validation images\n", r.n, r.n == 1 ? "" : "s", tr.n, va.n);
    struct sigaction old[FC_STOP_NSIG];
    if (ck.path) fc_stop_catch(old);
    rc = train_all(&tr, &va, &r, threads, fc_arg_flag(&a, "quiet"), max_mem, fc_arg_str(&a, "best", NULL) != NULL,
                   &ck, &st) || outputs(store, &a, &r, &tr, &st)
             ? fc_report("sweep", &st)
             : 0;
    if (ck.path) fc_stop_restore(old);
    if (!rc) fc_ckpt_remove(&ck);
    else fc_run_ckpt_space_note("sweep", &ck, &st);
    fc_run_free_data(&tr, &va);
done:
    if (out) fc_store_unlock(out, out_lock);
    if (best_out) fc_store_unlock(best_out, best_lock);
    fc_run_ckpt_free(&ck);
    run_free(&r);
    fc_grid_free(&g);
    fc_args_free(&a);
    return rc;
}
