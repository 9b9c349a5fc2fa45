/* trainer_group.c - fc_train_group: the step loop over a group of configs (see trainer.c
 * for the plan of a step and fused.h for the first-layer pass). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/codec.h"
#include "ckpt.h"
#include "fpmode.h"
#include "fused.h"
#include "rng.h"
#include "sparse.h"
#include "tpool.h"
#include "trainer.h"

typedef struct {
    const fc_train_config *cfg;
    fc_head *hd, *best;
    fc_history *hist;
    int L, U, H0, maxd;
    float *s1[FC_HEAD_MAX_LAYERS], *s2[FC_HEAD_MAX_LAYERS];   /* kernel optimizer state */
    float *sb1[FC_HEAD_MAX_LAYERS], *sb2[FC_HEAD_MAX_LAYERS]; /* bias optimizer state */
    float *y[FC_HEAD_MAX_LAYERS];    /* (batch, dims[l+1]): act output, or logits for l = L-1 */
    float *mask[FC_HEAD_MAX_LAYERS]; /* (batch, dims[l+1]) dropout scale, hidden layers */
    float *a[FC_HEAD_MAX_LAYERS];    /* (batch, dims[l+1]) y*mask (input of layer l+1) */
    float *gw[FC_HEAD_MAX_LAYERS], *gb[FC_HEAD_MAX_LAYERS];
    float *z0, *dz0;                 /* (batch, H0) */
    float *dzA, *dzB, *da;           /* (batch, maxd) scratch */
    float *zp;                       /* (threads, batch, H0) first-layer partial sums */
    float *vz, *vlogits;             /* validation: (VAL_CHUNK, H0) first layer, (n_val, U) */
    fc_fused_layer fl;
    uint32_t *last; /* fl.last: RMSprop without L2 (see fused.h) */
    long t;
    int active, wait;
    double best_val, loss_sum;
    long correct, seen;
} cstate;

/* Validation rows per parallel first-layer pass (a multiple of the logits chunk). */
#define VAL_CHUNK 1024

typedef struct {
    cstate *cs;
    int n;
    int D0;
    fc_nz_rows *nz;  /* per thread */
    const float *vx; /* validation inputs (pooled like the train inputs) */
    size_t v0, v1;   /* validation rows of the current pass */
    fc_ckpt *ck;     /* checkpoints, or NULL */
    const int *unit; /* the configs' numbers in the run (checkpoints), or NULL */
    int e0, s0;      /* first epoch and step to train (resumed from a checkpoint) */
    double epoch_secs0; /* seconds epoch e0 had taken before its step s0 */
} group;

static float *falloc(size_t n, fc_status *st) {
    float *p = fc_aligned_alloc((n ? n : 1) * sizeof(float), st);
    if (p) memset(p, 0, (n ? n : 1) * sizeof(float));
    return p;
}

static void cstate_free(cstate *c) {
    for (int l = 0; l < FC_HEAD_MAX_LAYERS; l++) {
        free(c->s1[l]), free(c->s2[l]), free(c->sb1[l]), free(c->sb2[l]);
        free(c->y[l]), free(c->mask[l]), free(c->gw[l]), free(c->gb[l]);
    }
    free(c->z0), free(c->dz0), free(c->dzA), free(c->dzB), free(c->da), free(c->zp);
    free(c->vz), free(c->vlogits);
    fc_head_free(c->best);
    free(c->last);
}

static int cstate_init(cstate *c, const fc_train_config *cfg, const fc_dataset *tr, size_t n_val,
                       int threads, fc_status *st) {
    memset(c, 0, sizeof *c);
    c->cfg = cfg;
    if (fc_head_create(&cfg->arch, tr->h, tr->w, tr->c, tr->n_classes, &c->hd, st)) return st->code;
    fc_head_init_glorot(c->hd, cfg->seed);
    fc_head *hd = c->hd;
    c->L = hd->n_layers, c->U = hd->dims[c->L], c->H0 = hd->dims[1];
    size_t B = (size_t)cfg->batch;
    int ns = fc_optim_n_state(&cfg->opt);
    for (int l = 0; l < c->L; l++) {
        size_t nw = (size_t)hd->dims[l] * hd->dims[l + 1], nb = (size_t)hd->dims[l + 1];
        if (hd->dims[l + 1] > c->maxd) c->maxd = hd->dims[l + 1];
        if (ns >= 1 && (!(c->s1[l] = falloc(nw, st)) || !(c->sb1[l] = falloc(nb, st)))) return st->code;
        if (ns >= 2 && (!(c->s2[l] = falloc(nw, st)) || !(c->sb2[l] = falloc(nb, st)))) return st->code;
        if (!(c->y[l] = falloc(B * nb, st)) || !(c->gb[l] = falloc(nb, st))) return st->code;
        if (l > 0 && !(c->gw[l] = falloc(nw, st))) return st->code;
        if (l + 1 < c->L) {
            if (cfg->arch.dropout > 0 && !(c->mask[l] = falloc(B * nb, st))) return st->code;
            c->a[l] = c->mask[l] ? falloc(B * nb, st) : c->y[l];
            if (!c->a[l]) return st->code;
        }
    }
    if (!(c->z0 = falloc(B * c->H0, st)) || !(c->dz0 = falloc(B * c->H0, st)) ||
        !(c->dzA = falloc(B * c->maxd, st)) || !(c->dzB = falloc(B * c->maxd, st)) ||
        !(c->da = falloc(B * c->maxd, st)) || !(c->zp = falloc((size_t)threads * B * c->H0, st)))
        return st->code;
    if (n_val && (!(c->vz = falloc((n_val < VAL_CHUNK ? n_val : VAL_CHUNK) * c->H0, st)) ||
                  !(c->vlogits = falloc(n_val * c->U, st))))
        return st->code;
    if (cfg->patience > 0) {
        if (fc_head_create(&cfg->arch, tr->h, tr->w, tr->c, tr->n_classes, &c->best, st))
            return st->code;
        fc_head_copy_weights(c->best, hd);
    }
    c->fl.w = hd->w[0], c->fl.s1 = c->s1[0], c->fl.s2 = c->s2[0], c->fl.H = c->H0;
    c->fl.l2x2 = 2.0f * cfg->l2;
    if (cfg->opt.kind == FC_OPTIM_RMSPROP && cfg->l2 == 0.0f) {
        if (!(c->last = fc_calloc((size_t)hd->dims[0], sizeof *c->last, st))) return st->code;
        c->fl.last = c->last;
    }
    c->active = 1;
    c->best_val = INFINITY;
    return FC_OK;
}

