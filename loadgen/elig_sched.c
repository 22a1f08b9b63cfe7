/* SPDX-License-Identifier: MIT */
/*
 * elig_sched: a month's checks spread over its hours.
 *
 * Design: one pass over the month's hours gives each a weight for checks at
 * the counter (by the hour-of-day profile of its kind of day) and one for
 * batch checks (the evening before an open day, and its early morning);
 * the month's single and batch checks (published mix, scaled to the
 * requested volume) are shared out by those weights. The expected frames
 * of each hour (single checks + batch entries / batch size) are summed into
 * a cumulative table of ELIG_SCHED_HOURS_MAX + 1 doubles, and frame k is
 * placed by binary search in it, linearly within its hour: O(log hours), no
 * state, so any thread can place any frame and frame order is time order.
 *
 * The profiles are assumptions (no hourly figures are published; the only
 * published statement is that checks cluster in weekday-morning reception
 * hours); docs/loadgen.md shows them and the peak-to-average ratio they give.
 */
#include "elig_sched.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elig_date.h"

struct elig_sched {
    const struct elig_month_checks *m;
    unsigned hours;
    unsigned batch_size;
    struct elig_sched_hour h[ELIG_SCHED_HOURS_MAX];
    double cum[ELIG_SCHED_HOURS_MAX + 1]; /* frames before hour h */
};

/* Checks at the counter by hour of day, per kind of day (relative weights). */
static const double counter_profile[3][24] = {
    /* working day: reception opens at 8-9, morning peak, lunch dip, afternoon session */
    { 0.2, 0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 1.5, 7, 13,  13,  10.5,
      5.5, 4.5,  6.5, 7.5, 7.5, 6.5,  4,   2,   1, 0.6, 0.4, 0.3 },
    /* Saturday: mornings only for most clinics and pharmacies */
    { 0.2, 0.15, 0.1, 0.1, 0.1, 0.15, 0.3, 1.5, 8,   16,  16,  13,
      7,   3,    2.5, 2.5, 2.5, 2,    1,   0.6, 0.4, 0.3, 0.2, 0.2 },
    /* Sunday or holiday: emergency departments and holiday duty clinics */
    { 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 0.5, 1,   3,   3,   3,
      3,   3,   3,   3,   3,   1.5, 1.5, 1.5, 1.5, 1.5, 0.8, 0.8 },
};

/* A day's share of the month's counter checks relative to a working day. */
static const double counter_day[3] = { 1.0, 0.5, 0.06 };

/* Batch checks: appointment lists for the next open day, checked in the
 * evening, or early on the day itself, with a trickle during the day. */
static const double batch_evening[24] = {
    [17] = 3, [18] = 5, [19] = 5, [20] = 4, [21] = 2, [22] = 1
};
static const double batch_morning[24] = {
    [6] = 1,    [7] = 3,    [8] = 3,    [9] = 0.5,  [10] = 0.5, [11] = 0.5,
    [12] = 0.5, [13] = 0.5, [14] = 0.5, [15] = 0.5, [16] = 0.5
};
static const double batch_day[3] = { 1.0, 0.4, 0.02 };

/* National holidays of Japan (Cabinet Office, 国民の祝日), substitute
 * holidays included, and the year-end closure most facilities observe
 * (29-31 December, 2-3 January). */
static const uint32_t holidays[] = {
    20240101, 20240102, 20240103, 20240108, 20240211, 20240212, 20240223, 20240320, 20240429,
    20240503, 20240504, 20240505, 20240506, 20240715, 20240811, 20240812, 20240916, 20240922,
    20240923, 20241014, 20241103, 20241104, 20241123, 20241229, 20241230, 20241231, 20250101,
    20250102, 20250103, 20250113, 20250211, 20250223, 20250224, 20250320, 20250429, 20250503,
    20250504, 20250505, 20250506, 20250721, 20250811, 20250915, 20250923, 20251013, 20251103,
    20251123, 20251124, 20251229, 20251230, 20251231, 20260101, 20260102, 20260103, 20260112,
    20260211, 20260223, 20260320, 20260429, 20260503, 20260504, 20260505, 20260506, 20260720,
    20260811, 20260921, 20260922, 20260923, 20261012, 20261103, 20261123, 20261229, 20261230,
    20261231,
};

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

bool elig_sched_holiday(uint32_t yyyymmdd)
{
    return bsearch(&yyyymmdd, holidays, sizeof holidays / sizeof *holidays, sizeof *holidays,
                   cmp_u32) != NULL;
}

static uint32_t ymd(elig_date_t d)
{
    int y, m, dd;
    elig_date_to_ymd(d, &y, &m, &dd);
    return (uint32_t)(y * 10000 + m * 100 + dd);
}

