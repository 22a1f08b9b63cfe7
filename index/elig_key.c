/* SPDX-License-Identifier: MIT */
/*
 * elig_key: key normalisation, insurer-number validation, canonical bytes.
 *
 * Design: every key part goes through elig_text_fold() (full-width to ASCII,
 * spaces trimmed and collapsed) into a fixed-size, zero-padded struct. That
 * struct is the canonical form: equality is memcmp, and elig_key_encode()
 * gives the variable-length byte string that the index hashes and stores.
 * Validation happens once here, at the edge, so the index and the rules can
 * assume well-formed keys. Error codes name the part at fault, never its
 * value (keys are personal data).
 */
#include <string.h>

#include "elig_error.h"
#include "elig_key.h"
#include "elig_text.h"

/* Law codes of insurers (health-insurance 法別番号); public-expense codes are not insurers. */
static enum elig_insurance_kind kind_of_law_code(int law)
{
    switch (law) {
    case 0:
        return ELIG_KIND_NHI; /* a 6-digit NHI number padded with "00" */
    case 1:
        return ELIG_KIND_KYOKAI;
    case 2:
        return ELIG_KIND_SEAMEN;
    case 3:
    case 4:
        return ELIG_KIND_DAY_LABOURER;
    case 6:
        return ELIG_KIND_SOCIETY;
    case 7:
        return ELIG_KIND_SDF;
    case 31:
    case 32:
    case 33:
    case 34:
        return ELIG_KIND_MUTUAL_AID;
    case 39:
        return ELIG_KIND_LATE_ELDERLY;
    case 63:
    case 72:
    case 73:
    case 74:
    case 75:
        return ELIG_KIND_SPECIAL_RETIREE;
    case 67:
        return ELIG_KIND_NHI_RETIREE;
    default:
        return ELIG_KIND_UNKNOWN;
    }
}

/* digit sum of 2 * d, for the digits weighted 2 */
static const uint8_t luhn_doubled[10] = { 0, 2, 4, 6, 8, 1, 3, 5, 7, 9 };

int elig_luhn_check_digit(const char *digits7)
{
    int sum = luhn_doubled[digits7[6] - '0'] + (digits7[5] - '0') + luhn_doubled[digits7[4] - '0'] +
              (digits7[3] - '0') + luhn_doubled[digits7[2] - '0'] + (digits7[1] - '0') +
              luhn_doubled[digits7[0] - '0'];
    return (10 - sum % 10) % 10;
}

void elig_insurer_from_value(uint32_t first7, char out[ELIG_INSURER_LEN])
{
    unsigned sum = 0;
    for (int i = ELIG_INSURER_LEN - 2; i >= 0; i--, first7 /= 10) {
        unsigned d = first7 % 10;
        out[i] = (char)('0' + d);
        sum += (i & 1) ? d : luhn_doubled[d]; /* weights 2,1,2,...,2 from the left */
    }
    out[ELIG_INSURER_LEN - 1] = (char)('0' + (10 - sum % 10) % 10);
}

/* Fold, then drop every remaining space (numbers are typed with spacing). */
static int fold_compact(const char *in, size_t len, char *out, size_t cap, size_t *out_len)
{
    int rc = elig_text_fold(in, len, out, cap, out_len);
    if (rc)
        return rc;
    size_t o = 0;
    for (size_t i = 0; i < *out_len; i++)
        if (out[i] != ' ')
            out[o++] = out[i];
    *out_len = o;
    return 0;
}

static bool all_digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

int elig_insurer_normalize(const char *s, size_t len, char out[ELIG_INSURER_LEN])
{
    /* Room for a few extra characters so that "too long" reads as a syntax error. */
    char buf[ELIG_INSURER_LEN + 8];
    size_t n;
    int rc = fold_compact(s, len, buf, sizeof(buf), &n);
    if (rc == -ELIG_ETOOLONG)
        return -ELIG_ESYNTAX;
    if (rc)
        return rc;
    if ((n != 6 && n != 8) || !all_digits(buf, n))
        return -ELIG_ESYNTAX;
    char d[ELIG_INSURER_LEN];
    if (n == 6) {
        d[0] = d[1] = '0';
        memcpy(d + 2, buf, 6);
    } else {
        memcpy(d, buf, 8);
    }
    int law = (d[0] - '0') * 10 + (d[1] - '0');
    int pref = (d[2] - '0') * 10 + (d[3] - '0');
    if (kind_of_law_code(law) == ELIG_KIND_UNKNOWN)
        return -ELIG_ELAWCODE;
    if (pref < 1 || pref > 47)
        return -ELIG_EPREFECTURE;
    if (elig_luhn_check_digit(d) != d[7] - '0')
        return -ELIG_ECHECKDIGIT;
    memcpy(out, d, ELIG_INSURER_LEN);
    return 0;
}

static int normalize_symbol(const char *s, size_t len, struct elig_key *k)
{
    size_t n;
    int rc = elig_text_fold(s, len, k->symbol, ELIG_SYMBOL_MAX, &n);
    if (rc)
        return rc;
    k->symbol_len = (uint8_t)n;
    return 0;
}

