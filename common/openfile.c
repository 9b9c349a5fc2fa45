/* openfile.c - opening a file featcache reads, refusing anything but a regular file.
 *
 * open() of a FIFO that has no writer blocks forever, so checking S_ISREG after a plain
 * open() is too late (a FIFO named model.h5 or x.png hung predict, layers, TF.js loads).
 * O_NONBLOCK makes that open return at once; fstat then refuses FIFOs, devices and
 * sockets before a byte is read, and the flag is cleared again for ordinary reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fc.h"

int fc_open_regular(const char *path, struct stat *sb, fc_status *st) {
    struct stat own;
    if (!sb) sb = &own;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) return fc_fail(st, FC_ERR_IO, "%s: cannot open: %s", path, strerror(errno)), -1;
    const char *why = NULL;
    int flags;
    if (fstat(fd, sb) != 0) why = strerror(errno);
    else if (!S_ISREG(sb->st_mode)) why = "not a regular file"; /* directories too, as before */
    else if ((flags = fcntl(fd, F_GETFL)) < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) why = strerror(errno);
    if (why) {
        close(fd);
        return fc_fail(st, FC_ERR_IO, "%s: %s", path, why), -1;
    }
    return fd;
}

FILE *fc_fopen_regular(const char *path, struct stat *sb, fc_status *st) {
    int fd = fc_open_regular(path, sb, st);
    if (fd < 0) return NULL;
    FILE *f = fdopen(fd, "rb");
    if (!f) {
        fc_fail(st, FC_ERR_NOMEM, "%s: cannot open: %s", path, strerror(errno));
        close(fd);
    }
    return f;
}

const char *fc_file_kind(const char *path) {
    unsigned char h[16] = {0};
    fc_status ign = {0};
    int fd = fc_open_regular(path, NULL, &ign);
    if (fd < 0) return NULL;
    ssize_t n = read(fd, h, sizeof h);
    close(fd);
    if (n <= 0) return n == 0 ? "an empty file" : NULL;
    static const unsigned char png[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'},
                               hdf5[8] = {0x89, 'H', 'D', 'F', '\r', '\n', 0x1a, '\n'};
    if (n >= 16 && !memcmp(h, "SQLite format 3", 16)) return "an SQLite database (a featcache store?)";
    if (n >= 8 && !memcmp(h, hdf5, 8)) return "an HDF5 file";
    if (n >= 8 && !memcmp(h, png, 8)) return "a PNG image";
    if (n >= 3 && h[0] == 0xFF && h[1] == 0xD8 && h[2] == 0xFF) return "a JPEG image";
    if (n >= 4 && !memcmp(h, "PK\3\4", 4)) return "a zip archive";
    for (ssize_t i = 0; i < n; i++)
        if (h[i] < 0x20 && h[i] != '\n' && h[i] != '\r' && h[i] != '\t') return NULL;
    return h[0] == '{' || h[0] == '[' ? "a JSON or text file" : "a text file";
}

void fc_path_resolve(const char *path, int follow_file, char *out, size_t cap) {
    char real[PATH_MAX], dir[PATH_MAX];
    if (follow_file && realpath(path, real)) {
        snprintf(out, cap, "%s", real);
        return;
    }
    const char *slash = strrchr(path, '/'), *base = slash ? slash + 1 : path;
    snprintf(dir, sizeof dir, "%.*s", slash ? (slash == path ? 1 : (int)(slash - path)) : 1, slash ? path : ".");
    if (realpath(dir, real)) snprintf(out, cap, "%s/%s", strcmp(real, "/") ? real : "", base);
    else snprintf(out, cap, "%s", path);
}
