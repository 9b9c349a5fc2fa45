/* stopsig.h - SIGINT / SIGTERM / SIGHUP as a request to stop at the next safe point.
 *
 * extract finishes the batch in flight and writes it; train and sweep save a checkpoint
 * at the next step; merge, import and export remove their temp file and leave OUT as it
 * was. fc_stop_catch clears fc_stop_requested and installs a handler that
 * sets it and puts the three back to their default action, so a second signal of any of
 * them kills at once (what was written stays valid). SIGHUP (a closed terminal or ssh
 * session) is caught unless it was ignored (nohup). Reads are restarted (SA_RESTART), not
 * cut short. */
#ifndef FC_STOPSIG_H
#define FC_STOPSIG_H

#include <signal.h>

extern volatile sig_atomic_t fc_stop_requested;
/* The signal that set fc_stop_requested (0: none, or a request made without one). */
extern volatile sig_atomic_t fc_stop_signal;

#define FC_STOP_NSIG 3

/* old: the previous SIGINT, SIGTERM and SIGHUP handlers, for fc_stop_restore. */
void fc_stop_catch(struct sigaction old[FC_STOP_NSIG]);
void fc_stop_restore(const struct sigaction old[FC_STOP_NSIG]);
/* "SIGINT (Ctrl-C)", "SIGTERM", "SIGHUP" after fc_stop_signal, for messages. */
const char *fc_stop_name(void);

#endif
