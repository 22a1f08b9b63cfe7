/* SPDX-License-Identifier: MIT */
/*
 * test_eligd_hostile: eligd against clients that do not play by the
 * rules and disks that fill, as real processes on loopback.
 *
 * Memory: 100 connections that never authenticate, pipelining 1 KiB PINGs
 * and never reading, must not grow eligd's resident memory by 16 MiB in
 * all (each costs a few KiB: a small budget before AUTH); authenticated
 * connections that flood without reading are held to the connection memory
 * budget, the greediest closed and counted, while a polite client is still
 * answered, and their memory goes back to the system once they close. 200 refused AUTHs are all
 * counted but logged once a second. A peer that does not authenticate within the frame timeout is
 * closed.
 *
 * Full disk (a small tmpfs mounted by the test; skipped where mounting is
 * not allowed): an ADMIN_APPEND that does not fit is answered "unavailable"
 * with ENOSPC's own code, named so in eligd's log and counted in STATS; the
 * restart after the space is freed needs no flag, and the refused chunk is
 * either wholly there or not at all, and is applied once when sent again.
 *
 * Crash rounds (suite 'crash', names test_crash_*): SIGKILL at a seeded
 * moment during a 1,000-event ADMIN_APPEND, and the disk filled at a seeded
 * point of one, 30 rounds each: after the restart all 1,000 events or none;
 * the same chunk sent again is applied once.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "eligd_harness.h"
#include "elig_addr.h"
#include "elig_net_error.h"
#include "elig_le.h"

enum { CHUNK = 1000, ROUNDS = 30 };

/* A line "NAME: N kB" of /proc/PID/status (VmRSS, RssAnon), in KiB. */
static long status_kib(pid_t pid, const char *name)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    long kib = -1;
    size_t n = strlen(name);
    while (kib < 0 && fgets(line, sizeof line, f))
        if (strncmp(line, name, n) == 0 && line[n] == ':')
            kib = strtol(line + n + 1, NULL, 10);
    fclose(f);
    return kib;
}

static long rss_kib(pid_t pid)
{
    return status_kib(pid, "VmRSS");
}

/* Whether the process runs on jemalloc (the sanitizer builds do not). */
static bool uses_jemalloc(pid_t pid)
{
    char path[64], line[512];
    snprintf(path, sizeof path, "/proc/%d/maps", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, "libjemalloc") != NULL;
    fclose(f);
    return found;
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* A non-blocking TCP connection to addr ("127.0.0.1:PORT"). */
static int raw_connect(const char *addr)
{
    int fd = elig_addr_connect(addr);
    assert_true(fd >= 0);
    int fl = fcntl(fd, F_GETFL);
    assert_int_equal(fcntl(fd, F_SETFL, fl | O_NONBLOCK), 0);
    return fd;
}

/* Write pipelined PINGs of 1 KiB to every fd until each is full, or 3 s pass. */
static void flood_pings(const int *fds, int n, size_t per_conn_max)
{
    static uint8_t frame[ELIG_PROTO_HEADER + ELIG_PROTO_PING_MAX];
    struct elig_proto_header h = { .version = ELIG_PROTO_VERSION,
                                   .opcode = ELIG_OP_PING,
                                   .body_len = ELIG_PROTO_PING_MAX };
    elig_proto_header_encode(frame, &h);
    memset(frame + ELIG_PROTO_HEADER, 'p', ELIG_PROTO_PING_MAX);
    size_t *sent = calloc((size_t)n, sizeof *sent);
    bool *full = calloc((size_t)n, sizeof *full);
    double end = now_s() + 3;
    for (int open = n; open > 0 && now_s() < end;) {
        open = 0;
        for (int i = 0; i < n; i++) {
            if (full[i])
                continue;
            ssize_t w = send(fds[i], frame, sizeof frame, MSG_NOSIGNAL);
            if (w > 0)
                sent[i] += (size_t)w;
            if (w < 0 || sent[i] >= per_conn_max)
                full[i] = true; /* EAGAIN: eligd holds back; or closed by it */
            else
                open++;
        }
    }
    free(sent);
    free(full);
}

static void test_unauthenticated_memory(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, NULL);
    enum { N = 100 };
    int fds[N];
    long before = rss_kib(s.pid);
    for (int i = 0; i < N; i++)
        fds[i] = raw_connect(s.addr);
    flood_pings(fds, N, 4u << 20);
    /* eligd has read what it will: wait (bounded) until a STATS shows all were seen */
    struct elig_client *c = connect_fac(&s);
    uint64_t refused = 0;
    for (int i = 0; i < 200 && refused < N; i++) {
        refused = server_stat(c, ELIG_OP_STATS, "auth_refused");
        struct timespec ts = { 0, 10 * 1000000 };
        if (refused < N)
            nanosleep(&ts, NULL); /* polling a counter, bounded: not synchronisation */
    }
    long during = rss_kib(s.pid);
    uint64_t buffers = server_stat(c, ELIG_OP_STATS, "connection_buffer_bytes");
    print_message("rss %ld -> %ld KiB with %d unauthenticated flooders; buffers %llu bytes\n",
                  before, during, N, (unsigned long long)buffers);
    assert_true(refused >= N); /* each was cut off after its allowance of frames */
    assert_true(during - before < 16 * 1024);
    assert_true(buffers < (uint64_t)N * 64 * 1024);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    elig_client_close(c);
    server_finish(&s);
}

