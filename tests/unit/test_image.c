/* test_image.c - image decoding, resizing and preprocessing against PIL 9.4.
 *
 * tests/py/make_images.py (Debian's /usr/bin/python3 + python3-pil) writes every PNG/JPEG/BMP/PPM/TIFF
 * variant with PIL's decoded RGB bytes, NEAREST/BILINEAR resizes and Keras-preprocessed
 * floats into a temp dir; everything is compared exactly. The bad-image set
 * tests/bad/images/ must fail with the message fragment listed in its EXPECTED file. */
#define _GNU_SOURCE
#include <dirent.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/image.h"
#include "t.h"

static char tmpdir[256];

static uint8_t *slurp(const char *dir, const char *name, size_t *len) {
    char path[1024];
    uint8_t *buf = NULL;
    fc_status st;
    snprintf(path, sizeof path, "%s/%s", dir, name);
    if (fc_read_file(path, 0, &buf, len, &st) != FC_OK) {
        fprintf(stderr, "%s\n", st.msg);
        return NULL;
    }
    return buf;
}

static int load(const char *name, fc_image *img) {
    char path[1024];
    fc_status st;
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    int rc = fc_image_load(path, 0, img, &st);
    if (rc) fprintf(stderr, "  %s\n", st.msg);
    return rc;
}

/* Exact byte comparison; prints the first differing pixel. */
static void check_bytes(const char *what, const uint8_t *got, const uint8_t *want, size_t n,
                        int w) {
    size_t i = 0;
    while (i < n && got[i] == want[i]) i++;
    CHECK(i == n, "%s: first difference at pixel (%zu,%zu) channel %zu: %d vs PIL %d", what,
          (i / 3) % (size_t)w, (i / 3) / (size_t)w, i % 3, i < n ? got[i] : 0,
          i < n ? want[i] : 0);
}

static void check_decode(const char *name, int w, int h) {
    fc_image img;
    size_t len = 0;
    char ref[512];
    snprintf(ref, sizeof ref, "%s.rgb", name);
    uint8_t *want = slurp(tmpdir, ref, &len);
    int rc = load(name, &img);
    CHECK(rc == FC_OK && want, "decode %s", name);
    if (rc == FC_OK && want) {
        CHECK(img.w == w && img.h == h, "%s: %dx%d vs PIL %dx%d", name, img.w, img.h, w, h);
        if (img.w == w && img.h == h && len == (size_t)w * h * 3)
            check_bytes(name, img.rgb, want, len, w);
    }
    fc_image_free(&img);
    free(want);
}

static void check_resize(const char *name, const char *mode, int w, int h, const char *ref) {
    fc_image img, out = {0};
    fc_resize r;
    fc_status st;
    size_t len = 0;
    char what[600];
    snprintf(what, sizeof what, "%s %s %dx%d", name, mode, w, h);
    uint8_t *want = slurp(tmpdir, ref, &len);
    CHECK(fc_resize_parse(mode, &r) == 0, "mode %s", mode);
    if (want && load(name, &img) == FC_OK) {
        int rc = fc_image_resize(&img, h, w, r, &out, &st);
        CHECK(rc == FC_OK, "%s: %s", what, rc ? st.msg : "");
        if (rc == FC_OK && len == (size_t)w * h * 3) check_bytes(what, out.rgb, want, len, w);
        fc_image_free(&img);
        fc_image_free(&out);
    } else {
        CHECK(0, "%s: cannot load source or reference", what);
    }
    free(want);
}

