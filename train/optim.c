/* optim.c - optimizer names, defaults, per-step coefficients and the scalar update. */
#include "optim.h"

#include <math.h>
#include <string.h>

int fc_optim_parse(const char *s, fc_optim_kind *out) {
    if (!strcmp(s, "rmsprop")) *out = FC_OPTIM_RMSPROP;
    else if (!strcmp(s, "adam")) *out = FC_OPTIM_ADAM;
    else if (!strcmp(s, "sgd")) *out = FC_OPTIM_SGD;
    else return -1;
    return 0;
}

const char *fc_optim_name(fc_optim_kind k) {
    return k == FC_OPTIM_ADAM ? "adam" : k == FC_OPTIM_SGD ? "sgd" : "rmsprop";
}

void fc_optim_defaults(fc_optim_kind kind, fc_optim *o) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->rho = 0.9f;
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-7f;
    o->lr = kind == FC_OPTIM_SGD ? 0.01f : 0.001f;
}

int fc_optim_n_state(const fc_optim *o) {
    if (o->kind == FC_OPTIM_ADAM) return 2;
    if (o->kind == FC_OPTIM_SGD) return o->momentum != 0.0f ? 1 : 0;
    return 1;
}

void fc_optim_step_init(const fc_optim *o, long t, fc_optim_step *s) {
    memset(s, 0, sizeof *s);
    s->kind = o->kind;
    s->lr = o->lr;
    s->eps = o->eps;
    s->nesterov = o->nesterov;
    switch (o->kind) {
    case FC_OPTIM_RMSPROP:
        s->c1 = o->rho, s->c2 = 1.0f - o->rho;
        break;
    case FC_OPTIM_ADAM: {
        float b1p = powf(o->beta1, (float)t), b2p = powf(o->beta2, (float)t);
        s->lr = o->lr * (sqrtf(1.0f - b2p) / (1.0f - b1p));
        s->c1 = o->beta1, s->c2 = 1.0f - o->beta1;
        s->d1 = o->beta2, s->d2 = 1.0f - o->beta2;
        break;
    }
    default:
        s->c1 = o->momentum;
        s->plain_sgd = o->momentum == 0.0f;
    }
}

void fc_optim_update(const fc_optim_step *s, float *w, const float *g, float *s1, float *s2,
                     size_t n, float l2x2) {
    float dummy1 = 0, dummy2 = 0;
    for (size_t i = 0; i < n; i++) {
        float gi = l2x2 != 0.0f ? g[i] + l2x2 * w[i] : g[i];
        w[i] = fc_optim_apply1(s, w[i], gi, s1 ? &s1[i] : &dummy1, s2 ? &s2[i] : &dummy2);
    }
}