/* Authenticated flooders past the connection memory budget: the greediest are closed. */
static void test_memory_budget(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--trust-network", "--conn-memory-mb", "4", NULL };
    server_start(&s, extra);
    long anon0 = status_kib(s.pid, "RssAnon");
    enum { N = 12 };
    int fds[N];
    for (int i = 0; i < N; i++)
        fds[i] = raw_connect(s.addr);
    flood_pings(fds, N, 24u << 20); /* each would hold up to 8 MiB of answers: 12 pass 4 MiB */
    /* over the budget: a new connection is answered BUSY until the greediest are closed */
    struct elig_client *polite = NULL;
    struct elig_proto_header h;
    const uint8_t *body;
    int busy = 0;
    for (int i = 0; i < 500 && !polite; i++) {
        struct elig_client *c = connect_to(s.addr);
        if (elig_client_call(c, ELIG_OP_PING, "ok", 2, &h, &body) == 0 && h.status == ELIG_PS_OK) {
            polite = c;
            break;
        }
        busy += h.status == ELIG_PS_BUSY;
        elig_client_close(c);
        struct timespec ts = { 0, 10 * 1000000 };
        nanosleep(&ts, NULL); /* retrying as a client would, bounded */
    }
    assert_non_null(polite);
    /* the greediest are closed, one a tick per worker, until the total is under the budget */
    uint64_t held = UINT64_MAX;
    for (int i = 0; i < 1500 && held > 4u << 20; i++) {
        held = server_stat(polite, ELIG_OP_STATS, "connection_buffer_bytes");
        struct timespec ts = { 0, 10 * 1000000 };
        if (held > 4u << 20)
            nanosleep(&ts, NULL); /* polling a counter, bounded */
    }
    uint64_t closed = server_stat(polite, ELIG_OP_STATS, "connections_closed_memory");
    uint64_t refused = server_stat(polite, ELIG_OP_STATS, "connections_refused_memory");
    print_message("%llu connections closed for memory, %llu refused (%d seen busy); %llu bytes "
                  "held\n",
                  (unsigned long long)closed, (unsigned long long)refused, busy,
                  (unsigned long long)held);
    assert_true(closed >= 1);
    assert_true(held <= 4u << 20);
    assert_int_equal(refused, (uint64_t)busy);
    for (int i = 0; i < N; i++)
        close(fds[i]);
    /* their memory goes back to the system, not only to the allocator (jemalloc builds) */
    long anon = status_kib(s.pid, "RssAnon");
    for (int i = 0; i < 500 && anon > anon0 + 8192; i++) {
        struct timespec ts = { 0, 10 * 1000000 };
        nanosleep(&ts, NULL); /* polling the process's memory, bounded */
        anon = status_kib(s.pid, "RssAnon");
    }
    print_message("private memory %ld KiB at start, %ld KiB after the flooders closed\n", anon0,
                  anon);
    if (uses_jemalloc(s.pid))
        assert_true(anon <= anon0 + 8192);
    elig_client_close(polite);
    server_finish(&s);
}

