/* SPDX-License-Identifier: MIT */
/*
 * test_lag: registration lag. The buckets and allowances; a table's counts,
 * merge and sorted rows; its file round trip and byte surgery (every damage
 * refused and named, a missing file an empty table); then through a store:
 * chunks carry their entry time, the live counts see each applied event once,
 * a snapshot folds the log it prunes into DATA/lag and the store's table is
 * the same before and after (nothing lost, nothing counted twice), a damaged
 * DATA/lag stops the prune (the log stays) and is named.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "elig_db.h"
#include "elig_error.h"
#include "elig_lag.h"
#include "elig_update.h"
#include "test_support.h"

static struct test_store ts; /* the running test's store (setup makes it) */

static int setup(void **state)
{
    (void)state;
    return test_store_make(&ts);
}

static int teardown(void **state)
{
    (void)state;
    return test_store_remove(&ts);
}

/* Noon of a local day, as a Unix time. */
static int64_t noon(const char *iso)
{
    int y, m, d;
    elig_date_to_ymd(test_date(iso), &y, &m, &d);
    struct tm tm = {
        .tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d, .tm_hour = 12, .tm_isdst = -1
    };
    return (int64_t)mktime(&tm);
}

static void test_buckets(void **state)
{
    (void)state;
    static const struct {
        int days;
        unsigned bucket;
    } rows[] = { { -30, ELIG_LAG_EARLY }, { -1, ELIG_LAG_EARLY },   { 0, ELIG_LAG_0_5 },
                 { 5, ELIG_LAG_0_5 },     { 6, ELIG_LAG_6_10 },     { 10, ELIG_LAG_6_10 },
                 { 11, ELIG_LAG_11_30 },  { 30, ELIG_LAG_11_30 },   { 31, ELIG_LAG_31_60 },
                 { 60, ELIG_LAG_31_60 },  { 61, ELIG_LAG_OVER_60 }, { 9999, ELIG_LAG_OVER_60 } };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
        assert_int_equal(elig_lag_bucket_of(rows[i].days), rows[i].bucket);
    assert_int_equal(elig_lag_class_of(ELIG_EV_ACQUIRE), ELIG_LAG_ACQUIRE);
    assert_int_equal(elig_lag_class_of(ELIG_EV_CHANGE), ELIG_LAG_CHANGE);
    assert_int_equal(elig_lag_class_of(ELIG_EV_CARD_REGISTER), -1);
    assert_int_equal(elig_lag_class_of(ELIG_EV_INSURER), -1);
    /* late: over 5 days for acquisitions and losses, over 10 for changes */
    assert_false(elig_lag_late(ELIG_LAG_LOSS, ELIG_LAG_0_5));
    assert_true(elig_lag_late(ELIG_LAG_LOSS, ELIG_LAG_6_10));
    assert_false(elig_lag_late(ELIG_LAG_CHANGE, ELIG_LAG_6_10));
    assert_true(elig_lag_late(ELIG_LAG_CHANGE, ELIG_LAG_11_30));
    assert_false(elig_lag_late(ELIG_LAG_ACQUIRE, ELIG_LAG_EARLY));
    assert_string_equal(elig_lag_bucket_name(ELIG_LAG_OVER_60), "61-");
}

