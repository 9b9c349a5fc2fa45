/* cmd_augment_preview.c - `featcache augment-preview IMAGE... -o GRID.png`: the augmented
 * views `extract --augment` would feed the backbone, as pictures (what the Keras notebooks
 * show with datagen.flow + imshow before training with augmentation).
 *
 * View v of an image is drawn exactly as extract draws it: from (seed, sha256 of the file's
 * bytes, v), on the image loaded and resized as load_img does. With --store, size, resize
 * rule, spec and seed come from the store, so the pictures are the views it holds. */
#define _GNU_SOURCE
#include <cairo.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../common/augment.h"
#include "../common/cmd/commands.h"
#include "../common/cmd/opts.h"
#include "../common/image.h"
#include "../common/outtmp.h"
#include "../common/sha256.h"
#include "../common/store.h"
#include "../common/store_views.h"
#include "../train/plot.h"

#define MAX_IMAGES 16
#define MAX_VIEWS 64

static const fc_opt opts[] = {
    {"output", 'o', "GRID.png", "the picture: one row per image, the original then its views"},
    {"views", 'k', "K", "views per image (default 8, at most 64)"},
    {"size", 's', "N|HxW", "the backbone's input size the images are resized to (default 150)"},
    {"resize", 0, "MODE", "nearest|bilinear (default nearest, as Keras load_img)"},
    {"augment-spec", 0, "KEYWORDS", "the ImageDataGenerator keywords (default: seed 000's set, as extract)"},
    {"augment-seed", 0, "N", "seed of the views' transforms (default 1, as extract)"},
    {"store", 0, "STORE", "take size, resize rule, spec and seed from a store made with extract --augment"},
    {"tiles", 0, "DIR", "also write every tile at its own size: DIR/FILE.original.png, DIR/FILE.viewV.png (FILE: "
                           "the image's file name, e.g. 00023.png.view0.png)"},
    {0},
};
static const fc_cmd_spec spec = {
    "augment-preview", "IMAGE... (at most 16) -o GRID.png [options]",
    "Draw the augmented views extract --augment makes of some images (Keras ImageDataGenerator\n"
    "semantics), to check an augmentation before extracting it; the transforms are printed.",
    opts, 1, MAX_IMAGES};

typedef struct {
    int h, w, k;
    fc_resize resize;
    fc_aug_spec aug;
    char spec_text[512];
    uint64_t seed;
    int store_k; /* --store: the views per image it holds (0: no --store) */
} preview_cfg;

/* Options, or the store's settings (--store excludes --size/--resize/--augment-*). */
static int configure(const fc_args *a, preview_cfg *c, fc_status *st) {
    const char *cmd = "augment-preview", *store = fc_arg_str(a, "store", NULL);
    long k, seed;
    int r;
    if ((r = fc_arg_long(a, "views", 8, 1, MAX_VIEWS, &k)) != FC_ARGS_OK ||
        (r = fc_arg_long(a, "augment-seed", 1, 0, LONG_MAX, &seed)) != FC_ARGS_OK)
        return r;
    c->k = (int)k, c->seed = (uint64_t)seed, c->h = c->w = 150, c->resize = FC_RESIZE_NEAREST;
    const char *size = fc_arg_str(a, "size", NULL), *rs = fc_arg_str(a, "resize", NULL),
               *text = fc_arg_str(a, "augment-spec", NULL);
    if (store && (size || rs || text || fc_arg_str(a, "augment-seed", NULL)))
        return fc_usage_error(cmd, "--store takes the size, resize rule, spec and seed from the store: drop "
                                   "--size, --resize, --augment-spec and --augment-seed");
    if (size && fc_parse_hw(size, 2048, &c->h, &c->w)) return fc_usage_error(cmd, "--size: '%s' is not N or HxW (1..2048)", size);
    if (rs && fc_resize_parse(rs, &c->resize)) return fc_usage_error(cmd, "--resize: '%s' is not nearest or bilinear", rs);
    if (text && fc_aug_parse(text, &c->aug, st)) return fc_usage_error(cmd, "--augment-spec: %s", st->msg);
    if (!store) {
        if (!text && fc_aug_parse(FC_AUG_DEFAULT_SPEC, &c->aug, st)) return 1;
        fc_aug_format(&c->aug, c->spec_text, sizeof c->spec_text);
        return FC_ARGS_OK;
    }
    fc_store *s = NULL;
    fc_views_config vc;
    int rc = fc_store_open(store, FC_STORE_READ, &s, st);
    const fc_provenance *p = rc ? NULL : fc_store_provenance(s);
    if (!rc && !p) rc = fc_fail(st, FC_ERR_FORMAT, "%s: store is empty (nothing extracted)", store);
    if (!rc) rc = fc_views_get_config(s, &vc, st);
    if (!rc && !vc.views)
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: the store has no augmented views (extract ... --augment K makes them)",
                     store);
    if (!rc && fc_resize_parse(p->resize, &c->resize))
        rc = fc_fail(st, FC_ERR_FORMAT, "%s: unknown resize rule '%s'", store, p->resize);
    if (!rc && fc_aug_parse(vc.spec, &c->aug, st)) { /* the store's record: a damaged store, exit 1 */
        fc_wrap(st, "%s: the augmentation spec the store records does not parse (the store is damaged)", store);
        rc = st->code = FC_ERR_FORMAT;
    }
    if (!rc) {
        c->h = p->in_h, c->w = p->in_w, c->seed = vc.seed, c->store_k = vc.views;
        snprintf(c->spec_text, sizeof c->spec_text, "%s", vc.spec);
    }
    fc_store_close(s);
    return rc ? 1 : FC_ARGS_OK;
}

