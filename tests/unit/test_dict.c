/* SPDX-License-Identifier: MIT */
/*
 * test_dict: the string dictionary: interning gives dense, stable ids;
 * full dictionaries refuse cleanly; a copy of the region at another address
 * answers the same (offsets, not pointers); a reader thread running beside
 * the writer only ever sees complete strings.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elig_dict.h"
#include "elig_error.h"
#include "test_support.h"

static struct elig_dict *make(struct elig_dict_params p, void **region, uint64_t *size)
{
    *size = elig_dict_region_size(&p);
    assert_true(*size > 0);
    *region = malloc(*size);
    assert_non_null(*region);
    struct elig_dict *d = NULL;
    assert_int_equal(elig_dict_init(*region, *size, &p, &d), 0);
    return d;
}

static uint32_t intern(struct elig_dict *d, const char *s)
{
    uint32_t id = 0xFFFFFFFF;
    assert_int_equal(elig_dict_intern(d, s, strlen(s), &id), 0);
    return id;
}

static void check_string(const struct elig_dict *d, uint32_t id, const char *s)
{
    size_t len = 0;
    const char *got = elig_dict_get(d, id, &len);
    assert_non_null(got);
    assert_int_equal(len, strlen(s));
    assert_memory_equal(got, s, len);
}

static void test_intern_and_lookup(void **state)
{
    (void)state;
    void *region;
    uint64_t size;
    struct elig_dict *d = make((struct elig_dict_params){ 100, 4096 }, &region, &size);
    assert_int_equal(elig_dict_count(d), 1);
    assert_int_equal(intern(d, ""), 0);
    check_string(d, 0, "");
    uint32_t a = intern(d, "山田"), b = intern(d, "ヤマダ"), c = intern(d, "髙橋");
    assert_int_equal(a, 1);
    assert_int_equal(b, 2);
    assert_int_equal(c, 3);
    assert_int_equal(intern(d, "山田"), a); /* stable */
    assert_int_equal(elig_dict_count(d), 4);
    check_string(d, b, "ヤマダ");
    uint32_t id;
    assert_int_equal(elig_dict_find(d, "髙橋", strlen("髙橋"), &id), 0);
    assert_int_equal(id, c);
    assert_int_equal(elig_dict_find(d, "高橋", strlen("高橋"), &id), -ENOENT);
    size_t len;
    assert_null(elig_dict_get(d, 4, &len));
    assert_null(elig_dict_get(d, 0xFFFFFFFF, &len));

    /* a copy at another address answers the same: the region holds no pointers */
    void *copy = malloc(size);
    memcpy(copy, region, size);
    memset(region, 0xA5, size);
    struct elig_dict *v = NULL;
    assert_int_equal(elig_dict_attach(copy, size, &v), 0);
    check_string(v, c, "髙橋");
    assert_int_equal(elig_dict_find(v, "ヤマダ", strlen("ヤマダ"), &id), 0);
    assert_int_equal(id, b);
    assert_int_equal(elig_dict_attach(region, size, &v), -ELIG_ESEGMAGIC);
    assert_int_equal(elig_dict_attach(copy, 24, &v), -ELIG_ESEGMAGIC);
    elig_dict_detach(v);
    struct elig_dict *w = NULL;
    assert_int_equal(elig_dict_attach(copy, size / 2, &w), -ELIG_ESEGSIZE);
    elig_dict_detach(d);
    free(copy);
    free(region);
}

