/* SPDX-License-Identifier: MIT */
#ifndef ELIG_RECORD_H
#define ELIG_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_date.h"
#include "elig_key.h"

/**
 * @file
 * The record model: one qualification (資格) and one card link, in the form
 * that the rules, the feed parser and the protocol exchange. The index stores
 * them more compactly (interned names, packed fields) and expands them to
 * these structs when it answers.
 */

#define ELIG_NAME_MAX         96  /**< bytes of UTF-8 in one name part */
#define ELIG_INSURER_NAME_MAX 120 /**< bytes of UTF-8 in an insurer's name */
#define ELIG_PERSON_ID_DIGITS 18  /**< person ids are 1..18 decimal digits, not 0 */
#define ELIG_CARD_ID_LEN      16  /**< card ids are 16 hexadecimal digits */

/** Insured person (本人) or dependent (家族). */
enum elig_relation {
    ELIG_REL_INSURED = 1,
    ELIG_REL_DEPENDENT = 2,
};

/** Sex as the insurers' files code it. */
enum elig_sex {
    ELIG_SEX_MALE = 1,
    ELIG_SEX_FEMALE = 2,
};

/** Reason a qualification was lost (資格喪失事由). */
enum elig_loss_reason {
    ELIG_LOSS_NONE = 0,
    ELIG_LOSS_DEATH = 1,           /**< 01 death */
    ELIG_LOSS_WELFARE = 2,         /**< 02 moved to public welfare */
    ELIG_LOSS_OTHER_INSURANCE = 3, /**< 03 acquired other insurance */
    ELIG_LOSS_OTHER = 99,          /**< 99 other */
};

/**
 * High-cost limit category (限度額適用区分): 0 none, 1-6 A01-A06, 7-16 B01-B10.
 * Disclosed only when the request carries the patient's consent.
 */
#define ELIG_LIMIT_NONE 0
#define ELIG_LIMIT_MAX  16

/** One qualification: a person's enrolment in one insurer over a period. */
struct elig_record {
    struct elig_key key;                  /**< canonical insurance-number key */
    uint64_t person_id;                   /**< pseudonymous national person id, 1..10^18-1 */
    elig_date_t birth_date;               /**< date of birth */
    elig_date_t acquired;                 /**< acquisition date (資格取得日) */
    elig_date_t valid_from;               /**< first day this record is valid */
    elig_date_t valid_until;              /**< last day it is valid; ELIG_DATE_NONE = open */
    elig_date_t loss_date;                /**< first day it is no longer valid; NONE = not lost */
    elig_date_t elderly_from;             /**< elderly recipient certificate: first valid day */
    elig_date_t elderly_until;            /**< ... last valid day; NONE = open */
    uint8_t relation;                     /**< enum elig_relation */
    uint8_t sex;                          /**< enum elig_sex */
    uint8_t loss_reason;                  /**< enum elig_loss_reason; NONE unless lost */
    uint8_t copay_pct;                    /**< co-payment ratio in percent: 10, 20 or 30 */
    uint8_t elderly_pct;                  /**< elderly certificate ratio: 0 (none), 10, 20, 30 */
    uint8_t limit_category;               /**< ELIG_LIMIT_NONE or 1..ELIG_LIMIT_MAX */
    char family_kanji[ELIG_NAME_MAX + 1]; /**< NUL-terminated UTF-8 */
    char given_kanji[ELIG_NAME_MAX + 1];
    char family_kana[ELIG_NAME_MAX + 1];
    char given_kana[ELIG_NAME_MAX + 1];
    uint8_t name_flags; /**< derived, never stored: ELIG_NAME_* (elig_jis.h) of the names,
                             set where the index reads a record with its names; 0 elsewhere */
};

/** State of a card's link for insurance use (利用登録). */
enum elig_card_state {
    ELIG_CARD_REGISTERED = 1,    /**< usable */
    ELIG_CARD_DEREG_PENDING = 2, /**< de-registration requested; stops at dereg_effective */
    ELIG_CARD_RETURNED = 3,      /**< returned or lost; refused at once */
};

/** One card link: card id -> person, with the card certificate's expiry. */
struct elig_card {
    uint64_t card_id;            /**< the card certificate's 64-bit serial */
    uint64_t person_id;          /**< the person it identifies */
    elig_date_t registered_on;   /**< registration for insurance use */
    elig_date_t cert_expiry;     /**< last day the certificate is valid */
    elig_date_t dereg_effective; /**< first day refused, when DEREG_PENDING */
    elig_date_t returned_on;     /**< when RETURNED */
    uint8_t state;               /**< enum elig_card_state */
};

/**
 * Last day a record is valid, combining valid_until and the loss date;
 * ELIG_DATE_NONE when open-ended.
 */
elig_date_t elig_record_end(const struct elig_record *rec);

/** True when the record is in force on day d. */
bool elig_record_in_force(const struct elig_record *rec, elig_date_t d);

/**
 * Check a record's invariants: key normalised, person id in range, dates
 * present and ordered (valid_from <= valid_until; elderly period ordered),
 * codes in their sets, names valid UTF-8 without control characters.
 *
 * @param field if not NULL, set to the name of the offending field on error
 * @return 0; -ELIG_EEMPTY, -ELIG_ERANGE, -ELIG_EORDER, -ELIG_EUTF8, -ELIG_ECONTROL.
 */
int elig_record_check(const struct elig_record *rec, const char **field);

/** The ratio the patient pays on day d: the elderly certificate's when valid then, else copay_pct.
 */
int elig_record_copay_on(const struct elig_record *rec, elig_date_t d);

/**
 * Default co-payment ratio for a person of that birth date on day d, as the
 * law sets it: 20% before school age (until the March 31 after the 6th
 * birthday), 30% to age 69, 20% from the month after the 70th birthday (the
 * birthday month when born on the 1st), 10% from the 75th birthday (late-stage
 * elderly). Insurers override it for income; this is what generators use.
 */
int elig_copay_default(elig_date_t birth, elig_date_t d);

/** Parse "A01".."A06" / "B01".."B10"; empty gives ELIG_LIMIT_NONE. 0 or -ELIG_ERANGE. */
int elig_limit_parse(const char *s, size_t len, uint8_t *out);

/** The code of a limit category ("A03"), or "" for none. Static string. */
const char *elig_limit_name(uint8_t category);

/** Parse 1..18 decimal digits, not all zero. 0 or -ELIG_ESYNTAX / -ELIG_ERANGE. */
int elig_person_id_parse(const char *s, size_t len, uint64_t *out);

/** Parse exactly 16 hex digits (either case). 0 or -ELIG_ESYNTAX / -ELIG_ERANGE for zero. */
int elig_card_id_parse(const char *s, size_t len, uint64_t *out);

/** Write 16 upper-case hex digits and a NUL. Returns buf. */
char *elig_card_id_format(uint64_t id, char buf[ELIG_CARD_ID_LEN + 1]);

/** "registered", "de-registration pending" or "returned"; "unknown" otherwise. */
const char *elig_card_state_name(uint8_t state);

#endif
