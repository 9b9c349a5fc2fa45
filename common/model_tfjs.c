/* model_tfjs.c - TF.js layers models: model.json ({"modelTopology": Keras config,
 * "weightsManifest": [{"paths": [shards], "weights": [{name, shape, dtype,
 * quantization?}]}]}) plus binary shards. Each manifest group's shards are concatenated in
 * order and its weights laid out back to back; quantized weights (uint8/uint16 affine,
 * float16) are dequantized as tfjs does: q * scale + min. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "model.h"
#include "h5util.h"
#include "model_internal.h"

#define MAX_JSON ((size_t)64 << 20)
#define MAX_SHARDS_BYTES ((size_t)4 << 30)

typedef enum { Q_NONE, Q_U8, Q_U16, Q_F16, Q_I32 } qkind;

typedef struct {
    const char *name;        /* points into the parsed JSON */
    const unsigned char *data;
    int rank;
    int64_t shape[8];
    size_t count;
    qkind q;
    double scale, min;
} tw;

typedef struct {
    tw *w;
    int n;
    unsigned char **bufs;    /* one buffer per manifest group */
    int nbufs;
    const char *file;
    size_t shard_bytes; /* all groups' shards so far: MAX_SHARDS_BYTES is for the whole model */
    json_t *shards;     /* shard paths read so far (a set): each may be listed once */
} tsrc;

static int read_file(const char *path, size_t max, unsigned char **out, size_t *len,
                     fc_status *st) {
    struct stat sb;
    FILE *f = fc_fopen_regular(path, &sb, st); /* model.json or a shard may be a FIFO */
    if (!f) return st && st->code ? (int)st->code : FC_ERR_IO; /* never 0 without a buffer */
    int rc = 0;
    unsigned char *buf = NULL;
    if ((size_t)sb.st_size > max) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: file too large (%lld bytes)", path, (long long)sb.st_size);
    } else if (!(buf = malloc((size_t)sb.st_size + 1))) {
        rc = fc_fail(st, FC_ERR_NOMEM, "out of memory reading %s", path);
    } else if (fread(buf, 1, (size_t)sb.st_size, f) != (size_t)sb.st_size) {
        rc = fc_fail(st, FC_ERR_IO, "%s: read error", path);
    }
    fclose(f);
    if (rc) {
        free(buf);
        return rc;
    }
    buf[sb.st_size] = 0;
    *out = buf, *len = (size_t)sb.st_size;
    return 0;
}

/* Byte size of one manifest entry after checking its shape and dtype. */
static int entry_size(tsrc *s, json_t *e, tw *w, fc_status *st) {
    json_t *shape = json_object_get(e, "shape"), *q = json_object_get(e, "quantization");
    const char *dt = json_string_value(json_object_get(e, "dtype"));
    w->name = json_string_value(json_object_get(e, "name"));
    if (!w->name || !json_is_array(shape) || json_array_size(shape) > 8)
        return fc_fail(st, FC_ERR_FORMAT, "%s: weightsManifest entry without name/shape", s->file);
    w->rank = (int)json_array_size(shape);
    w->count = 1;
    for (int i = 0; i < w->rank; i++) {
        json_t *d = json_array_get(shape, (size_t)i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 || json_integer_value(d) > (1 << 30) ||
            fc_size_mul(w->count, (size_t)json_integer_value(d), &w->count) || w->count > FC_MAX_TENSOR_ELEMS)
            return fc_fail(st, FC_ERR_FORMAT, "%s: weight '%s' has a bad or huge shape", s->file, w->name);
        w->shape[i] = json_integer_value(d);
    }
    /* int32: a Normalization layer's count, which featcache never reads but must skip over */
    if (dt && strcmp(dt, "float32") && strcmp(dt, "int32"))
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: weight '%s' has dtype '%s' (float32 or int32 expected)", s->file, w->name, dt);
    w->q = dt && !strcmp(dt, "int32") ? Q_I32 : Q_NONE;
    if (q && w->q == Q_I32)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: weight '%s': quantized int32", s->file, w->name);
    if (q) {
        const char *qd = json_string_value(json_object_get(q, "dtype"));
        w->scale = json_number_value(json_object_get(q, "scale"));
        w->min = json_number_value(json_object_get(q, "min"));
        if (qd && !strcmp(qd, "uint8")) w->q = Q_U8;
        else if (qd && !strcmp(qd, "uint16")) w->q = Q_U16;
        else if (qd && !strcmp(qd, "float16")) w->q = Q_F16;
        else return fc_fail(st, FC_ERR_UNSUPPORTED, "%s: weight '%s' has unsupported quantization '%s'", s->file, w->name, qd ? qd : "?");
        if (w->q != Q_F16 && (!json_is_number(json_object_get(q, "scale")) || !json_is_number(json_object_get(q, "min"))))
            return fc_fail(st, FC_ERR_FORMAT, "%s: weight '%s': quantization without scale/min", s->file, w->name);
    }
    return 0;
}

