/* SPDX-License-Identifier: MIT */
/*
 * test_bq: appointment lists kept on disk and checked later. A list handed
 * in part by part, closed, checked against an index, fetched page by page;
 * every refusal (another facility's list, a closed one, over 10,000 entries,
 * too many lists waiting); everything taken up again by a new open (open,
 * queued and done lists, a half-written answers file dropped); damage to a
 * request or to answers detected by checksum and the list marked failed;
 * retention.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elig_bq.h"
#include "elig_net_error.h"
#include "elig_proto.h"
#include "test_support.h"

#define FAC   "1310000001"
#define OTHER "1340000001"

static char dir[256], lists[300], seg[300];

static int setup(void **state)
{
    (void)state;
    test_temp_dir(dir, sizeof dir);
    snprintf(lists, sizeof lists, "%s/lists", dir);
    snprintf(seg, sizeof seg, "%s/index.seg", dir);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_rm_tree(dir);
}

/* A part of k entries of numbers first.. (key 01130012 / 1 / N, born 1980-01-01). */
struct part {
    struct elig_pbuf b;
    struct elig_proto_list_part p;
};

static void part_make(struct part *pt, const char *fac, uint8_t flags, uint64_t reception,
                      unsigned first, unsigned k)
{
    pt->b.len = 0;
    assert_int_equal(elig_proto_list_part_head_encode(&pt->b, fac, flags, reception, (uint16_t)k),
                     0);
    for (unsigned i = 0; i < k; i++) {
        char num[16];
        snprintf(num, sizeof num, "%u", first + i);
        struct elig_proto_number q = { .date = 20250201,
                                       .birth = 19800101,
                                       .insurer = "01130012",
                                       .insurer_len = 8,
                                       .symbol = "1",
                                       .symbol_len = 1,
                                       .number = num,
                                       .number_len = (uint8_t)strlen(num) };
        assert_int_equal(elig_proto_number_encode(&pt->b, &q, true), 0);
    }
    assert_int_equal(elig_proto_list_part_decode(pt->b.data, pt->b.len, &pt->p), 0);
}

static struct elig_bq *open_q(unsigned per_facility)
{
    struct elig_bq *q;
    assert_int_equal(
        elig_bq_open(&(struct elig_bq_params){ .dir = lists, .per_facility = per_facility }, &q),
        0);
    return q;
}

/* An index holding numbers 1..20 (valid from 2020), so a list's answers can be told apart. */
static struct elig_index *index_make(void)
{
    struct elig_index *ix = test_index_create(seg, 1000);
    for (unsigned i = 1; i <= 20; i++) {
        char num[16];
        snprintf(num, sizeof num, "%u", i);
        struct elig_key k = test_key("01130012", "1", num, "00");
        struct elig_record r = test_record(&k, i, "1980-01-01", "2020-01-01", NULL, NULL);
        uint32_t ref;
        assert_int_equal(elig_index_insert(ix, &r, &ref), 0);
    }
    return ix;
}

/* Every answer of a done list, pages of at most cap bytes: validity of each into v. */
static void fetch_all(struct elig_bq *q, const char *fac, uint64_t reception, uint32_t n,
                      size_t cap, uint8_t *v)
{
    uint8_t *out = malloc(cap);
    struct elig_proto_answer *a = malloc(sizeof *a);
    uint32_t first = 0;
    for (int pages = 0; first < n; pages++) {
        assert_true(pages < 100000);
        struct elig_proto_list_fetch f = { .reception = reception, .first = first, .max = 1000 };
        size_t len;
        uint16_t k;
        struct elig_proto_list_state st;
        assert_int_equal(elig_bq_fetch(q, fac, &f, out, cap, &len, &k, &st), 0);
        assert_int_equal(st.state, ELIG_LIST_DONE);
        assert_true(k > 0);
        assert_true(len <= cap);
        size_t off = 0;
        for (uint16_t i = 0; i < k; i++) {
            assert_int_equal(elig_proto_answer_decode(out, len, &off, a), 0);
            v[first + i] = a->validity;
        }
        assert_int_equal(off, len);
        first += k;
    }
    free(a);
    free(out);
}

