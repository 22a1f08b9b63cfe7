/* SPDX-License-Identifier: MIT */
/*
 * test_sched: the month's schedule: volume kept, frames in time order
 * and placed where the profile puts them, the calendar (weekdays, national
 * holidays), batch checks in the evening before open days, and errors.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>

#include "elig_sched.h"
#include "test_support.h"

static struct elig_sched *make(const char *month, uint64_t checks, unsigned batch)
{
    struct elig_sched_params p = { .month = month, .checks = checks, .batch_size = batch };
    struct elig_sched *s = NULL;
    assert_int_equal(elig_sched_create(&p, &s), 0);
    return s;
}

/* The hour of the month that is date (YYYYMMDD) at hour hr. */
static const struct elig_sched_hour *at(const struct elig_sched *s, uint32_t date, unsigned hr)
{
    for (unsigned h = 0; h < elig_sched_hours(s); h++) {
        const struct elig_sched_hour *x = elig_sched_hour(s, h);
        if (x->date == date && x->hour == hr)
            return x;
    }
    fail_msg("no hour %u %u", date, hr);
    return NULL;
}

static void test_volume_kept(void **state)
{
    (void)state;
    struct elig_sched *s = make("2025-02", 0, 32);
    assert_int_equal(elig_sched_hours(s), 28 * 24);
    double single = 0, batch = 0, frames = 0;
    for (unsigned h = 0; h < elig_sched_hours(s); h++) {
        const struct elig_sched_hour *x = elig_sched_hour(s, h);
        single += x->single_checks;
        batch += x->batch_checks;
        frames += x->frames;
        assert_true(x->frames > 0);
    }
    /* 2025-02 as published: 211,951,351 at the counter + 23,888,281 batch */
    assert_true(fabs(single - 211951351.0) < 1);
    assert_true(fabs(batch - 23888281.0) < 1);
    assert_true(fabs(frames - elig_sched_frames(s)) < 1);
    assert_true(fabs(frames - (single + batch / 32)) < 1);
    elig_sched_destroy(s);

    s = make("2024-10", 1000000, 10); /* scaled; no batch published for 2024-10 */
    assert_int_equal(elig_sched_hours(s), 31 * 24);
    double all = 0;
    for (unsigned h = 0; h < elig_sched_hours(s); h++) {
        all += elig_sched_hour(s, h)->single_checks;
        assert_true(elig_sched_hour(s, h)->batch_checks == 0);
        assert_true(elig_sched_batch_share(s, h) == 0);
    }
    assert_true(fabs(all - 1000000) < 1e-3);
    elig_sched_destroy(s);
}

static void test_frames_in_time_order(void **state)
{
    (void)state;
    struct elig_sched *s = make("2025-02", 10000000, 32);
    uint64_t n = (uint64_t)elig_sched_frames(s);
    double prev = -1;
    unsigned hprev = 0;
    for (uint64_t k = 0; k < n; k += 997) {
        unsigned h;
        double off = elig_sched_offset(s, k, &h);
        assert_true(off >= prev);
        assert_true(h >= hprev);
        assert_true(off >= 3600.0 * h && off < 3600.0 * (h + 1));
        /* the inverse: the first frame at or after off is k (or k's twin on a boundary) */
        uint64_t back = elig_sched_frame_at(s, off);
        assert_true(back == k || back == k + 1 || back + 1 == k);
        prev = off;
        hprev = h;
    }
    /* past the expected frames: the month's end */
    unsigned h;
    assert_true(elig_sched_offset(s, n + 10, &h) == 3600.0 * 28 * 24);
    assert_int_equal(h, 28 * 24 - 1);
    assert_int_equal(elig_sched_frame_at(s, 0), 0);
    assert_int_equal(elig_sched_frame_at(s, -5), 0);
    elig_sched_destroy(s);
}

/* Frames land in an hour in proportion to its expected frames. */
static void test_frames_follow_the_profile(void **state)
{
    (void)state;
    struct elig_sched *s = make("2025-02", 5000000, 32);
    uint64_t n = (uint64_t)elig_sched_frames(s);
    unsigned *count = calloc(elig_sched_hours(s), sizeof *count);
    for (uint64_t k = 0; k < n; k++) {
        unsigned h;
        elig_sched_offset(s, k, &h);
        count[h]++;
    }
    for (unsigned h = 0; h < elig_sched_hours(s); h++)
        assert_true(fabs(count[h] - elig_sched_hour(s, h)->frames) <= 1.0);
    free(count);
    elig_sched_destroy(s);
}

