/* SPDX-License-Identifier: MIT */
/*
 * bench_dpdk: "elig-bench dpdk": eligd's UDP datapath over DPDK memif.
 *
 * Set-up: N synthetic records (the index benchmark's population) built into
 * a segment that eligd serves read-only (--attach) with --dpdk-addr on a
 * memif port (server role, EAL --no-huge, one lcore); this process is the
 * memif client (elig_client_dgram, one lcore). With two or more CPUs each side's
 * lcore is pinned to a CPU of its own (eligd's to CPU 1, ours to CPU 0).
 *
 * Driver: closed loop over W datagrams in flight ("slots"), each carrying
 * F lookup frames (F = 1, and several), pre-encoded from up to 2^20 random
 * records (fixed seed) so that the client only copies and patches request
 * ids while timed. A slot's latency runs from its send to the arrival of
 * the last of its F answers; then it is sent again with the next queries.
 * Request ids carry the slot and a generation, so an answer that comes
 * after its slot was written off as lost (no answer in 100 ms) is not
 * counted for the slot's next datagram. Every answer's frame status must
 * be OK. Medians of R runs per F, runs alternating between the F values.
 */
#include "elig_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_bench.h"
#include "elig_client_dgram.h"
#include "elig_net_error.h"
#include "elig_hist.h"
#include "elig_index.h"
#include "elig_le.h"
#include "elig_proto.h"

#define EXIT_FAIL  1
#define MAXQ       (1u << 20)
#define MAX_FRAMES 16
#define MAX_SLOTS  1024
#define LOSS_S     0.1
#define SERVER     "10.12.0.1:7701"

struct slot {
    double sent;
    unsigned left; /* answers still due */
    uint16_t gen;
};

struct dresult {
    double lps, dps; /* lookups and datagrams per second */
    double p50_us, p99_us;
    uint64_t lost;
};

struct ddriver {
    struct elig_client_dgram *peer;
    const uint8_t *q;     /* pre-encoded lookup frames */
    const uint32_t *qoff; /* nq + 1 offsets */
    uint32_t nq;
    uint64_t next_q;
    unsigned frames; /* per datagram */
    struct slot slots[MAX_SLOTS];
    unsigned nslots;
    uint8_t buf[9000];
    struct elig_hist *lat;
    bool timing;
    uint64_t lookups, datagrams, lost;
    int error;
};

static void send_slot(struct ddriver *d, unsigned s)
{
    struct slot *sl = &d->slots[s];
    size_t len = 0;
    sl->gen++;
    for (unsigned j = 0; j < d->frames; j++) {
        uint32_t i = (uint32_t)(d->next_q++ % d->nq);
        size_t n = d->qoff[i + 1] - d->qoff[i];
        memcpy(d->buf + len, d->q + d->qoff[i], n);
        elig_le32(d->buf + len + 8, (uint32_t)sl->gen << 16 | (s * d->frames + j));
        len += n;
    }
    sl->left = d->frames;
    sl->sent = bench_now();
    int rc = elig_client_dgram_send(d->peer, 0, d->buf, len);
    if (rc && !d->error)
        d->error = rc;
}

static void on_frame(void *ctx, unsigned flow, const uint8_t *payload, size_t len)
{
    (void)flow;
    struct ddriver *d = ctx;
    double now = bench_now();
    size_t off = 0;
    while (off + ELIG_PROTO_HEADER <= len) {
        const uint8_t *h = payload + off;
        uint32_t id = elig_rd32(h + 8), s = (id & 0xFFFF) / d->frames;
        off += ELIG_PROTO_HEADER + elig_rd32(h + 12);
        if (h[5] != ELIG_PS_OK && !d->error)
            d->error = -ELIG_EREFUSED;
        if (s >= d->nslots || d->slots[s].gen != id >> 16 || d->slots[s].left == 0)
            continue; /* the answer of a datagram already written off */
        struct slot *sl = &d->slots[s];
        if (--sl->left)
            continue;
        if (d->timing) {
            elig_hist_record(d->lat, (uint64_t)((now - sl->sent) * 1e9));
            d->lookups += d->frames;
            d->datagrams++;
        }
        send_slot(d, s);
    }
}

