/* h5guard.c - pre-flight of untrusted HDF5 files in a forked child (see h5guard.h).
 *
 * Parent                                   child (fork, no exec)
 *   pipe, fork                               stdout/stderr -> /dev/null, RLIMIT_AS
 *   poll the pipe until EOF or deadline      rc = probe(path)
 *   deadline: SIGKILL                        write {rc, code, msg}; _exit(0)
 *   waitpid: signal / exit != 0 / no record -> "damaged or hostile"
 * The child calls _exit, so no atexit handler (LeakSanitizer, HDF5, stdio) runs there;
 * an ASan report in the child goes to /dev/null and shows up as exit status 1. */
#define _GNU_SOURCE
#include "h5guard.h"
#include "h5util.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hdf5.h>

#define MAX_ATTR_BYTES ((size_t)256 << 20) /* the readers' own ceiling for attributes */
#define N_PASSED 16

static int g_on = 1;
static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static struct passed {
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    fc_h5_probe probe;
} g_passed[N_PASSED];
static int g_npassed;

void fc_h5_preflight_enable(int on) { g_on = on; }

void fc_h5_preflight_forget(void) {
    pthread_mutex_lock(&g_lock);
    g_npassed = 0;
    pthread_mutex_unlock(&g_lock);
}

/* ---- the generic metadata walk ---- */

#if H5_VERSION_GE(1, 12, 0)
typedef H5L_info2_t link_info;
#else
typedef H5L_info_t link_info;
#endif

typedef struct {
    const char *path; /* the file */
    const char *obj;  /* the object whose attributes are being read */
    fc_status *st;
    int rc;
} walk;

static herr_t walk_fail(walk *w, const char *what, const char *name) {
    w->rc = fc_fail(w->st, FC_ERR_FORMAT, "%s: damaged or truncated HDF5 file: cannot %s '%s'",
                    w->path, what, name);
    return -1;
}

/* Reads one attribute in full when it is a string or number (what featcache's readers
 * read); other classes are opened only. Variable-length strings go through the global
 * heap, where libhdf5 1.10.8 loops or overreads on damaged files. */
static herr_t on_attr(hid_t loc, const char *name, const H5A_info_t *info, void *op) {
    walk *w = op;
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT), t = -1, sp = -1, mt = -1;
    void *buf = NULL;
    int ok = 0;
    if (a < 0 || (t = H5Aget_type(a)) < 0 || (sp = H5Aget_space(a)) < 0) goto out;
    H5T_class_t cls = H5Tget_class(t);
    hssize_t np = H5Sget_simple_extent_npoints(sp);
    if (cls != H5T_STRING && cls != H5T_INTEGER && cls != H5T_FLOAT) {
        ok = cls != H5T_NO_CLASS;
        goto out;
    }
    int vlen = cls == H5T_STRING && H5Tis_variable_str(t) > 0;
    if (np < 0 || (mt = vlen ? H5Tcopy(H5T_C_S1) : H5Tcopy(t)) < 0 ||
        (vlen && (H5Tset_size(mt, H5T_VARIABLE) < 0 || H5Tset_cset(mt, H5Tget_cset(t)) < 0)))
        goto out;
    size_t esz = H5Tget_size(mt), total;
    if (esz == 0 || fc_size_mul(esz, (size_t)np, &total) || total > MAX_ATTR_BYTES ||
        !(buf = calloc(total ? total : 1, 1)))
        goto out;
    if (H5Aread(a, mt, buf) < 0) goto out;
    if (vlen) H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, buf);
    ok = 1;
out:
    free(buf);
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    if (ok) return 0;
    char what[160];
    snprintf(what, sizeof what, "read attribute '%s' of", name);
    return walk_fail(w, what, w->obj);
}

/* A dataset's header: type, shape, creation properties (filters) and, for chunked
 * layouts, the chunk index (H5Dget_storage_size walks it). No data is read. */
static int check_dataset(hid_t d) {
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d), pl = H5Dget_create_plist(d);
    int ok = t >= 0 && sp >= 0 && pl >= 0 && H5Sget_simple_extent_ndims(sp) >= 0;
    if (ok) {
        int nf = H5Pget_nfilters(pl);
        for (int i = 0; ok && i < nf; i++) {
            unsigned flags, cd[8];
            size_t ncd = 8;
            char fname[64];
            ok = H5Pget_filter2(pl, (unsigned)i, &flags, &ncd, cd, sizeof fname, fname, NULL) >= 0;
        }
        ok = ok && nf >= 0;
        if (ok && H5Pget_layout(pl) == H5D_CHUNKED) (void)H5Dget_storage_size(d);
    }
    if (pl >= 0) H5Pclose(pl);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return ok;
}

