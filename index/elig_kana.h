/* SPDX-License-Identifier: MIT */
#ifndef ELIG_KANA_H
#define ELIG_KANA_H

#include <stddef.h>

/**
 * @file
 * The one form of a kana name that a lookup by person (disaster mode)
 * compares, made the same way for the index and for the query: full-width
 * katakana, whatever the width, script or small letters it was typed in.
 *
 *   half-width katakana    -> full-width (ｶﾞ, ﾊﾟ: the sound marks join the kana)
 *   hiragana               -> katakana (やまだ -> ヤマダ)
 *   small kana             -> large (ァ -> ア, ッ -> ツ, ャ -> ヤ, ヮ -> ワ, ヵ -> カ, ヶ -> ケ)
 *   combining sound marks  -> joined to the kana before (カ U+3099 -> ガ)
 *   long vowel marks       -> dropped (ー, ｰ, ～, 〜, -, ‐, −)
 *   spaces and middle dots -> dropped (space, U+3000, ・, ･)
 *
 * Anything else (a kanji, a Latin letter) is kept as it is. Pure and
 * thread-safe.
 */

/**
 * Fold s[0..len) into out (NUL-terminated).
 * @return 0 and *out_len; -ELIG_EUTF8 (not UTF-8); -ELIG_ETOOLONG (needs more than cap - 1).
 */
int elig_kana_fold(const char *s, size_t len, char *out, size_t cap, size_t *out_len);

#endif
