/* plot.c - learning curves with cairo: axes, nice ticks, labels, legend, title -> PNG. */
#define _GNU_SOURCE
#include "plot.h"

#include <dlfcn.h>
#include <errno.h>
#include <cairo.h>
#include <math.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "../common/outtmp.h"

typedef struct {
    double x0, y0, w, h;       /* plot area in pixels (y0 = top) */
    double xmin, xmax, ymin, ymax;
} frame;

typedef struct {
    const float *y;            /* n values, stride in floats */
    int stride, n;
    double r, g, b;
    int dash;                  /* 0 solid, 1 dashed, 2 dotted, 3 dash-dot (after 10 colours) */
    const char *label;
} series;

static const double palette[10][3] = {
    {0.12, 0.47, 0.71}, {0.84, 0.15, 0.16}, {0.17, 0.63, 0.17}, {1.00, 0.50, 0.05}, {0.58, 0.40, 0.74},
    {0.55, 0.34, 0.29}, {0.89, 0.47, 0.76}, {0.50, 0.50, 0.50}, {0.74, 0.74, 0.13}, {0.09, 0.75, 0.81},
};

/* Line style k (0..3) on cr: matplotlib's '-', '--', ':', '-.' at our line width. */
static void set_dash(cairo_t *cr, int k) {
    static const double pat[4][4] = {{0}, {6, 3}, {1.5, 3}, {6, 3, 1.5, 3}};
    static const int len[4] = {0, 2, 2, 4};
    cairo_set_dash(cr, pat[k & 3], len[k & 3], 0);
}

static double nice_step(double range, int target) {
    double raw = range / target, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3 ? 2 : m < 7 ? 5 : 10) * p;
}

static double px(const frame *f, double x) { return f->x0 + (x - f->xmin) / (f->xmax - f->xmin) * f->w; }
static double py(const frame *f, double y) { return f->y0 + f->h - (y - f->ymin) / (f->ymax - f->ymin) * f->h; }

static void text_at(cairo_t *cr, double x, double y, const char *s, double size, double ax, double ay) {
    cairo_text_extents_t e;
    cairo_font_extents_t fe;
    cairo_set_font_size(cr, size);
    cairo_text_extents(cr, s, &e);
    cairo_font_extents(cr, &fe);
    /* vertically by the font's ascent and descent, not the string's ink: "Accuracy" (a
     * descender) and "Loss" sit on one baseline, as matplotlib places titles */
    cairo_move_to(cr, x - e.width * ax - e.x_bearing, y - (fe.ascent + fe.descent) * ay + fe.ascent);
    cairo_show_text(cr, s);
}

/* y range over all finite values, padded 5% like matplotlib. */
static void y_range(const series *s, int ns, frame *f) {
    double lo = INFINITY, hi = -INFINITY;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double v = s[k].y[(size_t)i * s[k].stride];
            if (isfinite(v)) lo = fmin(lo, v), hi = fmax(hi, v);
        }
    if (!isfinite(lo)) lo = 0, hi = 1;
    if (hi - lo < 1e-6) lo -= 0.5, hi += 0.5;
    double pad = (hi - lo) * 0.05;
    f->ymin = lo - pad, f->ymax = hi + pad;
}

