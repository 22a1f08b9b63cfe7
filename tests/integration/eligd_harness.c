/* SPDX-License-Identifier: MIT */
/*
 * eligd_harness: eligd as a real process, for the integration tests.
 *
 * Start-up is synchronised on eligd's "ready" line (read from a pipe with a
 * bounded poll), its exit on a pidfd; nothing sleeps. The sample feed
 * (docs/examples/sample.feed) is loaded through the admin socket, and the
 * table of its checks says what each must be answered.
 */
#include "eligd_harness.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elig_codec.h"
#include "elig_error.h"
#include "elig_fac.h"
#include "elig_le.h"

/*
 * A copy of the running test's server, so that teardown can kill it and
 * remove its files when an assertion ends the test early (the test's own
 * struct is on a stack that is gone by then). The one global here.
 */
struct server running;

int wait_readable(int fd, int timeout_ms)
{
    struct pollfd p = { .fd = fd, .events = POLLIN };
    return poll(&p, 1, timeout_ms);
}

/* Copy eligd's log to stderr: the test's directory is removed at teardown. */
static void dump_log(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return;
    char line[1024];
    for (int n = 0; n < 200 && fgets(line, sizeof line, f); n++)
        fprintf(stderr, "eligd.log: %s", line);
    fclose(f);
}

/* Run eligd on the store of s (made by server_start) with extra options. */
void server_exec(struct server *s, const char *const *extra)
{
    const char *bin = getenv("ELIGD");
    const char *argv[40] = { bin, "--data", s->data, "--segment", s->seg, "--capacity", "10000",
                             "--listen", "127.0.0.1:0", "--admin-socket", s->sock, "--log-file",
                             s->log, "--workers", "2",
                             /* generous allowances: the tests of limits set their own */
                             "--facility-rate", "100000000", "--facility-burst", "100000000" };
    int n = 19;
    for (int i = 0; extra && extra[i]; i++)
        argv[n++] = extra[i];
    argv[n] = NULL;
    int out[2];
    assert_int_equal(pipe(out), 0);
    s->pid = fork();
    assert_true(s->pid >= 0);
    if (s->pid == 0) {
        dup2(out[1], STDOUT_FILENO);
        close(out[0]);
        close(out[1]);
        execv(bin, (char *const *)argv);
        _exit(127);
    }
    close(out[1]);
    s->pidfd = (int)syscall(SYS_pidfd_open, s->pid, 0);
    assert_true(s->pidfd >= 0);
    char line[256] = "";
    size_t len = 0;
    while (!strchr(line, '\n')) {
        assert_int_equal(wait_readable(out[0], TIMEOUT_MS), 1);
        ssize_t r = read(out[0], line + len, sizeof line - 1 - len);
        if (r <= 0) {
            dump_log(s->log);
            fail_msg("eligd exited before it was ready");
        }
        len += (size_t)r;
        line[len] = '\0';
    }
    close(out[0]);
    snprintf(s->ready, sizeof s->ready, "%s", line);
    unsigned port;
    assert_int_equal(sscanf(line, "eligd: ready port=%u", &port), 1);
    snprintf(s->addr, sizeof s->addr, "127.0.0.1:%u", port);
    running = *s;
}

/* Start eligd on a fresh store with extra options (NULL-terminated); fills s. */
void server_start(struct server *s, const char *const *extra)
{
    if (getenv("ELIGD") == NULL)
        skip();
    memset(s, 0, sizeof(*s));
    test_temp_dir(s->dir, sizeof s->dir);
    snprintf(s->data, sizeof s->data, "%s/data", s->dir);
    snprintf(s->seg, sizeof s->seg, "%s/index.seg", s->dir);
    snprintf(s->sock, sizeof s->sock, "%s/admin.sock", s->dir);
    snprintf(s->log, sizeof s->log, "%s/eligd.log", s->dir);
    registry_make(s);
    server_exec(s, extra);
}

/* SIGTERM, then wait (bounded) for the exit; returns the exit status. */
int server_stop(struct server *s)
{
    return server_signal(s, SIGTERM);
}

