/* SPDX-License-Identifier: MIT */
/*
 * test_db: the store: submitted events are logged then applied; a
 * restart is warm and replays nothing; snapshot + log tail rebuilds the same
 * index as the whole history (verify finds them identical); and a record
 * changed in the segment behind the log's back is caught by verify. Chunks:
 * a chunk sent again is answered with its first result and logged once,
 * across warm and cold restarts; its id with other events is refused.
 * A store made from another store's snapshot goes on after its LSN.
 * Grow: the index is rebuilt larger beside the live one and takes its path,
 * the old one marked replaced, the sizes recorded; a full store refuses
 * updates without logging them until a grow rebuilds it from the log.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_chunk.h"
#include "elig_db.h"
#include "elig_error.h"
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

/* n ACQUIRE events of persons base.. with keys base..; the submit's result. */
static int try_acquires(struct elig_db *db, unsigned base, unsigned n)
{
    struct elig_event *evs = calloc(n, sizeof *evs);
    int *status = calloc(n, sizeof *status);
    assert_non_null(evs);
    assert_non_null(status);
    for (unsigned i = 0; i < n; i++) {
        char num[16];
        snprintf(num, sizeof num, "%u", base + i);
        struct elig_key k = test_key("01130012", "77", num, "");
        evs[i].kind = ELIG_EV_ACQUIRE;
        evs[i].effective = test_date("2020-04-01");
        memcpy(evs[i].source, k.insurer, ELIG_INSURER_LEN);
        evs[i].u.acquire = test_record(&k, base + i, "1970-01-01", "2020-04-01", "", "");
    }
    uint64_t first;
    int rc = elig_db_submit(db, evs, n, status, &first);
    for (unsigned i = 0; rc == 0 && i < n; i++)
        assert_int_equal(status[i], 0);
    free(evs);
    free(status);
    return rc;
}

static void submit_acquires(struct elig_db *db, unsigned base, unsigned n)
{
    assert_int_equal(try_acquires(db, base, n), 0);
}

static void verify_identical(const struct elig_index *live, uint64_t items)
{
    struct elig_db_verify rep;
    assert_int_equal(elig_db_verify(ts.data, live, ts.scratch, &rep), 0);
    assert_int_equal(rep.only_live, 0);
    assert_int_equal(rep.only_rebuilt, 0);
    assert_int_equal(rep.live_lsn, rep.rebuilt_lsn);
    assert_int_equal(rep.live_items, items);
    assert_int_equal(access(ts.scratch, F_OK), -1); /* scratch removed */
}

static void test_warm_cold_and_verify(void **state)
{
    (void)state;
    struct elig_db_start st;
    struct elig_db *db = test_store_open(&ts, &st);
    assert_false(st.warm);
    submit_acquires(db, 100, 50);
    elig_db_close(db);

    db = test_store_open(&ts, &st);
    assert_true(st.warm);
    assert_int_equal(st.replayed, 0);
    assert_int_equal(st.applied_lsn, 50);
    struct elig_snap_info info;
    assert_int_equal(elig_db_snapshot(db, &info), 0);
    assert_int_equal(info.lsn, 50);
    assert_int_equal(info.records, 50);
    submit_acquires(db, 200, 20);
    /* snapshot (50) + tail (20) rebuilds what the whole history built */
    verify_identical(elig_db_index(db), 70); /* 70 records; no cards, no insurer names */
    elig_db_close(db);

    /* cold from the snapshot: 20 records replayed */
    assert_int_equal(unlink(ts.seg), 0);
    db = test_store_open(&ts, &st);
    assert_false(st.warm);
    assert_int_equal(st.snapshot_lsn, 50);
    assert_int_equal(st.replayed, 20);
    elig_db_close(db);
}

/*
 * A store made from another store's snapshot (a new cluster node): the copy
 * is this store's (the snapshot's tag rewritten), the store starts cold from
 * it with no log of its own, and its LSNs go on after the snapshot's, across
 * a warm restart. A damaged source leaves nothing behind.
 */
