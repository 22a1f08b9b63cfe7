/* SPDX-License-Identifier: MIT */
/*
 * bench_server: "elig-bench server": eligd over loopback, side by side
 * with what a team would pick instead: redis-server and memcached holding
 * the same records.
 *
 * Set-up: N synthetic records (the index benchmark's population) are built
 * into a segment that eligd serves read-only (--attach), and loaded into
 * each peer (started for the run, no persistence) as plain values: key the
 * record's key, value the very bytes eligd answers for that record. So
 * every system finds the same record by the same key and sends back about
 * as many bytes; eligd also applies the rules and checks the birth date,
 * the peers do nothing but a hash lookup. Peers may hold fewer records than
 * eligd (--peer-records, when N would not fit in memory next to eligd):
 * their queries are then drawn from the records they hold, and the report
 * says so.
 *
 * Driver: one client thread, one io_uring, C connections, closed loop at
 * depth D: each connection sends D requests in one send and waits for their
 * D answers before sending the next D. Every request's latency is taken
 * from the send of its group to the arrival of its answer. Requests cycle
 * through up to 2^20 pre-encoded queries of random records (fixed seed), so
 * the client does no encoding while timed. The same driver, connections,
 * depths and keys serve every system; runs alternate between them, so a
 * noisy neighbour hurts all alike. Medians of R runs are reported.
 *
 * With --secure a second eligd serves the same segment as facilities see it
 * in production: every connection authenticates (HELLO/AUTH, one
 * registered facility, allowances set out of the way) and every answered
 * check goes to the encrypted audit log (in --audit-dir, a disk, where a
 * deployment keeps it); its rows, beside eligd's, are the cost of
 * authentication and audit.
 *
 * Workloads: a lookup at each depth of --depths (default 1 and 16) on every
 * system, and eligd BATCH of 64 lookups per frame at depth 4 (lookups/s
 * counts entries). Memory per record: eligd's whole segment; a peer's
 * resident memory growth while it was loaded (RSS, from /proc).
 *
 * Server CPU per lookup: the server process's user + system time (all its
 * threads, /proc/PID/stat) over the timed window, divided by the lookups
 * answered in it. Client and server share the machine's cores, so
 * throughput may be the client's limit; CPU per lookup is the server's own
 * efficiency whatever the client manages, and is compared as a ratio.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "elig_bench.h"
#include "elig_net_error.h"
#include "elig_cconn.h"
#include "elig_client.h"
#include "elig_fkey.h"
#include "elig_hist.h"
#include "elig_index.h"
#include "elig_io.h"
#include "elig_le.h"
#include "elig_proto.h"
#include "elig_resp.h"
#include "elig_tls.h"

#define EXIT_FAIL 1
#define MAXQ      (1u << 20)
#define BATCH_N   64

enum sys { SYS_ELIGD, SYS_SECURE, SYS_TLS, SYS_REDIS, SYS_MEMCACHED, SYS_COUNT };

static const char *const sys_names[SYS_COUNT] = { "eligd", "eligd-secure", "eligd-tls", "redis",
                                                  "memcached" };

/* eligd's own systems: spoken to through the client library, with eligd's frames. */
static bool is_eligd(enum sys s)
{
    return s == SYS_ELIGD || s == SYS_SECURE || s == SYS_TLS;
}

/*
 * The client context of the TLS eligd: the benchmark facility's certificate
 * (a global as secure_key is: made where the server is started, used where
 * connections are opened).
 */
static struct elig_tls_ctx *tls_client;

/*
 * The facility key of the --secure eligd: made once per run (eligctl), used
 * by every connection's handshake (the one global here: the driver's
 * connections are set up far from where the facility is registered).
 */
static uint8_t secure_key[ELIG_FKEY_LEN];

#define MAX_DEPTHS    8
#define MAX_WORKLOADS (MAX_DEPTHS * SYS_COUNT + 2) /* and two BATCH workloads */

/* Pre-encoded requests: one blob, offsets per query. */
struct reqs {
    uint8_t *data;
    size_t len, cap;
    uint32_t *off; /* n + 1 offsets */
    uint32_t n;
};

struct conn {
    int fd;
    struct elig_cconn *cc; /* the client core: queued requests, received answers */
    bool sending;          /* a send is posted (its completion not yet seen) */
    unsigned waiting;      /* answers still due for the group in flight */
    double t_sent;
};

struct workload {
    char name[32];
    char short_name[16]; /* for --only */
    enum sys sys;
    unsigned depth;
    unsigned per_frame; /* lookups per request frame (BATCH) */
};

struct result {
    double rps; /* requests (frames) per second */
    double lps; /* lookups per second */
    double p50_us, p99_us;
    double cpu_us; /* the server's CPU time (user + system, all threads) per lookup, us */
};

struct driver {
    struct io_uring ring;
    struct conn *conns;
    unsigned nconns;
    const struct reqs *q;
    uint64_t next_q;
    struct elig_hist *lat; /* latencies, ns */
    uint64_t answers, lookups;
    bool timing;
    enum sys sys;
    unsigned depth, per_frame;
};

/* ---- request and answer formats ------------------------------------------- */

static int reqs_add(struct reqs *r, const void *bytes, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 1 << 20;
        while (cap < r->len + n)
            cap *= 2;
        uint8_t *p = realloc(r->data, cap);
        if (p == NULL)
            return -ENOMEM;
        r->data = p;
        r->cap = cap;
    }
    memcpy(r->data + r->len, bytes, n);
    r->len += n;
    r->off[++r->n] = (uint32_t)r->len;
    return 0;
}

static size_t redis_key(const struct elig_key *k, char *out)
{
    return (size_t)sprintf(out, "%.8s:%.*s:%.*s:%.2s", k->insurer, k->symbol_len, k->symbol,
                           k->number_len, k->number, k->branch);
}

