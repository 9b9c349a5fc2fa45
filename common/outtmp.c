/* outtmp.c - "<OUT>.tmp.<host>.<pid>.XXXXXX" temp files and their stale-file cleaning
 * (see outtmp.h). */
#define _GNU_SOURCE
#include "outtmp.h"

#include <dirent.h>
#include <libgen.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define HOST_MAX 32

/* This machine's name as it appears in temp names: [A-Za-z0-9-], at most HOST_MAX. */
static void host_tag(char out[HOST_MAX + 1]) {
    char h[256] = "";
    if (gethostname(h, sizeof h - 1) != 0 || !h[0]) snprintf(h, sizeof h, "localhost");
    size_t i = 0;
    for (; h[i] && i < HOST_MAX; i++) {
        char c = h[i];
        int keep = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-';
        out[i] = keep ? c : '-';
    }
    out[i] = '\0';
}

/* The pid of a temp name "<host>.<pid>.XXXXXX[suffix]" (the part after "<OUT>.tmp."),
 * or 0 when the name is not exactly that pattern with our host. */
static pid_t parse_tmp(const char *s, const char *host) {
    static const char *const suffixes[] = {"", "-journal", "-wal", "-shm", ".lock"};
    size_t hl = strlen(host);
    if (strncmp(s, host, hl) != 0 || s[hl] != '.') return 0;
    s += hl + 1;
    long long pid = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9' && p - s < 10; p++) pid = pid * 10 + (*p - '0');
    if (p == s || *p != '.' || pid <= 0 || pid > 0x7fffffff) return 0;
    p++;
    for (int i = 0; i < 6; i++, p++) /* mkstemp's XXXXXX */
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')))
            return 0;
    for (size_t i = 0; i < sizeof suffixes / sizeof *suffixes; i++)
        if (strcmp(p, suffixes[i]) == 0) return (pid_t)pid;
    return 0;
}

/* Whether pid is a zombie (killed, not yet reaped: under `timeout -s KILL` the parent dies
 * too and the orphan waits for init, seconds on some machines): it writes nothing more. */
static int is_zombie(pid_t pid) {
    char path[64], buf[512];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = 0;
    const char *rp = strrchr(buf, ')'); /* the command name may hold spaces and ')' */
    return rp && rp[1] == ' ' && (rp[2] == 'Z' || rp[2] == 'X');
}

/* The owner is gone: no such process here, a zombie, or our own pid (we have not made our
 * temp file yet, so one with our pid is a dead predecessor's). */
static int owner_gone(pid_t pid) {
    if (pid == getpid()) return 1;
    if (kill(pid, 0) != 0) return errno == ESRCH;
    return is_zombie(pid);
}

/* Splits out into its folder (malloc'd) and the base name inside out. */
static char *split_dir(const char *out, const char **base) {
    const char *slash = strrchr(out, '/');
    *base = slash ? slash + 1 : out;
    if (!slash) return strdup(".");
    if (slash == out) return strdup("/");
    return strndup(out, (size_t)(slash - out));
}

int fc_outtmp_clean(const char *out) {
    const char *base;
    char *dir = split_dir(out, &base), host[HOST_MAX + 1];
    char prefix[4200];
    int removed = 0;
    host_tag(host);
    int n = snprintf(prefix, sizeof prefix, "%s.tmp.", base);
    DIR *d = dir && n > 0 && (size_t)n < sizeof prefix ? opendir(dir) : NULL;
    for (struct dirent *e; d && (e = readdir(d));) {
        if (strncmp(e->d_name, prefix, (size_t)n) != 0) continue;
        pid_t pid = parse_tmp(e->d_name + n, host);
        struct stat sb;
        if (pid <= 0 || fstatat(dirfd(d), e->d_name, &sb, AT_SYMLINK_NOFOLLOW) != 0 ||
            !S_ISREG(sb.st_mode) || !owner_gone(pid))
            continue;
        if (unlinkat(dirfd(d), e->d_name, 0) == 0) removed++;
    }
    if (d) closedir(d);
    free(dir);
    return removed;
}

int fc_outtmp_create(const char *out, char **tmp, fc_status *st) {
    char host[HOST_MAX + 1];
    *tmp = NULL;
    fc_outtmp_clean(out);
    host_tag(host);
    char *name = NULL;
    if (asprintf(&name, "%s.tmp.%s.%ld.XXXXXX", out, host, (long)getpid()) < 0)
        return fc_fail(st, FC_ERR_NOMEM, "out of memory"), -1;
    int fd = mkostemp(name, O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        fc_fail(st, FC_ERR_IO, "%s: cannot create a temp file next to it: %s", out, strerror(e));
        free(name);
        errno = e;
        return -1;
    }
    *tmp = name;
    return fd;
}

void fc_outtmp_share(int fd) {
    mode_t um = umask(0);
    umask(um);
    if (fchmod(fd, 0666 & ~um) != 0) { /* keep 0600: private is safe */
    }
}

FILE *fc_outtmp_fopen(const char *out, char **tmp, fc_status *st) {
    int fd = fc_outtmp_create(out, tmp, st);
    if (fd < 0) return NULL;
    fc_outtmp_share(fd);
    FILE *f = fdopen(fd, "w");
    if (!f) {
        fc_fail(st, FC_ERR_NOMEM, "%s: cannot open %s: %s", out, *tmp, strerror(errno));
        close(fd);
        fc_outtmp_abort(*tmp);
        *tmp = NULL;
    }
    return f;
}