double fc_train_config_bytes(const fc_train_config *c, const fc_dataset *tr, size_t n_val, int threads) {
    /* mirrors cstate_init's allocations */
    double dims[FC_HEAD_MAX_LAYERS + 1];
    int L = c->arch.n_hidden + 1;
    dims[0] = (double)fc_head_in_dim(c->arch.pool, tr->h, tr->w, tr->c);
    for (int l = 0; l < c->arch.n_hidden; l++) dims[l + 1] = c->arch.hidden[l];
    dims[L] = fc_head_out_units(tr->n_classes);
    double params = 0, grads = 0, acts = 0, maxd = 0, B = c->batch;
    for (int l = 0; l < L; l++) {
        params += dims[l] * dims[l + 1] + dims[l + 1];
        if (l > 0) grads += dims[l] * dims[l + 1];
        acts += dims[l + 1] * (c->arch.dropout > 0 && l + 1 < L ? 3 : 1) + dims[l + 1];
        maxd = dims[l + 1] > maxd ? dims[l + 1] : maxd;
    }
    double copies = 1 + fc_optim_n_state(&c->opt) + (c->patience > 0);
    double vrows = (double)(n_val < VAL_CHUNK ? n_val : VAL_CHUNK);
    double floats = params * copies + grads + B * acts + B * (2 * dims[1] + 3 * maxd) + threads * B * dims[1] +
                    (n_val ? vrows * dims[1] + (double)n_val * dims[L] : 0);
    double lazy = c->opt.kind == FC_OPTIM_RMSPROP && c->l2 == 0.0f ? dims[0] * sizeof(uint32_t) : 0;
    return floats * sizeof(float) + lazy;
}

/* a[l] separate from y[l] only with dropout; free it then (cstate_free frees y/mask). */
static void cstate_free_a(cstate *c) {
    for (int l = 0; l + 1 < c->L; l++)
        if (c->a[l] && c->a[l] != c->y[l]) free(c->a[l]);
}

static void shuffle(size_t *perm, size_t n, uint64_t seed, int epoch) {
    uint64_t key = fc_rng_key(seed, FC_RNG_SHUFFLE, (uint64_t)epoch, 0);
    for (size_t i = 0; i < n; i++) perm[i] = i;
    for (size_t i = n - 1; i > 0; i--) {
        uint64_t r = fc_mix64(key + i * 0x9e3779b97f4a7c15ULL);
        size_t j = (size_t)(((r >> 32) * (uint64_t)(i + 1)) >> 32);
        size_t t = perm[i]; perm[i] = perm[j]; perm[j] = t;
    }
}

/* Forward from the first layer's summed partials, loss, backward, small-layer updates. */
static void cfg_step(cstate *c, int Bs, int threads, const int32_t *yb, const float *sw, int epoch,
                     int step) {
    fc_head *hd = c->hd;
    const fc_train_config *cfg = c->cfg;
    const int H0 = c->H0;
    size_t slice = (size_t)cfg->batch * H0;
    for (size_t k = 0; k < (size_t)Bs * H0; k++) {
        float v = c->zp[k];
        for (int t = 1; t < threads; t++) v += c->zp[t * slice + k];
        c->z0[k] = v + hd->b[0][k % H0];
    }
    for (int l = 0; l < c->L; l++) {
        float *z = l == 0 ? c->z0 : c->y[l];
        size_t nel = (size_t)Bs * hd->dims[l + 1];
        if (l > 0) fc_dense_forward(z, c->a[l - 1], hd->w[l], hd->b[l], Bs, hd->dims[l], hd->dims[l + 1]);
        if (l + 1 == c->L) break;
        fc_act_forward(c->y[l], z, nel, cfg->arch.act);
        if (c->mask[l]) {
            uint64_t key = fc_rng_key(cfg->seed, FC_RNG_DROPOUT, (uint64_t)l,
                                      ((uint64_t)epoch << 32) | (uint64_t)step);
            fc_dropout_mask(c->mask[l], Bs, hd->dims[l + 1], cfg->arch.dropout, key);
            for (size_t k = 0; k < nel; k++) c->a[l][k] = c->y[l][k] * c->mask[l][k];
        }
    }
    const float *logits = c->L == 1 ? c->z0 : c->y[c->L - 1];
    float *dlog = c->L == 1 ? c->dz0 : c->dzA;
    long correct = 0;
    double pen = cfg->l2 != 0.0f ? fc_head_l2_penalty(hd, cfg->l2) : 0.0;
    double sum = fc_loss_forward_backward(logits, yb, sw, Bs, c->U, dlog, &correct);
    c->loss_sum += sum + pen * Bs;
    c->correct += correct;
    c->seen += Bs;
    float *cur = dlog, *other = c->dzB;
    for (int l = c->L - 1; l >= 1; l--) {
        fc_dense_backward(c->da, c->gw[l], c->gb[l], cur, c->a[l - 1], hd->w[l], Bs, hd->dims[l],
                          hd->dims[l + 1]);
        size_t nel = (size_t)Bs * hd->dims[l];
        if (c->mask[l - 1])
            for (size_t k = 0; k < nel; k++) c->da[k] *= c->mask[l - 1][k];
        float *dst = l - 1 == 0 ? c->dz0 : other;
        fc_act_backward(dst, c->da, c->y[l - 1], nel, cfg->arch.act);
        other = cur, cur = dst;
    }
    for (int j = 0; j < H0; j++) c->gb[0][j] = 0.0f;
    for (int b = 0; b < Bs; b++)
        for (int j = 0; j < H0; j++) c->gb[0][j] += c->dz0[(size_t)b * H0 + j];
    c->t++;
    fc_optim_step_init(&cfg->opt, c->t, &c->fl.os);
    c->fl.step = (uint32_t)c->t;
    for (int l = 0; l < c->L; l++) {
        if (l > 0)
            fc_optim_update(&c->fl.os, hd->w[l], c->gw[l], c->s1[l], c->s2[l],
                            (size_t)hd->dims[l] * hd->dims[l + 1], c->fl.l2x2);
        fc_optim_update(&c->fl.os, hd->b[l], c->gb[l], c->sb1[l], c->sb2[l], (size_t)hd->dims[l + 1], 0.0f);
    }
}

