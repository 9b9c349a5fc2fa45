/* model.c - fc_model_load(): picks the loader for a MODEL spec (DESIGN.md "MODEL"):
 * ARCH:PATH (weights-only file with a built-in topology), a TF.js folder or model.json,
 * a Keras .h5 file (full model, or weights-only detected from its layer names), or the
 * bare name of a fetched default model (mobilenet_v2, inception_v3). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "arch.h"
#include "model.h"

int fc_model_cache_dir(char *buf, size_t cap, fc_status *st) {
    const char *x = getenv("XDG_CACHE_HOME");
    const char *home = getenv("HOME");
    int n;
    if (x && x[0] == '/') n = snprintf(buf, cap, "%s/featcache/models", x);
    else if (home && home[0]) n = snprintf(buf, cap, "%s/.cache/featcache/models", home);
    else return fc_fail(st, FC_ERR_IO, "cannot locate the model cache: neither XDG_CACHE_HOME nor HOME is set");
    if (n < 0 || (size_t)n >= cap) return fc_fail(st, FC_ERR_ARG, "model cache path too long");
    return 0;
}

static int is_default_name(const char *s) {
    return !strcmp(s, "mobilenet_v2") || !strcmp(s, "inception_v3");
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* A fetched default: $CACHE/<name>/model.json (TF.js). */
static int load_default(const char *name, fc_graph **out, fc_status *st) {
    char dir[4096], json[4200];
    int rc = fc_model_cache_dir(dir, sizeof dir, st);
    if (rc) return rc;
    snprintf(json, sizeof json, "%s/%s/model.json", dir, name);
    struct stat sb;
    if (stat(json, &sb) != 0)
        return fc_fail(st, FC_ERR_IO, "model '%s' is not in the cache (%s/%s): run 'featcache fetch-model %s' first", name, dir, name, name);
    rc = fc_model_load_tfjs(json, out, st);
    /* nsfwjs trained these on x/255 inputs (its normalizationOffset is 255), so they get
     * an arch name of their own: extract's default preprocessing for it is `rescale`. */
    if (!rc) snprintf((*out)->arch, sizeof (*out)->arch, "nsfwjs_%s", name);
    return rc;
}

int fc_model_load(const char *spec, fc_graph **out, fc_status *st) {
    *out = NULL;
    if (!spec || !spec[0]) return fc_fail(st, FC_ERR_ARG, "no model given");
    struct stat sb;
    int exists = stat(spec, &sb) == 0;
    const char *colon = strchr(spec, ':');
    if (!exists && colon && colon > spec && (size_t)(colon - spec) < 32) {
        char arch[32];
        memcpy(arch, spec, (size_t)(colon - spec));
        arch[colon - spec] = 0;
        if (fc_arch_known(arch)) return fc_model_load_keras_weights(arch, colon + 1, out, st);
        return fc_fail(st, FC_ERR_ARG, "unknown architecture '%s' in model spec '%s' (known: %s)", arch, spec, fc_arch_list());
    }
    if (!exists && is_default_name(spec)) return load_default(spec, out, st);
    if (!exists)
        return fc_fail(st, FC_ERR_IO, "%s: cannot open model: %s", spec, strerror(errno));
    if (S_ISDIR(sb.st_mode) || ends_with(spec, ".json")) return fc_model_load_tfjs(spec, out, st);
    return fc_model_load_keras_h5(spec, out, st);
}
