/* SPDX-License-Identifier: MIT */
/*
 * elig_rules: what a check returns.
 *
 * Design: both channels reduce to one selection over a candidate set:
 *   1. the candidates in force on the query date: one -> valid, several -> multiple;
 *   2. else the latest-starting candidate that had started by then -> lost,
 *      or lost-newer-exists when the same person has a qualification that
 *      started after it and by the query date;
 *   3. else no match.
 * The number channel first narrows the candidates to the key's records whose
 * birth date matches (a mismatch therefore answers "no match" and reveals
 * nothing); the card channel first applies the card's own state (returned,
 * de-registered, certificate expiry with its 3-month alert and grace windows).
 * Everything is a pure function of its arguments, which is what lets the rule
 * table in tests/unit/test_rules.c pin every rule down.
 */
#include <string.h>

#include "elig_rules.h"

typedef bool (*candidate_fn)(const struct elig_record *r, const void *arg);

struct number_filter {
    const struct elig_key *key;
    elig_date_t birth;
};

static bool number_candidate(const struct elig_record *r, const void *arg)
{
    const struct number_filter *f = arg;
    return r->birth_date == f->birth && elig_key_equal(&r->key, f->key);
}

static bool card_candidate(const struct elig_record *r, const void *arg)
{
    return r->person_id == *(const uint64_t *)arg;
}

/* Does r start later than the current best (ties: later acquisition, then later index)? */
static bool later_than(const struct elig_record *r, const struct elig_record *best)
{
    if (r->valid_from != best->valid_from)
        return r->valid_from > best->valid_from;
    return r->acquired >= best->acquired;
}

static void select_answer(const struct elig_record *recs, size_t n, candidate_fn is_candidate,
                          const void *arg, elig_date_t date, struct elig_answer *ans)
{
    size_t in_force = 0, latest = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        const struct elig_record *r = &recs[i];
        if (!is_candidate(r, arg) || r->valid_from > date)
            continue;
        if (elig_record_in_force(r, date)) {
            if (in_force < ELIG_ANSWER_MAX)
                ans->idx[in_force] = (uint16_t)i;
            in_force++;
        }
        if (latest == SIZE_MAX || later_than(r, &recs[latest]))
            latest = i;
    }
    if (in_force > 0) {
        ans->validity = in_force == 1 ? ELIG_VALID : ELIG_MULTIPLE;
        ans->count = (uint8_t)(in_force < ELIG_ANSWER_MAX ? in_force : ELIG_ANSWER_MAX);
        return;
    }
    if (latest == SIZE_MAX) {
        ans->validity = ELIG_NO_MATCH;
        return;
    }
    const struct elig_record *lost = &recs[latest];
    ans->validity = ELIG_LOST;
    ans->idx[0] = (uint16_t)latest;
    ans->count = 1;
    for (size_t i = 0; i < n; i++) {
        const struct elig_record *r = &recs[i];
        if (r->person_id == lost->person_id && r->valid_from > lost->valid_from &&
            r->valid_from <= date) {
            ans->validity = ELIG_LOST_NEWER;
            break;
        }
    }
}

void elig_eval_number(const struct elig_key *key, elig_date_t birth, elig_date_t date, bool consent,
                      const struct elig_record *recs, size_t n, struct elig_answer *ans)
{
    memset(ans, 0, sizeof(*ans));
    struct number_filter f = { key, birth };
    select_answer(recs, n, number_candidate, &f, date, ans);
    if (consent && ans->count > 0)
        ans->flags |= ELIG_FLAG_LIMIT_DISCLOSED;
}

/* Sets a refusal or the certificate flags; returns false when the card is refused. */
static bool card_state(const struct elig_card *card, elig_date_t date, struct elig_answer *ans)
{
    if (card == NULL) {
        ans->refusal = ELIG_REFUSE_CARD_UNREGISTERED;
        return false;
    }
    if (card->state == ELIG_CARD_RETURNED) {
        ans->refusal = ELIG_REFUSE_CARD_RETURNED;
        return false;
    }
    if (card->state == ELIG_CARD_DEREG_PENDING && date >= card->dereg_effective) {
        ans->refusal = ELIG_REFUSE_CARD_DEREGISTERED;
        return false;
    }
    if (card->state != ELIG_CARD_REGISTERED && card->state != ELIG_CARD_DEREG_PENDING) {
        ans->refusal = ELIG_REFUSE_CARD_UNREGISTERED;
        return false;
    }
    elig_date_t alert_from, grace_until;
    if (elig_date_add_months(card->cert_expiry, ELIG_CERT_WINDOW_MONTHS, &grace_until) != 0)
        grace_until = ELIG_DATE_MAX;
    if (elig_date_add_months(card->cert_expiry, -ELIG_CERT_WINDOW_MONTHS, &alert_from) != 0)
        alert_from = ELIG_DATE_MIN;
    if (date > grace_until) {
        ans->refusal = ELIG_REFUSE_CERT_EXPIRED;
        return false;
    }
    if (date > card->cert_expiry)
        ans->flags |= ELIG_FLAG_GRACE;
    else if (date >= alert_from)
        ans->flags |= ELIG_FLAG_RENEWAL_ALERT;
    return true;
}

void elig_eval_card(const struct elig_card *card, elig_date_t date, bool consent,
                    const struct elig_record *recs, size_t n, struct elig_answer *ans)
{
    memset(ans, 0, sizeof(*ans));
    if (!card_state(card, date, ans))
        return;
    select_answer(recs, n, card_candidate, &card->person_id, date, ans);
    if (consent && ans->count > 0)
        ans->flags |= ELIG_FLAG_LIMIT_DISCLOSED;
}

void elig_eval_person(uint64_t person_id, elig_date_t date, bool consent,
                      const struct elig_record *recs, size_t n, struct elig_answer *ans)
{
    memset(ans, 0, sizeof(*ans));
    select_answer(recs, n, card_candidate, &person_id, date, ans);
    if (consent && ans->count > 0)
        ans->flags |= ELIG_FLAG_LIMIT_DISCLOSED;
}

void elig_answer_record(const struct elig_answer *ans, const struct elig_record *recs, size_t i,
                        struct elig_record *out)
{
    *out = recs[ans->idx[i]];
    if (!(ans->flags & ELIG_FLAG_LIMIT_DISCLOSED))
        out->limit_category = ELIG_LIMIT_NONE;
}

const char *elig_validity_name(uint8_t validity)
{
    switch (validity) {
    case ELIG_VALID:
        return "valid";
    case ELIG_LOST:
        return "lost";
    case ELIG_LOST_NEWER:
        return "lost-newer-exists";
    case ELIG_NO_MATCH:
        return "no-match";
    case ELIG_MULTIPLE:
        return "multiple";
    default:
        return "refused";
    }
}

const char *elig_refusal_name(uint8_t refusal)
{
    switch (refusal) {
    case ELIG_REFUSE_CARD_UNREGISTERED:
        return "card-unregistered";
    case ELIG_REFUSE_CARD_DEREGISTERED:
        return "card-deregistered";
    case ELIG_REFUSE_CARD_RETURNED:
        return "card-returned";
    case ELIG_REFUSE_CERT_EXPIRED:
        return "certificate-expired-use-paper-certificate";
    default:
        return "";
    }
}