static void test_store_from_another_stores_snapshot(void **state)
{
    (void)state;
    struct elig_db_start st;
    struct elig_db *db = test_store_open(&ts, &st);
    submit_acquires(db, 100, 40);
    struct elig_snap_info info;
    assert_int_equal(elig_db_snapshot(db, &info), 0);
    assert_int_equal(info.lsn, 40);
    elig_db_close(db);
    char src[400], other[300], snaps[400], seg2[300];
    snprintf(src, sizeof src, "%s/snapshots/snapshot-%020d.els", ts.data, 40);
    snprintf(other, sizeof other, "%s/other", ts.dir);
    snprintf(snaps, sizeof snaps, "%s/snapshots", other);
    snprintf(seg2, sizeof seg2, "%s/other.seg", ts.dir);

    struct elig_store_info made = { .capacity = 1000 };
    assert_int_equal(elig_store_new(&made), 0);
    assert_int_equal(mkdir(other, 0700), 0);
    assert_int_equal(elig_store_write(other, &made), 0);
    /* a damaged source: refused whole, nothing left in the directory */
    char bad[400];
    snprintf(bad, sizeof bad, "%s/bad.els", ts.dir);
    FILE *in = fopen(src, "rb"), *out = fopen(bad, "wb");
    assert_non_null(in);
    assert_non_null(out);
    int ch;
    for (long i = 0; (ch = fgetc(in)) != EOF; i++)
        fputc(i == 8192 + 8 ? ch ^ 0x40 : ch, out); /* a byte of the image (the index's meta) */
    fclose(in);
    fclose(out);
    struct elig_snap_info copied;
    assert_int_equal(elig_snap_copy(bad, snaps, 0x01020304, &copied), -ELIG_ESNAPSHOT);
    char left[8][4096];
    assert_int_equal(elig_snap_list(snaps, left, 8), 0);

    uint8_t id[16];
    elig_store_id_bytes(&made, id);
    assert_int_equal(elig_snap_copy(src, snaps,
                                    (uint32_t)id[0] | (uint32_t)id[1] << 8 | (uint32_t)id[2] << 16 |
                                        (uint32_t)id[3] << 24,
                                    &copied),
                     0);
    assert_int_equal(copied.lsn, 40);
    assert_int_equal(copied.records, 40);
    struct elig_db_params p = { .data_dir = other, .segment_path = seg2 };
    assert_int_equal(elig_db_open(&p, &db, &st), 0);
    assert_false(st.warm);
    assert_int_equal(st.snapshot_lsn, 40);
    assert_int_equal(st.applied_lsn, 40);
    int status[1];
    uint64_t first = 0;
    struct elig_event ev = { .kind = ELIG_EV_ACQUIRE, .effective = test_date("2020-04-01") };
    struct elig_key k = test_key("01130012", "77", "999", "");
    memcpy(ev.source, k.insurer, ELIG_INSURER_LEN);
    ev.u.acquire = test_record(&k, 999, "1970-01-01", "2020-04-01", "", "");
    assert_int_equal(elig_db_submit(db, &ev, 1, status, &first), 0);
    assert_int_equal(first, 41); /* after the snapshot's, not from 1 */
    elig_db_close(db);
    assert_int_equal(elig_db_open(&p, &db, &st), 0); /* warm: the log explains the segment */
    assert_true(st.warm);
    assert_int_equal(st.applied_lsn, 41);
    elig_db_close(db);
}

/* n ACQUIREs of persons base.., the one at reject_at (if < n) a LOSS of a key with none. */
static void make_chunk(struct elig_event *evs, unsigned base, unsigned n, unsigned reject_at)
{
    for (unsigned i = 0; i < n; i++) {
        char num[16];
        snprintf(num, sizeof num, "%u", base + i);
        struct elig_key k = test_key("01130012", "77", num, "");
        memset(&evs[i], 0, sizeof evs[i]);
        evs[i].kind = ELIG_EV_ACQUIRE;
        evs[i].effective = test_date("2020-04-01");
        memcpy(evs[i].source, k.insurer, ELIG_INSURER_LEN);
        evs[i].u.acquire = test_record(&k, base + i, "1970-01-01", "2020-04-01", "", "");
        if (i == reject_at) {
            evs[i].kind = ELIG_EV_LOSS;
            evs[i].effective = test_date("2020-05-01");
            evs[i].u.loss.key = test_key("01130012", "77", "999999", "");
            evs[i].u.loss.reason = 1;
        }
    }
}

