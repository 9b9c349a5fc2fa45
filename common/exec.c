/* exec.c - the fast executor: a plan holds every buffer (one arena with liveness-based
 * reuse, im2col scratch per thread), built once; fc_plan_forward only computes.
 *
 * Threading: with `threads` T > 1 and a batch of at least T images, T threads (the
 * caller plus T-1 pool workers) each run the whole graph on their own slice of the
 * batch with single-threaded BLAS, so im2col, depthwise and pooling run in parallel
 * too and no two thread pools compete. Smaller batches run on the caller with T BLAS
 * threads. */
#include "graph.h"

#include <math.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "blas.h"
#include "kernels.h"

#define SCRATCH_TARGET ((size_t)1 << 20) /* im2col chunk, floats per thread (4 MiB) */
#define MIN_CHUNK_ROWS 256
#define C_TARGET ((size_t)96 << 10) /* GEMM output chunk, floats: stays in L2 for bias+act */
#define NO_OFF SIZE_MAX
#define WINO_TARGET ((size_t)4 << 20) /* Winograd V+M block, floats per thread (16 MiB) */
#define WINO_MIN_TILES 256
#define WINO_MIN_CIN 8               /* below this the GEMMs are too thin to gain */

typedef enum { K_GEMM1x1, K_IM2COL, K_DEPTHWISE, K_POOL, K_GLOBAL, K_PADCROP, K_BN, K_ACT,
               K_ELTWISE, K_CONCAT, K_DENSE, K_COPY, K_WINO } step_kind;

typedef struct {
    int node;
    step_kind kind;
    fc_geom geom;
    size_t chunk;       /* im2col rows per GEMM */
    float *scale, *shift; /* standalone BatchNormalization */
    int wino_m;         /* Winograd output tile (2 or 4) */
    float *u;           /* transformed weights (a*a, cin, cout) */
} fc_step;

struct fc_plan {
    const fc_graph *g;
    int batch, threads;
    int *root;          /* node -> node whose buffer holds its value (identity/flatten) */
    size_t *elems;      /* per-image elements of each node */
    size_t *off;        /* arena offset (floats) of each root buffer, NO_OFF if none */
    float *arena;       /* threads parts of arena_part floats */
    size_t arena_part;
    int cap;            /* images per part: ceil(batch / threads) */
    fc_step *steps;
    int n_steps;
    float *scratch;     /* threads * scratch_elems */
    size_t scratch_elems;
    float *bn_mem;
    float *wino_mem;    /* all transformed Winograd weights */
    float *zeros;       /* max channel count of zeros (Winograd padding) */
    fc_plan_opts opts;
    const float **xs;   /* threads * (max_inputs + 1) pointers for eltwise */
    int *shapes;        /* threads * (max_inputs + 1) (h, w, c) of eltwise inputs */
    int max_inputs;
    /* per forward */
    const float *in;
    float *out;
    int job_n, job_parts;
    /* worker pool */
    pthread_t *tids;
    int n_workers, gen, pending, stop, sync_init;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
};

/* Buffer of `node` for images starting at b0 (absolute) as seen by part `tid`: input
 * and output live in the caller's arrays, everything else in the part's own arena. */
static float *node_buf(const fc_plan *p, int node, int tid, int b0) {
    int r = p->root[node];
    if (p->g->nodes[r].op == FC_OP_INPUT) return (float *)p->in + (size_t)b0 * p->elems[r];
    if (r == p->root[p->g->output]) return p->out + (size_t)b0 * p->elems[r];
    return p->arena + (size_t)tid * p->arena_part + p->off[r];
}

/* ---- one step on images [b0, b0+n) --------------------------------------------------- */

