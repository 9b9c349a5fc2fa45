/* test_h5read.c - fc_h5_dread and fc_h5_check_chunks (common/h5util.c) on every dataset
 * layout a file can give: what libhdf5 reads correctly must read (contiguous, compact,
 * chunked with and without filters, edge chunks, unwritten chunks, a chunk stored with its
 * compression skipped), and every dataset libhdf5 1.10.8 would copy a whole chunk out of a
 * shorter buffer for (a heap over-read: garbage values, exit 0) must be refused before
 * H5Dread runs: a short chunk whose filter mask skips zstd, a short unfiltered edge chunk
 * of a filtered dataset, a short gzip or zstd stream, a chunk larger than the check covers,
 * a virtual dataset over such data, and external storage (any local file read as the
 * dataset), and external links (another file read as the dataset: fc_h5_check_links and
 * fc_h5_dopen); a short chunk of an unfiltered dataset is read in place from the file (never
 * past a buffer: make asan) and a dataset without filters opened with a chunk cache is
 * refused. Files are written with the HDF5 C API (H5Dwrite_chunk for raw chunks). */
#include <hdf5.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>
#include <zstd.h>

#include "../../common/h5feat.h"
#include "../../common/h5util.h"
#include "t.h"

enum { R = 5, C = 7 }; /* the dataset: (R, C) float32, chunks of (2, C) */

static char dir[] = "/tmp/fc-h5read.XXXXXX";
static float want[R * C];

static void path_in(char *buf, size_t cap, const char *name) { snprintf(buf, cap, "%s/%s", dir, name); }

static hid_t space(hsize_t rows, int unlimited) {
    hsize_t d[2] = {rows, C}, m[2] = {unlimited ? H5S_UNLIMITED : rows, C};
    return H5Screate_simple(2, d, m);
}

/* Dataset "x" in a new file; dcpl decides the layout. */
static hid_t make(const char *name, hid_t dcpl, int unlimited, hid_t *file) {
    char p[256];
    path_in(p, sizeof p, name);
    *file = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = space(R, unlimited), d = H5Dcreate2(*file, "x", H5T_IEEE_F32LE, sp, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    H5Sclose(sp);
    return d;
}

static hid_t chunked(void) {
    hid_t pl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t ch[2] = {2, C};
    H5Pset_chunk(pl, 2, ch);
    return pl;
}

static void zstd_filter(hid_t pl) {
    unsigned level = 3;
    H5Pset_filter(pl, FC_H5_FILTER_ZSTD, H5Z_FLAG_OPTIONAL, 1, &level);
}

/* Chunk `row0` written raw: the bytes of want[] from that row, cut to `len` bytes, passed
 * through `codec` (0 raw, 'g' zlib, 'z' zstd), stored with filter mask `mask`. */
static void put_chunk(hid_t d, hsize_t row0, size_t len, int codec, uint32_t mask) {
    unsigned char raw[2 * C * 4] = {0}, out[1024];
    size_t n = sizeof raw < len ? sizeof raw : len, avail = R * C * 4 - row0 * C * 4;
    memcpy(raw, want + row0 * C, n < avail ? n : avail);
    size_t m = n;
    const void *src = raw;
    if (codec == 'g') {
        uLongf ol = sizeof out;
        compress(out, &ol, raw, n);
        m = ol, src = out;
    } else if (codec == 'z') {
        m = ZSTD_compress(out, sizeof out, raw, n, 3), src = out;
    }
    hsize_t off[2] = {row0, 0};
    CHECK(H5Dwrite_chunk(d, H5P_DEFAULT, mask, off, m, src) >= 0, "H5Dwrite_chunk row %llu", (unsigned long long)row0);
}

enum { BAD, OK, SAFE };

/* Reads "x" of file `name` (opened by fc_h5_dopen, as featcache's readers do) whole:
 * fc_h5_dread, and fc_h5_check_chunks as the row readers use it. OK: both succeed and the
 * values are want[], rows [r0, r1) zero (never written). BAD: both refuse. SAFE (a short
 * unfiltered chunk, rows [r0, r1)): read from the file in place: those rows hold the file's
 * next bytes, every other row is want[] (and under ASan nothing is read past a buffer). */
static void expect_read(const char *name, int mode, int r0, int r1) {
    char p[256];
    path_in(p, sizeof p, name);
    hid_t f = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT), d = f >= 0 ? fc_h5_dopen(f, "x") : -1;
    CHECK(d >= 0, "%s: open", name);
    if (d < 0) {
        if (f >= 0) H5Fclose(f);
        return;
    }
    float got[R * C];
    memset(got, 0xff, sizeof got);
    herr_t r = fc_h5_dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, got);
    int c = fc_h5_check_chunks(d, "x", NULL);
    if (mode != BAD) {
        CHECK(r >= 0 && c == 0, "%s: a valid dataset refused (dread %d, check %d)", name, (int)r, c);
        int same = 1;
        for (int i = 0; i < R * C; i++)
            if (i / C >= r0 && i / C < r1) same &= mode == SAFE || got[i] == 0.0f;
            else same &= got[i] == want[i];
        CHECK(r < 0 || same, "%s: values differ", name);
    } else {
        CHECK(r < 0, "%s: read (libhdf5 would read past a short chunk)", name);
        CHECK(c != 0, "%s: fc_h5_check_chunks passed it", name);
    }
    H5Dclose(d);
    /* the same dataset opened with a chunk cache: an unfiltered one is refused, since
     * libhdf5 would then copy its chunks out of buffers of their stored sizes */
    d = H5Dopen2(f, "x", H5P_DEFAULT);
    hid_t pl = H5Dget_create_plist(d);
    int unfiltered = H5Pget_layout(pl) == H5D_CHUNKED && H5Pget_nfilters(pl) == 0;
    H5Pclose(pl);
    if (unfiltered) CHECK(fc_h5_check_chunks(d, "x", NULL) != 0, "%s: opened with a chunk cache, passed", name);
    H5Dclose(d);
    H5Fclose(f);
}

