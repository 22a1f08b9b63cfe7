/* SPDX-License-Identifier: MIT */
/*
 * test_conf: a configuration file read through an option table, and the
 * allowance it may change live.
 *
 * A good file sets every type as the command line would and its strings
 * outlive the file; what --check-config prints reads back to the same
 * values; each bad file (an unknown key, a refused value, a key given twice,
 * a section, a continued or over-long line, a line that is not "key =
 * value", a key of the command line only, a missing file, a directory) is
 * refused with "FILE:LINE: what" and a value is never echoed. The
 * facilities' allowance changed by elig_access_set_limits() takes effect for
 * the next decision. The latency histogram puts each duration in the bucket
 * Prometheus expects.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_access.h"
#include "elig_conf.h"
#include "elig_lat.h"
#include "test_support.h"

struct cfg {
    bool verbose;
    const char *dir;
    uint32_t count;
    double rate;
    int mode;
    const char *config;
};

static const char *const modes[] = { "auto", "small", "huge", NULL };

static const struct elig_opt table[] = {
    ELIG_OPT_F("verbose", struct cfg, verbose),
    ELIG_OPT_S("dir", struct cfg, dir),
    ELIG_OPT_U("count", struct cfg, count, 1, 1000),
    ELIG_OPT_D("rate", struct cfg, rate, 0.5, 100),
    ELIG_OPT_C("mode", struct cfg, mode, modes),
    ELIG_OPT_S("config", struct cfg, config),
    ELIG_OPT_END,
};

static const char *const cmdline_only[] = { "config", NULL };

/* A file of text in a fresh directory; its path into path (256 bytes). */
static void write_file(char *path, const char *text)
{
    static unsigned n;
    snprintf(path, 256, "/tmp/test_conf-%d-%u.conf", (int)getpid(), n++);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    assert_int_equal(fclose(f), 0);
}

static void test_good_file(void **state)
{
    (void)state;
    char path[256], err[512];
    write_file(path, "# a comment\n"
                     "; another\n"
                     "\n"
                     "verbose = true\n"
                     "dir = /var/lib/x   ; the rest is a comment\n"
                     "count=17\n"
                     "rate = 2.5\n"
                     "mode = huge\n");
    struct cfg c = { 0 };
    struct elig_conf *conf;
    assert_int_equal(elig_conf_load(path, table, cmdline_only, &c, &conf, err, sizeof err), 0);
    unlink(path); /* the values are copies */
    assert_true(c.verbose);
    assert_string_equal(c.dir, "/var/lib/x");
    assert_int_equal(c.count, 17);
    assert_true(c.rate == 2.5);
    assert_int_equal(c.mode, 2);

    /* printed, read back: the same values; the command line's own keys are not printed */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(elig_conf_print(f, table, cmdline_only, &c), 0);
    fclose(f);
    struct cfg d = { 0 };
    struct elig_conf *again;
    assert_int_equal(elig_conf_load(path, table, cmdline_only, &d, &again, err, sizeof err), 0);
    assert_true(d.verbose);
    assert_string_equal(d.dir, c.dir);
    assert_int_equal(d.count, c.count);
    assert_true(d.rate == c.rate);
    assert_int_equal(d.mode, c.mode);
    assert_null(d.config);
    unlink(path);
    elig_conf_free(again);
    elig_conf_free(conf);
}

struct bad {
    const char *text;
    int rc;
    const char *message; /* after "PATH:" */
};

