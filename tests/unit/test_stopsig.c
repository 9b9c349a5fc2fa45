/* test_stopsig.c - SIGINT / SIGTERM / SIGHUP as a request to stop (common/stopsig.h), each
 * case in a child process, so a signal that kills shows as a failed check. */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../../common/stopsig.h"
#include "t.h"

/* Runs in a child: catch, raise sig twice (delivered before raise returns); exits 0 when
 * the stop was requested and the process lives, 3 when it was not requested. */
static int child_raise_twice(int sig, int ignore_hup_first) {
    pid_t pid = fork();
    if (pid == 0) {
        if (ignore_hup_first) signal(SIGHUP, SIG_IGN); /* nohup */
        struct sigaction old[FC_STOP_NSIG];
        fc_stop_catch(old);
        raise(sig);
        raise(sig);
        _exit(fc_stop_requested ? 0 : 3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    return status;
}

static void test_hup_twice(void) {
    /* a closing terminal or ssh session sends SIGHUP twice: the second must not kill the
     * run before its safe point (review 12 C F2) */
    int st = child_raise_twice(SIGHUP, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "two SIGHUPs: status %#x (killed by signal %d)", st,
          WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

static void test_int_twice_kills(void) {
    /* a second Ctrl-C kills at once (what was written stays valid) */
    int st = child_raise_twice(SIGINT, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGINT, "two SIGINTs: status %#x", st);
    st = child_raise_twice(SIGTERM, 0);
    CHECK(WIFSIGNALED(st) && WTERMSIG(st) == SIGTERM, "two SIGTERMs: status %#x", st);
}

static void test_hup_ignored_by_caller(void) {
    /* under nohup SIGHUP stays ignored: no stop is requested */
    int st = child_raise_twice(SIGHUP, 1);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 3, "nohup'd SIGHUP: status %#x", st);
}

static void test_first_signal_named(void) {
    /* merge/import/export name the signal that stopped them: the first one, not a later HUP */
    pid_t pid = fork();
    if (pid == 0) {
        struct sigaction old[FC_STOP_NSIG];
        fc_stop_catch(old);
        raise(SIGTERM);
        raise(SIGHUP); /* ignored after the first signal */
        _exit(fc_stop_signal == SIGTERM && !strcmp(fc_stop_name(), "SIGTERM") ? 0 : 3);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0, "SIGTERM then SIGHUP: status %#x", st);
}

int main(void) {
    T_RUN(test_hup_twice);
    T_RUN(test_int_twice_kills);
    T_RUN(test_hup_ignored_by_caller);
    T_RUN(test_first_signal_named);
    return t_done("test_stopsig");
}