int server_signal(struct server *s, int sig)
{
    kill(s->pid, sig);
    assert_int_equal(wait_readable(s->pidfd, TIMEOUT_MS), 1);
    int status;
    assert_int_equal(waitpid(s->pid, &status, 0), s->pid);
    close(s->pidfd);
    s->pid = 0;
    running.pid = 0;
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/* The log must not hold personal data of the sample feed. */
void assert_log_clean(const struct server *s)
{
    FILE *f = fopen(s->log, "r");
    assert_non_null(f);
    static const char *const secrets[] = { "山田",     "ヤマダ", "佐藤",  "1980-05-10",
                                           "19800510", "A1001",  "a1001", "1234" };
    char line[2048];
    size_t lines = 0;
    while (fgets(line, sizeof line, f)) {
        lines++;
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
            if (strstr(line, secrets[i]))
                fail_msg("eligd's log holds personal data (%s): %s", secrets[i], line);
    }
    fclose(f);
    assert_true(lines >= 2); /* it did log: start and stop */
}

/* The audit files under DATA/audit hold no personal data in clear, as text or as numbers. */
size_t assert_audit_clean(const struct server *s)
{
    char dir[400];
    snprintf(dir, sizeof dir, "%s/audit", s->data);
    DIR *d = opendir(dir);
    if (!d)
        return 0; /* no audit kept */
    static const char *const secrets[] = { "山田",     "ヤマダ", "佐藤", "1980-05-10",
                                           "19800510", "A1001",  "a1001" };
    uint8_t birth[4], card[8];
    elig_le32(birth, 19800510);
    elig_le64(card, 0xA1001);
    size_t files = 0;
    for (struct dirent *e; (e = readdir(d));) {
        if (!strstr(e->d_name, ".audit"))
            continue;
        char path[700];
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        static uint8_t buf[4 << 20];
        size_t n = fread(buf, 1, sizeof buf, f);
        fclose(f);
        files++;
        for (size_t i = 0; i < sizeof secrets / sizeof secrets[0]; i++)
            if (memmem(buf, n, secrets[i], strlen(secrets[i])))
                fail_msg("%s holds personal data in clear (%s)", path, secrets[i]);
        /* a birth date stored in clear would be there once per answered check; 4 bytes of
         * ciphertext equal it by chance about once in 2^32 positions (a few MiB: rarely once) */
        size_t births = 0;
        for (const uint8_t *at = buf; (at = memmem(at, n - (size_t)(at - buf), birth, 4)); at++)
            births++;
        if (births >= 3 || memmem(buf, n, card, 8))
            fail_msg("%s holds a birth date (%zu times) or card id in binary", path, births);
    }
    closedir(d);
    return files;
}

/* Remove the store and files of a stopped server. */
void server_remove(struct server *s)
{
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%.255s'", s->dir);
    assert_int_equal(system(cmd), 0);
    memset(&running, 0, sizeof running);
}

void server_finish(struct server *s)
{
    assert_int_equal(server_stop(s), 0);
    assert_log_clean(s);
    assert_audit_clean(s);
    server_remove(s);
}

void registry_make(struct server *s)
{
    assert_int_equal(elig_fkey_init(), 0);
    assert_true(mkdir(s->data, 0700) == 0 || errno == EEXIST);
    snprintf(s->registry, sizeof s->registry, "%s/facilities", s->data);
    struct elig_fac_registry *r;
    assert_int_equal(elig_fac_new(&r), 0);
    assert_int_equal(elig_fac_add(r, FACILITY, ELIG_FAC_CLINIC, 0, s->key), 0);
    assert_int_equal(elig_fac_add(r, PHARMACY, ELIG_FAC_PHARMACY, 0, s->pharmacy_key), 0);
    assert_int_equal(elig_fac_save(r, s->registry), 0);
    elig_fac_free(r);
}

struct elig_client *connect_fac(const struct server *s)
{
    struct elig_client *c = connect_to(s->addr);
    uint8_t status = 0;
    int rc = elig_client_hello(c, FACILITY, s->key, &status);
    if (rc)
        fail_msg("HELLO/AUTH: %d, status %s", rc, elig_pstatus_name(status));
    return c;
}

struct elig_client *connect_to(const char *addr)
{
    struct elig_client *c = NULL;
    assert_int_equal(elig_client_connect(addr, TIMEOUT_MS, &c), 0);
    return c;
}

/* ---- loading the sample feed through the admin socket --------------------- */

struct loader {
    struct elig_event evs[64];
    size_t n;
};

static int collect(void *ctx, const struct elig_event *ev, const char *path, uint64_t line)
{
    (void)path;
    (void)line;
    struct loader *l = ctx;
    assert_true(l->n < 64);
    l->evs[l->n++] = *ev;
    return 0;
}

/* ADMIN_APPEND of evs; returns the frame status, statuses into st. */
uint8_t admin_append(struct elig_client *c, const struct elig_event *evs, size_t n, int32_t *st)
{
    assert_int_equal(elig_client_queue_append(c, NULL, evs, n), 0);
    assert_int_equal(elig_client_flush(c), 0);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    if (h.status == ELIG_PS_OK) {
        assert_int_equal(h.body_len, 12 + 4 * n);
        for (size_t i = 0; i < n; i++)
            st[i] = (int32_t)elig_rd32(body + 12 + 4 * i);
    }
    return h.status;
}

void load_sample(const struct server *s)
{
    const char *root = getenv("ELIG_SOURCE_ROOT");
    assert_non_null(root);
    char path[512];
    snprintf(path, sizeof path, "%s/docs/examples/sample.feed", root);
    struct loader *l = calloc(1, sizeof(*l));
    struct elig_feed_stats fs;
    assert_int_equal(elig_feed_read_file(path, collect, NULL, l, &fs), 0);
    struct elig_client *c = connect_to(s->sock);
    int32_t st[64];
    assert_int_equal(admin_append(c, l->evs, l->n, st), ELIG_PS_OK);
    for (size_t i = 0; i < l->n; i++)
        assert_int_equal(st[i], 0);
    elig_client_close(c);
    free(l);
}

void start_loaded(struct server *s, const char *const *extra)
{
    server_start(s, extra);
    load_sample(s);
}

/* ---- checks --------------------------------------------------------------- */

struct elig_proto_number number(const char *insurer, const char *symbol, const char *num,
                                const char *branch, uint32_t birth, uint32_t date)
{
    struct elig_proto_number q = {
        .facility = FACILITY,
        .date = date,
        .birth = birth,
        .insurer = insurer,
        .insurer_len = (uint8_t)strlen(insurer),
        .symbol = symbol,
        .symbol_len = (uint8_t)strlen(symbol),
        .number = num,
        .number_len = (uint8_t)strlen(num),
        .branch = branch,
        .branch_len = (uint8_t)strlen(branch),
    };
    return q;
}

#define D SAMPLE_DATE
/* A number check and a card check of the sample feed with the answer they must get. */
#define NUM(name, ins, sym, num, br, bd, validity, count)                                          \
    {                                                                                              \
        name, false, { .insurer = ins, .symbol = sym, .number = num, .branch = br, .birth = bd },  \
            0, D, validity, 0, 0, count                                                            \
    }
#define CARD(name, id, date, validity, refusal, flags, count)                                      \
    {                                                                                              \
        name, true, { 0 }, id, date, validity, refusal, flags, count                               \
    }
/* clang-format off */
const struct expect expects[NEXPECT] = {
    NUM("valid", "01130012", "1234", "56", "00", 19800510, ELIG_VALID, 1),
    NUM("lost", "138057", "東", "900", "", 19900228, ELIG_LOST, 1),
    NUM("lost, newer exists", "33120015", "A", "7", "", 19750131, ELIG_LOST_NEWER, 1),
    NUM("no match (birth)", "01130012", "1234", "56", "00", 19800511, ELIG_NO_MATCH, 0),
    NUM("no match (key)", "01130012", "1234", "57", "00", 19800510, ELIG_NO_MATCH, 0),
    CARD("multiple, renewal alert", 0xA1009, 20250901, ELIG_MULTIPLE, 0, ELIG_FLAG_RENEWAL_ALERT, 2),
    CARD("multiple, grace", 0xA1009, 20260228, ELIG_MULTIPLE, 0, ELIG_FLAG_GRACE, 2),
    CARD("card valid", 0xA1001, D, ELIG_VALID, 0, 0, 1),
    CARD("card unregistered", 0xFFFF000000000001ull, D, 0, ELIG_REFUSE_CARD_UNREGISTERED, 0, 0),
    CARD("card deregistered", 0xA1002, D, 0, ELIG_REFUSE_CARD_DEREGISTERED, 0, 0),
    CARD("card returned", 0xA1003, D, 0, ELIG_REFUSE_CARD_RETURNED, 0, 0),
    CARD("certificate expired", 0xA1009, 20260301, 0, ELIG_REFUSE_CERT_EXPIRED, 0, 0),
};
/* clang-format on */

/* Queue the request of expects[i] on c. */
void encode_expect(struct elig_pbuf *b, size_t i, uint8_t *op)
{
    const struct expect *e = &expects[i];
    *op = e->card ? ELIG_OP_LOOKUP_CARD : ELIG_OP_LOOKUP_NUMBER;
    if (e->card) {
        struct elig_proto_card q = { .facility = FACILITY, .date = e->date, .card_id = e->card_id };
        assert_int_equal(elig_proto_card_encode(b, &q), 0);
    } else {
        struct elig_proto_number q =
            number(e->q.insurer, e->q.symbol, e->q.number, e->q.branch, e->q.birth, e->date);
        assert_int_equal(elig_proto_number_encode(b, &q, false), 0);
    }
}

void queue_expect(struct elig_client *c, size_t i, uint32_t *id)
{
    const struct expect *e = &expects[i];
    struct elig_pbuf *b =
        elig_client_begin(c, e->card ? ELIG_OP_LOOKUP_CARD : ELIG_OP_LOOKUP_NUMBER, id);
    uint8_t op;
    encode_expect(b, i, &op);
    elig_client_end(c);
}

void assert_expected(size_t i, const struct elig_proto_answer *a)
{
    const struct expect *e = &expects[i];
    if (a->status != ELIG_AS_OK || a->validity != e->validity || a->refusal != e->refusal ||
        a->flags != e->flags || a->count != e->count)
        fail_msg("%s: got status %u validity %u refusal %u flags %u count %u", e->name, a->status,
                 a->validity, a->refusal, a->flags, a->count);
}

void recv_answer(struct elig_client *c, uint32_t id, struct elig_proto_answer *a)
{
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    assert_int_equal(h.request_id, id);
    assert_int_equal(h.status, ELIG_PS_OK);
    size_t off = 0;
    assert_int_equal(elig_proto_answer_decode(body, h.body_len, &off, a), 0);
    assert_int_equal(off, h.body_len);
}

/* After every test: a server an assertion left running is killed, its files removed. */
int teardown(void **state)
{
    (void)state;
    struct server *s = &running;
    if (s->pid > 0) {
        kill(s->pid, SIGKILL);
        waitpid(s->pid, NULL, 0);
        close(s->pidfd);
    }
    if (s->dir[0]) {
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "rm -rf '%.255s'", s->dir);
        if (system(cmd) != 0)
            return -1;
    }
    memset(s, 0, sizeof(*s));
    return 0;
}