static void test_lists(void **state)
{
    (void)state;
    struct elig_bq *q = open_q(3);
    struct part pt = { 0 };
    struct elig_proto_list_state st;
    /* part 1 of 2: open */
    part_make(&pt, FAC, 0, 0, 1, 15);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), 0);
    assert_int_equal(st.state, ELIG_LIST_OPEN);
    assert_int_equal(st.entries, 15);
    uint64_t r1 = st.reception;
    assert_true(r1 > 0);
    /* another facility cannot add to it or read it */
    part_make(&pt, OTHER, 0, r1, 1, 1);
    assert_int_equal(elig_bq_submit(q, OTHER, &pt.p, time(NULL), &st), -ENOENT);
    struct elig_proto_list_fetch f = { .reception = r1, .first = 0, .max = 10 };
    uint8_t out[4096];
    size_t len;
    uint16_t k;
    assert_int_equal(elig_bq_fetch(q, OTHER, &f, out, sizeof out, &len, &k, &st), -ENOENT);
    /* nothing to fetch while open */
    assert_int_equal(elig_bq_fetch(q, FAC, &f, out, sizeof out, &len, &k, &st), 0);
    assert_int_equal(st.state, ELIG_LIST_OPEN);
    assert_int_equal(k, 0);
    /* part 2 closes it: queued, and no more parts */
    part_make(&pt, FAC, ELIG_PROTO_LIST_PART_LAST, r1, 16, 10);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), 0);
    assert_int_equal(st.state, ELIG_LIST_QUEUED);
    assert_int_equal(st.entries, 25);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), -ENOENT);
    /* a second list, open, and a third: the facility's three; a fourth is refused */
    part_make(&pt, FAC, 0, 0, 1, 1000);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), 0);
    uint64_t r2 = st.reception;
    for (int i = 1; i < 10; i++) {
        part_make(&pt, FAC, 0, r2, 1, 1000);
        assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), 0);
    }
    assert_int_equal(st.entries, ELIG_PROTO_LIST_MAX);
    part_make(&pt, FAC, ELIG_PROTO_LIST_PART_LAST, r2, 1, 1);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), -E2BIG);
    part_make(&pt, FAC, 0, 0, 1, 1);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), 0);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), -EUSERS);
    assert_int_equal(
        elig_bq_submit(q, OTHER, (part_make(&pt, OTHER, 0, 0, 1, 1), &pt.p), time(NULL), &st),
        0); /* another facility's own allowance */
    /* checked: 1..20 valid, 21..25 no match */
    struct elig_index *ix = index_make();
    assert_int_equal(elig_bq_run(q, ix), 1);
    assert_int_equal(elig_bq_run(q, ix), 0); /* nothing else queued */
    uint8_t v[25];
    fetch_all(q, FAC, r1, 25, sizeof out, v);
    for (int i = 0; i < 25; i++)
        assert_int_equal(v[i], i < 20 ? ELIG_VALID : ELIG_NO_MATCH);
    /* pages of two answers' room: the same answers */
    uint8_t w[25];
    fetch_all(q, FAC, r1, 25, 2 * 150, w);
    assert_memory_equal(v, w, sizeof v);
    f = (struct elig_proto_list_fetch){ .reception = r1, .first = 25, .max = 5 };
    assert_int_equal(elig_bq_fetch(q, FAC, &f, out, sizeof out, &len, &k, &st), 0);
    assert_int_equal(k, 0); /* past the end */
    struct elig_bq_stats bs;
    elig_bq_stats(q, &bs);
    assert_int_equal(bs.answered, 25);
    assert_int_equal(bs.queued, 0);
    elig_bq_close(q);

    /* taken up again: the done list, the open one (and a stray half-written answers file) */
    char tmp[400];
    snprintf(tmp, sizeof tmp, "%s/%016llx.res.tmp", lists, 0x77ull);
    int fd = open(tmp, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
    q = open_q(3);
    assert_int_equal(access(tmp, F_OK), -1);
    fetch_all(q, FAC, r1, 25, sizeof out, w);
    assert_memory_equal(v, w, sizeof v);
    part_make(&pt, FAC, ELIG_PROTO_LIST_PART_LAST, r2, 1, 1);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), -E2BIG); /* still open */
    elig_bq_close(q);
    elig_index_close(ix, false);
    elig_pbuf_free(&pt.b);
}

/* Flip one byte of a file. */
static void flip(const char *path, off_t at)
{
    uint8_t b;
    int fd = open(path, O_RDONLY);
    assert_true(fd >= 0);
    assert_int_equal(pread(fd, &b, 1, at), 1);
    close(fd);
    b ^= 0x20;
    test_poke(path, (uint64_t)at, &b, 1);
}

