/* SPDX-License-Identifier: MIT */
/*
 * elig_date: civil calendar arithmetic on 16-bit day numbers.
 *
 * Design: a date is the number of days since 1900-01-01 (day 0 means "none").
 * Conversion to and from year/month/day goes through the proleptic Gregorian
 * "days from civil" mapping, which shifts the year to start on March 1 so that
 * the leap day falls at the end of the shifted year and every month length is
 * a simple linear function of the month index. Every function is pure; no
 * tables, no locale, no time zone except in elig_date_today().
 */
#include <time.h>

#include "elig_date.h"
#include "elig_error.h"

/* Days from 1970-01-01 to 1900-01-01. */
#define EPOCH_1900_FROM_1970 (-25567L)

static long days_from_civil(long y, int m, int d)
{
    y -= m <= 2;
    long era = (y >= 0 ? y : y - 399) / 400;
    long yoe = y - era * 400;                                    /* [0, 399] */
    long doy = (153L * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1; /* [0, 365] */
    long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;            /* [0, 146096] */
    return era * 146097 + doe - 719468;                          /* days since 1970-01-01 */
}

static void civil_from_days(long z, int *year, int *month, int *day)
{
    z += 719468;
    long era = (z >= 0 ? z : z - 146096) / 146097;
    long doe = z - era * 146097;
    long yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    long doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    long mp = (5 * doy + 2) / 153;
    int d = (int)(doy - (153 * mp + 2) / 5 + 1);
    int m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (m <= 2));
    *month = m;
    *day = d;
}

static int days_in_month(int year, int month)
{
    static const int len[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
    if (month == 2 && ((year % 4 == 0 && year % 100 != 0) || year % 400 == 0))
        return 29;
    return len[month - 1];
}

static int from_serial(long serial, elig_date_t *out)
{
    if (serial < ELIG_DATE_MIN || serial > ELIG_DATE_MAX)
        return -ELIG_EDATE;
    *out = (elig_date_t)serial;
    return 0;
}

int elig_date_from_ymd(int year, int month, int day, elig_date_t *out)
{
    if (year < 1900 || year > 2079 || month < 1 || month > 12 || day < 1 ||
        day > days_in_month(year, month))
        return -ELIG_EDATE;
    return from_serial(days_from_civil(year, month, day) - EPOCH_1900_FROM_1970, out);
}

void elig_date_to_ymd(elig_date_t date, int *year, int *month, int *day)
{
    civil_from_days((long)date + EPOCH_1900_FROM_1970, year, month, day);
}

static int digits(const char *s, int n, int *val)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *val = v;
    return 0;
}

int elig_date_parse(const char *s, size_t len, elig_date_t *out)
{
    int y, m, d;
    if (len != ELIG_DATE_ISO_LEN || s[4] != '-' || s[7] != '-' || digits(s, 4, &y) ||
        digits(s + 5, 2, &m) || digits(s + 8, 2, &d))
        return -ELIG_ESYNTAX;
    return elig_date_from_ymd(y, m, d, out);
}

char *elig_date_format(elig_date_t date, char buf[ELIG_DATE_ISO_LEN + 1])
{
    if (date == ELIG_DATE_NONE) {
        buf[0] = '-';
        buf[1] = '\0';
        return buf;
    }
    int y, m, d;
    elig_date_to_ymd(date, &y, &m, &d);
    buf[0] = (char)('0' + y / 1000);
    buf[1] = (char)('0' + y / 100 % 10);
    buf[2] = (char)('0' + y / 10 % 10);
    buf[3] = (char)('0' + y % 10);
    buf[4] = '-';
    buf[5] = (char)('0' + m / 10);
    buf[6] = (char)('0' + m % 10);
    buf[7] = '-';
    buf[8] = (char)('0' + d / 10);
    buf[9] = (char)('0' + d % 10);
    buf[10] = '\0';
    return buf;
}

int elig_date_add_months(elig_date_t date, int n, elig_date_t *out)
{
    int y, m, d;
    elig_date_to_ymd(date, &y, &m, &d);
    long months = (long)y * 12 + (m - 1) + n;
    if (months < 1900L * 12 || months > 2079L * 12 + 11)
        return -ELIG_EDATE;
    y = (int)(months / 12);
    m = (int)(months % 12) + 1;
    int dim = days_in_month(y, m);
    return elig_date_from_ymd(y, m, d < dim ? d : dim, out);
}

elig_date_t elig_date_end_of_next_month(elig_date_t date)
{
    int y, m, d;
    elig_date_to_ymd(date, &y, &m, &d);
    if (++m > 12) {
        m = 1;
        y++;
    }
    elig_date_t out;
    if (elig_date_from_ymd(y, m, days_in_month(y, m), &out) != 0)
        return ELIG_DATE_MAX;
    return out;
}

int elig_date_age(elig_date_t birth, elig_date_t on)
{
    int by, bm, bd, y, m, d;
    elig_date_to_ymd(birth, &by, &bm, &bd);
    elig_date_to_ymd(on, &y, &m, &d);
    int age = y - by;
    if (m < bm || (m == bm && d < bd))
        age--;
    return age;
}

elig_date_t elig_date_today(void)
{
    return elig_date_of_time(time(NULL));
}

elig_date_t elig_date_of_time(int64_t t)
{
    time_t now = (time_t)t;
    struct tm tm;
    elig_date_t out;
    if (localtime_r(&now, &tm) == NULL ||
        elig_date_from_ymd(tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, &out) != 0)
        return ELIG_DATE_NONE;
    return out;
}
