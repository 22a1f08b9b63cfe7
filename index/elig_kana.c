/* SPDX-License-Identifier: MIT */
/*
 * elig_kana: folding a kana name to the form a person lookup compares.
 *
 * Design: one pass over the code points; each is mapped by ranges (hiragana
 * to katakana is a fixed offset), by a table for half-width katakana (U+FF61
 * to U+FF9F follow JIS X 0201's order, not the full-width one), and a sound
 * mark (combining, spacing or half-width) is joined to the kana just written
 * when that kana has a voiced or semi-voiced form (カ -> ガ, ハ -> パ, ウ ->
 * ヴ); otherwise it is dropped. Small kana become large after the sound marks
 * are joined, so ｧ and ぁ meet ア.
 */
#include <stdbool.h>
#include <stdint.h>

#include "elig_error.h"
#include "elig_kana.h"

/* U+FF66 .. U+FF9D: ｦ ｧ ｨ ｩ ｪ ｫ ｬ ｭ ｮ ｯ ｰ ｱ .. ﾝ, as full-width (ｰ: the long mark, dropped) */
static const uint16_t halfwidth[] = {
    0x30f2, 0x30a1, 0x30a3, 0x30a5, 0x30a7, 0x30a9, 0x30e3, 0x30e5, 0x30e7, 0x30c3, 0x30fc, 0x30a2,
    0x30a4, 0x30a6, 0x30a8, 0x30aa, 0x30ab, 0x30ad, 0x30af, 0x30b1, 0x30b3, 0x30b5, 0x30b7, 0x30b9,
    0x30bb, 0x30bd, 0x30bf, 0x30c1, 0x30c4, 0x30c6, 0x30c8, 0x30ca, 0x30cb, 0x30cc, 0x30cd, 0x30ce,
    0x30cf, 0x30d2, 0x30d5, 0x30d8, 0x30db, 0x30de, 0x30df, 0x30e0, 0x30e1, 0x30e2, 0x30e4, 0x30e6,
    0x30e8, 0x30e9, 0x30ea, 0x30eb, 0x30ec, 0x30ed, 0x30ef, 0x30f3,
};

static int decode(const unsigned char *s, size_t len, size_t i, uint32_t *cp)
{
    unsigned char c = s[i];
    int n = c < 0x80             ? 1
            : (c & 0xe0) == 0xc0 ? 2
            : (c & 0xf0) == 0xe0 ? 3
            : (c & 0xf8) == 0xf0 ? 4
                                 : 0;
    if (n == 0 || i + (size_t)n > len)
        return -ELIG_EUTF8;
    uint32_t v = n == 1 ? c : n == 2 ? c & 0x1f : n == 3 ? c & 0x0f : c & 0x07;
    for (int k = 1; k < n; k++) {
        if ((s[i + (size_t)k] & 0xc0) != 0x80)
            return -ELIG_EUTF8;
        v = (v << 6) | (s[i + (size_t)k] & 0x3f);
    }
    *cp = v;
    return n;
}

static bool dropped(uint32_t c)
{
    return c == 0x20 || c == 0x3000 || c == 0x30fb || c == 0xff65 || c == 0x30fc || c == 0xff70 ||
           c == 0xff5e || c == 0x301c || c == 0x2d || c == 0x2010 || c == 0x2212;
}

/* The voiced (mark 1) or semi-voiced (mark 2) form of katakana c, or 0. */
static uint32_t sounded(uint32_t c, int mark)
{
    if (mark == 1) {
        if ((c >= 0x30ab && c <= 0x30c2 && (c - 0x30ab) % 2 == 0) || /* カ .. ヂ */
            (c >= 0x30c4 && c <= 0x30c8 && (c - 0x30c4) % 2 == 0))   /* ツ テ ト */
            return c + 1;
        if (c >= 0x30cf && c <= 0x30dd && (c - 0x30cf) % 3 == 0) /* ハ ヒ フ ヘ ホ */
            return c + 1;
        if (c == 0x30a6) /* ウ */
            return 0x30f4;
        return 0;
    }
    if (c >= 0x30cf && c <= 0x30dd && (c - 0x30cf) % 3 == 0)
        return c + 2;
    return 0;
}

static uint32_t large(uint32_t c)
{
    switch (c) {
    case 0x30a1:
    case 0x30a3:
    case 0x30a5:
    case 0x30a7:
    case 0x30a9: /* ァ ィ ゥ ェ ォ */
    case 0x30c3: /* ッ */
    case 0x30e3:
    case 0x30e5:
    case 0x30e7: /* ャ ュ ョ */
    case 0x30ee: /* ヮ */
        return c + 1;
    case 0x30f5: /* ヵ */
        return 0x30ab;
    case 0x30f6: /* ヶ */
        return 0x30b1;
    default:
        return c;
    }
}

static int put(uint32_t c, char *out, size_t cap, size_t *at)
{
    char b[4];
    int n = c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    if (n == 1) {
        b[0] = (char)c;
    } else {
        for (int k = n - 1; k > 0; k--) {
            b[k] = (char)(0x80 | (c & 0x3f));
            c >>= 6;
        }
        b[0] = (char)((n == 2 ? 0xc0 : n == 3 ? 0xe0 : 0xf0) | c);
    }
    if (*at + (size_t)n + 1 > cap)
        return -ELIG_ETOOLONG;
    for (int k = 0; k < n; k++)
        out[(*at)++] = b[k];
    return 0;
}

int elig_kana_fold(const char *s, size_t len, char *out, size_t cap, size_t *out_len)
{
    const unsigned char *u = (const unsigned char *)s;
    uint32_t pending = 0; /* the last kana, not yet written: a sound mark may join it */
    size_t at = 0;
    int rc = 0;
    for (size_t i = 0; i < len && rc == 0;) {
        uint32_t c;
        int n = decode(u, len, i, &c);
        if (n < 0)
            return n;
        i += (size_t)n;
        int mark = c == 0x3099 || c == 0x309b || c == 0xff9e   ? 1
                   : c == 0x309a || c == 0x309c || c == 0xff9f ? 2
                                                               : 0;
        if (mark) {
            uint32_t v = pending ? sounded(pending, mark) : 0;
            if (v)
                pending = v;
            continue; /* joined, or a mark with nothing to join: dropped */
        }
        if (dropped(c))
            continue;
        if (c >= 0x3041 && c <= 0x3096) /* hiragana */
            c += 0x60;
        else if (c >= 0xff66 && c <= 0xff9d)
            c = halfwidth[c - 0xff66];
        if (pending)
            rc = put(large(pending), out, cap, &at);
        pending = c;
    }
    if (rc == 0 && pending)
        rc = put(large(pending), out, cap, &at);
    if (rc)
        return rc;
    out[at] = '\0';
    *out_len = at;
    return 0;
}
