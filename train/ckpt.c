/* ckpt.c - checkpoints of train and sweep runs (see ckpt.h).
 *
 * Layout: "FCCKPT01", key[32], u32 configs, f64 elapsed seconds, u32 finished configs,
 * each { u32 config, history }, i32 best (>= 0: its head's kernels and biases follow),
 * u32 unit configs, each u32 config, u32 epochs done, u32 steps of the next epoch done, f64
 * seconds of those steps, the unit's state (trainer_group.c),
 * and the SHA-256 of everything before it. Arrays are a u64 count and the elements. */
#include "ckpt.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../common/outtmp.h"
#include "train_opts.h"

static const char MAGIC[8] = {'F', 'C', 'C', 'K', 'P', 'T', '0', '1'};

static void warn(const fc_ckpt *ck, const char *fmt, const char *what) {
    fprintf(stderr, "featcache %s: warning: ", ck->cmd);
    fprintf(stderr, fmt, ck->path, what);
    fputc('\n', stderr);
}

static int hash_floats(fc_sha256_ctx *h, const void *p, size_t bytes, fc_status *st) {
    return bytes ? fc_sha256_update(h, p, bytes, st) : FC_OK;
}

static int hash_split(fc_sha256_ctx *h, const fc_dataset *d, fc_status *st) {
    uint64_t hdr[6] = {d ? d->n : 0, d ? (uint64_t)d->h : 0, d ? (uint64_t)d->w : 0, d ? (uint64_t)d->c : 0,
                       d ? (uint64_t)d->n_classes : 0, d ? (uint64_t)d->n_views : 0};
    if (fc_sha256_update(h, hdr, sizeof hdr, st)) return st->code;
    if (!d || !d->n) return FC_OK;
    if (hash_floats(h, d->x, d->n * d->dim * sizeof(float), st) ||
        hash_floats(h, d->y, d->n * sizeof(int32_t), st))
        return st->code;
    size_t nv = d->n * (size_t)d->n_views * d->dim;
    if (d->views && hash_floats(h, d->views, nv * sizeof(float), st)) return st->code;
    if (d->views16 && hash_floats(h, d->views16, nv * sizeof(uint16_t), st)) return st->code;
    return FC_OK;
}

/* Whether a config weighs classes 'balanced' on a training split that lacks a class: such
 * a run's weights changed on 2026-11-27 (sklearn's class count, trainer_group.c), so a
 * checkpoint an older build wrote for it is another run's. */
static int balanced_counts_changed(const fc_ckpt *ck) {
    int balanced = 0;
    for (int i = 0; i < ck->n_cfg; i++) balanced |= ck->cfg[i].class_weight;
    if (!balanced || !ck->tr || ck->tr->n_classes < 1) return 0;
    unsigned char *seen = calloc((size_t)ck->tr->n_classes, 1);
    if (!seen) return 1;
    int present = 0;
    for (size_t i = 0; i < ck->tr->n; i++)
        if (ck->tr->y[i] >= 0 && ck->tr->y[i] < ck->tr->n_classes && !seen[ck->tr->y[i]]++) present++;
    free(seen);
    return present < ck->tr->n_classes;
}

