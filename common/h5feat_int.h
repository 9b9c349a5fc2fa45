/* h5feat_int.h - what h5feat.c (reader) and h5feat_write.c (writer) share: the table of
 * provenance root attributes and small HDF5 helpers. Not for use outside these two. */
#ifndef FC_H5FEAT_INT_H
#define FC_H5FEAT_INT_H

#include <stddef.h>

#include <hdf5.h>

#include "h5feat.h"

/* One fc_provenance field stored as a root attribute of the same name. Strings are
 * scalar variable-length UTF-8; integers are scalar int64. */
typedef struct {
    const char *name;
    int is_int;       /* 1: int or int64_t field; 0: char array */
    size_t offset;    /* offsetof(fc_provenance, field) */
    size_t size;      /* sizeof the field (char array capacity, or 4/8 for ints) */
    int required;     /* import refuses a file without it */
} fc_h5_prov_field;

extern const fc_h5_prov_field fc_h5_prov_fields[];
extern const size_t fc_h5_prov_nfields;

/* Variable-length UTF-8 string type (caller closes). */
hid_t fc_h5_vlen_str(void);

/* Silences HDF5's error stack printing for the duration of a call; restore with the
 * returned state. */
typedef struct {
    H5E_auto2_t fn;
    void *data;
} fc_h5_quiet;
fc_h5_quiet fc_h5_quiet_begin(void);
void fc_h5_quiet_end(fc_h5_quiet q);

#endif