static void fused_phase(void *ctx, int tid, int nthreads) {
    group *g = ctx;
    int r0 = (int)((long)g->D0 * tid / nthreads), r1 = (int)((long)g->D0 * (tid + 1) / nthreads);
    fc_nz_rows *nz = &g->nz[tid];
    const fc_fused_layer *first = NULL;
    int bn = 0;
    for (int i = 0; i < g->n; i++) {
        cstate *c = &g->cs[i];
        if (!c->active) continue;
        if (!first) first = &c->fl;
        bn = c->fl.bn > bn ? c->fl.bn : bn;
        float *zp = c->zp + (size_t)tid * c->cfg->batch * c->H0;
        if (c->fl.bn) memset(zp, 0, (size_t)c->fl.bn * c->H0 * sizeof(float));
    }
    if (!first) return;
    /* every active config has the same batches (xt, bt; xn): one set of nonzero lists per
     * chunk serves all (a config whose training ends uses bn = 0) */
    for (int c0 = r0; c0 < r1; c0 += FC_NZ_CHUNK) {
        int c1 = c0 + FC_NZ_CHUNK < r1 ? c0 + FC_NZ_CHUNK : r1;
        fc_nz_build(nz, first->xt, first->bt, first->xn, bn, c0, c1);
        for (int i = 0; i < g->n; i++) {
            cstate *c = &g->cs[i];
            if (!c->active || (!c->fl.bt && !c->fl.bn)) continue;
            fc_fused_rows_nz(&c->fl, nz, c->zp + (size_t)tid * c->cfg->batch * c->H0);
        }
    }
}

/* Validation first layer of rows [v0, v1) for every active config, rows split by thread
 * (each output row depends on its own input row only: same bits for any thread count). */
static void val_phase(void *ctx, int tid, int nthreads) {
    group *g = ctx;
    size_t m = g->v1 - g->v0, a = g->v0 + m * tid / nthreads, b = g->v0 + m * (tid + 1) / nthreads;
    for (int i = 0; i < g->n && b > a; i++) {
        cstate *c = &g->cs[i];
        if (!c->active) continue;
        fc_sparse_dense_forward(c->vz + (a - g->v0) * c->H0, g->vx + a * (size_t)g->D0, b - a, c->hd->w[0],
                                c->hd->b[0], g->D0, c->H0);
    }
}

/* Validation logits of every active config into its vlogits (the same bits as
 * fc_head_logits on the validation split). */
static int validate(group *g, fc_tpool *pool, size_t n_val, fc_status *st) {
    for (size_t v0 = 0; v0 < n_val; v0 += VAL_CHUNK) {
        g->v0 = v0, g->v1 = n_val - v0 < VAL_CHUNK ? n_val : v0 + VAL_CHUNK;
        fc_tpool_run(pool, val_phase, g);
        for (int i = 0; i < g->n; i++) {
            cstate *c = &g->cs[i];
            if (c->active && fc_head_logits_from_z0(c->hd, c->vz, g->v1 - v0, c->vlogits + v0 * c->U, st))
                return st->code;
        }
    }
    return FC_OK;
}

/* After an epoch (validate() done): history, early stopping. Returns nonzero on error. */
static int end_epoch(cstate *c, const fc_dataset *va, int epoch, double secs,
                     const fc_train_hooks *hooks, int idx, fc_status *st) {
    fc_epoch_stat e = {0};
    e.loss = (float)(c->loss_sum / (double)c->seen);
    e.acc = (float)((double)c->correct / (double)c->seen);
    e.seconds = secs;
    e.val_loss = e.val_acc = NAN;
    if (va && va->n) { /* logits from validate() */
        double vl, vacc;
        fc_head_val_metrics(c->hd, c->vlogits, va->n, va->y, c->cfg->l2, &vl, &vacc);
        e.val_loss = (float)vl, e.val_acc = (float)vacc;
    }
    c->hist->ep[c->hist->n++] = e;
    c->loss_sum = 0, c->correct = 0, c->seen = 0;
    double monitor = va && va->n ? e.val_loss : e.loss;
    if (monitor < c->best_val) {
        c->best_val = monitor;
        c->hist->best = epoch;
        c->wait = 0;
        if (c->best) fc_head_copy_weights(c->best, c->hd);
    } else if (c->cfg->patience > 0 && ++c->wait >= c->cfg->patience) {
        c->hist->stopped_early = 1;
        c->active = 0;
    }
    if (epoch + 1 >= c->cfg->epochs) c->active = 0;
    if (!c->active && c->best) {
        if (c->best_val < INFINITY) fc_head_copy_weights(c->hd, c->best);
        else /* no epoch had a finite val_loss: nothing to restore, the last weights stay, as
              * tf.keras's EarlyStopping without best weights (Keras 2.2.4 fails in
              * set_weights(None)); the initial weights in c->best were never trained */
            c->hist->best = c->hist->n - 1;
    }
    if (hooks && hooks->on_epoch) hooks->on_epoch(hooks->ctx, idx, epoch, &e);
    return FC_OK;
}