static void draw_axes(cairo_t *cr, const frame *f, const char *title, const char *xlabel, const char *ylabel) {
    char buf[32];
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, f->x0, f->y0, f->w, f->h);
    cairo_stroke(cr);
    double xs = nice_step(f->xmax - f->xmin, 6);
    if (xs < 1) xs = 1;
    for (double x = ceil(f->xmin / xs) * xs; x <= f->xmax + 1e-9; x += xs) {
        double X = px(f, x);
        cairo_move_to(cr, X, f->y0 + f->h), cairo_line_to(cr, X, f->y0 + f->h + 4), cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%g", fabs(x) < 1e-9 ? 0.0 : x); /* never "-0" */
        text_at(cr, X, f->y0 + f->h + 7, buf, 11, 0.5, 0);
    }
    double ys = nice_step(f->ymax - f->ymin, 6);
    for (double y = ceil(f->ymin / ys) * ys; y <= f->ymax + 1e-12; y += ys) {
        double Y = py(f, y);
        cairo_move_to(cr, f->x0 - 4, Y), cairo_line_to(cr, f->x0, Y), cairo_stroke(cr);
        snprintf(buf, sizeof buf, "%.*f", ys >= 1 ? 0 : (int)ceil(-log10(ys) - 1e-9), fabs(y) < ys * 1e-6 ? 0.0 : y);
        text_at(cr, f->x0 - 7, Y, buf, 11, 1, 0.5);
    }
    text_at(cr, f->x0 + f->w / 2, f->y0 - 10, title, 14, 0.5, 1);
    text_at(cr, f->x0 + f->w / 2, f->y0 + f->h + 26, xlabel, 12, 0.5, 0);
    cairo_save(cr);
    cairo_translate(cr, f->x0 - 48, f->y0 + f->h / 2);
    cairo_rotate(cr, -M_PI / 2);
    text_at(cr, 0, 0, ylabel, 12, 0.5, 0.5);
    cairo_restore(cr);
}

static void draw_series(cairo_t *cr, const frame *f, const series *s) {
    cairo_set_source_rgb(cr, s->r, s->g, s->b);
    cairo_set_line_width(cr, 1.8);
    set_dash(cr, s->dash);
    int pen = 0;
    for (int i = 0; i < s->n; i++) {
        double v = s->y[(size_t)i * s->stride];
        if (!isfinite(v)) { pen = 0; continue; }
        if (pen) cairo_line_to(cr, px(f, i + 1), py(f, v));
        else cairo_move_to(cr, px(f, i + 1), py(f, v));
        pen = 1;
    }
    cairo_stroke(cr);
    set_dash(cr, 0);
    if (s->n == 1 && isfinite(s->y[0])) {
        cairo_arc(cr, px(f, 1), py(f, s->y[0]), 3, 0, 2 * M_PI);
        cairo_fill(cr);
    }
}

/* Width of the legend box of series s on cr (its font). */
static double legend_width(cairo_t *cr, const series *s, int ns) {
    double w = 0;
    cairo_set_font_size(cr, 11);
    for (int k = 0; k < ns; k++) {
        cairo_text_extents_t e;
        cairo_text_extents(cr, s[k].label, &e);
        w = fmax(w, e.x_advance);
    }
    return w + 44;
}

/* Legend box with a line sample per series at (x, y) = top-left. */
static void draw_legend(cairo_t *cr, double x, double y, const series *s, int ns) {
    double w = legend_width(cr, s, ns);
    cairo_set_source_rgba(cr, 1, 1, 1, 0.85);
    cairo_rectangle(cr, x, y, w, 18.0 * ns + 8);
    cairo_fill_preserve(cr);
    cairo_set_source_rgb(cr, 0.7, 0.7, 0.7);
    cairo_set_line_width(cr, 1);
    cairo_stroke(cr);
    for (int k = 0; k < ns; k++) {
        double ly = y + 13 + 18.0 * k;
        cairo_set_source_rgb(cr, s[k].r, s[k].g, s[k].b);
        cairo_set_line_width(cr, 2);
        set_dash(cr, s[k].dash);
        cairo_move_to(cr, x + 6, ly), cairo_line_to(cr, x + 32, ly), cairo_stroke(cr);
        set_dash(cr, 0);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, x + 38, ly, s[k].label, 11, 0, 0.5);
    }
}

typedef struct {
    FILE *f;
    int err; /* errno of a failed write, for the message */
} png_sink;

