/* test_progress.c - progress lines, bar, windowed rate, ETA and total changes. */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/progress.h"
#include "t.h"

static void test_lines(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    fc_progress *p = fc_progress_create_on(fp, 0, 5.0, "extract", "img", 200);
    fc_progress_update_at(p, 0, 100.0);
    fc_progress_update_at(p, 10, 101.0); /* not due yet */
    fc_progress_update_at(p, 50, 105.0);
    fc_progress_update_at(p, 100, 110.0);
    /* stall: the 10 s window shows it, the average since start would not */
    fc_progress_update_at(p, 100, 120.0);
    fc_progress_set_total(p, 150);
    fc_progress_update_at(p, 130, 125.0);
    fc_progress_finish(p); /* nothing more in line mode */
    fc_progress_free(p);
    fclose(fp);
    const char *want =
        "extract: 50/200 (25.0%), 10.0 img/s, ETA 0:15\n"
        "extract: 100/200 (50.0%), 10.0 img/s, ETA 0:10\n"
        "extract: 100/200 (50.0%), 0.0 img/s, ETA --:--\n"
        "extract: 130/150 (86.7%), 2.0 img/s, ETA 0:10\n";
    CHECK(strcmp(buf, want) == 0, "got:\n%s", buf);
    free(buf);
}

static void test_bar(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *fp = open_memstream(&buf, &len);
    fc_progress *p = fc_progress_create_on(fp, 1, 0.1, "x", "img", 48);
    fc_progress_update_at(p, 0, 0.0);
    fc_progress_update_at(p, 24, 2.0);
    fc_progress_add_total(p, -8);
    fc_progress_update_at(p, 30, 3.0);
    fc_progress_message(p, "x/bad.png: not an image");
    fc_progress_update_at(p, 31, 3.01); /* redrawn at once after a message */
    fc_progress_free(p);
    fclose(fp);
    CHECK(strstr(buf, "\r\033[Kx/bad.png: not an image\n\rx [") != NULL, "message: %s", buf);
    CHECK(strstr(buf, "\rx [############------------] 24/48  12.0 img/s  ETA 0:02\033[K") != NULL,
          "bar: %s", buf);
    CHECK(strstr(buf, "30/40") != NULL && strstr(buf, "31/40") != NULL, "redraws: %s", buf);
    free(buf);
}

static void test_null_and_durations(void) {
    fc_progress_update(NULL, 1); /* all calls accept NULL (quiet) */
    fc_progress_set_total(NULL, 1);
    fc_progress_finish(NULL);
    fc_progress_free(NULL);
    CHECK(fc_progress_create("q", "img", 1, 1) == NULL, "quiet gives NULL");
    char b[16];
    fc_format_duration(0, b, sizeof b);
    CHECK(strcmp(b, "0:00") == 0, "%s", b);
    fc_format_duration(3723.4, b, sizeof b);
    CHECK(strcmp(b, "1:02:03") == 0, "%s", b);
    fc_format_duration(-1, b, sizeof b);
    CHECK(strcmp(b, "--:--") == 0, "%s", b);
    fc_format_duration(59.6, b, sizeof b);
    CHECK(strcmp(b, "1:00") == 0, "%s", b);
}

int main(void) {
    T_RUN(test_lines);
    T_RUN(test_bar);
    T_RUN(test_null_and_durations);
    return t_done("test_progress");
}
