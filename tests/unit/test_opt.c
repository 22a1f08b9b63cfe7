/* SPDX-License-Identifier: MIT */
/*
 * test_opt: command-line options from a table.
 *
 * Every type stores what it read where its row says; "--NAME=VALUE" and
 * "--NAME VALUE" are the same; operands keep their order wherever they
 * stood; "--" ends the options; --help is reported after the others were
 * read; each refusal (unknown option, a short option, a missing value, a
 * value out of range or not a choice, a value given to a flag, a value the
 * row's function refuses) is one line naming the option, and the value
 * only when it cannot be personal data. elig_opt_set() checks a value given
 * by name (a configuration file's) as the command line does, and
 * elig_opt_format() gives it back, saying which options are unset.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_opt.h"
#include "test_support.h"

struct cfg {
    bool verbose;
    const char *dir;
    uint32_t count;
    uint8_t small;
    uint64_t big;
    double rate;
    int mode;
    int birth; /* parsed by a function */
};

static const char *const modes[] = { "auto", "small", "huge", NULL };

static int parse_birth(const char *value, void *field)
{
    if (strlen(value) != 8 || strspn(value, "0123456789") != 8)
        return -EINVAL;
    *(int *)field = atoi(value);
    return 0;
}

static const struct elig_opt table[] = {
    ELIG_OPT_F("verbose", struct cfg, verbose),
    ELIG_OPT_S("dir", struct cfg, dir),
    ELIG_OPT_U("count", struct cfg, count, 1, 1000),
    ELIG_OPT_U("small", struct cfg, small, 0, 255),
    ELIG_OPT_U("big", struct cfg, big, 0, UINT64_MAX),
    ELIG_OPT_D("rate", struct cfg, rate, 0.5, 100),
    ELIG_OPT_C("mode", struct cfg, mode, modes),
    ELIG_OPT_P("birth", struct cfg, birth, parse_birth, "a birth date (YYYYMMDD)"),
    ELIG_OPT_END,
};

/* Parse a command line given as a NULL-terminated list; what went to stderr into err. */
static int run(struct cfg *c, int *first, char **argv_out, char *err, size_t err_size, ...)
{
    va_list ap;
    va_start(ap, err_size);
    int argc = 0;
    argv_out[argc++] = "prog";
    for (char *a; (a = va_arg(ap, char *));)
        argv_out[argc++] = a;
    va_end(ap);
    argv_out[argc] = NULL;
    memset(c, 0, sizeof *c);
    fflush(stderr);
    FILE *tmp = tmpfile();
    int saved = dup(2);
    dup2(fileno(tmp), 2);
    int rc = elig_opt_parse("prog", table, argc, argv_out, c, first);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    rewind(tmp);
    size_t n = fread(err, 1, err_size - 1, tmp);
    err[n] = '\0';
    fclose(tmp);
    return rc == 0 ? argc : rc;
}

static void test_every_type(void **state)
{
    (void)state;
    struct cfg c;
    char *argv[32], err[512];
    int first;
    int argc = run(&c, &first, argv, err, sizeof err, "a.feed", "--verbose", "--dir", "/x",
                   "--count=7", "b.feed", "--small", "255", "--big", "18446744073709551615",
                   "--rate", "2.5", "--mode", "huge", "--birth", "19800229", "c.feed", NULL);
    assert_int_equal(argc, 18);
    assert_string_equal(err, "");
    assert_true(c.verbose);
    assert_string_equal(c.dir, "/x");
    assert_int_equal(c.count, 7);
    assert_int_equal(c.small, 255);
    assert_true(c.big == UINT64_MAX);
    assert_true(c.rate == 2.5);
    assert_int_equal(c.mode, 2);
    assert_int_equal(c.birth, 19800229);
    /* operands in order at the end */
    assert_int_equal(first, argc - 3);
    assert_string_equal(argv[first], "a.feed");
    assert_string_equal(argv[first + 1], "b.feed");
    assert_string_equal(argv[first + 2], "c.feed");
}

static void test_operands_and_end(void **state)
{
    (void)state;
    struct cfg c;
    char *argv[32], err[512];
    int first;
    int argc =
        run(&c, &first, argv, err, sizeof err, "-", "--count", "3", "--", "--verbose", "-x", NULL);
    assert_int_equal(c.count, 3);
    assert_false(c.verbose); /* after "--": an operand */
    assert_int_equal(argc - first, 3);
    assert_string_equal(argv[first], "-");
    assert_string_equal(argv[first + 1], "--verbose");
    assert_string_equal(argv[first + 2], "-x");
    /* no operands */
    argc = run(&c, &first, argv, err, sizeof err, "--verbose", NULL);
    assert_int_equal(first, argc);
    /* help, after the rest was read */
    assert_int_equal(run(&c, &first, argv, err, sizeof err, "--count", "4", "--help", NULL),
                     ELIG_OPT_HELP);
    assert_int_equal(c.count, 4);
    assert_int_equal(run(&c, &first, argv, err, sizeof err, "-h", NULL), ELIG_OPT_HELP);
}

struct refusal {
    const char *args[4];
    const char *message;
};

