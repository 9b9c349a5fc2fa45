/* status.c - fc_status helpers, overflow-safe sizes and checked allocation. */
#define _GNU_SOURCE
#include "fc.h"
#ifdef __clang_analyzer__ /* the analyzer-only models in fc.h wrap calls, not these definitions */
#undef fc_fail
#undef fc_wrap
#undef fc_malloc
#undef fc_calloc
#undef fc_aligned_alloc
#undef fc_strdup
#endif

#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

int fc_fail(fc_status *st, fc_code code, const char *fmt, ...) {
    if (st) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(st->msg, sizeof st->msg, fmt, ap);
        va_end(ap);
        st->code = code;
    }
    return (int)code;
}

int fc_wrap(fc_status *st, const char *fmt, ...) {
    if (!st) return FC_ERR_INTERNAL;
    char prefix[512], old[sizeof st->msg];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(prefix, sizeof prefix, fmt, ap);
    va_end(ap);
    memcpy(old, st->msg, sizeof old);
    snprintf(st->msg, sizeof st->msg, "%s: %s", prefix, old);
    if (st->code == FC_OK) st->code = FC_ERR_INTERNAL;
    return (int)st->code;
}

void fc_status_clear(fc_status *st) {
    if (st) {
        st->code = FC_OK;
        st->msg[0] = '\0';
    }
}

const char *fc_code_name(fc_code code) {
    switch (code) {
    case FC_OK: return "ok";
    case FC_ERR_IO: return "I/O error";
    case FC_ERR_FORMAT: return "bad format";
    case FC_ERR_UNSUPPORTED: return "unsupported";
    case FC_ERR_MISMATCH: return "mismatch";
    case FC_ERR_BUSY: return "busy";
    case FC_ERR_NOMEM: return "out of memory";
    case FC_ERR_ARG: return "bad argument";
    case FC_ERR_INTERRUPTED: return "interrupted";
    case FC_ERR_INTERNAL: return "internal error";
    }
    return "unknown";
}

int fc_size_mul4(size_t a, size_t b, size_t c, size_t d, size_t *out) {
    size_t x;
    if (fc_size_mul(a, b, &x) || fc_size_mul(x, c, &x) || fc_size_mul(x, d, &x)) return -1;
    *out = x;
    return 0;
}

void *fc_malloc(size_t n, fc_status *st) {
    void *p = malloc(n ? n : 1);
    if (!p) fc_fail(st, FC_ERR_NOMEM, "out of memory allocating %zu bytes", n);
    return p;
}

void *fc_calloc(size_t n, size_t size, fc_status *st) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) fc_fail(st, FC_ERR_NOMEM, "out of memory allocating %zu x %zu bytes", n, size);
    return p;
}

/* Arrays of 4 MiB and more (a head's first-layer kernel and optimizer state, decoded
 * features, a backbone's activation arena) are walked over and over: they get 2 MiB
 * alignment and ask for transparent huge pages, so the walks do not miss the TLB every
 * 4 KiB (bench/train.sh: a seed-001 training step ~5-10% faster on Zen 3). The kernel may
 * decline (THP "never", no free huge page); the memory is ordinary then. */
#define FC_HUGE_MIN ((size_t)4 << 20)
#define FC_HUGE_PAGE ((size_t)2 << 20)

void *fc_aligned_alloc(size_t n, fc_status *st) {
    void *p = NULL;
    size_t size = n ? n : 64, align = 64;
    if (size >= FC_HUGE_MIN && size <= SIZE_MAX - FC_HUGE_PAGE)
        align = FC_HUGE_PAGE, size = (size + FC_HUGE_PAGE - 1) & ~(FC_HUGE_PAGE - 1);
    if (posix_memalign(&p, align, size) != 0) {
        fc_fail(st, FC_ERR_NOMEM, "out of memory allocating %zu bytes", n);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    if (align == FC_HUGE_PAGE) (void)madvise(p, size, MADV_HUGEPAGE);
#endif
    return p;
}

char *fc_strdup(const char *s, fc_status *st) {
    char *p = strdup(s ? s : "");
    if (!p) fc_fail(st, FC_ERR_NOMEM, "out of memory");
    return p;
}

int fc_online_cpus(void) {
    long n = sysconf(_SC_NPROCESSORS_ONLN);
    return n < 1 ? 1 : (int)n;
}

double fc_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double fc_mem_available(int with_swap) {
    const char *fake = getenv("FC_TEST_MEM_AVAILABLE"); /* tests: pretend a small machine */
    if (fake && *fake) return strtod(fake, NULL);
    const char *path = getenv("FC_TEST_MEMINFO"); /* tests: another kernel's /proc/meminfo */
    FILE *f = fopen(path && *path ? path : "/proc/meminfo", "r");
    if (!f) return -1;
    char line[256];
    double kb = -1, swap = 0, v;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "MemAvailable: %lf kB", &v) == 1) kb = v;
        else if (sscanf(line, "SwapFree: %lf kB", &v) == 1) swap = v;
    fclose(f);
    /* some sandboxes and container runtimes report MemAvailable: 0: not a reading, and no
     * reason to refuse a 3 KiB buffer; unknown (-1) lets the allocation itself decide */
    return kb <= 0 ? -1 : (kb + (with_swap ? swap : 0)) * 1024.0;
}

