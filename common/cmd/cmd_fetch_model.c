/* cmd_fetch_model.c - `featcache fetch-model mobilenet_v2|inception_v3 [-o DIR]`.
 *
 * Gets the pretrained default backbones from the npm package nsfwjs@4.4.0 (MIT):
 *   npm pack (or --tarball FILE) -> sha512 checked against the pinned integrity ->
 *   tar extracts package/LICENSE and package/dist/models/NAME -> node runs the embedded
 *   unwrap_nsfwjs.js (UMD .min.js modules -> model.json + group1-shard*.bin) into
 *   DIR.partial-PID -> checked -> renamed to DIR (default: the model cache, where
 *   `-m NAME` finds it). Subprocesses get argv arrays (fork + execvp), never a shell. */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../model.h"
#include "commands.h"
#include "fetch_model.h"
#include "opts.h"
#include "unwrap_nsfwjs.js.h"

static const fc_opt opts[] = {
    {"output", 'o', "DIR", "destination folder (default: the model cache named above)"},
    {"tarball", 't', "FILE", "use this copy of " FC_NSFWJS_TARBALL " instead of `npm pack` (checked the same way)"},
    {"force", 'f', NULL, "fetch again even if a valid copy is present"},
    {"print-unwrapper", 0, NULL, "print the embedded node script and exit"},
    {0},
};
static const fc_cmd_spec spec = {
    "fetch-model", "mobilenet_v2|inception_v3 [-o DIR] [--tarball FILE] [--force] [--print-unwrapper]",
    "Fetch a pretrained backbone (Keras MobileNetV2 224x224 or InceptionV3 299x299, uint8-quantized\n"
    "TF.js, from the npm package " FC_NSFWJS_SPEC ", MIT licence) into\n"
    "$XDG_CACHE_HOME/featcache/models/NAME (~/.cache/featcache/models/NAME), where `-m NAME` finds it.\n"
    "Needs npm and node on PATH and the npm registry (or --tarball).",
    opts, 0, 1};

/* Cut layers worth knowing per model; fetch-model prints which are present and frozen. */
static const char *const mobilenet_cuts[] = {"out_relu", "block_16_project_BN", "block_13_expand_relu",
                                             "block_10_project_BN", NULL};
static const char *const inception_cuts[] = {"mixed10", "mixed7", "mixed6", "mixed5", NULL};

static int default_dir(const char *name, char *buf, size_t cap, fc_status *st) {
    char cache[PATH_MAX];
    int rc = fc_model_cache_dir(cache, sizeof cache, st);
    if (rc) return rc;
    int n = snprintf(buf, cap, "%s/%s", cache, name);
    if (n < 0 || (size_t)n >= cap) return fc_fail(st, FC_ERR_ARG, "%s/%s: cache path too long", cache, name);
    return 0;
}

static int mkdir_parents(const char *path, fc_status *st) {
    char buf[PATH_MAX];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *s = buf + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(buf, 0777) != 0 && errno != EEXIST)
            return fc_fail(st, FC_ERR_IO, "%s: cannot create folder: %s", buf, strerror(errno));
        *s = '/';
    }
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    return remove(path);
}

