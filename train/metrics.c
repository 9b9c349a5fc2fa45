/* metrics.c - per-class metrics as sklearn's classification_report (zero_division = 0), and
 * metrics printed as Keras prints them. */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

int fc_report_compute(const int32_t *y, const int32_t *pred, size_t n, int k, fc_report_t *r, fc_status *st) {
    r->k = k, r->n = n;
    r->precision = fc_calloc((size_t)k, sizeof(double), st);
    r->recall = fc_calloc((size_t)k, sizeof(double), st);
    r->f1 = fc_calloc((size_t)k, sizeof(double), st);
    r->support = fc_calloc((size_t)k, sizeof(long), st);
    r->confusion = fc_calloc((size_t)k * (size_t)k, sizeof(long), st);
    if (!r->precision || !r->recall || !r->f1 || !r->support || !r->confusion) {
        fc_report_free(r);
        return st->code;
    }
    long correct = 0;
    for (size_t i = 0; i < n; i++) {
        r->confusion[(size_t)y[i] * k + pred[i]]++;
        correct += y[i] == pred[i];
    }
    r->accuracy = n ? (double)correct / (double)n : 0.0;
    for (int c = 0; c < k; c++) {
        long tp = r->confusion[(size_t)c * k + c], predicted = 0, actual = 0;
        for (int j = 0; j < k; j++) predicted += r->confusion[(size_t)j * k + c], actual += r->confusion[(size_t)c * k + j];
        r->support[c] = actual;
        r->precision[c] = predicted ? (double)tp / (double)predicted : 0.0;
        r->recall[c] = actual ? (double)tp / (double)actual : 0.0;
        double s = r->precision[c] + r->recall[c];
        r->f1[c] = s > 0 ? 2 * r->precision[c] * r->recall[c] / s : 0.0;
    }
    for (int m = 0; m < 3; m++) {
        const double *v = m == 0 ? r->precision : m == 1 ? r->recall : r->f1;
        double sum = 0, wsum = 0;
        for (int c = 0; c < k; c++) sum += v[c], wsum += v[c] * (double)r->support[c];
        r->macro[m] = k ? sum / k : 0.0;
        r->weighted[m] = n ? wsum / (double)n : 0.0;
    }
    return FC_OK;
}

void fc_report_free(fc_report_t *r) {
    if (!r) return;
    free(r->precision), free(r->recall), free(r->f1), free(r->support), free(r->confusion);
    r->precision = r->recall = r->f1 = NULL, r->support = r->confusion = NULL;
}

const char *fc_keras_num(double v, char buf[FC_KERAS_NUM_CAP]) {
    if (isnan(v)) return "nan";
    snprintf(buf, FC_KERAS_NUM_CAP, v > 1e-3 ? "%.4f" : "%.4e", v);
    return buf;
}
