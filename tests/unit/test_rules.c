/* SPDX-License-Identifier: MIT */
/*
 * test_rules: the rule table: one row per rule of "What a check returns"
 * and "How a check is made", each naming its rule, with the boundaries (the
 * day before, of and after each limit; leap years; month ends).
 *
 * Design: a fixed population of records (fixture_specs) is judged by every
 * row; a row names its channel, its query and the answer it expects. Records
 * are passed to the evaluator all together, as a superset of what the index
 * would hand it, which also checks that the rules filter by key, birth date
 * and person themselves.
 */
#include <stdbool.h>
#include <string.h>

#include "elig_rules.h"
#include "test_support.h"

/* Insurer numbers with valid check digits. */
#define KYOKAI_TOKYO "01130012"
#define MUTUAL_AID   "33120015"
#define SOCIETY      "06130017"
#define NHI_6DIGIT   "138057"
#define LATE_ELDERLY "39130018"

struct spec {
    const char *ins, *sym, *num;
    uint64_t person;
    const char *birth, *from, *until, *loss;
};

/* Record ids are the positions in this table. */
enum {
    R_P1_CURRENT, /* person 1: one open qualification from 2020-04-01 */
    R_P2_OLD,     /* person 2: lost 2022-10-01 ... */
    R_P2_NEW,     /* ... and a newer one from that day */
    R_P3_LOST,    /* person 3: lost 2019-04-01, nothing newer */
    R_P4_DUP_A,   /* person 4: the same key twice, both open (a data error) */
    R_P4_DUP_B,
    R_P5_FUTURE, /* person 5: starts 2026-04-01 */
    R_P6_LOST,   /* person 6: lost 2024-06-01 ... */
    R_P6_LATER,  /* ... newer one only from 2024-09-01 */
    R_P7_UNTIL,  /* person 7: valid until 2024-02-29 (leap day) */
    R_P8_PAST1,  /* person 8: two past periods under one key */
    R_P8_PAST2,
    R_P9_EMPLOYEE, /* person 9: two qualifications in force at once (card: multiple) */
    R_P9_NHI,
    N_RECORDS
};

static const struct spec fixture_specs[N_RECORDS] = {
    [R_P1_CURRENT] = { KYOKAI_TOKYO, "1234", "56", 1001, "1980-05-10", "2020-04-01", "", "" },
    [R_P2_OLD] = { MUTUAL_AID, "A", "7", 1002, "1975-01-31", "2015-04-01", "", "2022-10-01" },
    [R_P2_NEW] = { SOCIETY, "88", "12", 1002, "1975-01-31", "2022-10-01", "", "" },
    [R_P3_LOST] = { NHI_6DIGIT, "東", "900", 1003, "1990-02-28", "2010-04-01", "", "2019-04-01" },
    [R_P4_DUP_A] = { SOCIETY, "5", "5", 1004, "1960-12-31", "2001-04-01", "", "" },
    [R_P4_DUP_B] = { SOCIETY, "5", "5", 1004, "1960-12-31", "2011-04-01", "", "" },
    [R_P5_FUTURE] = { KYOKAI_TOKYO, "9", "1", 1005, "2000-01-01", "2026-04-01", "", "" },
    [R_P6_LOST] = { KYOKAI_TOKYO, "6", "6", 1006, "1985-07-07", "2010-04-01", "", "2024-06-01" },
    [R_P6_LATER] = { MUTUAL_AID, "6", "6", 1006, "1985-07-07", "2024-09-01", "", "" },
    [R_P7_UNTIL] = { LATE_ELDERLY, "", "77", 1007, "1945-03-01", "2020-03-01", "2024-02-29", "" },
    [R_P8_PAST1] = { NHI_6DIGIT, "", "8", 1008, "1970-10-10", "2005-04-01", "", "2008-04-01" },
    [R_P8_PAST2] = { NHI_6DIGIT, "", "8", 1008, "1970-10-10", "2010-04-01", "", "2012-04-01" },
    [R_P9_EMPLOYEE] = { KYOKAI_TOKYO, "9", "9", 1009, "1955-05-05", "2019-04-01", "", "" },
    [R_P9_NHI] = { NHI_6DIGIT, "9", "9", 1009, "1955-05-05", "2020-04-01", "", "" },
};

