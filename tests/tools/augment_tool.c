/* augment_tool.c - runs fc_aug_apply for the independent scipy check
 * (tests/py/augment_ref.py). Arguments are key=value:
 *   h= w= c= in=FILE out=FILE            (raw little-endian float32, HWC)
 *   theta= tx= ty= shear= zx= zy= flip_h= flip_v=     the parameters, or
 *   spec='KERAS KEYWORDS' key=N           draw them with fc_aug_parse + fc_aug_draw
 * Prints the parameters used, "theta tx ty shear zx zy flip_h flip_v" (%.17g), on stdout.
 * Exit 1 on any error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../common/augment.h"

#define TOOL_NAME "augment_tool"
#include "tool_io.h"

static double darg(int argc, char **argv, const char *key, double def) {
    const char *v = arg(argc, argv, key, NULL);
    return v ? strtod(v, NULL) : def;
}

int main(int argc, char **argv) {
    int h = atoi(arg(argc, argv, "h", "0")), w = atoi(arg(argc, argv, "w", "0")),
        c = atoi(arg(argc, argv, "c", "0"));
    const char *in = arg(argc, argv, "in", NULL), *out = arg(argc, argv, "out", NULL),
               *spec_text = arg(argc, argv, "spec", NULL);
    if (h < 1 || w < 1 || c < 1 || h > 4096 || w > 4096 || c > 64 || !in || !out) {
        fprintf(stderr, "usage: augment_tool h= w= c= in=FILE out=FILE [theta= tx= ty= shear= zx= zy= "
                        "flip_h= flip_v= | spec=TEXT key=N]\n");
        return 1;
    }
    fc_aug_params p = {0};
    if (spec_text) {
        fc_aug_spec spec;
        fc_status st = {0};
        if (fc_aug_parse(spec_text, &spec, &st)) {
            fprintf(stderr, "augment_tool: %s\n", st.msg);
            return 1;
        }
        fc_aug_draw(&spec, h, w, strtoull(arg(argc, argv, "key", "0"), NULL, 10), &p);
    } else {
        p.theta = darg(argc, argv, "theta", 0);
        p.tx = darg(argc, argv, "tx", 0);
        p.ty = darg(argc, argv, "ty", 0);
        p.shear = darg(argc, argv, "shear", 0);
        p.zx = darg(argc, argv, "zx", 1);
        p.zy = darg(argc, argv, "zy", 1);
        p.flip_h = atoi(arg(argc, argv, "flip_h", "0")) != 0;
        p.flip_v = atoi(arg(argc, argv, "flip_v", "0")) != 0;
    }
    size_t n = (size_t)h * w * c;
    float *x = read_f32(in, n), *y = malloc(n * sizeof *y);
    int rc = 1;
    if (x && y) {
        fc_aug_apply(&p, x, h, w, c, y);
        FILE *f = fopen(out, "wb");
        if (!f) {
            fprintf(stderr, "augment_tool: cannot write %s\n", out);
        } else {
            int ok = fwrite(y, sizeof *y, n, f) == n;
            if (fclose(f) != 0) ok = 0;
            if (ok) rc = 0;
            else fprintf(stderr, "augment_tool: write error on %s\n", out);
        }
        if (rc == 0)
            printf("%.17g %.17g %.17g %.17g %.17g %.17g %d %d\n", p.theta, p.tx, p.ty, p.shear,
                   p.zx, p.zy, p.flip_h, p.flip_v);
    } else if (!y) {
        fprintf(stderr, "augment_tool: out of memory\n");
    }
    free(x);
    free(y);
    return rc;
}
