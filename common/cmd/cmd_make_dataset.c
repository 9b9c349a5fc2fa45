/* cmd_make_dataset.c - `featcache make-dataset`: Debian's Fashion-MNIST IDX files written
 * as a Keras flow_from_directory image set:
 *     OUT/{train,validation,test}/<class name>/<source index>.png
 * train and validation come from the train-* files (disjoint: the first --per-class
 * images of each class go to train, the next --val-per-class to validation), test from
 * the t10k-* files. Selection is by file order, so the output is deterministic. */
#define _GNU_SOURCE
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../idx.h"
#include "../image.h"
#include "commands.h"
#include "opts.h"

#define N_CLASSES 10
#define DEFAULT_SOURCE "/usr/share/datasets/fashion-mnist"

/* Label order of the IDX files; '/' of "T-shirt/top" is not allowed in a folder name. */
static const char *const class_names[N_CLASSES] = {
    "T-shirt_top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle_boot",
};

static const fc_opt opts[] = {
    {"output", 'o', "DIR", "output folder (created; must be empty unless --force)"},
    {"source", 'i', "DIR", "folder with {train,t10k}-{images-idx3,labels-idx1}-ubyte[.gz] (default " DEFAULT_SOURCE ")"},
    {"per-class", 'n', "N", "training images per class (default 100)"},
    {"val-per-class", 0, "N", "validation images per class (default per-class/4, at least 1)"},
    {"test-per-class", 0, "N", "test images per class (default per-class/4, at least 1)"},
    {"classes", 'c', "LIST", "comma-separated class names or indices 0-9 (default all 10)"},
    {"size", 's', "N", "side in pixels, upscaled with nearest neighbour (default 28)"},
    {"force", 'f', NULL, "write into a non-empty output folder"},
    {"quiet", 'q', NULL, "no summary line"},
    {0},
};
static const fc_cmd_spec spec = {
    "make-dataset", "-o DIR [options]",
    "Write Fashion-MNIST (Debian's dataset-fashion-mnist) as train/validation/test class folders of PNGs.",
    opts, 0, 0};

typedef struct {
    fc_idx images, labels;
} idx_pair;

static void idx_pair_free(idx_pair *p) {
    fc_idx_free(&p->images);
    fc_idx_free(&p->labels);
}

/* Finds PREFIX-images-idx3-ubyte(.gz) and the labels twin in dir; checks they agree. */
static int load_pair(const char *dir, const char *prefix, idx_pair *p, fc_status *st) {
    char ipath[4096], lpath[4096];
    struct stat sb;
    const char *kinds[2] = {"images-idx3", "labels-idx1"};
    char *paths[2] = {ipath, lpath};
    for (int k = 0; k < 2; k++) {
        snprintf(paths[k], sizeof ipath, "%s/%s-%s-ubyte.gz", dir, prefix, kinds[k]);
        if (stat(paths[k], &sb) != 0) {
            snprintf(paths[k], sizeof ipath, "%s/%s-%s-ubyte", dir, prefix, kinds[k]);
            if (stat(paths[k], &sb) != 0)
                return fc_fail(st, FC_ERR_IO,
                               "%s/%s-%s-ubyte.gz: not found (install Debian's dataset-fashion-mnist "
                               "or pass --source DIR)", dir, prefix, kinds[k]);
        }
    }
    int rc;
    if ((rc = fc_idx_read(ipath, FC_IDX_MAGIC_IMAGES, &p->images, st))) return rc;
    if ((rc = fc_idx_read(lpath, FC_IDX_MAGIC_LABELS, &p->labels, st))) return rc;
    if (p->images.n != p->labels.n)
        return fc_fail(st, FC_ERR_FORMAT, "%s has %zu images but %s has %zu labels", ipath,
                       p->images.n, lpath, p->labels.n);
    for (size_t i = 0; i < p->labels.n; i++)
        if (p->labels.data[i] >= N_CLASSES)
            return fc_fail(st, FC_ERR_FORMAT, "%s: label %u at item %zu is not a class 0-%d", lpath,
                           p->labels.data[i], i, N_CLASSES - 1);
    return 0;
}

