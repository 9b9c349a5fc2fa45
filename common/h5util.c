/* h5util.c - HDF5 helpers: open, string attributes (fixed and variable length), checked
 * float dataset reads. */
#define _GNU_SOURCE
#include "h5util.h"
#include "h5guard.h"

#include <errno.h>
#include <zlib.h>
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

/* ---- filtered chunks (see h5util.h) ---- */

#define FILTER_ZSTD 32015
#define CHUNK_MAX ((size_t)1 << 30)

static __thread size_t g_chunk_expect;

size_t fc_h5_chunk_expect(void) { return g_chunk_expect; }

/* The decoded size of one gzip (zlib) stream, counted through a small window; stops
 * counting past `limit`. -1: not a complete zlib stream. */
static long long inflated_size(const unsigned char *in, size_t n, size_t limit) {
    static __thread unsigned char win[65536];
    z_stream z;
    memset(&z, 0, sizeof z);
    if (n > UINT32_MAX || inflateInit(&z) != Z_OK) return -1;
    z.next_in = (unsigned char *)in;
    z.avail_in = (uInt)n;
    int r;
    do {
        z.next_out = win;
        z.avail_out = sizeof win;
        r = inflate(&z, Z_NO_FLUSH);
    } while (r == Z_OK && z.total_out <= limit);
    long long got = (long long)z.total_out;
    inflateEnd(&z);
    return r == Z_STREAM_END ? got : -1;
}

/* Before HDF5 decodes them: every gzip chunk of d must decode to exactly `bytes` (zstd chunks are checked by featcache's own filter, which
 * reads the size from the frame). The pipeline is one fc_h5_check_pipeline accepted.
 * 0 ok, -1 a bad chunk or an error. */
static int check_gzip_chunks(hid_t d, hid_t pl, size_t bytes) {
    int gz = -1, fl = -1, nf = H5Pget_nfilters(pl);
    for (int i = 0; i < nf; i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        H5Z_filter_t id = H5Pget_filter2(pl, (unsigned)i, &flags, &ncd, cd, 0, NULL, NULL);
        if (id == H5Z_FILTER_DEFLATE) gz = i;
        if (id == H5Z_FILTER_FLETCHER32) fl = i;
    }
    if (gz < 0) return 0;
    hsize_t cdim[32], lo[32], hi[32], dims[32], off[32];
    int r = H5Pget_chunk(pl, 32, cdim);
    hid_t sp = H5Dget_space(d);
    int rank = sp >= 0 ? H5Sget_simple_extent_ndims(sp) : -1, ok = 0;
    if (rank == r && rank > 0 && rank <= 32 && H5Sget_simple_extent_dims(sp, dims, NULL) == rank) {
        ok = 1;
        for (int i = 0; i < rank; i++) lo[i] = 0, hi[i] = dims[i] ? dims[i] - 1 : 0, ok &= dims[i] > 0;
        if (!ok) ok = 2; /* an empty dataset: nothing to read */
    }
    if (sp >= 0) H5Sclose(sp);
    if (ok != 1) return ok == 2 ? 0 : -1;
    for (int i = 0; i < rank; i++) {
        if (!cdim[i]) return -1;
        lo[i] = lo[i] / cdim[i] * cdim[i], off[i] = lo[i];
    }
    unsigned char *buf = NULL;
    size_t cap = 0;
    int rc = 0;
    for (;;) { /* every chunk origin from lo to hi, the last axis fastest */
        hsize_t stored = 0;
        uint32_t mask = 0;
        if (H5Dget_chunk_storage_size(d, off, &stored) >= 0 && stored > 0) { /* else never written: fill value */
            if (stored > ((hsize_t)1 << 31)) {
                rc = -1;
                break;
            }
            if (stored > cap) {
                unsigned char *nb = realloc(buf, (size_t)stored);
                if (!nb) {
                    rc = -1;
                    break;
                }
                buf = nb, cap = (size_t)stored;
            }
            if (H5Dread_chunk(d, H5P_DEFAULT, off, &mask, buf) < 0) {
                rc = -1;
                break;
            }
            size_t n = (size_t)stored;
            if (fl >= 0 && !(mask & (1u << fl))) { /* the checksum comes off first */
                if (n < 4) {
                    rc = -1;
                    break;
                }
                n -= 4;
            }
            long long got = mask & (1u << gz) ? (long long)n : inflated_size(buf, n, bytes);
            if (got != (long long)bytes) {
                rc = -1;
                break;
            }
        }
        int k = rank - 1;
        while (k >= 0 && off[k] + cdim[k] > hi[k]) off[k] = lo[k], k--;
        if (k < 0) break;
        off[k] += cdim[k];
    }
    free(buf);
    return rc;
}