static void test_table(void **state)
{
    (void)state;
    struct elig_lag *t, *u;
    assert_int_equal(elig_lag_create(&t), 0);
    assert_int_equal(elig_lag_create(&u), 0);
    /* entered 2025-02-20: 2 days, 50 days; a loss 5 days early; another insurer; March */
    assert_int_equal(
        elig_lag_add(t, "06130017", ELIG_EV_ACQUIRE, test_date("2025-02-18"), noon("2025-02-20")),
        0);
    assert_int_equal(
        elig_lag_add(t, "01130012", ELIG_EV_ACQUIRE, test_date("2025-01-01"), noon("2025-02-20")),
        0);
    assert_int_equal(
        elig_lag_add(t, "01130012", ELIG_EV_ACQUIRE, test_date("2025-02-18"), noon("2025-02-20")),
        0);
    assert_int_equal(
        elig_lag_add(t, "01130012", ELIG_EV_LOSS, test_date("2025-02-25"), noon("2025-02-20")), 0);
    assert_int_equal(
        elig_lag_add(t, "01130012", ELIG_EV_ACQUIRE, test_date("2025-03-01"), noon("2025-03-02")),
        0);
    assert_int_equal(elig_lag_add(t, "01130012", ELIG_EV_CARD_REGISTER, test_date("2025-01-01"),
                                  noon("2025-02-20")),
                     0); /* not counted */
    assert_int_equal(
        elig_lag_add(t, "01130012", ELIG_EV_ACQUIRE, ELIG_DATE_NONE, noon("2025-02-20")), -EINVAL);
    struct elig_lag_row *rows;
    long n = elig_lag_rows(t, 202502, &rows);
    assert_int_equal(n, 3); /* sorted: 01130012 acquire, 01130012 loss, 06130017 acquire */
    assert_memory_equal(rows[0].insurer, "01130012", 8);
    assert_int_equal(rows[0].cls, ELIG_LAG_ACQUIRE);
    assert_int_equal(rows[0].count[ELIG_LAG_0_5], 1);
    assert_int_equal(rows[0].count[ELIG_LAG_31_60], 1);
    assert_int_equal(rows[0].days_sum, 52);
    assert_int_equal(rows[0].days_max, 50);
    assert_int_equal(rows[1].cls, ELIG_LAG_LOSS);
    assert_int_equal(rows[1].count[ELIG_LAG_EARLY], 1);
    assert_int_equal(rows[1].days_sum, 0);
    assert_memory_equal(rows[2].insurer, "06130017", 8);
    free(rows);
    assert_int_equal(elig_lag_rows(t, 0, &rows), 4);
    assert_int_equal(rows[3].month, 202503);
    free(rows);
    /* merge adds up, row by row */
    assert_int_equal(elig_lag_merge(u, t), 0);
    assert_int_equal(elig_lag_merge(u, t), 0);
    assert_int_equal(elig_lag_rows(u, 202502, &rows), 3);
    assert_int_equal(rows[0].count[ELIG_LAG_31_60], 2);
    assert_int_equal(rows[0].days_sum, 104);
    assert_int_equal(rows[0].days_max, 50);
    free(rows);
    /* many rows: the table grows */
    for (unsigned i = 0; i < 5000; i++) {
        char ins[9];
        snprintf(ins, sizeof ins, "%08u", i);
        assert_int_equal(
            elig_lag_add(u, ins, ELIG_EV_CHANGE, test_date("2025-02-01"), noon("2025-02-20")), 0);
    }
    assert_int_equal(elig_lag_rows(u, 202502, &rows), 5003);
    free(rows);
    elig_lag_destroy(t);
    elig_lag_destroy(u);
}

static void test_file(void **state)
{
    (void)state;
    char path[400];
    snprintf(path, sizeof path, "%s/lag", ts.dir);
    struct elig_lag *t, *r;
    uint64_t through;
    assert_int_equal(elig_lag_create(&t), 0);
    assert_int_equal(elig_lag_create(&r), 0);
    assert_int_equal(elig_lag_load(r, path, &through), 0); /* none yet: empty, through 0 */
    assert_int_equal(through, 0);
    for (int i = 0; i < 10; i++)
        assert_int_equal(elig_lag_add(t, i % 2 ? "01130012" : "33120015", ELIG_EV_LOSS,
                                      (elig_date_t)(test_date("2025-02-01") - i * 7),
                                      noon("2025-02-20")),
                         0);
    assert_int_equal(elig_lag_save(t, path, 1234), 0);
    assert_int_equal(elig_lag_load(r, path, &through), 0);
    assert_int_equal(through, 1234);
    struct elig_lag_row *a, *b;
    long n = elig_lag_rows(t, 0, &a);
    assert_int_equal(elig_lag_rows(r, 0, &b), n);
    assert_memory_equal(a, b, (size_t)n * sizeof *a);
    free(a);
    free(b);
    /* byte surgery: the magic, the LSN, a count, the checksum, one byte short, one long */
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    const off_t places[] = { 0, 8, 24 + 16, st.st_size - 1 };
    for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
        assert_int_equal(elig_lag_save(t, path, 1234), 0);
        uint8_t byte;
        int fd = open(path, O_RDONLY);
        assert_int_equal(pread(fd, &byte, 1, places[i]), 1);
        close(fd);
        byte ^= 0x40;
        test_poke(path, (uint64_t)places[i], &byte, 1);
        struct elig_lag *x;
        assert_int_equal(elig_lag_create(&x), 0);
        assert_int_equal(elig_lag_load(x, path, &through), -ELIG_ELAGFILE);
        elig_lag_destroy(x);
    }
    assert_int_equal(elig_lag_save(t, path, 1234), 0);
    assert_int_equal(truncate(path, st.st_size - 1), 0);
    assert_int_equal(elig_lag_load(r, path, &through), -ELIG_ELAGFILE);
    assert_int_equal(truncate(path, st.st_size + 1), 0);
    assert_int_equal(elig_lag_load(r, path, &through), -ELIG_ELAGFILE);
    assert_string_equal(elig_strerror(-ELIG_ELAGFILE),
                        "registration-lag file damaged (checksum or structure)");
    elig_lag_destroy(t);
    elig_lag_destroy(r);
}