static struct elig_record fixture[N_RECORDS];

static int setup_fixture(void **state)
{
    (void)state;
    for (int i = 0; i < N_RECORDS; i++) {
        const struct spec *s = &fixture_specs[i];
        struct elig_key k = test_key(s->ins, s->sym, s->num, "");
        fixture[i] = test_record(&k, s->person, s->birth, s->from, s->until, s->loss);
    }
    return 0;
}

/* ---- number channel ----------------------------------------------------- */

struct number_row {
    const char *rule;
    int key_of;        /* record whose key is asked for, or -1 for an unknown key */
    const char *birth; /* NULL: that record's own birth date */
    const char *date;
    bool consent;
    uint8_t validity;
    uint8_t count;
    int first; /* expected record of idx[0], or -1 */
};

static const struct number_row number_rows[] = {
    { "valid: one qualification in force on the date", R_P1_CURRENT, NULL, "2025-02-10", false,
      ELIG_VALID, 1, R_P1_CURRENT },
    { "valid from its first day (valid_from inclusive)", R_P1_CURRENT, NULL, "2020-04-01", false,
      ELIG_VALID, 1, R_P1_CURRENT },
    { "no match the day before valid_from", R_P1_CURRENT, NULL, "2020-03-31", false, ELIG_NO_MATCH,
      0, -1 },
    { "birth date mismatch answers no-match and reveals nothing", R_P1_CURRENT, "1980-05-11",
      "2025-02-10", true, ELIG_NO_MATCH, 0, -1 },
    { "unknown key answers no-match", -1, "1980-05-10", "2025-02-10", false, ELIG_NO_MATCH, 0, -1 },
    { "still valid the day before the loss date", R_P2_OLD, NULL, "2022-09-30", false, ELIG_VALID,
      1, R_P2_OLD },
    { "lost on the loss date, newer qualification exists (3)", R_P2_OLD, NULL, "2022-10-01", false,
      ELIG_LOST_NEWER, 1, R_P2_OLD },
    { "lost long after, newer qualification exists (3)", R_P2_OLD, NULL, "2025-02-10", false,
      ELIG_LOST_NEWER, 1, R_P2_OLD },
    { "the newer qualification itself is valid", R_P2_NEW, NULL, "2025-02-10", false, ELIG_VALID, 1,
      R_P2_NEW },
    { "lost with nothing newer (2): the lost one is shown", R_P3_LOST, NULL, "2025-02-10", false,
      ELIG_LOST, 1, R_P3_LOST },
    { "past date of service is answered as of that date", R_P3_LOST, NULL, "2015-06-01", false,
      ELIG_VALID, 1, R_P3_LOST },
    { "6-digit NHI key typed with full-width digits finds the record", R_P3_LOST, NULL,
      "2015-06-01", false, ELIG_VALID, 1, R_P3_LOST },
    { "two valid matches for one key (5) lists both", R_P4_DUP_A, NULL, "2025-02-10", false,
      ELIG_MULTIPLE, 2, R_P4_DUP_A },
    { "before the second starts only one is in force", R_P4_DUP_A, NULL, "2005-01-01", false,
      ELIG_VALID, 1, R_P4_DUP_A },
    { "qualification starting after the date: no match", R_P5_FUTURE, NULL, "2026-03-31", false,
      ELIG_NO_MATCH, 0, -1 },
    { "qualification valid from its future start", R_P5_FUTURE, NULL, "2026-04-01", false,
      ELIG_VALID, 1, R_P5_FUTURE },
    { "newer qualification not yet started on the date: plain lost (2)", R_P6_LOST, NULL,
      "2024-08-31", false, ELIG_LOST, 1, R_P6_LOST },
    { "newer qualification started on the date: lost, newer exists (3)", R_P6_LOST, NULL,
      "2024-09-01", false, ELIG_LOST_NEWER, 1, R_P6_LOST },
    { "valid_until on a leap day is valid that day", R_P7_UNTIL, NULL, "2024-02-29", false,
      ELIG_VALID, 1, R_P7_UNTIL },
    { "valid_until passed: invalid the next day (2)", R_P7_UNTIL, NULL, "2024-03-01", false,
      ELIG_LOST, 1, R_P7_UNTIL },
    { "of several past periods under one key, the latest is shown", R_P8_PAST1, NULL, "2020-01-01",
      false, ELIG_LOST, 1, R_P8_PAST2 },
    { "between two past periods the earlier one is shown as lost", R_P8_PAST1, NULL, "2009-01-01",
      false, ELIG_LOST, 1, R_P8_PAST1 },
    { "limit category disclosed with consent", R_P1_CURRENT, NULL, "2025-02-10", true, ELIG_VALID,
      1, R_P1_CURRENT },
};