/* scikit-learn's compute_class_weight('balanced', classes=np.unique(y), y=y): n / (K * n_c)
 * with K the classes the training split has, not the store's (a class folder with no
 * training images, which run_common warns of, is not in y and would shrink every weight) */
static void class_weights(const fc_dataset *tr, float *cw) {
    long *cnt = calloc((size_t)tr->n_classes, sizeof *cnt);
    if (!cnt) return;
    for (size_t i = 0; i < tr->n; i++) cnt[tr->y[i]]++;
    int present = 0;
    for (int k = 0; k < tr->n_classes; k++) present += cnt[k] > 0;
    for (int k = 0; k < tr->n_classes; k++)
        cw[k] = cnt[k] ? (float)((double)tr->n / ((double)present * (double)cnt[k])) : 0.0f;
    free(cnt);
}

typedef struct {
    size_t *perm, *perm_next;
    const float **cur, **nxt; /* batch row pointers */
    int32_t *yb;
    float *swb, *cw;
    float *pooled, *vpooled;  /* pooled train / validation features (NULL for flatten) */
    float *vwpooled;          /* pooled augmented views (augment with gap/gmp) */
    float *scr_cur, *scr_nxt; /* half-resident views widened for the batch in cur / nxt */
} loop_bufs;

static void loop_bufs_free(loop_bufs *b) {
    free(b->perm), free(b->perm_next), free(b->cur), free(b->nxt);
    free(b->yb), free(b->swb), free(b->cw), free(b->pooled), free(b->vpooled), free(b->vwpooled);
    free(b->scr_cur), free(b->scr_nxt);
}

static int check_group(const fc_dataset *tr, const fc_dataset *va, const fc_train_config *cfg,
                       int n, fc_status *st) {
    if (fc_train_check_data(tr, va, "train", st)) return st->code;
    for (int i = 0; i < n; i++) {
        const fc_train_config *c = &cfg[i];
        if (!fc_train_compatible(c, &cfg[0]))
            return fc_fail(st, FC_ERR_INTERNAL, "configs of a group must share pool, batch and seed");
        if (c->epochs < 1 || c->batch < 1 || c->arch.dropout < 0 || c->arch.dropout >= 1 ||
            !(c->opt.lr > 0) || c->l2 < 0) {
            char d[32], lr[32], l2[32];
            fc_fmt_repr_f32(c->arch.dropout, d, sizeof d);
            fc_fmt_repr_f32(c->opt.lr, lr, sizeof lr);
            fc_fmt_repr_f32(c->l2, l2, sizeof l2);
            return fc_fail(st, FC_ERR_ARG, "bad training config (epochs %d, batch %d, dropout %s, lr %s, l2 %s)",
                           c->epochs, c->batch, d, lr, l2);
        }
        if (c->patience > 0 && (!va || !va->n))
            return fc_fail(st, FC_ERR_FORMAT, "--patience needs a validation split, and the store has none");
    }
    return FC_OK;
}

/* Training rows of a batch: image perm[start + b], or with views (augment) its view
 * drawn from (seed, epoch, image), like ImageDataGenerator's fresh transform of each
 * image every epoch. */
typedef struct {
    const float *X, *V;  /* features; views (NULL: none), K per image */
    const uint16_t *V16; /* or the views as halves (f16 stores), widened per batch into scr */
    size_t D0;
    int K;
    uint64_t seed;
} row_src;

/* scr: batch * D0 floats that stay valid while `rows` is in use (half-resident views) */
static void set_rows(const row_src *r, int epoch, const size_t *perm, size_t start, int Bs, const float **rows,
                     float *scr) {
    if (!r->V && !r->V16) {
        for (int b = 0; b < Bs; b++) rows[b] = r->X + perm[start + b] * r->D0;
        return;
    }
    uint64_t key = fc_rng_key(r->seed, FC_RNG_VIEW, (uint64_t)epoch, 0);
    for (int b = 0; b < Bs; b++) {
        size_t i = perm[start + b];
        uint64_t v = fc_mix64(key + (uint64_t)i * 0x9e3779b97f4a7c15ULL) % (uint64_t)r->K;
        size_t at = (i * (size_t)r->K + v) * r->D0;
        if (r->V16) {
            fc_f16_to_f32_array(r->V16 + at, scr + (size_t)b * r->D0, r->D0);
            rows[b] = scr + (size_t)b * r->D0;
        } else {
            rows[b] = r->V + at;
        }
    }
}

/* ---- checkpoints (ckpt.h): the state of every config at an epoch boundary ---- */

