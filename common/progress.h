/* progress.h - the one progress reporter (extract, merge, import, sweep ...).
 *
 * On a terminal: a bar redrawn in place on stderr, at most 10 times a second:
 *     extract [##########----------]  1234/5000  25.3 img/s  ETA 2:31
 * Otherwise (log file, CI): one line every few seconds:
 *     extract: 1234/5000 (24.7%), 25.3 img/s, ETA 2:31
 * The rate is measured over the last ~10 seconds so the ETA follows speed changes.
 * The total may shrink or grow while running (extract lowers it when it finds images
 * that are already stored). Writes only to the given stream (stderr), never stdout.
 * Calls are thread-safe. */
#ifndef FC_PROGRESS_H
#define FC_PROGRESS_H

#include <stdio.h>

#include "fc.h"

typedef struct fc_progress fc_progress;

/* Reporter on stderr; tty mode when stderr is a terminal. quiet = report nothing.
 * unit: short item name for the rate ("img"). Returns NULL only when out of memory
 * (callers may pass NULL to every function below: it does nothing). */
fc_progress *fc_progress_create(const char *label, const char *unit, int64_t total, int quiet);
/* Explicit stream, mode and line interval (seconds, non-tty mode), for tests. */
fc_progress *fc_progress_create_on(FILE *fp, int tty, double interval, const char *label,
                                   const char *unit, int64_t total);
void fc_progress_set_total(fc_progress *p, int64_t total);
void fc_progress_add_total(fc_progress *p, int64_t delta);
/* done items so far; prints when due. */
void fc_progress_update(fc_progress *p, int64_t done);
/* Same with an explicit clock (seconds), for tests. */
void fc_progress_update_at(fc_progress *p, int64_t done, double now);
/* Final state: completes the bar line on a tty (then a newline); nothing otherwise. */
void fc_progress_finish(fc_progress *p);
void fc_progress_free(fc_progress *p);
/* Prints "msg\n" (a per-item error or warning) on the reporter's stream, or on stderr
 * when p is NULL (quiet still shows errors); on a tty the bar is cleared first and
 * redrawn by the next update. */
void fc_progress_message(fc_progress *p, const char *msg);

/* "2:31", "1:02:03" or "--:--" (negative/unknown); buf >= 16 bytes. */
void fc_format_duration(double seconds, char *buf, size_t cap);

#endif