static void rm_tree(const char *dir) {
    if (dir && dir[0]) nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

/* The first four lines of a subprocess log for an error message, without stack frames
 * ("    at ..."), joined with "; ". npm, tar and node all put the cause first. */
static void log_excerpt(const char *path, char *buf, size_t cap) {
    buf[0] = '\0';
    FILE *f = fopen(path, "rb");
    if (!f) return;
    char line[512];
    size_t used = 0;
    int kept = 0;
    while (kept < 4 && fgets(line, sizeof line, f) && used + 3 < cap) {
        line[strcspn(line, "\r\n")] = '\0';
        if (!line[0] || strstr(line, "    at ")) continue;
        int n = snprintf(buf + used, cap - used, "%s%s", used ? "; " : "", line);
        if (n < 0 || (size_t)n >= cap - used) break;
        used += (size_t)n;
        kept++;
    }
    fclose(f);
}

/* Runs argv (PATH lookup) in cwd with stdin from /dev/null and stdout+stderr to log.
 * A missing program is reported with `hint`. */
static int run(char *const argv[], const char *cwd, const char *log, const char *hint, fc_status *st) {
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0) return fc_fail(st, FC_ERR_IO, "pipe: %s", strerror(errno));
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) {
        close(pfd[0]);
        close(pfd[1]);
        return fc_fail(st, FC_ERR_IO, "fork: %s", strerror(errno));
    }
    if (pid == 0) {
        int in = open("/dev/null", O_RDONLY), out = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (in >= 0) dup2(in, 0);
        if (out >= 0) {
            dup2(out, 1);
            dup2(out, 2);
        }
        if (chdir(cwd) == 0) execvp(argv[0], argv);
        int e = errno;
        if (write(pfd[1], &e, sizeof e) < 0) _exit(127);
        _exit(127);
    }
    close(pfd[1]);
    int exec_errno = 0, status = 0;
    ssize_t r = read(pfd[0], &exec_errno, sizeof exec_errno);
    close(pfd[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
    if (r == (ssize_t)sizeof exec_errno)
        return fc_fail(st, FC_ERR_IO, "cannot run %s: %s (%s)", argv[0], strerror(exec_errno), hint);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return 0;
    char tail[600];
    log_excerpt(log, tail, sizeof tail);
    if (WIFSIGNALED(status))
        return fc_fail(st, FC_ERR_INTERRUPTED, "%s killed by signal %d", argv[0], WTERMSIG(status));
    return fc_fail(st, FC_ERR_IO, "%s %s failed (exit %d): %s", argv[0], argv[1], WEXITSTATUS(status), tail);
}

/* "sha512-" + base64(sha512(file)) as npm's dist.integrity. */
static int file_integrity(const char *path, char *out, size_t cap, fc_status *st) {
    FILE *f = fopen(path, "rb");
    if (!f) return fc_fail(st, FC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    EVP_MD_CTX *ctx = EVP_MD_CTX_new();
    unsigned char buf[1 << 16], md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int rc = 0;
    if (!ctx || !EVP_DigestInit_ex(ctx, EVP_sha512(), NULL)) {
        rc = fc_fail(st, FC_ERR_INTERNAL, "OpenSSL sha512 unavailable");
        goto out;
    }
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0) EVP_DigestUpdate(ctx, buf, n);
    if (ferror(f)) {
        rc = fc_fail(st, FC_ERR_IO, "%s: read error", path);
        goto out;
    }
    EVP_DigestFinal_ex(ctx, md, &mdlen);
    if (cap < 8 + 4 * ((mdlen + 2) / 3) + 1) {
        rc = fc_fail(st, FC_ERR_INTERNAL, "integrity buffer too small");
        goto out;
    }
    memcpy(out, "sha512-", 7);
    EVP_EncodeBlock((unsigned char *)out + 7, md, (int)mdlen);
out:
    EVP_MD_CTX_free(ctx);
    fclose(f);
    return rc;
}

static void print_summary(const char *name, const char *dir, const fc_fetched_model *m) {
    printf("%s: Keras %s model from %s, %d layers, input %dx%dx%d, weights %.1f MB (%s)\n", name,
           m->keras_version, FC_NSFWJS_SPEC, m->n_layers, m->in_h, m->in_w, m->in_c,
           (double)m->weight_bytes / 1e6, m->weight_dtype);
    printf("  in %s (licence: LICENSE, MIT)\n", dir);
    if (m->n_frozen)
        printf("  frozen (trainable:false): %d layers, up to %s; nsfwjs fine-tuned the later layers "
               "for its 5-class task\n", m->n_frozen, m->last_frozen);
    printf("  cut layers (--layer):");
    const char *const *cuts = strcmp(name, "inception_v3") == 0 ? inception_cuts : mobilenet_cuts;
    for (int i = 0; cuts[i]; i++) {
        int fr = fc_fetched_layer(m, cuts[i]);
        if (fr >= 0) printf(" %s (%s)", cuts[i], fr ? "frozen" : "fine-tuned");
    }
    printf("\n  all layers and shapes: featcache layers %s\n", name);
}

typedef struct {
    char tmp[PATH_MAX];     /* scratch: tarball, extracted package, script, logs */
    char partial[PATH_MAX]; /* DIR.partial-PID, renamed to DIR at the end */
} fetch_dirs;

static int get_tarball(const fetch_dirs *d, const char *given, char *tgz, size_t cap, fc_status *st) {
    char log[PATH_MAX + 16];
    if (given) {
        snprintf(tgz, cap, "%s", given);
    } else {
        snprintf(log, sizeof log, "%s/npm.log", d->tmp);
        fprintf(stderr, "fetch-model: npm pack %s (about 25 MB from the npm registry)...\n", FC_NSFWJS_SPEC);
        char *argv[] = {"npm", "pack", FC_NSFWJS_SPEC, "--loglevel=error", "--no-update-notifier", NULL};
        int rc = run(argv, d->tmp, log, "install Node.js and npm: apt-get install npm, or pass --tarball", st);
        if (rc)
            return fc_wrap(st, "cannot download %s (is the npm registry reachable? offline: copy %s "
                               "here and pass --tarball)", FC_NSFWJS_SPEC, FC_NSFWJS_TARBALL);
        snprintf(tgz, cap, "%s/%s", d->tmp, FC_NSFWJS_TARBALL);
    }
    char got[128];
    int rc = file_integrity(tgz, got, sizeof got, st);
    if (rc) return rc;
    if (strcmp(got, FC_NSFWJS_INTEGRITY) != 0)
        return fc_fail(st, FC_ERR_MISMATCH, "%s: integrity mismatch: got %s, expected %s (pinned for %s)",
                       tgz, got, FC_NSFWJS_INTEGRITY, FC_NSFWJS_SPEC);
    return 0;
}

static int unpack_and_unwrap(const fetch_dirs *d, const char *tgz, const char *name, fc_status *st) {
    char log[PATH_MAX + 16], member[128], script[PATH_MAX + 32], src[PATH_MAX + 64], lic[PATH_MAX + 32];
    snprintf(log, sizeof log, "%s/tar.log", d->tmp);
    snprintf(member, sizeof member, "package/dist/models/%s", name);
    char abs_tgz[PATH_MAX];
    if (!realpath(tgz, abs_tgz)) return fc_fail(st, FC_ERR_IO, "%s: %s", tgz, strerror(errno));
    char *tar_argv[] = {"tar", "-xzf", abs_tgz, "--no-same-owner", "package/LICENSE", member, NULL};
    int rc = run(tar_argv, d->tmp, log, "install tar", st);
    if (rc) return fc_wrap(st, "%s: cannot extract", tgz);
    snprintf(script, sizeof script, "%s/unwrap_nsfwjs.js", d->tmp);
    FILE *f = fopen(script, "w");
    if (!f || fputs(unwrap_nsfwjs_js, f) < 0 || fclose(f) != 0) {
        if (f) fclose(f);
        return fc_fail(st, FC_ERR_IO, "%s: cannot write", script);
    }
    snprintf(src, sizeof src, "%s/%s", d->tmp, member);
    snprintf(lic, sizeof lic, "%s/package/LICENSE", d->tmp);
    snprintf(log, sizeof log, "%s/node.log", d->tmp);
    char *node_argv[] = {"node", script, src, (char *)d->partial, lic, NULL};
    rc = run(node_argv, d->tmp, log, "install Node.js: apt-get install nodejs", st);
    if (rc) return fc_wrap(st, "cannot unwrap %s", member);
    char source[PATH_MAX + 32];
    snprintf(source, sizeof source, "%s/%s", d->partial, FC_FETCH_SOURCE_FILE);
    if (!(f = fopen(source, "w"))) return fc_fail(st, FC_ERR_IO, "%s: cannot write", source);
    fprintf(f, "%s dist/models/%s %s\n", FC_NSFWJS_SPEC, name, FC_NSFWJS_INTEGRITY);
    fprintf(f, "Unwrapped by featcache fetch-model from the npm package %s (MIT licence, see LICENSE).\n",
            FC_NSFWJS_SPEC);
    return fclose(f) == 0 ? 0 : fc_fail(st, FC_ERR_IO, "%s: write error", source);
}

/* 1 if every entry of dir is a name fetch-model writes (so replacing dir loses nothing). */
static int only_fetched_files(const char *dir) {
    DIR *dp = opendir(dir);
    if (!dp) return 0;
    struct dirent *e;
    int ok = 1;
    while (ok && (e = readdir(dp))) {
        const char *n = e->d_name;
        size_t len = strlen(n);
        ok = !strcmp(n, ".") || !strcmp(n, "..") || !strcmp(n, "model.json") || !strcmp(n, "LICENSE") ||
             !strcmp(n, FC_FETCH_SOURCE_FILE) ||
             (!strncmp(n, "group", 5) && strstr(n, "-shard") && len > 4 && !strcmp(n + len - 4, ".bin"));
    }
    closedir(dp);
    return ok;
}

/* Moves the checked partial folder into place. An existing dest is replaced only when it
 * holds nothing but what fetch-model writes. */
static int install(const char *partial, const char *dest, fc_status *st) {
    struct stat sb;
    if (stat(dest, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode) || !only_fetched_files(dest))
            return fc_fail(st, FC_ERR_IO, "%s: exists and holds other files; choose a new or empty folder", dest);
        char old[PATH_MAX + 16];
        snprintf(old, sizeof old, "%s.old-%ld", dest, (long)getpid());
        if (rename(dest, old) != 0)
            return fc_fail(st, FC_ERR_IO, "%s: cannot move aside: %s", dest, strerror(errno));
        if (rename(partial, dest) != 0) {
            int e = errno;
            if (rename(old, dest) != 0) {}
            return fc_fail(st, FC_ERR_IO, "%s: cannot install: %s", dest, strerror(e));
        }
        rm_tree(old);
        return 0;
    }
    if (rename(partial, dest) != 0)
        return fc_fail(st, FC_ERR_IO, "%s: cannot install: %s", dest, strerror(errno));
    return 0;
}

