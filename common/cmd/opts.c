/* opts.c - option parsing, help text and error reporting for all commands. */
#include "opts.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int find_long(const fc_cmd_spec *spec, const char *name, size_t len) {
    for (int i = 0; spec->opts && spec->opts[i].name; i++)
        if (strlen(spec->opts[i].name) == len && strncmp(spec->opts[i].name, name, len) == 0)
            return i;
    return -1;
}

static int find_short(const fc_cmd_spec *spec, char c) {
    for (int i = 0; spec->opts && spec->opts[i].name; i++)
        if (spec->opts[i].short_name == c) return i;
    return -1;
}

int fc_usage_error(const char *cmd, const char *fmt, ...) {
    va_list ap;
    fprintf(stderr, "featcache %s: ", cmd);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\ntry 'featcache %s --help'\n", cmd);
    return FC_ARGS_USAGE;
}

/* text from column `indent` (the cursor is there), words reflowed and wrapped before
 * column 88: a single newline in text is a space, a blank line starts a paragraph. */
static void put_wrapped(FILE *fp, const char *text, int indent) {
    int col = indent;
    for (const char *w = text; *w;) {
        if (w[0] == '\n' && w[1] == '\n') {
            fprintf(fp, "\n\n%*s", indent, ""), col = indent;
            while (*w == '\n') w++;
            continue;
        }
        if (*w == ' ' || *w == '\n') {
            w++;
            continue;
        }
        int len = (int)strcspn(w, " \n");
        if (col > indent && col + 1 + len > 88) fprintf(fp, "\n%*s", indent, ""), col = indent;
        else if (col > indent) fputc(' ', fp), col++;
        fprintf(fp, "%.*s", len, w);
        col += len, w += len;
    }
    fputc('\n', fp);
}