static int make_dir(const char *d, fc_status *st) {
    struct stat sb;
    if (mkdir(d, 0777) == 0 || (errno == EEXIST && stat(d, &sb) == 0 && S_ISDIR(sb.st_mode))) return FC_OK;
    return fc_fail(st, FC_ERR_IO, "%s: cannot create folder: %s", d, strerror(errno));
}

static const char *base_name(const char *p) {
    const char *s = strrchr(p, '/');
    return s ? s + 1 : p;
}

/* Loads, hashes, resizes one image; its original and k views as bytes into tiles
 * ((k + 1) * h * w * 3). Prints each view's transform. */
static int make_row(const char *path, const preview_cfg *c, uint8_t *tiles, float *fx, float *fy, fc_status *st) {
    uint8_t *buf = NULL;
    size_t len = 0;
    char sha[65];
    fc_image img = {0}, rs = {0};
    int rc = fc_read_file(path, 0, &buf, &len, st);
    if (rc) return rc;
    fc_sha256_hex(buf, len, sha);
    rc = fc_image_decode(buf, len, path, 0, &img, st);
    free(buf);
    if (rc) return rc;
    const fc_image *src = &img;
    if (img.w != c->w || img.h != c->h) {
        if ((rc = fc_image_resize(&img, c->h, c->w, c->resize, &rs, st))) goto out;
        src = &rs;
    }
    const size_t n = (size_t)c->h * c->w * 3;
    memcpy(tiles, src->rgb, n);
    for (size_t i = 0; i < n; i++) fx[i] = (float)src->rgb[i];
    for (int v = 0; v < c->k; v++) {
        fc_aug_params p;
        fc_aug_draw(&c->aug, c->h, c->w, fc_aug_key(c->seed, sha, v), &p);
        fc_aug_apply(&p, fx, c->h, c->w, 3, fy);
        uint8_t *t = tiles + (size_t)(v + 1) * n;
        for (size_t i = 0; i < n; i++) {
            float x = fy[i] < 0 ? 0 : fy[i] > 255 ? 255 : fy[i];
            t[i] = (uint8_t)lrintf(x);
        }
        printf("%s view %d: theta=%.6g tx=%.6g ty=%.6g shear=%.6g zx=%.6g zy=%.6g flip_h=%d flip_v=%d\n", path, v,
               p.theta, p.tx, p.ty, p.shear, p.zx, p.zy, p.flip_h, p.flip_v);
    }
out:
    fc_image_free(&img);
    fc_image_free(&rs);
    return rc;
}