static void test_full_dictionary_refuses(void **state)
{
    (void)state;
    void *region;
    uint64_t size;
    struct elig_dict *d = make((struct elig_dict_params){ 3, 1000 }, &region, &size);
    intern(d, "a");
    intern(d, "b");
    uint32_t id;
    assert_int_equal(elig_dict_intern(d, "c", 1, &id), -ENOSPC);
    assert_int_equal(elig_dict_count(d), 3);
    assert_int_equal(intern(d, "a"), 1); /* present strings still answer */
    elig_dict_detach(d);
    free(region);

    d = make((struct elig_dict_params){ 10, 5 }, &region, &size);
    intern(d, "abc");
    assert_int_equal(elig_dict_intern(d, "def", 3, &id), -ENOSPC); /* heap full */
    assert_int_equal(elig_dict_find(d, "def", 3, &id), -ENOENT);
    assert_int_equal(intern(d, "de"), 2);
    char big[ELIG_DICT_STRING_MAX + 1];
    memset(big, 'x', sizeof(big));
    assert_int_equal(elig_dict_intern(d, big, sizeof(big), &id), -E2BIG);
    elig_dict_detach(d);
    free(region);

    struct elig_dict_params bad = { 0, 10 };
    assert_int_equal(elig_dict_region_size(&bad), 0);
    assert_int_equal(elig_dict_init(NULL, 0, &bad, &d), -EINVAL);
    struct elig_dict_params ok = { 10, 10 };
    char small[16];
    assert_int_equal(elig_dict_init(small, sizeof(small), &ok, &d), -ENOSPC);
}

#define MANY 100000

static void name_of(uint32_t i, char *buf, size_t cap)
{
    snprintf(buf, cap, "name-%u-%x", i, i * 2654435761u);
}

static void test_many_strings(void **state)
{
    (void)state;
    void *region;
    uint64_t size;
    struct elig_dict *d = make((struct elig_dict_params){ MANY + 1, MANY * 32 }, &region, &size);
    char buf[64];
    for (uint32_t i = 1; i <= MANY; i++) {
        name_of(i, buf, sizeof(buf));
        assert_int_equal(intern(d, buf), i);
    }
    for (uint32_t i = 1; i <= MANY; i += 7) {
        name_of(i, buf, sizeof(buf));
        uint32_t id;
        assert_int_equal(elig_dict_find(d, buf, strlen(buf), &id), 0);
        assert_int_equal(id, i);
        check_string(d, i, buf);
    }
    uint32_t id;
    assert_int_equal(elig_dict_find(d, "name-0-0", 8, &id), -ENOENT);
    elig_dict_detach(d);
    free(region);
}

struct reader_arg {
    struct elig_dict *view;
    uint64_t checked;
};

static void *reader(void *p)
{
    struct reader_arg *a = p;
    char want[64];
    for (int round = 0; round < 2000000; round++) {
        uint32_t n = elig_dict_count(a->view);
        if (n > 1) {
            uint32_t id = 1 + (uint32_t)round % (n - 1);
            size_t len;
            const char *s = elig_dict_get(a->view, id, &len);
            name_of(id, want, sizeof(want));
            if (s == NULL || len != strlen(want) || memcmp(s, want, len) != 0)
                return (void *)1;
            a->checked++;
        }
        if (n == MANY + 1)
            break;
    }
    return NULL;
}

static void test_reader_beside_writer(void **state)
{
    (void)state;
    void *region;
    uint64_t size;
    struct elig_dict *d = make((struct elig_dict_params){ MANY + 1, MANY * 32 }, &region, &size);
    struct reader_arg a = { NULL, 0 };
    assert_int_equal(elig_dict_attach(region, size, &a.view), 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, reader, &a), 0);
    char buf[64];
    for (uint32_t i = 1; i <= MANY; i++) {
        name_of(i, buf, sizeof(buf));
        intern(d, buf);
    }
    void *bad = NULL;
    assert_int_equal(pthread_join(t, &bad), 0);
    assert_null(bad);
    print_message("%llu reads checked beside the writer\n", (unsigned long long)a.checked);
    elig_dict_detach(a.view);
    elig_dict_detach(d);
    free(region);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_intern_and_lookup),
        cmocka_unit_test(test_full_dictionary_refuses),
        cmocka_unit_test(test_many_strings),
        cmocka_unit_test(test_reader_beside_writer),
    };
    return cmocka_run_group_tests_name("dict", tests, NULL, NULL);
}