static int fetch(const char *name, const char *dest, const char *tarball, fc_status *st) {
    fetch_dirs d = {{0}, {0}};
    struct stat sb;
    if (stat(dest, &sb) == 0 && (!S_ISDIR(sb.st_mode) || !only_fetched_files(dest)))
        return fc_fail(st, FC_ERR_IO, "%s: exists and holds other files; choose a new or empty folder", dest);
    const char *tmpenv = getenv("TMPDIR");
    snprintf(d.tmp, sizeof d.tmp, "%s/featcache-fetch.XXXXXX", tmpenv && *tmpenv ? tmpenv : "/tmp");
    if (!mkdtemp(d.tmp)) {
        d.tmp[0] = '\0';
        return fc_fail(st, FC_ERR_IO, "cannot create a temporary folder: %s", strerror(errno));
    }
    snprintf(d.partial, sizeof d.partial, "%s.partial-%ld", dest, (long)getpid());
    char tgz[PATH_MAX];
    fc_fetched_model m = {0};
    int rc = mkdir_parents(d.partial, st);
    if (rc || (rc = get_tarball(&d, tarball, tgz, sizeof tgz, st)) ||
        (rc = unpack_and_unwrap(&d, tgz, name, st)))
        goto out;
    if ((rc = fc_fetched_model_check(d.partial, name, &m, st))) {
        fc_wrap(st, "unwrapped model fails its check");
        goto out;
    }
    if ((rc = install(d.partial, dest, st))) goto out;
    printf("fetched %s\n", name);
    print_summary(name, dest, &m);
out:
    fc_fetched_model_free(&m);
    rm_tree(d.partial);
    rm_tree(d.tmp);
    return rc;
}

