/* SPDX-License-Identifier: MIT */
/*
 * test_key: insurer-number check digits and key normalisation: full-width
 * input, spaces, empty symbol, branch padding, limits, and the canonical byte
 * form's round trip.
 */
#include <errno.h>
#include <string.h>

#include "elig_error.h"
#include "elig_text.h"
#include "test_support.h"

static void test_luhn(void **state)
{
    (void)state;
    assert_int_equal(elig_luhn_check_digit("3312001"), 5); /* the worked example */
    assert_int_equal(elig_luhn_check_digit("0113001"), 2); /* 01130012 */
    assert_int_equal(elig_luhn_check_digit("0013805"), 7); /* NHI 138057, padded */
    assert_int_equal(elig_luhn_check_digit("0000000"), 0);
    /* a two-digit product counts as its digit sum: 9*2 = 18 -> 9 */
    assert_int_equal(elig_luhn_check_digit("0000009"), 1);
}

static int norm(const char *s, char out[ELIG_INSURER_LEN])
{
    return elig_insurer_normalize(s, strlen(s), out);
}

static void test_insurer_numbers(void **state)
{
    (void)state;
    char out[ELIG_INSURER_LEN];
    assert_int_equal(norm("33120015", out), 0);
    assert_memory_equal(out, "33120015", 8);
    assert_int_equal(norm("138057", out), 0); /* 6-digit NHI is padded */
    assert_memory_equal(out, "00138057", 8);
    assert_int_equal(norm("00138057", out), 0);
    assert_int_equal(norm("３３１２００１５", out), 0); /* full-width digits */
    assert_memory_equal(out, "33120015", 8);
    assert_int_equal(norm(" 3312 0015\xe3\x80\x80", out), 0); /* spaces, ideographic space */
    assert_int_equal(norm("33120016", out), -ELIG_ECHECKDIGIT);
    assert_int_equal(norm("138058", out), -ELIG_ECHECKDIGIT);
    assert_int_equal(norm("12120011", out), -ELIG_ELAWCODE); /* 12 is public expense */
    assert_int_equal(norm("01480010", out), -ELIG_EPREFECTURE);
    assert_int_equal(norm("01000016", out), -ELIG_EPREFECTURE);
    assert_int_equal(norm("3312001", out), -ELIG_ESYNTAX);
    assert_int_equal(norm("331200155", out), -ELIG_ESYNTAX);
    assert_int_equal(norm("3312001X", out), -ELIG_ESYNTAX);
    assert_int_equal(norm("", out), -ELIG_ESYNTAX);
    assert_int_equal(norm("33120015333333333333333", out), -ELIG_ESYNTAX);
    assert_int_equal(norm("3312\xff"
                          "0015",
                          out),
                     -ELIG_EUTF8);
    assert_int_equal(elig_insurance_kind("33120015"), ELIG_KIND_MUTUAL_AID);
    assert_int_equal(elig_insurance_kind("00138057"), ELIG_KIND_NHI);
    assert_int_equal(elig_insurance_kind("39130018"), ELIG_KIND_LATE_ELDERLY);
    assert_int_equal(elig_insurance_kind("01130012"), ELIG_KIND_KYOKAI);
    assert_string_equal(elig_insurance_kind_name(ELIG_KIND_LATE_ELDERLY), "late-stage-elderly");
}

static int key(const char *i, const char *s, const char *n, const char *b, struct elig_key *k,
               enum elig_key_field *f)
{
    return elig_key_normalize(i, strlen(i), s, strlen(s), n, strlen(n), b, strlen(b), k, f);
}