/* memcached's text protocol takes no spaces in keys: the canonical key bytes in hex. */
static size_t memcached_key(const struct elig_key *k, char *out)
{
    uint8_t raw[ELIG_KEY_BYTES_MAX];
    size_t n = elig_key_encode(k, raw);
    for (size_t i = 0; i < n; i++)
        sprintf(out + 2 * i, "%02x", raw[i]);
    return 2 * n;
}

/* Length of memcached's answer to one get at p: "VALUE k f n\r\n<n>\r\nEND\r\n" or
 * "END\r\n"; 0 if incomplete. */
static size_t memcached_len(const uint8_t *p, size_t len)
{
    const uint8_t *nl = memchr(p, '\n', len);
    if (nl == NULL)
        return 0;
    size_t line = (size_t)(nl - p) + 1;
    if (len < 6 || memcmp(p, "VALUE ", 6) != 0)
        return line; /* END (a miss) or an error line */
    const uint8_t *sp = nl;
    while (sp > p && *sp != ' ')
        sp--;
    size_t total = line + strtoul((const char *)sp + 1, NULL, 10) + 2 + 5;
    return len >= total ? total : 0;
}

/* Length of one complete answer of a peer at p; 0 if incomplete. */
static size_t peer_answer_len(enum sys sys, const uint8_t *p, size_t len)
{
    if (sys == SYS_MEMCACHED)
        return memcached_len(p, len);
    long n = elig_resp_parse(p, len, NULL);
    return n > 0 ? (size_t)n : 0;
}

/* ---- processes -------------------------------------------------------------- */

/* Start argv[0] with stdout on a pipe; read lines until one contains ready. */
static int tcp_connect(uint16_t port)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    int fd = elig_client_dial(addr);
    return fd < 0 ? -1 : fd;
}

static uint16_t free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET };
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof sa;
    bind(fd, (struct sockaddr *)&sa, sizeof sa);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    close(fd);
    return ntohs(sa.sin_port);
}