static void put_state(fc_ckw *w, const cstate *c) {
    int64_t t = c->t;
    int32_t aw[2] = {c->active, c->wait};
    fc_ckw_put(w, &t, sizeof t);
    fc_ckw_put(w, aw, sizeof aw);
    fc_ckw_put(w, &c->best_val, sizeof c->best_val);
    int64_t cs[2] = {c->correct, c->seen};
    fc_ckw_put(w, &c->loss_sum, sizeof c->loss_sum);
    fc_ckw_put(w, cs, sizeof cs);
    fc_ckw_hist(w, c->hist);
    const fc_head *hd = c->hd;
    for (int l = 0; l < c->L; l++) {
        size_t nw = (size_t)hd->dims[l] * hd->dims[l + 1], nb = (size_t)hd->dims[l + 1];
        fc_ckw_arr(w, hd->w[l], nw, sizeof(float));
        fc_ckw_arr(w, hd->b[l], nb, sizeof(float));
        fc_ckw_arr(w, c->s1[l], nw, sizeof(float));
        fc_ckw_arr(w, c->s2[l], nw, sizeof(float));
        fc_ckw_arr(w, c->sb1[l], nb, sizeof(float));
        fc_ckw_arr(w, c->sb2[l], nb, sizeof(float));
        if (c->best) {
            fc_ckw_arr(w, c->best->w[l], nw, sizeof(float));
            fc_ckw_arr(w, c->best->b[l], nb, sizeof(float));
        }
    }
    fc_ckw_arr(w, c->last, (size_t)hd->dims[0], sizeof(uint32_t));
}

/* A config's counters, read from a checkpoint taken after `steps` steps of epoch `epochs`
 * (nb steps per epoch), are ones a run of cfg reaches: t steps taken, active (0/1) and
 * early-stopping wait, correct <= seen rows of the partial epoch, and the history: an
 * active config has one entry per epoch done and epochs left, a stopped one 1..epochs. */
static int state_fits(const fc_train_config *cfg, int64_t t, const int32_t aw[2], const int64_t cs[2],
                      const fc_history *h, unsigned epochs, unsigned steps, int nb) {
    if (t < 0 || t > (int64_t)epochs * nb + steps) return 0;
    if ((aw[0] != 0 && aw[0] != 1) || aw[1] < 0 || aw[1] > (cfg->patience > 0 ? cfg->patience : 0)) return 0;
    if (cs[0] < 0 || cs[0] > cs[1] || cs[1] > (int64_t)steps * cfg->batch) return 0;
    return aw[0] ? h->n == (int64_t)epochs && (int64_t)epochs < cfg->epochs : h->n >= 1 && h->n <= (int64_t)epochs;
}

/* a config's counters (state_fits) and the checkpoint's own history in hist */
static int get_counters(fc_ckpt *ck, int64_t *t, int32_t aw[2], double *best_val, double *loss_sum, int64_t cs[2],
                        fc_history *hist, int cap, fc_status *st) {
    if (fc_ckr_get(ck, t, sizeof *t, st) || fc_ckr_get(ck, aw, 2 * sizeof *aw, st) ||
        fc_ckr_get(ck, best_val, sizeof *best_val, st) || fc_ckr_get(ck, loss_sum, sizeof *loss_sum, st) ||
        fc_ckr_get(ck, cs, 2 * sizeof *cs, st) || fc_ckr_hist(ck, hist, cap, st))
        return st->code ? (int)st->code : FC_ERR_FORMAT; /* nonzero, also to the static analyzer */
    return FC_OK;
}

/* the lazy-RMSprop step counters: none past the config's step t */
static int last_fits(const uint32_t *last, size_t n, int64_t t) {
    for (size_t i = 0; i < n; i++)
        if (last[i] > t) return 0;
    return 1;
}

static int not_fit(const fc_ckpt *ck, fc_status *st) {
    return fc_fail(st, FC_ERR_FORMAT, "%s: checkpoint state does not fit this run (remove it or run with --no-resume)",
                   ck->path);
}

int fc_train_ckpt_check(fc_ckpt *ck, const int *unit, int n, unsigned epochs, unsigned steps, fc_status *st) {
    const fc_dataset *tr = ck->tr;
    if (!n) return epochs || steps ? not_fit(ck, st) : FC_OK; /* between units: no position */
    const fc_train_config *c0 = &ck->cfg[unit[0]];
    int max_epochs = 0;
    for (int i = 0; i < n; i++) {
        const fc_train_config *c = &ck->cfg[unit[i]];
        if (!fc_train_compatible(c, c0)) return not_fit(ck, st);
        max_epochs = c->epochs > max_epochs ? c->epochs : max_epochs;
    }
    const size_t nbz = c0->batch > 0 ? (tr->n + (size_t)c0->batch - 1) / (size_t)c0->batch : 0;
    if (nbz > INT32_MAX || !(epochs || steps) || epochs >= (unsigned)max_epochs || steps >= nbz)
        return fc_fail(st, FC_ERR_FORMAT, "%s: checkpoint at epoch %u, step %u does not fit this run (%d epochs of %zu "
                                          "steps)", ck->path, epochs + 1, steps, max_epochs, nbz);
    const size_t D0 = fc_head_in_dim(c0->arch.pool, tr->h, tr->w, tr->c);
    uint32_t *last = NULL;
    int rc = FC_OK;
    for (int i = 0; i < n && rc == FC_OK; i++) {
        const fc_train_config *c = &ck->cfg[unit[i]];
        int64_t t, cs[2];
        int32_t aw[2];
        double bv, ls;
        fc_history h = {0};
        rc = get_counters(ck, &t, aw, &bv, &ls, cs, &h, c->epochs, st);
        if (!rc && !state_fits(c, t, aw, cs, &h, epochs, steps, (int)nbz)) rc = not_fit(ck, st);
        fc_history_free(&h);
        size_t dims[FC_HEAD_MAX_LAYERS + 1];
        const int L = c->arch.n_hidden + 1, ns = fc_optim_n_state(&c->opt), best = c->patience > 0;
        dims[0] = D0, dims[L] = (size_t)fc_head_out_units(tr->n_classes);
        for (int l = 0; l < c->arch.n_hidden; l++) dims[l + 1] = (size_t)c->arch.hidden[l];
        for (int l = 0; l < L && rc == FC_OK; l++) { /* as put_state writes them */
            size_t nw = dims[l] * dims[l + 1], nb = dims[l + 1];
            const size_t cnt[8] = {nw, nb, ns >= 1 ? nw : 0, ns >= 2 ? nw : 0, ns >= 1 ? nb : 0, ns >= 2 ? nb : 0,
                                   best ? nw : 0, best ? nb : 0};
            for (int k = 0; k < (best ? 8 : 6) && rc == FC_OK; k++) rc = fc_ckr_skip(ck, cnt[k], sizeof(float), st);
        }
        const size_t nl = c->opt.kind == FC_OPTIM_RMSPROP && c->l2 == 0.0f ? D0 : 0;
        if (!rc && nl && !last && !(last = fc_malloc(D0 * sizeof *last, st))) rc = st->code;
        if (!rc) rc = fc_ckr_arr(ck, nl ? last : NULL, nl, sizeof *last, st);
        if (!rc && !last_fits(last, nl, t)) rc = not_fit(ck, st);
    }
    free(last);
    return rc;
}

