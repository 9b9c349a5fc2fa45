/* fc.h - status codes, error reporting and overflow-safe sizes shared by all of featcache.
 *
 * The library (common/) never prints to stdout and never exits: every fallible function
 * returns an int (0 = ok, nonzero = the fc_code) and fills an fc_status with a message
 * that names the file and the problem. Only main() and cmd_*() choose exit codes. */
#ifndef FC_H
#define FC_H

#include <stddef.h>
#include <stdio.h>
#include <stdint.h>

#define FC_VERSION "0.1.0"
/* Bumped whenever a change can alter stored feature values; part of every fingerprint. */
#define FC_NUMERICS_VERSION "1"

typedef enum {
    FC_OK = 0,
    FC_ERR_IO,       /* cannot open/read/write a file */
    FC_ERR_FORMAT,   /* file is corrupt, truncated, foreign, or not what it claims */
    FC_ERR_UNSUPPORTED, /* valid but not handled (unknown layer class, codec ...) */
    FC_ERR_MISMATCH, /* provenance / shape / fingerprint mismatch */
    FC_ERR_BUSY,     /* store locked by another process */
    FC_ERR_NOMEM,    /* allocation failed or a declared size exceeds limits */
    FC_ERR_ARG,      /* bad argument value (mapped to exit 2 by commands when from the CLI) */
    FC_ERR_INTERRUPTED,
    FC_ERR_INTERNAL
} fc_code;

typedef struct {
    fc_code code;
    char msg[1024];
} fc_status;

/* Sets st->code and formats st->msg; returns code so callers can `return fc_fail(...)`.
 * st may be NULL. */
