/* test_opts.c - the shared option parser and status helpers. */
#include <math.h>
#include <string.h>

#include "../../common/cmd/opts.h"
#include "t.h"

static const fc_opt opts[] = {
    {"layer", 'l', "NAME", "cut layer"},
    {"epochs", 0, "N", "epochs"},
    {"lr", 0, "X", "learning rate"},
    {"quiet", 'q', NULL, "quiet"},
    {0},
};
static const fc_cmd_spec spec = {"t", "A [B]", "test", opts, 1, 2};

static void test_parse(void) {
    char *argv[] = {"t", "pos1", "--layer=block5_pool", "-q", "--epochs", "7", "pos2", NULL};
    fc_args a;
    CHECK(fc_args_parse(&spec, 7, argv, &a) == FC_ARGS_OK, "parse ok");
    CHECK(a.npos == 2 && strcmp(a.pos[1], "pos2") == 0, "positionals");
    CHECK(strcmp(fc_arg_str(&a, "layer", ""), "block5_pool") == 0, "inline value");
    CHECK(fc_arg_flag(&a, "quiet"), "short flag");
    long e;
    CHECK(fc_arg_long(&a, "epochs", 30, 1, 100, &e) == FC_ARGS_OK && e == 7, "long value");
    double lr;
    CHECK(fc_arg_double(&a, "lr", 2e-5, 0, 1, &lr) == FC_ARGS_OK && lr == 2e-5, "default");
    fc_args_free(&a);
}

static void test_errors(void) {
    fc_args a;
    char *bad1[] = {"t", "x", "--nope", NULL};
    CHECK(fc_args_parse(&spec, 3, bad1, &a) == FC_ARGS_USAGE, "unknown option");
    fc_args_free(&a);
    char *bad2[] = {"t", NULL};
    CHECK(fc_args_parse(&spec, 1, bad2, &a) == FC_ARGS_USAGE, "missing positional");
    fc_args_free(&a);
    char *bad3[] = {"t", "x", "--epochs", "abc", NULL};
    long e;
    CHECK(fc_args_parse(&spec, 4, bad3, &a) == FC_ARGS_OK, "parses");
    CHECK(fc_arg_long(&a, "epochs", 30, 1, 100, &e) == FC_ARGS_USAGE, "bad integer");
    fc_args_free(&a);
    char *bad4[] = {"t", "x", "--layer", NULL};
    CHECK(fc_args_parse(&spec, 3, bad4, &a) == FC_ARGS_USAGE, "missing value");
    fc_args_free(&a);
    char *bad5[] = {"t", "x", "--layer", "a", "--layer=b", NULL};
    CHECK(fc_args_parse(&spec, 5, bad5, &a) == FC_ARGS_USAGE, "a value option twice");
    fc_args_free(&a);
    char *bad6[] = {"t", "x", "--layer", "--help", NULL};
    CHECK(fc_args_parse(&spec, 4, bad6, &a) == FC_ARGS_USAGE, "an option word as a value");
    fc_args_free(&a);
    char *ok1[] = {"t", "x", "--layer=--odd", "-q", "-q", NULL};
    CHECK(fc_args_parse(&spec, 5, ok1, &a) == FC_ARGS_OK && !strcmp(fc_arg_str(&a, "layer", ""), "--odd"),
          "--opt=--x passes such a value; a flag twice is harmless");
    fc_args_free(&a);
}

static void test_status(void) {
    fc_status st;
    fc_status_clear(&st);
    CHECK(fc_fail(&st, FC_ERR_FORMAT, "bad %d", 3) == FC_ERR_FORMAT, "returns code");
    fc_wrap(&st, "file %s", "a.png");
    CHECK(strcmp(st.msg, "file a.png: bad 3") == 0, "wrap: %s", st.msg);
    size_t out;
    CHECK(fc_size_mul4((size_t)1 << 40, (size_t)1 << 30, 1, 1, &out) == -1, "overflow caught");
    CHECK(fc_size_mul4(2, 3, 4, 5, &out) == 0 && out == 120, "mul4");
}