void fc_test_hook(const char *name) {
    const char *cmd = getenv(name);
    if (!cmd || !*cmd) return;
    fflush(NULL); /* the hook's output after ours */
    /* always said: a variable left in an environment (sudo -E, a cluster's exported
     * environment) must not run a command unnoticed */
    fprintf(stderr, "featcache: test hook %s runs: %s\n", name, cmd);
    /* system() ignores SIGINT while its shell runs, so `kill -INT $PPID` would be lost */
    int sig = !strcmp(cmd, "raise INT") ? SIGINT : !strcmp(cmd, "raise TERM") ? SIGTERM
              : !strcmp(cmd, "raise HUP") ? SIGHUP : !strcmp(cmd, "raise STOP") ? SIGSTOP : 0;
    if (sig) {
        raise(sig); /* through the installed handler, as a signal from outside */
        return;
    }
    int r = system(cmd);
    if (r != 0) fprintf(stderr, "featcache: test hook %s failed (status %d): %s\n", name, r, cmd);
}

int fc_mem_check(double bytes, const char *what, fc_status *st) {
    double avail = fc_mem_available(1);
    if (avail < 0 || bytes <= avail) return FC_OK;
    char need_s[32], avail_s[32];
    fc_fmt_bytes(bytes, need_s, sizeof need_s);
    fc_fmt_bytes(avail, avail_s, sizeof avail_s);
    return fc_fail(st, FC_ERR_NOMEM, "%s would take %s of memory, more than the %s available (memory + swap)", what,
                   need_s, avail_s);
}

void fc_fmt_bytes(double b, char *out, size_t cap) {
    static const char *const unit[] = {"B", "KiB", "MiB", "GiB", "TiB"};
    int i = 0;
    while (b >= 1024 && i < 4) b /= 1024, i++;
    int n = snprintf(out, cap, i ? "%.1f %s" : "%.0f %s", b, unit[i]);
    char *dot = i && n > 0 && (size_t)n < cap ? strstr(out, ".0 ") : NULL;
    if (dot) memmove(dot, dot + 2, strlen(dot + 2) + 1); /* "400.0 KiB" -> "400 KiB" */
}

/* e[cap] = "[-]D.DDDe+XX" for the p+1 decimal digits of m (m < 10^(p+1); a carry to 10^(p+1)
 * moves the exponent) times 10^x. */
static void put_e(int neg, unsigned long long m, int p, int x, char *e, size_t cap) {
    char d[24];
    int nd = snprintf(d, sizeof d, "%llu", m);
    x += nd - (p + 1);
    snprintf(e, cap, "%s%c%s%.*se%+03d", neg ? "-" : "", d[0], nd > 1 ? "." : "", nd - 1, d + 1, x);
}

/* The fewest digits that read back to v (to the float32 v when f32) into e[cap] as
 * "[-]D[.DDD]e+XX", the form C's %e gives and Python's repr lays out. At a power of two the
 * values that read back to v reach twice as far above v as below, so a string one unit in
 * the last place above the nearest p-digit decimal may read back when the nearest does not
 * (2^-24: 5.960464477539063e-08, not the 17 digits of the nearest rule); CPython's repr
 * takes it. */
