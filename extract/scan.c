/* scan.c - list an image folder like Keras flow_from_directory (see scan.h). */
#define _GNU_SOURCE
#include "scan.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "../common/store.h"

#define MAX_DEPTH 64

typedef struct {
    char **v;
    size_t n, cap;
} namelist;

static void names_free(namelist *l) {
    for (size_t i = 0; i < l->n; i++) free(l->v[i]);
    free(l->v);
    l->v = NULL;
    l->n = l->cap = 0;
}

static int names_push(namelist *l, const char *name, fc_status *st) {
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 16;
        char **v = realloc(l->v, cap * sizeof *v);
        if (!v) return fc_fail(st, FC_ERR_NOMEM, "out of memory listing a folder");
        l->v = v;
        l->cap = cap;
    }
    if (!(l->v[l->n] = fc_strdup(name, st))) return st->code;
    l->n++;
    return FC_OK;
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static char *join(const char *a, const char *b, fc_status *st) {
    if (!a || !*a) return fc_strdup(b, st);
    size_t la = strlen(a), lb = strlen(b);
    char *s = fc_malloc(la + lb + 2, st);
    if (!s) return NULL;
    memcpy(s, a, la);
    s[la] = '/';
    memcpy(s + la + 1, b, lb + 1);
    return s;
}

/* Sorted entry names of dir; hidden ones (leading '.', like "." and "..") are left out,
 * and counted in s->n_hidden except for "." and "..". */
static int list_dir(fc_scan *s, const char *dir, namelist *out, fc_status *st) {
    DIR *d = opendir(dir);
    if (!d) return fc_fail(st, FC_ERR_IO, "%s: cannot open folder: %s", dir, strerror(errno));
    int rc = FC_OK;
    struct dirent *e;
    errno = 0;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') {
            s->n_hidden += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
        } else if ((rc = names_push(out, e->d_name, st))) {
            break;
        }
        errno = 0;
    }
    if (!rc && errno) rc = fc_fail(st, FC_ERR_IO, "%s: cannot read folder: %s", dir, strerror(errno));
    closedir(d);
    if (!rc && out->n > 1) qsort(out->v, out->n, sizeof *out->v, cmp_str);
    return rc;
}

static const char *ext_of(const char *name) {
    const char *dot = strrchr(name, '.');
    return dot && dot != name ? dot + 1 : "";
}

int fc_scan_is_image_name(const char *name) {
    /* Keras 2.2.4 flow_from_directory's white list */
    static const char *const exts[] = {"png", "jpg", "jpeg", "bmp", "ppm", "tif", "tiff"};
    const char *e = ext_of(name);
    for (size_t i = 0; i < sizeof exts / sizeof *exts; i++)
        if (!strcasecmp(e, exts[i])) return 1;
    return 0;
}

/* 1 if path is a folder (following symlinks), 0 otherwise. */
static int is_dir(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0 && S_ISDIR(sb.st_mode);
}

static int add_file(fc_scan *s, const char *rel, int cls, int split, const struct stat *sb,
                    fc_status *st) {
    if (s->n_files == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 256;
        fc_scan_entry *f = realloc(s->files, cap * sizeof *f);
        if (!f) return fc_fail(st, FC_ERR_NOMEM, "out of memory listing images");
        s->files = f;
        s->cap = cap;
    }
    fc_scan_entry *e = &s->files[s->n_files];
    if (!(e->path = fc_strdup(rel, st))) return st->code;
    e->cls = cls;
    e->split = split;
    e->size = sb ? (int64_t)sb->st_size : -1;
    e->mtime_ns = sb ? (int64_t)sb->st_mtim.tv_sec * 1000000000 + sb->st_mtim.tv_nsec : 0;
    s->n_files++;
    return FC_OK;
}

/* One entry of a class folder: a file to keep, a folder to walk, or something skipped. */
static int walk_class(fc_scan *s, const char *rel_dir, int cls, int split, int depth,
                      fc_status *st);

