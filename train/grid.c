/* grid.c - sweep grid parsing and expansion. */
#include "grid.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train_opts.h"

#define BAD(...) (snprintf(err, cap, __VA_ARGS__), fc_grid_free(g), -1)

static int key_index(const char *k) {
    for (int i = 0; i < fc_train_n_keys; i++)
        if (!strcmp(fc_train_keys[i], k)) return i;
    return -1;
}

static int parse_axis(const char *tok, size_t len, fc_grid *g, char *err, size_t cap) {
    const char *eq = memchr(tok, '=', len);
    if (!eq) return BAD("'%.*s' has no '=' (expected KEY=V1,V2,... e.g. lr=1e-5,2e-5)", (int)len, tok);
    size_t kl = (size_t)(eq - tok);
    if (kl == 0 || kl >= sizeof g->key[0]) return BAD("'%.*s': missing or too long option name", (int)len, tok);
    if (g->n_axes >= FC_GRID_MAX_AXES) return BAD("more than %d axes", FC_GRID_MAX_AXES);
    int a = g->n_axes;
    memcpy(g->key[a], tok, kl);
    g->key[a][kl] = 0;
    if (!strcmp(g->key[a], "class_weight")) strcpy(g->key[a], "class-weight");
    if (key_index(g->key[a]) < 0) return BAD("'%s' is not a training option (try: lr, hidden, dropout, optimizer, ...)", g->key[a]);
    for (int b = 0; b < a; b++)
        if (!strcmp(g->key[b], g->key[a])) return BAD("axis '%s' given twice", g->key[a]);
    g->n_axes++;
    const char *p = eq + 1, *end = tok + len;
    if (p == end) return BAD("axis '%s' has no values", g->key[a]);
    while (p <= end) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        const char *ve = comma ? comma : end;
        if (ve == p && p == end) return BAD("axis '%s' ends with ','", g->key[a]);
        if (ve == p) return BAD("axis '%s' has an empty value", g->key[a]);
        if (g->n_values[a] >= FC_GRID_MAX_VALUES) return BAD("axis '%s' has more than %d values", g->key[a], FC_GRID_MAX_VALUES);
        char *v = strndup(p, (size_t)(ve - p));
        if (!v) return BAD("out of memory");
        g->values[a][g->n_values[a]++] = v;
        fc_train_config c;
        fc_train_config_defaults(&c);
        char why[200];
        if (fc_train_config_set(&c, g->key[a], v, ':', why, sizeof why)) return BAD("%s", why);
        if (!comma) break;
        p = comma + 1;
    }
    return 0;
}

/* Spaces where an axis has none: 'lr=1e-4, 2e-5' (a space after a comma), 'lr=1e-4 2e-5' or
 * 'lr = 1e-4' split one axis into words that are not KEY=VALUES. Returns -1 with a message
 * that shows the axis written without spaces. */
static int misplaced_spaces(const char *text, char *err, size_t cap) {
    const char *w[2 * FC_GRID_MAX_AXES + 2];
    size_t len[2 * FC_GRID_MAX_AXES + 2];
    int n = 0;
    for (const char *p = text; *p && n < (int)(sizeof w / sizeof *w);) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        w[n] = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        len[n] = (size_t)(p - w[n]);
        n++;
    }
    for (int i = 0; i + 1 < n; i++) {
        int has_eq = memchr(w[i], '=', len[i]) != NULL;
        if (!has_eq && w[i + 1][0] == '=') { /* 'lr = 1e-4' or 'lr =1e-4' */
            int j = len[i + 1] == 1 && i + 2 < n ? i + 2 : i + 1;
            snprintf(err, cap, "'%.*s': no spaces around '=': %.*s=%.*s", (int)(w[j] + len[j] - w[i]), w[i],
                     (int)len[i], w[i], (int)(j == i + 1 ? len[j] - 1 : len[j]), j == i + 1 ? w[j] + 1 : w[j]);
            return -1;
        }
        if (!has_eq || memchr(w[i + 1], '=', len[i + 1])) continue;
        /* w[i] is KEY=..., w[i+1..j) its stray values */
        char fixed[512];
        size_t o = (size_t)snprintf(fixed, sizeof fixed, "%.*s", (int)len[i], w[i]);
        int j = i + 1;
        for (; j < n && !memchr(w[j], '=', len[j]) && o < sizeof fixed; j++) {
            int comma = fixed[o - 1] == ',' || fixed[o - 1] == '=' || w[j][0] == ',';
            o += (size_t)snprintf(fixed + o, sizeof fixed - o, "%s%.*s", comma ? "" : ",", (int)len[j], w[j]);
        }
        snprintf(err, cap, "'%.*s': spaces separate axes, so an axis has none inside: %s", (int)(w[j - 1] + len[j - 1] - w[i]),
                 w[i], fixed);
        return -1;
    }
    return 0;
}

int fc_grid_parse(const char *text, fc_grid *g, char *err, size_t cap) {
    memset(g, 0, sizeof *g);
    if (misplaced_spaces(text, err, cap)) return -1;
    const char *p = text;
    for (;;) {
        while (*p && isspace((unsigned char)*p)) p++;
        if (!*p) break;
        const char *s = p;
        while (*p && !isspace((unsigned char)*p)) p++;
        if (parse_axis(s, (size_t)(p - s), g, err, cap)) return -1;
    }
    if (g->n_axes == 0) return BAD("empty grid (expected e.g. 'lr=1e-5,2e-5 hidden=64,256')");
    long n = 1;
    for (int a = 0; a < g->n_axes; a++) {
        n *= g->n_values[a];
        if (n > FC_GRID_MAX_CONFIGS) return BAD("more than %d configs", FC_GRID_MAX_CONFIGS);
    }
    g->n_configs = (int)n;
    return 0;
}

void fc_grid_free(fc_grid *g) {
    for (int a = 0; a < FC_GRID_MAX_AXES; a++)
        for (int v = 0; v < g->n_values[a]; v++) free(g->values[a][v]);
    memset(g, 0, sizeof *g);
}

int fc_grid_index(const fc_grid *g, int i, int a) {
    for (int b = g->n_axes - 1; b > a; b--) i /= g->n_values[b];
    return i % g->n_values[a];
}

int fc_grid_config_as_given(const fc_grid *g, int i, const char *const *base_vals, fc_train_config *c, char *err,
                            size_t cap) {
    fc_train_config_defaults(c);
    for (int k = 0; k < fc_train_n_keys; k++) {
        const char *v = base_vals ? base_vals[k] : NULL;
        char sep = ',';
        for (int a = 0; a < g->n_axes; a++)
            if (!strcmp(g->key[a], fc_train_keys[k])) v = g->values[a][fc_grid_index(g, i, a)], sep = ':';
        if (v && fc_train_config_set(c, fc_train_keys[k], v, sep, err, cap)) return -1;
    }
    return 0;
}

int fc_grid_config(const fc_grid *g, int i, const char *const *base_vals, fc_train_config *c, char *err,
                   size_t cap) {
    if (fc_grid_config_as_given(g, i, base_vals, c, err, cap)) return -1;
    fc_train_config_canonical(c);
    return 0;
}

void fc_grid_label(const fc_grid *g, const fc_train_config *c, int all, char *buf, size_t cap) {
    const char *keys[FC_GRID_MAX_AXES];
    for (int a = 0; a < g->n_axes; a++) keys[a] = g->key[a];
    fc_train_config_settings(c, keys, g->n_axes, all, buf, cap);
    if (!buf[0] && !all) fc_train_config_settings(c, keys, g->n_axes, 1, buf, cap); /* no axis applies: name them all */
}