static void shortest_e(double v, int f32, char *e, size_t cap) {
    for (int p = 0; p <= 16; p++) {
        snprintf(e, cap, "%.*e", p, v);
        double back = strtod(e, NULL);
        if (f32 ? (float)back == (float)v : back == v) return;
        int neg = e[0] == '-', x = 0;
        unsigned long long m = 0;
        const char *q = e + neg;
        for (; *q && *q != 'e'; q++)
            if (*q != '.') m = m * 10 + (unsigned)(*q - '0');
        if (*q == 'e') x = atoi(q + 1);
        char t[40];
        for (int s = -1; s <= 1; s += 2) { /* the neighbour on v's side of the nearest */
            if ((fabs(back) > fabs(v)) != (s < 0) || (s < 0 && m == 0)) continue;
            put_e(neg, m + (unsigned long long)s, p, x, t, sizeof t);
            double b2 = strtod(t, NULL);
            if (f32 ? (float)b2 == (float)v : b2 == v) {
                snprintf(e, cap, "%s", t);
                return;
            }
        }
    }
}

static void fmt_repr(double v, int f32, char *out, size_t cap) {
    if (!cap) return;
    if (!isfinite(v)) {
        snprintf(out, cap, "%s", isnan(v) ? "nan" : v < 0 ? "-inf" : "inf");
        return;
    }
    char e[40], dig[24] = "0";
    shortest_e(v, f32, e, sizeof e);
    int nd = 0, neg = e[0] == '-';
    const char *q = e + neg;
    for (; *q && *q != 'e' && nd < (int)sizeof dig; q++)
        if (*q != '.') dig[nd++] = *q;
    int x = *q == 'e' ? atoi(q + 1) : 0; /* |v| = D.DDD * 10^x */
    while (nd > 1 && dig[nd - 1] == '0') nd--;
    size_t o = 0;
#define PUT(c)                                                                                                        \
    do {                                                                                                              \
        if (o + 1 < cap) out[o++] = (c);                                                                              \
    } while (0)
    if (neg) PUT('-');
    if (x >= -4 && x < 16) { /* positional, as repr prints 0.0001 to 1e16 */
        if (x < 0) {
            PUT('0');
            PUT('.');
            for (int i = -1; i > x; i--) PUT('0');
            for (int i = 0; i < nd; i++) PUT(dig[i]);
        } else {
            for (int i = 0; i <= x; i++) PUT(i < nd ? dig[i] : '0');
            PUT('.');
            if (nd <= x + 1) PUT('0'); /* 1.0, 10.0: a float, not an int */
            for (int i = x + 1; i < nd; i++) PUT(dig[i]);
        }
        out[o] = '\0';
        return;
    }
    PUT(dig[0]);
    if (nd > 1) PUT('.');
    for (int i = 1; i < nd; i++) PUT(dig[i]);
#undef PUT
    snprintf(out + o, cap - o, "e%c%02d", x < 0 ? '-' : '+', x < 0 ? -x : x);
}

void fc_fmt_repr(double v, char *out, size_t cap) { fmt_repr(v, 0, out, cap); }

void fc_fmt_repr_f32(float v, char *out, size_t cap) { fmt_repr((double)v, 1, out, cap); }

/* The escape of one byte c (< 0x20 or 0x7f) into e[5]. */
static void escape_byte(unsigned char c, char e[5]) {
    if (c == '\n') snprintf(e, 5, "\\n");
    else if (c == '\r') snprintf(e, 5, "\\r");
    else if (c == '\t') snprintf(e, 5, "\\t");
    else snprintf(e, 5, "\\x%02x", c);
}

const char *fc_printable(const char *s, char *out, size_t cap) {
    size_t o = 0;
    if (!cap) return out;
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        char e[5] = {(char)*p, 0};
        if (*p < 0x20 || *p == 0x7f) escape_byte(*p, e);
        size_t n = strlen(e);
        if (o + n >= cap) break;
        memcpy(out + o, e, n), o += n;
    }
    out[o] = '\0';
    return out;
}

/* The length a lead byte p0 announces (0: not a lead byte) and the range [*lo, *hi] its
 * first continuation byte must fall in (no overlongs, surrogates or code points above
 * U+10FFFF). */
static int utf8_lead(unsigned char p0, unsigned *lo, unsigned *hi) {
    *lo = 0x80, *hi = 0xBF;
    if (p0 < 0x80) return 1;
    if (p0 >= 0xC2 && p0 <= 0xDF) return 2;
    if (p0 >= 0xE0 && p0 <= 0xEF) {
        *lo = p0 == 0xE0 ? 0xA0 : 0x80, *hi = p0 == 0xED ? 0x9F : 0xBF;
        return 3;
    }
    if (p0 >= 0xF0 && p0 <= 0xF4) {
        *lo = p0 == 0xF0 ? 0x90 : 0x80, *hi = p0 == 0xF4 ? 0x8F : 0xBF;
        return 4;
    }
    return 0;
}