static void test_chunks_applied_once(void **state)
{
    (void)state;
    enum { N = 30 };
    struct elig_event evs[N], other[N];
    int status[N], again[N];
    uint8_t id[ELIG_CHUNK_ID_LEN] = "chunk-0000000001";
    make_chunk(evs, 100, N, 7);
    make_chunk(other, 500, N, N);
    struct elig_db *db = test_store_open(&ts, NULL);
    uint64_t first = 0, first2 = 0;
    bool dup = true;
    assert_int_equal(elig_db_submit_chunk(db, id, 0, evs, N, status, &first, &dup), 0);
    assert_false(dup);
    assert_int_equal(first, 2); /* LSN 1 is the chunk's own record */
    assert_int_equal(status[7], -ELIG_ENOCURRENT);
    assert_int_equal(status[6], 0);
    uint64_t lsn = elig_index_applied_lsn(elig_db_index(db));
    assert_int_equal(lsn, N + 1);

    /* the same chunk again: the first answer, nothing logged */
    memset(again, 0x55, sizeof again);
    assert_int_equal(elig_db_submit_chunk(db, id, 0, evs, N, again, &first2, &dup), 0);
    assert_true(dup);
    assert_int_equal(first2, first);
    assert_memory_equal(again, status, sizeof status);
    assert_int_equal(elig_index_applied_lsn(elig_db_index(db)), lsn);
    /* the same id with other events: refused, nothing logged */
    assert_int_equal(elig_db_submit_chunk(db, id, 0, other, N, again, &first2, &dup),
                     -ELIG_ECHUNKID);
    assert_int_equal(elig_index_applied_lsn(elig_db_index(db)), lsn);
    /* its result read back (a cluster node's answer): for its own events only */
    memset(again, 0x55, sizeof again);
    assert_int_equal(elig_db_chunk_result(db, id, evs, N, again, &first2), 0);
    assert_memory_equal(again, status, sizeof status);
    assert_int_equal(first2, first);
    assert_int_equal(elig_db_chunk_result(db, id, other, N, again, &first2), -ELIG_ECHUNKID);
    assert_int_equal(elig_db_chunk_result(db, id, evs, N - 1, again, &first2), -ELIG_ECHUNKID);
    uint8_t unknown[ELIG_CHUNK_ID_LEN] = "chunk-0000000099";
    assert_int_equal(elig_db_chunk_result(db, unknown, evs, N, again, &first2), -ENOENT);
    elig_db_close(db);

    /* warm restart: nothing replayed, the chunk is still known (the chunk file) */
    struct elig_db_start st;
    db = test_store_open(&ts, &st);
    assert_true(st.warm);
    memset(again, 0x55, sizeof again);
    assert_int_equal(elig_db_submit_chunk(db, id, 0, evs, N, again, &first2, &dup), 0);
    assert_true(dup);
    assert_memory_equal(again, status, sizeof status);
    elig_db_close(db);

    /* cold restart without the chunk file: the replay rebuilds the chunk's result */
    char path[400];
    snprintf(path, sizeof path, "%s/chunks", ts.data);
    assert_int_equal(unlink(path), 0);
    assert_int_equal(unlink(ts.seg), 0);
    db = test_store_open(&ts, &st);
    assert_false(st.warm);
    assert_int_equal(st.replayed, N + 1);
    memset(again, 0x55, sizeof again);
    assert_int_equal(elig_db_submit_chunk(db, id, 0, evs, N, again, &first2, &dup), 0);
    assert_true(dup);
    assert_int_equal(first2, first);
    assert_memory_equal(again, status, sizeof status);
    verify_identical(elig_db_index(db), N - 1);
    elig_db_close(db);
}

/* A writer that died inside a chunk leaves a segment the next start does not trust. */
static void test_chunk_interrupted(void **state)
{
    (void)state;
    struct elig_db *db = test_store_open(&ts, NULL);
    submit_acquires(db, 1, 5);
    elig_db_close(db);
    struct elig_index *ix;
    assert_int_equal(elig_index_open(ts.seg, ELIG_SEG_WRITER, &ix), 0);
    elig_index_unit_begin(ix);
    elig_index_begin(ix);
    elig_index_commit(ix, 5); /* a record of the unit committed, the unit not ended */
    elig_index_close(ix, false);
    struct elig_db_start st;
    db = test_store_open(&ts, &st);
    assert_false(st.warm);
    assert_string_equal(st.cold_reason, "segment left mid-change by a writer that died");
    assert_int_equal(st.replayed, 5);
    elig_db_close(db);
}

static void test_verify_catches_a_change_behind_the_logs_back(void **state)
{
    (void)state;
    struct elig_db *db = test_store_open(&ts, NULL);
    submit_acquires(db, 1, 10);
    elig_db_close(db);

    /* change one record directly in the segment: no log record says so */
    struct elig_index *ix;
    assert_int_equal(elig_index_open(ts.seg, ELIG_SEG_WRITER, &ix), 0);
    struct elig_key k = test_key("01130012", "77", "5", "");
    uint32_t ref;
    size_t n;
    assert_int_equal(elig_index_key_records(ix, &k, &ref, 1, &n), 0);
    assert_int_equal(n, 1);
    struct elig_record r;
    assert_int_equal(elig_index_read(ix, ref, &r), 0);
    r.copay_pct = 20;
    assert_int_equal(elig_index_replace(ix, ref, &r), 0);
    elig_index_close(ix, true);

    assert_int_equal(elig_index_open(ts.seg, ELIG_SEG_READONLY, &ix), 0);
    struct elig_db_verify rep;
    assert_int_equal(elig_db_verify(ts.data, ix, ts.scratch, &rep), 0);
    assert_int_equal(rep.only_live, 1);
    assert_int_equal(rep.only_rebuilt, 1);
    elig_index_close(ix, false);
}

