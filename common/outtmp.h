/* outtmp.h - temp files next to an output (merge, import, export), and the removal of
 * ones a killed run left behind.
 *
 * A writer makes "<OUT>.tmp.<host>.<pid>.XXXXXX" in OUT's folder, writes it and renames
 * it onto OUT. kill -9 leaves that file (and SQLite's -journal/-wal/-shm, the store's
 * .lock). The next writer of the same OUT removes such leftovers, but only its own
 * pattern and only when their owner is gone: same host (a shared folder may be written
 * from several machines) and a pid that no longer exists here (kill(pid, 0) == ESRCH;
 * a live pid, even a reused one, keeps the file). */
#ifndef FC_OUTTMP_H
#define FC_OUTTMP_H

#include <stdio.h>

#include "fc.h"

/* Removes stale temp files of `out` (see above), then creates a fresh one with mkstemp
 * (mode 0600). Returns the open fd (>= 0) and the malloc'd name in *tmp, or -1 with st
 * filled ("OUT: cannot create a temp file next to it: REASON") and errno kept. */
int fc_outtmp_create(const char *out, char **tmp, fc_status *st);

/* Makes a finished temp file the output: fsyncs tmp, renames it over path and fsyncs the
 * folder, so the new file survives a crash and a reader sees the old or the new one whole. */
int fc_outtmp_commit(const char *tmp, const char *path, fc_status *st);
/* The same, removing path + each suffix in the NULL-terminated list `stale` (e.g. an old
 * store's "-wal") after the sync and before the rename. */
int fc_outtmp_commit_over(const char *tmp, const char *path, const char *const *stale, fc_status *st);

/* Gives a temp file the mode a plain create of the output would have (0666 & ~umask):
 * mkstemp makes 0600, and heads, exports and CSVs are for sharing. */
void fc_outtmp_share(int fd);

/* fc_outtmp_create + fc_outtmp_share as a stdio stream for writing; NULL with st filled. */
FILE *fc_outtmp_fopen(const char *out, char **tmp, fc_status *st);

/* Closes a stream from fc_outtmp_fopen and commits it onto out; on a write, close or
 * commit failure removes tmp and fails with the OS reason ("OUT: cannot write: REASON").
 * Frees tmp either way. */
int fc_outtmp_fclose(FILE *f, char *tmp, const char *out, fc_status *st);

/* Removes an unfinished temp file and frees its name (NULL: nothing). */
void fc_outtmp_abort(char *tmp);

/* The cleaning alone; returns the number of files removed. */
int fc_outtmp_clean(const char *out);

/* The OS reason of a failed write for an error message, into buf: strerror(err), and for
 * EFBIG that it is the file size limit (ulimit -f).
 * NULL when err is 0. With only_write, NULL also for errnos that a write cannot cause
 * (for callers that read a possibly stale errno after a library call failed). */
const char *fc_write_reason(int err, int only_write, char *buf, size_t cap);

/* An output path a new file may be renamed onto: missing or a regular file. Refused (with
 * or without --force): an empty name (FC_ERR_ARG), a directory, and a symbolic link, device,
 * FIFO or socket (FC_ERR_IO), which the rename would replace (`-o /dev/null` as root had
 * turned /dev/null into a regular file). Called by fc_output_check and before every rename. */
int fc_output_path_check(const char *out, const char *opt, fc_status *st);

/* What an output file holds, for fc_output_check. */
typedef enum { FC_OUT_HDF5, FC_OUT_PNG, FC_OUT_TEXT } fc_out_kind;

/* Before a command writes `out`: refused as fc_output_path_check does, when it is one of
 * the n inputs (FC_ERR_ARG: a head written over its store would destroy the features), or an existing
 * file of another kind than the command writes (FC_ERR_IO; HDF5 and PNG by signature, text
 * = no NUL byte in its first 4 KiB, so neither a store nor an image is replaced), unless
 * force > 0 (force < 0: the command has no --force). A missing file is fine. opt names
 * the option or argument for the message ("-o", "--plot", "OUT"). */
int fc_output_check(const char *out, const char *opt, fc_out_kind kind, const char *const *inputs, int n,
                    int force, fc_status *st);

#endif
