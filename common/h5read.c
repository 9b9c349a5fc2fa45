/* h5read.c - reading a dataset of an untrusted HDF5 file without libhdf5 reading past a
 * buffer (h5util.h, "Reading chunked datasets safely").
 *
 * libhdf5 1.10.8 reads a stored chunk (its size from the chunk index), runs the filters its
 * filter mask does not skip, and then copies the chunk's full size out of the result: a
 * chunk that is stored or decodes shorter is read past the end of its buffer. That holds
 * for every chunked dataset, filtered or not, and for the sources of a virtual dataset. So
 * before any read: the layout must keep the data in this file (no virtual dataset, no
 * external storage), the filters must be ones featcache sizes (gzip or zstd, shuffle
 * before, fletcher32 after), and every stored chunk must come out of what libhdf5 will do
 * with it at exactly the chunk's size: its stored size when no filter runs on it (an
 * unfiltered partial edge chunk) or only ones that keep the size (shuffle, a skipped
 * compression), else its bytes after fletcher32, inflated or zstd-decoded once more to
 * count. A dataset without filters has no chunk sizes to check cheaply (its index sizes
 * only come from H5Dget_chunk_info_by_coord, which walks the whole index per call): it is
 * opened without a chunk cache (fc_h5_dopen), so that libhdf5 reads the selected elements
 * straight from the file: a short chunk then reads the file's next bytes, never memory. */
#include "h5util.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <zstd.h>

#define FILTER_ZSTD 32015
/* A chunk's decoded bytes: featcache and h5py write chunks of at most ~1 MiB; libhdf5
 * allows 4 GiB. Larger chunks are refused, not scanned. */
#define CHUNK_MAX ((size_t)1 << 30)

static __thread size_t g_chunk_expect;

size_t fc_h5_chunk_expect(void) { return g_chunk_expect; }

int fc_h5_check_pipeline(hid_t d, const char *path, fc_status *st) {
    hid_t pl = H5Dget_create_plist(d);
    if (pl < 0) return fc_fail(st, FC_ERR_FORMAT, "dataset '%s': no creation properties", path);
    H5D_layout_t layout = H5Pget_layout(pl);
    int next = H5Pget_external_count(pl);
    if (layout != H5D_CONTIGUOUS && layout != H5D_COMPACT && layout != H5D_CHUNKED) {
        H5Pclose(pl);
        return fc_fail(st, FC_ERR_UNSUPPORTED, "dataset '%s' is %s: featcache reads only data stored in the file "
                       "itself (contiguous, compact or chunked)", path,
                       layout == H5D_VIRTUAL ? "a virtual dataset (its data read from other datasets or files)"
                                             : "of an unknown layout");
    }
    if (next != 0) {
        char name[256] = "?";
        off_t off;
        hsize_t size;
        if (next > 0) H5Pget_external(pl, 0, sizeof name, name, &off, &size);
        H5Pclose(pl);
        return fc_fail(st, FC_ERR_UNSUPPORTED, "dataset '%s' keeps its data in an external file ('%s'): featcache "
                       "reads only data stored in the file itself", path, name);
    }
    int nf = layout == H5D_CHUNKED ? H5Pget_nfilters(pl) : 0, comp = -1, shuf = -1, fl = -1, ok = 1;
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
    if (nf < 0 || (nf > 0 && (!ok || comp < 0 || (shuf >= 0 && shuf > comp) || (fl >= 0 && fl < comp))))
        return fc_fail(st, FC_ERR_UNSUPPORTED, "dataset '%s' uses the HDF5 filters %s: featcache reads gzip or zstd "
                       "(32015) compression, optionally with shuffle before it and fletcher32 after it (write the "
                       "file with h5py's compression=\"gzip\")", path, list);
    return 0;
}

/* ---- links ---- */

#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t link_info;
#define get_link_info H5Lget_info2
#else
typedef H5L_info_t link_info;
#define get_link_info H5Lget_info
#endif