/* A peer that does not authenticate in time is answered TIMEOUT and closed; one that did stays. */
static void test_auth_deadline(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--frame-timeout-ms", "300", NULL };
    server_start(&s, extra);
    struct elig_client *silent = connect_to(s.addr);
    struct elig_client *fac = connect_fac(&s);
    struct elig_proto_header h;
    const uint8_t *body;
    double t0 = now_s();
    assert_int_equal(elig_client_recv(silent, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_TIMEOUT);
    assert_int_equal(elig_client_recv(silent, &h, &body), -ECONNRESET);
    double waited = now_s() - t0;
    print_message("a silent peer was answered TIMEOUT and closed after %.2f s\n", waited);
    assert_true(waited >= 0.25);
    assert_int_equal(elig_client_call(fac, ELIG_OP_PING, "x", 1, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_OK); /* authenticated: no deadline */
    elig_client_close(silent);
    elig_client_close(fac);
    server_finish(&s);
}

/* Refused AUTHs are all counted, but one client failing in a loop cannot flood the log. */
static void test_auth_log_flood(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, NULL);
    enum { N = 200 };
    uint8_t wrong[32];
    memset(wrong, 0x5a, sizeof wrong);
    double t0 = now_s();
    for (int i = 0; i < N; i++) {
        struct elig_client *c = connect_to(s.addr);
        uint8_t status = 0;
        assert_int_equal(elig_client_hello(c, FACILITY, wrong, &status), -ELIG_EREFUSED);
        assert_int_equal(status, ELIG_PS_UNAUTHENTICATED);
        elig_client_close(c);
    }
    double secs = now_s() - t0;
    struct elig_client *c = connect_fac(&s);
    assert_true(server_stat(c, ELIG_OP_STATS, "auth_refused") >= N);
    elig_client_close(c);
    assert_int_equal(server_stop(&s), 0);
    FILE *f = fopen(s.log, "r");
    assert_non_null(f);
    char line[2048];
    unsigned lines = 0;
    while (fgets(line, sizeof line, f))
        lines += strstr(line, "AUTH refused") != NULL;
    fclose(f);
    print_message("%d refused AUTHs in %.2f s: %u log lines\n", N, secs, lines);
    assert_true(lines >= 1);
    assert_true(lines <= 2 * ((unsigned)secs + 2)); /* once a second per worker (2 here) */
    assert_log_clean(&s);
    server_remove(&s);
}

/* ---- a store on a small file system ---------------------------------------- */

/* Mount a tmpfs of size bytes on s->data (skip where mounting is not allowed). */
static void mount_small(struct server *s, size_t bytes)
{
    if (getenv("ELIGD") == NULL)
        skip();
    memset(s, 0, sizeof *s);
    test_temp_dir(s->dir, sizeof s->dir);
    snprintf(s->data, sizeof s->data, "%s/data", s->dir);
    snprintf(s->seg, sizeof s->seg, "%s/index.seg", s->dir);
    snprintf(s->sock, sizeof s->sock, "%s/admin.sock", s->dir);
    snprintf(s->log, sizeof s->log, "%s/eligd.log", s->dir);
    assert_int_equal(mkdir(s->data, 0700), 0);
    char opts[64];
    snprintf(opts, sizeof opts, "size=%zu,mode=0700", bytes);
    if (mount("eligtest", s->data, "tmpfs", 0, opts) != 0) {
        print_message("cannot mount a tmpfs (%s): skipped\n", strerror(errno));
        server_remove(s);
        skip();
    }
    registry_make(s);
}

static void unmount_small(struct server *s)
{
    assert_int_equal(umount2(s->data, MNT_DETACH), 0);
    server_remove(s);
}

/* Fill the file system of dir, leaving about `leave` bytes free. */
static void fill(const char *dir, size_t leave)
{
    char path[400];
    snprintf(path, sizeof path, "%s/filler", dir);
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    assert_true(fd >= 0);
    static uint8_t block[4096];
    while (write(fd, block, sizeof block) == (ssize_t)sizeof block)
        ;
    close(fd);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    off_t keep = st.st_size > (off_t)leave ? st.st_size - (off_t)leave : 0;
    assert_int_equal(truncate(path, keep), 0);
}

static void unfill(const char *dir)
{
    char path[400];
    snprintf(path, sizeof path, "%s/filler", dir);
    assert_int_equal(unlink(path), 0);
}

/* ADMIN_APPEND of a chunk (id = its first serial); the frame status, rc code if unavailable. */
static uint8_t append_chunk(const struct server *s, int first, int32_t *code, uint64_t *first_lsn)
{
    struct elig_event *evs = calloc(CHUNK, sizeof *evs);
    assert_int_equal(make_acquires(evs, first, CHUNK), 0);
    uint8_t id[ELIG_PROTO_CHUNK_ID_LEN] = { 0 };
    elig_le32(id, (uint32_t)first);
    struct elig_client *c = connect_to(s->sock);
    assert_int_equal(elig_client_queue_append(c, id, evs, CHUNK), 0);
    assert_int_equal(elig_client_flush(c), 0);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    *code = h.status == ELIG_PS_UNAVAILABLE && h.body_len == 4 ? (int32_t)elig_rd32(body) : 0;
    if (h.status == ELIG_PS_OK && first_lsn)
        *first_lsn = elig_rd64(body);
    elig_client_close(c);
    free(evs);
    return h.status;
}

static uint64_t admin_stat(const struct server *s, const char *name)
{
    struct elig_client *c = connect_to(s->sock);
    uint64_t v = server_stat(c, ELIG_OP_ADMIN_STATS, name);
    elig_client_close(c);
    return v;
}

static bool log_holds(const struct server *s, const char *text)
{
    FILE *f = fopen(s->log, "r");
    assert_non_null(f);
    char line[2048];
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        found = strstr(line, text) != NULL;
    fclose(f);
    return found;
}

/* Teardown of a test that mounted a file system: unmount it first. */
static int teardown_mount(void **state)
{
    if (running.data[0])
        umount2(running.data, MNT_DETACH);
    return teardown(state);
}

static void test_disk_full(void **state)
{
    (void)state;
    struct server s;
    mount_small(&s, 1u << 20);
    const char *const extra[] = { "--capacity", "20000", NULL };
    server_exec(&s, extra);
    load_sample(&s);
    uint64_t lsn0 = admin_stat(&s, "index_applied_lsn");
    fill(s.data, 8192); /* room for a few of the chunk's events, not all */
    int32_t code = 0;
    assert_int_equal(append_chunk(&s, 1, &code, NULL), ELIG_PS_UNAVAILABLE);
    assert_int_equal(code, -ENOSPC);
    assert_string_equal(elig_net_strerror(code), "No space left on device");
    assert_int_equal(admin_stat(&s, "store_errors_no_space"), 1);
    assert_int_equal(admin_stat(&s, "index_applied_lsn"), lsn0);
    assert_true(log_holds(&s, "No space left on device"));
    /* the log is stopped for good: the next append gets the same error */
    assert_int_equal(append_chunk(&s, 1, &code, NULL), ELIG_PS_UNAVAILABLE);
    assert_int_equal(code, -ENOSPC);

    /* space freed, restarted with no flag: none of the chunk, and then it is applied once */
    assert_int_equal(server_signal(&s, SIGKILL), 128 + SIGKILL);
    unfill(s.data);
    server_exec(&s, extra);
    assert_int_equal(admin_stat(&s, "index_applied_lsn"), lsn0);
    uint64_t first = 0, again = 0;
    assert_int_equal(append_chunk(&s, 1, &code, &first), ELIG_PS_OK);
    assert_int_equal(first, lsn0 + 2);
    assert_int_equal(append_chunk(&s, 1, &code, &again), ELIG_PS_OK);
    assert_int_equal(again, first);
    assert_int_equal(admin_stat(&s, "chunks_duplicate"), 1);
    assert_int_equal(admin_stat(&s, "index_applied_lsn"), lsn0 + 1 + CHUNK);
    assert_int_equal(server_stop(&s), 0);
    assert_log_clean(&s);
    unmount_small(&s);
}

/* ---- crash rounds ---------------------------------------------------------- */

/*
 * After a restart: the chunk of round r is all there or not at all; then sent
 * again, it is applied once. Returns whether it was there.
 */
static bool check_whole_or_none(struct server *s, const char *const *extra, int round,
                                uint64_t lsn0, unsigned *whole)
{
    server_exec(s, extra);
    uint64_t lsn = admin_stat(s, "index_applied_lsn");
    if (lsn != lsn0 && lsn != lsn0 + 1 + CHUNK)
        fail_msg("round %d: applied LSN %llu after the restart, wanted %llu or %llu", round,
                 (unsigned long long)lsn, (unsigned long long)lsn0,
                 (unsigned long long)(lsn0 + 1 + CHUNK));
    *whole += lsn != lsn0;
    int32_t code;
    uint64_t first = 0;
    assert_int_equal(append_chunk(s, 1 + round * CHUNK, &code, &first), ELIG_PS_OK);
    assert_int_equal(first, lsn0 + 2); /* the first result, or the chunk applied now */
    assert_int_equal(admin_stat(s, "index_applied_lsn"), lsn0 + 1 + CHUNK);
    return lsn != lsn0;
}

static void test_crash_kill_mid_chunk(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--capacity", "40000", NULL };
    start_loaded(&s, extra);
    srand(24);
    unsigned whole = 0;
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t lsn0 = admin_stat(&s, "index_applied_lsn");
        struct elig_event *evs = calloc(CHUNK, sizeof *evs);
        assert_int_equal(make_acquires(evs, 1 + round * CHUNK, CHUNK), 0);
        uint8_t id[ELIG_PROTO_CHUNK_ID_LEN] = { 0 };
        elig_le32(id, (uint32_t)(1 + round * CHUNK));
        struct elig_client *c = connect_to(s.sock);
        assert_int_equal(elig_client_queue_append(c, id, evs, CHUNK), 0);
        assert_int_equal(elig_client_flush(c), 0);
        free(evs);
        struct timespec ts = { 0, (long)(rand() % 8000) * 1000 }; /* a seeded moment, 0-8 ms */
        nanosleep(&ts, NULL);
        assert_int_equal(server_signal(&s, SIGKILL), 128 + SIGKILL);
        elig_client_close(c);
        check_whole_or_none(&s, extra, round, lsn0, &whole);
    }
    print_message("%u of %d chunks whole after the kill, the rest absent\n", whole, ROUNDS);
    server_finish(&s);
}

