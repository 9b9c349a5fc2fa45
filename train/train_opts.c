/* train_opts.c - parsing and printing of training configs. */
#include "train_opts.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../common/cmd/settings.h"
#include "../common/outtmp.h"
#include "fused.h"

const char *const fc_train_keys[] = {"optimizer", "pool", "hidden", "activation", "dropout", "lr",
                                     "momentum", "nesterov", "rho", "epochs", "batch", "seed",
                                     "patience", "l2", "class-weight", "augment"};
const int fc_train_n_keys = (int)(sizeof fc_train_keys / sizeof fc_train_keys[0]);
_Static_assert(sizeof fc_train_keys / sizeof fc_train_keys[0] <= FC_TRAIN_MAX_KEYS, "FC_TRAIN_MAX_KEYS too small");

static int num(const char *s, double lo, double hi, int integer, double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end || errno || !isfinite(v) || v < lo || v > hi) return -1;
    if (integer && v != floor(v)) return -1;
    /* an integer option in decimal digits only: `--epochs 1e3` or `0x10` is a slip, not 1000
     * or 16 (review 12 A F7) */
    for (const char *p = s + (*s == '+'); integer && *p; p++)
        if (*p < '0' || *p > '9') return -1;
    *out = v + 0.0; /* -0 is 0: recorded and shown as 0.0, not -0.0 */
    return 0;
}

/* A seed in decimal digits, read exactly (strtod had read 2^53 + 1 as 2^53: the run then
 * recorded a seed other than the one given), at most FC_TRAIN_SEED_MAX. */
static int parse_seed(const char *s, uint64_t *out) {
    const char *d = s + (*s == '+');
    if (!*d) return -1;
    for (const char *p = d; *p; p++)
        if (*p < '0' || *p > '9') return -1;
    errno = 0;
    unsigned long long v = strtoull(d, NULL, 10);
    if (errno || v > FC_TRAIN_SEED_MAX) return -1;
    *out = v;
    return 0;
}

#define BAD(...) (snprintf(err, cap, __VA_ARGS__), -1)
/* a nonzero value float32 rounds to 0 (--l2 1e-50 had trained without L2 and recorded 0) */
#define F32_ZERO(v) ((v) != 0 && (float)(v) == 0.0f)

