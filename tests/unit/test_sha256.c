/* test_sha256.c - SHA-256 wrapper against FIPS 180-2 test vectors and sha256sum. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/sha256.h"
#include "t.h"

static void test_vectors(void) {
    char hex[65];
    CHECK(fc_sha256_hex("", 0, hex) == 0, "empty");
    CHECK(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") == 0,
          "empty: %s", hex);
    CHECK(fc_sha256_hex("abc", 3, hex) == 0, "abc");
    CHECK(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") == 0,
          "abc: %s", hex);
}

static void test_incremental(void) {
    /* "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq" in pieces */
    const char *msg = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    fc_sha256_ctx c = {0};
    fc_status st = {0};
    unsigned char d[32];
    char hex[65];
    CHECK(fc_sha256_begin(&c, &st) == 0, "%s", st.msg);
    for (size_t i = 0; i < strlen(msg); i += 7) {
        size_t n = strlen(msg) - i < 7 ? strlen(msg) - i : 7;
        CHECK(fc_sha256_update(&c, msg + i, n, &st) == 0, "%s", st.msg);
    }
    CHECK(fc_sha256_end(&c, d, &st) == 0, "%s", st.msg);
    CHECK(c.md == NULL, "ctx freed");
    fc_sha256_to_hex(d, hex);
    CHECK(strcmp(hex, "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1") == 0,
          "%s", hex);
    fc_sha256_abort(&c); /* idempotent */
}

static void test_file(void) {
    char path[] = "/tmp/fc-sha-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0, "mkstemp");
    /* 200 KiB of a pattern, so the streaming loop runs several times */
    size_t n = 200 * 1024;
    unsigned char *buf = malloc(n);
    for (size_t i = 0; i < n; i++) buf[i] = (unsigned char)(i * 31 + (i >> 9));
    CHECK(write(fd, buf, n) == (ssize_t)n, "write");
    close(fd);
    char a[65], b[65];
    int64_t bytes = 0;
    fc_status st = {0};
    CHECK(fc_sha256_file(path, a, &bytes, &st) == 0, "%s", st.msg);
    CHECK(bytes == (int64_t)n, "bytes %lld", (long long)bytes);
    fc_sha256_hex(buf, n, b);
    CHECK(strcmp(a, b) == 0, "file %s vs buffer %s", a, b);
    /* independent checker: coreutils sha256sum */
    char cmd[256], line[128] = {0};
    snprintf(cmd, sizeof cmd, "sha256sum '%s'", path);
    FILE *p = popen(cmd, "r");
    if (p && fgets(line, sizeof line, p)) CHECK(strncmp(line, a, 64) == 0, "sha256sum %s", line);
    if (p) pclose(p);
    unlink(path);
    CHECK(fc_sha256_file(path, a, NULL, &st) == FC_ERR_IO, "missing file");
    CHECK(strstr(st.msg, path) != NULL, "names the file: %s", st.msg);
    free(buf);
}

int main(void) {
    T_RUN(test_vectors);
    T_RUN(test_incremental);
    T_RUN(test_file);
    return t_done("test_sha256");
}