int cmd_fetch_model(int argc, char **argv) {
    fc_args a;
    int rc = fc_args_parse(&spec, argc, argv, &a);
    if (rc != FC_ARGS_OK) goto done;
    if (fc_arg_flag(&a, "print-unwrapper")) {
        fputs(unwrap_nsfwjs_js, stdout);
        rc = 0;
        goto done;
    }
    if (a.npos != 1 || (strcmp(a.pos[0], "mobilenet_v2") != 0 && strcmp(a.pos[0], "inception_v3") != 0)) {
        rc = fc_usage_error(spec.name, "name one model: mobilenet_v2 or inception_v3");
        goto done;
    }
    const char *name = a.pos[0];
    /* before any download: -o '' (an unset shell variable) would fetch 25 MB, then fail */
    for (const char *const *o = (const char *const[]){"output", "tarball", NULL}; *o; o++) {
        const char *v = fc_arg_str(&a, *o, NULL);
        if (v && !*v) {
            rc = fc_usage_error(spec.name, "--%s: empty %s name (an unset shell variable?)", *o,
                                !strcmp(*o, "output") ? "folder" : "file");
            goto done;
        }
    }
    fc_status st = {0};
    char dest[PATH_MAX];
    const char *out = fc_arg_str(&a, "output", NULL);
    if (out) {
        snprintf(dest, sizeof dest, "%s", out);
        size_t n = strlen(dest);
        while (n > 1 && dest[n - 1] == '/') dest[--n] = '\0';
    } else if (default_dir(name, dest, sizeof dest, &st)) {
        rc = fc_report(spec.name, &st);
        goto done;
    }
    fc_fetched_model m;
    struct stat sb;
    if (!fc_arg_flag(&a, "force") && stat(dest, &sb) == 0) {
        if (fc_fetched_model_check(dest, name, &m, &st) == 0) {
            printf("%s is already fetched (use --force to fetch again)\n", name);
            print_summary(name, dest, &m);
            fc_fetched_model_free(&m);
            rc = 0;
            goto done;
        }
        fprintf(stderr, "fetch-model: %s is present but not valid (%s); fetching again\n", dest, st.msg);
        fc_status_clear(&st);
    }
    rc = fetch(name, dest, fc_arg_str(&a, "tarball", NULL), &st) ? fc_report(spec.name, &st) : 0;
done:
    fc_args_free(&a);
    return rc;
}