static void test_number_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(number_rows) / sizeof(number_rows[0]); i++) {
        const struct number_row *row = &number_rows[i];
        struct elig_key key;
        elig_date_t birth;
        if (row->key_of < 0) {
            key = test_key(KYOKAI_TOKYO, "nothing", "404", "");
        } else {
            key = fixture[row->key_of].key;
            if (strstr(row->rule, "full-width"))
                key = test_key("１３８０５７", " 東 ", "９００", "");
        }
        birth = row->birth ? test_date(row->birth) : fixture[row->key_of].birth_date;
        struct elig_answer ans;
        elig_eval_number(&key, birth, test_date(row->date), row->consent, fixture, N_RECORDS, &ans);
        print_message("number rule: %s\n", row->rule);
        assert_int_equal(ans.validity, row->validity);
        assert_int_equal(ans.refusal, ELIG_REFUSE_NONE);
        assert_int_equal(ans.count, row->count);
        if (row->first >= 0)
            assert_int_equal(ans.idx[0], row->first);
        assert_int_equal(!!(ans.flags & ELIG_FLAG_LIMIT_DISCLOSED), row->consent && row->count);
        assert_int_equal(ans.flags & (ELIG_FLAG_GRACE | ELIG_FLAG_RENEWAL_ALERT), 0);
    }
}

static void test_limit_category_withheld_without_consent(void **state)
{
    (void)state;
    struct elig_answer ans;
    struct elig_record out;
    const struct elig_record *r = &fixture[R_P1_CURRENT];
    elig_eval_number(&r->key, r->birth_date, test_date("2025-02-10"), false, fixture, N_RECORDS,
                     &ans);
    elig_answer_record(&ans, fixture, 0, &out);
    assert_int_equal(out.limit_category, ELIG_LIMIT_NONE);
    assert_string_equal(out.family_kanji, "山田");
    elig_eval_number(&r->key, r->birth_date, test_date("2025-02-10"), true, fixture, N_RECORDS,
                     &ans);
    elig_answer_record(&ans, fixture, 0, &out);
    assert_int_equal(out.limit_category, 3);
    assert_string_equal(elig_limit_name(out.limit_category), "A03");
}

/* ---- card channel ------------------------------------------------------- */

struct card_row {
    const char *rule;
    bool registered; /* false: no card link at all */
    uint64_t person;
    uint8_t state;
    const char *expiry;
    const char *dereg_effective;
    const char *date;
    bool consent;
    uint8_t validity, refusal, flags;
    uint8_t count;
    int first;
};

#define CARD(p, st, exp, dereg) true, p, st, exp, dereg
#define NOCARD                  false, 0, 0, "2030-01-01", ""
#define REG                     ELIG_CARD_REGISTERED
#define PEND                    ELIG_CARD_DEREG_PENDING
#define RET                     ELIG_CARD_RETURNED
#define ALERT                   ELIG_FLAG_RENEWAL_ALERT
#define GRACE                   ELIG_FLAG_GRACE

