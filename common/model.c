/* model.c - fc_model_load(): picks the loader for a MODEL spec (DESIGN.md "MODEL"):
 * ARCH:PATH (weights-only file with a built-in topology), a TF.js folder or model.json,
 * a Keras .h5 file (full model, or weights-only detected from its layer names), or a bare
 * architecture name: mobilenet_v2 / inception_v3 = the fetched default model (else the
 * Keras cache), vgg16 / vgg19 / resnet50 / resnet101 / resnet152 / mobilenet = the weights file in
 * ~/.keras/models. */
#include <errno.h>
#include <limits.h>
#include <unistd.h>
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

/* The file keras.applications downloads for an include_top=False model. */
static const char *keras_weights_file(const char *arch) {
    static const struct { const char *arch, *file; } files[] = {
        {"vgg16", "vgg16_weights_tf_dim_ordering_tf_kernels_notop.h5"},
        {"vgg19", "vgg19_weights_tf_dim_ordering_tf_kernels_notop.h5"},
        {"resnet50", "resnet50_weights_tf_dim_ordering_tf_kernels_notop.h5"},
        {"resnet101", "resnet101_weights_tf_dim_ordering_tf_kernels_notop.h5"},
        {"resnet152", "resnet152_weights_tf_dim_ordering_tf_kernels_notop.h5"},
        {"inception_v3", "inception_v3_weights_tf_dim_ordering_tf_kernels_notop.h5"},
        {"mobilenet_v2", "mobilenet_v2_weights_tf_dim_ordering_tf_kernels_1.0_224_no_top.h5"},
        {"mobilenet", "mobilenet_1_0_224_tf_no_top.h5"},
    };
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++)
        if (!strcmp(files[i].arch, arch)) return files[i].file;
    return NULL;
}

/* $KERAS_HOME/models/FILE or ~/.keras/models/FILE, as Keras caches downloads. */
static int keras_cache_path(const char *arch, char *buf, size_t cap) {
    const char *file = keras_weights_file(arch), *kh = getenv("KERAS_HOME"), *home = getenv("HOME");
    int n;
    if (!file) return -1;
    if (kh && kh[0]) n = snprintf(buf, cap, "%s/models/%s", kh, file);
    else if (home && home[0]) n = snprintf(buf, cap, "%s/.keras/models/%s", home, file);
    else return -1;
    return n < 0 || (size_t)n >= cap ? -1 : 0;
}

static int ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && !strcmp(s + n - m, suffix);
}

/* A bare name: the fetched default ($CACHE/<name>/model.json, TF.js) for mobilenet_v2 and
 * inception_v3, else the keras.applications weights file in the Keras cache. */
static int load_by_name(const char *name, fc_graph **out, fc_status *st) {
    char dir[4096], json[4200], kpath[4096];
    struct stat sb;
    int have_keras = keras_cache_path(name, kpath, sizeof kpath) == 0;
    if (is_default_name(name)) {
        int rc = fc_model_cache_dir(dir, sizeof dir, st);
        if (rc) return rc;
        snprintf(json, sizeof json, "%s/%s/model.json", dir, name);
        if (stat(json, &sb) == 0) {
            int rc2 = fc_model_load_tfjs(json, out, st);
            /* nsfwjs trained these on x/255 inputs (its normalizationOffset is 255), so they
             * get an arch name of their own: extract's default preprocessing is `rescale`. */
            if (!rc2) snprintf((*out)->arch, sizeof (*out)->arch, "nsfwjs_%s", name);
            return rc2;
        }
        if (have_keras && stat(kpath, &sb) == 0) return fc_model_load_keras_weights(name, kpath, out, st);
        return fc_fail(st, FC_ERR_IO, "model '%s' is not in the cache (%s/%s): run 'featcache fetch-model %s' first", name, dir, name, name);
    }
    if (have_keras && stat(kpath, &sb) == 0) return fc_model_load_keras_weights(name, kpath, out, st);
    return fc_fail(st, FC_ERR_IO, "model '%s': no weights file %s (let Keras download it, or pass -m %s:PATH)", name, have_keras ? kpath : keras_weights_file(name), name);
}

/* 1 if files a and b are one file, or hold the same bytes (a copy). */
static int same_file(const char *a, const char *b) {
    struct stat sa, sb;
    if (stat(a, &sa) != 0 || stat(b, &sb) != 0 || !S_ISREG(sa.st_mode) || !S_ISREG(sb.st_mode)) return 0;
    if (sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino) return 1;
    if (sa.st_size != sb.st_size || sa.st_size > ((off_t)64 << 20)) return 0;
    FILE *fa = fopen(a, "rb"), *fb = fopen(b, "rb");
    int same = fa && fb;
    char ba[65536], bb[65536];
    while (same) {
        size_t na = fread(ba, 1, sizeof ba, fa), nb = fread(bb, 1, sizeof bb, fb);
        if (na != nb || memcmp(ba, bb, na)) same = 0;
        if (na < sizeof ba) break;
    }
    if (fa) fclose(fa);
    if (fb) fclose(fb);
    return same;
}