static int get_state(fc_ckpt *ck, cstate *c, fc_status *st) {
    int64_t t, cs[2];
    int32_t aw[2];
    if (get_counters(ck, &t, aw, &c->best_val, &c->loss_sum, cs, c->hist, c->cfg->epochs, st)) return st->code;
    c->correct = (long)cs[0], c->seen = (long)cs[1];
    const int nb = (int)((ck->tr->n + (size_t)c->cfg->batch - 1) / (size_t)c->cfg->batch);
    if (!state_fits(c->cfg, t, aw, cs, c->hist, ck->r_epochs, ck->r_steps, nb)) return not_fit(ck, st);
    c->t = (long)t, c->active = aw[0] != 0, c->wait = aw[1];
    const fc_head *hd = c->hd;
    for (int l = 0; l < c->L; l++) {
        size_t nw = (size_t)hd->dims[l] * hd->dims[l + 1], nb = (size_t)hd->dims[l + 1];
        if (fc_ckr_arr(ck, hd->w[l], nw, sizeof(float), st) || fc_ckr_arr(ck, hd->b[l], nb, sizeof(float), st) ||
            fc_ckr_arr(ck, c->s1[l], nw, sizeof(float), st) || fc_ckr_arr(ck, c->s2[l], nw, sizeof(float), st) ||
            fc_ckr_arr(ck, c->sb1[l], nb, sizeof(float), st) || fc_ckr_arr(ck, c->sb2[l], nb, sizeof(float), st))
            return st->code;
        if (c->best && (fc_ckr_arr(ck, c->best->w[l], nw, sizeof(float), st) ||
                        fc_ckr_arr(ck, c->best->b[l], nb, sizeof(float), st)))
            return st->code;
    }
    if (fc_ckr_arr(ck, c->last, (size_t)hd->dims[0], sizeof(uint32_t), st)) return st->code;
    return c->last && !last_fits(c->last, (size_t)hd->dims[0], t) ? not_fit(ck, st) : FC_OK;
}

/* A checkpoint after `steps` steps of epoch e (0: at the end of epoch e - 1, every
 * config's end_epoch done); secs: time spent in epoch e so far. */
static void save_group(group *g, int e, int steps, double secs) {
    fc_ckw w;
    if (fc_ckpt_begin(g->ck, &w, g->unit, g->n, (unsigned)e, (unsigned)steps, secs)) return;
    for (int i = 0; i < g->n; i++) put_state(&w, &g->cs[i]);
    fc_ckpt_commit(&w);
}

/* After epoch e: a checkpoint when one is due (or a stop was asked) and a config trains
 * on. Returns 1 when the run must stop here (fc_stop_requested). */
static int checkpoint(group *g, int e, int max_epochs) {
    int any = 0;
    for (int i = 0; i < g->n; i++) any |= g->cs[i].active;
    if (!any || e + 1 >= max_epochs) return 0;
    if (fc_stop_requested || fc_ckpt_due(g->ck)) save_group(g, e + 1, 0, 0.0);
    return fc_stop_requested != 0;
}

