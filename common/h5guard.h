/* h5guard.h - pre-flight of untrusted HDF5 files in a child process.
 *
 * libhdf5 (Debian's 1.10.8) loops forever or corrupts memory on some damaged files
 * before featcache sees any data (tests/fuzz/hangs/). featcache cannot bound HDF5's
 * internal loops, so before it opens an HDF5 file from outside it runs the metadata
 * stage of the same reader in a forked child under a wall-clock limit and an address-space
 * limit. A child that dies by a signal, exits nonzero (an ASan report) or runs out of
 * time is killed and the file refused; an ordinary error found by the child (a missing
 * attribute, a damaged dataset header) is handed back and reported as is, so the parent
 * never touches a file the child could not read.
 *
 * FC_HDF5_PREFLIGHT_TIMEOUT (seconds, default 20) overrides the wall-clock limit. */
#ifndef FC_H5GUARD_H
#define FC_H5GUARD_H

#include "fc.h"

#define FC_H5_PREFLIGHT_TIMEOUT_DEFAULT 20.0
/* Address space the child may add to what it inherits. */
#define FC_H5_PREFLIGHT_MEM ((unsigned long long)4 << 30)

/* What the child runs: reads `path` the way the real reader does (metadata only) and
 * returns 0 or an fc_code with st filled. */
typedef int (*fc_h5_probe)(const char *path, fc_status *st);

/* Runs probe(path) (NULL = fc_h5_walk) in a child. 0 = the file may be opened in-process.
 * Files that are not HDF5 (or cannot be opened) pass: the reader reports them itself.
 * A file that passed is remembered (device, inode, size, mtime) for the same probe, so
 * reading one file several times forks once. */
int fc_h5_preflight(const char *path, fc_h5_probe probe, fc_status *st);

/* The generic metadata walk (used for Keras models and heads): opens the file, reads
 * every string/integer/float attribute of every object, opens every dataset and reads
 * its type, shape, creation properties and (chunked) index. An object or attribute that
 * exists but cannot be opened or read fails with a message naming it. */
int fc_h5_walk(const char *path, fc_status *st);

/* Turns the pre-flight off (on by default): for fuzz targets, which must exercise the
 * reader in-process. */
void fc_h5_preflight_enable(int on);

#endif
