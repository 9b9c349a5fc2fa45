/* loss.c - sigmoid + binary cross-entropy and softmax + categorical cross-entropy, as
 * Keras 2.2.4 computes them (backend/tensorflow_backend.py): the probability of the true
 * class is clipped to [eps, 1 - eps] in float32, eps = K.epsilon() = 1e-7 (so the upper
 * end is 1 - 1.1920929e-7), before the log. Where the clip binds, Keras's gradient is zero
 * (tf.clip_by_value passes none): such a row teaches nothing. Elsewhere the gradient is
 * the logit gradient p - y. Logs are taken through log-sigmoid / log-softmax in double so
 * that no probability underflows before clipping. */
#include <math.h>

#include "head.h"

static const float P_LO = 1e-7f, P_HI = 1.0f - 1e-7f; /* the float32 clip bounds */

static double clamp(double v, double lo, double hi) { return v < lo ? lo : v > hi ? hi : v; }

/* log(sigmoid(z)) without overflow */
static double log_sigmoid(double z) { return z >= 0 ? -log1p(exp(-z)) : z - log1p(exp(z)); }

static double binary_rows(const float *logits, const int32_t *y, const float *sw, int B,
                          float *dlogits, long *correct) {
    /* log p within [log P_LO, log P_HI]; log(1 - p) within [log(1 - P_HI), log(1 - P_LO)] */
    const double lo1 = log((double)P_LO), hi1 = log((double)P_HI);
    const double lo0 = log(1.0 - (double)P_HI), hi0 = log(1.0 - (double)P_LO);
    double total = 0;
    for (int i = 0; i < B; i++) {
        double z = logits[i], t = y[i] ? 1.0 : 0.0, w = sw ? sw[i] : 1.0;
        double l = y[i] ? -clamp(log_sigmoid(z), lo1, hi1) : -clamp(log_sigmoid(-z), lo0, hi0);
        total += w * l;
        float p = 1.0f / (1.0f + expf(-logits[i]));
        if ((p > 0.5f) == (y[i] != 0)) (*correct)++;
        if (dlogits) dlogits[i] = p < P_LO || p > P_HI ? 0.0f : (float)(w * ((double)p - t) / B);
    }
    return total;
}

static double softmax_rows(const float *logits, const int32_t *y, const float *sw, int B, int U,
                           float *dlogits, long *correct) {
    const double lo = log((double)P_LO), hi = log((double)P_HI);
    double total = 0;
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * U;
        double m, s = 0, w = sw ? sw[i] : 1.0;
        int best = 0;
        for (int k = 1; k < U; k++)
            if (z[k] > z[best]) best = k;
        m = z[best];
        for (int k = 0; k < U; k++) s += exp((double)z[k] - m);
        double lse = m + log(s);
        total += w * -clamp((double)z[y[i]] - lse, lo, hi);
        if (best == y[i]) (*correct)++;
        if (dlogits) {
            float py = (float)exp((double)z[y[i]] - lse);
            int clipped = py < P_LO || py > P_HI; /* only the true class's term has a gradient */
            for (int k = 0; k < U; k++) {
                double p = exp((double)z[k] - lse);
                dlogits[(size_t)i * U + k] = clipped ? 0.0f : (float)(w * (p - (k == y[i] ? 1.0 : 0.0)) / B);
            }
        }
    }
    return total;
}

double fc_loss_forward_backward(const float *logits, const int32_t *y, const float *sw, int B,
                                int U, float *dlogits, long *correct) {
    long dummy = 0;
    if (!correct) correct = &dummy;
    return U == 1 ? binary_rows(logits, y, sw, B, dlogits, correct)
                  : softmax_rows(logits, y, sw, B, U, dlogits, correct);
}

void fc_probs(float *p, const float *logits, int B, int U) {
    if (U == 1) {
        for (int i = 0; i < B; i++) p[i] = 1.0f / (1.0f + expf(-logits[i]));
        return;
    }
    for (int i = 0; i < B; i++) {
        const float *z = logits + (size_t)i * U;
        float *o = p + (size_t)i * U;
        float m = z[0];
        for (int k = 1; k < U; k++) m = z[k] > m ? z[k] : m;
        double s = 0;
        for (int k = 0; k < U; k++) s += exp((double)z[k] - m);
        for (int k = 0; k < U; k++) o[k] = (float)(exp((double)z[k] - m) / s);
    }
}

int fc_argmax_class(const float *p, int U) {
    if (U == 1) return p[0] > 0.5f;
    int best = 0;
    for (int k = 1; k < U; k++)
        if (p[k] > p[best]) best = k;
    return best;
}