static void test_calendar(void **state)
{
    (void)state;
    assert_true(elig_sched_holiday(20250211)); /* National Foundation Day */
    assert_true(elig_sched_holiday(20250224)); /* substitute for the Emperor's Birthday */
    assert_true(elig_sched_holiday(20241014)); /* Sports Day */
    assert_false(elig_sched_holiday(20250212));
    assert_false(elig_sched_holiday(20250203));
    struct elig_sched *s = make("2025-02", 0, 32);
    const struct elig_sched_hour *mon = at(s, 20250203, 10), *sat = at(s, 20250208, 10),
                                 *sun = at(s, 20250209, 10), *hol = at(s, 20250211, 10);
    assert_int_equal(mon->weekday, 0);
    assert_int_equal(mon->day_kind, ELIG_DAY_WORKING);
    assert_int_equal(sat->weekday, 5);
    assert_int_equal(sat->day_kind, ELIG_DAY_SATURDAY);
    assert_int_equal(sun->weekday, 6);
    assert_int_equal(sun->day_kind, ELIG_DAY_CLOSED);
    assert_int_equal(hol->day_kind, ELIG_DAY_CLOSED);
    /* the counter: a Saturday morning over half a weekday's, closed days far less */
    assert_true(sat->single_checks > 0.5 * mon->single_checks);
    assert_true(sat->single_checks < 0.9 * mon->single_checks);
    assert_true(sun->single_checks < 0.1 * mon->single_checks);
    assert_true(hol->single_checks == sun->single_checks);
    /* night is quiet; the busiest hour is a working-day morning */
    assert_true(at(s, 20250203, 3)->single_checks < 0.05 * mon->single_checks);
    double peak = 0, sum = 0;
    const struct elig_sched_hour *busiest = NULL;
    for (unsigned h = 0; h < elig_sched_hours(s); h++) {
        const struct elig_sched_hour *x = elig_sched_hour(s, h);
        double c = x->single_checks + x->batch_checks;
        sum += c;
        if (c > peak)
            peak = c, busiest = x;
    }
    assert_int_equal(busiest->day_kind, ELIG_DAY_WORKING);
    assert_true(busiest->hour == 9 || busiest->hour == 10);
    double ratio = peak / (sum / elig_sched_hours(s));
    assert_true(ratio > 3 && ratio < 6);
    elig_sched_destroy(s);
}

static void test_batch_evening_before_open_days(void **state)
{
    (void)state;
    struct elig_sched *s = make("2025-02", 0, 32);
    unsigned h_sun = 0, h_sat = 0, h_mon_noon = 0;
    for (unsigned h = 0; h < elig_sched_hours(s); h++) {
        const struct elig_sched_hour *x = elig_sched_hour(s, h);
        h_sun = x->date == 20250209 && x->hour == 19 ? h : h_sun; /* before Monday */
        h_sat = x->date == 20250208 && x->hour == 19 ? h : h_sat; /* before Sunday */
        h_mon_noon = x->date == 20250210 && x->hour == 2 ? h : h_mon_noon;
    }
    const struct elig_sched_hour *sun = elig_sched_hour(s, h_sun), *sat = elig_sched_hour(s, h_sat);
    assert_true(sun->batch_checks > 10 * sat->batch_checks);
    assert_true(elig_sched_batch_share(s, h_sun) > 0.2);     /* 32 entries a frame */
    assert_true(elig_sched_batch_share(s, h_mon_noon) == 0); /* none at 2 a.m. */
    double share = elig_sched_batch_share(s, h_sun);
    assert_true(fabs(share - sun->batch_checks / 32 / sun->frames) < 1e-12);
    elig_sched_destroy(s);
}

static void test_errors(void **state)
{
    (void)state;
    struct elig_sched *s = NULL;
    struct elig_sched_params p = { .month = "2023-01", .batch_size = 32 };
    assert_int_equal(elig_sched_create(&p, &s), -ENOENT);
    p.month = "2025-02";
    p.batch_size = 0;
    assert_int_equal(elig_sched_create(&p, &s), -EINVAL);
    p.batch_size = 1001;
    assert_int_equal(elig_sched_create(&p, &s), -EINVAL);
    p.month = NULL;
    p.batch_size = 32;
    assert_int_equal(elig_sched_create(&p, &s), -EINVAL);
    assert_null(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_volume_kept),
        cmocka_unit_test(test_frames_in_time_order),
        cmocka_unit_test(test_frames_follow_the_profile),
        cmocka_unit_test(test_calendar),
        cmocka_unit_test(test_batch_evening_before_open_days),
        cmocka_unit_test(test_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