static void run_conv(const fc_plan *p, const fc_step *s, const float *x, float *y, int n,
                     float *scratch) {
    const fc_node *c = &p->g->nodes[s->node];
    const fc_geom *g = &s->geom;
    fc_actp a = fc_actp_from(c);
    size_t M = (size_t)n * g->oh * g->ow, K = (size_t)g->kh * g->kw * g->ic;
    for (size_t r0 = 0; r0 < M; r0 += s->chunk) {
        size_t r1 = r0 + s->chunk < M ? r0 + s->chunk : M;
        const float *A = x + r0 * K;
        if (s->kind == K_IM2COL) {
            fc_k_im2col(g, x, r0, r1, scratch);
            A = scratch;
        }
        float *C = y + r0 * g->oc;
        fc_k_fill_rows(C, r1 - r0, g->oc, g->oc, c->b);
        fc_sgemm(0, 0, (int)(r1 - r0), g->oc, (int)K, 1.0f, A, (int)K, c->w, g->oc, 1.0f, C,
                 g->oc);
        fc_k_bias_act(C, r1 - r0, g->oc, g->oc, NULL, &a);
    }
}

/* Winograd over tile blocks: input transform, (m+2)^2 GEMMs, output transform. */
static void run_wino(const fc_plan *p, const fc_step *s, const float *x, float *y, int n,
                     float *scratch) {
    const fc_node *c = &p->g->nodes[s->node];
    const fc_geom *g = &s->geom;
    fc_actp act = fc_actp_from(c);
    const int m = s->wino_m, a = m + 2, ci = g->ic, co = g->oc;
    size_t tiles = (size_t)n * ((g->oh + m - 1) / m) * ((g->ow + m - 1) / m);
    for (size_t t0 = 0; t0 < tiles; t0 += s->chunk) {
        size_t t1 = t0 + s->chunk < tiles ? t0 + s->chunk : tiles, T = t1 - t0;
        float *v = scratch, *mm = v + (size_t)a * a * T * ci, *tmp = mm + (size_t)a * a * T * co;
        fc_wino_input(g, m, x, t0, t1, v, p->zeros, tmp);
        for (int pos = 0; pos < a * a; pos++)
            fc_sgemm(0, 0, (int)T, co, ci, 1.0f, v + (size_t)pos * T * ci, ci,
                     s->u + (size_t)pos * ci * co, co, 0.0f, mm + (size_t)pos * T * co, co);
        fc_wino_output(g, m, mm, t0, t1, y, c->b, &act, tmp);
    }
}

/* Add / Multiply: inputs of the output's shape, or broadcast ones (a (1, 1, c) gate). */
static void run_eltwise(const fc_plan *p, const fc_node *c, int b0, int n, int tid, float *y) {
    const float **xs = p->xs + (size_t)tid * (p->max_inputs + 1);
    int *shapes = p->shapes + (size_t)tid * 3 * (p->max_inputs + 1), same = 1;
    for (int k = 0; k < c->n_inputs; k++) {
        const fc_node *in = &p->g->nodes[c->inputs[k]];
        xs[k] = node_buf(p, c->inputs[k], tid, b0);
        shapes[3 * k] = in->oh, shapes[3 * k + 1] = in->ow, shapes[3 * k + 2] = in->oc;
        same &= in->oh == c->oh && in->ow == c->ow && in->oc == c->oc;
    }
    if (same) fc_k_eltwise(y, xs, c->n_inputs, (size_t)n * c->oh * c->ow * c->oc, c->op == FC_OP_MUL);
    else fc_k_eltwise_bcast(y, xs, shapes, c->n_inputs, c->oh, c->ow, c->oc, n, c->op == FC_OP_MUL);
}

