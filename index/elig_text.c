/* SPDX-License-Identifier: MIT */
/*
 * elig_text: UTF-8 validation and full-width folding.
 *
 * Design: one forward pass decodes each code point with explicit checks for
 * the three classes of malformed UTF-8 (bad lead or continuation bytes,
 * overlong encodings, surrogates / values past U+10FFFF). Folding reuses the
 * same decoder and writes into a caller buffer, so nothing allocates. Keys
 * arrive typed at reception desks on Japanese keyboards, where full-width
 * digits and the ideographic space are common; folding them is what makes
 * "３３１２００１５" and "33120015" the same insurer.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "elig_error.h"
#include "elig_text.h"

/* Decode one code point at s[i]; returns its byte length or a negative error. */
static int utf8_decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = s[i];
    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    int n;
    uint32_t v, min;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        v = c & 0x1F;
        min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        v = c & 0x0F;
        min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        v = c & 0x07;
        min = 0x10000;
    } else {
        return -ELIG_EUTF8;
    }
    if (len - i < (size_t)n)
        return -ELIG_EUTF8;
    for (int k = 1; k < n; k++) {
        if ((s[i + k] & 0xC0) != 0x80)
            return -ELIG_EUTF8;
        v = (v << 6) | (s[i + k] & 0x3F);
    }
    if (v < min || v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
        return -ELIG_EUTF8;
    *cp = v;
    return n;
}

static bool is_control(uint32_t cp)
{
    return cp < 0x20 || cp == 0x7F || (cp >= 0x80 && cp <= 0x9F);
}

/* Decode one code point of text: as utf8_decode(), and control characters are errors. */
static int text_decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    int n = utf8_decode(s, len, i, cp);
    if (n > 0 && is_control(*cp))
        return -ELIG_ECONTROL;
    return n;
}

int elig_utf8_check(const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    for (size_t i = 0; i < len;) {
        uint32_t cp;
        int n = text_decode(u, len, i, &cp);
        if (n < 0)
            return n;
        i += (size_t)n;
    }
    return 0;
}

int elig_text_fold(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)in;
    size_t o = 0;
    bool pending_space = false;
    for (size_t i = 0; i < len;) {
        if (u[i] > 0x20 && u[i] < 0x7F) { /* printable ASCII: the common case, as it is */
            if (o + 1 + pending_space > cap)
                return -ELIG_ETOOLONG;
            if (pending_space)
                out[o++] = ' ';
            pending_space = false;
            out[o++] = (char)u[i++];
            continue;
        }
        uint32_t cp;
        int n = text_decode(u, len, i, &cp);
        if (n < 0)
            return n;
        if (cp >= 0xFF01 && cp <= 0xFF5E)
            cp = cp - 0xFF01 + 0x21;
        else if (cp == 0x3000)
            cp = ' ';
        if (cp == ' ') {
            pending_space = o > 0; /* leading spaces vanish; inner runs become one */
            i += (size_t)n;
            continue;
        }
        size_t need = (cp < 0x80 ? 1 : (size_t)n) + (pending_space ? 1 : 0);
        if (o + need > cap)
            return -ELIG_ETOOLONG;
        if (pending_space)
            out[o++] = ' ';
        pending_space = false;
        if (cp < 0x80) {
            out[o++] = (char)cp;
        } else {
            for (int k = 0; k < n; k++)
                out[o++] = (char)u[i + k];
        }
        i += (size_t)n;
    }
    *out_len = o; /* a trailing run of spaces is never written */
    return 0;
}

int elig_text_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
    if (!s || *s < '0' || *s > '9')
        return -EINVAL;
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (errno || *end || v < min || v > max)
        return -EINVAL;
    *out = v;
    return 0;
}