/* ---- events and counters ---------------------------------------------------- */

int make_acquires(struct elig_event *evs, int first, int n)
{
    for (int i = 0; i < n; i++) {
        char line[256];
        int len = snprintf(line, sizeof line,
                           "ACQUIRE\t2025-02-01\t01130012\t01130012\t88\t%d\t\t%d\t1\t"
                           "木村\t健\tキムラ\tケン\t1\t1990-01-01\t\t\t30\t\t\t\t",
                           first + i, 5000 + first + i);
        struct elig_feed_error fe;
        if (elig_feed_parse_line(line, (size_t)len, &evs[i], &fe) != 1)
            return -1;
    }
    return 0;
}

struct stat_want {
    const char *name;
    uint64_t value;
    bool found;
};

static void find_stat(void *ctx, const char *name, uint64_t value)
{
    struct stat_want *w = ctx;
    if (strcmp(name, w->name) == 0) {
        w->value = value;
        w->found = true;
    }
}

uint64_t server_stat(struct elig_client *c, uint8_t opcode, const char *name)
{
    struct stat_want w = { name, 0, false };
    uint8_t status = 0;
    assert_int_equal(elig_client_stats(c, opcode, find_stat, &w, &status), 0);
    if (!w.found)
        fail_msg("no counter %s", name);
    return w.value;
}
