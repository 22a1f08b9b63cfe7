/* SPDX-License-Identifier: MIT */
/*
 * test_hist: the latency histogram against exact answers: percentiles of
 * a million log-uniform values against a sorted copy, merge, bucket edges.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "elig_hist.h"
#include "test_support.h"

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t rng(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}

static void test_small_values_exact(void **state)
{
    (void)state;
    struct elig_hist *h = calloc(1, sizeof(*h));
    for (uint64_t v = 0; v < 512; v++)
        elig_hist_record(h, v);
    assert_int_equal(h->total, 512);
    assert_int_equal(h->min, 0);
    assert_int_equal(h->max, 511);
    assert_int_equal(elig_hist_percentile(h, 50), 255);
    assert_int_equal(elig_hist_percentile(h, 100), 511);
    assert_int_equal(elig_hist_percentile(h, 0), 0);
    assert_true(fabs(elig_hist_mean(h) - 255.5) < 1e-9);
    free(h);
}

static void test_buckets(void **state)
{
    (void)state;
    /* every value lies in a bucket whose top is >= it and within 1/256 of it */
    uint64_t s = 42;
    unsigned prev = 0;
    for (uint64_t v = 0; v < 200000; v++) {
        unsigned b = elig_hist_bucket(v);
        assert_true(b >= prev); /* monotonic */
        prev = b;
        uint64_t hi = elig_hist_bucket_high(b);
        assert_true(hi >= v);
        assert_true((double)(hi - v) <= (double)v / 256.0 + 1e-9);
        assert_int_equal(elig_hist_bucket(hi), b);
    }
    for (int i = 0; i < 100000; i++) {
        uint64_t v = rng(&s) >> (rng(&s) % 64);
        unsigned b = elig_hist_bucket(v);
        assert_true(b < ELIG_HIST_BUCKETS);
        uint64_t hi = elig_hist_bucket_high(b);
        assert_true(hi >= v);
        assert_true((long double)(hi - v) <= (long double)v / 256.0L);
    }
    assert_true(elig_hist_bucket(UINT64_MAX) < ELIG_HIST_BUCKETS);
    assert_int_equal(elig_hist_bucket_high(elig_hist_bucket(UINT64_MAX)), UINT64_MAX);
}

static void test_percentiles_against_sorted(void **state)
{
    (void)state;
    enum { N = 1000000 };
    uint64_t *v = malloc(N * sizeof(*v));
    struct elig_hist *h = calloc(1, sizeof(*h));
    uint64_t s = 0x1234567;
    for (int i = 0; i < N; i++) { /* log-uniform from 1 us to 1 s, in ns */
        double x = 3.0 + 6.0 * (double)(rng(&s) >> 11) / 9007199254740992.0;
        v[i] = (uint64_t)pow(10.0, x);
        elig_hist_record(h, v[i]);
    }
    qsort(v, N, sizeof(*v), cmp_u64);
    static const double ps[] = { 0, 0.1, 1, 10, 25, 50, 75, 90, 99, 99.9, 99.99, 99.999, 100 };
    for (size_t k = 0; k < sizeof ps / sizeof ps[0]; k++) {
        double r = ps[k] / 100.0 * N;
        size_t rank = (size_t)r;
        if ((double)rank < r || rank == 0)
            rank++;
        uint64_t exact = v[rank - 1], got = elig_hist_percentile(h, ps[k]);
        if (got < exact || (double)(got - exact) > (double)exact / 256.0)
            fail_msg("p%g: got %llu, exact %llu", ps[k], (unsigned long long)got,
                     (unsigned long long)exact);
    }
    assert_int_equal(elig_hist_percentile(h, 100), v[N - 1]);
    assert_int_equal(elig_hist_percentile(h, 0), v[0]);
    free(v);
    free(h);
}

static void test_merge(void **state)
{
    (void)state;
    struct elig_hist *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b)),
                     *all = calloc(1, sizeof(*all));
    uint64_t s = 99;
    for (int i = 0; i < 50000; i++) {
        uint64_t x = rng(&s) % 10000000;
        elig_hist_record(i % 2 ? a : b, x);
        elig_hist_record(all, x);
    }
    struct elig_hist *empty = calloc(1, sizeof(*empty));
    elig_hist_merge(empty, a);
    elig_hist_merge(empty, b);
    assert_int_equal(empty->total, all->total);
    assert_int_equal(empty->min, all->min);
    assert_int_equal(empty->max, all->max);
    assert_memory_equal(empty->counts, all->counts, sizeof all->counts);
    for (double p = 0; p <= 100; p += 12.5)
        assert_int_equal(elig_hist_percentile(empty, p), elig_hist_percentile(all, p));
    elig_hist_reset(a);
    assert_int_equal(a->total, 0);
    assert_int_equal(elig_hist_percentile(a, 50), 0);
    elig_hist_record_n(a, 1000, 3);
    assert_int_equal(a->total, 3);
    assert_int_equal(a->min, 1000);
    free(a);
    free(b);
    free(all);
    free(empty);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_small_values_exact),
        cmocka_unit_test(test_buckets),
        cmocka_unit_test(test_percentiles_against_sorted),
        cmocka_unit_test(test_merge),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
