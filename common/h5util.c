/* h5util.c - HDF5 helpers: open, string attributes (fixed and variable length), checked
 * float dataset reads. */
#define _GNU_SOURCE
#include "h5util.h"
#include "h5guard.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* Largest string attribute we accept (a model_config of a big network is ~1 MB). */
#define FC_H5_MAX_STR ((size_t)256 << 20)
#define FC_H5_MAX_STRINGS 1000000

/* No HDF5 atexit teardown: when a write fails (disk full, file size limit) H5Fclose fails
 * and leaves the file id open, and HDF5 1.10's exit-time close of that id crashes
 * (SIGSEGV in H5F__close_cb) after featcache already reported the error. Every file we
 * write is closed explicitly (temp file + rename), so skipping the teardown loses nothing.
 * Must run before any other HDF5 call, hence a constructor. */
__attribute__((constructor)) static void fc_h5_no_atexit(void) { H5dont_atexit(); }

void fc_h5_quiet_all(void) { H5Eset_auto2(H5E_DEFAULT, NULL, NULL); }

int fc_h5_open(const char *path, hid_t *fid, fc_status *st) {
    fc_h5_quiet_all();
    *fid = H5I_INVALID_HID;
    struct stat sb;
    if (stat(path, &sb) != 0)
        return fc_fail(st, FC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(sb.st_mode)) return fc_fail(st, FC_ERR_IO, "%s: not a regular file", path);
    /* the whole metadata of an untrusted file, in a child first (libhdf5 can hang) */
    if (fc_h5_preflight(path, fc_h5_walk, st)) return st->code;
    htri_t is = H5Fis_hdf5(path);
    if (is < 0) return fc_fail(st, FC_ERR_IO, "%s: cannot read file", path);
    if (is == 0) {
        const char *kind = fc_file_kind(path);
        return fc_fail(st, FC_ERR_FORMAT, "%s: not an HDF5 file%s%s", path, kind ? " but " : "", kind ? kind : "");
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0)
        return fc_fail(st, FC_ERR_FORMAT, "%s: damaged or truncated HDF5 file (cannot open)", path);
    *fid = f;
    return 0;
}

int fc_h5_has_attr(hid_t loc, const char *attr) { return H5Aexists(loc, attr) > 0; }

void fc_h5_strings_free(char **s, int n) {
    if (!s) return;
    for (int i = 0; i < n; i++) free(s[i]);
    free(s);
}

/* Copies the n strings of an opened string attribute into out[]. */
static int read_str_attr(hid_t a, hid_t t, size_t n, char **out, const char *attr,
                         fc_status *st) {
    int rc = 0;
    if (H5Tis_variable_str(t) > 0) {
        char **buf = calloc(n ? n : 1, sizeof *buf);
        hid_t mem = H5Tcopy(H5T_C_S1);
        hid_t sp = H5Aget_space(a);
        if (!buf || mem < 0 || sp < 0 || H5Tset_size(mem, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mem, H5Tget_cset(t)) < 0 || H5Aread(a, mem, buf) < 0) {
            rc = fc_fail(st, FC_ERR_FORMAT, "cannot read string attribute '%s'", attr);
        } else {
            for (size_t i = 0; i < n && !rc; i++) {
                out[i] = strdup(buf[i] ? buf[i] : "");
                if (!out[i]) rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
            }
            H5Dvlen_reclaim(mem, sp, H5P_DEFAULT, buf);
        }
        if (sp >= 0) H5Sclose(sp);
        if (mem >= 0) H5Tclose(mem);
        free(buf);
        return rc;
    }
    size_t sz = H5Tget_size(t), total;
    if (sz == 0 || fc_size_mul(sz, n, &total) || total > FC_H5_MAX_STR)
        return fc_fail(st, FC_ERR_FORMAT, "string attribute '%s' has an invalid size", attr);
    char *buf = calloc(total + 1, 1);
    if (!buf) return fc_fail(st, FC_ERR_NOMEM, "out of memory");
    if (H5Aread(a, t, buf) < 0) {
        free(buf);
        return fc_fail(st, FC_ERR_FORMAT, "cannot read string attribute '%s'", attr);
    }
    for (size_t i = 0; i < n && !rc; i++) {
        out[i] = strndup(buf + i * sz, sz);
        if (!out[i]) rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
    }
    free(buf);
    return rc;
}