static void test_grow(void **state)
{
    (void)state;
    struct elig_db_start st;
    struct elig_db *db = test_store_open(&ts, &st);
    submit_acquires(db, 100, 700); /* persons: 801 fit (80% of 1000) */
    struct elig_index *old = NULL, *reader;
    assert_int_equal(elig_index_open(ts.seg, ELIG_SEG_READONLY, &reader), 0);
    struct elig_db_grow g;
    const struct elig_index_params smaller = { .capacity = 500 }, doubled = { 0 };
    assert_int_equal(elig_db_grow(db, &smaller, &old, &g), -ELIG_EGROWSIZE);
    assert_false(elig_index_replaced(reader));
    assert_int_equal(elig_db_grow(db, &doubled, &old, &g), 0);
    assert_int_equal(g.before.capacity, 1000);
    assert_int_equal(g.after.capacity, 2000);
    assert_int_equal(g.records, 700);
    assert_int_equal(g.lsn, 700);
    assert_false(g.was_full);
    assert_true(elig_index_replaced(reader)); /* readers of the old path are told */
    assert_true(elig_index_replaced(old));
    assert_false(elig_index_replaced(elig_db_index(db)));
    elig_index_close(old, false);
    elig_index_close(reader, false);
    char grow_tmp[320];
    snprintf(grow_tmp, sizeof grow_tmp, "%s.grow", ts.seg);
    assert_int_equal(access(grow_tmp, F_OK), -1);
    struct elig_store_info rec;
    assert_int_equal(elig_store_read(ts.data, &rec, NULL), 0);
    assert_int_equal(rec.capacity, 2000);
    /* more than the old capacity now fits, and the index is what the log says */
    submit_acquires(db, 5000, 600);
    verify_identical(elig_db_index(db), 1300);
    elig_db_close(db);
    db = test_store_open(&ts, &st); /* warm on the grown segment, its size from DATA/store */
    assert_true(st.warm);
    struct elig_index_stats s;
    elig_index_stats(elig_db_index(db), &s);
    assert_int_equal(s.capacity, 2000);
    elig_db_close(db);
}

static void test_grow_a_full_store(void **state)
{
    (void)state;
    struct elig_db_start st;
    struct elig_db *db = test_store_open(&ts, &st);
    submit_acquires(db, 100, 800);
    /* persons fill at 801: the batch is logged, 1 of its 20 is applied */
    assert_int_equal(try_acquires(db, 2000, 20), -ELIG_EFULL);
    assert_int_equal(elig_index_applied_lsn(elig_db_index(db)), 801);
    /* full: nothing more is logged */
    assert_int_equal(try_acquires(db, 3000, 5), -ELIG_EFULL);
    elig_db_close(db);
    db = test_store_open(&ts, &st); /* a restart serves what fits and says the store is full */
    assert_int_equal(st.full_lsn, 802);
    assert_int_equal(st.applied_lsn, 801);
    assert_int_equal(try_acquires(db, 3000, 5), -ELIG_EFULL);
    struct elig_snap_info info; /* no image of a store that stopped inside its log */
    assert_int_equal(elig_db_snapshot(db, &info), -ELIG_EFULL);
    struct elig_index *old;
    struct elig_db_grow g;
    const struct elig_index_params want = { .capacity = 1500 };
    assert_int_equal(elig_db_grow(db, &want, &old, &g), 0);
    elig_index_close(old, false);
    assert_true(g.was_full);
    assert_int_equal(g.records, 820); /* every logged update, none of the refused ones */
    assert_int_equal(g.lsn, 820);
    submit_acquires(db, 3000, 5);
    verify_identical(elig_db_index(db), 825);
    elig_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_warm_cold_and_verify, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_from_another_stores_snapshot, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunks_applied_once, setup, teardown),
        cmocka_unit_test_setup_teardown(test_chunk_interrupted, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_grow_a_full_store, setup, teardown),
        cmocka_unit_test_setup_teardown(test_verify_catches_a_change_behind_the_logs_back, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
