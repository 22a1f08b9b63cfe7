/* SPDX-License-Identifier: MIT */
/*
 * test_update: what each insurer event does: acquisitions may not overlap
 * under one key, losses and changes hit the current version, a change from a
 * date splits the record so earlier dates of service keep their values, and
 * the card-link state machine with its de-registration date.
 */
#include <string.h>

#include "elig_error.h"
#include "elig_rules.h"
#include "elig_update.h"
#include "test_support.h"

static struct elig_key K;

static int setup(void **state)
{
    (void)state;
    K = test_key("01130012", "1", "2", "");
    return 0;
}

static void test_acquire_may_not_overlap(void **state)
{
    (void)state;
    struct elig_record held = test_record(&K, 1, "1980-01-01", "2020-04-01", "", "");
    struct elig_record next = test_record(&K, 1, "1980-01-01", "2024-01-01", "", "");
    assert_int_equal(elig_update_check_acquire(&held, 1, &next), -ELIG_EOVERLAP);
    held.loss_date = test_date("2023-01-01");
    held.loss_reason = ELIG_LOSS_OTHER;
    assert_int_equal(elig_update_check_acquire(&held, 1, &next), 0);
    struct elig_record inside = test_record(&K, 1, "1980-01-01", "2022-06-01", "", "");
    assert_int_equal(elig_update_check_acquire(&held, 1, &inside), -ELIG_EOVERLAP);
    /* starting on the loss date is fine: the old one ended the day before */
    struct elig_record adjacent = test_record(&K, 1, "1980-01-01", "2023-01-01", "", "");
    assert_int_equal(elig_update_check_acquire(&held, 1, &adjacent), 0);
    /* another key never conflicts */
    struct elig_key other = test_key("01130012", "1", "3", "");
    struct elig_record elsewhere = test_record(&other, 1, "1980-01-01", "2020-04-01", "", "");
    held.loss_date = ELIG_DATE_NONE;
    held.loss_reason = ELIG_LOSS_NONE;
    assert_int_equal(elig_update_check_acquire(&held, 1, &elsewhere), 0);
}

static void test_loss_hits_current_version(void **state)
{
    (void)state;
    struct elig_record recs[3] = {
        test_record(&K, 1, "1980-01-01", "2000-04-01", "", "2005-04-01"),
        test_record(&K, 1, "1980-01-01", "2010-04-01", "", ""),
        test_record(&K, 1, "1980-01-01", "2006-04-01", "2009-03-31", ""),
    };
    assert_int_equal(elig_update_target(recs, 3, &K), 1);
    struct elig_key other = test_key("01130012", "9", "9", "");
    assert_int_equal(elig_update_target(recs, 3, &other), -ELIG_ENOCURRENT);

    struct elig_event ev = { .kind = ELIG_EV_LOSS, .effective = test_date("2010-03-31") };
    ev.u.loss.key = K;
    ev.u.loss.reason = ELIG_LOSS_DEATH;
    assert_int_equal(elig_update_loss(&recs[1], &ev), -ELIG_EORDER);
    assert_int_equal(recs[1].loss_date, ELIG_DATE_NONE);
    ev.effective = test_date("2025-02-01");
    assert_int_equal(elig_update_loss(&recs[1], &ev), 0);
    assert_int_equal(recs[1].loss_date, test_date("2025-02-01"));
    assert_int_equal(recs[1].loss_reason, ELIG_LOSS_DEATH);
    /* the newest version is lost: nothing is current, older versions are history */
    assert_int_equal(elig_update_target(recs, 3, &K), -ELIG_ENOCURRENT);

    struct elig_answer ans;
    elig_eval_number(&K, test_date("1980-01-01"), test_date("2025-02-01"), false, recs, 3, &ans);
    assert_int_equal(ans.validity, ELIG_LOST);
    assert_int_equal(ans.idx[0], 1);
    elig_eval_number(&K, test_date("1980-01-01"), test_date("2025-01-31"), false, recs, 3, &ans);
    assert_int_equal(ans.validity, ELIG_VALID);
}

