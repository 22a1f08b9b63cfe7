/* SPDX-License-Identifier: MIT */
#ifndef ELIG_DATE_H
#define ELIG_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * Calendar dates as compact integers.
 *
 * An elig_date_t counts days since 1900-01-01 in 16 bits. A record holds six
 * or more dates and the nation holds 160M records, so two bytes a date instead
 * of four saves about 2 GB. Day 0 is reserved for "no date" (an open
 * valid-until, no loss), so the representable range is 1900-01-02 to
 * 2079-06-06; parsing a date outside it fails with -ELIG_EDATE.
 *
 * All functions are pure and thread-safe.
 */

typedef uint16_t elig_date_t;

#define ELIG_DATE_NONE ((elig_date_t)0)      /**< absent / open-ended */
#define ELIG_DATE_MIN  ((elig_date_t)1)      /**< 1900-01-02 */
#define ELIG_DATE_MAX  ((elig_date_t)0xFFFF) /**< 2079-06-06 */

/** Length of the ISO form "YYYY-MM-DD" without its terminating NUL. */
#define ELIG_DATE_ISO_LEN 10

/**
 * Make a date from a year, month (1-12) and day (1-31).
 *
 * @return 0 and *out set; -ELIG_EDATE if the day does not exist (2025-02-30)
 *         or the date is outside [ELIG_DATE_MIN, ELIG_DATE_MAX].
 */
int elig_date_from_ymd(int year, int month, int day, elig_date_t *out);

/** Split a date (not ELIG_DATE_NONE) into year, month and day. */
void elig_date_to_ymd(elig_date_t date, int *year, int *month, int *day);

/**
 * Parse exactly "YYYY-MM-DD" (ASCII digits, len bytes, no terminator needed).
 *
 * @return 0 and *out set; -ELIG_ESYNTAX if the form is wrong; -ELIG_EDATE if
 *         the date does not exist or is out of range.
 */
int elig_date_parse(const char *s, size_t len, elig_date_t *out);

/**
 * Write "YYYY-MM-DD" and a NUL into buf (ELIG_DATE_ISO_LEN + 1 bytes).
 * ELIG_DATE_NONE is written as "-". Returns buf.
 */
char *elig_date_format(elig_date_t date, char buf[ELIG_DATE_ISO_LEN + 1]);

/**
 * Add (or, with n < 0, subtract) calendar months, clamping the day to the end
 * of the target month: 2025-05-31 - 3 months = 2025-02-28; 2024-02-29 + 12
 * months = 2025-02-28.
 *
 * @return 0 and *out set; -ELIG_EDATE if the result is out of range.
 */
int elig_date_add_months(elig_date_t date, int n, elig_date_t *out);

/** Last day of the month after the one holding date, clamped to ELIG_DATE_MAX. */
elig_date_t elig_date_end_of_next_month(elig_date_t date);

/** Whole years from birth to on (the age on that day; birthdays on Feb 29 count on Mar 1). */
int elig_date_age(elig_date_t birth, elig_date_t on);

/** Today in the local time zone, or ELIG_DATE_NONE if out of range. Not pure: reads the clock. */
elig_date_t elig_date_today(void);

/** The local calendar day of a Unix time (seconds); ELIG_DATE_NONE outside the range. */
elig_date_t elig_date_of_time(int64_t t);

#endif
