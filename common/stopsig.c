/* stopsig.c - see stopsig.h. */
#include "stopsig.h"

#include <stddef.h>

volatile sig_atomic_t fc_stop_requested;
volatile sig_atomic_t fc_stop_signal;

static struct sigaction dfl; /* SIG_DFL, filled before the handler can run */
static const int sigs[FC_STOP_NSIG] = {SIGINT, SIGTERM, SIGHUP};
static int caught[FC_STOP_NSIG];

static struct sigaction ign; /* SIG_IGN */

/* The first SIGINT, SIGTERM or SIGHUP asks to stop and puts SIGINT and SIGTERM back to
 * their default action, so that a second one kills at once. Further SIGHUPs are ignored: a
 * closing terminal or ssh session sends the job two (bash forwards one, the kernel sends
 * another when the session leader exits), and the second must not kill the run before it
 * reaches its safe point (review 12 C F2). */
static void on_stop(int sig) {
    if (!fc_stop_requested) fc_stop_signal = sig;
    fc_stop_requested = 1;
    for (int i = 0; i < FC_STOP_NSIG; i++)
        if (caught[i]) sigaction(sigs[i], sigs[i] == SIGHUP ? &ign : &dfl, NULL); /* async-signal-safe */
}

void fc_stop_catch(struct sigaction old[FC_STOP_NSIG]) {
    struct sigaction sa = {0};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    ign.sa_handler = SIG_IGN;
    sigemptyset(&ign.sa_mask);
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    for (int i = 0; i < FC_STOP_NSIG; i++) sigaddset(&sa.sa_mask, sigs[i]); /* the handler runs once */
    fc_stop_requested = 0, fc_stop_signal = 0;
    for (int i = 0; i < FC_STOP_NSIG; i++) {
        sigaction(sigs[i], NULL, &old[i]);
        /* a hang-up that the caller ignores (nohup) stays ignored */
        caught[i] = !(sigs[i] == SIGHUP && old[i].sa_handler == SIG_IGN);
        if (caught[i]) sigaction(sigs[i], &sa, NULL);
    }
}

void fc_stop_restore(const struct sigaction old[FC_STOP_NSIG]) {
    for (int i = 0; i < FC_STOP_NSIG; i++) sigaction(sigs[i], &old[i], NULL);
}

const char *fc_stop_name(void) {
    switch (fc_stop_signal) {
    case SIGINT: return "SIGINT (Ctrl-C)";
    case SIGTERM: return "SIGTERM";
    case SIGHUP: return "SIGHUP";
    }
    return "a stop request";
}
