/* SPDX-License-Identifier: MIT */
/*
 * bench_server.c - "elig-bench server": eligd over loopback, side by side
 * with redis-server holding the same records.
 *
 * Set-up: N synthetic records (the index benchmark's population) are built
 * into a segment that eligd serves read-only (--attach), and loaded into a
 * redis-server started for the run (no persistence) as GET-able values:
 * key "insurer:symbol:number:branch", value the very bytes eligd answers for
 * that record. So both systems find the same record by the same key and send
 * back about as many bytes; eligd also applies the rules and checks the
 * birth date, redis does nothing but a hash lookup.
 *
 * Driver: one client thread, one io_uring, C connections, closed loop at
 * depth D: each connection sends D requests in one send and waits for their
 * D answers before sending the next D. Every request's latency is taken
 * from the send of its group to the arrival of its answer. Requests cycle
 * through up to 2^20 pre-encoded queries of random records (fixed seed), so
 * the client does no encoding while timed. The same driver, connections,
 * depths and keys serve both systems; runs alternate between them, so a
 * noisy neighbour hurts both alike. Medians of R runs are reported.
 *
 * Workloads: eligd LOOKUP_NUMBER and redis GET at depth 1 and 16, and eligd
 * BATCH of 64 lookups per frame at depth 4 (lookups/s counts entries).
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
#include <sys/wait.h>
#include <unistd.h>

#include "elig_bench.h"
#include "elig_addr.h"
#include "elig_error.h"
#include "elig_hist.h"
#include "elig_index.h"
#include "elig_le.h"
#include "elig_proto.h"
#include "elig_resp.h"

#define EXIT_FAIL 1
#define MAXQ      (1u << 20)
#define BATCH_N   64
#define FACILITY  "1310000001"

enum sys { SYS_ELIGD, SYS_REDIS };

/* Pre-encoded requests: one blob, offsets per query. */
struct reqs {
    uint8_t *data;
    size_t len, cap;
    uint32_t *off; /* n + 1 offsets */
    uint32_t n;
};

struct conn {
    int fd;
    uint8_t *out;
    size_t out_len, out_cap;
    uint8_t *in;
    size_t in_len, in_cap;
    unsigned waiting; /* answers still due for the group in flight */
    double t_sent;
};

struct workload {
    const char *name;
    const char *short_name; /* for --only */
    enum sys sys;
    unsigned depth;
    unsigned per_frame; /* lookups per request frame (BATCH) */
};

struct result {
    double rps; /* requests (frames) per second */
    double lps; /* lookups per second */
    double p50_us, p99_us;
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

/* Length of one complete answer at p (eligd frame or RESP bulk string); 0 if incomplete. */
static size_t answer_len(enum sys sys, const uint8_t *p, size_t len)
{
    if (sys == SYS_ELIGD) {
        if (len < ELIG_PROTO_HEADER)
            return 0;
        size_t n = ELIG_PROTO_HEADER + elig_rd32(p + 12);
        return len >= n ? n : 0;
    }
    long n = elig_resp_parse(p, len, NULL);
    return n > 0 ? (size_t)n : 0;
}

/* ---- processes -------------------------------------------------------------- */

/* Start argv[0] with stdout on a pipe; read lines until one contains ready. */
static pid_t spawn_until(char *const argv[], const char *ready, char *line, size_t size)
{
    int p[2];
    if (pipe(p))
        return -1;
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], STDOUT_FILENO);
        close(p[0]);
        close(p[1]);
        execvp(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    bool ok = false;
    while (f && fgets(line, (int)size, f))
        if (strstr(line, ready)) {
            ok = true;
            break;
        }
    if (f)
        fclose(f); /* eligd writes nothing more; redis's later lines get EPIPE, ignored */
    if (!ok) {
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        return -1;
    }
    return pid;
}

static void stop(pid_t pid)
{
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
}