int fc_h5_link_local(hid_t g, const char *name, int type, fc_status *st) {
    if (type == H5L_TYPE_HARD || type == H5L_TYPE_SOFT) return 0;
    if (type != H5L_TYPE_EXTERNAL)
        return fc_fail(st, FC_ERR_UNSUPPORTED, "'/%s' is a user-defined link (type %d): featcache reads only data "
                       "stored in the file itself", name, type);
    /* the target, for the message: a flags byte, the file name and the object's path (each
     * NUL-terminated in a valid link; two zero bytes after the value bound a damaged one) */
    link_info li;
    const char *file = "?", *obj = "?";
    char *val = NULL;
    unsigned fl;
    if (get_link_info(g, name, &li, H5P_DEFAULT) >= 0 && li.u.val_size > 0 && li.u.val_size < 65536 &&
        (val = calloc(li.u.val_size + 2, 1)) && H5Lget_val(g, name, val, li.u.val_size, H5P_DEFAULT) >= 0 &&
        H5Lunpack_elink_val(val, li.u.val_size, &fl, &file, &obj) < 0)
        file = obj = "?";
    fc_fail(st, FC_ERR_UNSUPPORTED, "'/%s' is an external link to '%.300s' in another file ('%.300s'): featcache "
            "reads only data stored in the file itself", name, obj, file);
    free(val);
    return st->code;
}

static herr_t on_link(hid_t g, const char *name, const link_info *li, void *op) {
    return fc_h5_link_local(g, name, (int)li->type, op) ? -1 : 0;
}

int fc_h5_check_links(hid_t file, fc_status *st) {
    st->code = FC_OK;
    herr_t r = H5Lvisit(file, H5_INDEX_NAME, H5_ITER_NATIVE, on_link, st);
    if (st->code) return st->code;
    return r < 0 ? fc_fail(st, FC_ERR_FORMAT, "damaged or truncated HDF5 file: cannot list its links") : 0;
}

/* ---- the chunk scan ---- */

/* A chunked dataset as the scan walks it. */
typedef struct {
    int rank, nf, gz, zs, fl; /* filters; indexes of deflate, zstd, fletcher32 (-1: none) */
    int partial_raw;          /* H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS: edge chunks unfiltered */
    hsize_t cdim[32], dims[32];
    hsize_t fsize;            /* the file's size: no stored chunk is larger */
    size_t bytes;             /* one chunk, decoded */
} chunk_walk;

/* The bytes one chunk of d holds decoded: 0 when d is not chunked (or not known to be), -1
 * (as SIZE_MAX) when it is chunked but the size is unknown or above CHUNK_MAX. */
static size_t chunk_bytes(hid_t d) {
    hid_t pl = H5Dget_create_plist(d), t = -1;
    if (pl < 0) return 0;
    size_t bytes = 0;
    hsize_t dims[32];
    int nd;
    if (H5Pget_layout(pl) == H5D_CHUNKED) {
        bytes = SIZE_MAX;
        if ((nd = H5Pget_chunk(pl, 32, dims)) > 0 && nd <= 32 && (t = H5Dget_type(d)) >= 0) {
            size_t el = H5Tget_size(t);
            if (H5Tget_class(t) == H5T_VLEN || H5Tis_variable_str(t) > 0) { /* on disk: length + heap id */
                hid_t f = H5Iget_file_id(d), fcpl = f >= 0 ? H5Fget_create_plist(f) : -1;
                size_t sa = 8, ss = 8;
                if (fcpl >= 0) H5Pget_sizes(fcpl, &sa, &ss), H5Pclose(fcpl);
                if (f >= 0) H5Fclose(f);
                el = 4 + sa + 4;
            }
            bytes = el;
            for (int i = 0; i < nd && bytes != SIZE_MAX; i++)
                bytes = dims[i] && bytes && bytes <= CHUNK_MAX / dims[i] ? bytes * dims[i] : SIZE_MAX;
        }
    }
    if (t >= 0) H5Tclose(t);
    H5Pclose(pl);
    return bytes;
}