int fc_train_config_set(fc_train_config *c, const char *key, const char *val, char list_sep,
                        char *err, size_t cap) {
    double v;
    if (!strcmp(key, "optimizer")) {
        fc_optim_kind k;
        if (fc_optim_parse(val, &k)) return BAD("optimizer '%s': use rmsprop, adam or sgd", val);
        fc_optim_defaults(k, &c->opt);
        if (k == FC_OPTIM_RMSPROP) c->opt.lr = 2e-5f;
    } else if (!strcmp(key, "pool")) {
        if (fc_pool_parse(val, &c->arch.pool)) return BAD("pool '%s': use flatten, gap or gmp", val);
    } else if (!strcmp(key, "hidden")) {
        if (fc_hidden_parse(val, list_sep, &c->arch))
            return BAD("hidden '%s': sizes 1..65536 separated by '%c' (at most %d), or 0", val, list_sep,
                       FC_HEAD_MAX_HIDDEN);
    } else if (!strcmp(key, "activation")) {
        if (fc_hact_parse(val, &c->arch.act)) return BAD("activation '%s': use relu, tanh, sigmoid or linear", val);
    } else if (!strcmp(key, "dropout")) {
        if (num(val, 0, 0.999999, 0, &v)) return BAD("dropout '%s': a rate in [0, 1)", val);
        if (F32_ZERO(v)) return BAD("dropout '%s' is 0 in float32: give 0 or a larger number", val);
        c->arch.dropout = (float)v;
    } else if (!strcmp(key, "lr")) {
        if (num(val, 1e-12, 10, 0, &v)) return BAD("lr '%s': a number in (0, 10]", val);
        c->opt.lr = (float)v;
    } else if (!strcmp(key, "momentum")) {
        if (num(val, 0, 0.999999, 0, &v)) return BAD("momentum '%s': a number in [0, 1)", val);
        if (F32_ZERO(v)) return BAD("momentum '%s' is 0 in float32: give 0 or a larger number", val);
        c->opt.momentum = (float)v;
    } else if (!strcmp(key, "nesterov")) {
        if (!strcmp(val, "1") || !strcmp(val, "true")) c->opt.nesterov = 1;
        else if (!strcmp(val, "0") || !strcmp(val, "false")) c->opt.nesterov = 0;
        else return BAD("nesterov '%s': use 1/0 or true/false", val);
    } else if (!strcmp(key, "rho")) {
        if (num(val, 0, 0.999999, 0, &v)) return BAD("rho '%s': a number in [0, 1)", val);
        if (F32_ZERO(v)) return BAD("rho '%s' is 0 in float32: give 0 or a larger number", val);
        c->opt.rho = (float)v;
    } else if (!strcmp(key, "epochs")) {
        if (num(val, 1, 100000, 1, &v)) return BAD("epochs '%s': an integer in [1, 100000]", val);
        c->epochs = (int)v;
    } else if (!strcmp(key, "batch")) {
        if (num(val, 1, FUSED_MAX_B, 1, &v)) return BAD("batch '%s': an integer in [1, %d]", val, FUSED_MAX_B);
        c->batch = (int)v;
    } else if (!strcmp(key, "seed")) {
        if (parse_seed(val, &c->seed))
            return BAD("seed '%s': an integer in [0, 2^53 = %llu] (a larger seed would not read back exactly "
                       "from the run's JSON where numbers are doubles)", val, (unsigned long long)FC_TRAIN_SEED_MAX);
    } else if (!strcmp(key, "patience")) {
        if (num(val, 0, 100000, 1, &v)) return BAD("patience '%s': an integer in [0, 100000]", val);
        c->patience = (int)v;
    } else if (!strcmp(key, "l2")) {
        if (num(val, 0, 1, 0, &v)) return BAD("l2 '%s': a number in [0, 1]", val);
        if (F32_ZERO(v)) return BAD("l2 '%s' is 0 in float32: give 0 or a larger number", val);
        c->l2 = (float)v;
    } else if (!strcmp(key, "class-weight")) {
        if (!strcmp(val, "none")) c->class_weight = 0;
        else if (!strcmp(val, "balanced")) c->class_weight = 1;
        else return BAD("class-weight '%s': use none or balanced", val);
    } else if (!strcmp(key, "augment")) {
        if (!strcmp(val, "1") || !strcmp(val, "true")) c->augment = 1;
        else if (!strcmp(val, "0") || !strcmp(val, "false")) c->augment = 0;
        else return BAD("augment '%s': use 1/0 or true/false", val);
    } else {
        return BAD("unknown training option '%s'", key);
    }
    return 0;
}

int fc_train_key_is_flag(const char *key) { return !strcmp(key, "nesterov") || !strcmp(key, "augment"); }

void fc_train_args_values(const fc_args *a, const char **vals) {
    for (int i = 0; i < fc_train_n_keys; i++) {
        const char *k = fc_train_keys[i];
        vals[i] = fc_train_key_is_flag(k) ? (fc_arg_flag(a, k) ? "1" : NULL) : fc_arg_str(a, k, NULL);
    }
}

int fc_train_config_from_args(const fc_args *a, fc_train_config *c) {
    char err[256];
    const char *vals[FC_TRAIN_MAX_KEYS];
    fc_train_args_values(a, vals);
    for (int i = 0; i < fc_train_n_keys; i++)
        if (vals[i] && fc_train_config_set(c, fc_train_keys[i], vals[i], ',', err, sizeof err))
            return fc_usage_error(a->spec->name, "--%s", err);
    /* an option given for nothing would be recorded as if it had shaped the head */
    for (int i = 0; i < fc_train_n_keys; i++) {
        const char *need = vals[i] ? fc_train_key_unused(c, fc_train_keys[i], err, sizeof err) : NULL;
        if (need) return fc_usage_error(a->spec->name, "--%s applies to %s; this run %s", fc_train_keys[i], need, err);
    }
    fc_train_config_canonical(c);
    return FC_ARGS_OK;
}

