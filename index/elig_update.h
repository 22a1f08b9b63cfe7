/* SPDX-License-Identifier: MIT */
#ifndef ELIG_UPDATE_H
#define ELIG_UPDATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_date.h"
#include "elig_key.h"
#include "elig_record.h"

/**
 * @file
 * The update model: the events insurers send, and what each does to the
 * records and card links. The feed parser produces these events, the log
 * stores them and the applier replays them through the functions below, so
 * the meaning of an event is written once. Every function is pure over its
 * arguments (no store, no I/O) and thread-safe; a failing call leaves its
 * outputs untouched.
 */

/** Event kinds. The numeric values are stored in the log: never renumber. */
enum elig_event_kind {
    ELIG_EV_ACQUIRE = 1,         /**< qualification acquired (資格取得) */
    ELIG_EV_LOSS = 2,            /**< qualification lost (資格喪失) */
    ELIG_EV_CHANGE = 3,          /**< qualification changed (変更) from a date */
    ELIG_EV_CARD_REGISTER = 4,   /**< card registered for insurance use (利用登録) */
    ELIG_EV_CARD_DEREGISTER = 5, /**< de-registration entered (解除) */
    ELIG_EV_CERT_RENEW = 6,      /**< card certificate renewed */
    ELIG_EV_CARD_RETURN = 7,     /**< card returned or reported lost */
    ELIG_EV_INSURER = 8,         /**< insurer directory: the insurer's name */
};
#define ELIG_EV_KIND_MAX ELIG_EV_INSURER

/** Fields a CHANGE event may set (bit mask in elig_event.u.change.fields). */
enum elig_change_field {
    ELIG_CHG_COPAY = 1u << 0,
    ELIG_CHG_LIMIT = 1u << 1,
    ELIG_CHG_ELDERLY_RATIO = 1u << 2,
    ELIG_CHG_ELDERLY_FROM = 1u << 3,
    ELIG_CHG_ELDERLY_UNTIL = 1u << 4,
    ELIG_CHG_FAMILY_KANJI = 1u << 5,
    ELIG_CHG_GIVEN_KANJI = 1u << 6,
    ELIG_CHG_FAMILY_KANA = 1u << 7,
    ELIG_CHG_GIVEN_KANA = 1u << 8,
    ELIG_CHG_VALID_UNTIL = 1u << 9,
    ELIG_CHG_RELATION = 1u << 10,
    ELIG_CHG_SEX = 1u << 11,
    ELIG_CHG_BIRTH_DATE = 1u << 12,
};

/** One update event. */
struct elig_event {
    uint8_t kind;                  /**< enum elig_event_kind */
    elig_date_t effective;         /**< effective date (see docs/feed-format.md per kind) */
    char source[ELIG_INSURER_LEN]; /**< sending insurer, normalised */
    union {
        struct elig_record acquire; /**< ACQUIRE: the new record (loss fields empty) */
        struct {
            struct elig_key key;
            uint8_t reason; /**< enum elig_loss_reason */
        } loss;             /**< LOSS: loss date is `effective` */
        struct {
            struct elig_key key;
            uint32_t fields;           /**< enum elig_change_field bits */
            struct elig_record values; /**< new values of the fields named in `fields` */
        } change;                      /**< CHANGE: applies from `effective` */
        struct {
            uint64_t card_id;
            uint64_t person_id;      /**< REGISTER only */
            elig_date_t cert_expiry; /**< REGISTER and CERT_RENEW */
        } card;                      /**< card events */
        struct {
            char name[ELIG_INSURER_NAME_MAX + 1]; /**< NUL-terminated UTF-8 */
        } insurer;                                /**< INSURER: names `source` */
    } u;
};

/** Name of an event kind as written in feeds ("ACQUIRE", ...), or NULL. */
const char *elig_event_kind_name(uint8_t kind);

/**
 * The record a LOSS or CHANGE of key applies to: the key's newest version
 * (the one that starts last), unless it is lost. Older versions, ended by a
 * CHANGE, are history and never targets.
 *
 * @return its index in recs; -ELIG_ENOCURRENT if there is none.
 */
int elig_update_target(const struct elig_record *recs, size_t n, const struct elig_key *key);

/**
 * May ACQUIRE add rec next to the records already held under its key? It may
 * not overlap any of their validity periods.
 *
 * @return 0; -ELIG_EOVERLAP.
 */
int elig_update_check_acquire(const struct elig_record *recs, size_t n,
                              const struct elig_record *rec);

/**
 * Apply LOSS to its target record.
 * @return 0; -ELIG_EORDER if the loss date precedes the record's start.
 */
int elig_update_loss(struct elig_record *rec, const struct elig_event *ev);

/**
 * Apply CHANGE to its target record. A change effective on or before the
 * record's start rewrites it; a later one splits it: rec ends the day before
 * the change and *split is the new version from that day (same key, person
 * and acquisition date), so a check for an earlier date of service still sees
 * the values in force then.
 *
 * @param did_split set to whether *split was written and must be stored
 * @return 0; -ELIG_EORDER if the change falls after the record's end; the
 *         errors of elig_record_check() if the result would be invalid (the
 *         field name in *field).
 */
int elig_update_change(struct elig_record *rec, const struct elig_event *ev,
                       struct elig_record *split, bool *did_split, const char **field);

/**
 * Apply a card event. card is the current link of ev->u.card.card_id, or NULL
 * if there is none; *out receives the new link.
 *
 * @return 0; -ELIG_ENOCARD (no link to change); -ELIG_ECARDOWNER (REGISTER of
 *         a card linked to another person); -ELIG_ECARDSTATE (REGISTER of a
 *         registered or returned card, DEREGISTER of one not registered, any
 *         event on a returned card); -ELIG_EORDER (renewal to an expiry not
 *         after the event date).
 */
int elig_update_card(const struct elig_card *card, const struct elig_event *ev,
                     struct elig_card *out);

#endif
