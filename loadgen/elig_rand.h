/* SPDX-License-Identifier: MIT */
#ifndef ELIG_RAND_H
#define ELIG_RAND_H

#include <stdint.h>

/**
 * @file
 * The generators' randomness: counter-based, so draw j of item i is a pure
 * function of (seed, i, j) and any item can be made alone, in any order.
 */

/** splitmix64's finaliser: a bijection of 64-bit values with good mixing. */
static inline uint64_t elig_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/** Draw j of item i under seed. */
static inline uint64_t elig_draw(uint64_t seed, uint64_t i, uint64_t j)
{
    return elig_mix64(seed * 0x9e3779b97f4a7c15ull ^ elig_mix64(i * 4096 + j + 1));
}

/** A uniform double in [0, 1) from 53 bits of r. */
static inline double elig_unit(uint64_t r)
{
    return (double)(r >> 11) / 9007199254740992.0;
}

/** The index of the first of n cumulative weights above r mod the total. */
static inline unsigned elig_pick(const int64_t *cum, unsigned n, uint64_t r)
{
    int64_t u = (int64_t)(r % (uint64_t)cum[n - 1]);
    unsigned lo = 0, hi = n - 1;
    while (lo < hi) {
        unsigned mid = (lo + hi) / 2;
        if (cum[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

#endif