static cairo_status_t to_file(void *sink, const unsigned char *data, unsigned int n) {
    png_sink *k = sink;
    if (fwrite(data, 1, n, k->f) == n) return CAIRO_STATUS_SUCCESS;
    k->err = errno;
    return CAIRO_STATUS_WRITE_ERROR;
}

int fc_plot_finish_png(cairo_surface_t *sf, cairo_t *cr, const char *path, fc_status *st) {
    cairo_destroy(cr);
    char *tmp = NULL; /* through a temp file next to path (outtmp.h), renamed when whole */
    FILE *f = fc_outtmp_fopen(path, &tmp, st);
    png_sink k = {f, 0};
    cairo_status_t cs = f ? cairo_surface_write_to_png_stream(sf, to_file, &k) : CAIRO_STATUS_SUCCESS;
    cairo_surface_destroy(sf);
    /* release cairo's font caches (nothing of cairo is alive here): one plot per command,
     * and leak checkers stay quiet */
    cairo_debug_reset_static_data();
    void (*fc_fini)(void) = (void (*)(void))dlsym(RTLD_DEFAULT, "FcFini"); /* fontconfig, via cairo */
    if (fc_fini) fc_fini();
    if (!f) return st->code;
    if (cs == CAIRO_STATUS_WRITE_ERROR) { /* fc_outtmp_fclose says the OS reason */
        errno = k.err;
        return fc_outtmp_fclose(f, tmp, path, st);
    }
    if (cs != CAIRO_STATUS_SUCCESS) {
        fclose(f), fc_outtmp_abort(tmp);
        return fc_fail(st, FC_ERR_IO, "%s: cannot write PNG (%s)", path, cairo_status_to_string(cs));
    }
    return fc_outtmp_fclose(f, tmp, path, st);
}

static cairo_t *start(cairo_surface_t **sf, int w, int h) {
    *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    cairo_t *cr = cairo_create(*sf);
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    return cr;
}

/* How much of the curves of s a legend box at (x, y, w, h) would cover: points sampled
 * along each segment (17 per epoch) that fall inside it, with a 4-pixel margin. */
static int legend_cover(const frame *f, const series *s, int ns, double x, double y, double w, double h) {
    int hits = 0;
    for (int k = 0; k < ns; k++)
        for (int i = 0; i < s[k].n; i++) {
            double v = s[k].y[(size_t)i * s[k].stride];
            if (!isfinite(v)) continue;
            double v1 = i + 1 < s[k].n ? s[k].y[(size_t)(i + 1) * s[k].stride] : NAN;
            for (int q = 0; q < (isfinite(v1) ? 17 : 1); q++) {
                double t = q / 17.0, X = px(f, i + 1 + t), Y = py(f, isfinite(v1) ? v + (v1 - v) * t : v);
                hits += X >= x - 4 && X <= x + w + 4 && Y >= y - 4 && Y <= y + h + 4;
            }
        }
    return hits;
}

/* Top-left corner of the legend of s inside frame f: the corner position covering the
 * fewest curve points, the preferred one first on ties (lower right if prefer_low, else
 * upper right). */
static void place_legend(cairo_t *cr, const frame *f, const series *s, int ns, int prefer_low, double *lx,
                         double *ly) {
    const double w = legend_width(cr, s, ns), h = 18.0 * ns + 8, m = 8;
    const double right = f->x0 + f->w - w - m, left = f->x0 + m, top = f->y0 + m, bottom = f->y0 + f->h - h - m;
    const double cand[4][2] = {{right, prefer_low ? bottom : top}, {right, prefer_low ? top : bottom},
                               {left, prefer_low ? bottom : top}, {left, prefer_low ? top : bottom}};
    int best = -1, best_hits = 0;
    for (int c = 0; c < 4; c++) {
        int hits = legend_cover(f, s, ns, cand[c][0], cand[c][1], w, h);
        if (best < 0 || hits < best_hits) best = c, best_hits = hits;
    }
    *lx = cand[best][0], *ly = cand[best][1];
}