void fc_args_print_help(const fc_cmd_spec *spec, void *fpv) {
    FILE *fp = fpv;
    fprintf(fp, "usage: featcache %s %s\n\n", spec->name, spec->synopsis);
    put_wrapped(fp, spec->summary, 0);
    if (spec->opts && spec->opts[0].name) fprintf(fp, "\noptions:\n");
    for (int i = 0; spec->opts && spec->opts[i].name; i++) {
        const fc_opt *o = &spec->opts[i];
        char lhs[96];
        if (o->short_name)
            snprintf(lhs, sizeof lhs, "-%c, --%s%s%s", o->short_name, o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        else
            snprintf(lhs, sizeof lhs, "    --%s%s%s", o->name, o->arg ? " " : "",
                     o->arg ? o->arg : "");
        if (strlen(lhs) > 30) fprintf(fp, "  %s\n%33s", lhs, ""); /* long: help on the next line */
        else fprintf(fp, "  %-30s ", lhs);
        put_wrapped(fp, o->help ? o->help : "", 33);
    }
    fprintf(fp, "  %-30s %s\n", "-h, --help", "show this help");
}

static int parse_inner(const fc_cmd_spec *spec, int argc, char **argv, fc_args *a);

/* On help or a usage error the positional buffer is freed here, so commands may return
 * at once (fc_args_free afterwards is harmless). */
int fc_args_parse(const fc_cmd_spec *spec, int argc, char **argv, fc_args *a) {
    int rc = parse_inner(spec, argc, argv, a);
    if (rc != FC_ARGS_OK) fc_args_free(a);
    return rc;
}

static int parse_inner(const fc_cmd_spec *spec, int argc, char **argv, fc_args *a) {
    memset(a, 0, sizeof *a);
    a->spec = spec;
    a->pos = calloc((size_t)(argc > 0 ? argc : 1), sizeof *a->pos);
    if (!a->pos) {
        fprintf(stderr, "featcache %s: out of memory\n", spec->name);
        return FC_ARGS_USAGE;
    }
    int only_pos = 0;
    for (int i = 1; i < argc; i++) {
        char *s = argv[i];
        if (only_pos || s[0] != '-' || s[1] == '\0') {
            a->pos[a->npos++] = s;
            continue;
        }
        if (strcmp(s, "--") == 0) {
            only_pos = 1;
            continue;
        }
        if (strcmp(s, "-h") == 0 || strcmp(s, "--help") == 0) {
            fc_args_print_help(spec, stdout);
            return FC_ARGS_HELP;
        }
        int idx;
        const char *inline_val = NULL;
        if (s[1] == '-') {
            const char *name = s + 2, *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);
            idx = find_long(spec, name, len);
            if (idx < 0) { /* "did you mean" the nearest option for a typo (review 12 B F9) */
                char typed[128];
                snprintf(typed, sizeof typed, "%.*s", (int)(len < 120 ? len : 120), name);
                const char *near = NULL;
                int best = len > 4 ? 3 : 2;
                for (int k = 0; spec->opts[k].name; k++) {
                    int d = fc_edit_distance(typed, spec->opts[k].name);
                    if (d < best) best = d, near = spec->opts[k].name;
                }
                /* else one name inside the other's start: --pooling (Keras's word) for --pool,
                 * --epoch for --epochs; the longest such (--augment-seed-value: --augment-seed,
                 * not --augment) */
                size_t longest = 2;
                const int by_edit = near != NULL;
                for (int k = 0; !by_edit && spec->opts[k].name; k++) {
                    size_t ol = strlen(spec->opts[k].name), m = ol < len ? ol : len;
                    if (m > longest && strncmp(typed, spec->opts[k].name, m) == 0)
                        longest = m, near = spec->opts[k].name;
                }
                if (near)
                    return fc_usage_error(spec->name, "unknown option '%.*s' (did you mean '--%s'?)", (int)(len + 2), s,
                                          near);
                return fc_usage_error(spec->name, "unknown option '%.*s'", (int)(len + 2), s);
            }
            if (eq) inline_val = eq + 1;
        } else {
            if (s[2] != '\0' || (idx = find_short(spec, s[1])) < 0)
                return fc_usage_error(spec->name, "unknown option '%s'", s);
        }
        const fc_opt *o = &spec->opts[idx];
        if (!o->arg) {
            if (inline_val) return fc_usage_error(spec->name, "option --%s takes no value", o->name);
            a->val[idx] = "1";
            continue;
        }
        /* a value option given twice would silently keep the last (a second --grid dropping
         * the first): refused */
        if (a->val[idx])
        { /* named as typed the second time: -o, or --output (review 12 B F20) */
            char typed[8];
            if (o->short_name && s[1] != '-') snprintf(typed, sizeof typed, "-%c", o->short_name);
            return fc_usage_error(spec->name, "option %s%s given twice ('%s', then '%s'); give it once",
                                  o->short_name && s[1] != '-' ? typed : "--", o->short_name && s[1] != '-' ? "" : o->name,
                                  a->val[idx], inline_val ? inline_val : i + 1 < argc ? argv[i + 1] : "");
        }
        if (inline_val) {
            a->val[idx] = inline_val;
        } else {
            /* "-o --help": the next word is an option, not this one's value (--opt=--x
             * still passes such a value) */
            if (i + 1 >= argc || strncmp(argv[i + 1], "--", 2) == 0)
                return fc_usage_error(spec->name, "%.*s needs a value (%s)", (int)strcspn(s, "="), s, o->arg);
            a->val[idx] = argv[++i];
        }
    }
    for (int k = 0; k < a->npos; k++) /* `featcache train "$STORE"` with STORE unset */
        if (a->pos[k] && !a->pos[k][0])
            return fc_usage_error(spec->name, "argument %d is empty (an unset shell variable?): usage: featcache %s %s",
                                  k + 1, spec->name, spec->synopsis);
    if (a->npos < spec->min_pos)
        return fc_usage_error(spec->name, "missing argument(s): usage: featcache %s %s", spec->name,
                              spec->synopsis);
    if (spec->max_pos >= 0 && a->npos > spec->max_pos)
        return fc_usage_error(spec->name, "unexpected argument '%s' (%s takes at most %d)", a->pos[spec->max_pos],
                              spec->name, spec->max_pos);
    return FC_ARGS_OK;
}