const char *fc_train_key_unused(const fc_train_config *c, const char *key, char *have, size_t cap) {
    const char *opt = fc_optim_name(c->opt.kind);
    if (!strcmp(key, "momentum") && c->opt.kind != FC_OPTIM_SGD) {
        snprintf(have, cap, "uses %s%s", opt,
                 c->opt.kind == FC_OPTIM_RMSPROP ? " (Keras 2.2.4's RMSprop, which has no momentum)" : "");
        return "--optimizer sgd";
    }
    if (!strcmp(key, "nesterov") && (c->opt.kind != FC_OPTIM_SGD || c->opt.momentum == 0.0f)) {
        if (c->opt.kind != FC_OPTIM_SGD) snprintf(have, cap, "uses %s", opt);
        else snprintf(have, cap, "has momentum 0 (plain SGD)");
        return "--optimizer sgd with --momentum > 0";
    }
    if (!strcmp(key, "rho") && c->opt.kind != FC_OPTIM_RMSPROP) {
        snprintf(have, cap, "uses %s", opt);
        return "--optimizer rmsprop";
    }
    if ((!strcmp(key, "dropout") || !strcmp(key, "activation")) && c->arch.n_hidden == 0) {
        snprintf(have, cap, "has --hidden 0 (no hidden layer)");
        return "hidden layers";
    }
    return NULL;
}

void fc_train_config_canonical(fc_train_config *c) {
    fc_train_config d;
    fc_train_config_defaults(&d);
    char have[160];
    if (fc_train_key_unused(c, "momentum", have, sizeof have)) c->opt.momentum = 0.0f;
    if (fc_train_key_unused(c, "nesterov", have, sizeof have)) c->opt.nesterov = 0;
    if (fc_train_key_unused(c, "rho", have, sizeof have)) c->opt.rho = d.opt.rho;
    if (fc_train_key_unused(c, "dropout", have, sizeof have)) c->arch.dropout = 0.0f;
    if (fc_train_key_unused(c, "activation", have, sizeof have)) c->arch.act = d.arch.act;
}

static double nicef(float f) {
    char buf[32];
    for (int p = 6; p < 10; p++) {
        snprintf(buf, sizeof buf, "%.*g", p, (double)f);
        if ((float)strtod(buf, NULL) == f) break;
    }
    return strtod(buf, NULL);
}

/* Every setting, used or not: the form checkpoint keys hash (unchanged since checkpoints
 * began, so a run stopped by an older build resumes under a newer one). */
static json_t *config_json_all(const fc_train_config *c) {
    json_t *hidden = json_array();
    for (int i = 0; i < c->arch.n_hidden; i++) json_array_append_new(hidden, json_integer(c->arch.hidden[i]));
    json_t *j = json_pack("{s:s, s:o, s:s, s:f, s:s, s:f, s:f, s:b, s:f, s:i, s:i, s:I, s:i, s:f, s:s}", "pool",
                     fc_pool_name(c->arch.pool), "hidden", hidden, "activation", fc_hact_name(c->arch.act), "dropout",
                     nicef(c->arch.dropout), "optimizer", fc_optim_name(c->opt.kind), "lr", nicef(c->opt.lr),
                     "momentum", nicef(c->opt.momentum), "nesterov", c->opt.nesterov, "rho", nicef(c->opt.rho),
                     "epochs", c->epochs, "batch", c->batch, "seed", (json_int_t)c->seed, "patience", c->patience,
                     "l2", nicef(c->l2), "class_weight", c->class_weight ? "balanced" : "none");
    if (j && c->augment) json_object_set_new(j, "augment", json_true()); /* absent: false (older runs) */
    return j;
}

json_t *fc_train_config_json(const fc_train_config *c) {
    json_t *j = config_json_all(c);
    /* settings that had no effect on this head (momentum of an Adam run, dropout without
     * hidden layers) are left out: the runs table, info and configs compared for equality
     * show only what shaped the head */
    static const char *const maybe_unused[] = {"activation", "dropout", "momentum", "nesterov", "rho"};
    char have[160];
    for (size_t i = 0; j && i < sizeof maybe_unused / sizeof *maybe_unused; i++)
        if (fc_train_key_unused(c, maybe_unused[i], have, sizeof have)) json_object_del(j, maybe_unused[i]);
    return j;
}

static char *dump_config(json_t *j) {
    char *s = j ? json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(9)) : NULL;
    json_decref(j);
    return s;
}

char *fc_train_config_text(const fc_train_config *c) { return dump_config(fc_train_config_json(c)); }

