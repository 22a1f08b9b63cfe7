/* SPDX-License-Identifier: MIT */
/*
 * test_jis: which names a receipt system limited to JIS X 0208 can show,
 * decided through iconv: ASCII and JIS X 0208 pass; JIS X 0212 (～ U+FF5E),
 * half-width katakana (JIS X 0201), characters EUC-JP lacks (𠮷, 髙) and
 * the variants of the synthetic nation do not. Then the index's answer: a
 * record read with its names carries the flags, from every reading path and
 * from several threads at once (each judges through its own descriptor).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elig_error.h"
#include "elig_index.h"
#include "elig_jis.h"
#include "test_support.h"

static int jis(const char *s)
{
    return elig_jis_x0208(s, strlen(s));
}

static void test_membership(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        int want;
    } rows[] = {
        { "", 1 },
        { "Smith John", 1 },
        { "サトウ", 1 },
        { "さくら", 1 },
        { "ヴ", 1 }, /* in JIS X 0208 */
        { "吉田", 1 },
        { "佐々木", 1 },         /* the iteration mark */
        { "ヨシダ　ハナコ", 1 }, /* the ideographic space */
        { "〜", 1 },             /* WAVE DASH: JIS X 0208 1-33 */
        { "～", 0 },             /* FULLWIDTH TILDE: JIS X 0212 in EUC-JP */
        { "ｻﾄｳ", 0 },            /* half-width katakana: JIS X 0201 */
        { "𠮷田", 0 },           /* not in EUC-JP at all */
        { "髙橋", 0 },
        { "山﨑", 0 },
        { "德永", 0 },
        { "ゔ", 0 },
        { "田中𠮷", 0 }, /* the last character decides */
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        printf("%s\n", rows[i].s);
        assert_int_equal(jis(rows[i].s), rows[i].want);
    }
    assert_int_equal(elig_jis_x0208("\xff\xfe", 2), -ELIG_EUTF8);
    assert_int_equal(elig_jis_x0208("\xe3\x82", 2), -ELIG_EUTF8); /* cut short */
    /* longer than one conversion piece (256 bytes out): 200 kanji, then one outside */
    char long_name[800] = "";
    for (int i = 0; i < 200; i++)
        strcat(long_name, "田");
    assert_int_equal(jis(long_name), 1);
    strcat(long_name, "髙");
    assert_int_equal(jis(long_name), 0);
}

static void *judge_many(void *arg)
{
    long bad = 0;
    for (int i = 0; i < 2000; i++)
        bad += jis(i % 2 ? "髙橋" : "高橋") != (i % 2 ? 0 : 1);
    (void)arg;
    return (void *)bad;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, judge_many, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *bad;
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_int_equal((long)bad, 0);
    }
}

static void test_index_flags(void **state)
{
    (void)state;
    char dir[256], path[300];
    test_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/seg", dir);
    struct elig_index *ix = test_index_create(path, 1000);
    struct elig_key k1 = test_key("01130012", "1", "1", "00");
    struct elig_key k2 = test_key("01130012", "1", "2", "00");
    struct elig_key k3 = test_key("01130012", "1", "3", "00");
    struct elig_record r1 = test_record(&k1, 1, "1980-01-01", "2020-01-01", NULL, NULL);
    struct elig_record r2 = test_record(&k2, 2, "1980-01-01", "2020-01-01", NULL, NULL);
    struct elig_record r3 = test_record(&k3, 3, "1980-01-01", "2020-01-01", NULL, NULL);
    strcpy(r2.family_kanji, "𠮷田");
    strcpy(r2.given_kanji, "髙");
    strcpy(r3.family_kana, "ﾖｼﾀﾞ"); /* stored before the feed's kana rule: still flagged */
    uint32_t ref[3];
    assert_int_equal(elig_index_insert(ix, &r1, &ref[0]), 0);
    assert_int_equal(elig_index_insert(ix, &r2, &ref[1]), 0);
    assert_int_equal(elig_index_insert(ix, &r3, &ref[2]), 0);
    const uint8_t want[3] = { 0, ELIG_NAME_FAMILY_KANJI | ELIG_NAME_GIVEN_KANJI, ELIG_NAME_KANA };
    for (int round = 0; round < 2; round++) /* judged, then remembered */
        for (int i = 0; i < 3; i++) {
            struct elig_record out;
            assert_int_equal(elig_index_read(ix, ref[i], &out), 0);
            assert_int_equal(out.name_flags, want[i]);
            uint32_t person;
            assert_int_equal(elig_index_find_person(ix, (uint64_t)i + 1, &person), 0);
            size_t n;
            assert_int_equal(
                elig_index_person_records(ix, person, ELIG_INDEX_NAMES, &out, NULL, 1, &n), 0);
            assert_int_equal(n, 1);
            assert_int_equal(out.name_flags, want[i]);
            assert_int_equal(elig_index_person_records(ix, person, 0, &out, NULL, 1, &n), 0);
            assert_int_equal(out.name_flags, 0); /* no names read, nothing judged */
            struct elig_index_span span;
            assert_int_equal(elig_index_gather(ix, &person, 1, ELIG_INDEX_NAMES, &out, 1, &span),
                             0);
            assert_int_equal(span.status, 0);
            assert_int_equal(out.name_flags, want[i]);
        }
    elig_index_close(ix, false);
    assert_int_equal(test_rm_tree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_membership),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_index_flags),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