static void done(hid_t d, hid_t f, hid_t pl) {
    H5Dclose(d);
    H5Fclose(f);
    if (pl >= 0) H5Pclose(pl);
}

static void test_valid_layouts(void) {
    hid_t f, d, pl;
    d = make("contig.h5", H5P_DEFAULT, 0, &f);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, want);
    done(d, f, -1);
    expect_read("contig.h5", OK, 0, 0);

    pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_layout(pl, H5D_COMPACT);
    d = make("compact.h5", pl, 0, &f);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, want);
    done(d, f, pl);
    expect_read("compact.h5", OK, 0, 0);

    pl = chunked(); /* rows 4..5 an edge chunk */
    d = make("plain.h5", pl, 0, &f);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, want);
    done(d, f, pl);
    expect_read("plain.h5", OK, 0, 0);

    pl = chunked();
    H5Pset_shuffle(pl), H5Pset_deflate(pl, 4), H5Pset_fletcher32(pl);
    d = make("gzip.h5", pl, 0, &f);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, want);
    done(d, f, pl);
    expect_read("gzip.h5", OK, 0, 0);

    pl = chunked();
    H5Pset_shuffle(pl), zstd_filter(pl), H5Pset_fletcher32(pl);
    d = make("zstd.h5", pl, 0, &f);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, want);
    done(d, f, pl);
    expect_read("zstd.h5", OK, 0, 0);

    /* the partial edge chunk stored unfiltered (H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) */
    pl = chunked();
    H5Pset_deflate(pl, 4), H5Pset_chunk_opts(pl, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS);
    d = make("edge.h5", pl, 0, &f);
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, want);
    done(d, f, pl);
    expect_read("edge.h5", OK, 0, 0);

    /* rows 2..3 never written: the fill value */
    pl = chunked();
    H5Pset_deflate(pl, 4);
    d = make("unwritten.h5", pl, 0, &f);
    put_chunk(d, 0, 2 * C * 4, 'g', 0);
    put_chunk(d, 4, 2 * C * 4, 'g', 0);
    done(d, f, pl);
    expect_read("unwritten.h5", OK, 2, 4);

    /* a chunk whose mask says its compression was skipped (stored as is, full size) */
    pl = chunked();
    H5Pset_deflate(pl, 4);
    d = make("skipped.h5", pl, 0, &f);
    put_chunk(d, 0, 2 * C * 4, 'g', 0);
    put_chunk(d, 2, 2 * C * 4, 0, 1);
    put_chunk(d, 4, 2 * C * 4, 'g', 0);
    done(d, f, pl);
    expect_read("skipped.h5", OK, 0, 0);
}