static void check_pre(const char *name, const char *mode, const char *ref) {
    fc_image img;
    fc_preprocess p;
    size_t len = 0;
    uint8_t *want = slurp(tmpdir, ref, &len);
    CHECK(fc_preprocess_parse(mode, &p) == 0 && strcmp(fc_preprocess_name(p), mode) == 0,
          "preprocess name %s", mode);
    if (want && load(name, &img) == FC_OK) {
        size_t npix = (size_t)img.w * img.h;
        float *x = malloc(npix * 3 * sizeof *x);
        fc_preprocess_apply(p, img.rgb, npix, x);
        CHECK(len == npix * 3 * sizeof *x, "%s: reference size", ref);
        size_t i = 0;
        const float *wf = (const float *)want;
        if (len == npix * 3 * sizeof *x)
            while (i < npix * 3 && memcmp(&x[i], &wf[i], sizeof *x) == 0) i++;
        CHECK(i == npix * 3, "preprocess %s: first difference at %zu: %.9g vs keras %.9g", mode,
              i, i < npix * 3 ? x[i] : 0, i < npix * 3 ? wf[i] : 0);
        free(x);
        fc_image_free(&img);
    } else {
        CHECK(0, "preprocess %s: cannot load", mode);
    }
    free(want);
}

/* A file featcache refuses: an error naming the file, no image left behind. */
static void check_refused(const char *name) {
    char path[1024];
    fc_image img;
    fc_status st;
    fc_status_clear(&st);
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    int rc = fc_image_load(path, 0, &img, &st);
    CHECK(rc != FC_OK && img.rgb == NULL && strstr(st.msg, path), "%s: refused? rc %d: %s", name,
          rc, st.msg);
    if (rc == FC_OK) fc_image_free(&img);
    else printf("  refused %s\n", st.msg + strlen(tmpdir) + 1);
}

/* The extract pipeline decodes on several threads: the decoders must keep no global
 * state. Each thread decodes every manifest image and compares with PIL's bytes. */
#define N_THREADS 4
static char decode_names[512][256];
static int n_decode_names;

static void *decode_all(void *arg) {
    long bad = 0;
    for (int r = 0; r < 3; r++)
        for (int i = 0; i < n_decode_names; i++) {
            fc_image img;
            size_t len = 0;
            char ref[300];
            snprintf(ref, sizeof ref, "%s.rgb", decode_names[i]);
            uint8_t *want = slurp(tmpdir, ref, &len);
            if (load(decode_names[i], &img) != FC_OK || !want ||
                len != (size_t)img.w * img.h * 3 || memcmp(img.rgb, want, len) != 0)
                bad++;
            fc_image_free(&img);
            free(want);
        }
    (void)arg;
    return (void *)bad;
}

static void check_threads(void) {
    pthread_t th[N_THREADS];
    long total = 0;
    for (int t = 0; t < N_THREADS; t++)
        CHECK(pthread_create(&th[t], NULL, decode_all, NULL) == 0, "thread %d", t);
    for (int t = 0; t < N_THREADS; t++) {
        void *r = NULL;
        pthread_join(th[t], &r);
        total += (long)r;
    }
    CHECK(total == 0, "%ld decodes differed when run on %d threads at once", total, N_THREADS);
}

static void rm_tmpdir(void) {
    DIR *d = opendir(tmpdir);
    struct dirent *e;
    char p[1024];
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.') continue;
        snprintf(p, sizeof p, "%s/%s", tmpdir, e->d_name);
        unlink(p);
    }
    if (d) closedir(d);
    rmdir(tmpdir);
}