/* fc_utf8_text: what jansson and Python accept passes unchanged, every other byte is \xNN. */
static void test_utf8_text(void) {
    static const struct { const char *in, *out; } cases[] = {
        {"", ""}, {"cat", "cat"}, {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x88", "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x90\x88"},
        {"a\\xff", "a\\xff"},                       /* a literal backslash stays as it is */
        {"caf\xe9", "caf\\xe9"},                      /* Latin-1 */
        {"\xff\xfe", "\\xff\\xfe"},
        {"\xc0\xaf", "\\xc0\\xaf"},                  /* overlong '/' */
        {"\xed\xa0\x80", "\\xed\\xa0\\x80"},         /* a UTF-16 surrogate */
        {"\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80"}, /* above U+10FFFF */
        {"x\xe2\x82", "x\\xe2\\x82"},                /* cut short at the end */
        {"\xe2\x82x", "\\xe2\\x82x"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        fc_status st = {0};
        char *t = fc_utf8_text(cases[i].in, &st);
        CHECK(t && strcmp(t, cases[i].out) == 0, "case %zu: '%s'", i, t ? t : "(null)");
        CHECK(fc_utf8_valid(cases[i].in) == (strcmp(cases[i].in, cases[i].out) == 0), "valid %zu", i);
        CHECK(t && fc_utf8_valid(t), "output of case %zu is UTF-8", i);
        free(t);
    }
}

/* fc_text_width: the columns a terminal shows. Valid UTF-8 by its code points (wide 2,
 * combining 0); a malformed sequence shows as U+FFFDs, one column each, as Python's
 * b.decode('utf-8', 'replace') gives them (checked in CPython 3.11): one for a sequence cut
 * short (its maximal subpart), one per byte of a stray continuation, an overlong, a
 * surrogate, a code point above U+10FFFF or 0xF5..0xFF. Each input sits in a buffer of
 * exactly its size, so a read past its end is an ASan error. */
static void test_text_width(void) {
    static const struct { const char *in; int w; } cases[] = {
        {"", 0}, {"abc", 3}, {"caf\xc3\xa9", 4}, {"\xe6\x97\xa5\xe6\x9c\xac", 4}, /* 日本 */
        {"e\xcc\x81", 1},                                   /* e + combining acute */
        {"\xf0\x90\x8d\x88", 1}, {"\xf0\x9f\x98\x80", 2},     /* U+10348 narrow, U+1F600 wide */
        {"\x80", 1}, {"a\x80\xbf" "b", 4},                    /* stray continuation bytes */
        {"x\xe2\x82", 2}, {"\xf0\x9f\x90", 1}, {"\xe6", 1},  /* cut short at the end */
        {"\xe2\x82x", 2}, {"\xe6\x97\xe6\x97\xa5", 3},       /* cut short before more text */
        {"\xf0\x9f\x98x\xe2\x82", 3}, {"\xf4\x8f\xbf", 1},
        {"\xc0\xaf", 2}, {"\xc1\xbf", 2}, {"\xc0\x80", 2},      /* overlong 2-byte forms */
        {"\xe0\x80\xaf", 3}, {"\xe0\x9f\xbf", 3}, {"\xf0\x80\x80\xaf", 4}, {"\xf0\x8f\xbf\xbf", 4},
        {"\xed\xa0\x80", 3},                                 /* a UTF-16 surrogate */
        {"\xf4\x90\x80\x80", 4}, {"\xf5\x80\x80\x80", 4}, /* above U+10FFFF */
        {"\xf8\x88\x80\x80\x80", 5}, {"\xff\xfe", 2},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in) + 1;
        char *s = malloc(n);
        if (!s) return;
        memcpy(s, cases[i].in, n);
        CHECK(fc_text_width(s) == cases[i].w, "case %zu: width %d, expected %d", i, fc_text_width(s), cases[i].w);
        free(s);
    }
}

/* fc_fmt_repr: what Python's repr() prints for the same double (checked in CPython 3.11);
 * fc_fmt_repr_f32: repr of the float32's shortest digits, as numpy's str(np.float32(v)) then
 * repr(float(...)): what a Keras user typed for the setting. */
static void test_fmt_repr(void) {
    static const struct { double v; const char *s; } d[] = {
        {0.0, "0.0"}, {-0.0, "-0.0"}, {1.0, "1.0"}, {10.0, "10.0"}, {0.5, "0.5"}, {-2.5, "-2.5"},
        {2e-5, "2e-05"}, {1e-5, "1e-05"}, {1.5e-4, "0.00015"}, {1e-4, "0.0001"}, {9.99e-5, "9.99e-05"},
        {0.1, "0.1"}, {0.1 + 0.2, "0.30000000000000004"}, {123.456, "123.456"}, {1e15, "1000000000000000.0"},
        {1234567890123456.0, "1234567890123456.0"}, {1e16, "1e+16"}, {1.5e16, "1.5e+16"}, {1e22, "1e+22"},
        {1.7976931348623157e308, "1.7976931348623157e+308"}, {5e-324, "5e-324"}, {2.2250738585072014e-308, "2.2250738585072014e-308"},
        {0.00012345678901234, "0.00012345678901234"}, {0x1p-24, "5.960464477539063e-08"},
        {0x1p-44, "5.684341886080802e-14"}, {0x1p-1022, "2.2250738585072014e-308"}, {0x1p1023, "8.98846567431158e+307"},
        {NAN, "nan"}, {INFINITY, "inf"}, {-INFINITY, "-inf"},
    };
    char buf[64];
    for (size_t i = 0; i < sizeof d / sizeof d[0]; i++) {
        fc_fmt_repr(d[i].v, buf, sizeof buf);
        CHECK(!strcmp(buf, d[i].s), "repr %zu: '%s', expected '%s'", i, buf, d[i].s);
    }
    static const struct { float v; const char *s; } f[] = {
        {2e-5f, "2e-05"}, {1.5e-4f, "0.00015"}, {1.0f, "1.0"}, {0.0f, "0.0"}, {0.9f, "0.9"}, {0.25f, "0.25"},
        {0.000123456789f, "0.00012345679"}, {1e-3f, "0.001"}, {10.0f, "10.0"}, {3e-7f, "3e-07"}, {0.1f, "0.1"},
    };
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++) {
        fc_fmt_repr_f32(f[i].v, buf, sizeof buf);
        CHECK(!strcmp(buf, f[i].s), "repr f32 %zu: '%s', expected '%s'", i, buf, f[i].s);
    }
    fc_fmt_repr(2e-5, buf, 4); /* cut to fit, terminated */
    CHECK(!strcmp(buf, "2e-"), "cut: '%s'", buf);
    fc_fmt_repr(0.00015, buf, 5);
    CHECK(!strcmp(buf, "0.00"), "cut: '%s'", buf);
}

int main(void) {
    T_RUN(test_fmt_repr);
    T_RUN(test_text_width);
    T_RUN(test_utf8_text);
    T_RUN(test_parse);
    T_RUN(test_errors);
    T_RUN(test_status);
    return t_done("test_opts");
}