static int run_epochs(group *g, fc_tpool *pool, const fc_dataset *tr, const fc_dataset *va,
                      const row_src *src, loop_bufs *lb, const fc_train_hooks *hooks, fc_status *st) {
    const fc_train_config *c0 = g->cs[0].cfg;
    const int batch = c0->batch, T = fc_tpool_size(pool);
    const size_t n = tr->n;
    const int nb = (int)((n + batch - 1) / batch);
    int max_epochs = 0;
    for (int i = 0; i < g->n; i++) max_epochs = g->cs[i].cfg->epochs > max_epochs ? g->cs[i].cfg->epochs : max_epochs;
    const int e0 = g->e0, s0 = g->s0; /* > 0: resumed from a checkpoint */
    if (e0 < 0 || s0 < 0 || e0 >= max_epochs || s0 >= nb) /* fc_train_ckpt_check refused such a checkpoint */
        return fc_fail(st, FC_ERR_FORMAT, "%s: checkpoint at epoch %d, step %d does not fit this run (%d epochs of %d "
                                          "steps): remove it or run with --no-resume",
                       g->ck ? g->ck->path : "checkpoint", e0 + 1, s0, max_epochs, nb);
    shuffle(lb->perm, n, c0->seed, e0);
    const size_t first = (size_t)s0 * batch;
    int B0 = (int)(n < (size_t)batch ? n : (size_t)batch), Bf = (int)(n - first < (size_t)batch ? n - first : (size_t)batch);
    set_rows(src, e0, lb->perm, first, Bf, lb->nxt, lb->scr_nxt);
    for (int i = 0; i < g->n; i++) g->cs[i].fl.bt = 0, g->cs[i].fl.xn = lb->nxt, g->cs[i].fl.bn = Bf;
    fc_tpool_run(pool, fused_phase, g); /* the first batch's first-layer forward */
    for (int e = e0; e < max_epochs; e++) {
        double t0 = fc_now() - (e == e0 ? g->epoch_secs0 : 0.0);
        if (e + 1 < max_epochs) shuffle(lb->perm_next, n, c0->seed, e + 1);
        for (int s = e == e0 ? s0 : 0; s < nb; s++) {
            size_t start = (size_t)s * batch;
            int Bs = (int)(n - start < (size_t)batch ? n - start : (size_t)batch);
            const float **tmp = lb->cur; lb->cur = lb->nxt; lb->nxt = tmp;
            float *ts = lb->scr_cur; lb->scr_cur = lb->scr_nxt; lb->scr_nxt = ts;
            for (int b = 0; b < Bs; b++) {
                lb->yb[b] = tr->y[lb->perm[start + b]];
                lb->swb[b] = lb->cw[lb->yb[b]];
            }
            int Bn = 0;
            if (s + 1 < nb) {
                size_t ns = start + (size_t)batch;
                Bn = (int)(n - ns < (size_t)batch ? n - ns : (size_t)batch);
                set_rows(src, e, lb->perm, ns, Bn, lb->nxt, lb->scr_nxt);
            } else if (e + 1 < max_epochs) {
                Bn = B0;
                set_rows(src, e + 1, lb->perm_next, 0, Bn, lb->nxt, lb->scr_nxt);
            }
            for (int i = 0; i < g->n; i++) {
                cstate *c = &g->cs[i];
                if (!c->active) continue;
                cfg_step(c, Bs, T, lb->yb, c->cfg->class_weight ? lb->swb : NULL, e, s);
                c->fl.xt = lb->cur, c->fl.bt = Bs, c->fl.dz = c->dz0;
                c->fl.xn = lb->nxt;
                c->fl.bn = (s + 1 < nb || e + 1 < c->cfg->epochs) ? Bn : 0;
            }
            fc_tpool_run(pool, fused_phase, g);
            fc_ckpt_test_stop(e, s);
            if (fc_stop_requested && g->ck && s + 1 < nb) { /* SIGINT/SIGTERM: save this step's state, stop */
                save_group(g, e, s + 1, fc_now() - t0);
                return fc_fail(st, FC_ERR_INTERRUPTED, "interrupted in epoch %d, after step %d of %d: %s", e + 1, s + 1,
                               nb, g->ck->disabled ? "no checkpoint could be written" : "state saved; run the same command to resume");
            }
        }
        size_t *tp = lb->perm; lb->perm = lb->perm_next; lb->perm_next = tp;
        if (va && va->n && validate(g, pool, va->n, st)) return st->code;
        double secs = fc_now() - t0; /* like Keras's epoch time: training and validation */
        for (int i = 0; i < g->n; i++)
            if (g->cs[i].active && end_epoch(&g->cs[i], va, e, secs, hooks, i, st)) return st->code;
        int any = 0;
        for (int i = 0; i < g->n; i++) any |= g->cs[i].active;
        if (!any) break; /* every config stopped early: nothing left to train */
        if (g->ck && checkpoint(g, e, max_epochs))
            return fc_fail(st, FC_ERR_INTERRUPTED, "interrupted after epoch %d: %s", e + 1,
                           g->ck->disabled ? "no checkpoint could be written" : "state saved; run the same command to resume");
    }
    return FC_OK;
}

static int train_group(const fc_dataset *tr, const fc_dataset *va, const fc_train_config *cfg, int n, int threads,
                       const fc_train_hooks *hooks, fc_head **heads, fc_history *hist, fc_status *st);

int fc_train_group(const fc_dataset *tr, const fc_dataset *va, const fc_train_config *cfg,
                   int n, int threads, const fc_train_hooks *hooks, fc_head **heads,
                   fc_history *hist, fc_status *st) {
    unsigned mode = fc_ftz_enter(); /* fpmode.h; the team's threads set it too (tpool.c) */
    int rc = train_group(tr, va, cfg, n, threads, hooks, heads, hist, st);
    fc_ftz_leave(mode);
    return rc;
}

