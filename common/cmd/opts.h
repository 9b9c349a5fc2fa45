/* opts.h - the one option parser used by every featcache command.
 *
 * A command declares its options in a table; fc_args_parse() accepts --long, --long=V,
 * -s V, and positionals in any order ("--" ends options), prints `--help`, and reports
 * usage errors on stderr. Values are looked up by long name. An option that takes a value
 * may be given once (twice is a usage error, not last-wins), and its value, when it is the
 * next word, may not start with "--" ("-o --help" is "-o needs a value"; "--output=--x"
 * passes one). */
#ifndef FC_OPTS_H
#define FC_OPTS_H

#include "../fc.h"

#define FC_MAX_OPTS 64

typedef struct {
    const char *name;      /* long name without dashes, e.g. "layer" */
    char short_name;       /* e.g. 'm', or 0 */
    const char *arg;       /* metavar ("NAME"); NULL for a boolean flag */
    const char *help;
} fc_opt;

typedef struct {
    const char *name;      /* command name, e.g. "extract" */
    const char *synopsis;  /* e.g. "IMAGE_DIR -m MODEL -o STORE [options]" */
    const char *summary;   /* one line */
    const fc_opt *opts;    /* terminated by {0} */
    int min_pos, max_pos;  /* positional count bounds; max_pos < 0 = unlimited */
} fc_cmd_spec;

typedef struct {
    const fc_cmd_spec *spec;
    const char *val[FC_MAX_OPTS]; /* value per option index ("1" for flags), NULL if unset */
    int npos;
    char **pos;                  /* positionals (points into a malloc'd array) */
} fc_args;

enum { FC_ARGS_OK = -1, FC_ARGS_HELP = 0, FC_ARGS_USAGE = 2 };

/* Returns FC_ARGS_OK to go on, FC_ARGS_HELP (help printed; exit 0) or FC_ARGS_USAGE
 * (error printed; exit 2). argv[0] is the command name. */
int fc_args_parse(const fc_cmd_spec *spec, int argc, char **argv, fc_args *a);
void fc_args_free(fc_args *a);
void fc_args_print_help(const fc_cmd_spec *spec, void *fp /* FILE* */);

/* Lookups by long name (an unknown name is a programming error: aborts in debug). */
const char *fc_arg_str(const fc_args *a, const char *name, const char *def);
int fc_arg_flag(const fc_args *a, const char *name);
/* Parse a numeric option; on a bad value print a usage error and return FC_ARGS_USAGE,
 * else store (def when unset) and return FC_ARGS_OK. */
/* "150" or "240x320" (height x width), each side 1..max; 0, or -1 if malformed. */
int fc_parse_hw(const char *s, int max, int *h, int *w);
int fc_arg_long(const fc_args *a, const char *name, long def, long min, long max, long *out);
int fc_arg_double(const fc_args *a, const char *name, double def, double min, double max,
                  double *out);

/* "featcache ARGV..." into buf (argv[0] is the command name), each argument quoted for a
 * POSIX shell when it needs it, so the line can be pasted back; cut at cap - 1 bytes. */
void fc_command_line(char *buf, size_t cap, int argc, char **argv);

/* Print "featcache CMD: error: MSG" on stderr and return the exit code for st:
 * 2 for FC_ERR_ARG, 1 otherwise. */
int fc_report(const char *cmd, const fc_status *st);
/* Print a usage error ("featcache CMD: MSG", then "try featcache CMD --help"); returns 2. */
int fc_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