int fc_ckpt_key(fc_ckpt *ck, fc_status *st) {
    if (ck->have_key) return FC_OK;
    fc_sha256_ctx h;
    if (fc_sha256_begin(&h, st)) return st->code;
    /* "numerics N": the training arithmetic a checkpoint's state came from. A build whose
     * steps compute otherwise (2: Keras's zero gradient where the loss clips, the L2
     * penalty summed in double) must not continue an older run's state: its key differs,
     * so such a checkpoint is another run's and training starts over, saying so. */
    char head[96];
    int k = snprintf(head, sizeof head, "featcache checkpoint 1\nthreads %d\nconfigs %d\ntrain numerics 3\n",
                     ck->threads, ck->n_cfg);
    int rc = fc_sha256_update(&h, head, (size_t)k, st);
    for (int i = 0; !rc && i < ck->n_cfg; i++) {
        char *t = fc_train_config_key_text(&ck->cfg[i]);
        if (!t) rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
        else rc = fc_sha256_update(&h, t, strlen(t) + 1, st);
        free(t);
    }
    if (!rc && ck->extra) rc = fc_sha256_update(&h, ck->extra, strlen(ck->extra) + 1, st);
    if (!rc && balanced_counts_changed(ck)) /* only such runs: other checkpoints stay valid */
        rc = fc_sha256_update(&h, "class weights of the classes with training images\n", 50, st);
    if (!rc) rc = hash_split(&h, ck->tr, st);
    if (!rc) rc = hash_split(&h, ck->va, st);
    if (rc) {
        fc_sha256_abort(&h);
        return rc;
    }
    if (fc_sha256_end(&h, ck->key, st)) return st->code;
    ck->have_key = 1;
    return FC_OK;
}

/* ---- writing ---- */

void fc_ckw_put(fc_ckw *w, const void *p, size_t n) {
    if (w->err || !n) return;
    fc_status st = {0};
    if (fwrite(p, 1, n, w->f) != n) w->err = errno ? errno : EIO;
    else if (fc_sha256_update(&w->sha, p, n, &st)) w->err = ENOMEM;
}

void fc_ckw_arr(fc_ckw *w, const void *p, size_t count, size_t elem) {
    uint64_t c = p ? count : 0;
    fc_ckw_put(w, &c, sizeof c);
    if (p) fc_ckw_put(w, p, count * elem);
}

void fc_ckw_hist(fc_ckw *w, const fc_history *h) {
    int32_t v[3] = {h->n, h->best, h->stopped_early};
    fc_ckw_put(w, v, sizeof v);
    for (int e = 0; e < h->n; e++) {
        const fc_epoch_stat *s = &h->ep[e];
        float f[4] = {s->loss, s->acc, s->val_loss, s->val_acc};
        fc_ckw_put(w, f, sizeof f);
        fc_ckw_put(w, &s->seconds, sizeof s->seconds);
    }
}

static void put_head(fc_ckw *w, const fc_head *hd) {
    for (int l = 0; l < hd->n_layers; l++) {
        fc_ckw_arr(w, hd->w[l], (size_t)hd->dims[l] * hd->dims[l + 1], sizeof(float));
        fc_ckw_arr(w, hd->b[l], (size_t)hd->dims[l + 1], sizeof(float));
    }
}

int fc_ckpt_begin(fc_ckpt *ck, fc_ckw *w, const int *unit, int n, unsigned epochs, unsigned steps,
                  double epoch_secs) {
    memset(w, 0, sizeof *w);
    w->ck = ck;
    w->t0 = fc_now();
    if (!ck->path || ck->disabled) return -1;
    fc_status st = {0};
    if (fc_ckpt_key(ck, &st) || !(w->f = fc_outtmp_fopen(ck->path, &w->tmp, &st))) {
        warn(ck, "no checkpoints in %s for this run: %s", st.msg);
        ck->disabled = 1;
        return -1;
    }
    if (fc_sha256_begin(&w->sha, &st)) {
        fclose(w->f), unlink(w->tmp), free(w->tmp);
        ck->disabled = 1;
        return -1;
    }
    fc_ckw_put(w, MAGIC, sizeof MAGIC);
    fc_ckw_put(w, ck->key, sizeof ck->key);
    uint32_t ncfg = (uint32_t)ck->n_cfg, ndone = 0;
    double elapsed = ck->elapsed + (fc_now() - ck->t_start);
    fc_ckw_put(w, &ncfg, sizeof ncfg);
    fc_ckw_put(w, &elapsed, sizeof elapsed);
    for (int i = 0; ck->done && i < ck->n_cfg; i++) ndone += ck->done[i] != 0;
    fc_ckw_put(w, &ndone, sizeof ndone);
    for (int i = 0; ck->done && i < ck->n_cfg; i++)
        if (ck->done[i]) {
            uint32_t idx = (uint32_t)i;
            fc_ckw_put(w, &idx, sizeof idx);
            fc_ckw_hist(w, &ck->hist[i]);
        }
    int32_t best = ck->best && *ck->best >= 0 && ck->heads[*ck->best] ? *ck->best : -1;
    fc_ckw_put(w, &best, sizeof best);
    if (best >= 0) put_head(w, ck->heads[best]);
    uint32_t nu = (uint32_t)n, ep[2] = {epochs, steps};
    fc_ckw_put(w, &nu, sizeof nu);
    for (int i = 0; i < n; i++) {
        uint32_t u = (uint32_t)(unit ? unit[i] : i);
        fc_ckw_put(w, &u, sizeof u);
    }
    fc_ckw_put(w, ep, sizeof ep);
    fc_ckw_put(w, &epoch_secs, sizeof epoch_secs);
    return 0;
}

