/* stopsig.c - see stopsig.h. */
#include "stopsig.h"

#include <stddef.h>

volatile sig_atomic_t fc_stop_requested;

static void on_stop(int sig) {
    (void)sig;
    fc_stop_requested = 1;
}

void fc_stop_catch(struct sigaction old[2]) {
    struct sigaction sa = {0};
    sa.sa_handler = on_stop;
    sa.sa_flags = SA_RESETHAND | SA_RESTART;
    sigemptyset(&sa.sa_mask);
    fc_stop_requested = 0;
    sigaction(SIGINT, &sa, &old[0]);
    sigaction(SIGTERM, &sa, &old[1]);
}

void fc_stop_restore(const struct sigaction old[2]) {
    sigaction(SIGINT, &old[0], NULL);
    sigaction(SIGTERM, &old[1], NULL);
}