/* The bytes one chunk of d holds once decoded (0: not chunked, not filtered, or unknown). */
static size_t chunk_bytes(hid_t d) {
    hid_t pl = H5Dget_create_plist(d), t = -1;
    size_t bytes = 0;
    hsize_t dims[32];
    int nd;
    if (pl < 0) return 0;
    if (H5Pget_layout(pl) == H5D_CHUNKED && H5Pget_nfilters(pl) > 0 && (nd = H5Pget_chunk(pl, 32, dims)) > 0 &&
        nd <= 32 && (t = H5Dget_type(d)) >= 0) {
        size_t el = H5Tget_size(t);
        if (H5Tget_class(t) == H5T_VLEN || H5Tis_variable_str(t) > 0) { /* on disk: length + heap id */
            hid_t f = H5Iget_file_id(d), fcpl = f >= 0 ? H5Fget_create_plist(f) : -1;
            size_t sa = 8, ss = 8;
            if (fcpl >= 0) H5Pget_sizes(fcpl, &sa, &ss), H5Pclose(fcpl);
            if (f >= 0) H5Fclose(f);
            el = 4 + sa + 4;
        }
        bytes = el;
        for (int i = 0; i < nd && bytes; i++) bytes = dims[i] && bytes <= CHUNK_MAX / dims[i] ? bytes * dims[i] : 0;
    }
    if (t >= 0) H5Tclose(t);
    H5Pclose(pl);
    return bytes;
}

int fc_h5_check_pipeline(hid_t d, const char *path, fc_status *st) {
    hid_t pl = H5Dget_create_plist(d);
    if (pl < 0) return fc_fail(st, FC_ERR_FORMAT, "dataset '%s': no creation properties", path);
    int nf = H5Pget_layout(pl) == H5D_CHUNKED ? H5Pget_nfilters(pl) : 0, comp = -1, shuf = -1, fl = -1, ok = 1;
    char list[256] = "";
    for (int i = 0; i < nf; i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        char name[64] = "";
        H5Z_filter_t id = H5Pget_filter2(pl, (unsigned)i, &flags, &ncd, cd, sizeof name, name, NULL);
        size_t l = strlen(list);
        snprintf(list + l, sizeof list - l, "%s%d%s%s%s", i ? ", " : "", (int)id, name[0] ? " (" : "", name,
                 name[0] ? ")" : "");
        if (id == H5Z_FILTER_DEFLATE || id == FILTER_ZSTD) ok &= comp < 0, comp = i;
        else if (id == H5Z_FILTER_SHUFFLE) ok &= shuf < 0, shuf = i;
        else if (id == H5Z_FILTER_FLETCHER32) ok &= fl < 0, fl = i;
        else ok = 0;
    }
    H5Pclose(pl);
    /* the decompressor's output must be the chunk itself: shuffle (same size) before it,
     * the fletcher32 checksum (stripped first when reading) after it */
    if (nf > 0 && (!ok || comp < 0 || (shuf >= 0 && shuf > comp) || (fl >= 0 && fl < comp)))
        return fc_fail(st, FC_ERR_UNSUPPORTED, "dataset '%s' uses the HDF5 filters %s: featcache reads gzip or zstd "
                       "(32015) compression, optionally with shuffle before it and fletcher32 after it (write the "
                       "file with h5py's compression=\"gzip\")", path, list);
    return 0;
}

/* The pipeline check, then every gzip chunk checked; the chunk size. */
static int check_read(hid_t d, size_t *bytes) {
    fc_status ign = {0};
    if (fc_h5_check_pipeline(d, "", &ign)) return -1;
    *bytes = chunk_bytes(d);
    if (*bytes) {
        hid_t pl = H5Dget_create_plist(d);
        int bad = pl < 0 || check_gzip_chunks(d, pl, *bytes) != 0;
        if (pl >= 0) H5Pclose(pl);
        if (bad) return -1;
    }
    return 0;
}

static herr_t read_expecting(hid_t d, size_t bytes, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf) {
    g_chunk_expect = bytes;
    herr_t r = H5Dread(d, mem_type, mem_space, file_space, H5P_DEFAULT, buf);
    g_chunk_expect = 0;
    return r;
}

herr_t fc_h5_dread(hid_t d, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf) {
    size_t bytes;
    if (check_read(d, &bytes)) return -1;
    return read_expecting(d, bytes, mem_type, mem_space, file_space, buf);
}

int fc_h5_check_chunks(hid_t d) {
    size_t bytes;
    return check_read(d, &bytes);
}

herr_t fc_h5_dread_checked(hid_t d, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf) {
    return read_expecting(d, chunk_bytes(d), mem_type, mem_space, file_space, buf);
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
    hid_t d = H5Dopen2(loc, path, H5P_DEFAULT);
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