/* The grid: rows of (k + 1) tiles scaled by an integer factor to >= 96 px, captioned. */
static int write_grid(const char *out, char **paths, int rows, const uint8_t *tiles, const preview_cfg *c,
                      fc_status *st) {
    const int big = c->h > c->w ? c->h : c->w, scale = big >= 96 ? 1 : (96 + big - 1) / big;
    const int th = c->h * scale, tw = c->w * scale, gap = 6, cap = 16, cols = c->k + 1;
    char title[700];
    snprintf(title, sizeof title, "%dx%d, seed %llu: %s", c->h, c->w, (unsigned long long)c->seed, c->spec_text);
    double title_w; /* the picture is at least as wide as its title */
    {
        cairo_surface_t *m = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
        cairo_t *mc = cairo_create(m);
        cairo_text_extents_t e;
        cairo_select_font_face(mc, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
        cairo_set_font_size(mc, 11);
        cairo_text_extents(mc, title, &e);
        title_w = e.x_advance;
        cairo_destroy(mc);
        cairo_surface_destroy(m);
    }
    const int grid_w = gap + cols * (tw + gap), W = grid_w > (int)title_w + 2 * gap ? grid_w : (int)title_w + 2 * gap;
    const int H = 24 + rows * (cap + th + gap) + gap;
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, W, H);
    cairo_t *cr = cairo_create(sf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_font_size(cr, 11);
    cairo_move_to(cr, gap, 16);
    cairo_show_text(cr, title);
    cairo_surface_flush(sf);
    unsigned char *px = cairo_image_surface_get_data(sf);
    const int stride = cairo_image_surface_get_stride(sf);
    const size_t n = (size_t)c->h * c->w * 3;
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < cols; t++) {
            const uint8_t *tile = tiles + ((size_t)r * cols + t) * n;
            int x0 = gap + t * (tw + gap), y0 = 24 + r * (cap + th + gap) + cap;
            for (int y = 0; y < th; y++) {
                uint32_t *row = (uint32_t *)(void *)(px + (size_t)(y0 + y) * stride) + x0;
                for (int x = 0; x < tw; x++) {
                    const uint8_t *p = tile + ((size_t)(y / scale) * c->w + (size_t)(x / scale)) * 3;
                    row[x] = (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
                }
            }
        }
    cairo_surface_mark_dirty(sf);
    for (int r = 0; r < rows; r++)
        for (int t = 0; t < cols; t++) {
            char lab[300];
            if (t == 0) snprintf(lab, sizeof lab, "%.40s", base_name(paths[r]));
            else snprintf(lab, sizeof lab, "view %d", t - 1);
            cairo_move_to(cr, gap + t * (tw + gap), 24 + r * (cap + th + gap) + cap - 4);
            cairo_show_text(cr, lab);
        }
    return fc_plot_finish_png(sf, cr, out, st);
}

int cmd_augment_preview(int argc, char **argv) {
    fc_args a;
    int r = fc_args_parse(&spec, argc, argv, &a);
    if (r != FC_ARGS_OK) return r;
    fc_status st = {0};
    preview_cfg c = {0};
    const char *out = fc_arg_str(&a, "output", NULL), *tiles_dir = fc_arg_str(&a, "tiles", NULL);
    uint8_t *tiles = NULL;
    float *fx = NULL, *fy = NULL;
    int rc = 0;
    if (!out) {
        r = fc_usage_error("augment-preview", "-o GRID.png is required");
        goto done;
    }
    if ((r = configure(&a, &c, &st)) != FC_ARGS_OK) {
        if (r == 1) r = fc_report("augment-preview", &st);
        goto done;
    }
    for (int i = 0; tiles_dir && i < a.npos; i++)
        for (int j = 0; j < i; j++)
            if (!strcmp(base_name(a.pos[i]), base_name(a.pos[j]))) {
                r = fc_usage_error("augment-preview", "--tiles: %s and %s have the same file name; their tiles "
                                                      "would overwrite each other", a.pos[j], a.pos[i]);
                goto done;
            }
    if (c.store_k && c.k > c.store_k) { /* "view 3" or "views 3-5" (views count from 0) */
        char which[64];
        if (c.k - 1 == c.store_k) snprintf(which, sizeof which, "view %d is", c.store_k);
        else snprintf(which, sizeof which, "views %d-%d are", c.store_k, c.k - 1);
        fprintf(stderr, "augment-preview: note: the store holds %d views per image; %s drawn as "
                        "extract --augment %d would make them\n", c.store_k, which, c.k);
    }
    if (fc_output_check(out, "-o", FC_OUT_PNG, (const char *const *)a.pos, a.npos, -1, &st) ||
        (tiles_dir && make_dir(tiles_dir, &st))) {
        r = fc_report("augment-preview", &st);
        goto done;
    }
    const size_t n = (size_t)c.h * c.w * 3;
    tiles = malloc((size_t)a.npos * (size_t)(c.k + 1) * n);
    fx = malloc(n * sizeof *fx), fy = malloc(n * sizeof *fy);
    if (!tiles || !fx || !fy) rc = fc_fail(&st, FC_ERR_NOMEM, "out of memory");
    for (int i = 0; i < a.npos && !rc; i++) {
        uint8_t *row = tiles + (size_t)i * (size_t)(c.k + 1) * n;
        rc = make_row(a.pos[i], &c, row, fx, fy, &st);
        for (int t = 0; !rc && tiles_dir && t <= c.k; t++) {
            char p[4200];
            if (t == 0) snprintf(p, sizeof p, "%s/%s.original.png", tiles_dir, base_name(a.pos[i]));
            else snprintf(p, sizeof p, "%s/%s.view%d.png", tiles_dir, base_name(a.pos[i]), t - 1);
            rc = fc_png_write(p, row + (size_t)t * n, c.w, c.h, 3, &st);
        }
    }
    if (!rc) rc = write_grid(out, a.pos, a.npos, tiles, &c, &st);
    if (!rc) printf("wrote %s: %d image(s) x (original + %d views) at %dx%d\n", out, a.npos, c.k, c.h, c.w);
    r = rc ? fc_report("augment-preview", &st) : 0;
done:
    free(tiles), free(fx), free(fy);
    fc_args_free(&a);
    return r;
}