/* One timed run at F frames per datagram: warm-up 10% of the time, then measure. */
static int run_frames(struct ddriver *d, unsigned frames, double seconds, struct dresult *res)
{
    d->frames = frames;
    d->timing = false;
    d->lookups = d->datagrams = d->lost = 0;
    elig_hist_reset(d->lat);
    for (unsigned s = 0; s < d->nslots; s++)
        send_slot(d, s);
    double t0 = bench_now(), start = t0 + seconds * 0.1, end = start + seconds, next_scan = t0;
    while (!d->error) {
        elig_client_dgram_flush(d->peer);
        elig_client_dgram_poll(d->peer, on_frame, d);
        double now = bench_now();
        if (!d->timing && now >= start) {
            d->timing = true;
            start = now;
        }
        if (now >= end)
            break;
        if (now >= next_scan) { /* datagrams (or answers) lost: count, send again */
            for (unsigned s = 0; s < d->nslots; s++)
                if (d->slots[s].left && now - d->slots[s].sent > LOSS_S) {
                    d->lost++;
                    send_slot(d, s);
                }
            next_scan = now + LOSS_S / 4;
        }
    }
    double spent = bench_now() - start;
    /* let the datagrams still in flight come back before the next run */
    for (double quiet = bench_now() + 0.2; bench_now() < quiet;)
        elig_client_dgram_poll(d->peer, on_frame, d);
    for (unsigned s = 0; s < d->nslots; s++)
        d->slots[s].left = 0;
    res->lps = (double)d->lookups / spent;
    res->dps = (double)d->datagrams / spent;
    res->p50_us = (double)elig_hist_percentile(d->lat, 50) / 1e3;
    res->p99_us = (double)elig_hist_percentile(d->lat, 99) / 1e3;
    res->lost = d->lost;
    return d->error;
}

/* Lookup frames of random records, one blob with offsets. */
static int make_queries(const struct bench_pop *pop, uint8_t **data, uint32_t **off, uint32_t *nq)
{
    *nq = pop->n < MAXQ ? (uint32_t)pop->n : MAXQ;
    *off = calloc(*nq + 1, sizeof(uint32_t));
    struct elig_pbuf b = { 0 };
    if (!*off)
        return -ENOMEM;
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (uint32_t i = 0; i < *nq; i++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        struct elig_record r;
        struct elig_proto_number q;
        bench_number_query(pop, x % pop->n, &r, &q);
        long at = elig_proto_frame_begin(&b, ELIG_OP_LOOKUP_NUMBER, 0, 0, 0);
        int rc = at < 0 ? (int)at : elig_proto_number_encode(&b, &q, false);
        if (rc) {
            elig_pbuf_free(&b);
            return rc;
        }
        elig_proto_frame_end(&b, at);
        (*off)[i + 1] = (uint32_t)b.len;
    }
    *data = b.data;
    return 0;
}

static int parse_frames(const char *s, unsigned *f, unsigned *n)
{
    char buf[64];
    snprintf(buf, sizeof buf, "%s", s ? s : "1,8");
    *n = 0;
    for (char *t = strtok(buf, ","); t; t = strtok(NULL, ",")) {
        char *end;
        unsigned long v = strtoul(t, &end, 10);
        if (*end || v == 0 || v > MAX_FRAMES || *n == 8)
            return -EINVAL;
        f[(*n)++] = (unsigned)v;
    }
    return *n ? 0 : -EINVAL;
}

static double med(struct dresult *r, unsigned n, size_t field)
{
    double v[64];
    for (unsigned i = 0; i < n; i++)
        v[i] = *(const double *)((const char *)&r[i] + field);
    return bench_median(v, n);
}

static void report(const struct bench_opts *o, const unsigned *frames, unsigned nf,
                   struct dresult (*runs)[64])
{
    if (o->json) {
        printf("{\"benchmark\":\"dpdk\",\"records\":%llu,\"window\":%u,\"runs\":%u,"
               "\"seconds\":%g,\"port\":\"memif\",\"results\":[",
               (unsigned long long)o->records, o->in_flight, o->runs, o->seconds);
        for (unsigned i = 0; i < nf; i++) {
            uint64_t lost = 0;
            for (unsigned r = 0; r < o->runs; r++)
                lost += runs[i][r].lost;
            printf("%s{\"frames_per_datagram\":%u,\"lookups_per_s\":%.0f,\"datagrams_per_s\":%.0f,"
                   "\"p50_us\":%.1f,\"p99_us\":%.1f,\"lost\":%llu}",
                   i ? "," : "", frames[i], med(runs[i], o->runs, offsetof(struct dresult, lps)),
                   med(runs[i], o->runs, offsetof(struct dresult, dps)),
                   med(runs[i], o->runs, offsetof(struct dresult, p50_us)),
                   med(runs[i], o->runs, offsetof(struct dresult, p99_us)),
                   (unsigned long long)lost);
        }
        printf("]}\n");
        return;
    }
    printf("elig-bench dpdk: %llu records, memif, one lcore each side, %u datagrams in flight,\n"
           "medians of %u runs of %g s\n",
           (unsigned long long)o->records, o->in_flight, o->runs, o->seconds);
    printf("%-22s %14s %14s %10s %10s %6s\n", "frames per datagram", "lookups/s", "datagrams/s",
           "p50 us", "p99 us", "lost");
    for (unsigned i = 0; i < nf; i++) {
        uint64_t lost = 0;
        for (unsigned r = 0; r < o->runs; r++)
            lost += runs[i][r].lost;
        printf("%-22u %14.0f %14.0f %10.1f %10.1f %6llu\n", frames[i],
               med(runs[i], o->runs, offsetof(struct dresult, lps)),
               med(runs[i], o->runs, offsetof(struct dresult, dps)),
               med(runs[i], o->runs, offsetof(struct dresult, p50_us)),
               med(runs[i], o->runs, offsetof(struct dresult, p99_us)), (unsigned long long)lost);
    }
}

