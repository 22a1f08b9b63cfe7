/* SPDX-License-Identifier: MIT */
#ifndef ELIG_HIST_H
#define ELIG_HIST_H

#include <stdint.h>

/**
 * @file
 * A log-linear histogram of non-negative integer values (latencies in
 * nanoseconds), in the manner of HdrHistogram: values below 512 are counted
 * exactly; above, each power-of-two range is cut into 256 equal buckets, so
 * every value is held to within 1/256 (0.4%) of itself, from 1 ns to 2^63
 * ns, in a fixed 118 KiB with no allocation when recording. Percentiles are
 * reported as the highest value their bucket can hold, so a reported p99 is
 * never below the true one.
 *
 * Not thread-safe: one histogram per thread, merged at the end.
 */

#define ELIG_HIST_SUB     256 /**< buckets per power of two */
#define ELIG_HIST_BUCKETS (ELIG_HIST_SUB * 57)

/** A histogram. Zero-initialised (or elig_hist_reset()) it is empty. */
struct elig_hist {
    uint64_t total;                     /**< values recorded */
    uint64_t min, max;                  /**< exact extremes (min is UINT64_MAX when empty) */
    long double sum;                    /**< for the mean */
    uint64_t counts[ELIG_HIST_BUCKETS]; /**< per bucket */
};

/** Empty the histogram. */
void elig_hist_reset(struct elig_hist *h);

/** Record value v, n times. O(1). */
void elig_hist_record_n(struct elig_hist *h, uint64_t v, uint64_t n);

/** Record value v once. */
static inline void elig_hist_record(struct elig_hist *h, uint64_t v)
{
    elig_hist_record_n(h, v, 1);
}

/** Add every value of src to dst. */
void elig_hist_merge(struct elig_hist *dst, const struct elig_hist *src);

/**
 * The value at percentile p (0..100): the highest value of the bucket that
 * holds the ceil(p/100 * total)-th smallest value (p = 100 gives the exact
 * maximum, p = 0 the exact minimum). 0 when empty.
 */
uint64_t elig_hist_percentile(const struct elig_hist *h, double p);

/** Mean of the recorded values; 0 when empty. */
double elig_hist_mean(const struct elig_hist *h);

/** Bucket of value v, and the highest value bucket i holds (for tests and reports). */
unsigned elig_hist_bucket(uint64_t v);
uint64_t elig_hist_bucket_high(unsigned i);

#endif