static void test_key_normalisation(void **state)
{
    (void)state;
    struct elig_key a, b;
    enum elig_key_field f;
    assert_int_equal(key("01130012", "ABC 12", "345", "1", &a, &f), 0);
    assert_int_equal(key("０１１３００１２", "　ＡＢＣ　　１２ ", "３ ４ ５", "01", &b, &f), 0);
    assert_true(elig_key_equal(&a, &b));
    assert_memory_equal(a.branch, "01", 2);
    assert_int_equal(a.symbol_len, 6);
    assert_memory_equal(a.symbol, "ABC 12", 6);
    assert_memory_equal(a.number, "345", 3);

    /* empty symbol and absent branch */
    assert_int_equal(key("138057", "", "900", "", &a, &f), 0);
    assert_int_equal(a.symbol_len, 0);
    assert_memory_equal(a.branch, "00", 2);
    assert_memory_equal(a.insurer, "00138057", 8);

    /* kanji symbols are kept as they are */
    assert_int_equal(key("138057", "東京", "900", "", &a, &f), 0);
    assert_int_equal(a.symbol_len, 6);

    static const struct {
        const char *i, *s, *n, *b;
        int rc;
        enum elig_key_field field;
    } bad[] = {
        { "01130013", "", "1", "", -ELIG_ECHECKDIGIT, ELIG_KEY_INSURER },
        { "01130012", "", "", "", -ELIG_EEMPTY, ELIG_KEY_NUMBER },
        { "01130012", "", "   ", "", -ELIG_EEMPTY, ELIG_KEY_NUMBER },
        { "01130012", "", "123456789012345678901", "", -ELIG_ETOOLONG, ELIG_KEY_NUMBER },
        { "01130012", "", "番号", "", -ELIG_ESYNTAX, ELIG_KEY_NUMBER },
        { "01130012", "123456789012345678901234567890123456789", "1", "", -ELIG_ETOOLONG,
          ELIG_KEY_SYMBOL },
        { "01130012", "東京東京東京東京東京東京東", "1", "", -ELIG_ETOOLONG, ELIG_KEY_SYMBOL },
        { "01130012", "A\tB", "1", "", -ELIG_ECONTROL, ELIG_KEY_SYMBOL },
        { "01130012", "\xc0\xaf", "1", "", -ELIG_EUTF8, ELIG_KEY_SYMBOL },
        { "01130012", "", "1", "123", -ELIG_ESYNTAX, ELIG_KEY_BRANCH },
        { "01130012", "", "1", "0a", -ELIG_ESYNTAX, ELIG_KEY_BRANCH },
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        f = (enum elig_key_field) - 1;
        assert_int_equal(key(bad[i].i, bad[i].s, bad[i].n, bad[i].b, &a, &f), bad[i].rc);
        assert_int_equal(f, bad[i].field);
    }
    /* 20 numbers with spaces in between still fit: spaces are not characters of the number */
    assert_int_equal(key("01130012", "", "1234567890 1234567890", "", &a, &f), 0);
    assert_int_equal(a.number_len, 20);
    /* a 38-byte symbol is the limit */
    assert_int_equal(key("01130012", "12345678901234567890123456789012345678", "1", "", &a, &f), 0);
}

static void test_canonical_bytes(void **state)
{
    (void)state;
    struct elig_key a = test_key("01130012", "記号 X", "12345", "2"), b;
    uint8_t buf[ELIG_KEY_BYTES_MAX];
    size_t n = elig_key_encode(&a, buf);
    assert_int_equal(n, 8 + 2 + 1 + 8 + 1 + 5);
    assert_memory_equal(buf, "0113001202", 10);
    assert_int_equal(elig_key_decode(buf, n, &b), 0);
    assert_true(elig_key_equal(&a, &b));
    assert_int_equal(elig_key_decode(buf, n - 1, &b), -ELIG_ESYNTAX);
    assert_int_equal(elig_key_decode(buf, n + 1, &b), -ELIG_ESYNTAX);
    assert_int_equal(elig_key_decode(buf, 5, &b), -ELIG_ESYNTAX);
    buf[10] = 200; /* symbol length past the limit */
    assert_int_equal(elig_key_decode(buf, n, &b), -ELIG_ESYNTAX);
}

static void test_utf8(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int rc;
    } rows[] = {
        { "ヤマダ", 0 },
        { "\xf0\x9f\x98\x80", 0 },           /* 4-byte sequence */
        { "\xf0\xa0\xae\x9f", 0 },           /* CJK extension B (outside JIS X 0208) */
        { "\xc0\x80", -ELIG_EUTF8 },         /* overlong NUL */
        { "\xe0\x80\xaf", -ELIG_EUTF8 },     /* overlong */
        { "\xed\xa0\x80", -ELIG_EUTF8 },     /* surrogate */
        { "\xf4\x90\x80\x80", -ELIG_EUTF8 }, /* above U+10FFFF */
        { "\xe3\x81", -ELIG_EUTF8 },         /* truncated */
        { "\x80", -ELIG_EUTF8 },             /* lone continuation */
        { "a\x7f", -ELIG_ECONTROL },
        { "a\r", -ELIG_ECONTROL },
        { "\xc2\x85", -ELIG_ECONTROL }, /* C1 NEL */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(elig_utf8_check(rows[i].s, strlen(rows[i].s)), rows[i].rc);
    assert_int_equal(elig_utf8_check("a\0b", 3), -ELIG_ECONTROL);
}

/* The one number parser of every program's options: the whole string, in range, nothing else. */
static void test_text_uint(void **state)
{
    (void)state;
    uint64_t v = 7;
    assert_int_equal(elig_text_uint("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(elig_text_uint("0", 0, 0, &v), 0);
    assert_int_equal(v, 0);
    assert_int_equal(elig_text_uint("18446744073709551615", 0, UINT64_MAX, &v), 0);
    assert_true(v == UINT64_MAX);
    const char *bad[] = { "",    "-1", "+1", " 1", "1 ", "1x", "0x10", "18446744073709551616",
                          "101", "0" };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(elig_text_uint(bad[i], 1, 100, &v), -EINVAL);
    assert_int_equal(elig_text_uint(NULL, 0, 1, &v), -EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_text_uint),       cmocka_unit_test(test_luhn),
        cmocka_unit_test(test_insurer_numbers), cmocka_unit_test(test_key_normalisation),
        cmocka_unit_test(test_canonical_bytes), cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests_name("key", tests, NULL, NULL);
}
