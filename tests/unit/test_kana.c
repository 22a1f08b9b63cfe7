/* SPDX-License-Identifier: MIT */
/*
 * test_kana: the fold a person lookup compares: the ways a desk may type a
 * name meet the way an insurer registered it; names that differ stay apart.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "elig_error.h"
#include "elig_index.h"
#include "elig_kana.h"
#include "test_support.h"

static void fold(const char *s, char *out)
{
    size_t n;
    assert_int_equal(elig_kana_fold(s, strlen(s), out, 128, &n), 0);
    assert_int_equal(strlen(out), n);
}

static void test_same(void **state)
{
    (void)state;
    static const char *const rows[][2] = {
        { "ヤマダ　タロウ", "ヤマダタロウ" },
        { "やまだ たろう", "ヤマダタロウ" },
        { "ﾔﾏﾀﾞ ﾀﾛｳ", "ヤマダタロウ" },
        { "ヤマダ・タロウ", "ヤマダタロウ" },
        { "ｻﾄｳ", "サトウ" },
        { "ﾊﾟﾊﾞ", "パバ" },
        { "ｳﾞｨｸﾄﾙ", "ヴイクトル" },
        { "ヴィクトル", "ヴイクトル" },
        { "カ\xe3\x82\x99", "ガ" }, /* combining voiced mark */
        { "キョウコ", "キヨウコ" },
        { "きょうこ", "キヨウコ" },
        { "ｷｮｳｺ", "キヨウコ" },
        { "ハットリ", "ハツトリ" },
        { "ユーコ", "ユコ" },
        { "ﾕｰｺ", "ユコ" },
        { "ヵヶヮ", "カケワ" },
        { "ﾞガ", "ガ" }, /* a mark with nothing before it: dropped */
        { "ABC", "ABC" },
        { "", "" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        char out[128];
        fold(rows[i][0], out);
        printf("%s -> %s\n", rows[i][0], out);
        assert_string_equal(out, rows[i][1]);
    }
    /* names that differ stay apart: voiced or not, another kana */
    char a[128], b[128];
    fold("カトウ", a);
    fold("ガトウ", b);
    assert_string_not_equal(a, b);
    fold("ハラ", a);
    fold("パラ", b);
    assert_string_not_equal(a, b);
}

static void test_refusals(void **state)
{
    (void)state;
    char out[8];
    size_t n;
    assert_int_equal(elig_kana_fold("\xe3\x82", 2, out, sizeof out, &n), -ELIG_EUTF8);
    assert_int_equal(elig_kana_fold("ヤマダタロウ", strlen("ヤマダタロウ"), out, sizeof out, &n),
                     -ELIG_ETOOLONG);
}

/* The index's lookup by person finds records by folded kana, birth date and sex. */
static void test_index_by_name(void **state)
{
    (void)state;
    char dir[256], path[300];
    test_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/seg", dir);
    struct elig_index *ix = test_index_create(path, 2000);
    uint32_t refs[64];
    size_t n;
    /* person 1: ヤマダ タロウ, male, 1980-01-01; 2: the same born a day later; 3: the same,
     * female; 4..43: forty namesakes of one birth date (a common name) */
    for (unsigned i = 1; i <= 43; i++) {
        char num[16];
        snprintf(num, sizeof num, "%u", i);
        struct elig_key k = test_key("01130012", "1", num, "00");
        struct elig_record r =
            test_record(&k, i, i == 2 ? "1980-01-02" : "1980-01-01", "2020-01-01", NULL, NULL);
        if (i == 3)
            r.sex = ELIG_SEX_FEMALE;
        if (i >= 4)
            strcpy(r.given_kana, "ハナコ");
        uint32_t ref;
        assert_int_equal(elig_index_insert(ix, &r, &ref), 0);
    }
    elig_date_t born = test_date("1980-01-01");
    assert_int_equal(elig_index_find_by_name(ix, "やまだ", "ﾀﾛｳ", born, ELIG_SEX_MALE, refs, 8, &n),
                     0);
    assert_int_equal(n, 1);
    struct elig_record got;
    assert_int_equal(elig_index_read(ix, refs[0], &got), 0);
    assert_int_equal(got.person_id, 1);
    assert_int_equal(
        elig_index_find_by_name(ix, "ヤマダ", "タロウ", born, ELIG_SEX_FEMALE, refs, 8, &n), 0);
    assert_int_equal(n, 1); /* person 3 */
    assert_int_equal(
        elig_index_find_by_name(ix, "ヤマダ", "タロ", born, ELIG_SEX_MALE, refs, 8, &n), 0);
    assert_int_equal(n, 0); /* another name */
    /* forty namesakes: more than the room given, then all of them */
    assert_int_equal(
        elig_index_find_by_name(ix, "ヤマダ", "ハナコ", born, ELIG_SEX_MALE, refs, 3, &n),
        -ENOBUFS);
    assert_int_equal(
        elig_index_find_by_name(ix, "ヤマダ", "ハナコ", born, ELIG_SEX_MALE, refs, 64, &n), 0);
    assert_int_equal(n, 40);
    /* a change of name moves the record; a deletion takes it out */
    assert_int_equal(
        elig_index_find_by_name(ix, "ヤマダ", "タロウ", born, ELIG_SEX_MALE, refs, 8, &n), 0);
    uint32_t ref = refs[0];
    assert_int_equal(elig_index_read(ix, ref, &got), 0);
    strcpy(got.family_kana, "スズキ");
    assert_int_equal(elig_index_replace(ix, ref, &got), 0);
    assert_int_equal(
        elig_index_find_by_name(ix, "ヤマダ", "タロウ", born, ELIG_SEX_MALE, refs, 8, &n), 0);
    assert_int_equal(n, 0);
    assert_int_equal(
        elig_index_find_by_name(ix, "すずき", "たろう", born, ELIG_SEX_MALE, refs, 8, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(refs[0], ref);
    assert_int_equal(elig_index_delete(ix, ref), 0);
    assert_int_equal(
        elig_index_find_by_name(ix, "スズキ", "タロウ", born, ELIG_SEX_MALE, refs, 8, &n), 0);
    assert_int_equal(n, 0);
    /* a namesake deleted among forty: thirty-nine are found past the removed slot */
    assert_int_equal(
        elig_index_find_by_name(ix, "ヤマダ", "ハナコ", born, ELIG_SEX_MALE, refs, 64, &n), 0);
    assert_int_equal(elig_index_delete(ix, refs[0]), 0);
    assert_int_equal(
        elig_index_find_by_name(ix, "ヤマダ", "ハナコ", born, ELIG_SEX_MALE, refs, 64, &n), 0);
    assert_int_equal(n, 39);
    elig_index_close(ix, false);
    assert_int_equal(test_rm_tree(dir), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_index_by_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
