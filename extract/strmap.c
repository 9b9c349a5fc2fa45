/* strmap.c - string -> int64 open-addressing hash map (see strmap.h). */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

static uint64_t fnv1a(const char *s) {
    uint64_t h = 1469598103934665603ULL;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

/* Slot holding key, or the empty slot where it would go. */
static size_t find_slot(char *const *keys, size_t cap, const char *key) {
    size_t i = (size_t)fnv1a(key) & (cap - 1);
    while (keys[i] && strcmp(keys[i], key) != 0) i = (i + 1) & (cap - 1);
    return i;
}

static int grow(fc_strmap *m, fc_status *st) {
    size_t cap = m->cap ? m->cap * 2 : 64;
    char **keys = calloc(cap, sizeof *keys);
    int64_t *vals = calloc(cap, sizeof *vals);
    if (!keys || !vals) {
        free(keys);
        free(vals);
        return fc_fail(st, FC_ERR_NOMEM, "out of memory growing a table to %zu entries", cap);
    }
    for (size_t i = 0; i < m->cap; i++) {
        if (!m->keys[i]) continue;
        size_t j = find_slot(keys, cap, m->keys[i]);
        keys[j] = m->keys[i];
        vals[j] = m->vals[i];
    }
    free(m->keys);
    free(m->vals);
    m->keys = keys;
    m->vals = vals;
    m->cap = cap;
    return FC_OK;
}

int fc_strmap_put(fc_strmap *m, const char *key, int64_t val, fc_status *st) {
    if ((m->n + 1) * 2 > m->cap && grow(m, st)) return st ? (int)st->code : FC_ERR_NOMEM;
    size_t i = find_slot(m->keys, m->cap, key);
    if (!m->keys[i]) {
        if (!(m->keys[i] = fc_strdup(key, st))) return FC_ERR_NOMEM;
        m->n++;
    }
    m->vals[i] = val;
    return FC_OK;
}

int fc_strmap_get(const fc_strmap *m, const char *key, int64_t *val) {
    if (!m->cap) return 0;
    size_t i = find_slot(m->keys, m->cap, key);
    if (!m->keys[i]) return 0;
    if (val) *val = m->vals[i];
    return 1;
}

void fc_strmap_free(fc_strmap *m) {
    if (!m) return;
    for (size_t i = 0; i < m->cap; i++) free(m->keys[i]);
    free(m->keys);
    free(m->vals);
    memset(m, 0, sizeof *m);
}
