/* tool_io.h - the key=value arguments and raw float32 files shared by the test tools that
 * feed the independent Python checks (engine_op.c, augment_tool.c). TOOL_NAME (defined by
 * the includer) prefixes error messages. */
#ifndef FC_TOOL_IO_H
#define FC_TOOL_IO_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The value of key=VALUE among argv[1..], or def. */
static inline const char *arg(int argc, char **argv, const char *key, const char *def) {
    size_t kl = strlen(key);
    for (int i = 1; i < argc; i++)
        if (strncmp(argv[i], key, kl) == 0 && argv[i][kl] == '=') return argv[i] + kl + 1;
    return def;
}

/* Exactly `want` little-endian float32 values from path (malloc'd), or NULL with a message. */
static inline float *read_f32(const char *path, size_t want) {
    FILE *f = fopen(path, "rb");
    if (!f) { fprintf(stderr, TOOL_NAME ": cannot open %s\n", path); return NULL; }
    float *v = malloc((want ? want : 1) * sizeof *v);
    size_t got = v ? fread(v, sizeof *v, want, f) : 0;
    int extra = fgetc(f) != EOF;
    fclose(f);
    if (got != want || extra) {
        fprintf(stderr, TOOL_NAME ": %s: expected %zu floats\n", path, want);
        free(v);
        return NULL;
    }
    return v;
}

#endif