void fc_ckpt_commit(fc_ckw *w) {
    fc_ckpt *ck = w->ck;
    if (!w->f) return;
    unsigned char dig[32];
    fc_status st = {0};
    if (w->err) fc_sha256_abort(&w->sha);
    else if (fc_sha256_end(&w->sha, dig, &st)) w->err = ENOMEM;
    else if (fwrite(dig, 1, sizeof dig, w->f) != sizeof dig) w->err = errno ? errno : EIO;
    if (fflush(w->f) != 0 && !w->err) w->err = errno ? errno : EIO;
    if (fclose(w->f) != 0 && !w->err) w->err = errno ? errno : EIO;
    w->f = NULL;
    if (!w->err && fc_outtmp_commit(w->tmp, ck->path, &st)) w->err = -1;
    if (w->err) {
        char why[256];
        const char *r = w->err > 0 ? fc_write_reason(w->err, 0, why, sizeof why) : st.msg;
        unlink(w->tmp);
        warn(ck, "cannot write checkpoint %s (%s): no more checkpoints for this run", r ? r : "write error");
        ck->disabled = 1;
    } else {
        double now = fc_now();
        ck->last_write = now, ck->write_secs = now - w->t0, ck->writes++;
        fc_ckpt_test_kill(ck);
    }
    free(w->tmp);
    w->tmp = NULL;
}

int fc_ckpt_due(const fc_ckpt *ck) {
    if (!ck || !ck->path || ck->disabled) return 0;
    if (ck->every <= 0) return 1;
    double since = fc_now() - ck->last_write;
    return since >= ck->every && since >= 20.0 * ck->write_secs;
}

void fc_ckpt_test_kill(const fc_ckpt *ck) {
    const char *e = getenv("FC_TEST_CKPT_KILL");
    if (e && atoi(e) == ck->writes) raise(SIGKILL);
}

void fc_ckpt_test_stop(int epoch, int step) {
    static int e = -1, s = -1, sig = 0;
    if (e < 0) {
        const char *v = getenv("FC_TEST_CKPT_STOP");
        char name[8] = "";
        e = 0, s = 0;
        if (v && sscanf(v, "%d:%d:%7s", &e, &s, name) < 2) e = s = 0;
        sig = !strcmp(name, "INT") ? SIGINT : !strcmp(name, "TERM") ? SIGTERM : 0;
    }
    if (e == epoch + 1 && s == step + 1) {
        if (sig) raise(sig); /* through the installed handler, as a real signal */
        else fc_stop_requested = 1;
    }
}

/* ---- reading ---- */

int fc_ckr_get(fc_ckpt *ck, void *p, size_t n, fc_status *st) {
    if (n && fread(p, 1, n, ck->rf) != n)
        return fc_fail(st, FC_ERR_FORMAT, "%s: checkpoint ends early (remove it or run with --no-resume)", ck->path);
    return FC_OK;
}

