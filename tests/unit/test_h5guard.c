/* test_h5guard.c - the HDF5 pre-flight (common/h5guard.c): each way a child can end
 * (passes, reports an error, loops, dies by a signal, exits nonzero, allocates past its
 * address-space limit) gives the right verdict and a message naming the file; passed
 * files are remembered; non-files and the disabled guard pass; the generic metadata walk
 * accepts a valid file and refuses a damaged dataset header. Probes here are test
 * functions run in the child, so the verdicts do not depend on libhdf5's bugs. */
#define _GNU_SOURCE
#include <hdf5.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../common/h5guard.h"
#include "t.h"

static char dir[] = "/tmp/fc-h5guard.XXXXXX";
static char good[512], flag[512];

static int probe_ok(const char *path, fc_status *st) { return 0; }
static int probe_err(const char *path, fc_status *st) {
    return fc_fail(st, FC_ERR_MISMATCH, "%s: the probe says no", path);
}
static int probe_spin(const char *path, fc_status *st) {
    for (volatile unsigned long i = 0;; i++) {}
    return 0;
}
static int probe_abort(const char *path, fc_status *st) {
    abort();
}
static int probe_exit(const char *path, fc_status *st) {
    _exit(7);
}
static int probe_loud(const char *path, fc_status *st) { /* output must not reach the parent's */
    fprintf(stderr, "HDF5-DIAG: noise\n");
    printf("noise\n");
    return 0;
}
/* Fails once `flag` exists: shows whether the child ran again. */
static int probe_flag(const char *path, fc_status *st) {
    return access(flag, F_OK) == 0 ? fc_fail(st, FC_ERR_FORMAT, "flag set") : 0;
}
/* Asks for more than the child's address-space budget (never touched: without the
 * limit, malloc just succeeds). */
static int probe_hog(const char *path, fc_status *st) {
    size_t n = (size_t)(FC_H5_PREFLIGHT_MEM + ((unsigned long long)2 << 30));
    char *volatile p = malloc(n);
    if (!p) return fc_fail(st, FC_ERR_NOMEM, "%s: allocation refused", path);
    free(p);
    return 0;
}
static int probe_limited(const char *path, fc_status *st) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY)
        return fc_fail(st, FC_ERR_INTERNAL, "no address-space limit in the child");
    return 0;
}