static void test_bad_files(void **state)
{
    (void)state;
    static const struct bad cases[] = {
        { "count = 3\ncolour = red\n", -EINVAL,
          "2: colour: unknown key (the keys are the options' names without \"--\"; --help lists "
          "them)" },
        { "count = 0\n", -EINVAL, "1: count: not a whole number from 1 to 1000" },
        { "\n\nrate = fast\n", -EINVAL, "3: rate: not a number from 0.5 to 100" },
        { "mode = tiny\n", -EINVAL, "1: mode: not one of auto, small, huge" },
        { "verbose = maybe\n", -EINVAL, "1: verbose: not true or false" },
        { "dir =\n", -EINVAL, "1: dir: needs a value" },
        { "dir = /a\ncount = 2\ndir = /b\n", -EINVAL, "3: dir: given twice (first on line 1)" },
        { "[server]\ncount = 2\n", -EINVAL,
          "2: [server]: this file has no sections (keys stand alone, as listen = "
          "127.0.0.1:7700)" },
        { "dir = /a\n  count = 2\n", -EINVAL, /* inih would take it for more of dir */
          "2: an indented line would continue the previous value: values are one line each, "
          "keys start their line" },
        { "count 3\n", -EINVAL, "1: not \"key = value\", a comment or empty" },
        { "config = /etc/other.conf\n", -EINVAL, "1: config: given on the command line only" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char path[256], err[512], want[1024];
        write_file(path, cases[i].text);
        struct cfg c = { 0 };
        struct elig_conf *conf = (struct elig_conf *)&c; /* must be reset */
        int rc = elig_conf_load(path, table, cmdline_only, &c, &conf, err, sizeof err);
        snprintf(want, sizeof want, "%s:%s", path, cases[i].message);
        unlink(path);
        if (rc != cases[i].rc || strcmp(err, want) != 0 || conf != NULL)
            fail_msg("case %zu: rc %d, \"%s\"", i, rc, err);
    }
    /* a line longer than inih's buffer: refused, not split in two */
    char path[256], err[512], text[400], want[300];
    memset(text, 'x', sizeof text);
    memcpy(text, "dir = /", 7);
    text[sizeof text - 2] = '\n';
    text[sizeof text - 1] = '\0';
    write_file(path, text);
    struct cfg c = { 0 };
    struct elig_conf *conf;
    assert_int_equal(elig_conf_load(path, table, cmdline_only, &c, &conf, err, sizeof err),
                     -EINVAL);
    snprintf(want, sizeof want, "%s:1: line longer than 198 characters", path);
    assert_string_equal(err, want);
    unlink(path);
    /* a missing file; a directory */
    assert_int_equal(elig_conf_load(path, table, cmdline_only, &c, &conf, err, sizeof err),
                     -ENOENT);
    snprintf(want, sizeof want, "%s: No such file or directory", path);
    assert_string_equal(err, want);
    assert_int_equal(elig_conf_load("/tmp", table, cmdline_only, &c, &conf, err, sizeof err),
                     -EISDIR);
    assert_string_equal(err, "/tmp: not a regular file");
    /* a refused value is not echoed (it may be anything the operator typed) */
    write_file(path, "count = 123456789012\n");
    assert_int_equal(elig_conf_load(path, table, cmdline_only, &c, &conf, err, sizeof err),
                     -EINVAL);
    assert_null(strstr(err, "123456789012"));
    unlink(path);
}

static void test_live_limits(void **state)
{
    (void)state;
    struct elig_access *a;
    char registry[256]; /* an empty registry (no file): the allowance table all the same */
    snprintf(registry, sizeof registry, "/tmp/test_conf-%d.facilities", (int)getpid());
    struct elig_access_params p = {
        .registry = registry, .rate = 10, .burst = 1000, .max_conns = 2
    };
    assert_int_equal(elig_access_open(&p, &a), 0);
    int slot = elig_access_slot(a, "1310000001");
    assert_true(slot >= 0);
    uint64_t now = 1000000000000ull;
    /* a burst of 1000 at 10/s: 1000 at once, then none */
    assert_true(elig_access_take(a, slot, 1000, now));
    assert_false(elig_access_take(a, slot, 1, now));
    /* 10x the rate. What was spent stays spent (100 s at the old rate); after that a
     * second gives back 100, where the old rate gave 10 */
    elig_access_set_limits(a, 100, 1000, 2);
    uint64_t later = now + 100000000000ull;
    assert_true(elig_access_take(a, slot, 1000, later));
    assert_false(elig_access_take(a, slot, 1, later));
    assert_true(elig_access_take(a, slot, 100, later + 1000000000ull));
    assert_false(elig_access_take(a, slot, 10, later + 1000000000ull));
    /* connections: a cap of 2, lowered to 1, raised to 3 */
    assert_int_equal(elig_access_enter(a, slot), 0);
    elig_access_set_limits(a, 100, 1000, 1);
    assert_int_equal(elig_access_enter(a, slot), -EUSERS);
    elig_access_set_limits(a, 100, 1000, 3);
    assert_int_equal(elig_access_enter(a, slot), 0);
    assert_int_equal(elig_access_enter(a, slot), 0);
    assert_int_equal(elig_access_enter(a, slot), -EUSERS);
    for (int i = 0; i < 3; i++)
        elig_access_leave(a, slot);
    elig_access_close(a);
}

/* The latency histogram's buckets: a bound belongs to its own bucket, past 1 s is +Inf. */
static void test_lat_buckets(void **state)
{
    (void)state;
    assert_int_equal(elig_lat_bucket(0), 0);
    assert_int_equal(elig_lat_bucket(10000), 0);
    assert_int_equal(elig_lat_bucket(10001), 1);
    assert_int_equal(elig_lat_bucket(1000000), 6);
    assert_int_equal(elig_lat_bucket(1000000000), ELIG_LAT_BOUNDS - 1);
    assert_int_equal(elig_lat_bucket(1000000001), ELIG_LAT_BOUNDS);
    for (unsigned i = 1; i < ELIG_LAT_BOUNDS; i++)
        assert_true(elig_lat_bound_ns[i] > elig_lat_bound_ns[i - 1]);
    struct elig_lat h = { 0 };
    elig_lat_add(&h, 30000);
    elig_lat_add_own(&h, 2000000000, 2);
    assert_int_equal(atomic_load(&h.bucket[2]), 1);
    assert_int_equal(atomic_load(&h.bucket[ELIG_LAT_BOUNDS]), 2);
    assert_int_equal(atomic_load(&h.sum_ns), 30000 + 4000000000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lat_buckets),
        cmocka_unit_test(test_good_file),
        cmocka_unit_test(test_bad_files),
        cmocka_unit_test(test_live_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
