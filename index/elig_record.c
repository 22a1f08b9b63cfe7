/* SPDX-License-Identifier: MIT */
/*
 * elig_record: invariants and small helpers of the record model.
 *
 * Design: a qualification is valid over one closed interval of days,
 * [valid_from, end], where end is the earlier of valid_until and the day
 * before the loss date. Keeping "lost" and "expired" as separate fields keeps
 * what the insurer said (loss date and reason are shown to facilities) while
 * every rule reads validity through elig_record_end() and
 * elig_record_in_force() alone, so there is one definition of "in force".
 */
#include <string.h>

#include "elig_error.h"
#include "elig_record.h"
#include "elig_text.h"

elig_date_t elig_record_end(const struct elig_record *rec)
{
    elig_date_t end = rec->valid_until;
    if (rec->loss_date != ELIG_DATE_NONE) {
        elig_date_t before_loss = (elig_date_t)(rec->loss_date - 1);
        if (end == ELIG_DATE_NONE || before_loss < end)
            end = before_loss;
    }
    return end;
}

bool elig_record_in_force(const struct elig_record *rec, elig_date_t d)
{
    if (d < rec->valid_from)
        return false;
    /* A loss on valid_from leaves an empty period; end would read as "none". */
    if (rec->loss_date != ELIG_DATE_NONE && d >= rec->loss_date)
        return false;
    return rec->valid_until == ELIG_DATE_NONE || d <= rec->valid_until;
}

static int check_name(const char *s, bool required)
{
    size_t n = strnlen(s, ELIG_NAME_MAX + 1);
    if (n > ELIG_NAME_MAX)
        return -ELIG_ETOOLONG;
    if (n == 0 && required)
        return -ELIG_EEMPTY;
    return elig_utf8_check(s, n);
}

static bool ratio_ok(uint8_t pct)
{
    return pct == 10 || pct == 20 || pct == 30;
}

int elig_record_check(const struct elig_record *r, const char **field)
{
    const char *f = NULL;
    int rc = 0;
    if (r->person_id == 0 || r->person_id > 999999999999999999ULL) {
        f = "person_id";
        rc = -ELIG_ERANGE;
    } else if (r->relation != ELIG_REL_INSURED && r->relation != ELIG_REL_DEPENDENT) {
        f = "relation";
        rc = -ELIG_ERANGE;
    } else if (r->sex != ELIG_SEX_MALE && r->sex != ELIG_SEX_FEMALE) {
        f = "sex";
        rc = -ELIG_ERANGE;
    } else if (r->birth_date == ELIG_DATE_NONE) {
        f = "birth_date";
        rc = -ELIG_EEMPTY;
    } else if (r->acquired == ELIG_DATE_NONE || r->valid_from == ELIG_DATE_NONE) {
        f = r->acquired == ELIG_DATE_NONE ? "acquired" : "valid_from";
        rc = -ELIG_EEMPTY;
    } else if (r->acquired < r->birth_date || r->valid_from < r->birth_date) {
        f = "valid_from";
        rc = -ELIG_EORDER;
    } else if (r->valid_until != ELIG_DATE_NONE && r->valid_until < r->valid_from) {
        f = "valid_until";
        rc = -ELIG_EORDER;
    } else if ((r->loss_date == ELIG_DATE_NONE) != (r->loss_reason == ELIG_LOSS_NONE)) {
        f = "loss_reason";
        rc = -ELIG_ERANGE;
    } else if (r->loss_date != ELIG_DATE_NONE && r->loss_date < r->valid_from) {
        f = "loss_date";
        rc = -ELIG_EORDER;
    } else if (r->loss_reason != ELIG_LOSS_NONE && r->loss_reason != ELIG_LOSS_DEATH &&
               r->loss_reason != ELIG_LOSS_WELFARE && r->loss_reason != ELIG_LOSS_OTHER_INSURANCE &&
               r->loss_reason != ELIG_LOSS_OTHER) {
        f = "loss_reason";
        rc = -ELIG_ERANGE;
    } else if (!ratio_ok(r->copay_pct)) {
        f = "copay";
        rc = -ELIG_ERANGE;
    } else if (r->elderly_pct != 0 && !ratio_ok(r->elderly_pct)) {
        f = "elderly_ratio";
        rc = -ELIG_ERANGE;
    } else if ((r->elderly_pct == 0) != (r->elderly_from == ELIG_DATE_NONE) ||
               (r->elderly_pct == 0 && r->elderly_until != ELIG_DATE_NONE)) {
        f = "elderly_from";
        rc = -ELIG_EEMPTY;
    } else if (r->elderly_until != ELIG_DATE_NONE && r->elderly_until < r->elderly_from) {
        f = "elderly_until";
        rc = -ELIG_EORDER;
    } else if (r->limit_category > ELIG_LIMIT_MAX) {
        f = "limit";
        rc = -ELIG_ERANGE;
    } else if ((rc = check_name(r->family_kanji, true)) != 0) {
        f = "family_kanji";
    } else if ((rc = check_name(r->given_kanji, false)) != 0) {
        f = "given_kanji";
    } else if ((rc = check_name(r->family_kana, true)) != 0) {
        f = "family_kana";
    } else if ((rc = check_name(r->given_kana, false)) != 0) {
        f = "given_kana";
    }
    if (rc && field)
        *field = f;
    return rc;
}