static const struct card_row card_rows[] = {
    { "card: valid qualification, certificate far from expiry", CARD(1001, REG, "2026-05-31", ""),
      "2025-02-10", false, ELIG_VALID, 0, 0, 1, R_P1_CURRENT },
    { "card: the day before the 3-month alert window, no flag", CARD(1001, REG, "2026-05-31", ""),
      "2026-02-27", false, ELIG_VALID, 0, 0, 1, R_P1_CURRENT },
    { "card: alert from 3 months before expiry (month end clamps to Feb 28)",
      CARD(1001, REG, "2026-05-31", ""), "2026-02-28", false, ELIG_VALID, 0, ALERT, 1,
      R_P1_CURRENT },
    { "card: alert on the expiry day itself", CARD(1001, REG, "2026-05-31", ""), "2026-05-31",
      false, ELIG_VALID, 0, ALERT, 1, R_P1_CURRENT },
    { "card: grace the day after expiry", CARD(1001, REG, "2026-05-31", ""), "2026-06-01", false,
      ELIG_VALID, 0, GRACE, 1, R_P1_CURRENT },
    { "card: grace on the last day, 3 months after expiry", CARD(1001, REG, "2026-05-31", ""),
      "2026-08-31", false, ELIG_VALID, 0, GRACE, 1, R_P1_CURRENT },
    { "card: refused the day after grace: use the paper certificate",
      CARD(1001, REG, "2026-05-31", ""), "2026-09-01", false, ELIG_VALIDITY_NONE,
      ELIG_REFUSE_CERT_EXPIRED, 0, 0, -1 },
    { "card: grace ends on a leap day (2023-11-30 + 3 months)", CARD(1001, REG, "2023-11-30", ""),
      "2024-02-29", false, ELIG_VALID, 0, GRACE, 1, R_P1_CURRENT },
    { "card: refused the day after the leap-day grace end", CARD(1001, REG, "2023-11-30", ""),
      "2024-03-01", false, ELIG_VALIDITY_NONE, ELIG_REFUSE_CERT_EXPIRED, 0, 0, -1 },
    { "card: grace ends Feb 28 in a common year (2024-11-30 + 3 months)",
      CARD(1001, REG, "2024-11-30", ""), "2025-02-28", false, ELIG_VALID, 0, GRACE, 1,
      R_P1_CURRENT },
    { "card: refused Mar 1 in a common year", CARD(1001, REG, "2024-11-30", ""), "2025-03-01",
      false, ELIG_VALIDITY_NONE, ELIG_REFUSE_CERT_EXPIRED, 0, 0, -1 },
    { "card: alert window starting on a leap day (2024-05-29 - 3 months)",
      CARD(1001, REG, "2024-05-29", ""), "2024-02-29", false, ELIG_VALID, 0, ALERT, 1,
      R_P1_CURRENT },
    { "card: no alert the day before (2024-02-28)", CARD(1001, REG, "2024-05-29", ""), "2024-02-28",
      false, ELIG_VALID, 0, 0, 1, R_P1_CURRENT },
    { "card: returned card refused at once", CARD(1001, RET, "2030-01-01", ""), "2025-02-10", false,
      ELIG_VALIDITY_NONE, ELIG_REFUSE_CARD_RETURNED, 0, 0, -1 },
    { "card: de-registration pending still works the day before it takes effect",
      CARD(1001, PEND, "2030-01-01", "2025-03-01"), "2025-02-28", false, ELIG_VALID, 0, 0, 1,
      R_P1_CURRENT },
    { "card: de-registered from its effective date", CARD(1001, PEND, "2030-01-01", "2025-03-01"),
      "2025-03-01", false, ELIG_VALIDITY_NONE, ELIG_REFUSE_CARD_DEREGISTERED, 0, 0, -1 },
    { "card: never registered", NOCARD, "2025-02-10", false, ELIG_VALIDITY_NONE,
      ELIG_REFUSE_CARD_UNREGISTERED, 0, 0, -1 },
    { "card: two qualifications in force answers multiple (5)", CARD(1009, REG, "2030-01-01", ""),
      "2025-02-10", false, ELIG_MULTIPLE, 0, 0, 2, R_P9_EMPLOYEE },
    { "card: the one in force on a past date when only one was", CARD(1009, REG, "2030-01-01", ""),
      "2019-06-01", false, ELIG_VALID, 0, 0, 1, R_P9_EMPLOYEE },
    { "card: the person's latest qualification is lost (2)", CARD(1003, REG, "2030-01-01", ""),
      "2025-02-10", false, ELIG_LOST, 0, 0, 1, R_P3_LOST },
    { "card: person with no qualification on the date (4)", CARD(1005, REG, "2030-01-01", ""),
      "2025-02-10", false, ELIG_NO_MATCH, 0, 0, 0, -1 },
    { "card: a person whose old one is lost picks the current one",
      CARD(1002, REG, "2030-01-01", ""), "2025-02-10", false, ELIG_VALID, 0, 0, 1, R_P2_NEW },
    { "card: limit category disclosed with consent", CARD(1001, REG, "2030-01-01", ""),
      "2025-02-10", true, ELIG_VALID, 0, ELIG_FLAG_LIMIT_DISCLOSED, 1, R_P1_CURRENT },
    { "card: consent with a grace flag keeps both flags", CARD(1001, REG, "2024-12-31", ""),
      "2025-02-10", true, ELIG_VALID, 0, GRACE | ELIG_FLAG_LIMIT_DISCLOSED, 1, R_P1_CURRENT },
};

