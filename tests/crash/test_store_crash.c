/* SPDX-License-Identifier: MIT */
/*
 * test_store_crash: real crashes of the store's writer: a child submits
 * batches of updates (acquisitions, then changes and losses of them, card
 * registrations) and reports each acknowledged batch; it is SIGKILLed after
 * a seeded number of them, anywhere in logging or applying. The parent then
 * opens the store (warm if the segment is consistent, cold from the log if
 * the writer died mid-change) and checks: every acknowledged update is in
 * the log, and the index equals a rebuild from the log, item by item
 * (elig_db_verify): nothing applied twice, nothing half.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elig_db.h"
#include "elig_error.h"
#include "test_support.h"

enum { ROUNDS = 30, BATCH = 512, ACKS_MAX = 8 };

static struct test_store ts; /* the running test's store (setup makes it) */

static struct elig_db *open_db(struct elig_db_start *st)
{
    struct elig_db_params p = { .data_dir = ts.data,
                                .segment_path = ts.seg,
                                .tail = ELIG_LOG_TAIL_TRUNCATE };
    p.index.capacity = 200000;
    struct elig_db *db = NULL;
    return elig_db_open(&p, &db, st) == 0 ? db : NULL;
}

/* Event i of the sequence: an ACQUIRE, then later a CHANGE, a LOSS and a card for it. */
static void make_event(uint64_t i, struct elig_event *ev)
{
    uint64_t person = i / 4 + 1;
    char num[24];
    snprintf(num, sizeof num, "%llu", (unsigned long long)person);
    struct elig_key k = test_key("06130017", "5", num, "");
    memset(ev, 0, sizeof *ev);
    memcpy(ev->source, k.insurer, ELIG_INSURER_LEN);
    switch (i % 4) {
    case 0:
        ev->kind = ELIG_EV_ACQUIRE;
        ev->effective = test_date("2020-01-01");
        ev->u.acquire = test_record(&k, person, "1970-01-01", "2020-01-01", "", "");
        break;
    case 1:
        ev->kind = ELIG_EV_CHANGE;
        ev->effective = test_date("2022-01-01");
        ev->u.change.key = k;
        ev->u.change.fields = ELIG_CHG_COPAY;
        ev->u.change.values.copay_pct = 20;
        break;
    case 2:
        ev->kind = ELIG_EV_CARD_REGISTER;
        ev->effective = test_date("2022-06-01");
        ev->u.card.card_id = 0xC0000000ULL + person;
        ev->u.card.person_id = person;
        ev->u.card.cert_expiry = test_date("2030-01-31");
        break;
    default:
        ev->kind = ELIG_EV_LOSS;
        ev->effective = test_date("2024-01-01");
        ev->u.loss.key = k;
        ev->u.loss.reason = ELIG_LOSS_OTHER;
        break;
    }
}

static void child(int ack_fd)
{
    struct elig_db *db = open_db(NULL);
    if (!db)
        _exit(2);
    /* continue the sequence where the log ends */
    uint64_t next = elig_index_applied_lsn(elig_db_index(db));
    struct elig_event evs[BATCH];
    int status[BATCH];
    for (;;) {
        for (int i = 0; i < BATCH; i++)
            make_event(next + (uint64_t)i, &evs[i]);
        uint64_t first;
        if (elig_db_submit(db, evs, BATCH, status, &first) != 0)
            _exit(3);
        next += BATCH;
        uint64_t last = first + BATCH - 1;
        if (write(ack_fd, &last, sizeof last) != (ssize_t)sizeof last)
            _exit(3);
    }
}

static void test_killed_writer_converges(void **state)
{
    (void)state;
    unsigned seed = 99;
    uint64_t acked = 0, warm = 0, cold = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int fd;
        int pid = test_spawn(child, &fd);
        seed = seed * 1103515245u + 12345u;
        unsigned kill_after = 1 + (seed >> 8) % ACKS_MAX, got = 0;
        uint64_t lsn;
        while (got < kill_after && read(fd, &lsn, sizeof lsn) == (ssize_t)sizeof lsn) {
            acked = lsn;
            got++;
        }
        /* then let it run on a seeded 0-2 ms, so the kill lands anywhere in the next
         * batch: encoding, logging, or applying (fault timing, not synchronisation) */
        struct timespec t0, t1;
        long spin_ns = (long)((seed >> 4) % 2000) * 1000;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        do
            clock_gettime(CLOCK_MONOTONIC, &t1);
        while ((t1.tv_sec - t0.tv_sec) * 1000000000L + (t1.tv_nsec - t0.tv_nsec) < spin_ns);
        test_kill(pid);
        while (read(fd, &lsn, sizeof lsn) == (ssize_t)sizeof lsn)
            acked = lsn;
        close(fd);

        struct elig_db_start st;
        struct elig_db *db = open_db(&st);
        assert_non_null(db);
        warm += st.warm;
        cold += !st.warm;
        assert_true(st.applied_lsn >= acked); /* every acknowledged update is there */
        struct elig_db_verify rep;
        assert_int_equal(elig_db_verify(ts.data, elig_db_index(db), ts.scratch, &rep), 0);
        assert_int_equal(rep.only_live, 0);
        assert_int_equal(rep.only_rebuilt, 0);
        assert_int_equal(rep.live_lsn, rep.rebuilt_lsn);
        elig_db_close(db);
    }
    print_message("%d kills: acknowledged through LSN %llu; %llu warm and %llu cold restarts, "
                  "each equal to a rebuild from the log\n",
                  ROUNDS, (unsigned long long)acked, (unsigned long long)warm,
                  (unsigned long long)cold);
}

static int setup(void **state)
{
    (void)state;
    snprintf(ts.dir, sizeof ts.dir, "%s/elig-crash-XXXXXX",
             getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    if (!mkdtemp(ts.dir))
        return -1;
    test_store_paths(ts.dir, ts.data, ts.seg, ts.scratch);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    return test_store_remove(&ts);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_killed_writer_converges, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