int fc_plot_history(const fc_history *h, const char *title, int kept, const char *path, fc_status *st) {
    if (h->n < 1) return fc_fail(st, FC_ERR_ARG, "%s: no epochs to plot", path);
    cairo_surface_t *sf;
    cairo_t *cr = start(&sf, 1100, 460);
    int has_val = 0;
    /* a validation split: a head diverged from epoch 1 has only NaN val_loss, but still a
     * validation accuracy to draw */
    for (int i = 0; i < h->n; i++) has_val |= isfinite(h->ep[i].val_loss) || isfinite(h->ep[i].val_acc);
    const int stride = (int)(sizeof(fc_epoch_stat) / sizeof(float));
    const char *names[2] = {"Accuracy", "Loss"};
    for (int p = 0; p < 2; p++) {
        const int nc = has_val ? 2 : 1, mark = kept >= 1 && kept <= h->n;
        char kept_label[48];
        snprintf(kept_label, sizeof kept_label, "weights kept (epoch %d)", kept);
        series s[3] = {
            {p ? &h->ep[0].loss : &h->ep[0].acc, stride, h->n, 0, 0, 1, 0, p ? "training loss" : "training accuracy"},
            {p ? &h->ep[0].val_loss : &h->ep[0].val_acc, stride, h->n, 1, 0, 0, 0,
             p ? "validation loss" : "validation accuracy"},
            {NULL, 0, 0, 0.45, 0.45, 0.45, 1, kept_label}, /* legend entry of the mark only */
        };
        if (!has_val) s[1] = s[2];
        /* one epoch: centred on x = 1 (tick 1 only), not on the frame's edge */
        /* x padded 5% each side, as matplotlib's default margins: the first and last epochs
         * (and a kept-epoch mark on the last) stay off the axes' frame */
        const double pad = h->n > 1 ? 0.05 * (h->n - 1) : 0.5;
        frame f = {80 + 540.0 * p, 70, 440, 320, 1 - pad, h->n + (h->n > 1 ? pad : 0.5), 0, 1};
        y_range(s, has_val ? 2 : 1, &f);
        draw_axes(cr, &f, names[p], "Epoch", names[p]);
        if (mark) { /* the epoch whose weights HEAD.h5 holds (restored by --patience) */
            double X = px(&f, kept);
            cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
            cairo_set_line_width(cr, 1.2);
            set_dash(cr, 1);
            cairo_move_to(cr, X, f.y0), cairo_line_to(cr, X, f.y0 + f.h), cairo_stroke(cr);
            set_dash(cr, 0);
        }
        for (int k = 0; k < nc; k++) draw_series(cr, &f, &s[k]);
        /* the corner whose box covers the least of the curves (matplotlib's loc='best'); ties
         * go to where curves usually leave room: accuracy rises (lower right), loss falls
         * (upper right) */
        double lx, ly;
        place_legend(cr, &f, s, nc + mark, p == 0, &lx, &ly);
        draw_legend(cr, lx, ly, s, nc + mark);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    text_at(cr, 550, 14, title ? title : "", 13, 0.5, 0);
    return fc_plot_finish_png(sf, cr, path, st);
}

/* Best validation accuracy of a history (-inf if none is finite). */
/* The best validation accuracy of a history (train: its training accuracy, for a store
 * without a validation split). */
static double best_acc(const fc_history *h, int train) {
    double b = -INFINITY;
    for (int e = 0; e < h->n; e++) {
        double v = train ? h->ep[e].acc : h->ep[e].val_acc;
        if (isfinite(v) && v > b) b = v;
    }
    return b;
}

int fc_plot_sweep_pick(const fc_history *h, int n, const int *rank, int *pick, int *train_acc) {
    int ns = 0, train = 1; /* no validation split (every val_acc NaN): training accuracy */
    for (int k = 0; k < n && train; k++)
        for (int e = 0; e < h[k].n; e++) train &= !isfinite(h[k].ep[e].val_acc);
    *train_acc = train;
    if (rank) { /* the caller's ranking (the sweep's leaderboard): its first FC_PLOT_MAX_SERIES */
        for (int k = 0; k < n; k++) {
            int q = 0;
            while (q < n && q < FC_PLOT_MAX_SERIES && rank[q] != k) q++;
            if (q < n && q < FC_PLOT_MAX_SERIES) pick[ns++] = k;
        }
        return ns;
    }
    for (int k = 0; k < n; k++) {
        int better = 0; /* configs ranked before k: higher best, or equal and earlier */
        double bk = best_acc(&h[k], train);
        for (int i = 0; i < n && better < FC_PLOT_MAX_SERIES; i++) {
            double bi = best_acc(&h[i], train);
            better += bi > bk || (bi == bk && i < k);
        }
        if (better < FC_PLOT_MAX_SERIES) pick[ns++] = k;
    }
    return ns;
}

int fc_plot_sweep(const fc_history *h, char *const *labels, int n, const int *rank, const char *path,
                  fc_status *st) {
    if (n < 1) return fc_fail(st, FC_ERR_ARG, "%s: nothing to plot", path);
    enum { MAXS = FC_PLOT_MAX_SERIES }; /* 10 colours x 4 line styles, each curve told apart */
    int pick[MAXS], train;
    const int ns = fc_plot_sweep_pick(h, n, rank, pick, &train);
    int maxe = 1;
    for (int q = 0; q < ns; q++) maxe = h[pick[q]].n > maxe ? h[pick[q]].n : maxe;
    series s[MAXS] = {0};
    const int stride = (int)(sizeof(fc_epoch_stat) / sizeof(float));
    for (int q = 0; q < ns; q++) {
        const double *c = palette[q % 10];
        const float *y = train ? &h[pick[q]].ep[0].acc : &h[pick[q]].ep[0].val_acc;
        s[q] = (series){y, stride, h[pick[q]].n, c[0], c[1], c[2], q / 10, labels[pick[q]]};
    }
    /* the plot takes what the legend leaves of 1200 pixels (at least 640); a legend of
     * long labels widens the image instead of running off its edge */
    cairo_surface_t *sf = cairo_image_surface_create(CAIRO_FORMAT_RGB24, 1, 1);
    cairo_t *cr = cairo_create(sf);
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL, CAIRO_FONT_WEIGHT_NORMAL);
    const double lw = legend_width(cr, s, ns);
    cairo_destroy(cr), cairo_surface_destroy(sf);
    const int plot_w = 1200 - 80 - 20 - (int)lw - 20 > 640 ? 1200 - 80 - 20 - (int)lw - 20 : 640;
    const int width = 80 + plot_w + 20 + (int)lw + 20 > 1200 ? 80 + plot_w + 20 + (int)lw + 20 : 1200;
    int height = 520 > 120 + 18 * ns ? 520 : 120 + 18 * ns;
    cr = start(&sf, width, height);
    const double pad = maxe > 1 ? 0.05 * (maxe - 1) : 0.5; /* matplotlib's margins, as fc_plot_history */
    frame f = {80, 60, plot_w, height - 140, 1 - pad, maxe + pad, 0, 1};
    y_range(s, ns, &f);
    char title[120];
    const char *what = train ? "Training accuracy (no validation split)" : "Validation accuracy";
    if (ns < n) snprintf(title, sizeof title, "%s (the %d best of %d configs)", what, ns, n);
    else snprintf(title, sizeof title, "%s", what);
    draw_axes(cr, &f, title, "Epoch", train ? "Training accuracy" : "Validation accuracy");
    for (int q = 0; q < ns; q++) draw_series(cr, &f, &s[q]);
    draw_legend(cr, f.x0 + f.w + 20, f.y0, s, ns);
    return fc_plot_finish_png(sf, cr, path, st);
}