static void run_step(const fc_plan *p, const fc_step *s, int b0, int n, int tid) {
    const fc_graph *g = p->g;
    const fc_node *c = &g->nodes[s->node];
    if (c->n_inputs < 1) return; /* input nodes have no step (plan_steps skips them) */
    const fc_node *in = &g->nodes[c->inputs[0]];
    const float *x = node_buf(p, c->inputs[0], tid, b0);
    float *y = node_buf(p, s->node, tid, b0);
    size_t rows = (size_t)n * c->oh * c->ow;
    fc_actp a = fc_actp_from(c);
    switch (s->kind) {
    case K_GEMM1x1:
    case K_IM2COL: run_conv(p, s, x, y, n, p->scratch + (size_t)tid * p->scratch_elems); break;
    case K_WINO: run_wino(p, s, x, y, n, p->scratch + (size_t)tid * p->scratch_elems); break;
    case K_DENSE:
        fc_k_fill_rows(y, rows, c->oc, c->oc, c->b);
        fc_sgemm(0, 0, (int)rows, c->oc, in->oc, 1.0f, x, in->oc, c->w, c->oc, 1.0f, y, c->oc);
        fc_k_bias_act(y, rows, c->oc, c->oc, NULL, &a);
        break;
    case K_DEPTHWISE:
        fc_k_depthwise(&s->geom, c->depth_multiplier, x, c->w, c->b, &a, y, n);
        break;
    case K_POOL: fc_k_pool(&s->geom, c->op == FC_OP_MAXPOOL, x, y, n); break;
    case K_GLOBAL:
        fc_k_global_pool((size_t)in->oh * in->ow, in->oc, c->op == FC_OP_GMP, x, y, n);
        break;
    case K_PADCROP:
        fc_k_pad_crop(&s->geom, c->op == FC_OP_ZEROPAD ? 1 : -1, c->pad_t, c->pad_l, x, y, n);
        break;
    case K_BN: fc_k_scale_shift(y, x, rows, c->oc, s->scale, s->shift); break;
    case K_ACT:
        memcpy(y, x, rows * c->oc * sizeof *y);
        fc_k_bias_act(y, rows, c->oc, c->oc, NULL, &a);
        break;
    case K_ELTWISE: run_eltwise(p, c, b0, n, tid, y); break;
    case K_CONCAT: {
        int off = 0;
        for (int k = 0; k < c->n_inputs; k++) {
            int j = c->inputs[k], jc = g->nodes[j].oc;
            fc_k_concat_copy(y, c->oc, off, node_buf(p, j, tid, b0), jc, rows);
            off += jc;
        }
        break;
    }
    case K_COPY: memcpy(y, x, (size_t)n * p->elems[s->node] * sizeof *y); break;
    }
}

static void run_part(fc_plan *p, int part) {
    int n = p->job_n, parts = p->job_parts;
    int per = (n + parts - 1) / parts, b0 = part * per;
    int end = b0 + per <= n ? b0 + per : n;
    for (; b0 < end; b0 += p->cap) {
        int cnt = end - b0 < p->cap ? end - b0 : p->cap;
        for (int i = 0; i < p->n_steps; i++) run_step(p, &p->steps[i], b0, cnt, part);
    }
}

/* ---- worker pool --------------------------------------------------------------------- */

typedef struct { fc_plan *p; int id; } worker_arg;

static void *worker_main(void *arg) {
    fc_plan *p = ((worker_arg *)arg)->p;
    int id = ((worker_arg *)arg)->id, seen = 0;
    free(arg);
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->stop && p->gen == seen) pthread_cond_wait(&p->go, &p->mu);
        if (p->stop) break;
        seen = p->gen;
        int active = id < p->job_parts;
        pthread_mutex_unlock(&p->mu);
        if (active) run_part(p, id);
        pthread_mutex_lock(&p->mu);
        if (--p->pending == 0) pthread_cond_signal(&p->done);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

static int start_workers(fc_plan *p, fc_status *st) {
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->go, NULL);
    pthread_cond_init(&p->done, NULL);
    p->sync_init = 1;
    if (p->threads <= 1) return 0;
    p->tids = fc_calloc((size_t)p->threads - 1, sizeof *p->tids, st);
    if (!p->tids) return FC_ERR_NOMEM;
    for (int i = 1; i < p->threads; i++) {
        worker_arg *wa = fc_malloc(sizeof *wa, st);
        if (!wa) return FC_ERR_NOMEM;
        wa->p = p;
        wa->id = i;
        if (pthread_create(&p->tids[i - 1], NULL, worker_main, wa) != 0) {
            free(wa);
            return fc_fail(st, FC_ERR_NOMEM, "cannot start executor thread %d", i);
        }
        p->n_workers++;
    }
    return 0;
}