static void test_short_chunks(void) {
    hid_t f, d, pl;
    pl = chunked(); /* no filters: a 16-byte chunk of a 56-byte chunk size, read in place */
    d = make("plain_short.h5", pl, 0, &f);
    put_chunk(d, 0, 2 * C * 4, 0, 0);
    put_chunk(d, 2, 16, 0, 0);
    put_chunk(d, 4, 2 * C * 4, 0, 0);
    done(d, f, pl);
    expect_read("plain_short.h5", SAFE, 2, 4);

    pl = chunked(); /* zstd pipeline, the chunk's mask skips zstd: stored raw, short */
    zstd_filter(pl);
    d = make("zstd_skipped_short.h5", pl, 0, &f);
    put_chunk(d, 0, 2 * C * 4, 'z', 0);
    put_chunk(d, 2, 16, 0, 1);
    put_chunk(d, 4, 2 * C * 4, 'z', 0);
    done(d, f, pl);
    expect_read("zstd_skipped_short.h5", BAD, 0, 0);

    pl = chunked(); /* gzip pipeline, the chunk's mask skips gzip: stored raw, short */
    H5Pset_deflate(pl, 4);
    d = make("gzip_skipped_short.h5", pl, 0, &f);
    put_chunk(d, 0, 2 * C * 4, 'g', 0);
    put_chunk(d, 2, 16, 0, 1);
    put_chunk(d, 4, 2 * C * 4, 'g', 0);
    done(d, f, pl);
    expect_read("gzip_skipped_short.h5", BAD, 0, 0);

    pl = chunked(); /* the unfiltered partial edge chunk short */
    H5Pset_deflate(pl, 4), H5Pset_chunk_opts(pl, H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS);
    d = make("edge_short.h5", pl, 0, &f);
    put_chunk(d, 0, 2 * C * 4, 'g', 0);
    put_chunk(d, 2, 2 * C * 4, 'g', 0);
    put_chunk(d, 4, 8, 0, 0);
    done(d, f, pl);
    expect_read("edge_short.h5", BAD, 0, 0);

    pl = chunked(); /* streams that decode short */
    H5Pset_deflate(pl, 4);
    d = make("gzip_short.h5", pl, 0, &f);
    put_chunk(d, 0, 2 * C * 4, 'g', 0);
    put_chunk(d, 2, 16, 'g', 0);
    put_chunk(d, 4, 2 * C * 4, 'g', 0);
    done(d, f, pl);
    expect_read("gzip_short.h5", BAD, 0, 0);
    { /* the refusal names the chunk and what it holds */
        char p[256];
        path_in(p, sizeof p, "gzip_short.h5");
        hid_t f2 = H5Fopen(p, H5F_ACC_RDONLY, H5P_DEFAULT), d2 = fc_h5_dopen(f2, "x");
        fc_status st = {0};
        CHECK(fc_h5_check_chunks(d2, "/x", &st) != 0 &&
                  strstr(st.msg, "dataset '/x': the chunk at (2, 0) of ") &&
                  strstr(st.msg, "decodes (gzip) to 16 bytes, not the chunk's 56: corrupt data"),
              "gzip_short.h5: message '%s'", st.msg);
        H5Dclose(d2);
        H5Fclose(f2);
    }
    pl = chunked();
    zstd_filter(pl);
    d = make("zstd_short.h5", pl, 0, &f);
    put_chunk(d, 0, 2 * C * 4, 'z', 0);
    put_chunk(d, 2, 16, 'z', 0);
    put_chunk(d, 4, 2 * C * 4, 'z', 0);
    done(d, f, pl);
    expect_read("zstd_short.h5", BAD, 0, 0);
}

/* A gzip chunk of 1.9 GB (rows beyond the extent: maxdims unlimited; libhdf5 takes chunks
 * up to 4 GiB) whose stream holds 8 bytes: refused, not read. */
static void test_huge_chunk(void) {
    hid_t f, pl = H5Pcreate(H5P_DATASET_CREATE);
    hsize_t ch[2] = {(hsize_t)1 << 26, C};
    H5Pset_chunk(pl, 2, ch), H5Pset_deflate(pl, 4);
    hid_t d = make("huge_chunk.h5", pl, 1, &f);
    CHECK(d >= 0, "create a dataset of 1.9 GB chunks");
    put_chunk(d, 0, 8, 'g', 0);
    done(d, f, pl);
    expect_read("huge_chunk.h5", BAD, 0, 0);
}