static size_t elem_bytes(qkind q) { return q == Q_U8 ? 1 : q == Q_NONE || q == Q_I32 ? 4 : 2; }

/* Reads one manifest group's shards (paths relative to dir, no "..") into one buffer. */
static int read_group(tsrc *s, const char *dir, json_t *paths, unsigned char **out, size_t *len,
                      fc_status *st) {
    size_t total = 0;
    unsigned char *buf = NULL;
    int rc = 0;
    if (!json_is_array(paths)) return fc_fail(st, FC_ERR_FORMAT, "%s: weightsManifest group without paths", s->file);
    for (size_t i = 0; i < json_array_size(paths) && !rc; i++) {
        const char *p = json_string_value(json_array_get(paths, i));
        if (!p || !p[0] || p[0] == '/' || strstr(p, "..")) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: bad shard path '%s'", s->file, p ? p : "?");
            break;
        }
        if (json_object_get(s->shards, p)) {
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: shard '%s' is listed more than once in weightsManifest", s->file, p);
            break;
        }
        if (json_object_set_new(s->shards, p, json_true())) {
            rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
            break;
        }
        char full[8192];
        snprintf(full, sizeof full, "%s/%s", dir, p);
        unsigned char *part = NULL;
        size_t n = 0;
        if ((rc = read_file(full, MAX_SHARDS_BYTES - s->shard_bytes, &part, &n, st))) break;
        s->shard_bytes += n;
        unsigned char *nb = realloc(buf, total + n + 1);
        if (!nb) {
            free(part);
            rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
            break;
        }
        buf = nb;
        memcpy(buf + total, part, n);
        total += n;
        free(part);
    }
    if (rc) {
        free(buf);
        return rc;
    }
    *out = buf ? buf : calloc(1, 1);
    *len = total;
    return *out ? 0 : fc_fail(st, FC_ERR_NOMEM, "out of memory");
}

static int tsrc_init(tsrc *s, json_t *root, const char *dir, const char *file, fc_status *st) {
    memset(s, 0, sizeof *s);
    s->file = file;
    json_t *man = json_object_get(root, "weightsManifest");
    if (!json_is_array(man)) return fc_fail(st, FC_ERR_FORMAT, "%s: no weightsManifest", file);
    size_t nw = 0;
    for (size_t g = 0; g < json_array_size(man); g++)
        nw += json_array_size(json_object_get(json_array_get(man, g), "weights"));
    s->w = calloc(nw ? nw : 1, sizeof *s->w);
    s->bufs = calloc(json_array_size(man) + 1, sizeof *s->bufs);
    s->shards = json_object();
    if (!s->w || !s->bufs || !s->shards) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    for (size_t g = 0; g < json_array_size(man); g++) {
        json_t *grp = json_array_get(man, g), *ws = json_object_get(grp, "weights");
        size_t len = 0, off = 0;
        int rc = read_group(s, dir, json_object_get(grp, "paths"), &s->bufs[s->nbufs], &len, st);
        if (rc) return rc;
        const unsigned char *base = s->bufs[s->nbufs++];
        for (size_t i = 0; i < json_array_size(ws); i++) {
            tw *w = &s->w[s->n];
            if ((rc = entry_size(s, json_array_get(ws, i), w, st))) return rc;
            size_t bytes = w->count * elem_bytes(w->q);
            if (bytes > len - off)
                return fc_fail(st, FC_ERR_FORMAT, "%s: weight shards are truncated: weight '%s' needs bytes %zu..%zu but group %zu holds %zu", file, w->name, off, off + bytes, g + 1, len);
            w->data = base + off;
            off += bytes;
            s->n++;
        }
    }
    return 0;
}

static void tsrc_free(tsrc *s) {
    for (int i = 0; i < s->nbufs; i++) free(s->bufs[i]);
    free(s->bufs), free(s->w);
    json_decref(s->shards);
}

static float half_to_float(uint16_t h) {
    uint32_t sgn = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0) {
        float f = (float)m * (1.0f / 16777216.0f); /* subnormal: m * 2^-24 */
        return sgn ? -f : f;
    }
    bits = e == 31 ? sgn | 0x7F800000u | (m << 13) : sgn | ((e + 112) << 23) | (m << 13);
    float f;
    memcpy(&f, &bits, 4);
    return f;
}

