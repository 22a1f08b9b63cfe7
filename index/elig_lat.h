/* SPDX-License-Identifier: MIT */
#ifndef ELIG_LAT_H
#define ELIG_LAT_H

#include <stdatomic.h>
#include <stdint.h>

/**
 * @file
 * A latency histogram with fixed buckets, as Prometheus histograms count
 * them: upper bounds from 10 us to 1 s in 1-2.5-5 steps, then +Inf. One
 * definition for every latency eligd reports (answers by opcode, log
 * commits), so every histogram has the same buckets.
 *
 * Counts are per bucket (not cumulative: the reporter adds them up) plus the
 * sum of the durations, each an atomic word: a writer adds with
 * elig_lat_add() (thread-safe; a single writer may use elig_lat_add_own()),
 * any thread reads at any time. A reader may see a count before the sum
 * that goes with it; Prometheus tolerates that.
 */

#define ELIG_LAT_BOUNDS 16 /**< finite upper bounds; bucket ELIG_LAT_BOUNDS is +Inf */

/** The upper bounds in nanoseconds: 10 us, 25 us, 50 us, 100 us, ... 500 ms, 1 s. */
extern const uint64_t elig_lat_bound_ns[ELIG_LAT_BOUNDS];

/** A histogram: zero it to start. */
struct elig_lat {
    _Atomic uint64_t bucket[ELIG_LAT_BOUNDS + 1]; /**< durations up to each bound; last: more */
    _Atomic uint64_t sum_ns;                      /**< of every duration counted */
};

/** The bucket of a duration. */
static inline unsigned elig_lat_bucket(uint64_t ns)
{
    unsigned i = 0;
    while (i < ELIG_LAT_BOUNDS && ns > elig_lat_bound_ns[i])
        i++;
    return i;
}

/** Count one duration (thread-safe). */
static inline void elig_lat_add(struct elig_lat *h, uint64_t ns)
{
    atomic_fetch_add_explicit(&h->bucket[elig_lat_bucket(ns)], 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&h->sum_ns, ns, memory_order_relaxed);
}

/** Count n durations of ns each, from the histogram's only writer (no locked instruction). */
static inline void elig_lat_add_own(struct elig_lat *h, uint64_t ns, uint64_t n)
{
    _Atomic uint64_t *b = &h->bucket[elig_lat_bucket(ns)];
    atomic_store_explicit(b, atomic_load_explicit(b, memory_order_relaxed) + n,
                          memory_order_relaxed);
    atomic_store_explicit(&h->sum_ns,
                          atomic_load_explicit(&h->sum_ns, memory_order_relaxed) + ns * n,
                          memory_order_relaxed);
}

#endif