int fc_ckr_arr(fc_ckpt *ck, void *p, size_t count, size_t elem, fc_status *st) {
    uint64_t c;
    if (fc_ckr_get(ck, &c, sizeof c, st)) return st->code;
    if (c != (p ? count : 0))
        return fc_fail(st, FC_ERR_FORMAT,
                       "%s: checkpoint holds %llu values where this run has %zu (remove it or run with --no-resume)",
                       ck->path, (unsigned long long)c, p ? count : (size_t)0);
    return p ? fc_ckr_get(ck, p, count * elem, st) : FC_OK;
}

int fc_ckr_skip(fc_ckpt *ck, size_t count, size_t elem, fc_status *st) {
    uint64_t c;
    if (fc_ckr_get(ck, &c, sizeof c, st)) return st->code;
    if (c != count)
        return fc_fail(st, FC_ERR_FORMAT,
                       "%s: checkpoint holds %llu values where this run has %zu (remove it or run with --no-resume)",
                       ck->path, (unsigned long long)c, count);
    if (count && fseeko(ck->rf, (off_t)(count * elem), SEEK_CUR) != 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: checkpoint ends early (remove it or run with --no-resume)", ck->path);
    return FC_OK;
}

int fc_ckr_hist(fc_ckpt *ck, fc_history *h, int cap, fc_status *st) {
    int32_t v[3];
    if (fc_ckr_get(ck, v, sizeof v, st)) return st->code;
    if (v[0] < 0 || v[0] > cap || (v[0] > 0 && (v[1] < 0 || v[1] >= v[0])) || (v[0] == 0 && v[1] != 0))
        return fc_fail(st, FC_ERR_FORMAT, "%s: checkpoint has a history of %d epochs (best %d) for %d", ck->path,
                       v[0], v[1], cap);
    if (!h->ep && !(h->ep = fc_calloc((size_t)(cap ? cap : 1), sizeof *h->ep, st))) return st->code;
    h->n = v[0], h->best = v[1], h->stopped_early = v[2] != 0;
    for (int e = 0; e < h->n; e++) {
        float f[4];
        fc_epoch_stat *s = &h->ep[e];
        if (fc_ckr_get(ck, f, sizeof f, st) || fc_ckr_get(ck, &s->seconds, sizeof s->seconds, st)) return st->code;
        s->loss = f[0], s->acc = f[1], s->val_loss = f[2], s->val_acc = f[3];
    }
    return FC_OK;
}

/* SHA-256 of the file's contents but the last 32 bytes == those bytes. */
static int verify(FILE *f, long size) {
    fc_sha256_ctx h;
    fc_status st = {0};
    unsigned char buf[1 << 16], want[32], got[32];
    if (fc_sha256_begin(&h, &st)) return -1;
    long left = size - 32;
    while (left > 0) {
        size_t n = fread(buf, 1, left < (long)sizeof buf ? (size_t)left : sizeof buf, f);
        if (!n || fc_sha256_update(&h, buf, n, &st)) {
            fc_sha256_abort(&h);
            return -1;
        }
        left -= (long)n;
    }
    if (fread(want, 1, 32, f) != 32) {
        fc_sha256_abort(&h);
        return -1;
    }
    if (fc_sha256_end(&h, got, &st)) return -1;
    return memcmp(want, got, 32) ? -1 : 0;
}

/* Opens path for reading without blocking on a FIFO or device; 0 and *f when it is a
 * regular file, else an errno (ENOENT: none; EFTYPE-like EINVAL: not a regular file). */
static int open_regular(const char *path, FILE **f, struct stat *sb) {
    *f = NULL;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) return errno ? errno : EIO;
    if (fstat(fd, sb) != 0 || !S_ISREG(sb->st_mode)) {
        close(fd);
        return EINVAL;
    }
    if (!(*f = fdopen(fd, "rb"))) {
        int e = errno;
        close(fd);
        return e;
    }
    return 0;
}