/* "[prefix/]layer/var" -> does it name (layer, var)? */
static int name_matches(const char *name, const char *layer, const char *var) {
    const char *slash = strrchr(name, '/');
    if (!slash || strcmp(slash + 1, var)) return 0;
    size_t ll = strlen(layer);
    if ((size_t)(slash - name) < ll || strncmp(slash - ll, layer, ll)) return 0;
    return slash - ll == name || slash[-(ptrdiff_t)ll - 1] == '/';
}

static int t_get(void *ctx, const char *group, const char *layer, const char *var, int rank,
                 const int64_t *expect, int64_t *dims, float **out, size_t *count,
                 fc_status *st) {
    tsrc *s = ctx;
    const tw *w = NULL;
    for (int i = 0; i < s->n && !w; i++)
        if (name_matches(s->w[i].name, layer, var)) w = &s->w[i];
    if (!w) return 1;
    int bad = w->rank != rank;
    for (int i = 0; i < rank && !bad; i++) bad = expect[i] >= 0 && expect[i] != w->shape[i];
    if (bad) {
        char gs[160], es[160];
        fc_fmt_dims(gs, sizeof gs, w->shape, w->rank);
        fc_fmt_dims(es, sizeof es, expect, rank);
        return fc_fail(st, FC_ERR_MISMATCH, "weight '%s' has shape %s, expected %s", w->name, gs, es);
    }
    float *f = fc_aligned_alloc(w->count * sizeof *f, st);
    if (!f) return FC_ERR_NOMEM;
    for (size_t i = 0; i < w->count; i++) {
        if (w->q == Q_NONE) memcpy(&f[i], w->data + 4 * i, 4);
        else if (w->q == Q_I32) {
            int32_t v;
            memcpy(&v, w->data + 4 * i, 4);
            f[i] = (float)v;
        }
        else if (w->q == Q_U8) f[i] = (float)(w->data[i] * w->scale + w->min);
        else {
            uint16_t v;
            memcpy(&v, w->data + 2 * i, 2);
            f[i] = w->q == Q_U16 ? (float)(v * w->scale + w->min) : half_to_float(v);
        }
    }
    for (int i = 0; i < rank; i++) dims[i] = w->shape[i];
    *out = f, *count = w->count;
    return 0;
}

int fc_model_load_tfjs(const char *dir_or_json, fc_graph **out, fc_status *st) {
    *out = NULL;
    char json_path[4096], dir[4096];
    struct stat sb;
    if (stat(dir_or_json, &sb) == 0 && S_ISDIR(sb.st_mode)) {
        snprintf(dir, sizeof dir, "%s", dir_or_json);
        snprintf(json_path, sizeof json_path, "%s/model.json", dir_or_json);
    } else {
        snprintf(json_path, sizeof json_path, "%s", dir_or_json);
        snprintf(dir, sizeof dir, "%s", dir_or_json);
        char *sl = strrchr(dir, '/');
        if (sl) *sl = 0;
        else snprintf(dir, sizeof dir, ".");
    }
    unsigned char *text = NULL;
    size_t len = 0;
    json_t *root = NULL;
    tsrc src;
    memset(&src, 0, sizeof src);
    fc_wsrc ws = {t_get, &src, NULL, json_path, NULL, 0};
    fc_graph *g = NULL;
    json_error_t je;
    int rc = read_file(json_path, MAX_JSON, &text, &len, st);
    if (rc) goto out;
    if (!(root = json_loadb((const char *)text, len, 0, &je))) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: not valid JSON (line %d: %s)", json_path, je.line, je.text);
        goto out;
    }
    if (!json_object_get(root, "modelTopology")) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: not a TF.js layers model (no modelTopology)", json_path);
        goto out;
    }
    if ((rc = tsrc_init(&src, root, dir, json_path, st)) || (rc = fc_wsrc_begin(&ws, st))) goto out;
    if (!(g = fc_graph_create(st))) {
        rc = FC_ERR_NOMEM;
        goto out;
    }
    json_t *topo = json_object_get(root, "modelTopology");
    const char *version = json_string_value(json_object_get(topo, "keras_version"));
    if ((rc = fc_keras_config_build((const char *)text, len, version, &ws, json_path, g, st)) ||
        (rc = fc_wsrc_finish(&ws, g, st)))
        goto out;
    snprintf(g->arch, sizeof g->arch, "tfjs");
    snprintf(g->source, sizeof g->source, "%s", dir_or_json);
    *out = g;
    g = NULL;
out:
    fc_graph_free(g);
    fc_wsrc_end(&ws);
    tsrc_free(&src);
    json_decref(root);
    free(text);
    return rc;
}