static int tcp_connect(uint16_t port)
{
    char addr[32];
    snprintf(addr, sizeof addr, "127.0.0.1:%u", port);
    int fd = elig_addr_connect(addr);
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

static int write_all(int fd, const uint8_t *p, size_t n)
{
    while (n) {
        ssize_t w = write(fd, p, n);
        if (w <= 0)
            return -1;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* One redis command; its first answer line into out. */
static int redis_cmd(int fd, const char *cmd, char *out, size_t size)
{
    if (write_all(fd, (const uint8_t *)cmd, strlen(cmd)))
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

static uint64_t redis_used_memory(int fd)
{
    char buf[8192];
    if (redis_cmd(fd, "*2\r\n$4\r\nINFO\r\n$6\r\nmemory\r\n", buf, sizeof buf))
        return 0;
    const char *m = strstr(buf, "used_memory:");
    return m ? strtoull(m + 12, NULL, 10) : 0;
}

/* ---- the data set ----------------------------------------------------------- */

struct dataset {
    struct reqs eligd, entries, redis;
    uint32_t nq;
};

/* Encode the queries for both systems, and (if fd >= 0) load redis with every record. */
static int dataset_make(const struct bench_pop *pop, int redis_fd, struct dataset *ds)
{
    elig_date_t today = bench_ymd(2025, 2, 1);
    ds->nq = pop->n < MAXQ ? (uint32_t)pop->n : MAXQ;
    struct reqs *all[3] = { &ds->eligd, &ds->entries, &ds->redis };
    for (int i = 0; i < 3; i++) {
        all[i]->off = calloc(ds->nq + 1, sizeof(uint32_t));
        if (all[i]->off == NULL)
            return -ENOMEM;
    }
    struct elig_pbuf b = { 0 }, load = { 0 };
    struct elig_proto_answer *a = calloc(1, sizeof(*a));
    struct elig_record r;
    char key[128];
    uint64_t x = 0x9e3779b97f4a7c15ull, loaded = 0;
    int rc = a ? 0 : -ENOMEM;
    /* the queries: random records, fixed seed */
    for (uint32_t i = 0; rc == 0 && i < ds->nq; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        bench_record(pop, x % pop->n, today, &r);
        struct elig_proto_number q = {
            .facility = FACILITY,
            .date = 20250201,
            .birth = elig_proto_date_out(r.birth_date),
            .insurer = r.key.insurer,
            .insurer_len = ELIG_INSURER_LEN,
            .symbol = r.key.symbol,
            .symbol_len = r.key.symbol_len,
            .number = r.key.number,
            .number_len = r.key.number_len,
            .branch = r.key.branch,
            .branch_len = ELIG_BRANCH_LEN,
        };
        b.len = 0;
        long at = elig_proto_frame_begin(&b, ELIG_OP_LOOKUP_NUMBER, 0, 0, i);
        rc = at < 0 ? (int)at : elig_proto_number_encode(&b, &q, false);
        if (rc == 0) {
            elig_proto_frame_end(&b, at);
            rc = reqs_add(&ds->eligd, b.data, b.len);
        }
        b.len = 0;
        if (rc == 0 && (rc = elig_proto_number_encode(&b, &q, true)) == 0)
            rc = reqs_add(&ds->entries, b.data, b.len);
        size_t kl = redis_key(&r.key, key);
        char cmd[256];
        int n = snprintf(cmd, sizeof cmd, "*2\r\n$3\r\nGET\r\n$%zu\r\n%s\r\n", kl, key);
        if (rc == 0)
            rc = reqs_add(&ds->redis, cmd, (size_t)n);
    }
    /* redis holds every record: SET key <the answer eligd gives>, pipelined */
    for (uint64_t i = 0; rc == 0 && redis_fd >= 0 && i < pop->n; i++) {
        bench_record(pop, i, today, &r);
        memset(a, 0, offsetof(struct elig_proto_answer, rec));
        a->validity = ELIG_VALID;
        a->count = 1;
        a->reference = i;
        a->rec[0] = r;
        b.len = 0;
        if ((rc = elig_proto_answer_encode(&b, a)))
            break;
        size_t kl = redis_key(&r.key, key);
        char head[256];
        int n = snprintf(head, sizeof head, "*3\r\n$3\r\nSET\r\n$%zu\r\n%s\r\n$%zu\r\n", kl, key,
                         b.len);
        if (elig_pbuf_reserve(&load, (size_t)n + b.len + 2)) {
            rc = -ENOMEM;
            break;
        }
        memcpy(load.data + load.len, head, (size_t)n);
        memcpy(load.data + load.len + n, b.data, b.len);
        memcpy(load.data + load.len + n + b.len, "\r\n", 2);
        load.len += (size_t)n + b.len + 2;
        if (++loaded % 4096 == 0 || i + 1 == pop->n) {
            if (write_all(redis_fd, load.data, load.len) ||
                elig_resp_drain(redis_fd, loaded % 4096 ? loaded % 4096 : 4096) != 0)
                rc = -EIO;
            load.len = 0;
        }
    }
    elig_pbuf_free(&b);
    elig_pbuf_free(&load);
    free(a);
    return rc;
}

static void dataset_free(struct dataset *ds)
{
    struct reqs *all[3] = { &ds->eligd, &ds->entries, &ds->redis };
    for (int i = 0; i < 3; i++) {
        free(all[i]->data);
        free(all[i]->off);
    }
}

/* ---- the driver ------------------------------------------------------------- */

/* Append one request to c's output. */
static void put_request(struct driver *d, const struct dataset *ds, struct conn *c)
{
    const struct reqs *q = d->sys == SYS_REDIS ? &ds->redis : &ds->eligd;
    if (d->per_frame == 1) {
        uint32_t i = (uint32_t)(d->next_q++ % ds->nq);
        size_t n = q->off[i + 1] - q->off[i];
        memcpy(c->out + c->out_len, q->data + q->off[i], n);
        c->out_len += n;
        return;
    }
    uint8_t *f = c->out + c->out_len;
    size_t len = ELIG_PROTO_HEADER + ELIG_PROTO_FACILITY_LEN + 2;
    memcpy(f + ELIG_PROTO_HEADER, FACILITY, ELIG_PROTO_FACILITY_LEN);
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
    c->out_len += len;
}

static void submit_send(struct driver *d, unsigned ci)
{
    struct conn *c = &d->conns[ci];
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
    io_uring_prep_send(sqe, c->fd, c->out, c->out_len, MSG_NOSIGNAL);
    io_uring_sqe_set_data64(sqe, (uint64_t)ci << 1);
}

static void submit_recv(struct driver *d, unsigned ci)
{
    struct conn *c = &d->conns[ci];
    struct io_uring_sqe *sqe = io_uring_get_sqe(&d->ring);
    io_uring_prep_recv(sqe, c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
    io_uring_sqe_set_data64(sqe, (uint64_t)ci << 1 | 1);
}

/* A new group of `depth` requests on connection ci. */
static void start_group(struct driver *d, const struct dataset *ds, unsigned ci)
{
    struct conn *c = &d->conns[ci];
    c->out_len = 0;
    for (unsigned k = 0; k < d->depth; k++)
        put_request(d, ds, c);
    c->waiting = d->depth;
    c->t_sent = bench_now();
    submit_send(d, ci);
}

static int on_recv(struct driver *d, const struct dataset *ds, unsigned ci, int res)
{
    struct conn *c = &d->conns[ci];
    if (res <= 0)
        return res < 0 ? res : -ECONNRESET;
    c->in_len += (size_t)res;
    double now = bench_now();
    size_t off = 0, n;
    while (c->waiting && (n = answer_len(d->sys, c->in + off, c->in_len - off)) > 0) {
        if (d->sys == SYS_ELIGD && c->in[off + 5] != ELIG_PS_OK)
            return -ELIG_EREFUSED;
        off += n;
        c->waiting--;
        if (d->timing) {
            elig_hist_record(d->lat, (uint64_t)((now - c->t_sent) * 1e9));
            d->answers++;
            d->lookups += d->per_frame;
        }
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    if (c->waiting == 0)
        start_group(d, ds, ci);
    submit_recv(d, ci);
    return 0;
}

/* One timed run of a workload: warm-up 10% of the time, then measure. */
static int run_workload(const struct workload *w, uint16_t port, const struct dataset *ds,
                        unsigned nconns, double seconds, struct result *res)
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
    size_t out_cap = (size_t)w->depth * (w->per_frame * 300 + 512);
    for (unsigned i = 0; rc == 0 && i < nconns; i++) {
        struct conn *c = &d.conns[i];
        c->fd = tcp_connect(port);
        c->out = malloc(out_cap);
        c->in_cap = (size_t)w->depth * w->per_frame * 1024 + 65536;
        c->in = malloc(c->in_cap);
        if (c->fd < 0 || !c->out || !c->in)
            rc = -EIO;
    }
    if (rc == 0) {
        d.next_q = (uint64_t)getpid() * 7919;
        for (unsigned i = 0; i < nconns; i++) {
            start_group(&d, ds, i);
            submit_recv(&d, i);
        }
        double t0 = bench_now(), start = t0 + seconds * 0.1, end = start + seconds;
        while (rc == 0) {
            double now = bench_now();
            if (!d.timing && now >= start) {
                d.timing = true;
                start = now;
            }
            if (now >= end)
                break;
            struct io_uring_cqe *cqe;
            io_uring_submit_and_wait(&d.ring, 1);
            unsigned head, seen = 0;
            io_uring_for_each_cqe(&d.ring, head, cqe)
            {
                unsigned ci = (unsigned)(cqe->user_data >> 1);
                if (cqe->user_data & 1)
                    rc = on_recv(&d, ds, ci, cqe->res);
                else if (cqe->res < (int)d.conns[ci].out_len)
                    rc = cqe->res < 0 ? cqe->res : -EIO; /* short sends do not happen on loopback */
                seen++;
                if (rc)
                    break;
            }
            io_uring_cq_advance(&d.ring, seen);
        }
        double spent = bench_now() - start;
        res->rps = (double)d.answers / spent;
        res->lps = (double)d.lookups / spent;
        res->p50_us = (double)elig_hist_percentile(d.lat, 50) / 1e3;
        res->p99_us = (double)elig_hist_percentile(d.lat, 99) / 1e3;
    }
    for (unsigned i = 0; i < nconns; i++) {
        if (d.conns[i].fd > 0)
            close(d.conns[i].fd);
        free(d.conns[i].out);
        free(d.conns[i].in);
    }
    io_uring_queue_exit(&d.ring); /* cancels the receives still posted */
    free(d.conns);
    free(d.lat);
    return rc;
}

/* ---- the benchmark ------------------------------------------------------------ */

static const struct workload workloads[] = {
    { "lookup, depth 1", "depth1", SYS_ELIGD, 1, 1 },
    { "lookup, depth 1", "depth1", SYS_REDIS, 1, 1 },
    { "lookup, depth 16", "depth16", SYS_ELIGD, 16, 1 },
    { "lookup, depth 16", "depth16", SYS_REDIS, 16, 1 },
    { "BATCH of 64, depth 4", "batch", SYS_ELIGD, 4, BATCH_N },
};
#define NWORK (sizeof workloads / sizeof workloads[0])

static void print_report(const struct bench_opts *o, double bytes_eligd, double bytes_redis,
                         struct result med[NWORK], const char *redis_version)
{
    if (o->json) {
        printf("{\"benchmark\":\"server\",\"records\":%llu,\"connections\":%u,\"workers\":%u,"
               "\"runs\":%u,"
               "\"seconds\":%.1f,\"redis\":\"%s\",\"eligd_bytes_per_record\":%.1f,"
               "\"redis_bytes_per_record\":%.1f,\"results\":[",
               (unsigned long long)o->records, o->connections, o->workers, o->runs, o->seconds,
               redis_version, bytes_eligd, bytes_redis);
        for (size_t w = 0, first = 1; w < NWORK; w++) {
            if (o->only_name && strcmp(o->only_name, workloads[w].short_name) != 0)
                continue;
            printf("%s{\"workload\":\"%s\",\"system\":\"%s\",\"requests_per_s\":%.0f,"
                   "\"lookups_per_s\":%.0f,\"p50_us\":%.1f,\"p99_us\":%.1f}",
                   first ? "" : ",", workloads[w].name, workloads[w].sys ? "redis" : "eligd",
                   med[w].rps, med[w].lps, med[w].p50_us, med[w].p99_us);
            first = 0;
        }
        printf("]}\n");
        return;
    }
    printf("server: %llu records, %u connections, eligd with %u workers, medians of %u runs of "
           "%.1f s; %s\n",
           (unsigned long long)o->records, o->connections, o->workers, o->runs, o->seconds,
           redis_version);
    printf("  memory per record: eligd %.1f bytes (whole segment), redis %.1f bytes "
           "(used_memory)\n",
           bytes_eligd, bytes_redis);
    printf("  %-22s %-6s %14s %14s %9s %9s %7s\n", "workload", "system", "requests/s", "lookups/s",
           "p50 us", "p99 us", "ratio");
    for (size_t w = 0; w < NWORK; w++) {
        if (o->only_name && strcmp(o->only_name, workloads[w].short_name) != 0)
            continue;
        char ratio[16] = "";
        if (w + 1 < NWORK && workloads[w + 1].sys == SYS_REDIS && med[w + 1].rps > 0)
            snprintf(ratio, sizeof ratio, "%.2fx", med[w].rps / med[w + 1].rps);
        printf("  %-22s %-6s %14.0f %14.0f %9.1f %9.1f %7s\n", workloads[w].name,
               workloads[w].sys ? "redis" : "eligd", med[w].rps, med[w].lps, med[w].p50_us,
               med[w].p99_us, ratio);
    }
}

static double median_of(const struct result *r, unsigned n, size_t field)
{
    double v[64];
    for (unsigned i = 0; i < n; i++)
        v[i] = *(const double *)((const char *)&r[i] + field);
    return bench_median(v, n);
}

int bench_server(const struct bench_opts *o)
{
    static struct bench_pop pop;
    static struct dataset ds;
    char seg[4096], line[512], port_s[16], eligd_port_s[16];
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
    pid_t redis = -1, eligd = -1;
    int rfd = -1;
    uint16_t rport = free_port();
    snprintf(port_s, sizeof port_s, "%u", rport);
    char *rargv[] = { "redis-server", "--port",           port_s, "--bind",
                      "127.0.0.1",    "--save",           "",     "--appendonly",
                      "no",           "--protected-mode", "no",   NULL };
    redis = spawn_until(rargv, "Ready to accept connections", line, sizeof line);
    if (redis < 0 || (rfd = tcp_connect(rport)) < 0) {
        fprintf(stderr, "elig-bench: cannot start redis-server (scripts/setup bench installs "
                        "it)\n");
        goto out;
    }
    char version[128] = "redis-server";
    char info[8192];
    if (redis_cmd(rfd, "*2\r\n$4\r\nINFO\r\n$6\r\nserver\r\n", info, sizeof info) == 0) {
        const char *v = strstr(info, "redis_version:");
        if (v)
            snprintf(version, sizeof version, "redis %.*s", (int)strcspn(v + 14, "\r\n"), v + 14);
    }
    uint64_t mem0 = redis_used_memory(rfd);
    fprintf(stderr, "elig-bench: loading %llu records into redis\n",
            (unsigned long long)o->records);
    if (dataset_make(&pop, rfd, &ds)) {
        fprintf(stderr, "elig-bench: could not load redis\n");
        goto out;
    }
    double bytes_redis = (double)(redis_used_memory(rfd) - mem0) / (double)o->records;
    char workers[16];
    snprintf(workers, sizeof workers, "%u", o->workers);
    char *eargv[] = { (char *)o->eligd, "--attach", seg,         "--listen", "127.0.0.1:0",
                      "--max-conns",    "65536",    "--workers", workers,    NULL };
    eligd = spawn_until(eargv, "eligd: ready", line, sizeof line);
    unsigned ep = 0;
    if (eligd < 0 || sscanf(line, "eligd: ready port=%u", &ep) != 1) {
        fprintf(stderr, "elig-bench: cannot start %s\n", o->eligd);
        goto out;
    }
    snprintf(eligd_port_s, sizeof eligd_port_s, "%u", ep);

    static struct result runs[NWORK][64];
    struct result med[NWORK];
    bool known = o->only_name == NULL;
    for (size_t w = 0; w < NWORK; w++)
        known |= o->only_name && strcmp(o->only_name, workloads[w].short_name) == 0;
    if (!known) {
        fprintf(stderr, "elig-bench: --only: depth1, depth16 or batch\n");
        goto out;
    }
    memset(runs, 0, sizeof runs);
    for (unsigned r = 0; r < o->runs; r++)
        for (size_t w = 0; w < NWORK; w++) {
            if (o->only_name && strcmp(o->only_name, workloads[w].short_name) != 0)
                continue;
            uint16_t port = workloads[w].sys == SYS_ELIGD ? (uint16_t)ep : rport;
            int rc =
                run_workload(&workloads[w], port, &ds, o->connections, o->seconds, &runs[w][r]);
            if (rc) {
                fprintf(stderr, "elig-bench: %s on %s: %s\n", workloads[w].name,
                        workloads[w].sys ? "redis" : "eligd", elig_strerror(rc));
                goto out;
            }
        }
    for (size_t w = 0; w < NWORK; w++) {
        med[w].rps = median_of(runs[w], o->runs, offsetof(struct result, rps));
        med[w].lps = median_of(runs[w], o->runs, offsetof(struct result, lps));
        med[w].p50_us = median_of(runs[w], o->runs, offsetof(struct result, p50_us));
        med[w].p99_us = median_of(runs[w], o->runs, offsetof(struct result, p99_us));
    }
    print_report(o, bytes_eligd, bytes_redis, med, version);
    status = 0;
out:
    if (rfd >= 0)
        close(rfd);
    stop(eligd);
    stop(redis);
    dataset_free(&ds);
    unlink(seg);
    return status;
}
