/* main.c - the featcache binary: dispatches `featcache CMD ...` through one table. */
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <cblas.h>

#include "../blas.h"
#include "../fc.h"
#include "commands.h"

typedef struct {
    const char *name;
    int (*fn)(int, char **);
    const char *summary;
} command;

static const command commands[] = {
    {"extract", cmd_extract, "run a backbone once per image into a feature store"},
    {"augment-preview", cmd_augment_preview, "draw the augmented views extract --augment makes of some images"},
    {"layers", cmd_layers, "list a model's layers, output shapes, parameters and MACs"},
    {"train", cmd_train, "train a dense head from a feature store or export"},
    {"sweep", cmd_sweep, "train a grid of head configurations at once (store or export)"},
    {"evaluate", cmd_evaluate, "evaluate a head on a split of a store or export"},
    {"predict", cmd_predict, "run backbone + head on images (CSV)"},
    {"info", cmd_info, "show a store's or export's provenance, counts and size; a head's layers"},
    {"verify", cmd_verify, "decode every feature and check checksums and integrity"},
    {"runs", cmd_runs, "list the train/sweep runs recorded in a store"},
    {"merge", cmd_merge, "combine stores (or exports) made with the same backbone"},
    {"diff", cmd_diff, "compare the images, labels and features of two stores or exports"},
    {"export", cmd_export, "write a store (or an export) as HDF5 (h5py/Keras readable)"},
    {"import", cmd_import, "read an exported HDF5 file into a store"},
    {"fetch-model", cmd_fetch_model, "fetch the pretrained default backbone (npm nsfwjs)"},
    {"make-dataset", cmd_make_dataset, "write Fashion-MNIST IDX files as a class-folder image set"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void print_version(void) {
    printf("featcache %s (numerics %s)\n", FC_VERSION, FC_NUMERICS_VERSION);
    /* fc_blas_corename() first applies the kernel choice the engine uses (blas.c) */
    const char *core = fc_blas_corename();
    const char *det = fc_blas_detected_core();
    printf("BLAS: %s, core %s, %d threads max", openblas_get_config(), core, openblas_get_num_threads());
    if (strcasecmp(det, core) != 0) printf(" (OpenBLAS chose %s for this CPU)", det);
    printf("\n");
    printf("CPU: %s\n", __builtin_cpu_supports("avx512f") ? "AVX-512"
                        : __builtin_cpu_supports("avx2") ? "AVX2"
                                                         : "SSE");
}

static void print_help(FILE *fp) {
    fprintf(fp, "usage: featcache [--version] [--help] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].fn) fprintf(fp, "  %-16s %s\n", commands[i].name, commands[i].summary);
    fprintf(fp, "\n'featcache COMMAND --help' shows a command's options.\n");
}

int main(int argc, char **argv) {
    /* Past a file size limit (ulimit -f) write() must fail with EFBIG, which every writer
     * reports and cleans up after, instead of SIGXFSZ killing the process mid-write. */
    signal(SIGXFSZ, SIG_IGN);
    fc_blas_init(); /* the OpenBLAS kernel for this CPU (blas.c), before any thread starts */
    if (argc < 2) {
        print_help(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0 || strcmp(name, "help") == 0) {
        print_help(stdout);
        return 0;
    }
    if (strcmp(name, "--version") == 0 || strcmp(name, "version") == 0) {
        print_version();
        return 0;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (commands[i].fn && strcmp(commands[i].name, name) == 0)
            return commands[i].fn(argc - 1, argv + 1);
    const char *near = NULL; /* "did you mean" for a typo (review 12 B F9) */
    int best = 3;
    for (size_t i = 0; i < N_COMMANDS; i++) {
        int d = commands[i].fn ? fc_edit_distance(name, commands[i].name) : 99;
        if (d < best) best = d, near = commands[i].name;
    }
    if (near) fprintf(stderr, "featcache: '%s' is not a featcache command (did you mean '%s'?)\n\n", name, near);
    else fprintf(stderr, "featcache: '%s' is not a featcache command\n\n", name);
    print_help(stderr);
    return 2;
}