char *fc_train_config_key_text(const fc_train_config *c) { return dump_config(config_json_all(c)); }

void fc_train_config_settings(const fc_train_config *c, const char *const *keys, int nk, int all, char *buf,
                              size_t cap) {
    json_t *j = all ? config_json_all(c) : fc_train_config_json(c);
    if (j && !c->augment) json_object_set_new(j, "augment", json_false()); /* the JSON leaves it out */
    char names[FC_TRAIN_MAX_KEYS][32]; /* option names to the JSON's: class-weight is class_weight */
    const char *k[FC_TRAIN_MAX_KEYS];
    int n = 0;
    for (int i = 0; i < nk && n < FC_TRAIN_MAX_KEYS; i++, n++) {
        snprintf(names[n], sizeof names[n], "%s", keys[i]);
        for (char *p = names[n]; *p; p++)
            if (*p == '-') *p = '_';
        k[n] = names[n];
    }
    fc_settings_text(j, k, n, buf, cap);
    json_decref(j);
}

void fc_train_config_label(const fc_train_config *c, char *buf, size_t cap) {
    /* the head and optimizer, then every other setting that shapes the run and is not the
     * default (the plot title of two runs that differ tells them apart) */
    fc_train_config d;
    fc_train_config_defaults(&d);
    fc_optim od;
    fc_optim_defaults(c->opt.kind, &od);
    const char *k[FC_TRAIN_MAX_KEYS] = {"pool", "hidden", "dropout", "optimizer", "lr"};
    int n = 5;
    if (c->arch.act != d.arch.act) k[n++] = "activation";
    if (c->opt.momentum > 0) k[n++] = "momentum";
    if (c->opt.nesterov) k[n++] = "nesterov";
    if (c->opt.rho != od.rho) k[n++] = "rho";
    if (c->batch != d.batch) k[n++] = "batch";
    if (c->l2 > 0) k[n++] = "l2";
    if (c->class_weight) k[n++] = "class_weight";
    if (c->patience != d.patience) k[n++] = "patience";
    if (c->seed != d.seed) k[n++] = "seed";
    if (c->augment) k[n++] = "augment";
    fc_train_config_settings(c, k, n, 0, buf, cap); /* settings with no effect on c left out */
}

json_t *fc_json_num(float v) { return isfinite(v) ? json_real(nicef(v)) : json_null(); }

json_t *fc_history_json(const fc_history *h) {
    json_t *loss = json_array(), *acc = json_array(), *vl = json_array(), *va = json_array(), *sec = json_array();
    for (int e = 0; e < h->n; e++) {
        json_array_append_new(loss, fc_json_num(h->ep[e].loss));
        json_array_append_new(acc, fc_json_num(h->ep[e].acc));
        json_array_append_new(vl, fc_json_num(h->ep[e].val_loss));
        json_array_append_new(va, fc_json_num(h->ep[e].val_acc));
        json_array_append_new(sec, json_real(round(h->ep[e].seconds * 1e4) / 1e4));
    }
    return json_pack("{s:o, s:o, s:o, s:o, s:o}", "loss", loss, "acc", acc, "val_loss", vl, "val_acc", va,
                     "seconds", sec);
}

const char *fc_csv_f32(float v, char buf[24]) {
    if (v != v) return "nan";
    for (int p = 6; p <= 9; p++) {
        snprintf(buf, 24, "%.*g", p, (double)v);
        if ((float)strtod(buf, NULL) == v) break;
    }
    return buf;
}

int fc_history_write_csv(const fc_history *h, const char *path, fc_status *st) {
    char *tmp;
    FILE *f = fc_outtmp_fopen(path, &tmp, st);
    if (!f) return st->code;
    fprintf(f, "epoch,loss,acc,val_loss,val_acc,seconds\n");
    for (int e = 0; e < h->n; e++) {
        const fc_epoch_stat *s = &h->ep[e];
        char b[4][24];
        fprintf(f, "%d,%s,%s,%s,%s,%.4f\n", e + 1, fc_csv_f32(s->loss, b[0]), fc_csv_f32(s->acc, b[1]),
                fc_csv_f32(s->val_loss, b[2]), fc_csv_f32(s->val_acc, b[3]), s->seconds);
    }
    return fc_outtmp_fclose(f, tmp, path, st);
}
