/* SPDX-License-Identifier: MIT */
/*
 * test_log_crash: real crashes of a log writer: rounds of a child process
 * appending from several threads, reporting each acknowledged record to the
 * parent through a pipe, SIGKILLed after a seeded number of acknowledgements
 * (so at any point: mid-batch, mid-write, mid-sync, between). After each
 * kill the parent reopens the log (truncating a torn tail) and checks that
 * every acknowledged record is there with its own payload, that the LSNs
 * run without a gap or duplicate, and the next round appends on from there.
 * Bounded: a fixed number of rounds and acknowledgements, fixed seed.
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elig_error.h"
#include "elig_log.h"
#include "test_support.h"

enum { ROUNDS = 60, THREADS = 4, ACKS_MAX = 400, PER_THREAD = 100000 };

/* What a child reports for each acknowledged append. */
struct ack {
    uint64_t lsn;
    uint32_t thread, seq;
};

static char dir[256];
static int ack_fd; /* child: write end of the pipe */

static size_t payload(uint32_t thread, uint32_t seq, uint8_t *buf)
{
    size_t len = 8 + (thread * 7 + seq) % 200;
    memcpy(buf, &thread, 4);
    memcpy(buf + 4, &seq, 4);
    for (size_t i = 8; i < len; i++)
        buf[i] = (uint8_t)(thread + seq + i);
    return len;
}

struct writer {
    struct elig_log *log;
    uint32_t thread;
};

static void *writer_main(void *p)
{
    struct writer *w = p;
    uint8_t buf[256];
    for (uint32_t seq = 0; seq < PER_THREAD; seq++) {
        struct ack a = { .thread = w->thread, .seq = seq };
        if (elig_log_append(w->log, 7, buf, payload(w->thread, seq, buf), &a.lsn) != 0)
            _exit(3);
        if (write(ack_fd, &a, sizeof a) != (ssize_t)sizeof a)
            _exit(3);
    }
    return NULL;
}

static void child(int fd)
{
    ack_fd = fd;
    struct elig_log_params p = { .dir = dir,
                                 .tail = ELIG_LOG_TAIL_TRUNCATE,
                                 .segment_bytes = 64 * 1024 };
    struct elig_log *log;
    if (elig_log_open(&p, &log, NULL) != 0)
        _exit(2);
    pthread_t t[THREADS];
    struct writer w[THREADS];
    for (uint32_t i = 0; i < THREADS; i++) {
        w[i] = (struct writer){ log, i };
        pthread_create(&t[i], NULL, writer_main, &w[i]);
    }
    for (int i = 0; i < THREADS; i++)
        pthread_join(t[i], NULL);
    _exit(0);
}

struct recovered {
    uint64_t next; /* LSN expected next */
    int bad;
};

static struct ack *acks;
static size_t nacks;

static int check_record(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *p, size_t len)
{
    struct recovered *r = ctx;
    uint32_t thread, seq;
    uint8_t want[256];
    if (lsn != r->next || kind != 7 || len < 8)
        r->bad++;
    r->next = lsn + 1;
    if (len >= 8) {
        memcpy(&thread, p, 4);
        memcpy(&seq, p + 4, 4);
        if (thread >= THREADS || payload(thread, seq, want) != len || memcmp(want, p, len) != 0)
            r->bad++;
    }
    return 0;
}

/* Every acknowledged record must be in the log, at its LSN, with its payload. */
static int check_acked(void *ctx, uint64_t lsn, uint16_t kind, const uint8_t *p, size_t len)
{
    (void)kind;
    (void)len;
    size_t *found = ctx;
    for (size_t i = 0; i < nacks; i++) {
        if (acks[i].lsn != lsn)
            continue;
        uint32_t thread, seq;
        memcpy(&thread, p, 4);
        memcpy(&seq, p + 4, 4);
        if (thread == acks[i].thread && seq == acks[i].seq)
            (*found)++;
    }
    return 0;
}

static void test_sigkill_never_loses_an_ack(void **state)
{
    (void)state;
    unsigned seed = 20261122;
    acks = malloc(ROUNDS * (ACKS_MAX + PER_THREAD / 100) * sizeof *acks);
    assert_non_null(acks);
    size_t cap = ROUNDS * (ACKS_MAX + PER_THREAD / 100);
    uint64_t truncations = 0;
    for (int round = 0; round < ROUNDS; round++) {
        int fd;
        int pid = test_spawn(child, &fd);
        seed = seed * 1103515245u + 12345u;
        size_t kill_after = 1 + (seed >> 8) % ACKS_MAX, got = 0;
        struct ack a;
        while (got < kill_after && read(fd, &a, sizeof a) == (ssize_t)sizeof a) {
            assert_true(nacks < cap);
            acks[nacks++] = a;
            got++;
        }
        test_kill(pid);
        /* acknowledgements already in the pipe count too */
        while (read(fd, &a, sizeof a) == (ssize_t)sizeof a && nacks < cap)
            acks[nacks++] = a;
        close(fd);

        /* recover: a torn tail is cut, and it never reaches an acknowledged record */
        struct elig_log_params p = { .dir = dir, .tail = ELIG_LOG_TAIL_TRUNCATE };
        struct elig_log_tail_report rep;
        struct elig_log *log;
        assert_int_equal(elig_log_open(&p, &log, &rep), 0);
        truncations += rep.stop != ELIG_LOG_STOP_END;
        elig_log_close(log);
        struct recovered r = { .next = 1 };
        assert_int_equal(elig_log_scan(dir, 1, check_record, &r, &rep), 0);
        assert_int_equal(r.bad, 0);
        assert_int_equal(rep.stop, ELIG_LOG_STOP_END);
        size_t found = 0;
        assert_int_equal(elig_log_scan(dir, 1, check_acked, &found, NULL), 0);
        assert_int_equal(found, nacks);
    }
    print_message("%d kills, %zu acknowledged appends all recovered, %llu torn tails cut\n", ROUNDS,
                  nacks, (unsigned long long)truncations);
    free(acks);
}

static int setup(void **state)
{
    (void)state;
    /* a disk file system, so that fdatasync is real */
    snprintf(dir, sizeof dir, "%s/elig-crash-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
    return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_sigkill_never_loses_an_ack, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
