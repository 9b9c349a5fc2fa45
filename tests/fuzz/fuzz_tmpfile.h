/* fuzz_tmpfile.h - for fuzz targets whose parser reads a file (HDF5 opens paths, not
 * memory): write the input bytes to a fresh temp file made from `path` (a mkstemp
 * template, modified in place). Returns 0 on success, -1 if the file could not be made.
 * fuzz_h5_all_closed() is the HDF5 targets' second oracle: after each input no file,
 * group, dataset, datatype or attribute may still be open (an id left open on an error
 * path is a leak LeakSanitizer cannot see, since HDF5 keeps it reachable). */
#ifndef FC_FUZZ_TMPFILE_H
#define FC_FUZZ_TMPFILE_H

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include <hdf5.h>
#include "../../common/h5guard.h"

static inline int fuzz_write_temp(char *path, const uint8_t *data, size_t size) {
    fc_h5_preflight_enable(0); /* fuzz the readers in-process, not a forked pre-flight */
    int fd = mkstemp(path);
    if (fd < 0) return -1;
    size_t off = 0;
    while (off < size) {
        ssize_t k = write(fd, data + off, size - off);
        if (k <= 0) break;
        off += (size_t)k;
    }
    close(fd);
    return 0;
}

static inline void fuzz_h5_all_closed(void) {
    if (H5Fget_obj_count((hid_t)H5F_OBJ_ALL, H5F_OBJ_ALL) != 0) abort();
}

#endif
