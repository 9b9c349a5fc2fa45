/* plot.h - learning-curve figures drawn with cairo, written as PNG. */
#ifndef FC_TRAIN_PLOT_H
#define FC_TRAIN_PLOT_H

#include "trainer.h"

/* Two panels like the seeds' matplotlib figure: "Accuracy" (training vs validation)
 * and "Loss" (training vs validation), x = epoch. */
int fc_plot_history(const fc_history *h, const char *title, const char *path, fc_status *st);
/* One panel: validation accuracy per epoch for each of n runs, legend = labels. */
int fc_plot_sweep(const fc_history *h, char *const *labels, int n, const char *path, fc_status *st);

#endif
