/* test_strmap.c - the string -> int64 map behind extract's lookups: growth, overwrite,
 * misses, and agreement with a plain array on many keys. */
#include <stdio.h>
#include <string.h>

#include "../../extract/strmap.h"
#include "t.h"

static void test_basic(void) {
    fc_strmap m = {0};
    fc_status st = {0};
    int64_t v = -1;
    CHECK(!fc_strmap_get(&m, "a", &v), "empty map misses");
    CHECK(fc_strmap_put(&m, "a", 1, &st) == FC_OK && fc_strmap_put(&m, "b", 2, &st) == FC_OK, "put");
    CHECK(fc_strmap_get(&m, "a", &v) && v == 1, "a -> %lld", (long long)v);
    CHECK(fc_strmap_put(&m, "a", 7, &st) == FC_OK && fc_strmap_get(&m, "a", &v) && v == 7,
          "overwrite");
    CHECK(m.n == 2, "overwrite keeps the count: %zu", m.n);
    CHECK(!fc_strmap_get(&m, "c", NULL) && fc_strmap_get(&m, "b", NULL), "NULL val");
    CHECK(fc_strmap_put(&m, "", 3, &st) == FC_OK && fc_strmap_get(&m, "", &v) && v == 3, "empty key");
    fc_strmap_free(&m);
    fc_strmap_free(&m); /* twice is fine */
}

static void test_many(void) {
    fc_strmap m = {0};
    fc_status st = {0};
    char k[32];
    int ok = 1;
    for (int i = 0; i < 20000; i++) {
        snprintf(k, sizeof k, "cats/%05d.png", i);
        ok &= fc_strmap_put(&m, k, i * 3, &st) == FC_OK;
    }
    CHECK(ok && m.n == 20000, "20000 keys: %zu", m.n);
    CHECK((m.cap & (m.cap - 1)) == 0 && m.n * 2 <= m.cap, "load factor <= 1/2, cap %zu", m.cap);
    int bad = 0;
    for (int i = 0; i < 20000; i++) {
        int64_t v;
        snprintf(k, sizeof k, "cats/%05d.png", i);
        if (!fc_strmap_get(&m, k, &v) || v != i * 3) bad++;
        snprintf(k, sizeof k, "dogs/%05d.png", i);
        if (fc_strmap_get(&m, k, NULL)) bad++;
    }
    CHECK(bad == 0, "%d wrong lookups", bad);
    fc_strmap_free(&m);
}

int main(void) {
    T_RUN(test_basic);
    T_RUN(test_many);
    return t_done("test_strmap");
}
