/* SPDX-License-Identifier: MIT */
/*
 * test_log_shim: acknowledgement really waits for durability. Built with
 * ELIG_LOG_TEST_IO: the log's batch writes go to a shim that keeps them in
 * memory, as a page cache would, and puts them in the file only when the
 * sync comes. At a seeded sync the shim "loses power": the unsynced bytes
 * are dropped (a torn prefix of them reaches the file) and the sync fails.
 * Every record acknowledged before must be recovered; the failed sync must
 * stop the log for good (no retry); reopening cuts the torn tail.
 * In the spirit of SQLite's crash VFS.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_error.h"
#include "elig_log.h"
#include "test_support.h"

enum { THREADS = 4, PER_THREAD = 400, ROUNDS = 8 };

static char dir[256];

/* The shim: one pending write (the log's leader writes then syncs, one batch at a time). */
static struct {
    pthread_mutex_t mu;
    uint8_t *buf;
    size_t len;
    uint64_t off;
    int fd;
    unsigned syncs, crash_at;
    bool crashed;
} shim = { .mu = PTHREAD_MUTEX_INITIALIZER };

static int shim_write(int fd, const void *buf, size_t len, uint64_t off)
{
    pthread_mutex_lock(&shim.mu);
    free(shim.buf);
    shim.buf = malloc(len);
    memcpy(shim.buf, buf, len);
    shim.len = len;
    shim.off = off;
    shim.fd = fd;
    pthread_mutex_unlock(&shim.mu);
    return 0;
}

static int shim_sync(int fd)
{
    int rc = 0;
    pthread_mutex_lock(&shim.mu);
    if (shim.crashed) {
        rc = -EIO;
    } else if (++shim.syncs == shim.crash_at) {
        /* power lost before the data reached the disk: a torn prefix may have */
        if (shim.len > 1 && pwrite(fd, shim.buf, shim.len / 2, (off_t)shim.off) < 0)
            rc = -errno;
        shim.crashed = true;
        rc = rc ? rc : -EIO;
    } else if (pwrite(fd, shim.buf, shim.len, (off_t)shim.off) != (ssize_t)shim.len ||
               fdatasync(fd) < 0) {
        rc = -EIO;
    }
    shim.len = 0;
    pthread_mutex_unlock(&shim.mu);
    return rc;
}

static const struct elig_log_test_io shim_io = { shim_write, shim_sync };

struct writer {
    struct elig_log *log;
    uint32_t thread;
    uint64_t acked[PER_THREAD];
    unsigned nacked;
    int failed_with;
};

static size_t payload(uint32_t thread, uint32_t seq, uint8_t *buf)
{
    size_t len = 8 + (thread + seq) % 40;
    memcpy(buf, &thread, 4);
    memcpy(buf + 4, &seq, 4);
    memset(buf + 8, (int)(thread ^ seq), len - 8);
    return len;
}

static void *writer_main(void *p)
{
    struct writer *w = p;
    uint8_t buf[64];
    for (uint32_t seq = 0; seq < PER_THREAD; seq++) {
        uint64_t lsn;
        int rc = elig_log_append(w->log, 1, buf, payload(w->thread, seq, buf), &lsn);
        if (rc != 0) {
            w->failed_with = rc;
            break;
        }
        w->acked[w->nacked++] = lsn;
    }
    return NULL;
}

static int count_lsn(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *p, size_t len)
{
    (void)kind;
    (void)p;
    (void)len;
    uint8_t *seen = ctx;
    if (lsn < THREADS * PER_THREAD * ROUNDS + 1)
        seen[lsn] = 1;
    return 0;
}

static void test_ack_waits_for_the_sync(void **state)
{
    (void)state;
    unsigned seed = 7;
    uint8_t *seen = calloc(THREADS * PER_THREAD * ROUNDS + 1, 1);
    assert_non_null(seen);
    for (int round = 0; round < ROUNDS; round++) {
        seed = seed * 1103515245u + 12345u;
        shim.syncs = 0;
        shim.crashed = false;
        shim.crash_at = 2 + (seed >> 8) % 40;
        elig_log_test_set_io(&shim_io);
        struct elig_log_params p = { .dir = dir, .tail = ELIG_LOG_TAIL_TRUNCATE };
        struct elig_log_tail_report rep;
        struct elig_log *log;
        assert_int_equal(elig_log_open(&p, &log, &rep), 0);
        static struct writer w[THREADS];
        pthread_t t[THREADS];
        for (uint32_t i = 0; i < THREADS; i++) {
            memset(&w[i], 0, sizeof w[i]);
            w[i].log = log;
            w[i].thread = i;
            assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
        }
        for (int i = 0; i < THREADS; i++)
            pthread_join(t[i], NULL);
        /* the failed sync is fatal: everyone stopped with it, and it stays failed */
        assert_true(shim.crashed);
        assert_int_equal(elig_log_failed(log), -EIO);
        uint8_t b = 0;
        assert_int_equal(elig_log_append(log, 1, &b, 1, NULL), -EIO);
        for (int i = 0; i < THREADS; i++)
            assert_int_equal(w[i].failed_with, -EIO);
        elig_log_close(log);
        elig_log_test_set_io(NULL);

        /* after the "power loss": every acknowledged record is there */
        assert_int_equal(elig_log_open(&p, &log, &rep), 0);
        elig_log_close(log);
        memset(seen, 0, THREADS * PER_THREAD * ROUNDS + 1);
        assert_int_equal(elig_log_scan(dir, 1, count_lsn, seen, &rep), 0);
        assert_int_equal(rep.stop, ELIG_LOG_STOP_END);
        for (int i = 0; i < THREADS; i++)
            for (unsigned k = 0; k < w[i].nacked; k++)
                assert_int_equal(seen[w[i].acked[k]], 1);
    }
    free(seen);
    free(shim.buf);
}

static int setup(void **state)
{
    (void)state;
    snprintf(dir, sizeof dir, "%s/elig-shim-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    return test_rm_tree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ack_waits_for_the_sync, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
