/* SPDX-License-Identifier: MIT */
/*
 * test_disaster: the disaster-mode declaration: written and read back,
 * which facilities and times it covers, a damaged file refused (never read
 * as a wider declaration), a missing one "off"; and LOOKUP_PERSON's body.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elig_disaster.h"
#include "elig_net_error.h"
#include "elig_proto.h"
#include "test_support.h"

static void test_declaration(void **state)
{
    (void)state;
    char dir[256], path[300];
    test_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/disaster", dir);
    struct elig_disaster d;
    assert_int_equal(elig_disaster_read(path, &d), 0); /* none: off */
    assert_false(elig_disaster_covers(&d, "1310000001", time(NULL)));
    uint64_t mask;
    assert_int_equal(elig_disaster_prefectures("13,14", &mask), 0);
    assert_int_equal(mask, (1ull << 13) | (1ull << 14));
    assert_int_equal(elig_disaster_prefectures("13,48", &mask), -EINVAL);
    assert_int_equal(elig_disaster_prefectures("", &mask), -EINVAL);
    assert_int_equal(elig_disaster_prefectures("13,", &mask), 0);
    assert_int_equal(elig_disaster_prefectures("x", &mask), -EINVAL);
    struct elig_disaster w = { .prefectures = (1ull << 13) | (1ull << 47),
                               .from = 1000,
                               .until = 2000 };
    assert_int_equal(elig_disaster_write(path, &w), 0);
    assert_int_equal(elig_disaster_read(path, &d), 0);
    assert_int_equal(d.prefectures, w.prefectures);
    assert_int_equal(d.from, 1000);
    assert_int_equal(d.until, 2000);
    assert_true(elig_disaster_covers(&d, "1310000001", 1500));
    assert_true(elig_disaster_covers(&d, "4740000001", 1000));
    assert_false(elig_disaster_covers(&d, "1410000001", 1500)); /* another prefecture */
    assert_false(elig_disaster_covers(&d, "1310000001", 999));  /* before it */
    assert_false(elig_disaster_covers(&d, "1310000001", 2000)); /* over */
    /* damage: a digit of the prefectures (13 -> 14), then the checksum itself */
    FILE *f = fopen(path, "r");
    char buf[512];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    char *p = strstr(buf, "prefectures=13");
    assert_non_null(p);
    test_poke(path, (uint64_t)(p - buf) + strlen("prefectures=1"), "4", 1);
    assert_int_equal(elig_disaster_read(path, &d), -ELIG_EDISASTER);
    assert_int_equal(d.prefectures, 0); /* nothing declared from a damaged file */
    assert_int_equal(elig_disaster_write(path, &w), 0);
    test_poke(path, n - 2, "z", 1);
    assert_int_equal(elig_disaster_read(path, &d), -ELIG_EDISASTER);
    assert_int_equal(test_rm_tree(dir), 0);
}

static void test_person_body(void **state)
{
    (void)state;
    struct elig_proto_person q = { .facility = "1310000001",
                                   .flags = ELIG_PROTO_CONSENT,
                                   .reason = ELIG_REASON_LOST,
                                   .date = 20250210,
                                   .birth = 19800510,
                                   .sex = 1,
                                   .prefecture = 13,
                                   .family_kana = "ヤマダ",
                                   .family_len = 9,
                                   .given_kana = "タロウ",
                                   .given_len = 9 };
    struct elig_pbuf b = { 0 };
    assert_int_equal(elig_proto_person_encode(&b, &q), 0);
    assert_int_equal(b.len, ELIG_PROTO_PERSON_HEAD + 10 + 10);
    struct elig_proto_person back;
    assert_int_equal(elig_proto_person_decode(b.data, b.len, &back), 0);
    assert_int_equal(back.reason, ELIG_REASON_LOST);
    assert_int_equal(back.birth, 19800510);
    assert_int_equal(back.prefecture, 13);
    assert_memory_equal(back.family_kana, "ヤマダ", 9);
    /* out of their sets: reason, sex, prefecture, flags; no family name; trailing bytes */
    const struct {
        size_t at;
        uint8_t v;
    } bad[] = { { 11, 0 }, { 11, 4 }, { 20, 3 }, { 21, 48 }, { 10, 2 }, { 22, 0 } };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        uint8_t copy[64];
        memcpy(copy, b.data, b.len);
        copy[bad[i].at] = bad[i].v;
        size_t len = b.len;
        if (bad[i].at == 22) { /* an empty family name: its string of length 0, the rest moved */
            memmove(copy + 23, copy + 32, b.len - 32);
            len = b.len - 9;
        }
        assert_int_equal(elig_proto_person_decode(copy, len, &back), -ELIG_EPROTO);
    }
    assert_int_equal(elig_proto_person_decode(b.data, b.len - 1, &back), -ELIG_EPROTO);
    uint8_t longer[64];
    memcpy(longer, b.data, b.len);
    longer[b.len] = 0;
    assert_int_equal(elig_proto_person_decode(longer, b.len + 1, &back), -ELIG_EPROTO);
    elig_pbuf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declaration),
        cmocka_unit_test(test_person_body),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