/* Chunk c: two ACQUIREs effective 2025-02-01 of keys 2c and 2c+1, entered that day + lag. */
static void submit(struct elig_db *db, unsigned c, int lag_days, bool with_id)
{
    struct elig_event evs[2];
    int status[2];
    for (unsigned i = 0; i < 2; i++) {
        char num[16];
        snprintf(num, sizeof num, "%u", 2 * c + i + 1);
        struct elig_key k = test_key("01130012", "77", num, "");
        evs[i] =
            (struct elig_event){ .kind = ELIG_EV_ACQUIRE, .effective = test_date("2025-02-01") };
        memcpy(evs[i].source, k.insurer, ELIG_INSURER_LEN);
        evs[i].u.acquire = test_record(&k, 2 * c + i + 1, "1970-01-01", "2025-02-01", "", "");
    }
    uint8_t id[16] = { (uint8_t)c, 0x4c };
    int64_t entered = noon("2025-02-01") + (int64_t)lag_days * 86400;
    uint64_t first;
    bool dup;
    assert_int_equal(elig_db_submit_chunk(db, with_id ? id : NULL, with_id ? entered : 0, evs, 2,
                                          status, &first, &dup),
                     0);
    assert_int_equal(status[0] | status[1], 0);
}

/* The store's table for February: total events and the 31-60 bucket. */
static void store_feb(uint64_t *events, uint64_t *late_31_60, uint64_t *untimed)
{
    struct elig_lag *t;
    uint64_t through, last;
    assert_int_equal(elig_lag_create(&t), 0);
    assert_int_equal(elig_db_lag_table(ts.data, t, &through, &last, untimed), 0);
    struct elig_lag_row *rows;
    *events = *late_31_60 = 0;
    long n = elig_lag_rows(t, 0, &rows);
    for (long i = 0; i < n; i++)
        for (unsigned b = 0; b < ELIG_LAG_BUCKETS; b++) {
            *events += rows[i].count[b];
            if (b == ELIG_LAG_31_60)
                *late_31_60 += rows[i].count[b];
        }
    free(rows);
    elig_lag_destroy(t);
}

static void test_store(void **state)
{
    (void)state;
    struct elig_db *db = test_store_open(&ts, NULL);
    submit(db, 0, 2, true);  /* 2 on time */
    submit(db, 1, 40, true); /* 2 in 31-60: entered in March */
    submit(db, 2, 0, false); /* 2 without an id: logged with no entry time */
    uint64_t counts[ELIG_LAG_CLASSES][ELIG_LAG_BUCKETS], days[ELIG_LAG_CLASSES];
    elig_db_lag_counts(db, counts, days);
    assert_int_equal(counts[ELIG_LAG_ACQUIRE][ELIG_LAG_0_5], 2);
    assert_int_equal(counts[ELIG_LAG_ACQUIRE][ELIG_LAG_31_60], 2);
    assert_int_equal(days[ELIG_LAG_ACQUIRE], 2 * 2 + 2 * 40);
    uint64_t ev, late, untimed;
    store_feb(&ev, &late, &untimed);
    assert_int_equal(ev, 4);
    assert_int_equal(late, 2);
    assert_int_equal(untimed, 2);
    /* a snapshot folds the log into DATA/lag, then prunes it: the same table */
    struct elig_snap_info info;
    assert_int_equal(elig_db_snapshot(db, &info), 0);
    submit(db, 3, 45, true);
    store_feb(&ev, &late, &untimed);
    assert_int_equal(ev, 6);
    assert_int_equal(late, 4);
    assert_int_equal(elig_db_snapshot(db, &info), 0); /* the fold starts after the last one */
    store_feb(&ev, &late, &untimed);
    assert_int_equal(ev, 6);
    assert_int_equal(late, 4);
    /* a damaged DATA/lag is named, and the log it would have folded stays */
    submit(db, 4, 3, true);
    char path[400];
    snprintf(path, sizeof path, "%s/lag", ts.data);
    uint8_t x = 0xff;
    test_poke(path, 9, &x, 1);
    assert_int_equal(elig_db_snapshot(db, &info), -ELIG_ELAGFILE);
    struct elig_lag *t;
    uint64_t through, last;
    assert_int_equal(elig_lag_create(&t), 0);
    assert_int_equal(elig_db_lag_table(ts.data, t, &through, &last, &untimed), -ELIG_ELAGFILE);
    elig_lag_destroy(t);
    elig_db_close(db);
    /* restarted: the live counts begin again, the store's table does not */
    x ^= 0xff; /* byte 9 of the LSN was 0 */
    test_poke(path, 9, &x, 1);
    db = test_store_open(&ts, NULL);
    elig_db_lag_counts(db, counts, days);
    assert_int_equal(counts[ELIG_LAG_ACQUIRE][ELIG_LAG_0_5], 0);
    store_feb(&ev, &late, &untimed);
    assert_int_equal(ev, 8);
    assert_int_equal(late, 4);
    elig_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buckets),
        cmocka_unit_test_setup_teardown(test_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