static int visit_object(hid_t o, const char *name, walk *w) {
    if (H5Iget_type(o) == H5I_DATASET && !check_dataset(o)) {
        walk_fail(w, "read the header of dataset", name);
        return -1;
    }
    w->obj = name;
    if (H5Aiterate2(o, H5_INDEX_NAME, H5_ITER_NATIVE, NULL, on_attr, w) < 0) {
        if (!w->rc) walk_fail(w, "list the attributes of", name);
        return -1;
    }
    return 0;
}

static herr_t on_link(hid_t g, const char *name, const link_info *li, void *op) {
    walk *w = op;
    /* soft links: their targets are visited as hard links; external links: refused (the
     * readers would follow them into another file, never pre-flighted) */
    if (fc_h5_link_local(g, name, (int)li->type, w->st)) {
        w->rc = fc_wrap(w->st, "%s", w->path);
        return -1;
    }
    if (li->type != H5L_TYPE_HARD) return 0;
    hid_t o = H5Oopen(g, name, H5P_DEFAULT);
    if (o < 0) return walk_fail(w, "open", name);
    int rc = visit_object(o, name, w);
    H5Oclose(o);
    return rc;
}

int fc_h5_walk(const char *path, fc_status *st) {
    H5E_auto2_t efn;
    void *edata;
    H5Eget_auto2(H5E_DEFAULT, &efn, &edata);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    walk w = {path, "/", st, 0};
    hid_t f = H5Fis_hdf5(path) > 0 ? H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT) : -1;
    /* not HDF5 or not openable: the reader itself says so, in its own words */
    if (f >= 0 && visit_object(f, "/", &w) == 0 &&
        H5Lvisit(f, H5_INDEX_NAME, H5_ITER_NATIVE, on_link, &w) < 0 && !w.rc)
        walk_fail(&w, "walk the groups of", "/");
    if (f >= 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, efn, edata);
    return w.rc;
}

/* ---- the child ---- */

typedef struct {
    int32_t rc, code;
    char msg[sizeof(((fc_status *)0)->msg)];
} report;

/* RLIMIT_AS = what the child already maps + FC_H5_PREFLIGHT_MEM: a forged size makes
 * HDF5's allocation fail (an error) instead of exhausting the machine. */
static void limit_memory(void) {
    char buf[64] = "";
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    ssize_t k = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
    if (fd >= 0) close(fd);
    unsigned long long pages = k > 0 ? strtoull(buf, NULL, 10) : 0;
    long psz = sysconf(_SC_PAGESIZE);
    if (pages == 0 || psz <= 0) return;
    rlim_t want = (rlim_t)(pages * (unsigned long long)psz + FC_H5_PREFLIGHT_MEM);
    struct rlimit rl;
    if (getrlimit(RLIMIT_AS, &rl) == 0 && (rl.rlim_cur == RLIM_INFINITY || want < rl.rlim_cur)) {
        rl.rlim_cur = want;
        setrlimit(RLIMIT_AS, &rl);
    }
}

static __attribute__((noreturn)) void run_child(const char *path, fc_h5_probe probe, int wfd) {
    int nul = open("/dev/null", O_RDWR);
    if (nul >= 0) dup2(nul, STDOUT_FILENO), dup2(nul, STDERR_FILENO);
    limit_memory();
    g_on = 0; /* a probe that reaches a guarded reader runs it right here */
    fc_status cst;
    memset(&cst, 0, sizeof cst);
    report r;
    memset(&r, 0, sizeof r);
    r.rc = probe(path, &cst);
    r.code = (int32_t)cst.code;
    memcpy(r.msg, cst.msg, sizeof r.msg);
    const char *p = (const char *)&r;
    for (size_t off = 0; off < sizeof r;) {
        ssize_t k = write(wfd, p + off, sizeof r - off);
        if (k < 0 && errno == EINTR) continue;
        if (k <= 0) _exit(3);
        off += (size_t)k;
    }
    _exit(0);
}

/* ---- the parent ---- */

static double timeout_seconds(void) {
    const char *s = getenv("FC_HDF5_PREFLIGHT_TIMEOUT");
    char *end = NULL;
    double t = s ? strtod(s, &end) : 0;
    return s && end != s && !*end && isfinite(t) && t > 0 ? t : FC_H5_PREFLIGHT_TIMEOUT_DEFAULT;
}

/* Reads the child's report until EOF; 0 = EOF, 1 = deadline passed, 2 = read error. */
static int collect(int rfd, report *r, size_t *got, double deadline) {
    char spill[256];
    for (;;) {
        double left = deadline - fc_now();
        if (left <= 0) return 1;
        struct pollfd p = {rfd, POLLIN, 0};
        int n = poll(&p, 1, left > 60 ? 60000 : (int)(left * 1000) + 1);
        if (n < 0 && errno != EINTR) return 2;
        if (n <= 0) continue;
        char *dst = *got < sizeof *r ? (char *)r + *got : spill;
        size_t cap = *got < sizeof *r ? sizeof *r - *got : sizeof spill;
        ssize_t k = read(rfd, dst, cap);
        if (k < 0 && errno == EINTR) continue;
        if (k < 0) return 2;
        if (k == 0) return 0;
        if (dst != spill) *got += (size_t)k;
    }
}

