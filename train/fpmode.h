/* fpmode.h - heads train and run with denormals flushed to zero (SSE FTZ and DAZ), as
 * TensorFlow's CPU threads do (its thread pool sets both in every thread it starts).
 * Without it a converged head slows down 5-7x: its RMSprop/Adam state and gradients sink
 * into the subnormal range, where each operation takes a microcode assist (review 11 U:
 * a 150-epoch run went from 0.02 to 0.14 s/epoch; with FTZ/DAZ it stays at 0.02). The
 * backbone (extract) keeps the default mode: its features do not change. */
#ifndef FC_TRAIN_FPMODE_H
#define FC_TRAIN_FPMODE_H

#if defined(__x86_64__) || defined(__SSE__)
#include <xmmintrin.h>
#define FC_MXCSR_FTZ_DAZ 0x8040u /* bit 15 flush-to-zero, bit 6 denormals-are-zero */
/* Sets FTZ and DAZ in the calling thread; returns the mode to restore. */
static inline unsigned fc_ftz_enter(void) {
    unsigned old = _mm_getcsr();
    _mm_setcsr(old | FC_MXCSR_FTZ_DAZ);
    return old;
}
static inline void fc_ftz_leave(unsigned old) { _mm_setcsr(old); }
#else
static inline unsigned fc_ftz_enter(void) { return 0; }
static inline void fc_ftz_leave(unsigned old) { (void)old; }
#endif

#endif
