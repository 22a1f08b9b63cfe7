/* SPDX-License-Identifier: MIT */
/*
 * elig_update: what each insurer event does to the data.
 *
 * Design: records are versioned by validity period. Under one key, periods
 * never overlap; a change from a date closes the current version the day
 * before and opens a new one, instead of rewriting history, so a check for an
 * earlier date of service is answered with the values in force then. A loss
 * sets the loss date on the current version. Card links are a small state
 * machine: registered -> de-registration pending (still usable to the end of the
 * month after entry) -> refused; registered or pending -> returned (final); pending
 * -> registered again by a new registration. Functions here never touch a
 * store: callers (the applier, offline tools, tests) find the records, call
 * these, and store the results, which keeps the semantics in one place.
 */
#include <errno.h>
#include <string.h>

#include "elig_error.h"
#include "elig_update.h"

const char *elig_event_kind_name(uint8_t kind)
{
    static const char *const names[ELIG_EV_KIND_MAX + 1] = {
        NULL,         "ACQUIRE",     "LOSS",    "CHANGE", "CARD_REGISTER", "CARD_DEREGISTER",
        "CERT_RENEW", "CARD_RETURN", "INSURER",
    };
    return kind <= ELIG_EV_KIND_MAX ? names[kind] : NULL;
}

int elig_update_target(const struct elig_record *recs, size_t n, const struct elig_key *key)
{
    int best = -ELIG_ENOCURRENT;
    for (size_t i = 0; i < n; i++) {
        const struct elig_record *r = &recs[i];
        if (!elig_key_equal(&r->key, key))
            continue;
        if (best < 0 || r->valid_from >= recs[best].valid_from)
            best = (int)i;
    }
    /* only the newest version can be lost or changed; once lost, nothing is current */
    return best >= 0 && recs[best].loss_date != ELIG_DATE_NONE ? -ELIG_ENOCURRENT : best;
}

static bool periods_overlap(const struct elig_record *a, const struct elig_record *b)
{
    elig_date_t ea = elig_record_end(a), eb = elig_record_end(b);
    /* An empty period (lost on its first day) overlaps nothing. */
    if ((a->loss_date != ELIG_DATE_NONE && a->loss_date <= a->valid_from) ||
        (b->loss_date != ELIG_DATE_NONE && b->loss_date <= b->valid_from))
        return false;
    bool a_before_b = ea != ELIG_DATE_NONE && ea < b->valid_from;
    bool b_before_a = eb != ELIG_DATE_NONE && eb < a->valid_from;
    return !a_before_b && !b_before_a;
}

int elig_update_check_acquire(const struct elig_record *recs, size_t n,
                              const struct elig_record *rec)
{
    for (size_t i = 0; i < n; i++)
        if (elig_key_equal(&recs[i].key, &rec->key) && periods_overlap(&recs[i], rec))
            return -ELIG_EOVERLAP;
    return 0;
}

int elig_update_loss(struct elig_record *rec, const struct elig_event *ev)
{
    if (ev->effective < rec->valid_from)
        return -ELIG_EORDER;
    rec->loss_date = ev->effective;
    rec->loss_reason = ev->u.loss.reason;
    return 0;
}

static void copy_changed(struct elig_record *dst, const struct elig_record *v, uint32_t f)
{
    if (f & ELIG_CHG_COPAY)
        dst->copay_pct = v->copay_pct;
    if (f & ELIG_CHG_LIMIT)
        dst->limit_category = v->limit_category;
    if (f & ELIG_CHG_ELDERLY_RATIO)
        dst->elderly_pct = v->elderly_pct;
    if (f & ELIG_CHG_ELDERLY_FROM)
        dst->elderly_from = v->elderly_from;
    if (f & ELIG_CHG_ELDERLY_UNTIL)
        dst->elderly_until = v->elderly_until;
    if (f & ELIG_CHG_FAMILY_KANJI)
        memcpy(dst->family_kanji, v->family_kanji, sizeof(dst->family_kanji));
    if (f & ELIG_CHG_GIVEN_KANJI)
        memcpy(dst->given_kanji, v->given_kanji, sizeof(dst->given_kanji));
    if (f & ELIG_CHG_FAMILY_KANA)
        memcpy(dst->family_kana, v->family_kana, sizeof(dst->family_kana));
    if (f & ELIG_CHG_GIVEN_KANA)
        memcpy(dst->given_kana, v->given_kana, sizeof(dst->given_kana));
    if (f & ELIG_CHG_VALID_UNTIL)
        dst->valid_until = v->valid_until;
    if (f & ELIG_CHG_RELATION)
        dst->relation = v->relation;
    if (f & ELIG_CHG_SEX)
        dst->sex = v->sex;
    if (f & ELIG_CHG_BIRTH_DATE)
        dst->birth_date = v->birth_date;
}

int elig_update_change(struct elig_record *rec, const struct elig_event *ev,
                       struct elig_record *split, bool *did_split, const char **field)
{
    elig_date_t end = elig_record_end(rec);
    if (end != ELIG_DATE_NONE && ev->effective > end) {
        if (field)
            *field = "effective";
        return -ELIG_EORDER;
    }
    struct elig_record next = *rec;
    copy_changed(&next, &ev->u.change.values, ev->u.change.fields);
    bool splits = ev->effective > rec->valid_from;
    if (splits)
        next.valid_from = ev->effective;
    int rc = elig_record_check(&next, field);
    if (rc)
        return rc;
    if (splits) {
        rec->valid_until = (elig_date_t)(ev->effective - 1);
        *split = next;
    } else {
        *rec = next;
    }
    *did_split = splits;
    return 0;
}

int elig_update_card(const struct elig_card *card, const struct elig_event *ev,
                     struct elig_card *out)
{
    if (ev->kind == ELIG_EV_CARD_REGISTER) {
        if (card && card->person_id != ev->u.card.person_id)
            return -ELIG_ECARDOWNER;
        if (card && card->state != ELIG_CARD_DEREG_PENDING)
            return -ELIG_ECARDSTATE;
        struct elig_card c = {
            .card_id = ev->u.card.card_id,
            .person_id = ev->u.card.person_id,
            .registered_on = ev->effective,
            .cert_expiry = ev->u.card.cert_expiry,
            .state = ELIG_CARD_REGISTERED,
        };
        *out = c;
        return 0;
    }
    if (card == NULL)
        return -ELIG_ENOCARD;
    if (card->state == ELIG_CARD_RETURNED)
        return -ELIG_ECARDSTATE;
    struct elig_card c = *card;
    switch (ev->kind) {
    case ELIG_EV_CARD_DEREGISTER:
        if (card->state != ELIG_CARD_REGISTERED)
            return -ELIG_ECARDSTATE;
        c.state = ELIG_CARD_DEREG_PENDING;
        /* It still works to the end of the month after entry; refused from the day after. */
        c.dereg_effective = elig_date_end_of_next_month(ev->effective);
        if (c.dereg_effective < ELIG_DATE_MAX)
            c.dereg_effective++;
        break;
    case ELIG_EV_CERT_RENEW:
        if (ev->u.card.cert_expiry <= ev->effective)
            return -ELIG_EORDER;
        c.cert_expiry = ev->u.card.cert_expiry;
        break;
    case ELIG_EV_CARD_RETURN:
        c.state = ELIG_CARD_RETURNED;
        c.returned_on = ev->effective;
        break;
    default:
        return -EINVAL;
    }
    *out = c;
    return 0;
}
