/* strmap.h - a string -> int64 hash map (open addressing, FNV-1a), for extract's lookups:
 * stored sha256 set, path -> stored file record, sha256 seen earlier in this run. */
#ifndef FC_STRMAP_H
#define FC_STRMAP_H

#include "../common/fc.h"

typedef struct {
    char **keys;       /* owned copies; NULL = empty slot */
    int64_t *vals;
    size_t cap, n;     /* cap is a power of two */
} fc_strmap;

/* Inserts or overwrites key -> val. Returns 0, or FC_ERR_NOMEM. */
int fc_strmap_put(fc_strmap *m, const char *key, int64_t val, fc_status *st);
/* 1 and *val (if val) when present, 0 otherwise. */
int fc_strmap_get(const fc_strmap *m, const char *key, int64_t *val);
void fc_strmap_free(fc_strmap *m);

#endif
