/* optim.h - Keras optimizers, exact formulas and defaults.
 *
 * These are the Keras 2.2.4 formulas, which tf.keras's OptimizerV2 (TF 2.0-2.10) kept
 * (momentum-free RMSprop and non-amsgrad Adam), with tf.keras defaults (epsilon 1e-7):
 *   SGD     v = momentum*v - lr*g;  w += v            (nesterov: w += momentum*v - lr*g)
 *           momentum 0: w -= lr*g.                     default lr 0.01
 *   RMSprop ms = rho*ms + (1-rho)*g^2;  w -= lr*g / (sqrt(ms) + eps)
 *           rho 0.9, eps 1e-7, ms starts at 0.          default lr 0.001
 *   Adam    t += 1; lr_t = lr*sqrt(1-beta2^t)/(1-beta1^t)
 *           m = beta1*m + (1-beta1)*g;  v = beta2*v + (1-beta2)*g^2
 *           w -= lr_t*m / (sqrt(v) + eps)      beta1 0.9, beta2 0.999, eps 1e-7, lr 0.001
 * L2 (Keras kernel_regularizer=l2(l)) adds l*sum(w^2) to the loss, so g += 2*l*w for
 * kernels (not biases). */
#ifndef FC_TRAIN_OPTIM_H
#define FC_TRAIN_OPTIM_H

#include <stddef.h>

typedef enum { FC_OPTIM_RMSPROP, FC_OPTIM_ADAM, FC_OPTIM_SGD } fc_optim_kind;

typedef struct {
    fc_optim_kind kind;
    float lr;
    float rho;       /* RMSprop */
    float beta1, beta2;
    float eps;
    float momentum;  /* SGD */
    int nesterov;
} fc_optim;

int fc_optim_parse(const char *s, fc_optim_kind *out);
const char *fc_optim_name(fc_optim_kind k);
/* Keras defaults for kind (lr included). */
void fc_optim_defaults(fc_optim_kind kind, fc_optim *o);
/* Number of state arrays per parameter tensor (0, 1 or 2). */
int fc_optim_n_state(const fc_optim *o);

/* Per-step coefficients (step t >= 1), computed in float32 as TF does. */
typedef struct {
    fc_optim_kind kind;
    float lr;        /* lr, or Adam's lr_t */
    float c1, c2;    /* rho, 1-rho | beta1, 1-beta1 | momentum */
    float d1, d2;    /* -, - | beta2, 1-beta2 | - */
    float eps;
    int nesterov;
    int plain_sgd;   /* SGD without momentum */
} fc_optim_step;
void fc_optim_step_init(const fc_optim *o, long t, fc_optim_step *s);

/* One update of n parameters: w, gradient g (read-only), state s1/s2 (per
 * fc_optim_n_state), l2x2 = 2*l2 (0 for biases). Scalar reference (also used for the
 * small layers); the fused first-layer kernel (fused.c) applies the same formula. */
void fc_optim_update(const fc_optim_step *s, float *w, const float *g, float *s1, float *s2,
                     size_t n, float l2x2);

/* The same update on one element, shared by all code paths so they agree bit for bit. */
static inline float fc_optim_apply1(const fc_optim_step *s, float w, float g, float *s1,
                                    float *s2) {
    switch (s->kind) {
    case FC_OPTIM_RMSPROP: {
        float ms = s->c1 * *s1 + s->c2 * (g * g);
        *s1 = ms;
        return w - s->lr * g / (__builtin_sqrtf(ms) + s->eps);
    }
    case FC_OPTIM_ADAM: {
        float m = s->c1 * *s1 + s->c2 * g;
        float v = s->d1 * *s2 + s->d2 * (g * g);
        *s1 = m, *s2 = v;
        return w - s->lr * m / (__builtin_sqrtf(v) + s->eps);
    }
    default:
        if (s->plain_sgd) return w - s->lr * g;
        {
            float v = s->c1 * *s1 - s->lr * g;
            *s1 = v;
            return s->nesterov ? w + (s->c1 * v - s->lr * g) : w + v;
        }
    }
}

#endif
