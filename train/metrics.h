/* metrics.h - classification report: accuracy, per-class precision/recall/F1, confusion. */
#ifndef FC_TRAIN_METRICS_H
#define FC_TRAIN_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "../common/fc.h"

typedef struct {
    int k;
    size_t n;
    double accuracy;
    double *precision, *recall, *f1; /* k each */
    long *support;                   /* k: true count per class */
    long *confusion;                 /* k*k, [true][predicted] */
    double macro[3], weighted[3];    /* precision, recall, F1: mean over the k classes, and
                                      * weighted by support (sklearn's two average rows) */
} fc_report_t;

/* pred/y: n class indices in [0, k). */
int fc_report_compute(const int32_t *y, const int32_t *pred, size_t n, int k, fc_report_t *r, fc_status *st);
void fc_report_free(fc_report_t *r);

/* A metric as Keras 2.2.4's Progbar prints it (fit's epoch lines, evaluate): "%.4f" above
 * 1e-3, else "%.4e" (a converged loss 0.00039 is 3.8629e-04, not 0.0004), every digit of a
 * huge one (a double's %.4f is at most 309 + 5 characters), "nan" for any NaN (printf may
 * say "-nan"). Returns buf. */
#define FC_KERAS_NUM_CAP 320
const char *fc_keras_num(double v, char buf[FC_KERAS_NUM_CAP]);

#endif
