/* SPDX-License-Identifier: MIT */
/*
 * test_store: DATA/store: what a store was made with is read back as it
 * was written; a file that was damaged or edited by hand is refused, naming
 * the line at fault, and a missing one says so. And every error code of the
 * project has a name.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "elig_error.h"
#include "elig_store.h"
#include "test_support.h"

static char dir[256];

static int setup(void **state)
{
    (void)state;
    test_temp_dir(dir, sizeof dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_rm_tree(dir);
}

static void rewrite(const char *from, const char *to)
{
    char path[400], buf[4096];
    snprintf(path, sizeof path, "%s/store", dir);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *at = strstr(buf, from);
    assert_non_null(at);
    char out[4200];
    snprintf(out, sizeof out, "%.*s%s%s", (int)(at - buf), buf, to, at + strlen(from));
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(out, f);
    fclose(f);
}

static void test_made_and_read(void **state)
{
    (void)state;
    struct elig_store_info made = { .capacity = 160000000, .key_strings = 2504000 }, got;
    assert_int_equal(elig_store_read(dir, &got, NULL), -ENOENT);
    assert_int_equal(elig_store_create(dir, &made), 0);
    assert_int_equal(strlen(made.id), 32);
    assert_int_equal(elig_store_read(dir, &got, NULL), 0);
    assert_string_equal(got.id, made.id);
    assert_int_equal(got.capacity, 160000000);
    assert_int_equal(got.key_strings, 2504000);
    assert_int_equal(got.persons, 0);
    assert_string_equal(got.created, made.created);
    /* another store gets another id */
    struct elig_store_info other = { .capacity = 1 };
    char dir2[300];
    snprintf(dir2, sizeof dir2, "%s/other", dir);
    assert_int_equal(mkdir(dir2, 0700), 0);
    assert_int_equal(elig_store_create(dir2, &other), 0);
    assert_string_not_equal(other.id, made.id);
}

static void test_damage_refused(void **state)
{
    (void)state;
    struct elig_store_info made = { .capacity = 1000 }, got;
    assert_int_equal(elig_store_create(dir, &made), 0);
    int line = -1;
    rewrite("capacity=1000", "capacity=9000"); /* edited by hand: the CRC no longer fits */
    assert_int_equal(elig_store_read(dir, &got, &line), -ELIG_ESTOREFILE);
    assert_int_equal(line, 0);
    rewrite("capacity=9000", "capacity=1000");
    assert_int_equal(elig_store_read(dir, &got, &line), 0);
    rewrite("crc32c=", "crc32c=x"); /* an unreadable checksum */
    assert_int_equal(elig_store_read(dir, &got, &line), -ELIG_ESTOREFILE);
}

/* Every project error code has a name (a code added without one prints "(null)"). */
static void test_every_error_named(void **state)
{
    (void)state;
    for (int c = ELIG_ERRNO_BASE; c < ELIG_ERRNO_END; c++) {
        if ((c >= 1029 && c <= 1032) || c == 1035)
            continue; /* retired: the network layer's codes moved (test_proto names those) */
        const char *name = elig_strerror(-c);
        assert_non_null(name);
        assert_string_not_equal(name, "unknown error");
    }
    assert_string_equal(elig_strerror(-ELIG_ERRNO_END), "unknown error");
    /* the values that travel on the wire (ADMIN_APPEND's answer) never change */
    assert_int_equal(ELIG_ESHORTWRITE, 1033);
    assert_int_equal(ELIG_ECHUNKID, 1034);
    assert_true(ELIG_ERRNO_END <= ELIG_ERRNO_NET_BASE); /* the blocks do not meet */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_made_and_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_refused, setup, teardown),
        cmocka_unit_test(test_every_error_named),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