/* Fills w for d. 1: chunks to scan, 0: nothing to scan (not chunked, empty, or unfiltered
 * and opened by fc_h5_dopen), -1: refused (an unfiltered chunked dataset opened with a chunk
 * cache: libhdf5 would copy its chunks out of buffers of their stored sizes, which only
 * H5Dget_chunk_info_by_coord tells, walking the whole chunk index per call). */
static int walk_init(hid_t d, chunk_walk *w) {
    memset(w, 0, sizeof *w);
    w->gz = w->zs = w->fl = -1;
    size_t bytes = chunk_bytes(d);
    if (bytes == 0) return 0;
    if (bytes == SIZE_MAX) return -1;
    w->bytes = bytes;
    hid_t pl = H5Dget_create_plist(d), sp = H5Dget_space(d), f = H5Iget_file_id(d);
    int nf = w->nf = pl >= 0 ? H5Pget_nfilters(pl) : -1, rc = pl >= 0 && sp >= 0 && f >= 0 && nf >= 0 ? 1 : -1;
    unsigned opts = 0;
    if (rc > 0 && (H5Pget_chunk_opts(pl, &opts) < 0 || H5Fget_filesize(f, &w->fsize) < 0)) rc = -1;
    w->partial_raw = (opts & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) != 0;
    for (int i = 0; rc > 0 && i < nf; i++) {
        unsigned flags, cd[8];
        size_t ncd = 8;
        H5Z_filter_t id = H5Pget_filter2(pl, (unsigned)i, &flags, &ncd, cd, 0, NULL, NULL);
        if (id == H5Z_FILTER_DEFLATE) w->gz = i;
        else if (id == FILTER_ZSTD) w->zs = i;
        else if (id == H5Z_FILTER_FLETCHER32) w->fl = i;
    }
    if (rc > 0) {
        w->rank = H5Sget_simple_extent_ndims(sp);
        if (w->rank < 1 || w->rank > 32 || H5Pget_chunk(pl, 32, w->cdim) != w->rank ||
            H5Sget_simple_extent_dims(sp, w->dims, NULL) != w->rank)
            rc = -1;
        for (int i = 0; rc > 0 && i < w->rank; i++)
            if (!w->cdim[i]) rc = -1;
            else if (!w->dims[i]) rc = 0; /* an empty dataset: nothing to read */
    }
    if (rc > 0 && nf == 0) { /* no sizes to check: the handle must read the chunks in place */
        hid_t ap = H5Dget_access_plist(d);
        size_t nslots = 0, nbytes = SIZE_MAX;
        double w0;
        if (ap < 0 || H5Pget_chunk_cache(ap, &nslots, &nbytes, &w0) < 0 || nbytes >= bytes) rc = -1;
        else rc = 0;
        if (ap >= 0) H5Pclose(ap);
    }
    if (f >= 0) H5Fclose(f);
    if (sp >= 0) H5Sclose(sp);
    if (pl >= 0) H5Pclose(pl);
    return rc;
}

/* The decoded size of one zlib stream, counted through a small window; -1: not one
 * complete stream, or more than `limit`. */
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

/* The same for zstd frames (a truncated or corrupt frame: -1). */
static long long zstd_size(const unsigned char *in, size_t n, size_t limit) {
    static __thread unsigned char win[65536];
    ZSTD_DCtx *z = ZSTD_createDCtx();
    if (!z) return -1;
    ZSTD_inBuffer ib = {in, n, 0};
    long long got = 0;
    for (;;) {
        ZSTD_outBuffer ob = {win, sizeof win, 0};
        size_t r = ZSTD_decompressStream(z, &ob, &ib);
        if (ZSTD_isError(r) || (got += (long long)ob.pos) > (long long)limit) {
            got = -1;
            break;
        }
        if (r == 0 && ib.pos == ib.size) break;                   /* every frame complete */
        if (ib.pos == ib.size && ob.pos < ob.size) { /* input used up mid-frame */
            got = -1;
            break;
        }
    }
    ZSTD_freeDCtx(z);
    return got;
}