/* ---- planning ------------------------------------------------------------------------ */

static int step_kind_of(const fc_node *c, const fc_geom *gm) {
    switch (c->op) {
    case FC_OP_CONV2D:
        return gm->kh == 1 && gm->kw == 1 && gm->sh == 1 && gm->sw == 1 && gm->pt == 0 &&
                       gm->pl == 0 && gm->oh == gm->ih && gm->ow == gm->iw ? K_GEMM1x1
                                                                         : K_IM2COL;
    case FC_OP_DEPTHWISE: return K_DEPTHWISE;
    case FC_OP_MAXPOOL:
    case FC_OP_AVGPOOL: return K_POOL;
    case FC_OP_GAP:
    case FC_OP_GMP: return K_GLOBAL;
    case FC_OP_ZEROPAD:
    case FC_OP_CROP: return K_PADCROP;
    case FC_OP_BATCHNORM:
    case FC_OP_SCALE: return K_BN;
    case FC_OP_ACTIVATION: return K_ACT;
    case FC_OP_ADD:
    case FC_OP_MUL: return K_ELTWISE;
    case FC_OP_CONCAT: return K_CONCAT;
    case FC_OP_DENSE: return K_DENSE;
    default: return K_COPY;
    }
}

static int build_wino(fc_plan *p, fc_status *st);
static int build_bn(fc_plan *p, int bn, fc_status *st);

/* Marks executed nodes, sets alias roots, builds the step list. */
static int build_steps(fc_plan *p, fc_status *st) {
    const fc_graph *g = p->g;
    int nn = g->n_nodes, out = g->output;
    char *need = fc_calloc((size_t)nn, 1, st);
    if (!need) return FC_ERR_NOMEM;
    for (int i = 0; i < nn; i++) {
        const fc_node *c = &g->nodes[i];
        int alias = c->op == FC_OP_IDENTITY || c->op == FC_OP_FLATTEN || c->op == FC_OP_RESHAPE;
        p->root[i] = alias ? p->root[c->inputs[0]] : i;
        p->elems[i] = (size_t)c->oh * c->ow * c->oc;
    }
    need[p->root[out]] = 1;
    for (int i = nn - 1; i >= 0; i--)
        if (need[i])
            for (int k = 0; k < g->nodes[i].n_inputs; k++) need[p->root[g->nodes[i].inputs[k]]] = 1;
    int bn = 0;
    for (int i = 0; i < nn; i++) {
        const fc_node *c = &g->nodes[i];
        if (!need[i] || p->root[i] != i || c->op == FC_OP_INPUT) continue;
        fc_step *s = &p->steps[p->n_steps++];
        s->node = i;
        if (c->n_inputs) fc_geom_from(&s->geom, &g->nodes[c->inputs[0]], c);
        s->kind = step_kind_of(c, &s->geom);
        const fc_geom *gm = &s->geom;
        if (s->kind == K_IM2COL && p->opts.winograd >= 0 && gm->kh == 3 && gm->kw == 3 &&
            gm->sh == 1 && gm->sw == 1 && gm->dh == 1 && gm->dw == 1 && gm->ic >= WINO_MIN_CIN) {
            s->kind = K_WINO;
            s->wino_m = p->opts.winograd == 2 ? 2 : 4;
        }
        if (c->op == FC_OP_BATCHNORM) bn += c->oc;
        if (c->n_inputs > p->max_inputs) p->max_inputs = c->n_inputs;
    }
    free(need);
    return build_wino(p, st) || build_bn(p, bn, st) ? -1 : 0;
}

