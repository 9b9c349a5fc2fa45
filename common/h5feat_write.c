/* h5feat_write.c - streaming writer of exported feature files (layout: h5feat.h and
 * schemas/hdf5_layout.md).
 *
 * Every dataset is extendible along N and chunked; the writer buffers one block of rows
 * (a few chunks of /features, at most ~4 MiB) and appends it with a hyperslab write, so
 * memory does not grow with the store. Output goes to "<path>.tmp.<host>.<pid>.XXXXXX"
 * (outtmp.h) in the target directory; finish closes it, fsyncs it and renames it over the
 * target. */
#define _GNU_SOURCE
#include "h5feat_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec.h"
#include "outtmp.h"

#define STR_CHUNK 1024            /* rows per chunk of the string/label datasets */
#define CHUNK_TARGET (64 << 10)   /* bytes per /features chunk (>= one image) */
#define BLOCK_TARGET (4 << 20)    /* bytes of /features buffered before a write */

struct fc_h5feat_writer {
    char *path, *tmp;
    hid_t file, feat, labels, paths, sha, split; /* datasets */
    hid_t str_t, feat_t;                         /* file types */
    int h, w, c, n_classes, float16, zstd, level; /* level: 0 = the filter's default */
    size_t dim, n;                               /* floats per image, rows written */
    size_t block, nbuf;                          /* rows per block, rows buffered */
    float *xbuf;                                 /* block*dim (float32 input) */
    uint16_t *hbuf;                              /* block*dim (float16 export) */
    int32_t *lbuf;
    char **pbuf, **sbuf;                         /* owned copies of paths, sha256 */
    const char **spbuf;                          /* split names (static strings) */
};

