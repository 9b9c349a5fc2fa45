/* test_model_h5.c - common/h5util.c on files written here with the HDF5 C API: string
 * attributes as Keras 2.2.4 writes them (fixed-length, NUL-padded), as h5py 3 writes them
 * (variable-length UTF-8), empty float64 arrays (Keras for layers without weights),
 * JSON as a uint8 array; checked float dataset reads (shape mismatch, huge shapes,
 * non-float data, float64 conversion); open errors. */
#include "t.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../common/h5util.h"

static char path[256];

static void attr_fixed(hid_t loc, const char *name, const char *const *s, int n, size_t len, int scalar) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, len);
    H5Tset_strpad(t, H5T_STR_NULLPAD);
    hsize_t d = (hsize_t)n;
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &d, NULL);
    char *buf = calloc((size_t)n, len);
    for (int i = 0; i < n; i++) memcpy(buf + (size_t)i * len, s[i], strlen(s[i]) < len ? strlen(s[i]) : len);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, buf);
    H5Aclose(a), H5Sclose(sp), H5Tclose(t), free(buf);
}

static void attr_vlen(hid_t loc, const char *name, const char *const *s, int n, int scalar) {
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    hsize_t d = (hsize_t)n;
    hid_t sp = scalar ? H5Screate(H5S_SCALAR) : H5Screate_simple(1, &d, NULL);
    hid_t a = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, t, s);
    H5Aclose(a), H5Sclose(sp), H5Tclose(t);
}