/* Transforms the weights of every Winograd step into one allocation. */
static int build_wino(fc_plan *p, fc_status *st) {
    size_t total = 0;
    int maxc = 1;
    for (int i = 0; i < p->n_steps; i++) {
        const fc_step *s = &p->steps[i];
        int c = s->geom.ic > s->geom.oc ? s->geom.ic : s->geom.oc;
        if (c > maxc) maxc = c;
        if (s->kind == K_WINO)
            total += (size_t)(s->wino_m + 2) * (s->wino_m + 2) * s->geom.ic * s->geom.oc;
    }
    p->zeros = fc_calloc((size_t)maxc, sizeof *p->zeros, st);
    if (!p->zeros) return -1;
    if (!total) return 0;
    p->wino_mem = fc_aligned_alloc(total * sizeof(float), st);
    if (!p->wino_mem) return -1;
    float *u = p->wino_mem;
    for (int i = 0; i < p->n_steps; i++) {
        fc_step *s = &p->steps[i];
        if (s->kind != K_WINO) continue;
        s->u = u;
        fc_wino_weights(s->wino_m, p->g->nodes[s->node].w, s->geom.ic, s->geom.oc, u);
        u += (size_t)(s->wino_m + 2) * (s->wino_m + 2) * s->geom.ic * s->geom.oc;
    }
    return 0;
}

/* Per-channel scale and shift of every standalone BatchNormalization. */
static int build_bn(fc_plan *p, int bn, fc_status *st) {
    const fc_graph *g = p->g;
    if (bn) {
        p->bn_mem = fc_malloc((size_t)bn * 2 * sizeof(float), st);
        if (!p->bn_mem) return FC_ERR_NOMEM;
    }
    float *bm = p->bn_mem;
    for (int i = 0; i < p->n_steps; i++) {
        fc_step *s = &p->steps[i];
        const fc_node *c = &g->nodes[s->node];
        if (s->kind != K_BN) continue;
        if (c->op == FC_OP_SCALE) { /* already a scale and shift per channel */
            s->scale = c->w, s->shift = c->b;
            continue;
        }
        s->scale = bm;
        s->shift = bm + c->oc;
        bm += 2 * (size_t)c->oc;
        for (int ch = 0; ch < c->oc; ch++) {
            double sc = (c->gamma ? c->gamma[ch] : 1.0) / sqrt((double)c->var[ch] + c->eps);
            s->scale[ch] = (float)sc;
            s->shift[ch] = (float)((c->beta ? c->beta[ch] : 0.0) - c->mean[ch] * sc);
        }
    }
    return 0;
}

typedef struct { size_t size, off; int first, last, node; } tensor_life;

static int cmp_size_desc(const void *a, const void *b) {
    const tensor_life *x = a, *y = b;
    return x->size < y->size ? 1 : x->size > y->size ? -1 : x->node - y->node;
}

/* Greedy offset assignment: biggest tensors first, each at the lowest offset that does
 * not overlap a placed tensor whose lifetime intersects its own. */
static int plan_arena(fc_plan *p, size_t *total, fc_status *st) {
    const fc_graph *g = p->g;
    int n = 0, rc = 0, oroot = p->root[g->output];
    tensor_life *t = fc_calloc((size_t)p->n_steps + 1, sizeof *t, st);
    int *step_of = fc_malloc((size_t)g->n_nodes * sizeof *step_of, st);
    if (!t || !step_of) { rc = FC_ERR_NOMEM; goto out; }
    for (int i = 0; i < g->n_nodes; i++) { step_of[i] = -1; p->off[i] = NO_OFF; }
    for (int s = 0; s < p->n_steps; s++) step_of[p->steps[s].node] = s;
    for (int s = 0; s < p->n_steps; s++) {
        int node = p->steps[s].node;
        if (node == oroot) continue;
        size_t sz = ((size_t)p->cap * p->elems[node] + 15) & ~(size_t)15;
        t[n] = (tensor_life){sz, 0, s, s, node};
        for (int s2 = s + 1; s2 < p->n_steps; s2++) {
            const fc_node *c = &g->nodes[p->steps[s2].node];
            for (int k = 0; k < c->n_inputs; k++)
                if (p->root[c->inputs[k]] == node) t[n].last = s2;
        }
        n++;
    }
    qsort(t, (size_t)n, sizeof *t, cmp_size_desc);
    *total = 0;
    for (int i = 0; i < n; i++) {
        size_t off = 0;
        for (int moved = 1; moved;) {
            moved = 0;
            for (int j = 0; j < i; j++) {
                if (t[j].last < t[i].first || t[i].last < t[j].first) continue;
                if (off < t[j].off + t[j].size && t[j].off < off + t[i].size) {
                    off = t[j].off + t[j].size;
                    moved = 1;
                }
            }
        }
        t[i].off = off;
        p->off[t[i].node] = off;
        if (off + t[i].size > *total) *total = off + t[i].size;
    }
out:
    free(t);
    free(step_of);
    return rc;
}

