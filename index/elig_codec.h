/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CODEC_H
#define ELIG_CODEC_H

#include <stddef.h>
#include <stdint.h>

#include "elig_update.h"

/**
 * @file
 * The binary form of an update event: the payload of a log record and of a
 * snapshot entry. Little-endian, fixed order, every variable field preceded
 * by its length, so a decoder never reads past what it was given and
 * refuses anything that is not exactly one well-formed event.
 *
 * Layout (all kinds): kind u8, effective u16, source 8 bytes, then
 *   ACQUIRE        record
 *   LOSS           key, reason u8
 *   CHANGE         key, fields u32, values (a record without key and person)
 *   CARD_*         card_id u64, person_id u64, cert_expiry u16
 *   INSURER        name (u8 length, bytes)
 * where key = u8 length + elig_key_encode() bytes, and record = key,
 * person_id u64, then (values start here) birth, acquired, valid_from, valid_until, loss_date,
 * elderly_from, elderly_until (u16 each), relation, sex, loss_reason,
 * copay_pct, elderly_pct, limit_category (u8 each), then four names
 * (family kanji, given kanji, family kana, given kana), each u8 length + bytes.
 */

/** Largest encoding of any event, bytes. */
#define ELIG_EVENT_WIRE_MAX 1024

/**
 * Encode ev into buf.
 *
 * @return its length (at most ELIG_EVENT_WIRE_MAX); -ENOBUFS if cap is too
 *         small; -ELIG_EKIND for an unknown kind; -ELIG_ETOOLONG if a name is
 *         longer than its limit. Pure and thread-safe.
 */
int elig_event_encode(const struct elig_event *ev, uint8_t *buf, size_t cap);

/**
 * Decode exactly one event from buf[0..len).
 *
 * @return 0; -ELIG_ESYNTAX if the bytes are short, long, or not a valid
 *         encoding (bad key, name not NUL-free, length out of range);
 *         -ELIG_EKIND for an unknown kind. Pure and thread-safe.
 */
int elig_event_decode(const uint8_t *buf, size_t len, struct elig_event *ev);

/**
 * The head every encoded event starts with, read without decoding the rest:
 * its kind, effective date and sending insurer (what a scan of the whole log
 * needs, as the registration lag's). Pure and thread-safe.
 * @return 0; -ELIG_ESYNTAX if buf is shorter than the head.
 */
int elig_event_head(const uint8_t *buf, size_t len, uint8_t *kind, elig_date_t *effective,
                    char source[ELIG_INSURER_LEN]);

#endif