/* The default name (mobilenet_v2, inception_v3) whose fetched model a TF.js path names:
 * its folder or model.json in the cache, or a copy of that model.json; else NULL. Such a
 * path loads as the name does (arch nsfwjs_*, its default cut and preprocessing). */
static const char *fetched_default_of(const char *spec, int is_dir) {
    static const char *const names[] = {"mobilenet_v2", "inception_v3"};
    char dir[4096], mj[PATH_MAX + 16], cj[4200];
    fc_status ign = {0};
    if (fc_model_cache_dir(dir, sizeof dir, &ign)) return NULL;
    if (snprintf(mj, sizeof mj, is_dir ? "%s/model.json" : "%s", spec) >= (int)sizeof mj) return NULL;
    for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
        snprintf(cj, sizeof cj, "%s/%s/model.json", dir, names[i]);
        if (same_file(mj, cj)) return names[i];
    }
    return NULL;
}

const char *fc_model_default_layer(const char *arch) {
    if (!strcmp(arch, "nsfwjs_mobilenet_v2")) return "out_relu";
    if (!strcmp(arch, "nsfwjs_inception_v3")) return "mixed10";
    return NULL;
}

int fc_model_load(const char *spec, fc_graph **out, fc_status *st) {
    *out = NULL;
    if (!spec || !spec[0]) return fc_fail(st, FC_ERR_ARG, "no model given");
    /* MobileNet (v1) is keras.applications' "mobilenet"; users also say mobilenet_v1 */
    char alias[4200];
    if (!strncmp(spec, "mobilenet_v1", 12) && (spec[12] == 0 || spec[12] == ':') && access(spec, F_OK) != 0 &&
        snprintf(alias, sizeof alias, "mobilenet%s", spec + 12) < (int)sizeof alias)
        spec = alias;
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
    if (!exists && fc_arch_known(spec)) return load_by_name(spec, out, st);
    if (!exists) {
        int e = errno;
        /* a bare word that is no file: most likely a mistyped model name (review 12 B F9) */
        if (!strchr(spec, '/') && !strchr(spec, '.') && strlen(spec) < 64) {
            static const char *const names[] = {"mobilenet_v2", "inception_v3", "vgg16", "vgg19", "resnet50", "resnet101", "resnet152", "mobilenet"};
            const char *near = NULL;
            int best = 4;
            for (size_t i = 0; i < sizeof names / sizeof *names; i++) {
                int d = fc_edit_distance(spec, names[i]);
                if (d < best) best = d, near = names[i];
            }
            return fc_fail(st, FC_ERR_IO, "%s: no such model file, nor a model name featcache knows (%s%s%s%s)", spec,
                           near ? "did you mean '" : "", near ? near : "", near ? "'? " : "",
                           "names: mobilenet_v2, inception_v3 (fetch-model), vgg16, vgg19, resnet50, resnet101, resnet152, mobilenet (Keras's cache)");
        }
        return fc_fail(st, FC_ERR_IO, "%s: cannot open model: %s", spec, strerror(e));
    }
    if (S_ISDIR(sb.st_mode) || ends_with(spec, ".json")) {
        int rc = fc_model_load_tfjs(spec, out, st);
        const char *name = rc ? NULL : fetched_default_of(spec, S_ISDIR(sb.st_mode));
        if (name) snprintf((*out)->arch, sizeof (*out)->arch, "nsfwjs_%s", name);
        return rc;
    }
    return fc_model_load_keras_h5(spec, out, st);
}

int fc_model_abspath(const char *spec, char *out, size_t cap) {
    char real[PATH_MAX];
    struct stat sb;
    out[0] = '\0';
    if (!spec || !spec[0]) return 0;
    /* the same reading as fc_model_load: an existing file first, then ARCH:PATH */
    const char *colon = strchr(spec, ':'), *path = spec;
    size_t pre = 0;
    if (stat(spec, &sb) != 0) {
        if (!colon || colon == spec || (size_t)(colon - spec) >= 32) return 0;
        char arch[32];
        memcpy(arch, spec, (size_t)(colon - spec));
        arch[colon - spec] = '\0';
        if (!fc_arch_known(arch)) return 0;
        path = colon + 1, pre = (size_t)(colon + 1 - spec);
    }
    if (!realpath(path, real)) return 0;
    int n = snprintf(out, cap, "%.*s%s", (int)pre, spec, real);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        return 0;
    }
    return 1;
}
