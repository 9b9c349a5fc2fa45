/* settings.c - training settings as featcache shows them (settings.h). */
#include "settings.h"

#include "../fc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void fc_setting_value(const json_t *v, char *out, size_t cap) {
    if (!cap) return;
    if (json_is_string(v)) snprintf(out, cap, "%s", json_string_value(v));
    else if (json_is_integer(v)) snprintf(out, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) fc_fmt_repr(json_real_value(v), out, cap);
    else if (json_is_boolean(v)) snprintf(out, cap, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_array(v) && json_array_size(v) == 0) snprintf(out, cap, "0"); /* hidden: [] is --hidden 0 */
    else if (json_is_array(v)) {
        size_t i, used = 0;
        json_t *e;
        out[0] = '\0';
        json_array_foreach(v, i, e) {
            char one[64];
            fc_setting_value(e, one, sizeof one);
            used += (size_t)snprintf(out + used, cap - used, "%s%s", i ? "," : "", one);
            if (used >= cap) break;
        }
    } else if (json_is_null(v)) snprintf(out, cap, "-");
    else snprintf(out, cap, "...");
}

/* The shape of the head first (as Keras lists its layers), then the optimizer, then the fit. */
static const char *const key_order[] = {"pool", "hidden", "activation", "dropout", "optimizer", "lr",
                                        "momentum", "nesterov", "rho", "beta_1", "beta_2", "l2",
                                        "batch", "epochs", "patience", "class_weight", "seed", "augment"};
#define N_KEY_ORDER (sizeof key_order / sizeof key_order[0])

static int key_rank(const char *k) {
    for (size_t i = 0; i < N_KEY_ORDER; i++)
        if (!strcmp(k, key_order[i])) return (int)i;
    return (int)N_KEY_ORDER;
}

int fc_setting_cmp(const void *a, const void *b) {
    const char *x = *(const char *const *)a, *y = *(const char *const *)b;
    int rx = key_rank(x), ry = key_rank(y);
    return rx != ry ? rx - ry : strcmp(x, y);
}

void fc_settings_text(const json_t *cfg, const char *const *keys, int nk, char *out, size_t cap) {
    if (!cap) return;
    out[0] = '\0';
    if (!json_is_object(cfg)) return;
    if (!keys) nk = (int)json_object_size(cfg);
    const char **k = malloc(((size_t)(nk > 0 ? nk : 0) + 1) * sizeof *k);
    if (!k) return;
    int n = 0;
    if (keys) {
        for (int i = 0; i < nk; i++) k[n++] = keys[i];
    } else {
        const char *name;
        json_t *v;
        json_object_foreach((json_t *)cfg, name, v) if (n < nk) k[n++] = name;
    }
    qsort(k, (size_t)n, sizeof *k, fc_setting_cmp);
    size_t used = 0;
    for (int i = 0; i < n && used < cap; i++) {
        const json_t *v = json_object_get(cfg, k[i]);
        if (!v) continue;
        char val[256];
        fc_setting_value(v, val, sizeof val);
        used += (size_t)snprintf(out + used, cap - used, "%s%s=%s", used ? " " : "", k[i], val);
    }
    free(k);
}

void fc_config_text(const char *json, char *out, size_t cap) {
    json_t *j = json ? json_loads(json, 0, NULL) : NULL;
    fc_settings_text(j, NULL, 0, out, cap);
    json_decref(j);
}
