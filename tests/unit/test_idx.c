/* test_idx.c - the IDX reader (common/idx.c) on small files made here: plain and gzipped,
 * and bad files (wrong magic, truncated header/payload, huge dims, trailing bytes,
 * corrupt gzip). */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "../../common/idx.h"
#include "t.h"

static char tmpdir[] = "/tmp/fc-test-idx.XXXXXX";

static void put_be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* An image IDX file of n items of rows x cols; pixel value = (item*7 + y*cols + x) & 255.
 * Returns the byte count written to buf. */
static size_t make_images(uint8_t *buf, uint32_t n, uint32_t rows, uint32_t cols) {
    put_be32(buf, FC_IDX_MAGIC_IMAGES);
    put_be32(buf + 4, n);
    put_be32(buf + 8, rows);
    put_be32(buf + 12, cols);
    size_t k = 16;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t j = 0; j < rows * cols; j++) buf[k++] = (uint8_t)((i * 7 + j) & 255);
    return k;
}

static void write_file(const char *name, const uint8_t *buf, size_t len, int gz, char *path) {
    snprintf(path, 512, "%s/%s", tmpdir, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, buf, (unsigned)len);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(buf, 1, len, f);
        fclose(f);
    }
}

static void test_good(void) {
    static uint8_t buf[16 + 3 * 5 * 4];
    size_t len = make_images(buf, 3, 5, 4);
    char path[512];
    for (int gz = 0; gz < 2; gz++) {
        write_file(gz ? "img.gz" : "img", buf, len, gz, path);
        fc_idx x;
        fc_status st = {0};
        int rc = fc_idx_read(path, FC_IDX_MAGIC_IMAGES, &x, &st);
        CHECK(rc == 0, "read %s: %s", path, st.msg);
        if (rc) continue;
        CHECK(x.n == 3 && x.dims[1] == 5 && x.dims[2] == 4 && x.item_bytes == 20, "dims");
        CHECK(memcmp(x.data, buf + 16, 60) == 0, "payload");
        CHECK(x.data[2 * 20 + 3] == (uint8_t)(14 + 3), "pixel of item 2");
        fc_idx_free(&x);
    }
    uint8_t lab[8 + 4] = {0, 0, 8, 1, 0, 0, 0, 4, 9, 0, 3, 7};
    write_file("lab.gz", lab, sizeof lab, 1, path);
    fc_idx x;
    fc_status st = {0};
    CHECK(fc_idx_read(path, FC_IDX_MAGIC_LABELS, &x, &st) == 0, "labels: %s", st.msg);
    CHECK(x.n == 4 && x.item_bytes == 1 && x.data[0] == 9 && x.data[3] == 7, "label values");
    fc_idx_free(&x);
    fc_idx_free(NULL);
}

/* Expects fc_idx_read to fail with FC_ERR_FORMAT and a message naming the file and frag. */
static void expect_bad(const char *name, const uint8_t *buf, size_t len, int gz, uint32_t magic,
                       const char *frag) {
    char path[512];
    write_file(name, buf, len, gz, path);
    fc_idx x;
    fc_status st = {0};
    int rc = fc_idx_read(path, magic, &x, &st);
    CHECK(rc == FC_ERR_FORMAT, "%s: rc %d (%s)", name, rc, st.msg);
    CHECK(strstr(st.msg, path) != NULL, "%s: message names the file: %s", name, st.msg);
    CHECK(strstr(st.msg, frag) != NULL, "%s: message '%s' lacks '%s'", name, st.msg, frag);
    CHECK(x.data == NULL, "%s: nothing allocated", name);
    /* The in-memory parser agrees (except for gzip-level errors). */
    if (!gz) {
        fc_status st2 = {0};
        CHECK(fc_idx_parse(buf, len, magic, name, &x, &st2) == FC_ERR_FORMAT, "%s: parse", name);
    }
}

static void test_bad(void) {
    static uint8_t buf[16 + 2 * 4 * 4 + 8];
    size_t len = make_images(buf, 2, 4, 4);
    uint8_t tmp[sizeof buf];

    memcpy(tmp, buf, len);
    tmp[3] = 0x02; /* 2-D */
    expect_bad("ndim", tmp, len, 0, FC_IDX_MAGIC_IMAGES, "dimensions");
    memcpy(tmp, buf, len);
    tmp[2] = 0x0d; /* float payload */
    expect_bad("magic", tmp, len, 1, FC_IDX_MAGIC_IMAGES, "not an IDX image file");
    expect_bad("labels-as-images", buf, len, 0, FC_IDX_MAGIC_LABELS, "expected 1");
    expect_bad("short-header", buf, 10, 1, FC_IDX_MAGIC_IMAGES, "truncated IDX header");
    expect_bad("empty", buf, 0, 0, FC_IDX_MAGIC_IMAGES, "truncated IDX header");
    expect_bad("short-payload", buf, len - 5, 1, FC_IDX_MAGIC_IMAGES, "truncated");

    memcpy(tmp, buf, len);
    tmp[len] = 1;
    expect_bad("trailing", tmp, len + 1, 1, FC_IDX_MAGIC_IMAGES, "trailing bytes");

    memcpy(tmp, buf, len);
    put_be32(tmp + 4, 0xffffffffu); /* 4 G items of 16 bytes: over the limit, no allocation */
    expect_bad("huge-count", tmp, len, 0, FC_IDX_MAGIC_IMAGES, "limit");
    memcpy(tmp, buf, len);
    put_be32(tmp + 8, 100000); /* rows */
    expect_bad("huge-rows", tmp, len, 0, FC_IDX_MAGIC_IMAGES, "dimension 1");
    memcpy(tmp, buf, len);
    put_be32(tmp + 12, 0); /* zero cols */
    expect_bad("zero-cols", tmp, len, 1, FC_IDX_MAGIC_IMAGES, "dimension 2");

    /* A gzip stream cut in the middle. */
    char path[512];
    write_file("full.gz", buf, len, 1, path);
    FILE *f = fopen(path, "rb");
    uint8_t gzbytes[512];
    size_t n = fread(gzbytes, 1, sizeof gzbytes, f);
    fclose(f);
    CHECK(n > 20, "gzip written");
    expect_bad("cut.gz", gzbytes, n - 12, 0, FC_IDX_MAGIC_IMAGES, "");
    /* Corrupt deflate data (header intact so gzopen sees gzip). */
    memcpy(tmp, gzbytes, n);
    for (size_t i = 12; i < n - 8; i++) tmp[i] ^= 0x5a;
    expect_bad("corrupt.gz", tmp, n, 0, FC_IDX_MAGIC_IMAGES, "");

    fc_idx x;
    fc_status st = {0};
    CHECK(fc_idx_read("/nonexistent/x.gz", FC_IDX_MAGIC_IMAGES, &x, &st) == FC_ERR_IO, "missing file");
    CHECK(strstr(st.msg, "/nonexistent/x.gz") != NULL, "names missing file: %s", st.msg);
}

int main(void) {
    if (!mkdtemp(tmpdir)) {
        perror("mkdtemp");
        return 1;
    }
    T_RUN(test_good);
    T_RUN(test_bad);
    t_rmtree(tmpdir);
    return t_done("test_idx");
}
