/* progress.c - progress bar / periodic status line on stderr (see progress.h). */
#define _GNU_SOURCE
#include "progress.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define N_SAMPLES 32      /* rate window: samples of (time, done) */
#define WINDOW_SECONDS 10.0
#define TTY_INTERVAL 0.1
#define BAR_WIDTH 24

struct fc_progress {
    FILE *fp;
    int tty;
    double interval;      /* seconds between redraws/lines */
    char label[64], unit[16];
    pthread_mutex_t mu;
    int64_t total, done;
    double start, last_print;
    double st[N_SAMPLES]; /* sample ring */
    int64_t sd[N_SAMPLES];
    int ns, head;
    int printed;          /* tty: a bar is on screen */
};

fc_progress *fc_progress_create_on(FILE *fp, int tty, double interval, const char *label,
                                   const char *unit, int64_t total) {
    fc_progress *p = calloc(1, sizeof *p);
    if (!p) return NULL;
    p->fp = fp;
    p->tty = tty;
    p->interval = interval > 0 ? interval : (tty ? TTY_INTERVAL : 5.0);
    snprintf(p->label, sizeof p->label, "%s", label ? label : "");
    snprintf(p->unit, sizeof p->unit, "%s", unit ? unit : "items");
    p->total = total;
    p->start = -1;
    pthread_mutex_init(&p->mu, NULL);
    return p;
}

fc_progress *fc_progress_create(const char *label, const char *unit, int64_t total, int quiet) {
    if (quiet) return NULL;
    int tty = isatty(STDERR_FILENO);
    return fc_progress_create_on(stderr, tty, tty ? TTY_INTERVAL : 5.0, label, unit, total);
}

void fc_progress_set_total(fc_progress *p, int64_t total) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->total = total < 0 ? 0 : total;
    pthread_mutex_unlock(&p->mu);
}

void fc_progress_add_total(fc_progress *p, int64_t delta) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    p->total += delta;
    if (p->total < 0) p->total = 0;
    pthread_mutex_unlock(&p->mu);
}

void fc_format_duration(double s, char *buf, size_t cap) {
    if (!(s >= 0) || s > 1e8) {
        snprintf(buf, cap, "--:--");
        return;
    }
    long t = lround(s);
    if (t >= 3600)
        snprintf(buf, cap, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(buf, cap, "%ld:%02ld", t / 60, t % 60);
}

static void add_sample(fc_progress *p, double now, int64_t done) {
    p->head = (p->head + 1) % N_SAMPLES;
    p->st[p->head] = now;
    p->sd[p->head] = done;
    if (p->ns < N_SAMPLES) p->ns++;
}

/* Items/s over the newest samples spanning up to WINDOW_SECONDS (or since start). */
static double rate(const fc_progress *p, double now) {
    int oldest = p->head;
    for (int k = 1; k < p->ns; k++) {
        int i = (p->head - k + N_SAMPLES) % N_SAMPLES;
        oldest = i;
        if (now - p->st[i] >= WINDOW_SECONDS) break;
    }
    double dt = now - p->st[oldest];
    if (p->ns < 2 || dt <= 0) {
        dt = now - p->start;
        return dt > 0 ? (double)p->done / dt : 0;
    }
    return (double)(p->done - p->sd[oldest]) / dt;
}

static void print_state(fc_progress *p, double now) {
    double r = rate(p, now);
    int64_t left = p->total > p->done ? p->total - p->done : 0;
    char eta[24];
    fc_format_duration(r > 0 ? (double)left / r : (left ? -1 : 0), eta, sizeof eta);
    if (p->tty) {
        char bar[BAR_WIDTH + 1];
        int fill = p->total > 0 ? (int)((double)p->done * BAR_WIDTH / (double)p->total) : 0;
        if (fill > BAR_WIDTH) fill = BAR_WIDTH;
        memset(bar, '#', (size_t)fill);
        memset(bar + fill, '-', (size_t)(BAR_WIDTH - fill));
        bar[BAR_WIDTH] = 0;
        fprintf(p->fp, "\r%s [%s] %lld/%lld  %.1f %s/s  ETA %s\033[K", p->label, bar,
                (long long)p->done, (long long)p->total, r, p->unit, eta);
        p->printed = 1;
    } else {
        double pct = p->total > 0 ? 100.0 * (double)p->done / (double)p->total : 0;
        fprintf(p->fp, "%s: %lld/%lld (%.1f%%), %.1f %s/s, ETA %s\n", p->label,
                (long long)p->done, (long long)p->total, pct, r, p->unit, eta);
    }
    fflush(p->fp);
    p->last_print = now;
}

void fc_progress_update_at(fc_progress *p, int64_t done, double now) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    if (p->start < 0) {
        p->start = p->last_print = now;
        add_sample(p, now, 0);
    }
    p->done = done;
    if (now - p->last_print >= p->interval) {
        add_sample(p, now, done);
        print_state(p, now);
    }
    pthread_mutex_unlock(&p->mu);
}

void fc_progress_update(fc_progress *p, int64_t done) {
    if (p) fc_progress_update_at(p, done, fc_now());
}

void fc_progress_finish(fc_progress *p) {
    if (!p) return;
    pthread_mutex_lock(&p->mu);
    if (p->tty && p->start >= 0) {
        print_state(p, fc_now());
        fputc('\n', p->fp);
        fflush(p->fp);
        p->printed = 0;
    }
    pthread_mutex_unlock(&p->mu);
}

void fc_progress_free(fc_progress *p) {
    if (!p) return;
    pthread_mutex_destroy(&p->mu);
    free(p);
}

void fc_progress_message(fc_progress *p, const char *msg) {
    /* messages name files: a name's control bytes are shown escaped, never obeyed */
    if (!p) {
        fc_fputs_printable(msg, stderr);
        fputc('\n', stderr);
        return;
    }
    pthread_mutex_lock(&p->mu);
    if (p->tty && p->printed) fputs("\r\033[K", p->fp);
    fc_fputs_printable(msg, p->fp);
    fputc('\n', p->fp);
    fflush(p->fp);
    if (p->tty && p->printed) p->last_print = -1e300; /* redraw on the next update */
    p->printed = 0;
    pthread_mutex_unlock(&p->mu);
}