/* Every line of the manifest written by make_images.py. */
static void test_against_pil(void) {
    char cmd[1024], line[1024];
    snprintf(tmpdir, sizeof tmpdir, "/tmp/fc_test_image.XXXXXX");
    CHECK(mkdtemp(tmpdir) != NULL, "mkdtemp");
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -W ignore tests/py/make_images.py %s "
             "tests/fuzz/corpus/jpeg/ycck.jpg tests/fuzz/corpus/jpeg/cmyk_noadobe.jpg",
             tmpdir);
    int rc = system(cmd);
    CHECK(rc == 0, "%s failed (needs Debian's python3-pil)", cmd);
    snprintf(line, sizeof line, "%s/manifest.txt", tmpdir);
    FILE *f = fopen(line, "r");
    CHECK(f != NULL, "manifest");
    int ndec = 0, nres = 0, npre = 0, nref = 0;
    while (f && fgets(line, sizeof line, f)) {
        char kind[16], name[256], mode[32], ref[512];
        int w, h;
        if (sscanf(line, "decode %255s %d %d", name, &w, &h) == 3) {
            check_decode(name, w, h);
            if (n_decode_names < 512) snprintf(decode_names[n_decode_names++], 256, "%s", name);
            ndec++;
        } else if (sscanf(line, "resize %255s %31s %d %d %511s", name, mode, &w, &h, ref) == 5) {
            check_resize(name, mode, w, h, ref);
            nres++;
        } else if (sscanf(line, "refuse %255s", name) == 1) {
            check_refused(name);
            nref++;
        } else if (sscanf(line, "pre %255s %31s %511s", name, mode, ref) == 3) {
            check_pre(name, mode, ref);
            npre++;
        } else {
            CHECK(sscanf(line, "%15s", kind) != 1, "unknown manifest line: %s", line);
        }
    }
    if (f) fclose(f);
    printf("compared %d decodes, %d resizes, %d preprocess modes with PIL/Keras; %d refused\n",
           ndec, nres, npre, nref);
    CHECK(ndec >= 40 && nres >= 60 && npre == 5 && nref >= 10, "manifest too short");
    check_threads();
    rm_tmpdir();
}

/* Hand-computed values for one pixel (R=0, G=128, B=255). */
static void test_preprocess_values(void) {
    const uint8_t px[3] = {0, 128, 255};
    float o[3];
    fc_preprocess_apply(FC_PRE_CAFFE, px, 1, o); /* BGR minus mean */
    CHECK_NEAR(o[0], 255 - 103.939, 1e-6);
    CHECK_NEAR(o[1], 128 - 116.779, 1e-6);
    CHECK_NEAR(o[2], 0 - 123.68, 1e-6);
    fc_preprocess_apply(FC_PRE_TF, px, 1, o);
    CHECK(o[0] == -1.0f && o[2] == 1.0f, "tf ends: %g %g", o[0], o[2]);
    CHECK_NEAR(o[1], 128 / 127.5 - 1, 1e-6);
    fc_preprocess_apply(FC_PRE_TORCH, px, 1, o);
    CHECK_NEAR(o[0], (0 - 0.485) / 0.229, 1e-6);
    CHECK_NEAR(o[1], (128 / 255.0 - 0.456) / 0.224, 1e-6);
    CHECK_NEAR(o[2], (1 - 0.406) / 0.225, 1e-6);
    fc_preprocess_apply(FC_PRE_RESCALE, px, 1, o);
    CHECK(o[0] == 0.0f && o[2] == 1.0f, "rescale ends: %g %g", o[0], o[2]);
    CHECK_NEAR(o[1], 128 / 255.0, 1e-7);
    fc_preprocess_apply(FC_PRE_NONE, px, 1, o);
    CHECK(o[0] == 0.0f && o[1] == 128.0f && o[2] == 255.0f, "none");
    fc_preprocess p;
    fc_resize r;
    CHECK(fc_preprocess_parse("vgg", &p) != 0 && fc_preprocess_parse(NULL, &p) != 0, "bad name");
    CHECK(fc_resize_parse("bilinear", &r) == 0 && r == FC_RESIZE_BILINEAR, "bilinear");
    CHECK(fc_resize_parse("lanczos", &r) == 0 && r == FC_RESIZE_LANCZOS, "lanczos");
    CHECK(fc_resize_parse("cubic", &r) != 0, "unknown filter refused");
    CHECK(strcmp(fc_resize_name(FC_RESIZE_HAMMING), "hamming") == 0, "hamming name");
    CHECK(strcmp(fc_resize_name(FC_RESIZE_NEAREST), "nearest") == 0, "nearest name");
}