hid_t fc_h5_vlen_str(void) {
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, H5T_VARIABLE) < 0 || H5Tset_cset(t, H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

fc_h5_quiet fc_h5_quiet_begin(void) {
    fc_h5_quiet q = {0};
    H5Eget_auto2(H5E_DEFAULT, &q.fn, &q.data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    return q;
}

void fc_h5_quiet_end(fc_h5_quiet q) { H5Eset_auto2(H5E_DEFAULT, q.fn, q.data); }

/* IEEE binary16 little-endian as an HDF5 float type (h5py maps it to numpy float16). */
static hid_t half_type(void) {
    hid_t t = H5Tcopy(H5T_IEEE_F32LE);
    if (t < 0) return t;
    if (H5Tset_fields(t, 15, 10, 5, 0, 10) < 0 || H5Tset_size(t, 2) < 0 ||
        H5Tset_ebias(t, 15) < 0 || H5Tset_precision(t, 16) < 0) {
        H5Tclose(t);
        return -1;
    }
    return t;
}

/* Strings are labelled UTF-8, so text that is not (a model path or command line with
 * Latin-1 bytes) is written with those bytes as \xNN (fc_utf8_text). */
static int attr_str(hid_t loc, const char *name, const char *val, fc_status *st) {
    char *text = fc_utf8_text(val, st);
    if (!text) return st->code;
    hid_t t = fc_h5_vlen_str(), sp = H5Screate(H5S_SCALAR), a = -1;
    int rc = 0;
    if (t < 0 || sp < 0) goto bad;
    a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0 || H5Awrite(a, t, &text) < 0) goto bad;
    goto out;
bad:
    rc = fc_fail(st, FC_ERR_IO, "cannot write attribute '%s'", name);
out:
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    free(text);
    return rc;
}

/* A scalar attribute of file type ft from *val in memory type mt. */
static int attr_scalar(hid_t loc, const char *name, hid_t ft, hid_t mt, const void *val, fc_status *st) {
    hid_t sp = H5Screate(H5S_SCALAR), a = sp >= 0 ? H5Acreate2(loc, name, ft, sp, H5P_DEFAULT, H5P_DEFAULT) : -1;
    int rc = a >= 0 && H5Awrite(a, mt, val) >= 0 ? 0 : fc_fail(st, FC_ERR_IO, "cannot write attribute '%s'", name);
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

static int attr_int(hid_t loc, const char *name, int64_t val, fc_status *st) {
    return attr_scalar(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &val, st);
}

static int attr_f64(hid_t loc, const char *name, double val, fc_status *st) {
    return attr_scalar(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &val, st);
}

static int write_provenance(hid_t file, const fc_provenance *p, fc_status *st) {
    int rc;
    if ((rc = attr_str(file, "featcache_format", FC_H5FEAT_FORMAT, st)) ||
        (rc = attr_int(file, "featcache_format_version", FC_H5FEAT_FORMAT_VERSION, st)) ||
        (rc = attr_str(file, "codec", fc_codec_name(p->codec.kind), st)) ||
        (rc = attr_str(file, "codec_layout", fc_layout_name(p->codec.layout), st)) ||
        (rc = attr_int(file, "codec_level", p->codec.level, st)))
        return rc;
    for (size_t i = 0; i < fc_h5_prov_nfields; i++) {
        const fc_h5_prov_field *f = &fc_h5_prov_fields[i];
        const char *base = (const char *)p + f->offset;
        if (f->is_int) {
            int64_t v = 0;
            if (f->size == sizeof(int)) {
                int iv;
                memcpy(&iv, base, sizeof iv);
                v = iv;
            } else {
                memcpy(&v, base, sizeof v);
            }
            rc = attr_int(file, f->name, v, st);
        } else {
            char buf[2048];
            size_t len = strnlen(base, f->size);
            if (len >= sizeof buf) len = sizeof buf - 1;
            memcpy(buf, base, len);
            buf[len] = '\0';
            rc = attr_str(file, f->name, buf, st);
        }
        if (rc) return rc;
    }
    /* only when the store records it (fc_provenance.feat_rank): absent means unknown */
    if (fc_feat_rank_valid(p->feat_rank, p->feat_h, p->feat_w) &&
        (rc = attr_int(file, "feat_rank", p->feat_rank, st)))
        return rc;
    /* likewise the split fractions and the model's absolute path, so that import keeps them */
    if (p->has_fracs &&
        ((rc = attr_f64(file, "val_frac", p->val_frac, st)) || (rc = attr_f64(file, "test_frac", p->test_frac, st))))
        return rc;
    if (p->model_abspath[0]) return attr_str(file, "model_abspath", p->model_abspath, st);
    return 0;
}

/* An extendible (0..unlimited) x dims[1..] chunked dataset. */
static hid_t make_dset(hid_t file, const char *name, hid_t type, int rank, const hsize_t *dims,
                       const hsize_t *chunk, const fc_h5feat_opts *o, int compress) {
    hsize_t cur[4] = {0, 0, 0, 0}, max[4];
    for (int i = 0; i < rank; i++) {
        cur[i] = i ? dims[i] : 0;
        max[i] = i ? dims[i] : H5S_UNLIMITED;
    }
    hid_t sp = H5Screate_simple(rank, cur, max), dcpl = H5Pcreate(H5P_DATASET_CREATE), d = -1;
    if (sp < 0 || dcpl < 0 || H5Pset_chunk(dcpl, rank, chunk) < 0) goto out;
    if (compress && o->zstd) {
        unsigned level = (unsigned)(o->level > 0 ? o->level : 3);
        if (H5Pset_filter(dcpl, FC_H5_FILTER_ZSTD, H5Z_FLAG_MANDATORY, 1, &level) < 0) goto out;
    } else if (compress) {
        if (H5Pset_shuffle(dcpl) < 0 ||
            H5Pset_deflate(dcpl, (unsigned)(o->level > 0 ? o->level : 4)) < 0)
            goto out;
    } else if (H5Pset_deflate(dcpl, 4) < 0) { /* strings/labels: gzip only */
        goto out;
    }
    /* numbers get a checksum per chunk, last in the pipeline (over the compressed bytes):
     * readers (HDF5 itself, so h5py too) refuse a damaged chunk, where a zstd frame has no
     * checksum of its own (variable-length strings take no such filter) */
    if (H5Tis_variable_str(type) <= 0 && H5Pset_fletcher32(dcpl) < 0) goto out;
    d = H5Dcreate2(file, name, type, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
out:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (sp >= 0) H5Sclose(sp);
    return d;
}

/* The class names as UTF-8 text (fc_utf8_text), the same names train writes in a head. */
static int write_classes(fc_h5feat_writer *w, char *const *classes, int n, fc_status *st) {
    hsize_t dims[1] = {(hsize_t)n};
    hid_t sp = -1, d = -1;
    int rc = 0;
    char **text = fc_calloc((size_t)n, sizeof *text, st);
    if (!text) return st->code;
    for (int i = 0; i < n; i++)
        if (!(text[i] = fc_utf8_text(classes[i], st))) {
            rc = st->code;
            goto out;
        }
    if ((sp = H5Screate_simple(1, dims, NULL)) < 0) goto bad;
    d = H5Dcreate2(w->file, "classes", w->str_t, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (d < 0 || H5Dwrite(d, w->str_t, H5S_ALL, H5S_ALL, H5P_DEFAULT, text) < 0) goto bad;
    goto out;
bad:
    rc = fc_fail(st, FC_ERR_IO, "%s: cannot write /classes", w->path);
out:
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    for (int i = 0; i < n; i++) free(text[i]);
    free(text);
    return rc;
}

static int create_datasets(fc_h5feat_writer *w, const fc_h5feat_opts *o, fc_status *st) {
    size_t row = w->dim * (w->float16 ? 2 : 4);
    hsize_t crows = row >= CHUNK_TARGET ? 1 : CHUNK_TARGET / row;
    hsize_t fd[4] = {0, (hsize_t)w->h, (hsize_t)w->w, (hsize_t)w->c};
    hsize_t fc[4] = {crows, (hsize_t)w->h, (hsize_t)w->w, (hsize_t)w->c};
    hsize_t sd[1] = {0}, sc[1] = {STR_CHUNK};
    w->feat = make_dset(w->file, "features", w->feat_t, 4, fd, fc, o, 1);
    w->labels = make_dset(w->file, "labels", H5T_STD_I32LE, 1, sd, sc, o, 0);
    w->paths = make_dset(w->file, "paths", w->str_t, 1, sd, sc, o, 0);
    w->sha = make_dset(w->file, "sha256", w->str_t, 1, sd, sc, o, 0);
    w->split = make_dset(w->file, "split", w->str_t, 1, sd, sc, o, 0);
    if (w->feat < 0 || w->labels < 0 || w->paths < 0 || w->sha < 0 || w->split < 0)
        return fc_fail(st, FC_ERR_IO, "%s: cannot create datasets%s", w->path,
                       o->zstd ? " (zstd filter 32015 unavailable?)" : "");
    size_t blk = BLOCK_TARGET / row;
    blk = blk < crows ? crows : blk - blk % crows;
    w->block = blk;
    return 0;
}

static int alloc_buffers(fc_h5feat_writer *w, fc_status *st) {
    size_t nx;
    if (fc_size_mul(w->block, w->dim, &nx))
        return fc_fail(st, FC_ERR_NOMEM, "%s: feature block too large", w->path);
    if (!(w->xbuf = fc_aligned_alloc(nx * sizeof(float), st))) return st->code;
    if (w->float16 && !(w->hbuf = fc_malloc(nx * sizeof(uint16_t), st))) return st->code;
    if (!(w->lbuf = fc_calloc(w->block, sizeof *w->lbuf, st)) ||
        !(w->pbuf = fc_calloc(w->block, sizeof *w->pbuf, st)) ||
        !(w->sbuf = fc_calloc(w->block, sizeof *w->sbuf, st)) ||
        !(w->spbuf = fc_calloc(w->block, sizeof *w->spbuf, st)))
        return st->code;
    return 0;
}

static int check_prov(const char *path, const fc_provenance *p, int n_classes, fc_status *st) {
    if (p->feat_h < 1 || p->feat_w < 1 || p->feat_c < 1 || p->feat_h > FC_MAX_DIM ||
        p->feat_w > FC_MAX_DIM || p->feat_c > FC_MAX_DIM)
        return fc_fail(st, FC_ERR_ARG, "%s: bad feature shape %dx%dx%d", path, p->feat_h,
                       p->feat_w, p->feat_c);
    if (n_classes < 1) return fc_fail(st, FC_ERR_FORMAT, "%s: no classes to export", path);
    return 0;
}

int fc_h5feat_writer_open(const char *path, const fc_provenance *prov, char *const *classes,
                          int n_classes, const fc_h5feat_opts *opts, fc_h5feat_writer **out,
                          fc_status *st) {
    fc_h5feat_opts defo = {0};
    const fc_h5feat_opts *o = opts ? opts : &defo;
    *out = NULL;
    int rc = check_prov(path, prov, n_classes, st);
    if (rc) return rc;
    if (o->zstd && (rc = fc_h5_zstd_register(st))) return rc;
    fc_h5feat_writer *w = fc_calloc(1, sizeof *w, st);
    if (!w) return st->code;
    w->file = w->feat = w->labels = w->paths = w->sha = w->split = w->str_t = w->feat_t = -1;
    w->h = prov->feat_h, w->w = prov->feat_w, w->c = prov->feat_c;
    w->dim = (size_t)w->h * (size_t)w->w * (size_t)w->c;
    w->float16 = o->float16, w->n_classes = n_classes, w->zstd = o->zstd, w->level = o->level;
    fc_h5_quiet q = fc_h5_quiet_begin();
    if (w->dim > FC_MAX_TENSOR_ELEMS) {
        rc = fc_fail(st, FC_ERR_ARG, "%s: feature map too large", path);
        goto out;
    }
    if (!(w->path = fc_strdup(path, st))) goto fail;
    int fd = fc_outtmp_create(path, &w->tmp, st); /* also drops a killed run's leftovers */
    if (fd < 0) {
        rc = st->code;
        goto out;
    }
    fc_outtmp_share(fd); /* an export is for sharing */
    close(fd);
    errno = 0;
    w->file = H5Fcreate(w->tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    int err = errno;
    w->str_t = fc_h5_vlen_str();
    w->feat_t = w->float16 ? half_type() : H5Tcopy(H5T_IEEE_F32LE);
    if (w->file < 0 || w->str_t < 0 || w->feat_t < 0) {
        char why[160];
        const char *r = w->file < 0 ? fc_write_reason(err, 1, why, sizeof why) : NULL;
        rc = fc_fail(st, FC_ERR_IO, "%s: cannot create HDF5 file %s%s%s%s", path, w->tmp,
                     r ? " (" : "", r ? r : "", r ? ")" : "");
        goto out;
    }
    if ((rc = write_provenance(w->file, prov, st)) ||
        (rc = write_classes(w, classes, n_classes, st)) || (rc = create_datasets(w, o, st)) ||
        (rc = alloc_buffers(w, st)))
        goto out;
    goto out;
fail:
    rc = st->code;
out:
    fc_h5_quiet_end(q);
    if (rc) {
        if (st && rc != FC_ERR_ARG && !strstr(st->msg, path)) fc_wrap(st, "%s", path);
        fc_h5feat_writer_abort(w);
        return rc;
    }
    *out = w;
    return 0;
}

/* Extends d to n_new rows and writes buf into rows [n_old, n_new). */
static int append_rows(hid_t d, int rank, hsize_t n_old, hsize_t n_new, hid_t memtype,
                       const void *buf) {
    hsize_t dims[4], start[4] = {n_old, 0, 0, 0}, count[4];
    hid_t fsp = H5Dget_space(d), msp = -1;
    int ok = fsp >= 0 && H5Sget_simple_extent_dims(fsp, dims, NULL) == rank;
    if (fsp >= 0) H5Sclose(fsp);
    if (!ok) return -1;
    dims[0] = n_new;
    if (H5Dset_extent(d, dims) < 0 || (fsp = H5Dget_space(d)) < 0) return -1;
    for (int i = 0; i < rank; i++) count[i] = i ? dims[i] : n_new - n_old;
    ok = H5Sselect_hyperslab(fsp, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
         (msp = H5Screate_simple(rank, count, NULL)) >= 0 &&
         H5Dwrite(d, memtype, msp, fsp, H5P_DEFAULT, buf) >= 0;
    if (msp >= 0) H5Sclose(msp);
    H5Sclose(fsp);
    return ok ? 0 : -1;
}

static int flush_block(fc_h5feat_writer *w, fc_status *st) {
    if (w->nbuf == 0) return 0;
    hsize_t a = w->n, b = w->n + w->nbuf;
    const void *feat = w->xbuf;
    hid_t ft = H5T_NATIVE_FLOAT;
    if (w->float16) {
        fc_f32_to_f16_array(w->xbuf, w->hbuf, w->nbuf * w->dim);
        feat = w->hbuf, ft = w->feat_t;
    }
    fc_h5_quiet q = fc_h5_quiet_begin();
    errno = 0; /* HDF5's sec2 driver leaves a failed write's errno (EFBIG, ENOSPC) */
    int bad = append_rows(w->feat, 4, a, b, ft, feat) ||
              append_rows(w->labels, 1, a, b, H5T_NATIVE_INT32, w->lbuf) ||
              append_rows(w->paths, 1, a, b, w->str_t, w->pbuf) ||
              append_rows(w->sha, 1, a, b, w->str_t, w->sbuf) ||
              append_rows(w->split, 1, a, b, w->str_t, w->spbuf);
    int err = errno;
    fc_h5_quiet_end(q);
    for (size_t i = 0; i < w->nbuf; i++) {
        free(w->pbuf[i]), free(w->sbuf[i]);
        w->pbuf[i] = w->sbuf[i] = NULL;
    }
    w->nbuf = 0;
    char why[160];
    if (bad)
        return fc_fail(st, FC_ERR_IO, "%s: cannot write rows %llu..%llu (%s)", w->path,
                       (unsigned long long)a, (unsigned long long)b - 1,
                       fc_write_reason(err, 1, why, sizeof why) ? why : "disk full?");
    w->n = b;
    return 0;
}

int fc_h5feat_append(fc_h5feat_writer *w, const char *sha256, const char *path, int label,
                     int split, const float *x, fc_status *st) {
    if (label < 0 || label >= w->n_classes)
        return fc_fail(st, FC_ERR_INTERNAL, "%s: label %d out of range 0..%d", w->path, label,
                       w->n_classes - 1);
    if (split < FC_SPLIT_TRAIN || split > FC_SPLIT_TEST)
        return fc_fail(st, FC_ERR_INTERNAL, "%s: bad split %d", w->path, split);
    size_t i = w->nbuf;
    memcpy(w->xbuf + i * w->dim, x, w->dim * sizeof(float));
    w->lbuf[i] = label;
    w->spbuf[i] = fc_split_name(split);
    if (!(w->pbuf[i] = fc_utf8_text(path ? path : "", st)) || /* /paths is UTF-8 */
        !(w->sbuf[i] = fc_strdup(sha256, st))) {
        free(w->pbuf[i]), w->pbuf[i] = NULL;
        return st->code;
    }
    w->nbuf++;
    return w->nbuf == w->block ? flush_block(w, st) : 0;
}

size_t fc_h5feat_writer_count(const fc_h5feat_writer *w) { return w->n + w->nbuf; }

static void close_handles(fc_h5feat_writer *w) {
    hid_t *ids[] = {&w->feat, &w->labels, &w->paths, &w->sha, &w->split};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (*ids[i] >= 0) H5Dclose(*ids[i]), *ids[i] = -1;
    if (w->str_t >= 0) H5Tclose(w->str_t), w->str_t = -1;
    if (w->feat_t >= 0) H5Tclose(w->feat_t), w->feat_t = -1;
}

static void free_writer(fc_h5feat_writer *w) {
    for (size_t i = 0; w->pbuf && i < w->block; i++) free(w->pbuf[i]);
    for (size_t i = 0; w->sbuf && i < w->block; i++) free(w->sbuf[i]);
    free(w->xbuf), free(w->hbuf), free(w->lbuf), free(w->pbuf), free(w->sbuf);
    free(w->spbuf), free(w->path), free(w->tmp), free(w);
}

int fc_h5feat_writer_finish(fc_h5feat_writer *w, fc_status *st) {
    int rc = flush_block(w, st);
    if (rc) goto out;
    fc_h5_quiet q = fc_h5_quiet_begin();
    errno = 0;
    int bad = attr_int(w->file, "n_images", (int64_t)w->n, st);
    close_handles(w);
    if (H5Fclose(w->file) < 0) bad = 1;
    int err = errno;
    w->file = -1;
    fc_h5_quiet_end(q);
    char why[160];
    const char *r = fc_write_reason(err, 1, why, sizeof why);
    if (bad) {
        rc = fc_fail(st, FC_ERR_IO, "%s: cannot finish HDF5 file %s%s%s%s", w->path, w->tmp,
                     r ? " (" : "", r ? r : "", r ? ")" : "");
        goto out;
    }
    if ((rc = fc_outtmp_commit(w->tmp, w->path, st))) goto out;
    free(w->tmp), w->tmp = NULL;
out:
    fc_h5feat_writer_abort(w);
    return rc;
}

void fc_h5feat_writer_abort(fc_h5feat_writer *w) {
    if (!w) return;
    fc_h5_quiet q = fc_h5_quiet_begin();
    close_handles(w);
    if (w->file >= 0) H5Fclose(w->file);
    fc_h5_quiet_end(q);
    if (w->tmp) unlink(w->tmp);
    free_writer(w);
}

int fc_h5feat_write_views(fc_h5feat_writer *w, const char *spec, uint64_t seed, int k, size_t m,
                          fc_h5feat_view_fn next, void *ctx, fc_status *st) {
    int rc = flush_block(w, st); /* the images first: /view_of refers to their rows */
    if (rc || m == 0) return rc;
    fc_h5feat_opts o = {.float16 = w->float16, .zstd = w->zstd, .level = w->level};
    size_t row = w->dim * (w->float16 ? 2 : 4);
    hsize_t crows = row >= CHUNK_TARGET ? 1 : CHUNK_TARGET / row;
    hsize_t vd[4] = {0, (hsize_t)w->h, (hsize_t)w->w, (hsize_t)w->c};
    hsize_t vc[4] = {crows, (hsize_t)w->h, (hsize_t)w->w, (hsize_t)w->c};
    hsize_t sd[1] = {0}, sc[1] = {STR_CHUNK};
    int64_t *of = fc_malloc(w->block * sizeof *of, st);
    int32_t *ix = fc_malloc(w->block * sizeof *ix, st);
    if (!of || !ix) {
        free(of), free(ix);
        return st->code;
    }
    fc_h5_quiet q = fc_h5_quiet_begin();
    hid_t dv = make_dset(w->file, "views", w->feat_t, 4, vd, vc, &o, 1);
    hid_t dof = make_dset(w->file, "view_of", H5T_STD_I64LE, 1, sd, sc, &o, 0);
    hid_t dix = make_dset(w->file, "view_index", H5T_STD_I32LE, 1, sd, sc, &o, 0);
    fc_h5_quiet_end(q);
    if (dv < 0 || dof < 0 || dix < 0) rc = fc_fail(st, FC_ERR_IO, "%s: cannot create /views", w->path);
    if (!rc && ((rc = attr_str(w->file, "augment_spec", spec, st)) ||
                (rc = attr_int(w->file, "augment_seed", (int64_t)seed, st)) ||
                (rc = attr_int(w->file, "augment_views", k, st))))
        fc_wrap(st, "%s", w->path);
    for (size_t i0 = 0; i0 < m && !rc; i0 += w->block) {
        size_t nb = m - i0 < w->block ? m - i0 : w->block;
        for (size_t j = 0; j < nb && !rc; j++)
            rc = next(ctx, i0 + j, &of[j], &ix[j], w->xbuf + j * w->dim, st);
        if (rc) break;
        const void *feat = w->xbuf;
        hid_t ft = H5T_NATIVE_FLOAT;
        if (w->float16) {
            fc_f32_to_f16_array(w->xbuf, w->hbuf, nb * w->dim);
            feat = w->hbuf, ft = w->feat_t;
        }
        q = fc_h5_quiet_begin();
        errno = 0;
        int bad = append_rows(dv, 4, i0, i0 + nb, ft, feat) || append_rows(dof, 1, i0, i0 + nb, H5T_NATIVE_INT64, of) ||
                  append_rows(dix, 1, i0, i0 + nb, H5T_NATIVE_INT32, ix);
        int err = errno;
        fc_h5_quiet_end(q);
        char why[160];
        if (bad)
            rc = fc_fail(st, FC_ERR_IO, "%s: cannot write views %zu..%zu (%s)", w->path, i0, i0 + nb - 1,
                         fc_write_reason(err, 1, why, sizeof why) ? why : "disk full?");
    }
    q = fc_h5_quiet_begin();
    if (dv >= 0) H5Dclose(dv);
    if (dof >= 0) H5Dclose(dof);
    if (dix >= 0) H5Dclose(dix);
    fc_h5_quiet_end(q);
    free(of), free(ix);
    return rc;
}