/* Opens attribute `attr` and returns its element count and type. */
static int open_attr(hid_t loc, const char *attr, hid_t *a, hid_t *t, size_t *n, fc_status *st) {
    *a = *t = H5I_INVALID_HID;
    if (H5Aexists(loc, attr) <= 0)
        return fc_fail(st, FC_ERR_FORMAT, "missing attribute '%s'", attr);
    *a = H5Aopen(loc, attr, H5P_DEFAULT);
    if (*a < 0) return fc_fail(st, FC_ERR_FORMAT, "cannot open attribute '%s'", attr);
    *t = H5Aget_type(*a);
    hid_t sp = H5Aget_space(*a);
    hssize_t np = sp >= 0 ? H5Sget_simple_extent_npoints(sp) : -1;
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    if (sp >= 0) H5Sclose(sp);
    if (*t < 0 || np < 0 || nd < 0 || nd > 1 || np > FC_H5_MAX_STRINGS)
        return fc_fail(st, FC_ERR_FORMAT, "attribute '%s' has an unexpected shape", attr);
    *n = (size_t)np;
    return 0;
}

int fc_h5_attr_strings(hid_t loc, const char *attr, char ***out, int *n, fc_status *st) {
    *out = NULL;
    *n = 0;
    hid_t a, t;
    size_t cnt = 0;
    char **s = NULL;
    int rc = open_attr(loc, attr, &a, &t, &cnt, st);
    if (rc) goto out;
    if (cnt == 0) { /* Keras writes np.asarray([]) (float64) for "no weights" */
        *out = calloc(1, sizeof **out);
        if (!*out) rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
        goto out;
    }
    if (H5Tget_class(t) != H5T_STRING) {
        rc = fc_fail(st, FC_ERR_FORMAT, "attribute '%s' is not a string array", attr);
        goto out;
    }
    s = calloc(cnt ? cnt : 1, sizeof *s);
    if (!s) {
        rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
        goto out;
    }
    rc = read_str_attr(a, t, cnt, s, attr, st);
    if (rc) {
        fc_h5_strings_free(s, (int)cnt);
        s = NULL;
        goto out;
    }
    *out = s;
    *n = (int)cnt;
out:
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return rc;
}

int fc_h5_attr_string(hid_t loc, const char *attr, char **out, fc_status *st) {
    *out = NULL;
    hid_t a, t;
    size_t cnt = 0;
    int rc = open_attr(loc, attr, &a, &t, &cnt, st);
    if (rc) goto out;
    H5T_class_t cls = H5Tget_class(t);
    if (cls == H5T_STRING) {
        if (cnt != 1) {
            rc = fc_fail(st, FC_ERR_FORMAT, "attribute '%s' is not a single string", attr);
            goto out;
        }
        rc = read_str_attr(a, t, 1, out, attr, st);
    } else if (cls == H5T_INTEGER && H5Tget_size(t) == 1) {
        if (cnt > FC_H5_MAX_STR) {
            rc = fc_fail(st, FC_ERR_FORMAT, "attribute '%s' is too large", attr);
            goto out;
        }
        char *buf = calloc(cnt + 1, 1);
        if (!buf) {
            rc = fc_fail(st, FC_ERR_NOMEM, "out of memory");
        } else if (H5Aread(a, H5T_NATIVE_UCHAR, buf) < 0) {
            free(buf);
            rc = fc_fail(st, FC_ERR_FORMAT, "cannot read attribute '%s'", attr);
        } else {
            *out = buf;
        }
    } else {
        rc = fc_fail(st, FC_ERR_FORMAT, "attribute '%s' is not a string", attr);
    }
out:
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return rc;
}

int fc_h5_dims(hid_t loc, const char *path, int64_t dims[8], int *rank, fc_status *st) {
    int rc = 0;
    hid_t d = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    if (H5Lexists(loc, path, H5P_DEFAULT) <= 0) return fc_fail(st, FC_ERR_FORMAT, "missing dataset '%s'", path);
    d = H5Dopen2(loc, path, H5P_DEFAULT);
    if (d < 0) return fc_fail(st, FC_ERR_FORMAT, "cannot open dataset '%s'", path);
    sp = H5Dget_space(d);
    int nd = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1;
    hsize_t hd[8];
    if (nd < 0 || nd > 8 || H5Sget_simple_extent_dims(sp, hd, NULL) < 0) {
        rc = fc_fail(st, FC_ERR_FORMAT, "dataset '%s' has an unsupported shape", path);
        goto out;
    }
    for (int i = 0; i < nd; i++) {
        if (hd[i] > (hsize_t)INT64_MAX) {
            rc = fc_fail(st, FC_ERR_FORMAT, "dataset '%s' has a huge dimension", path);
            goto out;
        }
        dims[i] = (int64_t)hd[i];
    }
    *rank = nd;
out:
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    return rc;
}