static void test_crash_disk_full_mid_chunk(void **state)
{
    (void)state;
    struct server s;
    mount_small(&s, 16u << 20); /* the log grows by ~150 KiB a round */
    const char *const extra[] = { "--capacity", "40000", NULL };
    server_exec(&s, extra);
    load_sample(&s);
    srand(17);
    unsigned whole = 0;
    for (int round = 0; round < ROUNDS; round++) {
        uint64_t lsn0 = admin_stat(&s, "index_applied_lsn");
        fill(s.data, (size_t)(rand() % 40) * 4096); /* 0-160 KiB free: a chunk is ~150 KiB */
        int32_t code = 0;
        uint8_t st = append_chunk(&s, 1 + round * CHUNK, &code, NULL);
        assert_true(st == ELIG_PS_OK || (st == ELIG_PS_UNAVAILABLE && code == -ENOSPC));
        assert_int_equal(server_signal(&s, SIGKILL), 128 + SIGKILL);
        unfill(s.data);
        bool there = check_whole_or_none(&s, extra, round, lsn0, &whole);
        if (st == ELIG_PS_OK && !there)
            fail_msg("round %d: the chunk was acknowledged but is gone", round);
    }
    print_message("%u of %d chunks fitted before the disk was full\n", whole, ROUNDS);
    assert_int_equal(server_stop(&s), 0);
    unmount_small(&s);
}

int main(void)
{
    if (getenv("TEST_FILTER"))
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    if (getenv("TEST_SKIP"))
        cmocka_set_skip_filter(getenv("TEST_SKIP"));
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_unauthenticated_memory, teardown),
        cmocka_unit_test_teardown(test_memory_budget, teardown),
        cmocka_unit_test_teardown(test_auth_log_flood, teardown),
        cmocka_unit_test_teardown(test_auth_deadline, teardown),
        cmocka_unit_test_teardown(test_disk_full, teardown_mount),
        cmocka_unit_test_teardown(test_crash_kill_mid_chunk, teardown),
        cmocka_unit_test_teardown(test_crash_disk_full_mid_chunk, teardown_mount),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