int fc_outtmp_fclose(FILE *f, char *tmp, const char *out, fc_status *st) {
    int bad = ferror(f), e = bad ? errno : 0;
    if (fflush(f) != 0 && !e) bad = 1, e = errno;
    if (fclose(f) != 0 && !e) bad = 1, e = errno;
    int rc = FC_OK;
    if (bad) {
        char why[160];
        const char *r = fc_write_reason(e, 0, why, sizeof why);
        rc = fc_fail(st, FC_ERR_IO, "%s: cannot write: %s", out, r ? r : "write error");
    } else {
        rc = fc_outtmp_commit(tmp, out, st);
    }
    if (rc) fc_outtmp_abort(tmp);
    else free(tmp);
    return rc;
}

void fc_outtmp_abort(char *tmp) {
    if (tmp) unlink(tmp);
    free(tmp);
}

const char *fc_write_reason(int err, int only_write, char *buf, size_t cap) {
    int write_err = err == EFBIG || err == ENOSPC || err == EDQUOT || err == EIO;
    if (err <= 0 || (only_write && !write_err)) return NULL;
    const char *hint = err == EFBIG ? ": over the file size limit, ulimit -f" : "";
    snprintf(buf, cap, "%s%s", strerror(err), hint);
    return buf;
}

/* 1 if the first bytes of path are the signature of kind (text: no NUL in 4 KiB). */
static int holds_kind(const char *path, fc_out_kind kind) {
    static const unsigned char h5[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    unsigned char buf[4096];
    FILE *f = fopen(path, "rb");
    if (!f) return 1; /* unreadable: writing it will say why */
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    if (n == 0) return 1; /* empty: nothing to lose */
    switch (kind) {
    case FC_OUT_HDF5: return n >= 8 && !memcmp(buf, h5, 8);
    case FC_OUT_PNG: return n >= 8 && !memcmp(buf, png, 8);
    default: return memchr(buf, 0, n) == NULL;
    }
}

int fc_output_path_check(const char *out, const char *opt, fc_status *st) {
    struct stat so;
    if (!out || !out[0]) return fc_fail(st, FC_ERR_ARG, "%s: empty file name", opt);
    if (lstat(out, &so) != 0 || S_ISREG(so.st_mode)) return FC_OK;
    if (S_ISDIR(so.st_mode)) return fc_fail(st, FC_ERR_IO, "%s %s is a directory", opt, out);
    const char *kind = S_ISLNK(so.st_mode) ? "a symbolic link" : S_ISCHR(so.st_mode) ? "a character device"
                       : S_ISBLK(so.st_mode) ? "a block device" : S_ISFIFO(so.st_mode) ? "a FIFO (named pipe)"
                       : S_ISSOCK(so.st_mode) ? "a socket" : "not a regular file";
    return fc_fail(st, FC_ERR_IO, "%s %s is %s: not replaced (featcache writes an output as a new file renamed "
                   "into place, which would replace it; give the path of a regular file%s)", opt, out, kind,
                   S_ISLNK(so.st_mode) ? ", e.g. the link's target" : "");
}

int fc_output_check(const char *out, const char *opt, fc_out_kind kind, const char *const *inputs, int n,
                    int force, fc_status *st) {
    static const char *what[] = {"an HDF5 file", "a PNG image", "a text file"};
    struct stat so, si;
    if (fc_output_path_check(out, opt, st)) return st->code;
    if (stat(out, &so) != 0) return FC_OK;
    for (int i = 0; i < n; i++)
        if (inputs[i] && stat(inputs[i], &si) == 0 && si.st_dev == so.st_dev && si.st_ino == so.st_ino)
            return fc_fail(st, FC_ERR_ARG, "%s %s is the input %s: it would be overwritten", opt, out, inputs[i]);
    if (force <= 0 && S_ISREG(so.st_mode) && !holds_kind(out, kind))
        return fc_fail(st, FC_ERR_IO, "%s %s exists and is not %s: not replaced (%s)", opt, out, what[kind],
                       force < 0 ? "remove it or choose another name" : "use --force to replace it");
    return FC_OK;
}

int fc_outtmp_commit(const char *tmp, const char *path, fc_status *st) {
    return fc_outtmp_commit_over(tmp, path, NULL, st);
}

int fc_outtmp_commit_over(const char *tmp, const char *path, const char *const *stale, fc_status *st) {
    int fd = open(tmp, O_RDONLY);
    if (fd < 0 || fsync(fd) != 0) {
        int e = errno;
        if (fd >= 0) close(fd);
        return fc_fail(st, FC_ERR_IO, "%s: cannot sync %s: %s", path, tmp, strerror(e));
    }
    close(fd);
    if (fc_output_path_check(path, "output", st)) return st->code; /* never over a link or a device */
    for (size_t i = 0; stale && stale[i]; i++) {
        char side[4200];
        snprintf(side, sizeof side, "%s%s", path, stale[i]);
        if (unlink(side) != 0 && errno != ENOENT)
            return fc_fail(st, FC_ERR_IO, "%s: cannot remove the old %s: %s", path, side, strerror(errno));
    }
    if (rename(tmp, path) != 0)
        return fc_fail(st, FC_ERR_IO, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
    char *dcopy = strdup(path);
    if (dcopy) {
        int dfd = open(dirname(dcopy), O_RDONLY | O_DIRECTORY);
        if (dfd >= 0) fsync(dfd), close(dfd);
        free(dcopy);
    }
    return 0;
}