/* Reaps the child, killing it if it is still running at the deadline (EOF on the pipe
 * normally means it is exiting, but nothing below trusts that). Returns its status. */
static int reap(pid_t pid, int kill_now, double deadline, int ok_if_lost) {
    int status = 0;
    pid_t w = 0;
    if (kill_now) kill(pid, SIGKILL);
    while (!kill_now && (w = waitpid(pid, &status, WNOHANG)) == 0 && fc_now() < deadline)
        poll(NULL, 0, 1);
    if (w == 0) {
        if (!kill_now) kill(pid, SIGKILL);
        while ((w = waitpid(pid, &status, 0)) < 0 && errno == EINTR) {}
    }
    if (w < 0) status = ok_if_lost ? 0 : 0xff00; /* reaped elsewhere: exit status 255 */
    return status;
}

static int find_passed(const struct stat *sb, fc_h5_probe probe, int add) {
    pthread_mutex_lock(&g_lock);
    int hit = 0;
    for (int i = 0; i < g_npassed && !hit; i++) {
        struct passed *p = &g_passed[i];
        hit = p->probe == probe && p->dev == sb->st_dev && p->ino == sb->st_ino &&
              p->size == sb->st_size && p->mtime.tv_sec == sb->st_mtim.tv_sec &&
              p->mtime.tv_nsec == sb->st_mtim.tv_nsec;
    }
    if (!hit && add) {
        struct passed *p = &g_passed[g_npassed < N_PASSED ? g_npassed++ : N_PASSED - 1];
        *p = (struct passed){sb->st_dev, sb->st_ino, sb->st_size, sb->st_mtim, probe};
    }
    pthread_mutex_unlock(&g_lock);
    return hit;
}

/* Turns the child's fate into the result of the pre-flight. */
static int judge(const char *path, int status, int timed_out, double timeout, const report *r,
                 size_t got, fc_status *st) {
    const char *tail = "reading this file's metadata: the file is damaged or hostile";
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && got == sizeof *r) {
        if (r->rc == 0) return 0;
        fc_code code = r->code > FC_OK && r->code <= FC_ERR_INTERNAL ? (fc_code)r->code : FC_ERR_FORMAT;
        return fc_fail(st, code, "%.*s", (int)sizeof r->msg - 1, r->msg);
    }
    if (timed_out && WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
        return fc_fail(st, FC_ERR_FORMAT, "%s: the HDF5 library did not finish within %g s %s",
                       path, timeout, tail);
    if (WIFSIGNALED(status))
        return fc_fail(st, FC_ERR_FORMAT, "%s: the HDF5 library crashed (signal %d, %s) %s", path,
                       WTERMSIG(status), strsignal(WTERMSIG(status)), tail);
    return fc_fail(st, FC_ERR_FORMAT, "%s: the HDF5 library failed (exit status %d) %s", path,
                   WIFEXITED(status) ? WEXITSTATUS(status) : -1, tail);
}

int fc_h5_preflight(const char *path, fc_h5_probe probe, fc_status *st) {
    if (!probe) probe = fc_h5_walk;
    struct stat sb;
    if (!g_on || stat(path, &sb) != 0 || !S_ISREG(sb.st_mode)) return 0; /* reader reports */
    if (find_passed(&sb, probe, 0)) return 0;
    double timeout = timeout_seconds();
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
        return fc_fail(st, FC_ERR_IO, "%s: cannot check the HDF5 file (pipe: %s)", path, strerror(errno));
    pid_t pid = fork();
    if (pid == 0) run_child(path, probe, fds[1]);
    int err = errno;
    close(fds[1]);
    if (pid < 0) {
        close(fds[0]);
        return fc_fail(st, FC_ERR_IO, "%s: cannot check the HDF5 file (fork: %s)", path, strerror(err));
    }
    report r;
    memset(&r, 0, sizeof r);
    size_t got = 0;
    double deadline = fc_now() + timeout;
    int how = collect(fds[0], &r, &got, deadline);
    close(fds[0]);
    int status = reap(pid, how != 0, deadline, got == sizeof r);
    int timed_out = how == 1 || (how == 0 && fc_now() >= deadline);
    int rc = judge(path, status, timed_out, timeout, &r, got, st);
    if (rc == 0) find_passed(&sb, probe, 1);
    return rc;
}
