/* plot.h - learning-curve figures drawn with cairo, written as PNG. */
#ifndef FC_TRAIN_PLOT_H
#define FC_TRAIN_PLOT_H

#include <cairo.h>

#include "trainer.h"

/* Two panels like the seeds' matplotlib figure: "Accuracy" (training vs validation)
 * and "Loss" (training vs validation), x = epoch. */
int fc_plot_history(const fc_history *h, const char *title, const char *path, fc_status *st);
/* One panel: validation accuracy per epoch for each of n runs, legend = labels. */
int fc_plot_sweep(const fc_history *h, char *const *labels, int n, const char *path, fc_status *st);

/* Destroys cr, writes sf as PNG to path, frees sf and cairo's static caches (one picture
 * per command: leak checkers stay quiet). */
int fc_plot_finish_png(cairo_surface_t *sf, cairo_t *cr, const char *path, fc_status *st);

#endif
