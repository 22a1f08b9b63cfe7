/* SPDX-License-Identifier: MIT */
#ifndef ELIG_TEXT_H
#define ELIG_TEXT_H

#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * UTF-8 text checks and the folding that makes typed keys canonical.
 * All functions are pure and thread-safe.
 */

/**
 * Check that s[0..len) is well-formed UTF-8 (no overlong forms, no
 * surrogates, nothing above U+10FFFF) with no control characters (C0, DEL,
 * C1). A TAB is a control character here: it separates feed fields.
 *
 * @return 0; -ELIG_EUTF8 on a malformed sequence; -ELIG_ECONTROL on a control
 *         character.
 */
int elig_utf8_check(const char *s, size_t len);

/**
 * Fold typed text to its canonical form: full-width ASCII (U+FF01-U+FF5E) to
 * ASCII, the ideographic space U+3000 to a space, leading and trailing spaces
 * removed and every inner run of spaces collapsed to one.
 *
 * @param in      input bytes (need not be NUL-terminated)
 * @param len     input length
 * @param out     output buffer; never NUL-terminated by this function
 * @param cap     output capacity in bytes
 * @param out_len set to the folded length on success
 * @return 0; -ELIG_EUTF8 or -ELIG_ECONTROL as elig_utf8_check(); -ELIG_ETOOLONG
 *         if the folded text needs more than cap bytes.
 */
int elig_text_fold(const char *in, size_t len, char *out, size_t cap, size_t *out_len);

/**
 * A whole decimal number in [min, max], the whole of s: what every
 * program's numeric option takes (no sign, no spaces, no suffix).
 * @return 0 and *out; -EINVAL (not a number, or out of range).
 */
int elig_text_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out);

#endif