/* tests/bad/images/EXPECTED: "file<TAB>fragment"; the error must name the file too. */
static void test_bad_images(void) {
    FILE *f = fopen("tests/bad/images/EXPECTED", "r");
    char line[1024];
    int n = 0;
    CHECK(f != NULL, "tests/bad/images/EXPECTED");
    while (f && fgets(line, sizeof line, f)) {
        if (line[0] == '#' || line[0] == '\n') continue;
        char *tab = strchr(line, '\t');
        if (!tab) continue;
        *tab = '\0';
        char *frag = tab + 1;
        frag[strcspn(frag, "\n")] = '\0';
        char path[1100];
        snprintf(path, sizeof path, "tests/bad/images/%s", line);
        fc_image img;
        fc_status st;
        fc_status_clear(&st);
        int rc = fc_image_load(path, 0, &img, &st);
        CHECK(rc != FC_OK && img.rgb == NULL, "%s decoded but should fail", path);
        CHECK(strstr(st.msg, path) != NULL, "%s: message does not name the file: %s", path,
              st.msg);
        CHECK(strstr(st.msg, frag) != NULL, "%s: message '%s' lacks '%s'", path, st.msg, frag);
        n++;
    }
    if (f) fclose(f);
    CHECK(n >= 10, "only %d bad images", n);
}

static void test_limits(void) {
    fc_image img;
    fc_status st;
    uint8_t *buf = NULL;
    size_t len = 0;
    /* pixel limit: 37x23 = 851 pixels */
    CHECK(fc_read_file("tests/fuzz/corpus/png/rgb8.png", 0, &buf, &len, &st) == FC_OK,
          "read seed: %s", st.msg);
    if (buf) {
        CHECK(fc_image_decode(buf, len, "x.png", 850, &img, &st) == FC_ERR_NOMEM &&
                  strstr(st.msg, "x.png") && strstr(st.msg, "over the limit"),
              "pixel limit: %s", st.msg);
        CHECK(fc_image_decode(buf, len, "x.png", 851, &img, &st) == FC_OK, "at the limit");
        fc_image_free(&img);
        CHECK(fc_image_decode(buf, len, NULL, 0, &img, NULL) == FC_OK, "NULL status ok");
        fc_image_free(&img);
        CHECK(fc_image_decode(buf, 5, "y.png", 0, &img, NULL) == FC_ERR_FORMAT, "5 bytes");
    }
    free(buf);
    CHECK(fc_read_file("tests/fuzz/corpus/png/rgb8.png", 100, &buf, &len, &st) == FC_ERR_NOMEM &&
              strstr(st.msg, "over the limit"),
          "file size limit: %s", st.msg);
    CHECK(fc_read_file("tests/bad/images", 0, &buf, &len, &st) == FC_ERR_IO &&
              strstr(st.msg, "not a regular file"),
          "directory: %s", st.msg);
    CHECK(fc_read_file("tests/no/such.png", 0, &buf, &len, &st) == FC_ERR_IO &&
              strstr(st.msg, "tests/no/such.png"),
          "missing: %s", st.msg);
    fc_image_free(NULL);
    /* resize argument checks */
    uint8_t px[3] = {1, 2, 3};
    fc_image one = {1, 1, px}, out;
    CHECK(fc_image_resize(&one, 0, 5, FC_RESIZE_NEAREST, &out, &st) == FC_ERR_ARG, "zero h");
    CHECK(fc_image_resize(&one, 5, FC_MAX_DIM + 1, FC_RESIZE_NEAREST, &out, &st) == FC_ERR_ARG,
          "huge w");
    CHECK(fc_image_resize(&one, 2, 2, FC_RESIZE_BILINEAR, &out, &st) == FC_OK &&
              memcmp(out.rgb + 9, px, 3) == 0,
          "1x1 -> 2x2 bilinear");
    fc_image_free(&out);
}

int main(void) {
    T_RUN(test_preprocess_values);
    T_RUN(test_limits);
    T_RUN(test_bad_images);
    T_RUN(test_against_pil);
    return t_done("test_image");
}
