/* openfile.c - opening a file featcache reads, refusing anything but a regular file.
 *
 * open() of a FIFO that has no writer blocks forever, so checking S_ISREG after a plain
 * open() is too late (a FIFO named model.h5 or x.png hung predict, layers, TF.js loads).
 * O_NONBLOCK makes that open return at once; fstat then refuses FIFOs, devices and
 * sockets before a byte is read, and the flag is cleared again for ordinary reads. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
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
