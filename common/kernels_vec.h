/* kernels_vec.h - 8-float GCC vector blocks for the kernels' channel loops (internal to
 * kernels*.c). In the x86-64-v3 clone a v8 is one AVX ymm register, in the baseline
 * clone a pair of SSE registers. ld/st with nl < 8 handle the channel tail. Every
 * function here is always inlined, so a v8 never crosses a call (hence -Wpsabi off). */
#ifndef FC_KERNELS_VEC_H
#define FC_KERNELS_VEC_H

#include <string.h>

#if defined(__GNUC__)
#pragma GCC diagnostic ignored "-Wpsabi"
#endif

#define VL 8
typedef float v8 __attribute__((vector_size(32)));
#define AI static inline __attribute__((always_inline))

AI v8 ld(const float *p, int nl) {
    v8 x = {0};
    memcpy(&x, p, (size_t)nl * sizeof(float));
    return x;
}

AI void st(float *p, v8 x, int nl) { memcpy(p, &x, (size_t)nl * sizeof(float)); }

#endif