static int plan_scratch(fc_plan *p) {
    p->scratch_elems = 0;
    for (int i = 0; i < p->n_steps; i++) {
        fc_step *s = &p->steps[i];
        const fc_geom *gm = &s->geom;
        if (s->kind == K_WINO) {
            size_t a2 = (size_t)(s->wino_m + 2) * (s->wino_m + 2);
            size_t tiles = (size_t)p->cap * ((gm->oh + s->wino_m - 1) / s->wino_m) *
                           ((gm->ow + s->wino_m - 1) / s->wino_m);
            /* at least WINO_MIN_TILES per block: each GEMM re-packs U (cin x cout) */
            size_t per_tile = a2 * (size_t)(gm->ic + gm->oc), T = WINO_TARGET / per_tile;
            if (T < WINO_MIN_TILES) T = WINO_MIN_TILES;
            if (p->opts.block > 0 && T > (size_t)p->opts.block) T = (size_t)p->opts.block;
            if (T > tiles) T = tiles;
            s->chunk = T;
            size_t need = T * per_tile + a2 * (size_t)(gm->ic > gm->oc ? gm->ic : gm->oc);
            if (need > p->scratch_elems) p->scratch_elems = need;
            continue;
        }
        if (s->kind != K_IM2COL && s->kind != K_GEMM1x1) continue;
        size_t K = (size_t)gm->kh * gm->kw * gm->ic;
        size_t M = (size_t)p->cap * gm->oh * gm->ow;
        size_t rows = SCRATCH_TARGET / K, crows = C_TARGET / (size_t)gm->oc;
        if (crows < rows) rows = crows;
        if (rows < MIN_CHUNK_ROWS) rows = MIN_CHUNK_ROWS;
        if (p->opts.block > 0 && rows > (size_t)p->opts.block) rows = (size_t)p->opts.block;
        if (rows > M) rows = M;
        s->chunk = rows;
        if (s->kind == K_IM2COL && rows * K > p->scratch_elems) p->scratch_elems = rows * K;
    }
    return 0;
}

fc_plan *fc_plan_create(const fc_graph *g, int batch, int threads, fc_status *st) {
    return fc_plan_create_opts(g, batch, threads, NULL, st);
}