static int train_group(const fc_dataset *tr, const fc_dataset *va, const fc_train_config *cfg, int n, int threads,
                       const fc_train_hooks *hooks, fc_head **heads, fc_history *hist, fc_status *st) {
    int rc = FC_OK;
    group g = {0};
    loop_bufs lb = {0};
    fc_tpool *pool = NULL;
    for (int i = 0; i < n; i++) heads[i] = NULL, memset(&hist[i], 0, sizeof hist[i]);
    if (n < 1) return fc_fail(st, FC_ERR_ARG, "no configs");
    if (check_group(tr, va, cfg, n, st)) return st->code;
    if (threads < 1) threads = 1;
    int batch = cfg[0].batch;
    size_t D0 = fc_head_in_dim(cfg[0].arch.pool, tr->h, tr->w, tr->c);
    if (D0 > INT32_MAX) return fc_fail(st, FC_ERR_NOMEM, "train: input too large");
    if (threads > (int)D0) threads = (int)D0;
    g.D0 = (int)D0;
    g.cs = fc_calloc((size_t)n, sizeof *g.cs, st);
    lb.perm = fc_malloc(tr->n * sizeof(size_t), st);
    lb.perm_next = fc_malloc(tr->n * sizeof(size_t), st);
    lb.cur = fc_calloc((size_t)batch, sizeof(float *), st);
    lb.nxt = fc_calloc((size_t)batch, sizeof(float *), st);
    lb.yb = fc_calloc((size_t)batch, sizeof(int32_t), st);
    lb.swb = fc_calloc((size_t)batch, sizeof(float), st);
    lb.cw = fc_calloc((size_t)tr->n_classes, sizeof(float), st);
    if (!g.cs || !lb.perm || !lb.perm_next || !lb.cur || !lb.nxt || !lb.yb || !lb.swb || !lb.cw) {
        rc = st->code;
        goto out;
    }
    class_weights(tr, lb.cw);
    row_src src = {tr->x, NULL, NULL, D0, 0, cfg[0].seed};
    if (cfg[0].augment) {
        if ((!tr->views && !tr->views16) || tr->n_views < 1) {
            rc = fc_fail(st, FC_ERR_FORMAT, "train --augment: the training data has no augmented views");
            goto out;
        }
        src.V = tr->views, src.V16 = tr->views16, src.K = tr->n_views;
    }
    if (cfg[0].arch.pool != FC_POOL_FLATTEN) {
        if (!(lb.pooled = fc_aligned_alloc(tr->n * D0 * sizeof(float), st))) { rc = st->code; goto out; }
        fc_pool_forward(cfg[0].arch.pool, tr->x, tr->n, tr->h, tr->w, tr->c, lb.pooled);
        src.X = lb.pooled;
        if (src.V || src.V16) { /* pool every view once (small: K x n x channels) */
            size_t nv = tr->n * (size_t)src.K, dim = tr->dim;
            float *one = src.V16 ? fc_aligned_alloc(dim * sizeof(float), st) : NULL;
            if (!(lb.vwpooled = fc_aligned_alloc(nv * D0 * sizeof(float), st)) || (src.V16 && !one)) {
                free(one);
                rc = st->code;
                goto out;
            }
            if (src.V16)
                for (size_t v = 0; v < nv; v++) {
                    fc_f16_to_f32_array(src.V16 + v * dim, one, dim);
                    fc_pool_forward(cfg[0].arch.pool, one, 1, tr->h, tr->w, tr->c, lb.vwpooled + v * D0);
                }
            else
                fc_pool_forward(cfg[0].arch.pool, tr->views, nv, tr->h, tr->w, tr->c, lb.vwpooled);
            free(one);
            src.V = lb.vwpooled, src.V16 = NULL;
        }
    }
    if (src.V16 && (!(lb.scr_cur = fc_aligned_alloc((size_t)batch * D0 * sizeof(float), st)) ||
                    !(lb.scr_nxt = fc_aligned_alloc((size_t)batch * D0 * sizeof(float), st)))) {
        rc = st->code;
        goto out;
    }
    size_t n_val = va ? va->n : 0;
    g.vx = n_val ? va->x : NULL;
    if (n_val && cfg[0].arch.pool != FC_POOL_FLATTEN) {
        if (!(lb.vpooled = fc_aligned_alloc(n_val * D0 * sizeof(float), st))) { rc = st->code; goto out; }
        fc_pool_forward(cfg[0].arch.pool, va->x, n_val, va->h, va->w, va->c, lb.vpooled);
        g.vx = lb.vpooled;
    }
    for (int i = 0; i < n; i++, g.n++) {
        if ((rc = cstate_init(&g.cs[i], &cfg[i], tr, n_val, threads, st))) {
            g.n++;
            goto out;
        }
        hist[i].ep = fc_calloc((size_t)cfg[i].epochs, sizeof(fc_epoch_stat), st);
        if (!hist[i].ep) { rc = st->code; g.n++; goto out; }
        g.cs[i].hist = &hist[i];
    }
    if (!(g.nz = fc_calloc((size_t)threads, sizeof *g.nz, st))) { rc = st->code; goto out; }
    for (int t = 0; t < threads; t++)
        if (fc_nz_alloc(&g.nz[t], FC_NZ_CHUNK, batch)) { rc = fc_fail(st, FC_ERR_NOMEM, "train: out of memory"); goto out; }
    g.ck = hooks && hooks->ckpt && hooks->ckpt->path ? hooks->ckpt : NULL, g.unit = hooks ? hooks->unit : NULL;
    if (g.ck && fc_ckpt_resumes(g.ck, g.unit, n)) { /* continue after the checkpoint's epochs */
        for (int i = 0; i < n && rc == FC_OK; i++) rc = get_state(g.ck, &g.cs[i], st);
        fc_ckpt_close(g.ck);
        if (rc) goto out;
        g.e0 = (int)g.ck->r_epochs, g.s0 = (int)g.ck->r_steps, g.epoch_secs0 = g.ck->r_epoch_secs;
    }
    if ((rc = fc_tpool_create(threads, &pool, st))) goto out;
    rc = run_epochs(&g, pool, tr, va, &src, &lb, hooks, st);
out:
    fc_tpool_free(pool);
    for (int i = 0; i < g.n; i++) {
        cstate_free_a(&g.cs[i]);
        if (rc == FC_OK) heads[i] = g.cs[i].hd;
        else fc_head_free(g.cs[i].hd), fc_history_free(&hist[i]);
        cstate_free(&g.cs[i]);
    }
    free(g.cs);
    for (int t = 0; g.nz && t < threads; t++) fc_nz_free(&g.nz[t]);
    free(g.nz);
    loop_bufs_free(&lb);
    return rc;
}