int bench_dpdk(const struct bench_opts *o)
{
    static struct bench_pop pop;
    static struct dresult runs[8][64];
    static struct ddriver d;
    unsigned frames[8], nf;
    if (parse_frames(o->frames, frames, &nf) || o->in_flight > MAX_SLOTS) {
        fprintf(stderr, "elig-bench: --frames: up to 8 values of 1..%d; --in-flight up to %d\n",
                MAX_FRAMES, MAX_SLOTS);
        return 2;
    }
    char seg[4096], sock[64], line[512];
    snprintf(seg, sizeof seg, "%s/elig-bench-dpdk-%ld.seg", o->dir, (long)getpid());
    snprintf(sock, sizeof sock, "/tmp/elig-bench-memif-%ld.sock", (long)getpid());
    struct elig_index *ix = NULL;
    double build;
    if (bench_index_make(o, &pop, seg, &ix, &build) < 0)
        return EXIT_FAIL;
    elig_index_close(ix, true);
    int status = EXIT_FAIL;
    pid_t eligd = -1;
    uint8_t *q = NULL;
    uint32_t *qoff = NULL;
    d.lat = calloc(1, sizeof *d.lat);
    if (!d.lat || make_queries(&pop, &q, &qoff, &d.nq)) {
        fprintf(stderr, "elig-bench: out of memory for the queries\n");
        goto out;
    }
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    const char *common = "--no-huge -m 512 --no-pci --no-shconf --no-telemetry --log-level=warning";
    char eal[1024], peer_eal[1024];
    snprintf(eal, sizeof eal,
             "--lcores=0@%d %s --vdev=net_memif0,role=server,socket=%s,"
             "socket-abstract=no",
             cpus > 1 ? 1 : 0, common, sock);
    snprintf(peer_eal, sizeof peer_eal,
             "--lcores=0@0 %s --vdev=net_memif0,role=client,socket=%s,"
             "socket-abstract=no",
             common, sock);
    char *eargv[] = { (char *)o->eligd, "--attach",  seg, "--trust-network", "--listen",
                      "127.0.0.1:0",    "--workers", "1", "--dpdk-addr",     SERVER,
                      "--dpdk-eal",     eal,         NULL };
    eligd = bench_spawn_until(eargv, "eligd: ready", line, sizeof line);
    if (eligd < 0 || !strstr(line, "dpdk_mac=")) {
        fprintf(stderr, "elig-bench: cannot start %s with a memif port\n", o->eligd);
        goto out;
    }
    struct elig_client_dgram_params pp = { .eal_args = peer_eal,
                                           .local = "10.12.0.2:40000",
                                           .server = SERVER };
    int rc = elig_client_dgram_open(&pp, &d.peer);
    if (rc) {
        fprintf(stderr, "elig-bench: memif client: %s\n", elig_net_strerror(rc));
        goto out;
    }
    d.q = q;
    d.qoff = qoff;
    d.nslots = o->in_flight;
    d.next_q = (uint64_t)getpid() * 7919;
    size_t biggest = 0;
    for (uint32_t i = 0; i < d.nq; i++)
        if (qoff[i + 1] - qoff[i] > biggest)
            biggest = qoff[i + 1] - qoff[i];
    for (unsigned i = 0; i < nf; i++)
        if (frames[i] * biggest > elig_client_dgram_max_payload(d.peer)) {
            fprintf(stderr, "elig-bench: %u frames do not fit one datagram\n", frames[i]);
            goto out;
        }
    for (unsigned r = 0; r < o->runs; r++)
        for (unsigned i = 0; i < nf; i++)
            if ((rc = run_frames(&d, frames[i], o->seconds, &runs[i][r]))) {
                fprintf(stderr, "elig-bench: %u frames per datagram: %s\n", frames[i],
                        elig_net_strerror(rc));
                goto out;
            }
    report(o, frames, nf, runs);
    status = 0;
out:
    bench_stop(eligd); /* eligd leaves the memif link first (elig_client_dgram_wait_down) */
    elig_client_dgram_close(d.peer);
    unlink(seg);
    free(q);
    free(qoff);
    free(d.lat);
    return status;
}
