/* share.h - what the sharing commands (merge, import in cmd_share.c; export, diff in
 * cmd_export.c) have in common: a read-only "source" that is either a SQLite feature
 * store or an exported .h5 file, iterated the same way. */
#ifndef FC_CMD_SHARE_H
#define FC_CMD_SHARE_H

#include "../h5feat.h"
#include "../store.h"

typedef struct {
    const char *path;
    fc_store *store;  /* exactly one of store / h5 is set */
    fc_h5feat *h5;
    fc_provenance prov;
    int in_tx;        /* a store: its read transaction is open (one snapshot until close) */
} fc_source;

/* Opens path read-only (HDF5 detected by content, anything else goes to the store
 * opener, which rejects foreign files); fails on a store without provenance. A store is
 * read in one read transaction until fc_source_close: every call in between sees one
 * snapshot of it. */
int fc_source_open(const char *path, fc_source *s, fc_status *st);
void fc_source_close(fc_source *s);
/* All images (FC_SPLIT_ANY), same contract as fc_store_foreach. */
int fc_source_foreach(fc_source *s, int decode, fc_store_visit fn, void *ctx, fc_status *st);
/* Class names in label order; caller frees with fc_strlist_free. */
int fc_source_classes(fc_source *s, char ***names, int *n, fc_status *st);

/* One image's identity as seen by merge/diff. */
typedef struct {
    char sha256[65];
    int input;       /* index of the source it came from */
    int ok;          /* has features */
    int split;       /* FC_SPLIT_* */
    char *class_name, *path;
    size_t row;      /* its place in the source's fc_source_foreach order (an export's row) */
} fc_share_entry;

/* Collects every image of s (ok and failed) into *v (grown), tagged with input. */
int fc_share_collect(fc_source *s, int input, fc_share_entry **v, size_t *n, size_t *cap,
                     fc_status *st);
/* Sorts by (sha256, input). */
void fc_share_sort(fc_share_entry *v, size_t n);
void fc_share_free(fc_share_entry *v, size_t n);

/* Between images of merge, import and export (with fc_stop_catch installed): FC_ERR_INTERRUPTED
 * once SIGINT, SIGTERM or SIGHUP asked to stop, else 0. */
int fc_share_stopped(fc_status *st);
/* The message of such a stop: "stopped by SIGINT (Ctrl-C): OUT was not written" (or "not
 * changed" when OUT existed before; --force). */
void fc_share_stop_message(fc_status *st, const char *out, int existed);

#endif
