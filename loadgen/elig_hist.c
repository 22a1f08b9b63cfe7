/* SPDX-License-Identifier: MIT */
/*
 * elig_hist: a log-linear histogram.
 *
 * Layout: bucket i < 2 * SUB holds the value i exactly (values 0..511).
 * Above, a value v with its highest set bit at position b (b >= 9) is in
 * range e = b - 8 (e >= 1), where it is v >> e, a number in [SUB, 2 SUB);
 * its bucket is e * SUB + (v >> e). Every bucket of range e spans 2^e
 * values, so relative precision is better than 1/SUB. Recording is one
 * count-leading-zeros, a shift and an add; no branches on the data beyond
 * the small-value case.
 */
#include "elig_hist.h"

#include <string.h>

void elig_hist_reset(struct elig_hist *h)
{
    memset(h, 0, sizeof(*h));
    h->min = UINT64_MAX;
}

unsigned elig_hist_bucket(uint64_t v)
{
    if (v < 2 * ELIG_HIST_SUB)
        return (unsigned)v;
    unsigned b = 63u - (unsigned)__builtin_clzll(v);
    unsigned e = b - 8;
    return e * ELIG_HIST_SUB + (unsigned)(v >> e);
}

uint64_t elig_hist_bucket_high(unsigned i)
{
    if (i < 2 * ELIG_HIST_SUB)
        return i;
    unsigned e = i / ELIG_HIST_SUB - 1, m = i % ELIG_HIST_SUB + ELIG_HIST_SUB;
    /* values m << e .. (m << e) + 2^e - 1 */
    return ((uint64_t)m << e) + (((uint64_t)1 << e) - 1);
}

void elig_hist_record_n(struct elig_hist *h, uint64_t v, uint64_t n)
{
    if (h->total == 0 && h->min == 0 && h->max == 0)
        h->min = UINT64_MAX; /* a zero-initialised histogram */
    h->counts[elig_hist_bucket(v)] += n;
    h->total += n;
    h->sum += (long double)v * (long double)n;
    if (v < h->min)
        h->min = v;
    if (v > h->max)
        h->max = v;
}

void elig_hist_merge(struct elig_hist *dst, const struct elig_hist *src)
{
    if (src->total == 0)
        return;
    if (dst->total == 0)
        dst->min = UINT64_MAX;
    for (unsigned i = 0; i < ELIG_HIST_BUCKETS; i++)
        dst->counts[i] += src->counts[i];
    dst->total += src->total;
    dst->sum += src->sum;
    if (src->min < dst->min)
        dst->min = src->min;
    if (src->max > dst->max)
        dst->max = src->max;
}

uint64_t elig_hist_percentile(const struct elig_hist *h, double p)
{
    if (h->total == 0)
        return 0;
    if (p <= 0)
        return h->min;
    if (p >= 100)
        return h->max;
    double r = p / 100.0 * (double)h->total;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r || rank == 0)
        rank++; /* ceil, and at least the first value */
    uint64_t seen = 0;
    for (unsigned i = 0; i < ELIG_HIST_BUCKETS; i++) {
        seen += h->counts[i];
        if (seen >= rank) {
            uint64_t hi = elig_hist_bucket_high(i);
            return hi < h->max ? hi : h->max; /* never above what was seen */
        }
    }
    return h->max;
}

double elig_hist_mean(const struct elig_hist *h)
{
    return h->total ? (double)(h->sum / (long double)h->total) : 0.0;
}