/* One redis command; its first answer line into out. */
static int redis_cmd(int fd, const char *cmd, char *out, size_t size)
{
    if (elig_io_write_all(fd, (const uint8_t *)cmd, strlen(cmd)))
        return -1;
    size_t have = 0;
    while (have < size - 1) {
        ssize_t r = read(fd, out + have, size - 1 - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        out[have] = '\0';
        /* a bulk answer: wait for its whole length */
        if (out[0] == '$') {
            char *nl = strchr(out, '\n');
            if (nl && (size_t)(nl - out) + 1 + strtoul(out + 1, NULL, 10) + 2 <= have)
                break;
        } else if (strchr(out, '\n')) {
            break;
        }
    }
    return 0;
}

/* Resident memory of process pid, bytes (0 if unknown). */
static uint64_t rss_of(pid_t pid)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/statm", (long)pid);
    FILE *f = fopen(path, "r");
    unsigned long long size = 0, resident = 0;
    if (f) {
        if (fscanf(f, "%llu %llu", &size, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    return resident * (uint64_t)sysconf(_SC_PAGESIZE);
}

/* A peer started for the run. */
struct peer {
    enum sys sys;
    pid_t pid;
    uint16_t port;
    int fd; /* the loading connection */
    char version[64];
    double bytes_per_record;
};

/* Start memcached and wait (bounded) until it accepts connections: it prints nothing. */
static pid_t spawn_memcached(uint16_t port, uint64_t records, int *fd)
{
    char port_s[16], mb[32];
    snprintf(port_s, sizeof port_s, "%u", port);
    /* items of ~300-byte answers and ~60-byte keys: 1 KiB a record is ample */
    snprintf(mb, sizeof mb, "%llu", (unsigned long long)(records / 1024 + 64));
    char *argv[] = { "memcached", "-p", port_s, "-l", "127.0.0.1", "-U", "0",  "-m",
                     mb,          "-c", "4096", "-t", "2",         NULL, NULL, NULL };
    if (geteuid() == 0) { /* memcached will not run as root unless told whom to be */
        argv[13] = "-u";
        argv[14] = "nobody";
    }
    pid_t pid = fork();
    if (pid == 0) {
        execvp(argv[0], argv);
        _exit(127);
    }
    for (int i = 0; pid > 0 && i < 500; i++) { /* at most 5 s */
        if ((*fd = tcp_connect(port)) >= 0)
            return pid;
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return -1; /* it exited: not installed, or the port was taken */
        struct timespec ts = { 0, 10000000 };
        nanosleep(&ts, NULL);
    }
    if (pid > 0) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
    }
    return -1;
}

static int peer_start(struct peer *pe, uint64_t records)
{
    char line[512], port_s[16];
    pe->port = free_port();
    pe->fd = -1;
    snprintf(port_s, sizeof port_s, "%u", pe->port);
    if (pe->sys == SYS_MEMCACHED) {
        pe->pid = spawn_memcached(pe->port, records, &pe->fd);
        if (pe->pid < 0)
            return -1;
        char v[128];
        if (redis_cmd(pe->fd, "version\r\n", v, sizeof v) == 0 && strncmp(v, "VERSION ", 8) == 0)
            snprintf(pe->version, sizeof pe->version, "memcached %.*s", (int)strcspn(v + 8, "\r\n"),
                     v + 8);
        return 0;
    }
    char *argv[] = { "redis-server", "--port",           port_s, "--bind",
                     "127.0.0.1",    "--save",           "",     "--appendonly",
                     "no",           "--protected-mode", "no",   NULL };
    pe->pid = bench_spawn_until(argv, "Ready to accept connections", line, sizeof line);
    if (pe->pid < 0 || (pe->fd = tcp_connect(pe->port)) < 0)
        return -1;
    char info[8192];
    if (redis_cmd(pe->fd, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n", info, sizeof info) == 0) {
        const char *v = strstr(info, "redis_version:");
        if (v)
            snprintf(pe->version, sizeof pe->version, "redis %.*s", (int)strcspn(v + 14, "\r\n"),
                     v + 14);
    }
    return 0;
}

/* Read `want` memcached store acknowledgements; -1 if one is not STORED. */
static int memcached_drain(int fd, uint64_t want)
{
    static char buf[1 << 16];
    size_t have = 0;
    while (want) {
        ssize_t r = read(fd, buf + have, sizeof buf - have);
        if (r <= 0)
            return -1;
        have += (size_t)r;
        size_t off = 0;
        char *nl;
        while (want && (nl = memchr(buf + off, '\n', have - off)) != NULL) {
            if (strncmp(buf + off, "STORED", 6) != 0)
                return -1;
            off = (size_t)(nl - buf) + 1;
            want--;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    return 0;
}

/* ---- the data set ----------------------------------------------------------- */

struct dataset {
    struct reqs q[SYS_COUNT]; /* one lookup per request, per system */
    struct reqs entries;      /* eligd BATCH entries */
    uint32_t nq;
};

/* The queries: random records (fixed seed), of all N for eligd and of the
 * first peer_n for the peers. */
static int dataset_queries(const struct bench_pop *pop, uint64_t peer_n, struct dataset *ds)
{
    elig_date_t today = bench_ymd(2025, 2, 1);
    ds->nq = pop->n < MAXQ ? (uint32_t)pop->n : MAXQ;
    for (int i = 0; i <= SYS_COUNT; i++) {
        struct reqs *r = i < SYS_COUNT ? &ds->q[i] : &ds->entries;
        r->off = calloc(ds->nq + 1, sizeof(uint32_t));
        if (r->off == NULL)
            return -ENOMEM;
    }
    struct elig_pbuf b = { 0 };
    struct elig_record r;
    char key[256], cmd[512];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < ds->nq; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        struct elig_proto_number q;
        bench_number_query(pop, x % pop->n, &r, &q);
        b.len = 0;
        long at = elig_proto_frame_begin(&b, ELIG_OP_LOOKUP_NUMBER, 0, 0, i);
        rc = at < 0 ? (int)at : elig_proto_number_encode(&b, &q, false);
        if (rc == 0) {
            elig_proto_frame_end(&b, at);
            rc = reqs_add(&ds->q[SYS_ELIGD], b.data, b.len);
        }
        if (rc == 0)
            rc = reqs_add(&ds->q[SYS_SECURE], b.data, b.len);
        if (rc == 0)
            rc = reqs_add(&ds->q[SYS_TLS], b.data, b.len);
        b.len = 0;
        if (rc == 0 && (rc = elig_proto_number_encode(&b, &q, true)) == 0)
            rc = reqs_add(&ds->entries, b.data, b.len);
        if (peer_n != pop->n) /* the peers hold fewer: their own draw */
            bench_record(pop, x % peer_n, today, &r);
        size_t kl = redis_key(&r.key, key);
        int n = snprintf(cmd, sizeof cmd, "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", kl, key);
        if (rc == 0)
            rc = reqs_add(&ds->q[SYS_REDIS], cmd, (size_t)n);
        kl = memcached_key(&r.key, key);
        n = snprintf(cmd, sizeof cmd, "get %.*s\r\n", (int)kl, key);
        if (rc == 0)
            rc = reqs_add(&ds->q[SYS_MEMCACHED], cmd, (size_t)n);
    }
    elig_pbuf_free(&b);
    return rc;
}

/* Load a peer with records [0, n): each key holds the answer eligd gives, pipelined. */
static int peer_load(struct peer *pe, const struct bench_pop *pop, uint64_t n)
{
    elig_date_t today = bench_ymd(2025, 2, 1);
    struct elig_pbuf b = { 0 }, load = { 0 };
    struct elig_proto_answer *a = calloc(1, sizeof(*a));
    struct elig_record r;
    char key[256], head[512];
    uint64_t pending = 0, rss0 = rss_of(pe->pid);
    int rc = a ? 0 : -ENOMEM;
    for (uint64_t i = 0; rc == 0 && i < n; i++) {
        bench_record(pop, i, today, &r);
        memset(a, 0, offsetof(struct elig_proto_answer, rec));
        a->validity = ELIG_VALID;
        a->count = 1;
        a->reference = i;
        a->rec[0] = r;
        b.len = 0;
        if ((rc = elig_proto_answer_encode(&b, a)))
            break;
        int hl;
        if (pe->sys == SYS_REDIS) {
            size_t kl = redis_key(&r.key, key);
            hl = snprintf(head, sizeof head, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n", kl, key,
                          b.len);
        } else {
            size_t kl = memcached_key(&r.key, key);
            hl = snprintf(head, sizeof head, "set %.*s 0 0 %zu\r\n", (int)kl, key, b.len);
        }
        if (elig_pbuf_reserve(&load, (size_t)hl + b.len + 2)) {
            rc = -ENOMEM;
            break;
        }
        memcpy(load.data + load.len, head, (size_t)hl);
        memcpy(load.data + load.len + hl, b.data, b.len);
        memcpy(load.data + load.len + hl + b.len, "\r\n", 2);
        load.len += (size_t)hl + b.len + 2;
        if (++pending == 4096 || i + 1 == n) {
            bool bad = elig_io_write_all(pe->fd, load.data, load.len) != 0 ||
                       (pe->sys == SYS_REDIS ? elig_resp_drain(pe->fd, pending) != 0
                                             : memcached_drain(pe->fd, pending) != 0);
            rc = bad ? -EIO : 0;
            load.len = 0;
            pending = 0;
        }
    }
    pe->bytes_per_record = (double)(rss_of(pe->pid) - rss0) / (double)n;
    elig_pbuf_free(&b);
    elig_pbuf_free(&load);
    free(a);
    return rc;
}

static void dataset_free(struct dataset *ds)
{
    for (int i = 0; i <= SYS_COUNT; i++) {
        struct reqs *r = i < SYS_COUNT ? &ds->q[i] : &ds->entries;
        free(r->data);
        free(r->off);
    }
}

/* ---- the driver ------------------------------------------------------------- */

/* Append one request to c's queue (room reserved by start_group()). */
static void put_request(struct driver *d, const struct dataset *ds, struct elig_pbuf *out)
{
    const struct reqs *q = &ds->q[d->sys];
    if (d->per_frame == 1) {
        uint32_t i = (uint32_t)(d->next_q++ % ds->nq);
        size_t n = q->off[i + 1] - q->off[i];
        memcpy(out->data + out->len, q->data + q->off[i], n);
        out->len += n;
        return;
    }
    uint8_t *f = out->data + out->len;
    size_t len = ELIG_PROTO_HEADER + ELIG_PROTO_FACILITY_LEN + 2;
    memcpy(f + ELIG_PROTO_HEADER, BENCH_FACILITY, ELIG_PROTO_FACILITY_LEN);
    elig_le16(f + ELIG_PROTO_HEADER + ELIG_PROTO_FACILITY_LEN, (uint16_t)d->per_frame);
    for (unsigned k = 0; k < d->per_frame; k++) {
        uint32_t i = (uint32_t)(d->next_q++ % ds->nq);
        size_t n = ds->entries.off[i + 1] - ds->entries.off[i];
        memcpy(f + len, ds->entries.data + ds->entries.off[i], n);
        len += n;
    }
    struct elig_proto_header h = { .version = ELIG_PROTO_VERSION,
                                   .opcode = ELIG_OP_BATCH,
                                   .body_len = (uint32_t)(len - ELIG_PROTO_HEADER) };
    elig_proto_header_encode(f, &h);
    out->len += len;
}

/* Post a send of what the core has to send on connection ci, unless one is posted. */
static void submit_send(struct driver *d, unsigned ci)
{
    struct conn *c = &d->conns[ci];
    size_t len;
    if (c->sending)
        return; /* its completion sends the rest */
    const uint8_t *p = elig_cconn_send_view(c->cc, &len);
    if (len == 0)
        return;
    c->sending = true;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
    io_uring_prep_send(sqe, c->fd, p, len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uint64_t)ci << 1);
}

static int submit_recv(struct driver *d, unsigned ci)
{
    struct conn *c = &d->conns[ci];
    size_t room;
    uint8_t *p = elig_cconn_recv_space(c->cc, &room);
    if (p == NULL)
        return -ENOMEM;
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
    io_uring_prep_recv(sqe, c->fd, p, room, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)ci << 1 | 1);
    return 0;
}

/* A new group of `depth` requests on connection ci. */
static int start_group(struct driver *d, const struct dataset *ds, unsigned ci)
{
    struct conn *c = &d->conns[ci];
    struct elig_pbuf *out = elig_cconn_queue(c->cc);
    if (out == NULL || elig_pbuf_reserve(out, (size_t)d->depth * (d->per_frame * 300 + 512)))
        return -ENOMEM;
    for (unsigned k = 0; k < d->depth; k++)
        put_request(d, ds, out);
    c->waiting = d->depth;
    c->t_sent = bench_now();
    submit_send(d, ci);
    return 0;
}

/* The next whole answer on c: 1; 0 none yet; -ELIG_EREFUSED an eligd error status. */
static int next_answer(const struct driver *d, struct conn *c)
{
    if (is_eligd(d->sys)) {
        struct elig_proto_header h;
        const uint8_t *body;
        int rc = elig_cconn_answer(c->cc, &h, &body);
        return rc == 1 && h.status != ELIG_PS_OK ? -ELIG_EREFUSED : rc;
    }
    size_t len, n;
    const uint8_t *p = elig_cconn_input(c->cc, &len);
    if ((n = peer_answer_len(d->sys, p, len)) == 0)
        return 0;
    elig_cconn_consume(c->cc, n);
    return 1;
}

static int on_recv(struct driver *d, const struct dataset *ds, unsigned ci, int res)
{
    struct conn *c = &d->conns[ci];
    if (res <= 0)
        return res < 0 ? res : -ECONNRESET;
    elig_cconn_received(c->cc, (size_t)res);
    double now = bench_now();
    int rc;
    while (c->waiting && (rc = next_answer(d, c)) != 0) {
        if (rc < 0)
            return rc;
        c->waiting--;
        if (d->timing) {
            elig_hist_record(d->lat, (uint64_t)((now - c->t_sent) * 1e9));
            d->answers++;
            d->lookups += d->per_frame;
        }
    }
    if (c->waiting == 0 && (rc = start_group(d, ds, ci)))
        return rc;
    submit_send(d, ci); /* TLS: the handshake's messages, the requests held until it ended */
    return submit_recv(d, ci);
}

/* A send completed: what is left to send goes next. */
static int on_send(struct driver *d, unsigned ci, int res)
{
    if (res <= 0)
        return res < 0 ? res : -EIO;
    struct conn *c = &d->conns[ci];
    c->sending = false;
    elig_cconn_sent(c->cc, (size_t)res);
    submit_send(d, ci); /* the rest of a short send, or a group queued meanwhile */
    return 0;
}

/*
 * Connection i of a run: for eligd, through the client library (and, for
 * the --secure eligd, its handshake as BENCH_FACILITY), whose core the driver
 * then drives; for a peer, a plain socket and a core of its own.
 */
static int conn_open(struct conn *c, enum sys sys, uint16_t port)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    if (!is_eligd(sys)) {
        c->fd = elig_client_dial(addr);
        return c->fd < 0 ? c->fd : elig_cconn_new(&c->cc);
    }
    uint8_t status;
    struct elig_client_open o = { .addr = addr,
                                  .timeout_ms = 10000,
                                  .tls = sys == SYS_TLS ? tls_client : NULL,
                                  .code = sys == SYS_SECURE ? BENCH_FACILITY : NULL,
                                  .key = secure_key };
    c->fd = elig_client_open_core(&o, &c->cc, &status);
    return c->fd < 0 ? c->fd : 0;
}

/* One timed run of a workload: warm-up 10% of the time, then measure. */
/*
 * CPU time the process pid has used so far, user and system, all its
 * threads (/proc/PID/stat, in clock ticks: 10 ms; a timed run of seconds
 * at a core's worth is some hundreds of them). Negative if unreadable.
 */
static double cpu_seconds(pid_t pid)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -1;
    buf[n] = 0;
    const char *p = strrchr(buf, ')'); /* the name may hold spaces: fields after it */
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return -1;
    return (double)(ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static int run_workload(const struct workload *w, uint16_t port, pid_t server,
                        const struct dataset *ds, unsigned nconns, double seconds,
                        struct result *res)
{
    struct driver d = {
        .nconns = nconns, .sys = w->sys, .depth = w->depth, .per_frame = w->per_frame
    };
    int rc = io_uring_queue_init(2 * nconns + 8, &d.ring, 0);
    if (rc)
        return rc;
    d.conns = calloc(nconns, sizeof *d.conns);
    d.lat = calloc(1, sizeof *d.lat);
    if (d.lat == NULL)
        rc = -ENOMEM;
    for (unsigned i = 0; d.conns && i < nconns; i++)
        d.conns[i].fd = -1;
    if (d.conns == NULL)
        rc = -ENOMEM;
    for (unsigned i = 0; rc == 0 && i < nconns; i++)
        rc = conn_open(&d.conns[i], w->sys, port);
    if (rc == 0) {
        d.next_q = (uint64_t)getpid() * 7919;
        for (unsigned i = 0; i < nconns && rc == 0; i++)
            if ((rc = start_group(&d, ds, i)) == 0)
                rc = submit_recv(&d, i);
    }
    if (rc == 0) {
        double t0 = bench_now(), start = t0 + seconds * 0.1, end = start + seconds, cpu0 = -1;
        while (rc == 0) {
            double now = bench_now();
            if (!d.timing && now >= start) {
                d.timing = true;
                start = now;
                cpu0 = cpu_seconds(server);
            }
            if (now >= end)
                break;
            struct io_uring_cqe *cqe;
            io_uring_submit_and_wait(&d.ring, 1);
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&d.ring, head, cqe)
            {
                unsigned ci = (unsigned)(cqe->user_data >> 1);
                rc = cqe->user_data & 1 ? on_recv(&d, ds, ci, cqe->res) : on_send(&d, ci, cqe->res);
                seen++;
                if (rc)
                    break;
            }
            io_uring_cq_advance(&d.ring, seen);
        }
        double spent = bench_now() - start, cpu1 = cpu_seconds(server);
        res->cpu_us =
            cpu0 >= 0 && cpu1 >= 0 && d.lookups ? (cpu1 - cpu0) * 1e6 / (double)d.lookups : 0;
        res->rps = (double)d.answers / spent;
        res->lps = (double)d.lookups / spent;
        res->p50_us = (double)elig_hist_percentile(d.lat, 50) / 1e3;
        res->p99_us = (double)elig_hist_percentile(d.lat, 99) / 1e3;
    }
    io_uring_queue_exit(&d.ring); /* cancels the sends and receives still posted */
    for (unsigned i = 0; d.conns && i < nconns; i++) {
        if (d.conns[i].fd >= 0)
            close(d.conns[i].fd);
        elig_cconn_free(d.conns[i].cc);
    }
    free(d.conns);
    free(d.lat);
    return rc;
}

/* ---- the benchmark ------------------------------------------------------------ */

/* ---- the benchmark ------------------------------------------------------------ */

struct plan {
    struct workload w[MAX_WORKLOADS];
    size_t n;
    struct peer peers[SYS_COUNT]; /* by system; pid 0: not in the run */
    bool on[SYS_COUNT];
};

/* The workloads: a lookup at each depth on every system in the run, then eligd's BATCH. */
static int plan_make(const struct bench_opts *o, struct plan *pl)
{
    char buf[128];
    snprintf(buf, sizeof buf, "%s", o->depths ? o->depths : "1,16");
    unsigned depths = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        char *end;
        unsigned long d = strtoul(t, &end, 10);
        if (*end || d == 0 || d > 1024 || depths == MAX_DEPTHS)
            return -EINVAL;
        for (int s = 0; s < SYS_COUNT; s++) {
            if (!pl->on[s])
                continue;
            struct workload *w = &pl->w[pl->n++];
            snprintf(w->name, sizeof w->name, "lookup, depth %lu", d);
            snprintf(w->short_name, sizeof w->short_name, "depth%lu", d);
            w->sys = (enum sys)s;
            w->depth = (unsigned)d;
            w->per_frame = 1;
        }
        depths++;
    }
    for (int s = SYS_ELIGD; s <= SYS_TLS; s += SYS_TLS - SYS_ELIGD) { /* eligd, and over TLS */
        if (!pl->on[s])
            continue;
        struct workload *w = &pl->w[pl->n++];
        snprintf(w->name, sizeof w->name, "BATCH of %d, depth 4", BATCH_N);
        snprintf(w->short_name, sizeof w->short_name, "batch");
        w->sys = (enum sys)s;
        w->depth = 4;
        w->per_frame = BATCH_N;
    }
    return depths ? 0 : -EINVAL;
}