static void test_change_splits_at_its_date(void **state)
{
    (void)state;
    struct elig_record recs[2];
    recs[0] = test_record(&K, 1, "1955-07-15", "2020-04-01", "", "");
    struct elig_event ev = { .kind = ELIG_EV_CHANGE, .effective = test_date("2025-08-01") };
    ev.u.change.key = K;
    ev.u.change.fields = ELIG_CHG_COPAY | ELIG_CHG_FAMILY_KANJI;
    ev.u.change.values.copay_pct = 20;
    strcpy(ev.u.change.values.family_kanji, "佐藤");
    bool split = false;
    assert_int_equal(elig_update_change(&recs[0], &ev, &recs[1], &split, NULL), 0);
    assert_true(split);
    assert_int_equal(recs[0].valid_until, test_date("2025-07-31"));
    assert_int_equal(recs[0].copay_pct, 30);
    assert_string_equal(recs[0].family_kanji, "山田");
    assert_int_equal(recs[1].valid_from, test_date("2025-08-01"));
    assert_int_equal(recs[1].acquired, recs[0].acquired);
    assert_int_equal(recs[1].copay_pct, 20);
    assert_string_equal(recs[1].family_kanji, "佐藤");
    assert_string_equal(recs[1].given_kanji, "太郎");

    /* each date of service sees the values in force then, and never two at once */
    struct elig_answer ans;
    elig_eval_number(&K, test_date("1955-07-15"), test_date("2025-07-31"), false, recs, 2, &ans);
    assert_int_equal(ans.validity, ELIG_VALID);
    assert_int_equal(recs[ans.idx[0]].copay_pct, 30);
    elig_eval_number(&K, test_date("1955-07-15"), test_date("2025-08-01"), false, recs, 2, &ans);
    assert_int_equal(ans.validity, ELIG_VALID);
    assert_int_equal(recs[ans.idx[0]].copay_pct, 20);
    /* the next change targets the new version */
    assert_int_equal(elig_update_target(recs, 2, &K), 1);
}

static void test_change_in_place_and_refusals(void **state)
{
    (void)state;
    struct elig_record r = test_record(&K, 1, "1980-01-01", "2020-04-01", "", ""), spare;
    struct elig_event ev = { .kind = ELIG_EV_CHANGE, .effective = test_date("2020-04-01") };
    ev.u.change.key = K;
    ev.u.change.fields = ELIG_CHG_LIMIT;
    ev.u.change.values.limit_category = 9;
    bool split = true;
    assert_int_equal(elig_update_change(&r, &ev, &spare, &split, NULL), 0);
    assert_false(split);
    assert_int_equal(r.limit_category, 9);
    assert_int_equal(r.valid_until, ELIG_DATE_NONE);

    /* an elderly ratio without its start date would break the record: refused, nothing changed */
    struct elig_record before = r;
    ev.effective = test_date("2024-01-01");
    ev.u.change.fields = ELIG_CHG_ELDERLY_RATIO;
    ev.u.change.values.elderly_pct = 20;
    const char *field = NULL;
    assert_int_equal(elig_update_change(&r, &ev, &spare, &split, &field), -ELIG_EEMPTY);
    assert_string_equal(field, "elderly_from");
    assert_memory_equal(&r, &before, sizeof(r));

    /* a change after the record's end is refused */
    r.loss_date = test_date("2023-01-01");
    r.loss_reason = ELIG_LOSS_OTHER;
    ev.u.change.fields = ELIG_CHG_COPAY;
    ev.u.change.values.copay_pct = 20;
    assert_int_equal(elig_update_change(&r, &ev, &spare, &split, &field), -ELIG_EORDER);
    assert_string_equal(field, "effective");
}

static struct elig_event card_ev(uint8_t kind, const char *date, uint64_t person,
                                 const char *expiry)
{
    struct elig_event ev = { .kind = kind, .effective = test_date(date) };
    ev.u.card.card_id = 0xABCDEF0123456789ULL;
    ev.u.card.person_id = person;
    ev.u.card.cert_expiry = test_date(expiry);
    return ev;
}