fc_plan *fc_plan_create_opts(const fc_graph *g, int batch, int threads,
                             const fc_plan_opts *opts, fc_status *st) {
    if (!g->finalized) {
        fc_fail(st, FC_ERR_INTERNAL, "fc_plan_create: graph not finalized");
        return NULL;
    }
    if (batch < 1 || batch > 1 << 20) {
        fc_fail(st, FC_ERR_ARG, "batch size %d out of range", batch);
        return NULL;
    }
    if (threads <= 0) threads = fc_online_cpus();
    if (threads > 256) threads = 256;
    fc_plan *p = fc_calloc(1, sizeof *p, st);
    if (!p) return NULL;
    p->g = g;
    if (opts) p->opts = *opts;
    p->batch = batch;
    p->threads = threads;
    p->cap = (batch + threads - 1) / threads;
    size_t nn = (size_t)g->n_nodes, arena = 0;
    p->root = fc_malloc(nn * sizeof *p->root, st);
    p->elems = fc_malloc(nn * sizeof *p->elems, st);
    p->off = fc_malloc(nn * sizeof *p->off, st);
    p->steps = fc_calloc(nn, sizeof *p->steps, st);
    if (!p->root || !p->elems || !p->off || !p->steps || build_steps(p, st) ||
        plan_arena(p, &arena, st) || plan_scratch(p))
        goto fail;
    size_t bytes;
    p->arena_part = arena;
    if (fc_size_mul4(arena, sizeof(float), (size_t)threads, 1, &bytes)) {
        fc_fail(st, FC_ERR_NOMEM, "activation arena too large");
        goto fail;
    }
    /* the input size may come from a file (a head's backbone input for predict), and every
     * page is touched below: more than the machine has would be the OOM killer's to settle,
     * part way through a run, so the buffers must fit before they are allocated */
    char what[128];
    snprintf(what, sizeof what, "the activations of a batch of %d images of %dx%d", batch, g->in_h, g->in_w);
    if (fc_mem_check((double)bytes + (double)threads * (double)p->scratch_elems * sizeof(float), what, st))
        goto fail;
    p->arena = fc_aligned_alloc(bytes, st);
    p->scratch = fc_aligned_alloc((size_t)threads * p->scratch_elems * sizeof(float) + 64, st);
    p->xs = fc_calloc((size_t)threads * (size_t)(p->max_inputs + 1), sizeof *p->xs, st);
    p->shapes = fc_calloc((size_t)threads * 3 * (size_t)(p->max_inputs + 1), sizeof *p->shapes, st);
    if (!p->arena || !p->scratch || !p->xs || !p->shapes) {
        fc_wrap(st, "activations for a batch of %d (lower --batch or --size)", batch);
        goto fail;
    }
    /* Touch every page now: first-touch faults are slow on these VMs. */
    memset(p->arena, 0, bytes);
    memset(p->scratch, 0, (size_t)threads * p->scratch_elems * sizeof(float));
    if (start_workers(p, st)) goto fail;
    fc_blas_init();
    return p;
fail:
    fc_plan_free(p);
    return NULL;
}

void fc_plan_free(fc_plan *p) {
    if (!p) return;
    if (p->n_workers) {
        pthread_mutex_lock(&p->mu);
        p->stop = 1;
        pthread_cond_broadcast(&p->go);
        pthread_mutex_unlock(&p->mu);
        for (int i = 0; i < p->n_workers; i++) pthread_join(p->tids[i], NULL);
    }
    if (p->sync_init) {
        pthread_mutex_destroy(&p->mu);
        pthread_cond_destroy(&p->go);
        pthread_cond_destroy(&p->done);
    }
    free(p->tids);
    free(p->root);
    free(p->elems);
    free(p->off);
    free(p->steps);
    free(p->arena);
    free(p->scratch);
    free(p->bn_mem);
    free(p->wino_mem);
    free(p->zeros);
    free(p->xs);
    free(p->shapes);
    free(p);
}

int fc_plan_forward(fc_plan *p, const float *in, int n, float *out, fc_status *st) {
    if (n < 0 || n > p->batch)
        return fc_fail(st, FC_ERR_ARG, "batch of %d images exceeds the plan's %d", n, p->batch);
    if (n == 0) return 0;
    const fc_graph *g = p->g;
    p->in = in;
    p->out = out;
    if (g->nodes[p->root[g->output]].op == FC_OP_INPUT) {
        memcpy(out, in, (size_t)n * fc_graph_out_elems(g) * sizeof *out);
        return 0;
    }
    int parts = p->n_workers > 0 && n >= p->threads ? p->threads : 1;
    fc_blas_set_threads(parts > 1 ? 1 : p->threads);
    p->job_n = n;
    p->job_parts = parts;
    if (parts == 1) {
        run_part(p, 0);
        return 0;
    }
    pthread_mutex_lock(&p->mu);
    p->pending = p->n_workers;
    p->gen++;
    pthread_cond_broadcast(&p->go);
    pthread_mutex_unlock(&p->mu);
    run_part(p, 0);
    pthread_mutex_lock(&p->mu);
    while (p->pending > 0) pthread_cond_wait(&p->done, &p->mu);
    pthread_mutex_unlock(&p->mu);
    return 0;
}
