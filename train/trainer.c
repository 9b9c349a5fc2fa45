/* trainer.c - Model.fit for a group of heads that share input, batch order and seed.
 *
 * Per step: (1) for every config, single-threaded and small: finish the forward pass from
 * the first layer's pre-activations (computed during the previous step), loss, backward,
 * update of the layers after the first and of the first bias; (2) all threads: the fused
 * first-layer pass (fused.h) over their rows for every config, which also produces the
 * next batch's first-layer pre-activations. */
#include "trainer.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "fpmode.h"
#include "fused.h"
#include "rng.h"

void fc_train_config_defaults(fc_train_config *c) {
    memset(c, 0, sizeof *c);
    c->arch.pool = FC_POOL_FLATTEN;
    c->arch.n_hidden = 1;
    c->arch.hidden[0] = 256;
    c->arch.act = FC_ACT_RELU;
    c->arch.dropout = 0.5f;
    fc_optim_defaults(FC_OPTIM_RMSPROP, &c->opt);
    c->opt.lr = 2e-5f;
    c->epochs = 30;
    c->batch = 20;
    c->seed = 1;
}

void fc_history_free(fc_history *h) {
    if (!h) return;
    free(h->ep);
    h->ep = NULL;
    h->n = 0;
}

int fc_history_restored(const fc_history *h, int patience) {
    return patience > 0 && h->n > 0 && isfinite(h->ep[h->best].val_loss);
}

int fc_train_compatible(const fc_train_config *a, const fc_train_config *b) {
    return a->arch.pool == b->arch.pool && a->batch == b->batch && a->seed == b->seed && a->augment == b->augment;
}

int fc_train_check_data(const fc_dataset *tr, const fc_dataset *va, const char *what,
                        fc_status *st) {
    if (!tr || tr->n == 0) return fc_fail(st, FC_ERR_FORMAT, "%s: the train split is empty", what);
    if (tr->n_classes < 2)
        return fc_fail(st, FC_ERR_FORMAT, "%s: %d class(es); a classifier needs at least 2", what,
                       tr->n_classes);
    if (tr->dim != (size_t)tr->h * tr->w * tr->c || tr->dim == 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: bad feature shape %dx%dx%d", what, tr->h, tr->w, tr->c);
    int first = -1, two = 0;
    for (size_t i = 0; i < tr->n; i++) {
        int y = tr->y[i];
        if (y < 0 || y >= tr->n_classes)
            return fc_fail(st, FC_ERR_FORMAT, "%s: train label %d out of range [0, %d)", what, y,
                           tr->n_classes);
        if (first < 0) first = y;
        else if (y != first) two = 1;
    }
    if (!two)
        return fc_fail(st, FC_ERR_FORMAT, "%s: the train split has only one class ('%s'); need at least 2",
                       what, tr->class_names && tr->class_names[first] ? tr->class_names[first] : "?");
    if (va && va->n) {
        if (va->h != tr->h || va->w != tr->w || va->c != tr->c)
            return fc_fail(st, FC_ERR_MISMATCH, "%s: validation features %dx%dx%d differ from train %dx%dx%d",
                           what, va->h, va->w, va->c, tr->h, tr->w, tr->c);
        for (size_t i = 0; i < va->n; i++)
            if (va->y[i] < 0 || va->y[i] >= tr->n_classes)
                return fc_fail(st, FC_ERR_FORMAT, "%s: validation label %d out of range", what, va->y[i]);
    }
    return FC_OK;
}

double fc_head_l2_penalty(const fc_head *hd, float l2) {
    if (l2 == 0.0f) return 0.0;
    double s = 0;
    for (int l = 0; l < hd->n_layers; l++) {
        size_t n = (size_t)hd->dims[l] * hd->dims[l + 1];
        /* in double: a float32 running sum over millions of small squares drops more of each
         * term as it grows (a Dense(4096) kernel's penalty came out 11% low) */
        for (size_t i = 0; i < n; i++) s += (double)hd->w[l][i] * hd->w[l][i];
    }
    return (double)l2 * s;
}

void fc_head_val_metrics(const fc_head *hd, const float *logits, size_t n, const int32_t *y, float l2,
                         double *loss, double *acc) {
    long correct = 0;
    double sum = fc_loss_forward_backward(logits, y, NULL, (int)n, hd->dims[hd->n_layers], NULL, &correct);
    *loss = n ? sum / (double)n + fc_head_l2_penalty(hd, l2) : NAN;
    *acc = n ? (double)correct / (double)n : NAN;
}

int fc_head_evaluate(const fc_head *hd, const float *x, size_t n, const int32_t *y, float l2,
                     double *loss, double *acc, float *probs, fc_status *st) {
    int U = hd->dims[hd->n_layers];
    float *logits = fc_aligned_alloc((n ? n : 1) * (size_t)U * sizeof(float), st);
    if (!logits) return st->code;
    if (fc_head_logits(hd, x, n, logits, st)) {
        free(logits);
        return st->code;
    }
    unsigned mode = fc_ftz_enter(); /* the loss as training's validation computes it (fpmode.h) */
    fc_head_val_metrics(hd, logits, n, y, l2, loss, acc);
    if (probs) fc_probs(probs, logits, (int)n, U);
    fc_ftz_leave(mode);
    free(logits);
    return FC_OK;
}