static void unwind(fc_ckpt *ck, unsigned char *done, fc_history *hist, int *best, fc_head **heads) {
    for (int i = 0; i < ck->n_cfg; i++)
        if (done[i]) fc_history_free(&hist[i]), memset(&hist[i], 0, sizeof hist[i]), done[i] = 0;
    if (*best >= 0) fc_head_free(heads[*best]), heads[*best] = NULL;
    *best = -1;
}

int fc_ckpt_open(fc_ckpt *ck, unsigned char *done, fc_history *hist, int *best, fc_head **heads, fc_status *st) {
    ck->t_start = ck->last_write = fc_now();
    *best = -1;
    if (!ck->path) return 0;
    FILE *f;
    struct stat sb = {0};
    char magic[8];
    unsigned char key[32];
    int e = open_regular(ck->path, &f, &sb);
    if (e == ENOENT) return 0;
    /* anything featcache did not write is left alone: it renames whole checkpoints into
     * place, so one is never empty and always starts with MAGIC */
    if (e || sb.st_size == 0 || fread(magic, 1, 8, f) != 8 || memcmp(magic, MAGIC, 8) != 0) {
        if (f) fclose(f);
        warn(ck, "%s exists and is %s: not replaced, no checkpoints for this run",
             e == EINVAL ? "not a regular file" : e ? strerror(e) : "not a featcache checkpoint");
        ck->disabled = 1;
        return 0;
    }
    if (sb.st_size < 8 + 32 + 32) {
        fclose(f);
        warn(ck, "not resuming from %s: %s; starting from epoch 1 (it will be replaced)",
             "the checkpoint is truncated");
        return 0;
    }
    rewind(f);
    if (verify(f, (long)sb.st_size) != 0) {
        fclose(f);
        warn(ck, "not resuming from %s: %s; starting from epoch 1 (it will be replaced)",
             "the checkpoint is damaged or truncated (checksum mismatch)");
        return 0;
    }
    if (fseek(f, 8, SEEK_SET) != 0 || fread(key, 1, 32, f) != 32) {
        fclose(f);
        return 0;
    }
    if (fc_ckpt_key(ck, st)) {
        fclose(f);
        return -1;
    }
    if (memcmp(key, ck->key, 32) != 0) {
        fclose(f);
        warn(ck, "not resuming from %s: %s; starting from epoch 1 (it will be replaced)",
             "it was written by another run (other store contents, options or --threads, or an older featcache whose training arithmetic differs)");
        return 0;
    }
    ck->rf = f;
    uint32_t ncfg, ndone, nu, ep[2] = {0, 0};
    double esecs = 0;
    int32_t b;
    fc_status rs = {0};
    int ok = !fc_ckr_get(ck, &ncfg, sizeof ncfg, &rs) && ncfg == (uint32_t)ck->n_cfg &&
             !fc_ckr_get(ck, &ck->elapsed, sizeof ck->elapsed, &rs) && !fc_ckr_get(ck, &ndone, sizeof ndone, &rs) &&
             ndone <= ncfg;
    for (uint32_t k = 0; ok && k < ndone; k++) {
        uint32_t idx = UINT32_MAX;
        ok = !fc_ckr_get(ck, &idx, sizeof idx, &rs) && idx < ncfg && !done[idx] &&
             !fc_ckr_hist(ck, &hist[idx], ck->cfg[idx].epochs, &rs) && hist[idx].n > 0;
        if (ok || (idx < ncfg && hist[idx].ep)) done[idx] = 1; /* unwind frees it */
    }
    ok = ok && !fc_ckr_get(ck, &b, sizeof b, &rs) && b >= -1 && b < (int32_t)ncfg && (b < 0 || done[b]);
    if (ok && b >= 0) {
        const fc_train_config *c = &ck->cfg[b];
        ok = !fc_head_create(&c->arch, ck->tr->h, ck->tr->w, ck->tr->c, ck->tr->n_classes, &heads[b], &rs);
        if (ok) *best = b;
        for (int l = 0; ok && l < heads[b]->n_layers; l++)
            ok = !fc_ckr_arr(ck, heads[b]->w[l], (size_t)heads[b]->dims[l] * heads[b]->dims[l + 1], sizeof(float), &rs) &&
                 !fc_ckr_arr(ck, heads[b]->b[l], (size_t)heads[b]->dims[l + 1], sizeof(float), &rs);
    }
    ok = ok && !fc_ckr_get(ck, &nu, sizeof nu, &rs) && nu <= ncfg;
    if (ok && nu && !(ck->r_unit = calloc(nu, sizeof *ck->r_unit))) ok = 0;
    for (uint32_t k = 0; ok && k < nu; k++) {
        uint32_t u;
        ok = !fc_ckr_get(ck, &u, sizeof u, &rs) && u < ncfg && !done[u];
        ck->r_unit[k] = (int)u;
    }
    ok = ok && !fc_ckr_get(ck, ep, sizeof ep, &rs) && !fc_ckr_get(ck, &esecs, sizeof esecs, &rs);
    /* the checksum and the key are made from public data: they prove the file undamaged,
     * not that featcache wrote it, so every position and count must fit this run before
     * any of it is used (a negative step read beyond the shuffled rows) */
    off_t at = ok ? ftello(f) : -1;
    ok = ok && isfinite(ck->elapsed) && ck->elapsed >= 0 && isfinite(esecs) && esecs >= 0 && at >= 0 &&
         !fc_train_ckpt_check(ck, ck->r_unit, (int)nu, ep[0], ep[1], &rs) && ftello(f) == sb.st_size - 32 &&
         fseeko(f, at, SEEK_SET) == 0;
    if (!ok) {
        unwind(ck, done, hist, best, heads);
        fc_ckpt_close(ck);
        ck->elapsed = 0;
        size_t pl = strlen(ck->path); /* the reader's messages start with the path the warning names */
        const char *why = !strncmp(rs.msg, ck->path, pl) && !strncmp(rs.msg + pl, ": ", 2) ? rs.msg + pl + 2 : rs.msg;
        warn(ck, "not resuming from %s: %s; starting from epoch 1 (it will be replaced)",
             why[0] ? why : "its contents do not fit this run");
        return 0;
    }
    ck->r_n_unit = (int)nu, ck->r_epochs = ep[0], ck->r_steps = ep[1], ck->r_epoch_secs = esecs;
    if (!nu || (!ep[0] && !ep[1])) { /* nothing in progress: the unit's state is not needed */
        fclose(ck->rf);
        ck->rf = NULL;
    }
    return 1;
}

int fc_ckpt_is_file(const char *path) {
    char magic[8];
    FILE *f;
    struct stat sb = {0};
    int ok = !open_regular(path, &f, &sb) && fread(magic, 1, 8, f) == 8 && !memcmp(magic, MAGIC, 8);
    if (f) fclose(f);
    return ok;
}

int fc_ckpt_resumes(const fc_ckpt *ck, const int *unit, int n) {
    if (!ck || !ck->rf || ck->r_n_unit != n) return 0;
    for (int i = 0; i < n; i++)
        if (ck->r_unit[i] != (unit ? unit[i] : i)) return 0;
    return 1;
}

void fc_ckpt_remove(const fc_ckpt *ck) {
    if (ck && ck->path && fc_ckpt_is_file(ck->path)) (void)unlink(ck->path); /* never someone else's file */
}

void fc_ckpt_close(fc_ckpt *ck) {
    if (ck->rf) fclose(ck->rf);
    ck->rf = NULL;
    free(ck->r_unit);
    ck->r_unit = NULL;
    ck->r_n_unit = 0;
}