/* Which peers: --peers as a comma list of redis, memcached, or "none". */
static int plan_peers(const struct bench_opts *o, struct plan *pl)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", o->peers ? o->peers : "redis");
    pl->on[SYS_ELIGD] = true;
    pl->on[SYS_SECURE] = o->secure;
    pl->on[SYS_TLS] = o->tls;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        if (strcmp(t, "none") == 0)
            continue;
        int s = SYS_REDIS;
        while (s < SYS_COUNT && strcmp(t, sys_names[s]) != 0)
            s++;
        if (s == SYS_COUNT)
            return -EINVAL;
        pl->on[s] = true;
    }
    return 0;
}

static bool wanted(const struct bench_opts *o, const struct workload *w)
{
    return o->only_name == NULL || strcmp(o->only_name, w->short_name) == 0;
}

/* The eligd result a peer's result is compared with: same workload name. */
static const struct result *eligd_twin(const struct plan *pl, size_t w, const struct result *med)
{
    for (size_t k = 0; k < pl->n; k++)
        if (pl->w[k].sys == SYS_ELIGD && strcmp(pl->w[k].name, pl->w[w].name) == 0)
            return &med[k];
    return NULL;
}

static void print_report(const struct bench_opts *o, const struct plan *pl, double bytes_eligd,
                         uint64_t peer_n, const struct result *med)
{
    if (o->json) {
        printf("{\"benchmark\":\"server\",\"records\":%llu,\"peer_records\":%llu,"
               "\"connections\":%u,\"workers\":%u,\"runs\":%u,\"seconds\":%.1f,"
               "\"eligd_bytes_per_record\":%.1f,\"peers\":{",
               (unsigned long long)o->records, (unsigned long long)peer_n, o->connections,
               o->workers, o->runs, o->seconds, bytes_eligd);
        for (int s = SYS_REDIS, first = 1; s < SYS_COUNT; s++) {
            if (!pl->on[s])
                continue;
            printf("%s\"%s\":{\"version\":\"%s\",\"bytes_per_record\":%.1f}", first ? "" : ",",
                   sys_names[s], pl->peers[s].version, pl->peers[s].bytes_per_record);
            first = 0;
        }
        printf("},\"results\":[");
        for (size_t w = 0, first = 1; w < pl->n; w++) {
            if (!wanted(o, &pl->w[w]))
                continue;
            const struct result *e = eligd_twin(pl, w, med);
            printf("%s{\"workload\":\"%s\",\"system\":\"%s\",\"depth\":%u,\"per_frame\":%u,"
                   "\"requests_per_s\":%.0f,\"lookups_per_s\":%.0f,\"p50_us\":%.1f,"
                   "\"p99_us\":%.1f,\"server_cpu_us_per_lookup\":%.3f,\"eligd_ratio\":%.3f,"
                   "\"cpu_ratio\":%.3f}",
                   first ? "" : ",", pl->w[w].name, sys_names[pl->w[w].sys], pl->w[w].depth,
                   pl->w[w].per_frame, med[w].rps, med[w].lps, med[w].p50_us, med[w].p99_us,
                   med[w].cpu_us, e && med[w].rps > 0 ? e->rps / med[w].rps : 1.0,
                   e && med[w].cpu_us > 0 ? e->cpu_us / med[w].cpu_us : 1.0);
            first = 0;
        }
        printf("]}\n");
        return;
    }
    printf("server: %llu records in eligd, %llu in each peer, %u connections, eligd with %u "
           "workers, medians of %u runs of %.1f s\n",
           (unsigned long long)o->records, (unsigned long long)peer_n, o->connections, o->workers,
           o->runs, o->seconds);
    printf("  memory per record: eligd %.1f bytes (whole segment)", bytes_eligd);
    for (int s = SYS_REDIS; s < SYS_COUNT; s++)
        if (pl->on[s])
            printf(", %s %.1f bytes (RSS growth)", pl->peers[s].version,
                   pl->peers[s].bytes_per_record);
    printf("\n  %-22s %-12s %12s %14s %9s %9s %12s %11s %10s\n", "workload", "system", "requests/s",
           "lookups/s", "p50 us", "p99 us", "eligd/this", "srv cpu us", "cpu e/this");
    for (size_t w = 0; w < pl->n; w++) {
        if (!wanted(o, &pl->w[w]))
            continue;
        const struct result *e = eligd_twin(pl, w, med);
        char ratio[16] = "", cpu[16] = "";
        if (pl->w[w].sys != SYS_ELIGD && e && med[w].rps > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", e->rps / med[w].rps);
        if (pl->w[w].sys != SYS_ELIGD && e && med[w].cpu_us > 0)
            snprintf(cpu, sizeof cpu, "%.2fx", e->cpu_us / med[w].cpu_us);
        printf("  %-22s %-12s %12.0f %14.0f %9.1f %9.1f %12s %11.3f %10s\n", pl->w[w].name,
               sys_names[pl->w[w].sys], med[w].rps, med[w].lps, med[w].p50_us, med[w].p99_us, ratio,
               med[w].cpu_us, cpu);
    }
}

static double median_of(const struct result *r, unsigned n, size_t field)
{
    double v[64];
    for (unsigned i = 0; i < n; i++)
        v[i] = *(const double *)((const char *)&r[i] + field);
    return bench_median(v, n);
}

/*
 * Start an eligd of sys with argv (its own options) and the ones every eligd
 * of the run shares (loopback, any port, workers, no connection cap in the
 * way); wait for its ready line; its port into pe.
 */
static int spawn_eligd(char *const argv[], char *workers, enum sys sys, const char *version,
                       struct peer *pe, char *line, size_t size)
{
    char *all[40];
    size_t n = 0;
    while (argv[n] && n < 30) {
        all[n] = argv[n];
        n++;
    }
    char *common[] = { "--listen", "127.0.0.1:0", "--max-conns", "65536", "--workers", workers };
    for (size_t i = 0; i < sizeof common / sizeof common[0]; i++)
        all[n++] = common[i];
    all[n] = NULL;
    pe->sys = sys;
    snprintf(pe->version, sizeof pe->version, "%s", version);
    pe->pid = bench_spawn_until(all, "eligd: ready", line, size);
    unsigned port = 0;
    if (pe->pid < 0 || sscanf(line, "eligd: ready port=%u", &port) != 1)
        return -EIO;
    pe->port = (uint16_t)port;
    return 0;
}

/* Paths of the --secure eligd's registry, its facility's key file and audit log. */
static void secure_paths(const struct bench_opts *o, char *reg, char *key, char *audit, size_t size)
{
    snprintf(reg, size, "%s/elig-bench-facilities-%ld", o->dir, (long)getpid());
    snprintf(key, size, "%s/elig-bench-facility-key-%ld", o->dir, (long)getpid());
    snprintf(audit, size, "%s/elig-bench-audit-%ld", o->audit_dir, (long)getpid());
}

/*
 * Register the benchmark's facility as an operator does: eligctl (beside
 * eligd) adds it to a new registry and writes its key file, which the
 * connections' handshakes read.
 */
static int secure_register(const struct bench_opts *o, const char *reg, const char *key)
{
    char eligctl[4096];
    bench_eligctl(o, eligctl, sizeof eligctl);
    char *argv[] = { eligctl,      "facility",  "add",       BENCH_FACILITY, "--type", "hospital",
                     "--registry", (char *)reg, "--key-out", (char *)key,    NULL };
    int rc = bench_run(argv);
    if (rc) {
        fprintf(stderr, "elig-bench: %s facility add failed (exit %d)\n", eligctl, rc);
        return -EIO;
    }
    return elig_fkey_read(key, secure_key);
}

/* The --secure eligd: one facility registered, an audit log, allowances out of the way. */
static int secure_start(const struct bench_opts *o, char *seg, char *workers, struct peer *pe,
                        char *line, size_t size)
{
    char reg[4096], key[4096], audit[4096];
    secure_paths(o, reg, key, audit, sizeof reg);
    int rc = secure_register(o, reg, key);
    if (rc)
        return rc;
    char *argv[] = { (char *)o->eligd,
                     "--attach",
                     seg,
                     "--facilities",
                     reg,
                     "--audit",
                     audit,
                     "--facility-rate",
                     "100000000",
                     "--facility-burst",
                     "100000000",
                     "--facility-conns",
                     "65536",
                     NULL };
    return spawn_eligd(argv, workers, SYS_SECURE, "eligd, HELLO/AUTH and audit log", pe, line,
                       size);
}

/* Where the TLS eligd's CA and certificates go, made for the run. */
static void tls_dir(const struct bench_opts *o, char *dir, size_t size)
{
    snprintf(dir, size, "%s/elig-bench-tls-%ld", o->dir, (long)getpid());
}

/*
 * The TLS eligd: a CA, eligd's certificate and the benchmark facility's,
 * made with eligctl as an operator would; the network trusted otherwise
 * (no registry, no audit), so its rows against eligd's are the cost of TLS.
 */
static int tls_start(const struct bench_opts *o, char *seg, char *workers, struct peer *pe,
                     char *line, size_t size)
{
    char dir[4096], key[4200], crt[4200], certs[4200];
    tls_dir(o, dir, sizeof dir);
    snprintf(key, sizeof key, "%s/server.key", dir);
    snprintf(crt, sizeof crt, "%s/server.crt", dir);
    snprintf(certs, sizeof certs, "%s/certs", dir);
    int made = bench_tls_make(o, dir);
    if (made)
        return made;
    char cafile[4300], fkey[4300], fcrt[4300], err[512];
    snprintf(cafile, sizeof cafile, "%s/ca/ca.crt", dir);
    snprintf(fkey, sizeof fkey, "%s/%s.key", certs, BENCH_FACILITY);
    snprintf(fcrt, sizeof fcrt, "%s/%s.crt", certs, BENCH_FACILITY);
    struct elig_tls_params tp = {
        .role = ELIG_TLS_CLIENT, .cert = fcrt, .key = fkey, .ca = cafile, .server_name = "127.0.0.1"
    };
    int rc = elig_tls_ctx_new(&tp, &tls_client, err, sizeof err);
    if (rc) {
        fprintf(stderr, "elig-bench: TLS: %s\n", err);
        return rc;
    }
    /* every connection of the run comes from one address: no handshake rate in the way */
    char *argv[] = { (char *)o->eligd,
                     "--attach",
                     seg,
                     "--trust-network",
                     "--tls-cert",
                     crt,
                     "--tls-key",
                     key,
                     "--tls-ca",
                     cafile,
                     "--tls-handshake-rate",
                     "1000000",
                     NULL };
    return spawn_eligd(argv, workers, SYS_TLS, "eligd, TLS 1.3 with client certificates", pe, line,
                       size);
}

static void tls_clean(const struct bench_opts *o, struct peer *pe)
{
    char dir[4096];
    bench_stop(pe->pid);
    pe->pid = 0;
    elig_tls_ctx_free(tls_client);
    tls_client = NULL;
    tls_dir(o, dir, sizeof dir);
    bench_rm_tree(dir);
}

static void secure_clean(const struct bench_opts *o, struct peer *pe)
{
    char reg[4096], key[4096], audit[4096];
    bench_stop(pe->pid);
    pe->pid = 0;
    secure_paths(o, reg, key, audit, sizeof reg);
    unlink(reg);
    unlink(key);
    strcat(reg, ".lock"); /* eligctl's, beside the registry */
    unlink(reg);
    bench_rm_tree(audit);
}

int bench_server(const struct bench_opts *o)
{
    static struct bench_pop pop;
    static struct dataset ds;
    static struct plan pl;
    static struct result runs[MAX_WORKLOADS][64];
    struct result med[MAX_WORKLOADS];
    char seg[4096], line[512];
    if (plan_peers(o, &pl) || plan_make(o, &pl)) {
        fprintf(stderr,
                "elig-bench: --peers: redis, memcached or none; --depths: up to %d "
                "depths of 1..1024, comma-separated\n",
                MAX_DEPTHS);
        return 2;
    }
    bool known = o->only_name == NULL;
    for (size_t w = 0; w < pl.n; w++)
        known |= wanted(o, &pl.w[w]) && o->only_name;
    if (!known) {
        fprintf(stderr, "elig-bench: --only: depthN (N of --depths) or batch\n");
        return 2;
    }
    uint64_t peer_n =
        o->peer_records && o->peer_records < o->records ? o->peer_records : o->records;
    snprintf(seg, sizeof seg, "%s/elig-bench-server-%ld.seg", o->dir, (long)getpid());
    struct elig_index *ix = NULL;
    double build;
    if (bench_index_make(o, &pop, seg, &ix, &build) < 0)
        return EXIT_FAIL;
    struct elig_index_stats st;
    elig_index_stats(ix, &st);
    elig_index_close(ix, true);
    double bytes_eligd = (double)st.segment_bytes / (double)st.records;

    int status = EXIT_FAIL;
    pid_t eligd = -1;
    if (dataset_queries(&pop, peer_n, &ds)) {
        fprintf(stderr, "elig-bench: out of memory for the queries\n");
        goto out;
    }
    for (int s = SYS_REDIS; s < SYS_COUNT; s++) {
        struct peer *pe = &pl.peers[s];
        if (!pl.on[s])
            continue;
        pe->sys = (enum sys)s;
        snprintf(pe->version, sizeof pe->version, "%s", sys_names[s]);
        if (peer_start(pe, peer_n)) {
            fprintf(stderr, "elig-bench: cannot start %s (scripts/setup bench installs it)\n",
                    sys_names[s]);
            goto out;
        }
        fprintf(stderr, "elig-bench: loading %llu records into %s\n", (unsigned long long)peer_n,
                pe->version);
        if (peer_load(pe, &pop, peer_n)) {
            fprintf(stderr, "elig-bench: could not load %s\n", sys_names[s]);
            goto out;
        }
    }
    char workers[16];
    snprintf(workers, sizeof workers, "%u", o->workers);
    char *eargv[] = { (char *)o->eligd, "--attach",    seg,           "--trust-network",
                      "--listen",       "127.0.0.1:0", "--max-conns", "65536",
                      "--workers",      workers,       NULL };
    eligd = bench_spawn_until(eargv, "eligd: ready", line, sizeof line);
    unsigned ep = 0;
    if (eligd < 0 || sscanf(line, "eligd: ready port=%u", &ep) != 1) {
        fprintf(stderr, "elig-bench: cannot start %s\n", o->eligd);
        goto out;
    }
    if (o->secure && secure_start(o, seg, workers, &pl.peers[SYS_SECURE], line, sizeof line)) {
        fprintf(stderr, "elig-bench: cannot start %s with facilities and an audit log\n", o->eligd);
        goto out;
    }
    if (o->tls && tls_start(o, seg, workers, &pl.peers[SYS_TLS], line, sizeof line)) {
        fprintf(stderr, "elig-bench: cannot start %s with TLS\n", o->eligd);
        goto out;
    }
    memset(runs, 0, sizeof runs);
    memset(med, 0, sizeof med);
    for (unsigned r = 0; r < o->runs; r++)
        for (size_t w = 0; w < pl.n; w++) {
            if (!wanted(o, &pl.w[w]))
                continue;
            uint16_t port = pl.w[w].sys == SYS_ELIGD ? (uint16_t)ep : pl.peers[pl.w[w].sys].port;
            pid_t pid = pl.w[w].sys == SYS_ELIGD ? eligd : pl.peers[pl.w[w].sys].pid;
            int rc =
                run_workload(&pl.w[w], port, pid, &ds, o->connections, o->seconds, &runs[w][r]);
            if (rc) {
                fprintf(stderr, "elig-bench: %s on %s: %s\n", pl.w[w].name, sys_names[pl.w[w].sys],
                        elig_net_strerror(rc));
                goto out;
            }
        }
    for (size_t w = 0; w < pl.n; w++) {
        med[w].rps = median_of(runs[w], o->runs, offsetof(struct result, rps));
        med[w].lps = median_of(runs[w], o->runs, offsetof(struct result, lps));
        med[w].p50_us = median_of(runs[w], o->runs, offsetof(struct result, p50_us));
        med[w].p99_us = median_of(runs[w], o->runs, offsetof(struct result, p99_us));
        med[w].cpu_us = median_of(runs[w], o->runs, offsetof(struct result, cpu_us));
    }
    print_report(o, &pl, bytes_eligd, peer_n, med);
    status = 0;
out:
    for (int s = SYS_REDIS; s < SYS_COUNT; s++) {
        if (pl.peers[s].fd > 0)
            close(pl.peers[s].fd);
        bench_stop(pl.peers[s].pid);
    }
    bench_stop(eligd);
    if (o->secure)
        secure_clean(o, &pl.peers[SYS_SECURE]);
    if (o->tls)
        tls_clean(o, &pl.peers[SYS_TLS]);
    dataset_free(&ds);
    unlink(seg);
    return status;
}