static void test_card_state_machine(void **state)
{
    (void)state;
    struct elig_card c, next;
    struct elig_event ev = card_ev(ELIG_EV_CARD_REGISTER, "2024-10-28", 7, "2029-05-31");
    assert_int_equal(elig_update_card(NULL, &ev, &c), 0);
    assert_int_equal(c.state, ELIG_CARD_REGISTERED);
    assert_int_equal(c.person_id, 7);
    assert_int_equal(c.cert_expiry, test_date("2029-05-31"));
    assert_int_equal(elig_update_card(&c, &ev, &next), -ELIG_ECARDSTATE);
    ev.u.card.person_id = 8;
    assert_int_equal(elig_update_card(&c, &ev, &next), -ELIG_ECARDOWNER);

    /* de-registration: still works to the end of the month after entry */
    ev = card_ev(ELIG_EV_CARD_DEREGISTER, "2025-01-15", 0, "");
    assert_int_equal(elig_update_card(&c, &ev, &next), 0);
    assert_int_equal(next.state, ELIG_CARD_DEREG_PENDING);
    assert_int_equal(next.dereg_effective, test_date("2025-03-01"));
    assert_int_equal(elig_update_card(&next, &ev, &c), -ELIG_ECARDSTATE);
    struct elig_record r = test_record(&K, 7, "1980-01-01", "2020-04-01", "", "");
    struct elig_answer ans;
    elig_eval_card(&next, test_date("2025-02-28"), false, &r, 1, &ans);
    assert_int_equal(ans.validity, ELIG_VALID);
    elig_eval_card(&next, test_date("2025-03-01"), false, &r, 1, &ans);
    assert_int_equal(ans.refusal, ELIG_REFUSE_CARD_DEREGISTERED);

    /* December entry rolls over the year */
    struct elig_card dec;
    ev = card_ev(ELIG_EV_CARD_DEREGISTER, "2025-12-31", 0, "");
    assert_int_equal(elig_update_card(&c, &ev, &dec), 0);
    assert_int_equal(dec.dereg_effective, test_date("2026-02-01"));

    /* registering again while pending cancels it */
    c = next;
    ev = card_ev(ELIG_EV_CARD_REGISTER, "2025-02-01", 7, "2029-05-31");
    assert_int_equal(elig_update_card(&c, &ev, &next), 0);
    assert_int_equal(next.state, ELIG_CARD_REGISTERED);

    /* renewal must move expiry past the renewal date */
    c = next;
    ev = card_ev(ELIG_EV_CERT_RENEW, "2029-03-01", 0, "2029-03-01");
    assert_int_equal(elig_update_card(&c, &ev, &next), -ELIG_EORDER);
    ev = card_ev(ELIG_EV_CERT_RENEW, "2029-03-01", 0, "2034-05-31");
    assert_int_equal(elig_update_card(&c, &ev, &next), 0);
    assert_int_equal(next.cert_expiry, test_date("2034-05-31"));

    /* returned is final */
    c = next;
    ev = card_ev(ELIG_EV_CARD_RETURN, "2030-01-01", 0, "");
    assert_int_equal(elig_update_card(&c, &ev, &next), 0);
    assert_int_equal(next.state, ELIG_CARD_RETURNED);
    assert_int_equal(next.returned_on, test_date("2030-01-01"));
    c = next;
    assert_int_equal(elig_update_card(&c, &ev, &next), -ELIG_ECARDSTATE);
    ev = card_ev(ELIG_EV_CARD_REGISTER, "2030-02-01", 7, "2035-01-01");
    assert_int_equal(elig_update_card(&c, &ev, &next), -ELIG_ECARDSTATE);

    /* events on a card never registered */
    ev = card_ev(ELIG_EV_CARD_RETURN, "2030-01-01", 0, "");
    assert_int_equal(elig_update_card(NULL, &ev, &next), -ELIG_ENOCARD);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_acquire_may_not_overlap),
        cmocka_unit_test(test_loss_hits_current_version),
        cmocka_unit_test(test_change_splits_at_its_date),
        cmocka_unit_test(test_change_in_place_and_refusals),
        cmocka_unit_test(test_card_state_machine),
    };
    return cmocka_run_group_tests_name("update", tests, setup, NULL);
}