static void dataset(hid_t loc, const char *name, hid_t type, hid_t mem, int rank, const hsize_t *dims,
                    const void *data) {
    hid_t sp = H5Screate_simple(rank, dims, NULL);
    hid_t d = H5Dcreate2(loc, name, type, sp, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (data) H5Dwrite(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, data);
    H5Dclose(d), H5Sclose(sp);
}

static void write_file(void) {
    fc_h5_quiet_all();
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    const char *cfg[] = {"{\"class_name\": \"Sequential\"}"};
    const char *names[] = {"block1_conv1/kernel:0", "block1_conv1/bias:0", "x"};
    attr_fixed(f, "fixed_scalar", cfg, 1, strlen(cfg[0]), 1);
    attr_vlen(f, "vlen_scalar", cfg, 1, 1);
    attr_fixed(f, "fixed_array", names, 3, 24, 0);
    attr_vlen(f, "vlen_array", names, 3, 0);
    hsize_t zero = 0, three = 3;
    hid_t sp = H5Screate_simple(1, &zero, NULL);
    hid_t a = H5Acreate2(f, "empty", H5T_IEEE_F64LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Aclose(a), H5Sclose(sp);
    sp = H5Screate_simple(1, &three, NULL);
    a = H5Acreate2(f, "bytes", H5T_STD_U8LE, sp, H5P_DEFAULT, H5P_DEFAULT);
    H5Awrite(a, H5T_NATIVE_UCHAR, "abc");
    H5Aclose(a), H5Sclose(sp);
    float k[2 * 3] = {1, 2, 3, 4, 5, 6};
    double dk[3] = {0.5, -1.5, 2.25};
    int ik[3] = {1, 2, 3};
    hsize_t d23[2] = {2, 3};
    dataset(f, "k", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 2, d23, k);
    dataset(f, "k64", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, 1, &three, dk);
    dataset(f, "ints", H5T_STD_I32LE, H5T_NATIVE_INT, 1, &three, ik);
    H5Fclose(f);
}

static void test_strings(void) {
    hid_t f;
    fc_status st = {0};
    CHECK(fc_h5_open(path, &f, &st) == 0, "%s", st.msg);
    const char *want = "{\"class_name\": \"Sequential\"}";
    const char *keys[] = {"fixed_scalar", "vlen_scalar"};
    for (int i = 0; i < 2; i++) {
        char *s = NULL;
        CHECK(fc_h5_attr_string(f, keys[i], &s, &st) == 0 && s && !strcmp(s, want), "%s: %s", keys[i], s ? s : st.msg);
        free(s);
    }
    const char *arrays[] = {"fixed_array", "vlen_array"};
    for (int i = 0; i < 2; i++) {
        char **v = NULL;
        int n = 0;
        CHECK(fc_h5_attr_strings(f, arrays[i], &v, &n, &st) == 0 && n == 3, "%s: %s", arrays[i], st.msg);
        if (n == 3) CHECK(!strcmp(v[0], "block1_conv1/kernel:0") && !strcmp(v[1], "block1_conv1/bias:0") && !strcmp(v[2], "x"), "%s values", arrays[i]);
        fc_h5_strings_free(v, n);
    }
    char **v = NULL;
    int n = -1;
    CHECK(fc_h5_attr_strings(f, "empty", &v, &n, &st) == 0 && n == 0, "empty float64 array: %s", st.msg);
    fc_h5_strings_free(v, n);
    char *s = NULL;
    CHECK(fc_h5_attr_string(f, "bytes", &s, &st) == 0 && s && !strcmp(s, "abc"), "uint8 array");
    free(s);
    s = NULL;
    CHECK(fc_h5_attr_string(f, "missing", &s, &st) != 0 && strstr(st.msg, "missing attribute 'missing'"), "%s", st.msg);
    CHECK(fc_h5_attr_strings(f, "bytes", &v, &n, &st) != 0 && strstr(st.msg, "not a string array"), "%s", st.msg);
    CHECK(fc_h5_attr_string(f, "fixed_array", &s, &st) != 0 && strstr(st.msg, "not a single string"), "%s", st.msg);
    H5Fclose(f);
}

static void test_datasets(void) {
    hid_t f;
    fc_status st = {0};
    CHECK(fc_h5_open(path, &f, &st) == 0, "%s", st.msg);
    float *w = NULL;
    size_t n = 0;
    int64_t e[2] = {2, 3}, any[2] = {-1, 3}, bad[2] = {3, 2}, d[2] = {0, 0}, e1[1] = {3}, d1[1];
    CHECK(fc_h5_read_floats(f, "k", 2, e, d, &w, &n, &st) == 0 && n == 6 && w[5] == 6.0f, "%s", st.msg);
    free(w);
    CHECK(fc_h5_read_floats(f, "k", 2, any, d, &w, &n, &st) == 0 && d[0] == 2, "wildcard dim");
    free(w);
    w = NULL;
    CHECK(fc_h5_read_floats(f, "k", 2, bad, d, &w, &n, &st) == FC_ERR_MISMATCH && strstr(st.msg, "has shape (2, 3), expected (3, 2)") && !w, "%s", st.msg);
    CHECK(fc_h5_read_floats(f, "k", 1, e1, d1, &w, &n, &st) == FC_ERR_MISMATCH, "rank mismatch: %s", st.msg);
    CHECK(fc_h5_read_floats(f, "k64", 1, e1, d1, &w, &n, &st) == 0 && w[1] == -1.5f && w[2] == 2.25f, "float64 big-endian converted");
    free(w);
    CHECK(fc_h5_read_floats(f, "ints", 1, e1, d1, &w, &n, &st) == FC_ERR_FORMAT && strstr(st.msg, "not a float dataset"), "%s", st.msg);
    CHECK(fc_h5_read_floats(f, "nope", 1, e1, d1, &w, &n, &st) == FC_ERR_FORMAT && strstr(st.msg, "missing dataset 'nope'"), "%s", st.msg);
    H5Fclose(f);
}

static void test_open_errors(void) {
    hid_t f;
    fc_status st = {0};
    CHECK(fc_h5_open("/nonexistent/x.h5", &f, &st) == FC_ERR_IO && strstr(st.msg, "/nonexistent/x.h5: cannot open"), "%s", st.msg);
    char txt[300];
    snprintf(txt, sizeof txt, "%s.txt", path);
    FILE *fp = fopen(txt, "w");
    fputs("hello", fp);
    fclose(fp);
    CHECK(fc_h5_open(txt, &f, &st) == FC_ERR_FORMAT && strstr(st.msg, "not an HDF5 file"), "%s", st.msg);
    unlink(txt);
    CHECK(fc_h5_open("/tmp", &f, &st) == FC_ERR_IO && strstr(st.msg, "not a regular file"), "%s", st.msg);
}

int main(void) {
    const char *tmp = getenv("TMPDIR");
    snprintf(path, sizeof path, "%s/fc-test-h5-XXXXXX", tmp && tmp[0] ? tmp : "/tmp");
    int fd = mkstemp(path);
    if (fd >= 0) close(fd);
    write_file();
    T_RUN(test_strings);
    T_RUN(test_datasets);
    T_RUN(test_open_errors);
    unlink(path);
    return t_done("test_model_h5");
}