static enum elig_sched_day day_kind(elig_date_t d)
{
    unsigned wd = d % 7; /* 1900-01-01 (day 0) was a Monday */
    if (wd == 6 || elig_sched_holiday(ymd(d)))
        return ELIG_DAY_CLOSED;
    return wd == 5 ? ELIG_DAY_SATURDAY : ELIG_DAY_WORKING;
}

int elig_sched_create(const struct elig_sched_params *p, struct elig_sched **out)
{
    if (p->month == NULL || p->batch_size == 0 || p->batch_size > 1000)
        return -EINVAL;
    const struct elig_month_checks *m = NULL;
    for (int i = 0; i < ELIG_MONTHS; i++)
        if (strcmp(elig_month_checks[i].month, p->month) == 0)
            m = &elig_month_checks[i];
    int year, month;
    elig_date_t first;
    if (m == NULL || sscanf(m->month, "%d-%d", &year, &month) != 2 ||
        elig_date_from_ymd(year, month, 1, &first))
        return -ENOENT;
    struct elig_sched *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return -ENOMEM;
    s->m = m;
    s->batch_size = p->batch_size;
    double singles = 0, batch = 0;
    for (int t = 0; t < ELIG_FACILITY_TYPES; t++) {
        singles += (double)m->total[t];
        batch += (double)m->batch[t];
    }
    double scale = p->checks ? (double)p->checks / (singles + batch) : 1.0;
    singles *= scale;
    batch *= scale;

    double ws[ELIG_SCHED_HOURS_MAX], wb[ELIG_SCHED_HOURS_MAX], sum_s = 0, sum_b = 0;
    elig_date_t d = first;
    for (; ymd(d) / 100 == ymd(first) / 100; d++) {
        enum elig_sched_day k = day_kind(d), next = day_kind((elig_date_t)(d + 1));
        for (unsigned hr = 0; hr < 24; hr++) {
            unsigned h = s->hours++;
            s->h[h] = (struct elig_sched_hour){
                .date = ymd(d), .hour = (uint8_t)hr, .weekday = (uint8_t)(d % 7), .day_kind = k
            };
            ws[h] = counter_day[k] * counter_profile[k][hr];
            wb[h] = batch_day[next] * batch_evening[hr] + batch_day[k] * batch_morning[hr];
            sum_s += ws[h];
            sum_b += wb[h];
        }
    }
    for (unsigned h = 0; h < s->hours; h++) {
        struct elig_sched_hour *x = &s->h[h];
        x->single_checks = singles * ws[h] / sum_s;
        x->batch_checks = batch * wb[h] / sum_b;
        x->frames = x->single_checks + x->batch_checks / p->batch_size;
        s->cum[h + 1] = s->cum[h] + x->frames;
    }
    *out = s;
    return 0;
}

void elig_sched_destroy(struct elig_sched *s)
{
    free(s);
}

const struct elig_month_checks *elig_sched_month(const struct elig_sched *s)
{
    return s->m;
}

unsigned elig_sched_hours(const struct elig_sched *s)
{
    return s->hours;
}

const struct elig_sched_hour *elig_sched_hour(const struct elig_sched *s, unsigned h)
{
    return &s->h[h];
}

double elig_sched_frames(const struct elig_sched *s)
{
    return s->cum[s->hours];
}

double elig_sched_offset(const struct elig_sched *s, uint64_t k, unsigned *hour)
{
    double x = (double)k + 0.5;
    if (x >= s->cum[s->hours]) {
        *hour = s->hours - 1;
        return 3600.0 * s->hours;
    }
    unsigned lo = 0, hi = s->hours - 1; /* the last h with cum[h] <= x */
    while (lo < hi) {
        unsigned mid = (lo + hi + 1) / 2;
        if (s->cum[mid] <= x)
            lo = mid;
        else
            hi = mid - 1;
    }
    *hour = lo;
    return 3600.0 * (lo + (x - s->cum[lo]) / s->h[lo].frames);
}

uint64_t elig_sched_frame_at(const struct elig_sched *s, double offset)
{
    if (offset <= 0)
        return 0;
    unsigned h = (unsigned)(offset / 3600);
    double x = h >= s->hours ? s->cum[s->hours] : s->cum[h] + s->h[h].frames * (offset / 3600 - h);
    double k = ceil(x - 0.5);
    return k > 0 ? (uint64_t)k : 0;
}

double elig_sched_batch_share(const struct elig_sched *s, unsigned h)
{
    const struct elig_sched_hour *x = &s->h[h];
    return x->frames > 0 ? x->batch_checks / s->batch_size / x->frames : 0;
}