/* Length of the valid UTF-8 sequence at p (1..4), 0 if p does not start one. A NUL ends
 * the check early (never a continuation byte), so nothing past the string is read. */
static int utf8_seq(const unsigned char *p) {
    unsigned lo, hi;
    int n = utf8_lead(p[0], &lo, &hi);
    if (n <= 1) return n;
    if (p[1] < lo || p[1] > hi) return 0;
    for (int i = 2; i < n; i++)
        if (p[i] < 0x80 || p[i] > 0xBF) return 0;
    return n;
}

/* The bytes of the malformed sequence at p that a decoder replaces by one U+FFFD (Unicode's
 * "maximal subpart", as Python's errors='replace', WHATWG and VTE do): a lead byte with the
 * continuation bytes that could still have completed it, else the one byte. */
static int utf8_bad_len(const unsigned char *p) {
    unsigned lo, hi;
    int n = utf8_lead(p[0], &lo, &hi), k = 1;
    if (n < 2 || p[1] < lo || p[1] > hi) return 1;
    for (k = 2; k < n && p[k] >= 0x80 && p[k] <= 0xBF; k++) {
    }
    return k;
}

int fc_utf8_valid(const char *s) {
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_seq(p);
        if (!n) return 0;
        p += n;
    }
    return 1;
}

char *fc_utf8_text(const char *s, fc_status *st) {
    size_t len = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_seq(p);
        len += n ? (size_t)n : 4;
        p += n ? n : 1;
    }
    char *out = fc_malloc(len + 1, st), *o = out;
    if (!out) return NULL;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_seq(p);
        if (n) memcpy(o, p, (size_t)n), o += n, p += n;
        else o += sprintf(o, "\\x%02x", *p++);
    }
    *o = '\0';
    return out;
}

void fc_fputs_printable(const char *s, FILE *f) {
    char e[5];
    for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
        if (*p >= 0x20 && *p != 0x7f) {
            fputc(*p, f);
            continue;
        }
        escape_byte(*p, e);
        fputs(e, f);
    }
}

/* Columns of code point c: East Asian Wide and Fullwidth blocks 2, combining marks 0. */
static int cp_width(uint32_t c) {
    if ((c >= 0x300 && c <= 0x36F) || (c >= 0x1AB0 && c <= 0x1AFF) || (c >= 0x1DC0 && c <= 0x1DFF) ||
        (c >= 0x20D0 && c <= 0x20FF) || (c >= 0xFE20 && c <= 0xFE2F) || c == 0x200B || c == 0x200D)
        return 0;
    if ((c >= 0x1100 && c <= 0x115F) || (c >= 0x2E80 && c <= 0x303E) || (c >= 0x3041 && c <= 0x33FF) ||
        (c >= 0x3400 && c <= 0x4DBF) || (c >= 0x4E00 && c <= 0x9FFF) || (c >= 0xA000 && c <= 0xA4CF) ||
        (c >= 0xAC00 && c <= 0xD7A3) || (c >= 0xF900 && c <= 0xFAFF) || (c >= 0xFE30 && c <= 0xFE4F) ||
        (c >= 0xFF00 && c <= 0xFF60) || (c >= 0xFFE0 && c <= 0xFFE6) || (c >= 0x1F300 && c <= 0x1F64F) ||
        (c >= 0x1F900 && c <= 0x1F9FF) || (c >= 0x20000 && c <= 0x3FFFD))
        return 2;
    return 1;
}

int fc_text_width(const char *s) {
    int w = 0;
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        int n = utf8_seq(p); /* reads no further than the NUL */
        if (!n) { /* not UTF-8 (stray, cut short, overlong, surrogate): a terminal shows U+FFFD */
            w++, p += utf8_bad_len(p);
            continue;
        }
        uint32_t c = n == 1 ? p[0] : p[0] & (0x7Fu >> n);
        for (int k = 1; k < n; k++) c = c << 6 | (p[k] & 0x3Fu);
        w += cp_width(c);
        p += n;
    }
    return w;
}

void fc_print_padded(const char *s, int width, int right_align) {
    int pad = width - fc_text_width(s);
    if (right_align)
        for (; pad > 0; pad--) putchar(' ');
    fputs(s, stdout);
    if (!right_align)
        for (; pad > 0; pad--) putchar(' ');
}