/* "Coat,bag,7" -> selected[]; names are case-insensitive, indices 0-9. */
static int parse_classes(const char *list, int selected[N_CLASSES], fc_status *st) {
    if (!list) {
        for (int c = 0; c < N_CLASSES; c++) selected[c] = 1;
        return 0;
    }
    memset(selected, 0, N_CLASSES * sizeof *selected);
    int any = 0;
    const char *p = list;
    while (*p) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p);
        int found = -1;
        for (int c = 0; c < N_CLASSES && found < 0; c++)
            if (strlen(class_names[c]) == len && strncasecmp(class_names[c], p, len) == 0) found = c;
        if (found < 0 && len == 1 && isdigit((unsigned char)*p)) found = *p - '0';
        if (found < 0)
            return fc_fail(st, FC_ERR_ARG, "unknown class '%.*s' (classes: T-shirt_top, Trouser, "
                           "Pullover, Dress, Coat, Sandal, Shirt, Sneaker, Bag, Ankle_boot or 0-9)",
                           (int)len, p);
        if (selected[found])
            return fc_fail(st, FC_ERR_ARG, "class '%.*s' is given twice in --classes (as %s)", (int)len, p,
                           class_names[found]);
        selected[found] = 1;
        any = 1;
        p += len;
        if (*p == ',') p++;
    }
    if (!any) return fc_fail(st, FC_ERR_ARG, "--classes is empty");
    return 0;
}

static int mkdir_p(const char *path, fc_status *st) {
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf)
        return fc_fail(st, FC_ERR_ARG, "%s: path too long", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return fc_fail(st, FC_ERR_IO, "%s: cannot create folder: %s", buf, strerror(errno));
        *s = '/';
    }
    if (mkdir(buf, 0777) != 0 && errno != EEXIST)
        return fc_fail(st, FC_ERR_IO, "%s: cannot create folder: %s", buf, strerror(errno));
    return 0;
}

/* 1 if dir exists and holds anything, 0 if missing or empty. */
static int dir_nonempty(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    struct dirent *e;
    int n = 0;
    while ((e = readdir(d)))
        if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0) n++;
    closedir(d);
    return n > 0;
}

/* Writes the rows x cols grey item as a side x side grey PNG. Nearest-neighbour sampling
 * at pixel centres, as PIL's resize(NEAREST) does. tmp holds side*side bytes. */
static int write_png(const char *path, const uint8_t *src, int rows, int cols, int side,
                     uint8_t *tmp, fc_status *st) {
    for (int y = 0; y < side; y++) {
        int sy = (int)(((long long)y * 2 + 1) * rows / (2LL * side));
        for (int x = 0; x < side; x++) {
            int sx = (int)(((long long)x * 2 + 1) * cols / (2LL * side));
            tmp[(size_t)y * side + x] = src[(size_t)sy * cols + sx];
        }
    }
    return fc_png_write(path, tmp, side, side, 1, st);
}

typedef struct {
    const char *out;
    int side;
    uint8_t *tmp;
    size_t written;
} writer;

/* Writes up to `count` images of class c from p, starting at the skip-th occurrence. */
static int write_class(writer *w, const idx_pair *p, const char *what, const char *split, int c,
                       long skip, long count, fc_status *st) {
    char dir[4096], path[4200];
    snprintf(dir, sizeof dir, "%s/%s/%s", w->out, split, class_names[c]);
    int rc = mkdir_p(dir, st);
    if (rc) return rc;
    long seen = 0, done = 0;
    int rows = (int)p->images.dims[1], cols = (int)p->images.dims[2];
    for (size_t i = 0; i < p->labels.n && done < count; i++) {
        if (p->labels.data[i] != c || seen++ < skip) continue;
        snprintf(path, sizeof path, "%s/%05zu.png", dir, i);
        rc = write_png(path, p->images.data + i * p->images.item_bytes, rows, cols, w->side, w->tmp, st);
        if (rc) return rc;
        done++;
        w->written++;
    }
    if (done < count)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: class %s has only %ld images left for %s, %ld asked",
                       what, class_names[c], done, split, count);
    return 0;
}

