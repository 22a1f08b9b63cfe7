/* SPDX-License-Identifier: MIT */
#ifndef ELIG_RULES_H
#define ELIG_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_date.h"
#include "elig_key.h"
#include "elig_record.h"

/**
 * @file
 * The eligibility rules as pure functions of (the matching records, the query
 * date, the channel). No I/O, no clock, no allocation: the index, the server
 * and the offline tools all answer through these two functions, so there is
 * one definition of what a check returns.
 *
 * Query date: the date of service. Records are judged as of that day, so a
 * check for a past date of service sees the qualification in force then.
 * Card state (certificate expiry, de-registration) is judged as of the same
 * day; a returned card is refused whatever the day.
 */

/** Validity code (資格有効性) of an answer. */
enum elig_validity {
    ELIG_VALIDITY_NONE = 0, /**< refused before any record was judged (see refusal) */
    ELIG_VALID = 1,         /**< a qualification is in force on the query date */
    ELIG_LOST = 2,          /**< the latest qualification had ended by the query date */
    ELIG_LOST_NEWER = 3,    /**< as 2, and the person has a newer qualification */
    ELIG_NO_MATCH = 4,      /**< no qualification matches (or birth date mismatch) */
    ELIG_MULTIPLE = 5,      /**< more than one qualification is in force */
};

/** Why a card check was refused (validity ELIG_VALIDITY_NONE). */
enum elig_refusal {
    ELIG_REFUSE_NONE = 0,
    ELIG_REFUSE_CARD_UNREGISTERED = 1, /**< card never registered for insurance use */
    ELIG_REFUSE_CARD_DEREGISTERED = 2, /**< de-registration took effect */
    ELIG_REFUSE_CARD_RETURNED = 3,     /**< card returned or reported lost */
    ELIG_REFUSE_CERT_EXPIRED = 4,      /**< certificate expired over 3 months ago: use the
                                            paper eligibility certificate (資格確認書) */
};

#define ELIG_FLAG_RENEWAL_ALERT   0x01 /**< card certificate expires within 3 months */
#define ELIG_FLAG_GRACE           0x02 /**< certificate expired, within the 3-month grace */
#define ELIG_FLAG_LIMIT_DISCLOSED 0x04 /**< consent given: limit category may be shown */
#define ELIG_FLAG_NAME_UNSHOWN                                                                     \
    0x08 /**< a record's name holds a character outside JIS X 0208                                 \
              (set by the answer's encoder from the records) */

/** Most records one answer refers to (a "multiple" answer lists up to this many). */
#define ELIG_ANSWER_MAX 8

/** Certificate grace and alert window, in calendar months. */
#define ELIG_CERT_WINDOW_MONTHS 3

/** The outcome of one check. Refers to records by their index in the input array. */
struct elig_answer {
    uint8_t validity;              /**< enum elig_validity */
    uint8_t refusal;               /**< enum elig_refusal */
    uint8_t flags;                 /**< ELIG_FLAG_* */
    uint8_t count;                 /**< entries used in idx */
    uint16_t idx[ELIG_ANSWER_MAX]; /**< records answered, best first */
};

/**
 * Answer a check by insurance number.
 *
 * @param key     the canonical key asked for
 * @param birth   the birth date the facility typed; it must match the record
 * @param date    query date (date of service)
 * @param consent the patient consented to disclose the limit category
 * @param recs    every qualification of the persons who hold the key (the
 *                key's own records included); at most 65535
 * @param n       number of records
 * @param ans     the answer: VALID / MULTIPLE with the records in force, LOST or
 *                LOST_NEWER with the latest qualification of the key, or NO_MATCH
 *                with no record (a wrong birth date reveals nothing).
 */
void elig_eval_number(const struct elig_key *key, elig_date_t birth, elig_date_t date, bool consent,
                      const struct elig_record *recs, size_t n, struct elig_answer *ans);

/**
 * Answer a check by card.
 *
 * @param card    the card link, or NULL if the card is not registered
 * @param date    query date (date of service)
 * @param consent the patient consented to disclose the limit category
 * @param recs    every qualification of card->person_id (others are ignored)
 * @param n       number of records, at most 65535
 * @param ans     a refusal (validity NONE and a reason), or an answer as for
 *                numbers with the certificate flags set.
 */
void elig_eval_card(const struct elig_card *card, elig_date_t date, bool consent,
                    const struct elig_record *recs, size_t n, struct elig_answer *ans);

/**
 * Answer for a person found without a card or a number (the lookup by
 * person of disaster mode): the person's qualifications judged as a card
 * check judges them (steps 2 to 5 of docs/rules.md, no birth date, no
 * card state).
 *
 * @param person_id whose records count (others in recs are ignored)
 */
void elig_eval_person(uint64_t person_id, elig_date_t date, bool consent,
                      const struct elig_record *recs, size_t n, struct elig_answer *ans);

/**
 * Copy answered record i of ans into out, withholding the limit category
 * unless ELIG_FLAG_LIMIT_DISCLOSED is set. i < ans->count.
 */
void elig_answer_record(const struct elig_answer *ans, const struct elig_record *recs, size_t i,
                        struct elig_record *out);

/** "valid", "lost", "lost-newer-exists", "no-match", "multiple" or "refused". */
const char *elig_validity_name(uint8_t validity);

/** "card-unregistered", ... for enum elig_refusal; "" for none. */
const char *elig_refusal_name(uint8_t refusal);

#endif