int elig_record_copay_on(const struct elig_record *r, elig_date_t d)
{
    if (r->elderly_pct != 0 && d >= r->elderly_from &&
        (r->elderly_until == ELIG_DATE_NONE || d <= r->elderly_until))
        return r->elderly_pct;
    return r->copay_pct;
}

int elig_copay_default(elig_date_t birth, elig_date_t d)
{
    int by, bm, bd;
    elig_date_to_ymd(birth, &by, &bm, &bd);
    /* School starts on the April 1 after the 6th birthday; April 1 birthdays go a year early. */
    int school_year = by + 6 + ((bm > 4 || (bm == 4 && bd >= 2)) ? 1 : 0);
    elig_date_t school;
    if (elig_date_from_ymd(school_year, 4, 1, &school) == 0 && d < school)
        return 20;
    elig_date_t at75;
    if (elig_date_add_months(birth, 75 * 12, &at75) == 0 && d >= at75)
        return 10;
    /* 70-74: from the first of the month after the 70th birthday, or that month if born on the 1st.
     */
    elig_date_t at70, from70;
    if (elig_date_add_months(birth, 70 * 12, &at70) == 0) {
        int y, m, dd;
        elig_date_to_ymd(at70, &y, &m, &dd);
        from70 = at70;
        if (dd != 1 && elig_date_add_months(at70, 1, &from70) == 0) {
            elig_date_to_ymd(from70, &y, &m, &dd);
            (void)elig_date_from_ymd(y, m, 1, &from70);
        }
        if (d >= from70)
            return 20;
    }
    return 30;
}

static const char *const limit_names[ELIG_LIMIT_MAX + 1] = {
    "",    "A01", "A02", "A03", "A04", "A05", "A06", "B01", "B02",
    "B03", "B04", "B05", "B06", "B07", "B08", "B09", "B10",
};

int elig_limit_parse(const char *s, size_t len, uint8_t *out)
{
    if (len == 0) {
        *out = ELIG_LIMIT_NONE;
        return 0;
    }
    for (uint8_t i = 1; i <= ELIG_LIMIT_MAX; i++) {
        if (len == 3 && memcmp(s, limit_names[i], 3) == 0) {
            *out = i;
            return 0;
        }
    }
    return -ELIG_ERANGE;
}

const char *elig_limit_name(uint8_t category)
{
    return category <= ELIG_LIMIT_MAX ? limit_names[category] : "?";
}

int elig_person_id_parse(const char *s, size_t len, uint64_t *out)
{
    if (len == 0 || len > ELIG_PERSON_ID_DIGITS)
        return -ELIG_ESYNTAX;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -ELIG_ESYNTAX;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    if (v == 0)
        return -ELIG_ERANGE;
    *out = v;
    return 0;
}

int elig_card_id_parse(const char *s, size_t len, uint64_t *out)
{
    if (len != ELIG_CARD_ID_LEN)
        return -ELIG_ESYNTAX;
    uint64_t v = 0;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        int x;
        if (c >= '0' && c <= '9')
            x = c - '0';
        else if (c >= 'a' && c <= 'f')
            x = c - 'a' + 10;
        else if (c >= 'A' && c <= 'F')
            x = c - 'A' + 10;
        else
            return -ELIG_ESYNTAX;
        v = (v << 4) | (uint64_t)x;
    }
    if (v == 0)
        return -ELIG_ERANGE;
    *out = v;
    return 0;
}

char *elig_card_id_format(uint64_t id, char buf[ELIG_CARD_ID_LEN + 1])
{
    static const char hex[] = "0123456789ABCDEF";
    for (int i = ELIG_CARD_ID_LEN - 1; i >= 0; i--, id >>= 4)
        buf[i] = hex[id & 0xF];
    buf[ELIG_CARD_ID_LEN] = '\0';
    return buf;
}

const char *elig_card_state_name(uint8_t state)
{
    switch (state) {
    case ELIG_CARD_REGISTERED:
        return "registered";
    case ELIG_CARD_DEREG_PENDING:
        return "de-registration pending";
    case ELIG_CARD_RETURNED:
        return "returned";
    default:
        return "unknown";
    }
}