static void test_damage(void **state)
{
    (void)state;
    struct elig_bq *q = open_q(0);
    struct part pt = { 0 };
    struct elig_proto_list_state st;
    struct elig_index *ix = index_make();
    uint64_t r[3];
    for (int i = 0; i < 3; i++) {
        part_make(&pt, FAC, ELIG_PROTO_LIST_PART_LAST, 0, 1, 30);
        assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL) - 10 + i, &st), 0);
        r[i] = st.reception;
    }
    char path[400];
    /* list 0's request damaged in an entry: checked, found, failed */
    snprintf(path, sizeof path, "%s/%016llx.req", lists, (unsigned long long)r[0]);
    flip(path, 64 + 20);
    assert_int_equal(elig_bq_run(q, ix), 1);
    struct elig_proto_list_fetch f = { .reception = r[0], .first = 0, .max = 10 };
    uint8_t out[8192];
    size_t len;
    uint16_t k;
    assert_int_equal(elig_bq_fetch(q, FAC, &f, out, sizeof out, &len, &k, &st), 0);
    assert_int_equal(st.state, ELIG_LIST_FAILED);
    assert_int_equal(k, 0);
    /* list 1 answered, then one answer's bytes damaged: that page refused, the list failed */
    assert_int_equal(elig_bq_run(q, ix), 1);
    snprintf(path, sizeof path, "%s/%016llx.res", lists, (unsigned long long)r[1]);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    flip(path, sb.st_size - 3);
    f = (struct elig_proto_list_fetch){ .reception = r[1], .first = 0, .max = 1000 };
    assert_int_equal(elig_bq_fetch(q, FAC, &f, out, sizeof out, &len, &k, &st), -ELIG_ELISTFILE);
    assert_int_equal(st.state, ELIG_LIST_FAILED);
    assert_int_equal(k, 0);
    /* list 2 answered; its head damaged on disk: left out at the next open */
    assert_int_equal(elig_bq_run(q, ix), 1);
    elig_bq_close(q);
    snprintf(path, sizeof path, "%s/%016llx.res", lists, (unsigned long long)r[2]);
    flip(path, 9);
    q = open_q(0);
    f = (struct elig_proto_list_fetch){ .reception = r[2], .first = 0, .max = 10 };
    assert_int_equal(elig_bq_fetch(q, FAC, &f, out, sizeof out, &len, &k, &st), -ENOENT);
    /* a part a crash cut short (bytes past what the head counts) is written over by the next */
    part_make(&pt, FAC, 0, 0, 1, 5);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), 0);
    uint64_t cut = st.reception;
    snprintf(path, sizeof path, "%s/%016llx.part", lists, (unsigned long long)cut);
    assert_int_equal(stat(path, &sb), 0);
    test_poke(path, (uint64_t)sb.st_size, "half a part", 11);
    part_make(&pt, FAC, ELIG_PROTO_LIST_PART_LAST, cut, 6, 5);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, time(NULL), &st), 0);
    assert_int_equal(st.entries, 10);
    assert_int_equal(elig_bq_run(q, ix), 1);
    uint8_t v[10];
    fetch_all(q, FAC, cut, 10, sizeof out, v);
    for (int i = 0; i < 10; i++)
        assert_int_equal(v[i], ELIG_VALID);
    /* retention: handed in two months ago, gone; an open list of two hours ago, gone */
    part_make(&pt, FAC, ELIG_PROTO_LIST_PART_LAST, 0, 1, 1);
    int64_t now = time(NULL);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, now - 70 * 86400, &st), 0);
    uint64_t old = st.reception;
    part_make(&pt, FAC, 0, 0, 1, 1);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, now - 7200, &st), 0);
    uint64_t left = st.reception;
    part_make(&pt, FAC, 0, 0, 1, 1);
    assert_int_equal(elig_bq_submit(q, FAC, &pt.p, now, &st), 0);
    uint64_t fresh = st.reception;
    assert_int_equal(elig_bq_prune(q, now), 2);
    f.reception = old;
    assert_int_equal(elig_bq_fetch(q, FAC, &f, out, sizeof out, &len, &k, &st), -ENOENT);
    f.reception = left;
    assert_int_equal(elig_bq_fetch(q, FAC, &f, out, sizeof out, &len, &k, &st), -ENOENT);
    f.reception = fresh;
    assert_int_equal(elig_bq_fetch(q, FAC, &f, out, sizeof out, &len, &k, &st), 0);
    snprintf(path, sizeof path, "%s/%016llx.req", lists, (unsigned long long)old);
    assert_int_equal(access(path, F_OK), -1);
    elig_bq_close(q);
    elig_index_close(ix, false);
    elig_pbuf_free(&pt.b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_lists, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