int fc_h5_check_extent(hid_t d, size_t nbytes_mem, const char *path, fc_status *st) {
    int prc = fc_h5_check_pipeline(d, path, st);
    if (prc) return prc;
    hid_t pl = H5Dget_create_plist(d);
    H5D_layout_t layout = pl >= 0 ? H5Pget_layout(pl) : H5D_LAYOUT_ERROR;
    if (pl >= 0) H5Pclose(pl);
    if (layout == H5D_COMPACT) return 0; /* at most 64 KiB, inside the object header */
    if (layout != H5D_CONTIGUOUS) {
        /* chunked (maybe compressed): refuse shapes far beyond what is stored, e.g. a
         * forged huge dataset whose chunks were never written */
        hsize_t stored = H5Dget_storage_size(d);
        if (nbytes_mem > ((size_t)64 << 20) && (hsize_t)nbytes_mem / 1024 > stored)
            return fc_fail(st, FC_ERR_FORMAT, "dataset '%s' declares %zu bytes but stores only %llu (damaged?)", path, nbytes_mem, (unsigned long long)stored);
        return 0;
    }
    haddr_t off = H5Dget_offset(d);
    hsize_t ss = H5Dget_storage_size(d);
    hid_t f = H5Iget_file_id(d);
    hsize_t fsz = 0;
    int ok = f >= 0 && H5Fget_filesize(f, &fsz) >= 0;
    if (f >= 0) H5Fclose(f);
    if (!ok) return 0;
    if (off == HADDR_UNDEF) {
        if (nbytes_mem == 0) return 0;
        return fc_fail(st, FC_ERR_FORMAT, "dataset '%s' has no stored data", path);
    }
    if ((hsize_t)off > fsz || ss > fsz - (hsize_t)off)
        return fc_fail(st, FC_ERR_FORMAT, "dataset '%s' extends past the end of the file (truncated?)", path);
    return 0;
}

int fc_h5_read_floats(hid_t loc, const char *path, int rank, const int64_t *expect,
                      int64_t *dims, float **out, size_t *count, fc_status *st) {
    *out = NULL;
    *count = 0;
    int64_t got[8];
    int nd = 0;
    int rc = fc_h5_dims(loc, path, got, &nd, st);
    if (rc) return rc;
    char gs[160], es[160];
    fc_fmt_dims(gs, sizeof gs, got, nd);
    int bad = nd != rank;
    for (int i = 0; i < rank && !bad; i++) bad = expect && expect[i] >= 0 && got[i] != expect[i];
    if (bad) {
        fc_fmt_dims(es, sizeof es, expect, rank);
        return fc_fail(st, FC_ERR_MISMATCH, "weight '%s' has shape %s, expected %s", path, gs, es);
    }
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        if (fc_size_mul(n, (size_t)got[i], &n) || n > FC_MAX_TENSOR_ELEMS)
            return fc_fail(st, FC_ERR_NOMEM, "weight '%s' declares a huge shape %s", path, gs);
    hid_t d = fc_h5_dopen(loc, path);
    if (d < 0) return fc_fail(st, FC_ERR_FORMAT, "cannot open dataset '%s'", path);
    hid_t t = H5Dget_type(d);
    float *buf = NULL;
    if (t < 0 || H5Tget_class(t) != H5T_FLOAT) {
        rc = fc_fail(st, FC_ERR_FORMAT, "weight '%s' is not a float dataset", path);
        goto out;
    }
    if ((rc = fc_h5_check_extent(d, n * sizeof(float), path, st))) goto out;
    buf = fc_aligned_alloc(n * sizeof(float), st);
    if (!buf) {
        rc = FC_ERR_NOMEM;
        goto out;
    }
    if (n && fc_h5_dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, buf) < 0) {
        rc = fc_fail(st, FC_ERR_FORMAT, "cannot read weight '%s' (damaged or truncated file?)", path);
        goto out;
    }
    if (dims) memcpy(dims, got, (size_t)nd * sizeof *dims);
    *out = buf;
    *count = n;
    buf = NULL;
out:
    free(buf);
    if (t >= 0) H5Tclose(t);
    H5Dclose(d);
    return rc;
}

void fc_fmt_dims(char *buf, size_t cap, const int64_t *d, int rank) {
    size_t o = (size_t)snprintf(buf, cap, "(");
    for (int i = 0; i < rank && o < cap; i++) {
        if (d[i] < 0) o += (size_t)snprintf(buf + o, cap - o, "%s?", i ? ", " : "");
        else o += (size_t)snprintf(buf + o, cap - o, "%s%lld", i ? ", " : "", (long long)d[i]);
    }
    if (o < cap) snprintf(buf + o, cap - o, "%s)", rank == 1 ? "," : "");
}