static void test_refusals(void **state)
{
    (void)state;
    static const struct refusal cases[] = {
        { { "--colour", NULL }, "prog: unknown option --colour (--help lists them)\n" },
        { { "--coun", "3", NULL }, "prog: unknown option --coun (--help lists them)\n" },
        { { "-v", NULL }, "prog: unknown option -v (options are --NAME; --help lists them)\n" },
        { { "--count", NULL }, "prog: --count needs a value\n" },
        { { "--count", "0", NULL }, "prog: --count 0: not a whole number from 1 to 1000\n" },
        { { "--count", "1001", NULL }, "prog: --count 1001: not a whole number from 1 to 1000\n" },
        { { "--count", "-1", NULL }, "prog: --count -1: not a whole number from 1 to 1000\n" },
        { { "--count=", NULL }, "prog: --count : not a whole number from 1 to 1000\n" },
        { { "--small", "256", NULL }, "prog: --small 256: not a whole number from 0 to 255\n" },
        { { "--rate", "0.1", NULL }, "prog: --rate 0.1: not a number from 0.5 to 100\n" },
        { { "--rate", "nan", NULL }, "prog: --rate nan: not a number from 0.5 to 100\n" },
        { { "--rate", "5x", NULL }, "prog: --rate 5x: not a number from 0.5 to 100\n" },
        { { "--mode", "tiny", NULL }, "prog: --mode tiny: not one of auto, small, huge\n" },
        { { "--verbose=yes", NULL }, "prog: --verbose takes no value\n" },
        /* a refused birth date is not echoed */
        { { "--birth", "1980-02-29", NULL }, "prog: --birth: not a birth date (YYYYMMDD)\n" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct cfg c;
        char *argv[32], err[512];
        int first;
        const char *const *a = cases[i].args;
        int rc = run(&c, &first, argv, err, sizeof err, a[0], a[1], a[2], NULL);
        if (rc != -EINVAL || strcmp(err, cases[i].message) != 0)
            fail_msg("case %zu: rc %d, message \"%s\"", i, rc, err);
    }
}

static void test_set_and_format(void **state)
{
    (void)state;
    struct cfg c;
    memset(&c, 0, sizeof c);
    char why[256], buf[256];
    assert_int_equal(elig_opt_set(table, "count", "12", &c, why, sizeof why), 0);
    assert_int_equal(c.count, 12);
    assert_int_equal(elig_opt_set(table, "verbose", "yes", &c, why, sizeof why), 0);
    assert_true(c.verbose);
    assert_int_equal(elig_opt_set(table, "verbose", "false", &c, why, sizeof why), 0);
    assert_false(c.verbose);
    assert_int_equal(elig_opt_set(table, "verbose", "maybe", &c, why, sizeof why), -EINVAL);
    assert_string_equal(why, "not true or false");
    assert_int_equal(elig_opt_set(table, "count", "1001", &c, why, sizeof why), -EINVAL);
    assert_string_equal(why, "not a whole number from 1 to 1000");
    assert_int_equal(c.count, 12); /* a refused value changes nothing */
    assert_int_equal(elig_opt_set(table, "mode", "tiny", &c, why, sizeof why), -EINVAL);
    assert_string_equal(why, "not one of auto, small, huge");
    assert_int_equal(elig_opt_set(table, "dir", "", &c, why, sizeof why), -EINVAL);
    assert_string_equal(why, "needs a value");
    assert_int_equal(elig_opt_set(table, "birth", "1980-02-29", &c, why, sizeof why), -EINVAL);
    assert_string_equal(why, "not a birth date (YYYYMMDD)");
    assert_int_equal(elig_opt_set(table, "colour", "red", &c, why, sizeof why), -ENOENT);
    assert_null(elig_opt_find(table, "coun"));
    assert_non_null(elig_opt_find(table, "count"));

    /* formatted back; unset: a NULL string, a number below its range; a birth date never */
    assert_int_equal(elig_opt_format(elig_opt_find(table, "count"), &c, buf, sizeof buf), 0);
    assert_string_equal(buf, "12");
    assert_int_equal(elig_opt_format(elig_opt_find(table, "verbose"), &c, buf, sizeof buf), 0);
    assert_string_equal(buf, "false");
    assert_int_equal(elig_opt_format(elig_opt_find(table, "dir"), &c, buf, sizeof buf), 1);
    assert_int_equal(elig_opt_set(table, "dir", "/srv", &c, why, sizeof why), 0);
    assert_int_equal(elig_opt_format(elig_opt_find(table, "dir"), &c, buf, sizeof buf), 0);
    assert_string_equal(buf, "/srv");
    assert_int_equal(elig_opt_format(elig_opt_find(table, "rate"), &c, buf, sizeof buf), 1);
    assert_int_equal(elig_opt_set(table, "rate", "2.5", &c, why, sizeof why), 0);
    assert_int_equal(elig_opt_format(elig_opt_find(table, "rate"), &c, buf, sizeof buf), 0);
    assert_string_equal(buf, "2.5");
    assert_int_equal(elig_opt_set(table, "mode", "huge", &c, why, sizeof why), 0);
    assert_int_equal(elig_opt_format(elig_opt_find(table, "mode"), &c, buf, sizeof buf), 0);
    assert_string_equal(buf, "huge");
    assert_int_equal(elig_opt_set(table, "birth", "19800229", &c, why, sizeof why), 0);
    assert_int_equal(elig_opt_format(elig_opt_find(table, "birth"), &c, buf, sizeof buf), 1);
    assert_null(strstr(buf, "1980"));
    assert_int_equal(elig_opt_format(elig_opt_find(table, "small"), &c, buf, sizeof buf), 0);
    assert_string_equal(buf, "0"); /* 0 is in its range: a value */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type),
        cmocka_unit_test(test_operands_and_end),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_set_and_format),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