void fc_args_free(fc_args *a) {
    if (!a) return;
    free(a->pos);
    a->pos = NULL;
}

static int opt_index(const fc_args *a, const char *name) {
    int idx = find_long(a->spec, name, strlen(name));
    if (idx < 0) {
        fprintf(stderr, "featcache %s: internal error: no option --%s\n", a->spec->name, name);
        abort();
    }
    return idx;
}

const char *fc_arg_str(const fc_args *a, const char *name, const char *def) {
    const char *v = a->val[opt_index(a, name)];
    return v ? v : def;
}

int fc_arg_flag(const fc_args *a, const char *name) { return a->val[opt_index(a, name)] != NULL; }

int fc_arg_long(const fc_args *a, const char *name, long def, long min, long max, long *out) {
    const char *v = a->val[opt_index(a, name)];
    if (!v) {
        *out = def;
        return FC_ARGS_OK;
    }
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno || end == v || *end || x < min || x > max)
        return fc_usage_error(a->spec->name, "--%s: '%s' is not an integer in [%ld, %ld]", name, v, min, max);
    *out = x;
    return FC_ARGS_OK;
}

int fc_arg_double(const fc_args *a, const char *name, double def, double min, double max,
                  double *out) {
    const char *v = a->val[opt_index(a, name)];
    if (!v) {
        *out = def;
        return FC_ARGS_OK;
    }
    char *end;
    errno = 0;
    double x = strtod(v, &end);
    if (errno || end == v || *end || !isfinite(x) || x < min || x > max)
        return fc_usage_error(a->spec->name, "--%s: '%s' is not a number in [%g, %g]", name, v, min, max);
    *out = x;
    return FC_ARGS_OK;
}

/* Appends the bytes of s to buf at *n while they fit (cap - 1 at most, NUL kept). */
static void put(char *buf, size_t cap, size_t *n, const char *s, size_t len) {
    for (size_t i = 0; i < len && *n + 1 < cap; i++) buf[(*n)++] = s[i];
    buf[*n] = '\0';
}

void fc_command_line(char *buf, size_t cap, int argc, char **argv) {
    size_t n = 0;
    if (!cap) return;
    buf[0] = '\0';
    put(buf, cap, &n, "featcache", 9);
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int plain = a[0] != '\0';
        for (const char *c = a; *c && plain; c++)
            plain = isalnum((unsigned char)*c) || strchr("-_./=:,@+%", *c);
        put(buf, cap, &n, " ", 1);
        if (plain) {
            put(buf, cap, &n, a, strlen(a));
            continue;
        }
        put(buf, cap, &n, "'", 1); /* '...', a quote inside as '\'' */
        for (const char *c = a; *c; c++) {
            if (*c == '\'') put(buf, cap, &n, "'\\''", 4);
            else put(buf, cap, &n, c, 1);
        }
        put(buf, cap, &n, "'", 1);
    }
}

int fc_report(const char *cmd, const fc_status *st) {
    fprintf(stderr, "featcache %s: error: ", cmd); /* the message may quote a file name */
    fc_fputs_printable(st && st->msg[0] ? st->msg : "unknown error", stderr);
    fputc('\n', stderr);
    return st && st->code == FC_ERR_ARG ? 2 : 1;
}

int fc_parse_hw(const char *s, int max, int *h, int *w) {
    char *end;
    long a = strtol(s, &end, 10), b = a;
    if (end == s) return -1;
    if (*end == 'x' || *end == 'X') {
        const char *t = end + 1;
        b = strtol(t, &end, 10);
        if (end == t) return -1;
    }
    if (*end || a < 1 || b < 1 || a > max || b > max) return -1;
    *h = (int)a, *w = (int)b;
    return 0;
}