static void test_card_rules(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(card_rows) / sizeof(card_rows[0]); i++) {
        const struct card_row *row = &card_rows[i];
        struct elig_card card = {
            .card_id = 0xC0FFEE,
            .person_id = row->person,
            .registered_on = test_date("2021-10-20"),
            .cert_expiry = test_date(row->expiry),
            .dereg_effective = test_date(row->dereg_effective),
            .returned_on = row->state == RET ? test_date("2025-01-05") : ELIG_DATE_NONE,
            .state = row->state,
        };
        struct elig_answer ans;
        elig_eval_card(row->registered ? &card : NULL, test_date(row->date), row->consent, fixture,
                       N_RECORDS, &ans);
        print_message("card rule: %s\n", row->rule);
        assert_int_equal(ans.validity, row->validity);
        assert_int_equal(ans.refusal, row->refusal);
        assert_int_equal(ans.flags, row->flags);
        assert_int_equal(ans.count, row->count);
        if (row->first >= 0)
            assert_int_equal(ans.idx[0], row->first);
    }
}

static void test_multiple_answer_is_capped(void **state)
{
    (void)state;
    struct elig_record many[ELIG_ANSWER_MAX + 3];
    struct elig_key k = test_key(SOCIETY, "", "1", "");
    for (size_t i = 0; i < sizeof(many) / sizeof(many[0]); i++)
        many[i] = test_record(&k, 42, "1970-01-01", "2000-01-01", "", "");
    struct elig_answer ans;
    elig_eval_number(&k, test_date("1970-01-01"), test_date("2025-01-01"), false, many,
                     sizeof(many) / sizeof(many[0]), &ans);
    assert_int_equal(ans.validity, ELIG_MULTIPLE);
    assert_int_equal(ans.count, ELIG_ANSWER_MAX);
    for (size_t i = 0; i < ELIG_ANSWER_MAX; i++)
        assert_int_equal(ans.idx[i], i);
}

static void test_names(void **state)
{
    (void)state;
    assert_string_equal(elig_validity_name(ELIG_VALID), "valid");
    assert_string_equal(elig_validity_name(ELIG_LOST_NEWER), "lost-newer-exists");
    assert_string_equal(elig_validity_name(ELIG_VALIDITY_NONE), "refused");
    assert_string_equal(elig_refusal_name(ELIG_REFUSE_CERT_EXPIRED),
                        "certificate-expired-use-paper-certificate");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_number_rules),
        cmocka_unit_test(test_limit_category_withheld_without_consent),
        cmocka_unit_test(test_card_rules),
        cmocka_unit_test(test_multiple_answer_is_capped),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests_name("rules", tests, setup_fixture, NULL);
}
