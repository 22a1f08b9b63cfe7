/* SPDX-License-Identifier: MIT */
#ifndef ELIG_JIS_H
#define ELIG_JIS_H

#include <stddef.h>

/**
 * @file
 * Can a receipt system show this name? Many facility systems hold names in
 * JIS X 0208 (Shift_JIS or EUC-JP without the supplementary planes) and show
 * any other character as "●". This module decides membership with the C
 * library's iconv (UTF-8 to EUC-JP), not with a table of our own: a character
 * is shown when it is ASCII or converts to a two-byte JIS X 0208 code; one
 * that converts to JIS X 0212 (the three-byte SS3 form), to a half-width
 * katakana of JIS X 0201 (SS2), or does not convert at all is not.
 */

/** Bits of a name's flags (elig_record.name_flags). */
#define ELIG_NAME_FAMILY_KANJI                                                                     \
    0x01 /**< the family name (kanji) holds a character outside JIS X 0208 */
#define ELIG_NAME_GIVEN_KANJI 0x02 /**< the given name (kanji) does */
#define ELIG_NAME_KANA                                                                             \
    0x04 /**< a kana name (family or given) does: the fallback                                     \
              itself cannot be shown */

/**
 * Whether every character of s[0..len) is ASCII or in JIS X 0208.
 *
 * Thread-safe: each thread converts through an iconv descriptor of its own,
 * opened at its first call and closed when the thread ends.
 *
 * @return 1 all of it can be shown; 0 some character cannot; -ELIG_EUTF8 for
 *         bytes that are not UTF-8; -ENOMEM; -ENOSYS when the C library has no
 *         EUC-JP converter.
 */
int elig_jis_x0208(const char *s, size_t len);

#endif
