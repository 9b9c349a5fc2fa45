/* plot.h - learning-curve figures drawn with cairo, written as PNG. */
#ifndef FC_TRAIN_PLOT_H
#define FC_TRAIN_PLOT_H

#include <cairo.h>

#include "trainer.h"

/* Two panels like the seeds' matplotlib figure: "Accuracy" (training vs validation)
 * and "Loss" (training vs validation), x = epoch. kept > 0: a dashed vertical line marks
 * that epoch (1-based) as the one whose weights were kept (restored by --patience). */
int fc_plot_history(const fc_history *h, const char *title, int kept, const char *path, fc_status *st);
/* One panel: validation accuracy per epoch for each of n runs, legend = labels. Past 40
 * runs, the first 40 of rank (configs best first, e.g. the sweep's leaderboard), or
 * without it (NULL) the 40 with the highest accuracy at any epoch. */
int fc_plot_sweep(const fc_history *h, char *const *labels, int n, const int *rank, const char *path,
                  fc_status *st);
/* The runs fc_plot_sweep draws, in config order (at most FC_PLOT_MAX_SERIES); *train_acc = 1
 * when no run has a validation accuracy (the training accuracy is drawn). */
#define FC_PLOT_MAX_SERIES 40
int fc_plot_sweep_pick(const fc_history *h, int n, const int *rank, int *pick, int *train_acc);

/* Destroys cr, writes sf as PNG to path, frees sf and cairo's static caches (one picture
 * per command: leak checkers stay quiet). */
int fc_plot_finish_png(cairo_surface_t *sf, cairo_t *cr, const char *path, fc_status *st);

#endif