static int visit_entry(fc_scan *s, const char *rel, const char *name, int cls, int split,
                       int depth, fc_status *st) {
    char *abs = join(s->root, rel, st);
    if (!abs) return st->code;
    int rc = FC_OK;
    struct stat lsb, sb;
    int have_l = lstat(abs, &lsb) == 0;
    int have = stat(abs, &sb) == 0;
    if (have_l && S_ISLNK(lsb.st_mode) && have && S_ISDIR(sb.st_mode)) {
        s->n_linked_dirs++; /* os.walk(followlinks=False) does not enter it */
    } else if (have && S_ISDIR(sb.st_mode)) {
        rc = walk_class(s, rel, cls, split, depth + 1, st);
    } else if (fc_scan_is_image_name(name)) {
        if (have && !S_ISREG(sb.st_mode))
            s->n_other++; /* a fifo or device named x.png would block the reader */
        else /* unreadable or dangling: kept so extract reports it with the reason */
            rc = add_file(s, rel, cls, split, have ? &sb : NULL, st);
    } else {
        s->n_other++;
    }
    free(abs);
    return rc;
}

static int walk_class(fc_scan *s, const char *rel_dir, int cls, int split, int depth,
                      fc_status *st) {
    if (depth > MAX_DEPTH)
        return fc_fail(st, FC_ERR_FORMAT, "%s/%s: folders nested deeper than %d levels", s->root,
                       rel_dir, MAX_DEPTH);
    namelist names = {0};
    char *abs = join(s->root, rel_dir, st);
    int rc = abs ? list_dir(s, abs, &names, st) : (int)st->code;
    for (size_t i = 0; !rc && i < names.n; i++) {
        char *rel = join(rel_dir, names.v[i], st);
        if (!rel) {
            rc = st->code;
            break;
        }
        rc = visit_entry(s, rel, names.v[i], cls, split, depth, st);
        free(rel);
    }
    names_free(&names);
    free(abs);
    return rc;
}

/* Class folders of rel_dir ("" = root): visible sub-folders; loose files are counted. */
static int list_classes(fc_scan *s, const char *rel_dir, namelist *classes, fc_status *st) {
    namelist names = {0};
    char *abs = join(s->root, rel_dir, st);
    int rc = abs ? list_dir(s, abs, &names, st) : (int)st->code;
    for (size_t i = 0; !rc && i < names.n; i++) {
        char *p = join(abs, names.v[i], st);
        if (!p) {
            rc = st->code;
            break;
        }
        if (is_dir(p))
            rc = names_push(classes, names.v[i], st);
        else
            s->n_loose++;
        free(p);
    }
    names_free(&names);
    free(abs);
    return rc;
}

static int class_index(const fc_scan *s, const char *name) {
    char *const *hit = bsearch(&name, s->classes, (size_t)s->n_classes, sizeof *s->classes, cmp_str);
    return hit ? (int)(hit - s->classes) : -1;
}

int fc_scan_split_of_name(const char *name) {
    static const char *const names[] = {"train", "validation", "valid", "val", "test"};
    static const int splits[] = {FC_SPLIT_TRAIN, FC_SPLIT_VAL, FC_SPLIT_VAL, FC_SPLIT_VAL, FC_SPLIT_TEST};
    for (int i = 0; i < 5; i++)
        if (!strcasecmp(name, names[i])) return splits[i];
    return -2;
}

int fc_scan_looks_like_split(const char *name) {
    return fc_scan_split_of_name(name) != -2 || !strcasecmp(name, "training") ||
           !strcasecmp(name, "testing");
}

/* Split folders present at the top (fc_scan_split_of_name: case-insensitive, with the
 * aliases): s->split_dir[FC_SPLIT_*] gets the folder's own name (NULL if absent). Two
 * folders for one split (validation/ and val/, train/ and Train/) are refused. */