/* A virtual dataset over a short-chunked source in the same file, and external storage
 * (the dataset's bytes from another file, here one of the test's own). */
static void test_elsewhere(void) {
    hid_t f, pl = chunked();
    H5Pset_deflate(pl, 4);
    char p[256];
    path_in(p, sizeof p, "virtual.h5");
    f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t sp = space(R, 0), src = H5Dcreate2(f, "src", H5T_IEEE_F32LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    put_chunk(src, 0, 2 * C * 4, 'g', 0);
    put_chunk(src, 2, 16, 'g', 0);
    put_chunk(src, 4, 2 * C * 4, 'g', 0);
    H5Dclose(src);
    H5Pclose(pl);
    pl = H5Pcreate(H5P_DATASET_CREATE);
    CHECK(H5Pset_virtual(pl, sp, ".", "src", sp) >= 0, "H5Pset_virtual");
    hid_t d = H5Dcreate2(f, "x", H5T_IEEE_F32LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    CHECK(d >= 0, "create the virtual dataset");
    H5Sclose(sp);
    done(d, f, pl);
    expect_read("virtual.h5", BAD, 0, 0);

    char ext[256];
    path_in(ext, sizeof ext, "secret.bin");
    FILE *fp = fopen(ext, "wb");
    CHECK(fp && fwrite(want, sizeof want, 1, fp) == 1, "write %s", ext);
    if (fp) fclose(fp);
    pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_external(pl, ext, 0, sizeof want);
    d = make("external.h5", pl, 0, &f);
    done(d, f, pl);
    expect_read("external.h5", BAD, 0, 0);

    /* an external link to contig.h5's "x" (libhdf5 would follow it into that file), one
     * level down ("g/x") and in the root; a soft link stays in the file */
    path_in(p, sizeof p, "elink.h5");
    f = H5Fcreate(p, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    path_in(ext, sizeof ext, "contig.h5");
    hid_t g = H5Gcreate2(f, "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(H5Lcreate_external(ext, "/x", g, "x", H5P_DEFAULT, H5P_DEFAULT) >= 0, "H5Lcreate_external");
    CHECK(H5Lcreate_soft("/g/x", f, "soft", H5P_DEFAULT, H5P_DEFAULT) >= 0, "H5Lcreate_soft");
    H5Gclose(g);
    fc_status st = {0};
    CHECK(fc_h5_check_links(f, &st) != 0 && strstr(st.msg, "'/g/x' is an external link to '/x' in another file") &&
              strstr(st.msg, "contig.h5"), "external link: %s", st.msg[0] ? st.msg : "passed");
    hid_t x = fc_h5_dopen(f, "g/x"), y = fc_h5_dopen(f, "soft");
    CHECK(x < 0 && y < 0, "fc_h5_dopen followed an external link (directly %d, through a soft link %d)", x >= 0, y >= 0);
    if (x >= 0) H5Dclose(x);
    if (y >= 0) H5Dclose(y);
    H5Fclose(f);
    f = H5Fopen(p, H5F_ACC_RDWR, H5P_DEFAULT); /* without it: hard and soft links only, which pass */
    H5Ldelete(f, "g/x", H5P_DEFAULT);
    hid_t sp2 = space(R, 0);
    H5Dclose(H5Dcreate2(f, "g/x", H5T_IEEE_F32LE, sp2, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Sclose(sp2);
    memset(&st, 0, sizeof st);
    CHECK(fc_h5_check_links(f, &st) == 0, "hard and soft links refused: %s", st.msg);
    H5Fclose(f);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    fc_status st = {0};
    CHECK(fc_h5_zstd_register(&st) == 0, "%s", st.msg);
    for (int i = 0; i < R * C; i++) want[i] = (float)(i + 1) * 0.25f;
    T_RUN(test_valid_layouts);
    T_RUN(test_short_chunks);
    T_RUN(test_huge_chunk);
    T_RUN(test_elsewhere);
    t_rmtree(dir);
    return t_done("test_h5read");
}
