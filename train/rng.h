/* rng.h - counter-based random numbers for training (splitmix64 mixing).
 *
 * Every random draw is a pure function of (seed, stream, counters), never of how many
 * draws came before: glorot init of a weight depends on (seed, layer, index), a dropout
 * mask bit on (seed, layer, epoch, step, sample, unit), an epoch's shuffle on
 * (seed, epoch). So a config trained inside a sweep sees exactly the random numbers it
 * sees when trained alone, whatever else the sweep trains next to it. */
#ifndef FC_TRAIN_RNG_H
#define FC_TRAIN_RNG_H

#include <stdint.h>

enum { FC_RNG_INIT = 1, FC_RNG_DROPOUT = 2, FC_RNG_SHUFFLE = 3, FC_RNG_VIEW = 4 };

static inline uint64_t fc_mix64(uint64_t z) {
    z += 0x9e3779b97f4a7c15ULL;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Key for a stream of draws: chained mixing of the seed and up to three counters. */
static inline uint64_t fc_rng_key(uint64_t seed, uint64_t stream, uint64_t a, uint64_t b) {
    return fc_mix64(fc_mix64(fc_mix64(seed ^ (stream << 56)) ^ a) ^ (b * 0x2545f4914f6cdd1dULL));
}

/* Uniform float in [0, 1) with 24 random bits: draw i of stream `key`. */
static inline float fc_rng_uniform(uint64_t key, uint64_t i) {
    return (float)(fc_mix64(key + i * 0x9e3779b97f4a7c15ULL) >> 40) * (1.0f / 16777216.0f);
}

#endif