static int find_split_dirs(fc_scan *s, fc_status *st) {
    namelist top = {0};
    size_t hidden = s->n_hidden; /* the root's hidden entries are counted by its real listing */
    int rc = list_dir(s, s->root, &top, st);
    s->n_hidden = hidden;
    for (size_t i = 0; !rc && i < top.n; i++) {
        int k = fc_scan_split_of_name(top.v[i]);
        if (k < 0) continue;
        char *p = join(s->root, top.v[i], st);
        if (!p) {
            rc = st->code;
            break;
        }
        int d = is_dir(p);
        free(p);
        if (!d) continue;
        if (s->split_dir[k])
            rc = fc_fail(st, FC_ERR_FORMAT, "%s: has both %s/ and %s/ split folders (both are the %s split); "
                         "keep one", s->root, s->split_dir[k], top.v[i], fc_split_name(k));
        else if (!(s->split_dir[k] = fc_strdup(top.v[i], st)))
            rc = st->code;
    }
    names_free(&top);
    if (rc) return rc;
    char *const *d = s->split_dir;
    s->split_dirs = d[FC_SPLIT_TRAIN] && (d[FC_SPLIT_VAL] || d[FC_SPLIT_TEST]);
    return FC_OK;
}

static int set_classes(fc_scan *s, namelist *all, fc_status *st) {
    if (all->n > 1) qsort(all->v, all->n, sizeof *all->v, cmp_str);
    size_t n = 0;
    for (size_t i = 0; i < all->n; i++) {
        if (n > 0 && strcmp(all->v[n - 1], all->v[i]) == 0) {
            free(all->v[i]);
            continue;
        }
        all->v[n++] = all->v[i];
    }
    if (n > 100000) return fc_fail(st, FC_ERR_FORMAT, "%s: more than 100000 class folders", s->root);
    s->classes = all->v;
    s->n_classes = (int)n;
    all->v = NULL;
    all->n = all->cap = 0;
    return FC_OK;
}

static int scan_splits(fc_scan *s, fc_status *st) {
    char *const *dirs = s->split_dir;
    namelist all = {0}, per[3] = {{0}};
    int rc = FC_OK;
    for (int k = 0; k < 3 && !rc; k++)
        if (dirs[k]) rc = list_classes(s, dirs[k], &per[k], st);
    for (int k = 0; k < 3 && !rc; k++)
        for (size_t i = 0; i < per[k].n && !rc; i++) rc = names_push(&all, per[k].v[i], st);
    if (!rc) rc = set_classes(s, &all, st);
    for (int k = 0; k < 3 && !rc; k++) {
        for (size_t i = 0; i < per[k].n && !rc; i++) {
            char *rel = join(dirs[k], per[k].v[i], st);
            if (!rel) {
                rc = st->code;
                break;
            }
            rc = walk_class(s, rel, class_index(s, per[k].v[i]), k, 0, st);
            free(rel);
        }
    }
    names_free(&all);
    for (int k = 0; k < 3; k++) names_free(&per[k]);
    return rc;
}

/* Image files under dir (recursively, hidden entries and symlinked folders left out
 * as in a class folder): what an ignored folder would have contributed. */
static size_t count_images(const char *dir, int depth) {
    DIR *d = depth <= MAX_DEPTH ? opendir(dir) : NULL;
    if (!d) return 0;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.') continue;
        char *p = NULL;
        if (asprintf(&p, "%s/%s", dir, e->d_name) < 0) break;
        struct stat lsb, sb;
        if (lstat(p, &lsb) == 0 && !S_ISLNK(lsb.st_mode) && S_ISDIR(lsb.st_mode))
            n += count_images(p, depth + 1);
        else if (fc_scan_is_image_name(e->d_name) && stat(p, &sb) == 0 && S_ISREG(sb.st_mode))
            n++;
        free(p);
    }
    closedir(d);
    return n;
}

static int add_ignored(fc_scan *s, const char *name, size_t images, fc_status *st) {
    fc_scan_ignored *v = realloc(s->ignored, (s->n_ignored + 1) * sizeof *v);
    if (!v) return fc_fail(st, FC_ERR_NOMEM, "out of memory listing folders");
    s->ignored = v;
    if (!(v[s->n_ignored].name = fc_strdup(name, st))) return st->code;
    v[s->n_ignored++].images = images;
    return FC_OK;
}

/* The root's entries besides the split folders: files are loose, folders are ignored;
 * those holding images are listed by name with their image count. */
