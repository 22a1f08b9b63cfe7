/* SPDX-License-Identifier: MIT */
/*
 * test_resp: the RESP2 codec used to drive redis-server: exact command
 * bytes, every reply type, every proper prefix of a reply incomplete (never
 * misread), malformed replies refused, and replies back to back.
 */
#include <errno.h>
#include <string.h>

#include "elig_resp.h"
#include "test_support.h"

static void test_command_bytes(void **state)
{
    (void)state;
    struct elig_pbuf b = { 0 };
    const char *argv[] = { "HGETALL", "q:\0\r\nx" };
    size_t lens[] = { 7, 6 };
    assert_int_equal(elig_resp_command(&b, 2, argv, lens), 0);
    static const char want[] = "*2\r\n$7\r\nHGETALL\r\n$6\r\nq:\0\r\nx\r\n";
    assert_int_equal(b.len, sizeof want - 1);
    assert_memory_equal(b.data, want, sizeof want - 1);
    elig_pbuf_free(&b);
}

static long parse(const char *s, struct elig_resp_reply *r)
{
    return elig_resp_parse((const uint8_t *)s, strlen(s), r);
}

static void test_reply_types(void **state)
{
    (void)state;
    struct elig_resp_reply r;
    assert_int_equal(parse("+OK\r\n", &r), 5);
    assert_int_equal(r.type, '+');
    assert_int_equal(r.str_len, 2);
    assert_memory_equal(r.str, "OK", 2);
    assert_int_equal(parse("-ERR no\r\n", &r), 9);
    assert_int_equal(r.type, '-');
    assert_int_equal(parse(":-42\r\n", &r), 6);
    assert_int_equal(r.integer, -42);
    assert_int_equal(parse("$3\r\nabc\r\n", &r), 9);
    assert_int_equal(r.type, '$');
    assert_memory_equal(r.str, "abc", 3);
    assert_int_equal(parse("$-1\r\n", &r), 5);
    assert_int_equal(r.integer, -1);
    assert_int_equal(parse("$0\r\n\r\n", &r), 6);
    assert_int_equal(r.str_len, 0);
    assert_int_equal(parse("*0\r\n", &r), 4);
    assert_int_equal(r.items, 0);
    const char *h = "*4\r\n$5\r\nbirth\r\n$8\r\n19800101\r\n$4\r\nlost\r\n:7\r\n";
    assert_int_equal(parse(h, &r), (long)strlen(h));
    assert_int_equal(r.type, '*');
    assert_int_equal(r.integer, 4);
    assert_int_equal(r.items, 4);
    assert_memory_equal(r.item[1].p, "19800101", 8);
    assert_memory_equal(r.item[3].p, "7", 1);
    /* nested arrays are skipped over, not kept */
    const char *n = "*3\r\n*1\r\n$1\r\na\r\n$1\r\nb\r\n*0\r\n";
    assert_int_equal(parse(n, &r), (long)strlen(n));
    assert_int_equal(r.items, 1);
    assert_memory_equal(r.item[0].p, "b", 1);
}

static void test_prefixes_incomplete(void **state)
{
    (void)state;
    const char *replies[] = {
        "+OK\r\n",   ":123\r\n", "$5\r\nhello\r\n", "$-1\r\n", "*2\r\n$1\r\na\r\n$2\r\nbc\r\n",
        "-ERR x\r\n"
    };
    for (size_t i = 0; i < sizeof replies / sizeof *replies; i++) {
        size_t len = strlen(replies[i]);
        struct elig_resp_reply r;
        for (size_t cut = 0; cut < len; cut++)
            assert_int_equal(elig_resp_parse((const uint8_t *)replies[i], cut, &r), 0);
        assert_int_equal(elig_resp_parse((const uint8_t *)replies[i], len, &r), (long)len);
    }
}

static void test_malformed(void **state)
{
    (void)state;
    const char *bad[] = {
        "?x\r\n", ":12a\r\n", ":\r\n",       "$-2\r\n", "$3\r\nabcd\r\n",           "*-5\r\n",
        "$x\r\n", ":1\n",     "*1\r\n?\r\n", "+\n",     ":99999999999999999999\r\n"
    };
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(parse(bad[i], NULL), -EPROTO);
}

static void test_back_to_back(void **state)
{
    (void)state;
    const char *s = "+OK\r\n:1\r\n*0\r\n$2\r\nok\r\n";
    size_t off = 0, len = strlen(s);
    int n = 0;
    long m;
    struct elig_resp_reply r;
    while ((m = elig_resp_parse((const uint8_t *)s + off, len - off, &r)) > 0) {
        off += (size_t)m;
        n++;
    }
    assert_int_equal(m, 0);
    assert_int_equal(n, 4);
    assert_int_equal(off, len);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_command_bytes),       cmocka_unit_test(test_reply_types),
        cmocka_unit_test(test_prefixes_incomplete), cmocka_unit_test(test_malformed),
        cmocka_unit_test(test_back_to_back),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
