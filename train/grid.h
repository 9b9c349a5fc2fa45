/* grid.h - sweep grids: 'lr=1e-5,2e-5 hidden=64,256 dropout=0.25,0.5'.
 *
 * Axes are separated by whitespace; each is KEY=V1,V2,... where KEY is any training
 * option (train_opts.h) and values are what --KEY takes (a hidden list inside a grid uses
 * ':' between layer sizes, e.g. hidden=256:128,64). Configs are the cartesian product,
 * the last axis varying fastest. */
#ifndef FC_TRAIN_GRID_H
#define FC_TRAIN_GRID_H

#include "trainer.h"

#define FC_GRID_MAX_AXES 16
#define FC_GRID_MAX_VALUES 64
#define FC_GRID_MAX_CONFIGS 4096

typedef struct {
    int n_axes;
    char key[FC_GRID_MAX_AXES][32];
    int n_values[FC_GRID_MAX_AXES];
    char *values[FC_GRID_MAX_AXES][FC_GRID_MAX_VALUES]; /* malloc'd */
    int n_configs;
} fc_grid;

/* Parses and validates every value (against a default config). On error returns -1 with
 * a message in err naming the problem. */
int fc_grid_parse(const char *text, fc_grid *g, char *err, size_t cap);
void fc_grid_free(fc_grid *g);
/* Value index of axis a in config i. */
int fc_grid_index(const fc_grid *g, int i, int a);

/* Builds config i: defaults, then for each training key in application order the grid
 * value if the key is an axis, else the base value if given (base_vals[k] for
 * fc_train_keys[k], NULL = unset); then canonical (fc_train_config_canonical). Returns -1
 * with err on a bad value. */
int fc_grid_config(const fc_grid *g, int i, const char *const *base_vals, fc_train_config *c, char *err,
                   size_t cap);
/* The same, not canonical: settings with no effect keep their values (the momentum of an
 * adam config), to say which configs train the same head. */
int fc_grid_config_as_given(const fc_grid *g, int i, const char *const *base_vals, fc_train_config *c, char *err,
                            size_t cap);
/* "hidden=64 lr=2e-05" for c, a config of the grid: the grid's axes, as the runs table
 * shows settings (fc_train_config_settings: its order and values). Without all, the axes
 * with no effect on c (momentum of an adam config) are left out, unless none has one. */
void fc_grid_label(const fc_grid *g, const fc_train_config *c, int all, char *buf, size_t cap);

#endif