static int count_ignored_dirs(fc_scan *s, fc_status *st) {
    namelist top = {0};
    int rc = list_dir(s, s->root, &top, st);
    for (size_t i = 0; !rc && i < top.n; i++) {
        const char *n = top.v[i];
        int is_split = 0;
        for (int k = 0; k < 3; k++) is_split |= s->split_dir[k] && strcmp(s->split_dir[k], n) == 0;
        if (is_split) continue;
        char *p = join(s->root, n, st);
        if (!p) {
            rc = st->code;
            break;
        }
        size_t images = 0;
        if (!is_dir(p))
            s->n_loose++;
        else if ((images = count_images(p, 1)) > 0)
            rc = add_ignored(s, n, images, st);
        else
            s->n_ignored_dirs++;
        free(p);
    }
    names_free(&top);
    return rc;
}

int fc_scan_dir(const char *root, fc_scan *out, fc_status *st) {
    memset(out, 0, sizeof *out);
    struct stat sb;
    if (stat(root, &sb) != 0) return fc_fail(st, FC_ERR_IO, "%s: %s", root, strerror(errno));
    if (!S_ISDIR(sb.st_mode)) return fc_fail(st, FC_ERR_IO, "%s: not a folder", root);
    if (!(out->root = fc_strdup(root, st))) return st->code;
    /* strip trailing slashes so joined paths look normal ("/" stays) */
    for (size_t n = strlen(out->root); n > 1 && out->root[n - 1] == '/'; n--) out->root[n - 1] = 0;
    int rc = find_split_dirs(out, st);
    if (!rc && out->split_dirs) {
        rc = count_ignored_dirs(out, st);
        if (!rc) rc = scan_splits(out, st);
    } else if (!rc) {
        namelist classes = {0};
        rc = list_classes(out, "", &classes, st);
        if (!rc) rc = set_classes(out, &classes, st);
        names_free(&classes);
        for (int c = 0; !rc && c < out->n_classes; c++)
            rc = walk_class(out, out->classes[c], c, FC_SPLIT_ANY, 0, st);
    }
    if (rc) fc_scan_free(out);
    return rc;
}

void fc_scan_free(fc_scan *s) {
    if (!s) return;
    for (int i = 0; i < s->n_classes; i++) free(s->classes[i]);
    free(s->classes);
    for (size_t i = 0; i < s->n_files; i++) free(s->files[i].path);
    free(s->files);
    for (int k = 0; k < 3; k++) free(s->split_dir[k]);
    for (size_t i = 0; i < s->n_ignored; i++) free(s->ignored[i].name);
    free(s->ignored);
    free(s->root);
    memset(s, 0, sizeof *s);
}

static int hex_u64(const char *hex, uint64_t *out) {
    uint64_t v = 0;
    for (int i = 0; i < 16; i++) {
        char c = hex[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
        if (d < 0) return -1;
        v = v << 4 | (uint64_t)d;
    }
    *out = v;
    return 0;
}

int fc_split_from_hash(const char *sha_hex, double val_frac, double test_frac) {
    uint64_t v;
    if (strlen(sha_hex) < 16 || hex_u64(sha_hex, &v)) return FC_SPLIT_TRAIN;
    double u = (double)(v >> 11) * 0x1p-53; /* exact in double, uniform in [0, 1) */
    if (u < test_frac) return FC_SPLIT_TEST;
    if (u < test_frac + val_frac) return FC_SPLIT_VAL;
    return FC_SPLIT_TRAIN;
}

int fc_shard_of(const char *sha_hex, int n) {
    uint64_t v;
    if (n <= 1 || strlen(sha_hex) < 32 || hex_u64(sha_hex + 16, &v)) return 0;
    return (int)(v % (uint64_t)n);
}

int fc_shard_parse(const char *s, int *i, int *n) {
    char *end;
    errno = 0;
    long a = strtol(s, &end, 10);
    if (errno || end == s || *end != '/') return -1;
    const char *p = end + 1;
    long b = strtol(p, &end, 10);
    if (errno || end == p || *end || b < 1 || b > 65536 || a < 0 || a >= b) return -1;
    *i = (int)a;
    *n = (int)b;
    return 0;
}