static int normalize_number(const char *s, size_t len, struct elig_key *k)
{
    /* Fold into a larger buffer first: spaces removed afterwards may bring it under the limit. */
    char buf[ELIG_NUMBER_MAX * 4];
    size_t n;
    int rc = fold_compact(s, len, buf, sizeof(buf), &n);
    if (rc)
        return rc;
    if (n == 0)
        return -ELIG_EEMPTY;
    if (n > ELIG_NUMBER_MAX)
        return -ELIG_ETOOLONG;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)buf[i] < 0x21 || (unsigned char)buf[i] > 0x7E)
            return -ELIG_ESYNTAX;
    memcpy(k->number, buf, n);
    k->number_len = (uint8_t)n;
    return 0;
}

static int normalize_branch(const char *s, size_t len, struct elig_key *k)
{
    char buf[ELIG_BRANCH_LEN + 8];
    size_t n;
    int rc = fold_compact(s, len, buf, sizeof(buf), &n);
    if (rc == -ELIG_ETOOLONG || (rc == 0 && n > ELIG_BRANCH_LEN))
        return -ELIG_ESYNTAX;
    if (rc)
        return rc;
    if (!all_digits(buf, n))
        return -ELIG_ESYNTAX;
    k->branch[0] = n == 2 ? buf[0] : '0';
    k->branch[1] = n >= 1 ? buf[n - 1] : '0';
    return 0;
}

int elig_key_normalize(const char *insurer, size_t insurer_len, const char *symbol,
                       size_t symbol_len, const char *number, size_t number_len, const char *branch,
                       size_t branch_len, struct elig_key *out, enum elig_key_field *bad_field)
{
    struct elig_key k;
    memset(&k, 0, sizeof(k));
    enum elig_key_field f = ELIG_KEY_INSURER;
    int rc = elig_insurer_normalize(insurer, insurer_len, k.insurer);
    if (rc == 0) {
        f = ELIG_KEY_SYMBOL;
        rc = normalize_symbol(symbol, symbol_len, &k);
    }
    if (rc == 0) {
        f = ELIG_KEY_NUMBER;
        rc = normalize_number(number, number_len, &k);
    }
    if (rc == 0) {
        f = ELIG_KEY_BRANCH;
        rc = normalize_branch(branch, branch_len, &k);
    }
    if (rc) {
        if (bad_field)
            *bad_field = f;
        return rc;
    }
    *out = k;
    return 0;
}

size_t elig_key_encode(const struct elig_key *key, uint8_t buf[ELIG_KEY_BYTES_MAX])
{
    size_t o = 0;
    memcpy(buf + o, key->insurer, ELIG_INSURER_LEN);
    o += ELIG_INSURER_LEN;
    memcpy(buf + o, key->branch, ELIG_BRANCH_LEN);
    o += ELIG_BRANCH_LEN;
    buf[o++] = key->symbol_len;
    memcpy(buf + o, key->symbol, key->symbol_len);
    o += key->symbol_len;
    buf[o++] = key->number_len;
    memcpy(buf + o, key->number, key->number_len);
    o += key->number_len;
    return o;
}

int elig_key_decode(const uint8_t *buf, size_t len, struct elig_key *key)
{
    memset(key, 0, sizeof(*key));
    size_t o = ELIG_INSURER_LEN + ELIG_BRANCH_LEN;
    if (len < o + 2)
        return -ELIG_ESYNTAX;
    memcpy(key->insurer, buf, ELIG_INSURER_LEN);
    memcpy(key->branch, buf + ELIG_INSURER_LEN, ELIG_BRANCH_LEN);
    size_t sl = buf[o++];
    if (sl > ELIG_SYMBOL_MAX || o + sl + 1 > len)
        return -ELIG_ESYNTAX;
    memcpy(key->symbol, buf + o, sl);
    o += sl;
    size_t nl = buf[o++];
    if (nl == 0 || nl > ELIG_NUMBER_MAX || o + nl != len)
        return -ELIG_ESYNTAX;
    memcpy(key->number, buf + o, nl);
    key->symbol_len = (uint8_t)sl;
    key->number_len = (uint8_t)nl;
    return 0;
}

bool elig_key_equal(const struct elig_key *a, const struct elig_key *b)
{
    return memcmp(a, b, sizeof(*a)) == 0;
}

enum elig_insurance_kind elig_insurance_kind(const char insurer[ELIG_INSURER_LEN])
{
    return kind_of_law_code((insurer[0] - '0') * 10 + (insurer[1] - '0'));
}

const char *elig_insurance_kind_name(enum elig_insurance_kind kind)
{
    switch (kind) {
    case ELIG_KIND_NHI:
        return "national-health-insurance";
    case ELIG_KIND_KYOKAI:
        return "kyokai-kenpo";
    case ELIG_KIND_SEAMEN:
        return "seamen";
    case ELIG_KIND_DAY_LABOURER:
        return "day-labourer";
    case ELIG_KIND_SOCIETY:
        return "society-managed";
    case ELIG_KIND_SDF:
        return "self-defense-forces";
    case ELIG_KIND_MUTUAL_AID:
        return "mutual-aid";
    case ELIG_KIND_LATE_ELDERLY:
        return "late-stage-elderly";
    case ELIG_KIND_SPECIAL_RETIREE:
        return "special-retiree";
    case ELIG_KIND_NHI_RETIREE:
        return "nhi-retiree";
    case ELIG_KIND_UNKNOWN:
        break;
    }
    return "unknown";
}

const char *elig_key_field_name(enum elig_key_field field)
{
    switch (field) {
    case ELIG_KEY_INSURER:
        return "insurer";
    case ELIG_KEY_SYMBOL:
        return "symbol";
    case ELIG_KEY_NUMBER:
        return "number";
    case ELIG_KEY_BRANCH:
        return "branch";
    }
    return "key";
}
