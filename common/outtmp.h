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

#include "fc.h"

/* Removes stale temp files of `out` (see above), then creates a fresh one with mkstemp
 * (mode 0600). Returns the open fd (>= 0) and the malloc'd name in *tmp, or -1 with st
 * filled ("OUT: cannot create a temp file next to it: REASON"). */
int fc_outtmp_create(const char *out, char **tmp, fc_status *st);

/* The cleaning alone; returns the number of files removed. */
int fc_outtmp_clean(const char *out);

/* The OS reason of a failed write for an error message, into buf: strerror(err), and for
 * EFBIG that it is the file size limit (ulimit -f).
 * NULL when err is 0. With only_write, NULL also for errnos that a write cannot cause
 * (for callers that read a possibly stale errno after a library call failed). */
const char *fc_write_reason(int err, int only_write, char *buf, size_t cap);

#endif
