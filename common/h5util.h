/* h5util.h - small HDF5 helpers shared by the Keras loaders (and anyone reading Keras
 * files): open with a clear error, read string attributes in both the fixed-length form
 * (Keras 2.2.4 / h5py 2) and the variable-length form (h5py 3 / tf.keras), and read float
 * datasets after checking their shape against what the caller expects.
 * All functions report through fc_status and never print (HDF5's own error stack
 * printing is turned off by fc_h5_open). */
#ifndef FC_H5UTIL_H
#define FC_H5UTIL_H

#include <hdf5.h>

#include "fc.h"

/* Opens `path` read-only. Distinguishes a missing/unreadable file (FC_ERR_IO), a file that
 * is not HDF5 (FC_ERR_FORMAT) and a damaged/truncated one (FC_ERR_FORMAT). */
int fc_h5_open(const char *path, hid_t *fid, fc_status *st);

/* Silences HDF5's automatic error printing (idempotent). */
void fc_h5_quiet_all(void);

int fc_h5_has_attr(hid_t loc, const char *attr);

/* Scalar (or 1-element) string attribute -> malloc'd NUL-terminated string. Also accepts a
 * uint8/int8 1-D array (some writers store JSON as bytes). */
int fc_h5_attr_string(hid_t loc, const char *attr, char **out, fc_status *st);

/* 1-D string array attribute -> malloc'd array of n malloc'd strings (free with
 * fc_h5_strings_free). An empty attribute (Keras writes an empty array for layers without
 * weights) gives n = 0. */
int fc_h5_attr_strings(hid_t loc, const char *attr, char ***out, int *n, fc_status *st);
void fc_h5_strings_free(char **s, int n);

/* Dimensions of dataset `path` (relative to loc). rank <= 8. */
int fc_h5_dims(hid_t loc, const char *path, int64_t dims[8], int *rank, fc_status *st);

/* Reads dataset `path` as float32 into a malloc'd buffer after checking: rank == `rank`,
 * every dims[i] equals expect[i] (expect[i] < 0 = any, reported back in dims), the count
 * is below FC_MAX_TENSOR_ELEMS and a contiguous dataset lies inside the file. */
int fc_h5_read_floats(hid_t loc, const char *path, int rank, const int64_t *expect,
                      int64_t *dims, float **out, size_t *count, fc_status *st);

/* Before reading dataset d (named `path` in messages) into nbytes_mem bytes: a contiguous
 * dataset's bytes must lie inside the file (a truncated file or a forged huge shape would
 * otherwise read garbage or fail deep inside HDF5), and a chunked one over 64 MiB must
 * store at least 1/1024 of them (a forged huge dataset whose chunks were never written
 * reads as its fill value: gigabytes from a file of a few KB). */
int fc_h5_check_extent(hid_t d, size_t nbytes_mem, const char *path, fc_status *st);

/* Reading datasets safely (h5read.c). libhdf5 1.10.8 copies a whole chunk out of whatever
 * its chunk read and filter pipeline returned: a chunk stored or decoded shorter than the
 * chunk holds (a short chunk in the index, a short gzip or zstd stream, a filter mask that
 * skips the compression of a short chunk, a short unfiltered edge chunk) is read past the
 * end of its buffer (a heap over-read: garbage values, exit 0). So featcache reads only
 * data stored in the file itself (no virtual datasets, no external storage: any local file
 * read as the dataset), only the pipelines it can size (fc_h5_check_pipeline: gzip or zstd,
 * shuffle before it, fletcher32 after it), and only datasets whose every stored chunk comes
 * out at exactly the chunk's size (fc_h5_check_chunks: compressed ones inflated or
 * zstd-decoded once more to count; chunks above 1 GiB are refused), or, without filters,
 * is read without a chunk cache (fc_h5_dopen), straight from the file. fc_h5_check_pipeline is also part of fc_h5_check_extent.
 * fc_h5_dread: H5Dread after fc_h5_check_chunks (every featcache read of a dataset goes
 * through it or through fc_h5_dread_checked); < 0 on failure, as H5Dread.
 * For many small reads of one dataset (rows of /features, /views): fc_h5_check_chunks once
 * (0 ok), then fc_h5_dread_checked for each read (re-checking every chunk for each row
 * made train --augment on a 1 MiB-chunk export 150x slower).
 * fc_h5_chunk_expect: the decoded chunk size of the dataset being read (0: unknown), for
 * featcache's zstd filter, which refuses a frame of another size. */
int fc_h5_check_pipeline(hid_t d, const char *path, fc_status *st);
/* Links: HDF5 follows an external link into another file (any HDF5 file the reader can
 * open, read as this file's dataset, its metadata never pre-flighted). fc_h5_check_links
 * refuses a file with any link but hard and soft ones (an external or user-defined link,
 * anywhere), naming it and its target; fc_h5_link_local is that test for one link `name`
 * of group g (type: its H5L_type_t); fc_h5_dopen follows no external link either. */
int fc_h5_check_links(hid_t file, fc_status *st);
int fc_h5_link_local(hid_t g, const char *name, int type, fc_status *st);
/* H5Dopen2 for reading: a chunked dataset without filters is opened without a chunk cache
 * (fc_h5_check_chunks refuses one opened otherwise). */
hid_t fc_h5_dopen(hid_t loc, const char *name);
herr_t fc_h5_dread(hid_t d, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf);
/* 0 ok, -1 refused with st (may be NULL) naming dataset `path`, the chunk and the problem. */
int fc_h5_check_chunks(hid_t d, const char *path, fc_status *st);
herr_t fc_h5_dread_checked(hid_t d, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf);
/* fc_h5_dread_checked in two steps, for row-by-row readers: the decoded chunk size of d
 * (0: not chunked or unknown), found once, then each read with it. */
size_t fc_h5_chunk_size(hid_t d);
herr_t fc_h5_dread_expect(hid_t d, size_t expect, hid_t mem_type, hid_t mem_space, hid_t file_space, void *buf);
size_t fc_h5_chunk_expect(void);

/* "(3, 3, 64, 128)"; negative dims print as "?". */
void fc_fmt_dims(char *buf, size_t cap, const int64_t *d, int rank);

#endif
