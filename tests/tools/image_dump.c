/* image_dump.c - decodes image files with featcache's decoders for an independent check
 * against PIL (tests/cli/image_corpus.sh):
 *
 *   image_dump OUTDIR FILE...
 *
 * For each FILE writes OUTDIR/<basename>.rgb ("W H\n" then H*W*3 bytes, as fc_image_load
 * gives them) or OUTDIR/<basename>.err (the error message). Exit 0 unless OUTDIR cannot
 * be written. */
#include <stdio.h>
#include <string.h>

#include "../../common/image.h"

static int put(const char *dir, const char *file, const char *ext, const char *head, const void *data,
               size_t n) {
    const char *base = strrchr(file, '/');
    char path[4096];
    snprintf(path, sizeof path, "%s/%s%s", dir, base ? base + 1 : file, ext);
    FILE *f = fopen(path, "wb");
    if (!f) return perror(path), -1;
    int ok = fputs(head, f) >= 0 && (n == 0 || fwrite(data, 1, n, f) == n);
    return fclose(f) == 0 && ok ? 0 : (perror(path), -1);
}

int main(int argc, char **argv) {
    if (argc < 2) {
        fprintf(stderr, "usage: image_dump OUTDIR FILE...\n");
        return 2;
    }
    for (int i = 2; i < argc; i++) {
        fc_image img = {0};
        fc_status st = {0};
        int rc;
        if (fc_image_load(argv[i], 0, &img, &st) == FC_OK) {
            char head[64];
            snprintf(head, sizeof head, "%d %d\n", img.w, img.h);
            rc = put(argv[1], argv[i], ".rgb", head, img.rgb, (size_t)img.w * img.h * 3);
            fc_image_free(&img);
        } else {
            rc = put(argv[1], argv[i], ".err", st.msg, NULL, 0);
        }
        if (rc) return 1;
    }
    return 0;
}
