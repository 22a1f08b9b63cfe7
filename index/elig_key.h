/* SPDX-License-Identifier: MIT */
#ifndef ELIG_KEY_H
#define ELIG_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * The insurance-number key and its one canonical form.
 *
 * A qualification is found by (insurer number, symbol, number, branch). The
 * same key reaches us typed in many ways: full-width digits, stray spaces,
 * a 6-digit National Health Insurance number, a missing branch. Normalising
 * gives each key exactly one canonical form, so equality is byte equality and
 * hashing is hashing bytes. All functions are pure and thread-safe.
 */

#define ELIG_INSURER_LEN 8  /**< insurer number, always stored as 8 ASCII digits */
#define ELIG_SYMBOL_MAX  38 /**< symbol (記号), bytes of UTF-8 after folding */
#define ELIG_NUMBER_MAX  20 /**< number (番号), ASCII characters after folding */
#define ELIG_BRANCH_LEN  2  /**< branch (枝番), 2 ASCII digits, "00" when absent */

/** Longest canonical byte form: insurer, branch, symbol length, symbol, number length, number. */
#define ELIG_KEY_BYTES_MAX                                                                         \
    (ELIG_INSURER_LEN + ELIG_BRANCH_LEN + 1 + ELIG_SYMBOL_MAX + 1 + ELIG_NUMBER_MAX)

/**
 * A canonical key. Unused bytes of symbol and number are zero, so two keys
 * are equal exactly when memcmp() over the whole struct is 0.
 */
struct elig_key {
    char insurer[ELIG_INSURER_LEN]; /**< 8 digits; NHI numbers are padded with "00" */
    char branch[ELIG_BRANCH_LEN];   /**< 2 digits */
    uint8_t symbol_len;             /**< bytes used in symbol, 0..ELIG_SYMBOL_MAX */
    uint8_t number_len;             /**< bytes used in number, 1..ELIG_NUMBER_MAX */
    char symbol[ELIG_SYMBOL_MAX];   /**< UTF-8, may be empty, single inner spaces */
    char number[ELIG_NUMBER_MAX];   /**< printable ASCII, no spaces */
};

/** Which part of a key a normalisation error is about. */
enum elig_key_field {
    ELIG_KEY_INSURER,
    ELIG_KEY_SYMBOL,
    ELIG_KEY_NUMBER,
    ELIG_KEY_BRANCH,
};

/** Kind of insurance, derived from the insurer number's law code (法別番号). */
enum elig_insurance_kind {
    ELIG_KIND_UNKNOWN = 0,
    ELIG_KIND_NHI,          /**< National Health Insurance, 6-digit numbers (国民健康保険) */
    ELIG_KIND_KYOKAI,       /**< 01 Japan Health Insurance Association (協会けんぽ) */
    ELIG_KIND_SEAMEN,       /**< 02 Seamen's insurance (船員保険) */
    ELIG_KIND_DAY_LABOURER, /**< 03, 04 day labourers (日雇特例被保険者) */
    ELIG_KIND_SOCIETY,      /**< 06 society-managed (組合管掌健康保険) */
    ELIG_KIND_SDF,          /**< 07 Self-Defense Forces (自衛官等) */
    ELIG_KIND_MUTUAL_AID,   /**< 31-34 mutual aid associations (共済組合) */
    ELIG_KIND_LATE_ELDERLY, /**< 39 late-stage elderly, 75+ (後期高齢者医療) */
    ELIG_KIND_SPECIAL_RETIREE, /**< 63, 72-75 special retirees (特例退職被保険者) */
    ELIG_KIND_NHI_RETIREE,     /**< 67 NHI retirees (退職者医療) */
};

/**
 * Luhn check digit of the first 7 digits of an 8-digit insurer number:
 * from the rightmost digit leftwards, weights 2,1,2,1,...; a two-digit
 * product counts as the sum of its digits; check = (10 - sum % 10) % 10.
 * 3312001 gives 5.
 *
 * @param digits7 seven ASCII digits (not checked)
 * @return the check digit 0..9
 */
int elig_luhn_check_digit(const char *digits7);

/**
 * The 8 digits of an insurer number from the value of its first 7 (below
 * 10^7), the check digit summed on the way: elig_luhn_check_digit() without
 * a second pass (every record the index reads decodes one).
 *
 * @param first7 the first seven digits as a number
 * @param out    eight ASCII digits, not terminated
 */
void elig_insurer_from_value(uint32_t first7, char out[ELIG_INSURER_LEN]);

/**
 * Normalise and validate an insurer number: full-width digits folded, spaces
 * removed, 6-digit NHI numbers padded to 8 with "00".
 *
 * @return 0 and out set; -ELIG_ESYNTAX unless 6 or 8 digits; -ELIG_ELAWCODE
 *         if the law code is not an insurer's; -ELIG_EPREFECTURE if the
 *         prefecture is not 01-47; -ELIG_ECHECKDIGIT if the last digit is
 *         wrong; -ELIG_EUTF8 / -ELIG_ECONTROL for bad text.
 */
int elig_insurer_normalize(const char *s, size_t len, char out[ELIG_INSURER_LEN]);

/**
 * Normalise a whole key from its four typed parts (none NUL-terminated).
 * Symbol: folded, trimmed, inner spaces collapsed, may be empty. Number:
 * folded, all spaces removed, printable ASCII, 1..20 characters. Branch:
 * empty gives "00", one digit is zero-padded.
 *
 * @param bad_field if not NULL, set to the part at fault when this fails
 * @return 0 and *out set; the errors of elig_insurer_normalize(); for the
 *         other parts -ELIG_ESYNTAX, -ELIG_EEMPTY (number), -ELIG_ETOOLONG,
 *         -ELIG_EUTF8, -ELIG_ECONTROL.
 */
int elig_key_normalize(const char *insurer, size_t insurer_len, const char *symbol,
                       size_t symbol_len, const char *number, size_t number_len, const char *branch,
                       size_t branch_len, struct elig_key *out, enum elig_key_field *bad_field);

/**
 * Write the canonical byte form (what is hashed and stored) into buf.
 * @return its length, at most ELIG_KEY_BYTES_MAX.
 */
size_t elig_key_encode(const struct elig_key *key, uint8_t buf[ELIG_KEY_BYTES_MAX]);

/**
 * Read a canonical byte form back.
 * @return 0; -ELIG_ESYNTAX if buf[0..len) is not one.
 */
int elig_key_decode(const uint8_t *buf, size_t len, struct elig_key *key);

/** True when the two canonical keys are the same key. */
bool elig_key_equal(const struct elig_key *a, const struct elig_key *b);

/** The kind of insurance of a normalised insurer number. */
enum elig_insurance_kind elig_insurance_kind(const char insurer[ELIG_INSURER_LEN]);

/** English name of an insurance kind, e.g. "national-health-insurance". */
const char *elig_insurance_kind_name(enum elig_insurance_kind kind);

/** Name of a key part for error messages: "insurer", "symbol", "number", "branch". */
const char *elig_key_field_name(enum elig_key_field field);

#endif
