/* SPDX-License-Identifier: MIT */
#ifndef ELIG_SCHED_H
#define ELIG_SCHED_H

#include <stdbool.h>
#include <stdint.h>

#include "elig_tables.h"

/**
 * @file
 * When a month's checks happen: the published month's volume and mix
 * (elig_month_checks) spread over its hours by an hour-of-day and day-kind
 * profile (working day, Saturday, Sunday or holiday; the profile is an
 * assumption, documented in docs/loadgen.md), separately for checks made at
 * the counter and for batch checks (appointment lists, run the evening
 * before and early in the morning).
 *
 * The traffic is a sequence of frames: a single check or a BATCH of
 * batch_size entries. The schedule gives each frame k its place in the
 * month (the inverse of the cumulative frame count over the hours, linear
 * within an hour), so frames come in time order, and gives each hour the
 * share of its frames that are BATCH frames. Everything here is a pure
 * function of the parameters; a schedule is read-only once made and can be
 * shared between threads.
 */

#define ELIG_SCHED_HOURS_MAX (31 * 24)

/** What to schedule. */
struct elig_sched_params {
    const char *month; /**< a month of elig_month_checks: "2025-02" or "2024-10" */
    uint64_t checks;   /**< checks in the month, batch entries included (0: the published volume) */
    unsigned batch_size; /**< entries per BATCH frame (1..ELIG_PROTO_BATCH_MAX) */
};

/** Kinds of day. */
enum elig_sched_day { ELIG_DAY_WORKING, ELIG_DAY_SATURDAY, ELIG_DAY_CLOSED };

/** One hour of the month, as scheduled. */
struct elig_sched_hour {
    uint32_t date;        /**< YYYYMMDD */
    uint8_t hour;         /**< 0..23 */
    uint8_t weekday;      /**< 0 Monday .. 6 Sunday */
    uint8_t day_kind;     /**< enum elig_sched_day (Sundays and national holidays are closed) */
    double single_checks; /**< expected checks at the counter (card or number) */
    double batch_checks;  /**< expected batch check entries */
    double frames;        /**< expected frames: single checks + batch checks / batch_size */
};

/** A month's schedule (opaque). */
struct elig_sched;

/**
 * Make the schedule.
 * @return 0 and *out; -EINVAL (batch_size out of range, month NULL);
 *         -ENOENT (month not in elig_month_checks); -ENOMEM.
 */
int elig_sched_create(const struct elig_sched_params *p, struct elig_sched **out);
void elig_sched_destroy(struct elig_sched *s);

/** The month's published figures the schedule spreads. */
const struct elig_month_checks *elig_sched_month(const struct elig_sched *s);

/** Hours in the month (24 x days). */
unsigned elig_sched_hours(const struct elig_sched *s);

/** Hour h (< elig_sched_hours()) as scheduled. */
const struct elig_sched_hour *elig_sched_hour(const struct elig_sched *s, unsigned h);

/** Expected frames in the month. */
double elig_sched_frames(const struct elig_sched *s);

/**
 * Where frame k falls: seconds from the start of the month (frames past the
 * expected count are placed at the month's end), and *hour its hour.
 */
double elig_sched_offset(const struct elig_sched *s, uint64_t k, unsigned *hour);

/** The first frame at or after offset seconds from the month's start. */
uint64_t elig_sched_frame_at(const struct elig_sched *s, double offset);

/** Of hour h's frames, the share that are BATCH frames. */
double elig_sched_batch_share(const struct elig_sched *s, unsigned h);

/** Whether YYYYMMDD is a national holiday of Japan (2024-2026) or a year-end closure day. */
bool elig_sched_holiday(uint32_t yyyymmdd);

#endif
