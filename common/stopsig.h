/* stopsig.h - SIGINT / SIGTERM as a request to stop at the next safe point.
 *
 * extract finishes the batch in flight and writes it; train and sweep save a checkpoint
 * at the next step. fc_stop_catch clears fc_stop_requested and installs a handler that
 * sets it and puts SIGINT and SIGTERM back to their default action, so a second signal of
 * either kind kills at once (what was written stays valid). Reads are restarted
 * (SA_RESTART), not cut short. */
#ifndef FC_STOPSIG_H
#define FC_STOPSIG_H

#include <signal.h>

extern volatile sig_atomic_t fc_stop_requested;

/* old[0], old[1]: the previous SIGINT and SIGTERM handlers, for fc_stop_restore. */
void fc_stop_catch(struct sigaction old[2]);
void fc_stop_restore(const struct sigaction old[2]);

#endif