/* 1 when the chunk at off reaches past the extent (libhdf5 leaves such a chunk unfiltered
 * under H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS). */
static int partial_edge(const chunk_walk *w, const hsize_t *off) {
    for (int i = 0; i < w->rank; i++)
        if (off[i] + w->cdim[i] > w->dims[i]) return 1;
    return 0;
}

/* One stored chunk: 0 when libhdf5 will get exactly w->bytes out of it (or it was never
 * written: the fill value), -1 otherwise with why[] saying what it holds. buf/cap: a reused
 * read buffer. */
static int check_chunk(hid_t d, const chunk_walk *w, const hsize_t *off, unsigned char **buf, size_t *cap,
                       char *why, size_t whycap) {
    hsize_t stored = 0; /* (H5Dget_chunk_info_by_coord would give the filter mask too, but walks
                         * the whole chunk index per call: 250 us a chunk at 20000 chunks) */
    /* never written: no size (libhdf5 1.10.8 fails the call for a chunk the index lacks;
     * H5Dread's lookup of such a chunk finds no address and reads the fill value) */
    if (H5Dget_chunk_storage_size(d, off, &stored) < 0 || stored == 0) return 0;
    const unsigned long long st = (unsigned long long)stored;
    if (stored > w->fsize || stored > ((hsize_t)1 << 31)) {
        snprintf(why, whycap, "stores %llu bytes, more than the file's %llu", st, (unsigned long long)w->fsize);
        return -1;
    }
    if (w->partial_raw && partial_edge(w, off)) { /* no filter runs on it */
        if (stored == w->bytes) return 0;
        snprintf(why, whycap, "is an unfiltered edge chunk of %llu bytes, not the chunk's %zu", st, w->bytes);
        return -1;
    }
    if (stored > *cap) {
        unsigned char *nb = realloc(*buf, (size_t)stored);
        if (!nb) return snprintf(why, whycap, "of %llu bytes: out of memory", st), -1;
        *buf = nb, *cap = (size_t)stored;
    }
    uint32_t mask = 0; /* bit i: filter i was skipped for this chunk */
    if (H5Dread_chunk(d, H5P_DEFAULT, off, &mask, *buf) < 0)
        return snprintf(why, whycap, "of %llu bytes cannot be read", st), -1;
#define RUNS(i) ((i) >= 0 && !(mask & (1u << (i))))
    const int gz = RUNS(w->gz), zs = RUNS(w->zs), fl = RUNS(w->fl);
#undef RUNS
    size_t n = (size_t)stored;
    if (fl) { /* the checksum comes off first */
        if (n < 4) return snprintf(why, whycap, "of %llu bytes is too short for its checksum", st), -1;
        n -= 4;
    }
    long long got = gz ? inflated_size(*buf, n, w->bytes) : zs ? zstd_size(*buf, n, w->bytes) : (long long)n;
    if (got == (long long)w->bytes) return 0;
    const char *how = gz ? "gzip" : zs ? "zstd" : NULL;
    if (!how)
        snprintf(why, whycap, "stores %llu bytes uncompressed (its filter mask skips the compression), not the "
                 "chunk's %zu", st, w->bytes);
    else if (got < 0)
        snprintf(why, whycap, "of %llu bytes is not complete %s data of the chunk's %zu bytes", st, how, w->bytes);
    else snprintf(why, whycap, "of %llu bytes decodes (%s) to %lld bytes, not the chunk's %zu", st, how, got, w->bytes);
    return -1;
}

/* Every chunk origin inside the extent, the last axis fastest. 0 ok, -1 a bad chunk (named
 * in st). */
