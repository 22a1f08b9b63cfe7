/* SPDX-License-Identifier: MIT */
/*
 * test_date: calendar arithmetic: every representable day round-trips,
 * impossible dates are refused, month arithmetic clamps to month ends, and
 * the age-based co-payment defaults change on the right days.
 */
#include <string.h>

#include "elig_error.h"
#include "test_support.h"

static void test_every_day_round_trips(void **state)
{
    (void)state;
    int prev_y = 1900, prev_m = 1, prev_d = 1;
    for (unsigned v = ELIG_DATE_MIN; v <= ELIG_DATE_MAX; v++) {
        char buf[ELIG_DATE_ISO_LEN + 1];
        elig_date_format((elig_date_t)v, buf);
        elig_date_t back;
        assert_int_equal(elig_date_parse(buf, strlen(buf), &back), 0);
        assert_int_equal(back, v);
        int y, m, d;
        elig_date_to_ymd((elig_date_t)v, &y, &m, &d);
        /* consecutive serials are consecutive calendar days */
        assert_true((y == prev_y && m == prev_m && d == prev_d + 1) ||
                    (y == prev_y && m == prev_m + 1 && d == 1) ||
                    (y == prev_y + 1 && m == 1 && d == 1 && prev_m == 12 && prev_d == 31));
        prev_y = y;
        prev_m = m;
        prev_d = d;
    }
    assert_string_equal(elig_date_format(ELIG_DATE_MAX, (char[11]){ 0 }), "2079-06-06");
    assert_string_equal(elig_date_format(ELIG_DATE_MIN, (char[11]){ 0 }), "1900-01-02");
    assert_string_equal(elig_date_format(ELIG_DATE_NONE, (char[11]){ 0 }), "-");
}

static void test_impossible_dates(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int rc;
    } rows[] = {
        { "2025-02-30", -ELIG_EDATE },   { "2023-02-29", -ELIG_EDATE },
        { "1900-02-29", -ELIG_EDATE },   { "2025-04-31", -ELIG_EDATE },
        { "2025-13-01", -ELIG_EDATE },   { "2025-00-10", -ELIG_EDATE },
        { "2025-01-00", -ELIG_EDATE },   { "1900-01-01", -ELIG_EDATE },
        { "2079-06-07", -ELIG_EDATE },   { "1899-12-31", -ELIG_EDATE },
        { "2025-1-01", -ELIG_ESYNTAX },  { "20250101", -ELIG_ESYNTAX },
        { "2025/01/01", -ELIG_ESYNTAX }, { "２０２５-01-01", -ELIG_ESYNTAX },
        { "", -ELIG_ESYNTAX },           { "2025-01-0a", -ELIG_ESYNTAX },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        elig_date_t d = 77;
        assert_int_equal(elig_date_parse(rows[i].s, strlen(rows[i].s), &d), rows[i].rc);
        assert_int_equal(d, 77); /* untouched on failure */
    }
    elig_date_t d;
    assert_int_equal(elig_date_parse("2024-02-29", 10, &d), 0);
    assert_int_equal(elig_date_parse("2000-02-29", 10, &d), 0);
}

static void test_add_months_clamps(void **state)
{
    (void)state;
    static const struct {
        const char *from;
        int n;
        const char *to;
    } rows[] = {
        { "2025-05-31", -3, "2025-02-28" }, { "2024-05-31", -3, "2024-02-29" },
        { "2024-02-29", 12, "2025-02-28" }, { "2025-11-30", 3, "2026-02-28" },
        { "2023-11-30", 3, "2024-02-29" },  { "2025-01-31", 1, "2025-02-28" },
        { "2025-12-15", 1, "2026-01-15" },  { "2025-03-15", -15, "2023-12-15" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        elig_date_t out;
        assert_int_equal(elig_date_add_months(test_date(rows[i].from), rows[i].n, &out), 0);
        assert_int_equal(out, test_date(rows[i].to));
    }
    elig_date_t out;
    assert_int_equal(elig_date_add_months(test_date("2079-05-01"), 2, &out), -ELIG_EDATE);
    assert_int_equal(elig_date_add_months(test_date("1900-02-01"), -2, &out), -ELIG_EDATE);
}

static void test_end_of_next_month(void **state)
{
    (void)state;
    assert_int_equal(elig_date_end_of_next_month(test_date("2025-01-15")), test_date("2025-02-28"));
    assert_int_equal(elig_date_end_of_next_month(test_date("2024-01-31")), test_date("2024-02-29"));
    assert_int_equal(elig_date_end_of_next_month(test_date("2025-12-31")), test_date("2026-01-31"));
    assert_int_equal(elig_date_end_of_next_month(test_date("2079-05-20")), ELIG_DATE_MAX);
}

static void test_age(void **state)
{
    (void)state;
    elig_date_t b = test_date("2000-02-29");
    assert_int_equal(elig_date_age(b, test_date("2025-02-28")), 24);
    assert_int_equal(elig_date_age(b, test_date("2025-03-01")), 25);
    assert_int_equal(elig_date_age(test_date("1980-05-10"), test_date("2025-05-09")), 44);
    assert_int_equal(elig_date_age(test_date("1980-05-10"), test_date("2025-05-10")), 45);
}

static void test_copay_defaults(void **state)
{
    (void)state;
    static const struct {
        const char *birth, *on;
        int pct;
        const char *why;
    } rows[] = {
        { "2019-04-01", "2025-03-31", 20, "April 1 birthday: pre-school to March 31 after 6" },
        { "2019-04-01", "2025-04-01", 30, "April 1 birthday: school from that April" },
        { "2019-04-02", "2026-03-31", 20, "April 2 birthday: one more pre-school year" },
        { "2019-04-02", "2026-04-01", 30, "April 2 birthday: school the year after" },
        { "1955-06-15", "2025-06-30", 30, "70th birthday month: still 30%" },
        { "1955-06-15", "2025-07-01", 20, "first of the month after the 70th birthday" },
        { "1955-06-01", "2025-06-01", 20, "born on the 1st: from the birthday month" },
        { "1955-06-01", "2025-05-31", 30, "born on the 1st: not the month before" },
        { "1950-06-15", "2025-06-14", 20, "day before the 75th birthday" },
        { "1950-06-15", "2025-06-15", 10, "75th birthday: late-stage elderly" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        print_message("copay: %s\n", rows[i].why);
        assert_int_equal(elig_copay_default(test_date(rows[i].birth), test_date(rows[i].on)),
                         rows[i].pct);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_day_round_trips),
        cmocka_unit_test(test_impossible_dates),
        cmocka_unit_test(test_add_months_clamps),
        cmocka_unit_test(test_end_of_next_month),
        cmocka_unit_test(test_age),
        cmocka_unit_test(test_copay_defaults),
    };
    return cmocka_run_group_tests_name("date", tests, NULL, NULL);
}
