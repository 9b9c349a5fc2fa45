/* fc_mkblobs.c - writes one feature blob per codec x layout (small ReLU-like maps) into a
 * directory: the seed corpus of tests/fuzz/fuzz_codec.c.   fc_mkblobs DIR */
#include <stdio.h>
#include <stdlib.h>

#include "../../common/codec.h"

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: fc_mkblobs DIR\n");
        return 2;
    }
    enum { C = 5, N = 3 * 4 * C };
    float x[N];
    for (int i = 0; i < N; i++) x[i] = (i * 7919) % 10 < 7 ? 0.0f : (float)((i * 31) % 17) / 4 - (i % 11 == 0);
    for (int k = 0; k < 4; k++)
        for (int l = 0; l < 3; l++) {
            fc_codec_params p = {(fc_codec_kind)k, (fc_layout)l, 3};
            uint8_t *blob = NULL;
            size_t len = 0;
            fc_status st = {0};
            if (fc_codec_encode(&p, x, N, C, &blob, &len, &st)) {
                fprintf(stderr, "fc_mkblobs: %s\n", st.msg);
                return 1;
            }
            char path[4096];
            snprintf(path, sizeof path, "%s/%s-%s.blob", argv[1], fc_codec_name(p.kind), fc_layout_name(p.layout));
            FILE *f = fopen(path, "wb");
            if (!f || fwrite(blob, 1, len, f) != len) return 1;
            fclose(f);
            free(blob);
        }
    return 0;
}