static int check_chunks(hid_t d, const chunk_walk *w, const char *path, fc_status *st) {
    hsize_t off[32] = {0};
    unsigned char *buf = NULL;
    size_t cap = 0;
    char why[200] = "";
    int rc = 0;
    while (!(rc = check_chunk(d, w, off, &buf, &cap, why, sizeof why))) {
        int k = w->rank - 1;
        while (k >= 0 && off[k] + w->cdim[k] >= w->dims[k]) off[k] = 0, k--;
        if (k < 0) break;
        off[k] += w->cdim[k];
    }
    free(buf);
    if (!rc) return 0;
    char at[200];
    int64_t o[8];
    for (int i = 0; i < w->rank && i < 8; i++) o[i] = (int64_t)off[i];
    fc_fmt_dims(at, sizeof at, o, w->rank < 8 ? w->rank : 8);
    fc_fail(st, FC_ERR_FORMAT, "dataset '%s': the chunk at %s %s: corrupt data (a damaged or hostile file)", path,
            at, why);
    return -1;
}

/* An external link on the way to a dataset: not followed (the readers refuse such files
 * first, fc_h5_check_links; this holds for any path opened here). */
static herr_t no_elink(const char *parent_file, const char *parent_group, const char *child_file,
                       const char *child_object, unsigned *acc_flags, hid_t fapl, void *op) {
    (void)parent_file, (void)parent_group, (void)child_file, (void)child_object, (void)acc_flags, (void)fapl, (void)op;
    return -1;
}

hid_t fc_h5_dopen(hid_t loc, const char *name) {
    hid_t ap = H5Pcreate(H5P_DATASET_ACCESS);
    if (ap < 0 || H5Pset_elink_cb(ap, no_elink, NULL) < 0) {
        if (ap >= 0) H5Pclose(ap);
        return -1;
    }
    hid_t d = H5Dopen2(loc, name, ap), pl = d >= 0 ? H5Dget_create_plist(d) : -1;
    int direct = pl >= 0 && H5Pget_layout(pl) == H5D_CHUNKED && H5Pget_nfilters(pl) == 0;
    if (pl >= 0) H5Pclose(pl);
    if (direct) {
        /* no chunk cache: libhdf5 reads an unfiltered chunk's selected elements from the file
         * (H5D__chunk_cacheable), never a whole chunk out of a buffer of its stored size */
        H5Dclose(d); /* first: a dataset open twice shares the first open's chunk cache */
        d = H5Pset_chunk_cache(ap, 0, 0, H5D_CHUNK_CACHE_W0_DEFAULT) >= 0 ? H5Dopen2(loc, name, ap) : -1;
    }
    H5Pclose(ap);
    return d;
}

int fc_h5_check_chunks(hid_t d, const char *path, fc_status *st) {
    fc_status ign = {0};
    if (!st) st = &ign;
    if (fc_h5_check_pipeline(d, path, st)) return -1;
    chunk_walk w;
    int rc = walk_init(d, &w);
    if (rc < 0)
        return fc_fail(st, FC_ERR_FORMAT, "dataset '%s': chunks of more than 1 GiB (or of a size HDF5 does not "
                       "say) are not read", path), -1;
    return rc == 0 ? 0 : check_chunks(d, &w, path, st);
}

size_t fc_h5_chunk_size(hid_t d) {
    size_t bytes = chunk_bytes(d);
    return bytes == SIZE_MAX ? 0 : bytes;
}

herr_t fc_h5_dread_expect(hid_t d, size_t expect, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf) {
    g_chunk_expect = expect;
    herr_t r = H5Dread(d, mem_type, mem_space, file_space, H5P_DEFAULT, buf);
    g_chunk_expect = 0;
    return r;
}

herr_t fc_h5_dread_checked(hid_t d, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf) {
    return fc_h5_dread_expect(d, fc_h5_chunk_size(d), mem_type, mem_space, file_space, buf);
}

herr_t fc_h5_dread(hid_t d, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf) {
    if (fc_h5_check_chunks(d, "", NULL)) return -1;
    return fc_h5_dread_checked(d, mem_type, mem_space, file_space, buf);
}
