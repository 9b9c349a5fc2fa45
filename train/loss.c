/* loss.c - sigmoid + binary cross-entropy and softmax + categorical cross-entropy.
 *
 * Reported values follow Keras: probabilities are clipped to [eps, 1 - eps], eps = 1e-7
 * (K.epsilon()), before the log. Gradients are the exact logit gradients p - y (what
 * tf.keras computes when the loss sees the sigmoid/softmax logits); they differ from the
 * clipped version only where |logit| > 16. Logs are taken through log-sigmoid /
 * log-softmax in double so that no probability underflows before clipping. */
#include <math.h>

#include "head.h"

#define FC_LOSS_EPS 1e-7

static double clip_log(double logp) {
    const double lo = log(FC_LOSS_EPS), hi = log1p(-FC_LOSS_EPS);
    return logp < lo ? lo : logp > hi ? hi : logp;
}

/* log(sigmoid(z)) without overflow */
static double log_sigmoid(double z) { return z >= 0 ? -log1p(exp(-z)) : z - log1p(exp(z)); }

static double binary_rows(const float *logits, const int32_t *y, const float *sw, int B,
                          float *dlogits, long *correct) {
    double total = 0;
    for (int i = 0; i < B; i++) {
        double z = logits[i], t = y[i] ? 1.0 : 0.0, w = sw ? sw[i] : 1.0;
        double l = -(t * clip_log(log_sigmoid(z)) + (1 - t) * clip_log(log_sigmoid(-z)));
        total += w * l;
        float p = 1.0f / (1.0f + expf(-logits[i]));
        if ((p > 0.5f) == (y[i] != 0)) (*correct)++;
        if (dlogits) dlogits[i] = (float)(w * ((double)p - t) / B);
    }
    return total;
}

static double softmax_rows(const float *logits, const int32_t *y, const float *sw, int B, int U,
                           float *dlogits, long *correct) {
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
        total += w * -clip_log((double)z[y[i]] - lse);
        if (best == y[i]) (*correct)++;
        if (dlogits)
            for (int k = 0; k < U; k++) {
                double p = exp((double)z[k] - lse);
                dlogits[(size_t)i * U + k] = (float)(w * (p - (k == y[i] ? 1.0 : 0.0)) / B);
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