static int run(const fc_args *a, const char *out, long per, long nval, long ntest, long side,
               fc_status *st) {
    int selected[N_CLASSES];
    idx_pair tr = {0}, te = {0};
    writer w = {out, (int)side, NULL, 0};
    const char *src = fc_arg_str(a, "source", DEFAULT_SOURCE);
    int rc = parse_classes(fc_arg_str(a, "classes", NULL), selected, st);
    if (rc) goto out;
    if (!fc_arg_flag(a, "force") && dir_nonempty(out)) {
        rc = fc_fail(st, FC_ERR_IO, "%s: folder exists and is not empty (use --force to write into it)", out);
        goto out;
    }
    if ((rc = load_pair(src, "train", &tr, st)) || (rc = load_pair(src, "t10k", &te, st))) goto out;
    if (tr.images.dims[1] != te.images.dims[1] || tr.images.dims[2] != te.images.dims[2]) {
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: train images are %ux%u but t10k images are %ux%u", src,
                     tr.images.dims[1], tr.images.dims[2], te.images.dims[1], te.images.dims[2]);
        goto out;
    }
    if (!(w.tmp = fc_malloc((size_t)side * (size_t)side, st))) {
        rc = FC_ERR_NOMEM;
        goto out;
    }
    for (int c = 0; c < N_CLASSES; c++) {
        if (!selected[c]) continue;
        if ((rc = write_class(&w, &tr, src, "train", c, 0, per, st)) ||
            (nval > 0 && (rc = write_class(&w, &tr, src, "validation", c, per, nval, st))) ||
            (ntest > 0 && (rc = write_class(&w, &te, src, "test", c, 0, ntest, st))))
            goto out;
    }
    if (!fc_arg_flag(a, "quiet")) {
        int nc = 0;
        for (int c = 0; c < N_CLASSES; c++) nc += selected[c];
        printf("wrote %zu images (%d classes x %ld train + %ld validation + %ld test, %ldx%ld grey PNG) to %s\n",
               w.written, nc, per, nval, ntest, side, side, out);
    }
out:
    free(w.tmp);
    idx_pair_free(&tr);
    idx_pair_free(&te);
    return rc;
}

int cmd_make_dataset(int argc, char **argv) {
    fc_args a;
    int prc = fc_args_parse(&spec, argc, argv, &a);
    if (prc != FC_ARGS_OK) {
        fc_args_free(&a);
        return prc;
    }
    int rc = 2;
    long per, nval, ntest, side;
    const char *out = fc_arg_str(&a, "output", NULL);
    if (!out) {
        fc_usage_error(spec.name, "-o DIR is required");
        goto done;
    }
    /* at least one validation and one test image per class by default: with -n below 4,
     * per/4 was 0, so no validation/ or test/ folder and extract read train/ as a class */
    if (fc_arg_long(&a, "per-class", 100, 1, 1000000, &per) != FC_ARGS_OK ||
        fc_arg_long(&a, "val-per-class", per >= 4 ? per / 4 : 1, 0, 1000000, &nval) != FC_ARGS_OK ||
        fc_arg_long(&a, "test-per-class", per >= 4 ? per / 4 : 1, 0, 1000000, &ntest) != FC_ARGS_OK ||
        fc_arg_long(&a, "size", 28, 1, FC_IDX_MAX_SIDE, &side) != FC_ARGS_OK)
        goto done;
    fc_status st = {0};
    rc = run(&a, out, per, nval, ntest, side, &st) ? fc_report(spec.name, &st) : 0;
done:
    fc_args_free(&a);
    return rc;
}