int fc_fail(fc_status *st, fc_code code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Prepends "prefix: " to an existing message (adds context while unwinding). */
int fc_wrap(fc_status *st, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void fc_status_clear(fc_status *st);
const char *fc_code_name(fc_code code);

/* Overflow-safe size arithmetic: return 0 on success, -1 on overflow. */
static inline int fc_size_mul(size_t a, size_t b, size_t *out) {
    return __builtin_mul_overflow(a, b, out) ? -1 : 0;
}
static inline int fc_size_add(size_t a, size_t b, size_t *out) {
    return __builtin_add_overflow(a, b, out) ? -1 : 0;
}
/* a*b*c*d with overflow check (pass 1 for unused factors). */
int fc_size_mul4(size_t a, size_t b, size_t c, size_t d, size_t *out);

/* Hard ceilings for sizes declared by untrusted files (checked before any allocation). */
#define FC_MAX_TENSOR_ELEMS ((size_t)1 << 31)      /* 8 GiB of float32 */
#define FC_MAX_DIM 65536
#define FC_MAX_IMAGE_PIXELS_DEFAULT ((size_t)89478485) /* PIL's decompression-bomb limit */

/* Allocation helpers that report through fc_status (never abort). 64-byte aligned. */
void *fc_malloc(size_t n, fc_status *st);
void *fc_calloc(size_t n, size_t size, fc_status *st);
void *fc_aligned_alloc(size_t n, fc_status *st);  /* free with free() */
char *fc_strdup(const char *s, fc_status *st);

#ifdef __clang_analyzer__
/* The static analyzer (make lint) sees one file at a time, so it cannot know what
 * status.c guarantees: fc_fail/fc_wrap return nonzero and leave st->code nonzero, and the
 * allocators set st->code when they return NULL. Without this it explores "failed but
 * returned 0" paths that do not exist. The nonzero return is asserted in the macro itself
 * (the analyzer stops inlining helpers in deep call chains). Analyzer-only; status.c
 * #undefs these. */
static inline int fc_analyzer_failed(fc_status *st, int rc) {
    if (st) __builtin_assume(st->code != FC_OK);
    return rc;
}
static inline void *fc_analyzer_alloc(fc_status *st, void *p) {
    if (!p && st) __builtin_assume(st->code != FC_OK);
    return p;
}
static inline char *fc_analyzer_str(fc_status *st, char *p) {
    if (!p && st) __builtin_assume(st->code != FC_OK);
    return p;
}
#define FC_ANALYZER_NONZERO_(e) ({ int fc_rc_ = (e); __builtin_assume(fc_rc_ != 0); fc_rc_; })
#define fc_fail(st, ...) FC_ANALYZER_NONZERO_(fc_analyzer_failed((st), fc_fail((st), __VA_ARGS__)))
#define fc_wrap(st, ...) FC_ANALYZER_NONZERO_(fc_analyzer_failed((st), fc_wrap((st), __VA_ARGS__)))
#define fc_malloc(n, st) fc_analyzer_alloc((st), fc_malloc((n), (st)))
#define fc_calloc(n, size, st) fc_analyzer_alloc((st), fc_calloc((n), (size), (st)))
#define fc_aligned_alloc(n, st) fc_analyzer_alloc((st), fc_aligned_alloc((n), (st)))
#define fc_strdup(s, st) fc_analyzer_str((st), fc_strdup((s), (st)))
#endif

/* Opens path read-only if it is a regular file, without blocking on a FIFO (common/
 * openfile.c): "PATH: not a regular file" for a FIFO, device or socket, "PATH: cannot
 * open: REASON" otherwise. Returns the fd (sb filled when not NULL), or -1 with st set. */
struct stat;
int fc_open_regular(const char *path, struct stat *sb, fc_status *st);
/* The same as a FILE opened "rb"; NULL with st set. */
FILE *fc_fopen_regular(const char *path, struct stat *sb, fc_status *st);

/* path with its symlinks resolved, into out[cap]: the file's own realpath when follow_file
 * and it exists, else its folder's realpath + its name (a file not made yet, or a link
 * kept as a name); path itself when the folder cannot be resolved. So ./x, d/../x and a
 * symlinked folder name one place. */
void fc_path_resolve(const char *path, int follow_file, char *out, size_t cap);
/* What the first bytes of a regular file say it is ("a PNG image", "an SQLite database (a
 * featcache store?)", "a text file", ...), for errors that name a wrong kind of file; NULL
 * when unreadable or unknown. */
const char *fc_file_kind(const char *path);

/* Number of online CPUs (>= 1). */
int fc_online_cpus(void);
/* Monotonic seconds. */
double fc_now(void);
/* The kernel's MemAvailable in bytes (/proc/meminfo), plus SwapFree when with_swap; -1 if
 * unknown. FC_TEST_MEM_AVAILABLE (bytes) overrides it, for tests of the refusals. */
double fc_mem_available(int with_swap);
/* Test hook: when the environment variable `name` (an FC_TEST_HOOK_* name) is set and not
 * empty, runs its value with /bin/sh and waits for it, so that a CLI test can change a store
 * at that exact point of a command (a race between two processes made deterministic). A
 * hook that fails is said on stderr. The values "raise INT", "raise TERM" and "raise HUP"
 * raise that signal in the process instead (a Ctrl-C at that point), and "raise STOP"
 * stops it there, so that a test can send it a signal from outside and SIGCONT it. Unset
 * (always, outside tests): nothing happens. */
void fc_test_hook(const char *name);
/* FC_OK when `bytes` fit in the memory available (memory + swap; unknown: they fit), else
 * FC_ERR_NOMEM with "WHAT would take N of memory, more than the M available (memory + swap)".
 * For sizes a file declares, before allocating them. */
int fc_mem_check(double bytes, const char *what, fc_status *st);
/* b bytes as "812 B", "3.5 KiB", "400 KiB", "1.2 GiB" (powers of 1024, one decimal unless .0). */
void fc_fmt_bytes(double b, char *out, size_t cap);
/* v as Python's repr() prints a float, the form Keras users see settings in: the fewest
 * digits that read back to v, positional from 1e-4 up to 1e16 with a decimal at least
 * (0.0001, 0.5, 1.0, 0.0), else in exponent form with two exponent digits at least (2e-05,
 * 1.5e+16); nan, inf, -inf. Cut to fit cap. */
void fc_fmt_repr(double v, char *out, size_t cap);
/* The same for a float32 setting: its fewest digits that read back to the float32 (lr
 * 2e-5f is 2e-05, not 1.9999999494757503e-05), what the user typed. */
void fc_fmt_repr_f32(float v, char *out, size_t cap);
/* s made safe for a terminal, into out[cap] (always terminated, cut to fit): bytes below
 * 0x20 and 0x7f are written as \n, \r, \t or \xNN, so a file name cannot move the cursor,
 * recolour or fake a line of output; UTF-8 and other bytes are kept. Returns out. */
const char *fc_printable(const char *s, char *out, size_t cap);
/* Prints s with fc_printable to f, whatever its length. */
void fc_fputs_printable(const char *s, FILE *f);
/* Levenshtein distance of a and b (their first 127 bytes), for "did you mean" hints. */
int fc_edit_distance(const char *a, const char *b);
/* Terminal columns s takes: UTF-8 decoded, East Asian wide characters 2 columns, combining
 * marks 0, anything else 1; malformed UTF-8 1 per U+FFFD a terminal shows for it: one for a
 * sequence cut short, one per byte of a stray continuation byte, an overlong form or a
 * surrogate (Unicode's maximal subparts, as Python and WHATWG decode). Reads nothing past
 * the NUL. For aligning tables of class names. */
int fc_text_width(const char *s);
/* Prints s to stdout padded with spaces to `width` columns (fc_text_width), on the left
 * when right_align, else on the right. */
void fc_print_padded(const char *s, int width, int right_align);
/* 1 if s is valid UTF-8 (RFC 3629: no overlong forms, surrogates or code points above
 * U+10FFFF; what jansson and Python's decoder accept). */
int fc_utf8_valid(const char *s);
/* s as UTF-8 text, malloc'd: each byte that is not part of a valid UTF-8 sequence becomes
 * the four characters \xNN; valid text comes back unchanged. A folder named with Latin-1
 * bytes, "caf\xe9", is a class 'caf\xe9' in heads and exports (formats that require
 * UTF-8); the store keeps the bytes. NULL with st set when out of memory. */
char *fc_utf8_text(const char *s, fc_status *st);

#endif
