/* train_opts.h - the training options shared by `train` and `sweep`: one table of keys,
 * one setter used for command-line options and for sweep grid axes alike, and the JSON
 * form of a config (runs table, HEAD.h5, sweep CSV). */
#ifndef FC_TRAIN_OPTS_H
#define FC_TRAIN_OPTS_H

#include <math.h>
#include <jansson.h>

#include "../common/cmd/opts.h"
#include "trainer.h"

/* Option entries for the keys below, to embed in a command's fc_opt table; PATIENCE_KEEPS
 * says where --patience's lowest-val_loss weights go (train: HEAD.h5; sweep: each config's
 * head, ranked by them, the one --best writes). */
#define FC_TRAIN_OPT_ENTRIES(PATIENCE_KEEPS)                                                     \
    {"pool", 0, "flatten|gap|gmp", "Flatten or global average/max pooling (avg, max: the same as gap, gmp; default flatten)"},  \
    {"hidden", 0, "N[,N..]", "hidden Dense layer sizes; 0 = linear classifier (default 256)"}, \
    {"activation", 0, "relu|tanh|sigmoid|linear", "hidden activation (default relu; not with --hidden 0)"}, \
    {"dropout", 0, "RATE", "Dropout after each hidden layer, [0, 1) (default 0.5; not with --hidden 0)"}, \
    {"optimizer", 0, "rmsprop|adam|sgd", "Keras optimizer (default rmsprop)"},                  \
    {"lr", 0, "LR", "learning rate (default 2e-5 for rmsprop, Keras's for adam 1e-3, sgd 1e-2)"}, \
    {"momentum", 0, "M", "SGD momentum (default 0; --optimizer sgd only)"},                     \
    {"nesterov", 0, NULL, "SGD with Nesterov momentum (--optimizer sgd with --momentum > 0)"},  \
    {"rho", 0, "RHO", "RMSprop decay (default 0.9; --optimizer rmsprop only)"},                 \
    {"epochs", 0, "N", "epochs (default 30)"},                                                  \
    {"batch", 0, "N", "batch size (default 20)"},                                               \
    {"seed", 0, "N", "seed for init, shuffling and dropout, 0 to 2^53 (default 1)"},            \
    {"patience", 0, "N", "stop after N epochs without a lower val_loss; " PATIENCE_KEEPS " (default 0 = off; needs a validation split)"}, \
    {"l2", 0, "L", "L2 penalty L*sum(w^2) on every Dense kernel, in loss and val_loss (Keras kernel_regularizer; default 0)"}, \
    {"class-weight", 0, "none|balanced", "balanced: class c weighs n/(classes*n_c) in the training loss, counting the classes with training images (sklearn's, as Keras class_weight; default none)"}, \
    {"augment", 0, NULL, "each epoch, each training image as one of its augmented views (extract --augment K)"}

/* The largest --seed: 2^53, the largest integer up to which every integer is a double, so
 * that the seed recorded in a run's JSON (runs table, HEAD.h5) reads back as the seed given
 * in every JSON reader, those that hold numbers as doubles (JavaScript, jq) too. */
#define FC_TRAIN_SEED_MAX 9007199254740992ULL

/* Keys in the order they must be applied (optimizer first: it resets lr defaults). */
extern const char *const fc_train_keys[];
extern const int fc_train_n_keys;

/* 1 for the keys given as bare flags on the command line (--nesterov, --augment); in a
 * grid they take 1/0 or true/false. */
int fc_train_key_is_flag(const char *key);
/* Set one option; on a bad value returns -1 with a message in err. `list_sep` is the
 * separator inside a hidden list (',' on the command line, ':' inside a grid). */
int fc_train_config_set(fc_train_config *c, const char *key, const char *val, char list_sep,
                        char *err, size_t cap);
#define FC_TRAIN_MAX_KEYS 32
/* vals[k] for fc_train_keys[k]: the value given on the command line ("1" for a flag given),
 * NULL if not given. */
void fc_train_args_values(const fc_args *a, const char **vals);
/* Apply every train option present in a; prints a usage error and returns 2 on a bad
 * value or on an option given that has no effect on this config (fc_train_key_unused:
 * "--momentum applies to --optimizer sgd; this run uses rmsprop"), else FC_ARGS_OK with c
 * canonical. */
int fc_train_config_from_args(const fc_args *a, fc_train_config *c);
/* NULL when option `key` shapes config c; else what it applies to ("--optimizer sgd",
 * "hidden layers") with what c has instead in have ("uses rmsprop", "has --hidden 0 ..."). */
const char *fc_train_key_unused(const fc_train_config *c, const char *key, char *have, size_t cap);
/* Resets the options that have no effect on c to their defaults (dropout to 0 without
 * hidden layers), so that two configs that train the same head compare equal. */
void fc_train_config_canonical(fc_train_config *c);

/* The config as JSON; the options that had no effect (fc_train_key_unused) are left out. */
json_t *fc_train_config_json(const fc_train_config *c);
/* Compact text of fc_train_config_json (malloc'd). */
char *fc_train_config_text(const fc_train_config *c);
/* Every setting, used or not (checkpoint keys: stable across builds). Caller frees. */
char *fc_train_config_key_text(const fc_train_config *c);
/* "hidden=256 dropout=0.5 lr=2e-05" of the settings of c named by keys[0..nk) (option
 * names: class-weight or class_weight), as the runs table shows them (fc_settings_text:
 * its order and values); a setting with no effect on c (fc_train_key_unused) is left out
 * unless all. */
void fc_train_config_settings(const fc_train_config *c, const char *const *keys, int nk, int all, char *buf,
                              size_t cap);
/* train's plot title: pool, hidden, dropout, optimizer and lr, then every other setting
 * that shapes the run and is not the default (fc_train_config_settings). */
void fc_train_config_label(const fc_train_config *c, char *buf, size_t cap);

json_t *fc_history_json(const fc_history *h);
/* v as a JSON number (float32's shortest digits), or null when not finite (no validation split). */
json_t *fc_json_num(float v);
/* json_dumps precision for fc_json_num's numbers: float32's shortest digits are at most 9, and
 * %.9g prints such a double as those digits (7 had cut 0.10533144 to 0.1053314, another float32) */
#define FC_JSON_F32_DIGITS 9
/* --history CSV: epoch,loss,acc,val_loss,val_acc,seconds */
/* v for a CSV or table cell: any NaN as "nan" (printf shows a negative one as "-nan"). */
static inline double fc_csv_num(double v) { return v != v ? NAN : v; }
/* v for a CSV cell in float32's shortest digits that read back to v (0.834, not
 * 0.833999991, as Keras's CSVLogger writes it); "nan" for any NaN. Returns buf. */
const char *fc_csv_f32(float v, char buf[24]);
int fc_history_write_csv(const fc_history *h, const char *path, fc_status *st);

#endif
