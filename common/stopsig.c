/* stopsig.c - see stopsig.h. */
#include "stopsig.h"

#include <stddef.h>

volatile sig_atomic_t fc_stop_requested;

static struct sigaction dfl; /* SIG_DFL, filled before the handler can run */

/* The first SIGINT or SIGTERM asks to stop and puts both back to their default action,
 * so that a second one of either kind kills at once. */
static void on_stop(int sig) {
    (void)sig;
    fc_stop_requested = 1;
    sigaction(SIGINT, &dfl, NULL); /* async-signal-safe */
    sigaction(SIGTERM, &dfl, NULL);
}

void fc_stop_catch(struct sigaction old[2]) {
    struct sigaction sa = {0};
    dfl.sa_handler = SIG_DFL;
    sigemptyset(&dfl.sa_mask);
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT); /* the handler runs once: the other signal waits for it */
    sigaddset(&sa.sa_mask, SIGTERM);
    fc_stop_requested = 0;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

void fc_stop_restore(const struct sigaction old[2]) {
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}
