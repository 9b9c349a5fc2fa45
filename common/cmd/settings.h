/* settings.h - how featcache shows training settings: one order and one form of each value
 * for the runs table, `runs ID`, `info HEAD.h5`, sweep labels (leaderboard, CSV, plot
 * legend, notes) and train's plot title. A config is the JSON object train/sweep record
 * (train_opts.h fc_train_config_json): {"pool": "flatten", "hidden": [256], "lr": 2e-05, ...}. */
#ifndef FC_SETTINGS_H
#define FC_SETTINGS_H

#include <jansson.h>
#include <stddef.h>

/* One setting's value: a real as Python's repr (fc_fmt_repr: 2e-05, 0.0001, 1.0), an integer, a string, true/false, a list as
 * --hidden takes it ("256,128"; [] as "0"), null as "-". */
void fc_setting_value(const json_t *v, char *out, size_t cap);

/* qsort comparator of setting names (const char * elements) in the order they are shown:
 * pool, hidden, activation, dropout, optimizer, lr, momentum, nesterov, rho, beta_1,
 * beta_2, l2, batch, epochs, patience, class_weight, seed, augment; others after them,
 * alphabetically. */
int fc_setting_cmp(const void *a, const void *b);

/* "k=v k=v" of the settings of object cfg named in keys[0..nk) (keys NULL: every setting of
 * cfg) in fc_setting_cmp's order, each value as fc_setting_value; a name cfg lacks is left
 * out. Cut at cap - 1 bytes. */
void fc_settings_text(const json_t *cfg, const char *const *keys, int nk, char *out, size_t cap);

/* fc_settings_text of every setting of a JSON object's text (a run's or a head's config);
 * "" when it is not one. */
void fc_config_text(const char *json, char *out, size_t cap);

#endif