static void make_good(void) {
    snprintf(good, sizeof good, "%s/good.h5", dir);
    hid_t f = H5Fcreate(good, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t s1 = H5Screate(H5S_SCALAR), t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    const char *v = "featcache.features";
    hid_t a = H5Acreate2(f, "featcache_format", t, s1, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, &v);
    H5Aclose(a);
    hid_t g = H5Gcreate2(f, "model_weights", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    hsize_t dims[2] = {8, 4}, chunk[2] = {4, 4};
    hid_t sp = H5Screate_simple(2, dims, NULL), pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_chunk(pl, 2, chunk);
    H5Pset_deflate(pl, 4);
    hid_t d = H5Dcreate2(g, "kernel:0", H5T_IEEE_F32LE, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    float x[32] = {1, 2, 3};
    H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, x);
    int64_t n = 8;
    a = H5Acreate2(d, "rows", H5T_STD_I64LE, s1, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_INT64, &n);
    H5Aclose(a), H5Dclose(d), H5Pclose(pl), H5Sclose(sp), H5Gclose(g);
    H5Tclose(t), H5Sclose(s1), H5Fclose(f);
}

static void test_verdicts(void) {
    fc_status st = {0};
    setenv("FC_HDF5_PREFLIGHT_TIMEOUT", "0.5", 1);
    CHECK(fc_h5_preflight(good, probe_ok, &st) == 0, "%s", st.msg);
    CHECK(fc_h5_preflight(good, probe_loud, &st) == 0, "%s", st.msg);
    fc_status_clear(&st);
    CHECK(fc_h5_preflight(good, probe_err, &st) == FC_ERR_MISMATCH && st.code == FC_ERR_MISMATCH &&
              strstr(st.msg, good) && strstr(st.msg, "the probe says no"),
          "error handed back: %s", st.msg);
    fc_status_clear(&st);
    CHECK(fc_h5_preflight(good, probe_spin, &st) == FC_ERR_FORMAT && strstr(st.msg, good) &&
              strstr(st.msg, "did not finish within 0.5 s") && strstr(st.msg, "damaged or hostile"),
          "loop: %s", st.msg);
    fc_status_clear(&st);
    CHECK(fc_h5_preflight(good, probe_abort, &st) == FC_ERR_FORMAT && strstr(st.msg, good) &&
              strstr(st.msg, "crashed (signal 6"),
          "abort: %s", st.msg);
    fc_status_clear(&st);
    CHECK(fc_h5_preflight(good, probe_exit, &st) == FC_ERR_FORMAT && strstr(st.msg, "exit status 7"),
          "exit: %s", st.msg);
    fc_status_clear(&st);
    setenv("FC_HDF5_PREFLIGHT_TIMEOUT", "60", 1);
    CHECK(fc_h5_preflight(good, probe_limited, &st) == 0, "%s", st.msg);
    CHECK(fc_h5_preflight(good, probe_hog, &st) != 0, "an allocation over the budget must fail in the child");
    unsetenv("FC_HDF5_PREFLIGHT_TIMEOUT");
}

static void test_cache_and_passes(void) {
    fc_status st = {0};
    fc_h5_preflight_forget();
    unlink(flag);
    CHECK(fc_h5_preflight(good, probe_flag, &st) == 0, "%s", st.msg);
    FILE *fp = fopen(flag, "w");
    if (fp) fclose(fp);
    CHECK(fc_h5_preflight(good, probe_flag, &st) == 0, "a passed file is not probed again");
    fc_h5_preflight_forget();
    CHECK(fc_h5_preflight(good, probe_flag, &st) == FC_ERR_FORMAT, "after forget it is");
    unlink(flag);
    /* a changed file is probed again (size and mtime are part of the key) */
    CHECK(fc_h5_preflight(good, probe_flag, &st) == 0, "%s", st.msg);
    fp = fopen(flag, "w");
    if (fp) fclose(fp);
    FILE *g = fopen(good, "ab");
    if (g) fputc(0, g), fclose(g);
    CHECK(fc_h5_preflight(good, probe_flag, &st) == FC_ERR_FORMAT, "a modified file is probed again");
    unlink(flag);
    CHECK(fc_h5_preflight(dir, probe_abort, &st) == 0, "a folder: the reader reports it");
    CHECK(fc_h5_preflight("/nonexistent/x.h5", probe_abort, &st) == 0, "missing: the reader reports it");
    fc_h5_preflight_enable(0);
    CHECK(fc_h5_preflight(good, probe_abort, &st) == 0, "disabled");
    fc_h5_preflight_enable(1);
}

static void test_walk(void) {
    fc_status st = {0};
    fc_h5_preflight_forget();
    make_good();
    CHECK(fc_h5_walk(good, &st) == 0, "valid file: %s", st.msg);
    CHECK(fc_h5_preflight(good, NULL, &st) == 0, "valid file in the child: %s", st.msg);
    char txt[600];
    snprintf(txt, sizeof txt, "%s/text.h5", dir);
    FILE *fp = fopen(txt, "w");
    if (fp) fputs("not hdf5\n", fp), fclose(fp);
    CHECK(fc_h5_walk(txt, &st) == 0, "not HDF5: left to the reader");
    /* H5Dopen2 fails (and leaks inside libhdf5) on this header: only in the child */
    const char *leak = "tests/fuzz/hangs/h5model/hdf5_1.10.8_h5dopen_leak.h5";
    fc_status_clear(&st);
    CHECK(fc_h5_preflight(leak, NULL, &st) == FC_ERR_FORMAT && strstr(st.msg, leak) &&
              strstr(st.msg, "cannot open 'model_weights/gate/gate'"),
          "damaged dataset header: %s", st.msg);
}

int main(void) {
    if (!mkdtemp(dir)) return 1;
    snprintf(flag, sizeof flag, "%s/flag", dir);
    make_good();
    T_RUN(test_verdicts);
    T_RUN(test_cache_and_passes);
    T_RUN(test_walk);
    t_rmtree(dir);
    return t_done("test_h5guard");
}
