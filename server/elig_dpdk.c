/* SPDX-License-Identifier: MIT */
/*
 * elig_dpdk: the protocol over UDP on a DPDK port.
 *
 * Threads. elig_dpdk_start() starts one thread that initialises the EAL and
 * so becomes DPDK's main lcore: pinning it (and any thread it makes) to the
 * EAL's first core leaves eligd's io_uring workers where they were. It sets
 * the port up with one RX/TX queue pair per lcore, reports back to the
 * starter, launches the other lcores and serves queue 0 itself. Nothing is
 * shared between lcores but the read-only index, the mbuf pool (DPDK's,
 * with per-lcore caches) and the stop flag.
 *
 * A burst. Each lcore polls its RX queue. A burst's frames are parsed
 * (elig_udp: drops counted by reason), ARP requests for the address get a
 * reply at once, and every protocol frame of every datagram goes into one
 * elig_round, whose checks run through the index's batch lookups in one
 * checker call. Answers accumulate per datagram; each datagram's answers go
 * back to its sender in as few datagrams as fit the MTU, each holding whole
 * frames. Received mbufs are freed only after the round ran, because the
 * round reads request bodies in place.
 *
 * Datagram rules (docs/protocol.md): a datagram holds one or more whole
 * frames. A frame whose body runs past the datagram's end is answered
 * ELIG_PS_TOO_LARGE with its opcode and request id; a malformed header or
 * a partial header ELIG_PS_HEADER with id 0; in both cases the rest of the
 * datagram is ignored (there is no stream to resynchronise). An answer
 * frame larger than one datagram is replaced by its header with status
 * ELIG_PS_TOO_LARGE: such requests (big BATCHes) belong on TCP.
 *
 * A cluster node behind its stream (elig_cluster_behind(), asked once a
 * burst) answers the checks of the burst BEHIND, as the TCP port does.
 *
 * Counters are per lcore, published with relaxed stores after each burst,
 * summed by readers (STATS over UDP, the stop report).
 */
#include "elig_dpdk.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_launch.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "elig_addr.h"
#include "elig_check.h"
#include "elig_cluster.h"
#include "elig_dport.h"
#include "elig_le.h"
#include "elig_live.h"
#include "elig_prom.h"
#include "elig_proto.h"
#include "elig_round.h"
#include "elig_slog.h"

#define BURST 32

/* One lcore's counters (the struct elig_dpdk_stats fields, as relaxed atomics). */
struct lcore_stats {
    _Atomic uint64_t v[sizeof(struct elig_dpdk_stats) / sizeof(uint64_t)];
};

/* Answers owed to one datagram's sender. */
struct dgram {
    struct elig_udp_addr peer;
    struct elig_pbuf out;
};

struct lcore {
    struct elig_dpdk *d;
    uint16_t queue;
    struct elig_checker *ck;
    const struct elig_index *ix; /* read until the next burst (elig_live) */
    int live_slot;
    struct elig_round *round;
    struct dgram dg[BURST];
    unsigned ndg;
    struct rte_mbuf *tx[BURST];
    unsigned ntx;
    uint16_t ip_id;
    elig_date_t today;
    struct elig_audit_writer *aw; /* audit writer, or NULL */
    int64_t now_s;                /* wall clock for the audit, refreshed every second */
    struct elig_dpdk_stats st;    /* this lcore's own tally, published to pub */
    struct lcore_stats pub;
};

struct elig_dpdk {
    struct elig_dpdk_params p;
    struct elig_udp_addr self;
    struct elig_dport_eal eal;
    struct elig_dport port;
    unsigned queues;
    unsigned max_payload;
    struct lcore *lc;
    atomic_bool stop;
    pthread_t thread;
    /* start-up handshake with elig_dpdk_start() */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int state; /* 0 starting, 1 serving, < 0 failed */
};

/* ---- counters --------------------------------------------------------- */

static void publish(struct lcore *lc)
{
    const struct elig_check_counters *k = elig_checker_counters(lc->ck);
    const struct elig_round_counters *r = elig_round_counters(lc->round);
    lc->st.check = *k;
    lc->st.frames = r->frames;
    lc->st.frames_bad = r->bad_frames;
    const uint64_t *src = (const uint64_t *)&lc->st;
    for (size_t i = 0; i < sizeof(lc->pub.v) / sizeof(lc->pub.v[0]); i++)
        atomic_store_explicit(&lc->pub.v[i], src[i], memory_order_relaxed);
}

void elig_dpdk_stats(const struct elig_dpdk *d, struct elig_dpdk_stats *st)
{
    memset(st, 0, sizeof(*st));
    uint64_t *dst = (uint64_t *)st;
    for (unsigned q = 0; q < d->queues; q++)
        for (size_t i = 0; i < sizeof(d->lc[q].pub.v) / sizeof(d->lc[q].pub.v[0]); i++)
            dst[i] += atomic_load_explicit(&d->lc[q].pub.v[i], memory_order_relaxed);
}

/*
 * The datapath's own counters (words of struct elig_dpdk_stats): how STATS
 * over UDP names each, and its series on the metrics endpoint (family and
 * labels; elig_dpdk_metrics() below). The one table both follow.
 */
static const struct {
    const char *name;
    size_t offset;
    const char *metric;
    const char *labels;
} dpdk_stats_desc[] = {
#define DS(f) offsetof(struct elig_dpdk_stats, f)
    { "udp_rx_packets", DS(rx_packets), "eligd_udp_packets_total", "direction=\"rx\"" },
    { "udp_tx_packets", DS(tx_packets), "eligd_udp_packets_total", "direction=\"tx\"" },
    { "udp_rx_bytes", DS(rx_bytes), "eligd_udp_bytes_total", "direction=\"rx\"" },
    { "udp_tx_bytes", DS(tx_bytes), "eligd_udp_bytes_total", "direction=\"tx\"" },
    { "udp_tx_dropped", DS(tx_dropped), "eligd_udp_dropped_total", "reason=\"tx_full\"" },
    { "udp_arp_replies", DS(arp_replies), "eligd_udp_arp_replies_total", "" },
    { "udp_datagrams", DS(datagrams), "eligd_udp_datagrams_total", "" },
    { "udp_drop_segmented", DS(dropped_segmented), "eligd_udp_dropped_total",
      "reason=\"segmented\"" },
    { "frames", DS(frames), "eligd_udp_frames_total", "" },
    { "frames_bad", DS(frames_bad), "eligd_udp_frames_refused_total", "reason=\"bad\"" },
    { "frames_truncated", DS(frames_truncated), "eligd_udp_frames_refused_total",
      "reason=\"truncated\"" },
    { "frames_behind", DS(frames_behind), "eligd_udp_frames_refused_total", "reason=\"behind\"" },
    { "answers_too_large", DS(answers_too_large), "eligd_udp_frames_refused_total",
      "reason=\"too_large\"" },
#undef DS
};
#define DPDK_STATS (sizeof dpdk_stats_desc / sizeof dpdk_stats_desc[0])

/* STATS over UDP: the datapath's counters, the checks' (the table TCP's STATS follows too) and
 * the index's size. */
static int put_stats(struct lcore *lc, struct elig_pbuf *b)
{
    struct elig_dpdk_stats s;
    publish(lc);
    elig_dpdk_stats(lc->d, &s);
    struct elig_index_stats ix;
    elig_index_stats(lc->ix, &ix);
    struct elig_proto_stat it[DPDK_STATS + ELIG_UDP_DROP_COUNT + ELIG_CHECK_WORDS + 2];
    size_t n = 0;
    const char *base = (const char *)&s;
    for (size_t i = 0; i < DPDK_STATS; i++) {
        uint64_t v;
        memcpy(&v, base + dpdk_stats_desc[i].offset, sizeof v);
        it[n++] = (struct elig_proto_stat){ dpdk_stats_desc[i].name, v };
    }
    for (int r = 1; r < ELIG_UDP_DROP_COUNT; r++)
        it[n++] = (struct elig_proto_stat){ elig_udp_drop_name(r), s.dropped[r] };
    const uint64_t *words = (const uint64_t *)&s.check;
    for (unsigned i = 0; i < elig_check_stats_count; i++)
        it[n++] =
            (struct elig_proto_stat){ elig_check_stats[i].name, words[elig_check_stats[i].word] };
    it[n++] = (struct elig_proto_stat){ "index_records", ix.records };
    it[n++] = (struct elig_proto_stat){ "index_applied_lsn", ix.applied_lsn };
    return elig_proto_stats_encode(b, it, n);
}

/* The metrics' families of the table above, in order, with what they count. */
static const struct {
    const char *name, *help;
} dpdk_families[] = {
    { "eligd_udp_packets_total", "Ethernet frames of the DPDK port, by direction" },
    { "eligd_udp_bytes_total", "Bytes of those frames, by direction" },
    { "eligd_udp_dropped_total", "Frames dropped, by reason" },
    { "eligd_udp_arp_replies_total", "ARP requests answered" },
    { "eligd_udp_datagrams_total", "UDP datagrams for eligd" },
    { "eligd_udp_frames_total", "Protocol frames in those datagrams" },
    { "eligd_udp_frames_refused_total", "Frames answered with an error, by reason" },
};

int elig_dpdk_metrics(const struct elig_dpdk *d, struct elig_pbuf *out)
{
    struct elig_dpdk_stats s;
    elig_dpdk_stats(d, &s);
    const char *base = (const char *)&s;
    int rc = 0;
    for (size_t f = 0; f < sizeof dpdk_families / sizeof dpdk_families[0] && rc == 0; f++) {
        const char *fam = dpdk_families[f].name;
        rc = elig_prom_family(out, fam, "counter", dpdk_families[f].help);
        for (size_t i = 0; i < DPDK_STATS && rc == 0; i++)
            if (strcmp(dpdk_stats_desc[i].metric, fam) == 0) {
                uint64_t v;
                memcpy(&v, base + dpdk_stats_desc[i].offset, sizeof v);
                rc = elig_prom_sample(out, fam, dpdk_stats_desc[i].labels, v);
            }
        for (int r = 1;
             r < ELIG_UDP_DROP_COUNT && rc == 0 && strcmp(fam, "eligd_udp_dropped_total") == 0;
             r++) {
            char labels[64]; /* "udp_drop_mac" is reason "mac" */
            snprintf(labels, sizeof labels, "reason=\"%s\"",
                     elig_udp_drop_name(r) + strlen("udp_drop_"));
            rc = elig_prom_sample(out, fam, labels, s.dropped[r]);
        }
    }
    return rc ? rc : elig_prom_checks(out, "eligd_udp_", &s.check);
}

static int lcore_plain(void *ctx, uint8_t opcode, const uint8_t *body, size_t len,
                       struct elig_pbuf *out, uint8_t *status, size_t *keep_on_error)
{
    (void)body;
    (void)len;
    (void)keep_on_error;
    if (opcode == ELIG_OP_STATS)
        return put_stats(ctx, out);
    *status = ELIG_PS_INTERNAL;
    return 0;
}

/* ---- sending ---------------------------------------------------------- */

static void tx_flush(struct lcore *lc)
{
    unsigned sent = elig_dport_tx(lc->d->port.port_id, lc->queue, lc->tx, lc->ntx);
    lc->st.tx_packets += sent;
    lc->st.tx_dropped += lc->ntx - sent;
    lc->ntx = 0;
}

/* A new mbuf of len bytes for TX, or NULL (counted as a dropped answer). */
static uint8_t *tx_alloc(struct lcore *lc, size_t len)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(lc->d->port.pool);
    uint8_t *data = m ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len) : NULL;
    if (!data) {
        if (m)
            rte_pktmbuf_free(m);
        lc->st.tx_dropped++;
        return NULL;
    }
    if (lc->ntx == BURST)
        tx_flush(lc);
    lc->tx[lc->ntx++] = m;
    lc->st.tx_bytes += len;
    return data;
}

static void send_datagram(struct lcore *lc, const struct elig_udp_addr *to, const uint8_t *payload,
                          size_t len)
{
    uint8_t *f = tx_alloc(lc, ELIG_UDP_HEADERS + len);
    if (!f)
        return;
    memcpy(f + ELIG_UDP_HEADERS, payload, len);
    elig_udp_build(f, &lc->d->self, to, lc->ip_id++, len);
}

/*
 * Send one datagram's answers: whole frames, packed up to the payload
 * limit; a frame over the limit goes as its header with TOO_LARGE.
 */
static void send_answers(struct lcore *lc, struct dgram *g)
{
    const size_t max = lc->d->max_payload;
    const uint8_t *a = g->out.data;
    size_t len = g->out.len, start = 0, off = 0;
    while (off < len) {
        size_t flen = ELIG_PROTO_HEADER + elig_rd32(a + off + 12);
        if (flen > max) {
            if (off > start)
                send_datagram(lc, &g->peer, a + start, off - start);
            uint8_t h[ELIG_PROTO_HEADER];
            memcpy(h, a + off, ELIG_PROTO_HEADER);
            h[5] = ELIG_PS_TOO_LARGE;
            elig_le32(h + 12, 0);
            send_datagram(lc, &g->peer, h, sizeof h);
            lc->st.answers_too_large++;
            off += flen;
            start = off;
            continue;
        }
        if (off + flen - start > max) {
            send_datagram(lc, &g->peer, a + start, off - start);
            start = off;
        }
        off += flen;
    }
    if (off > start)
        send_datagram(lc, &g->peer, a + start, off - start);
    g->out.len = 0;
}

/* Run the round, send every datagram's answers, start a new round. */
static void round_flush(struct lcore *lc)
{
    int rc = elig_round_run(lc->round, lc->ck, lcore_plain, lc);
    if (rc) { /* an answer could not be encoded (no memory): send none of this round's */
        elig_slog(ELIG_SLOG_ERROR, "dpdk lcore %u: encoding answers failed (%d)", lc->queue, rc);
        for (unsigned i = 0; i < lc->ndg; i++)
            lc->dg[i].out.len = 0;
    }
    for (unsigned i = 0; i < lc->ndg; i++)
        if (lc->dg[i].out.len)
            send_answers(lc, &lc->dg[i]);
    elig_round_begin(lc->round, lc->today);
}

/* ---- receiving -------------------------------------------------------- */

/*
 * Put the frames of one datagram into the round (flushing it when full).
 * behind: this node is behind its cluster: frames with checks are answered
 * BEHIND, never from data that may be stale.
 */
static void take_datagram(struct lcore *lc, struct dgram *g, const uint8_t *p, size_t len,
                          bool behind)
{
    size_t off = 0;
    while (off < len) {
        struct elig_proto_header h;
        int rc = elig_proto_header_decode(p + off, len - off, false, &h);
        uint8_t status = 0;
        if (rc) { /* a partial or malformed header: nothing after it can be framed */
            memset(&h, 0, sizeof(h));
            status = ELIG_PS_HEADER;
        } else if (h.body_len > len - off - ELIG_PROTO_HEADER) {
            status = ELIG_PS_TOO_LARGE;
            lc->st.frames_truncated++;
        }
        bool framed = status == 0; /* the frames after it can be found */
        if (framed && behind && elig_op_has(h.opcode, ELIG_OPF_CHECK)) {
            status = ELIG_PS_BEHIND;
            lc->st.frames_behind++;
        }
        for (int attempt = 0; attempt < 2; attempt++) {
            rc = status ? elig_round_add_status(lc->round, &h, status, &g->out)
                        : elig_round_add(lc->round, &h, p + off + ELIG_PROTO_HEADER, &g->out);
            if (rc != -ENOSPC)
                break;
            round_flush(lc); /* full: answer what it holds, then this frame opens the next */
        }
        if (!framed)
            return;
        off += ELIG_PROTO_HEADER + h.body_len;
    }
}

static void arp_reply(struct lcore *lc, const struct elig_udp_pkt *req)
{
    uint8_t *f = tx_alloc(lc, ELIG_UDP_ARP_LEN);
    if (f) {
        elig_udp_arp_reply(f, &lc->d->self, req);
        lc->st.arp_replies++;
    }
}

static void serve_burst(struct lcore *lc, struct rte_mbuf **rx, unsigned n)
{
    struct elig_dpdk *d = lc->d;
    lc->ndg = 0;
    bool behind = d->p.cluster && elig_cluster_behind(d->p.cluster, d->p.max_lag);
    for (unsigned i = 0; i < n; i++) {
        struct rte_mbuf *m = rx[i];
        lc->st.rx_packets++;
        lc->st.rx_bytes += m->pkt_len;
        if (m->nb_segs != 1) {
            lc->st.dropped_segmented++;
            continue;
        }
        struct elig_udp_pkt pkt;
        int rc = elig_udp_parse(&d->self, rte_pktmbuf_mtod(m, const uint8_t *), m->data_len, &pkt);
        if (rc < 0) {
            lc->st.dropped[-rc]++;
        } else if (rc == ELIG_UDP_ARP_REQUEST) {
            arp_reply(lc, &pkt);
        } else if (rc == ELIG_UDP_DATA) {
            lc->st.datagrams++;
            struct dgram *g = &lc->dg[lc->ndg++];
            g->peer = pkt.peer;
            g->out.len = 0;
            take_datagram(lc, g, pkt.payload, pkt.len, behind);
        } /* an ARP reply: eligd never asks, so nothing to learn */
    }
    round_flush(lc);
    tx_flush(lc);
    rte_pktmbuf_free_bulk(rx, n);
    publish(lc);
}

static int lcore_main(void *arg)
{
    struct lcore *lc = arg;
    struct elig_dpdk *d = lc->d;
    const uint64_t hz = rte_get_tsc_hz();
    uint64_t next_day = 0;
    struct rte_mbuf *rx[BURST];
    elig_round_begin(lc->round, lc->today);
    while (!atomic_load_explicit(&d->stop, memory_order_relaxed)) {
        bool grown; /* between bursts: a safe point to move to a grown index */
        lc->ix = elig_live_enter(d->p.live, lc->live_slot, &grown);
        if (grown)
            elig_checker_set_index(lc->ck, lc->ix);
        uint64_t now = rte_rdtsc();
        if (now >= next_day) { /* the server's date, refreshed every second; the audit flushed */
            lc->today = elig_date_today();
            lc->now_s = (int64_t)time(NULL);
            next_day = now + hz;
            if (lc->aw && (elig_audit_write(lc->aw) || elig_audit_sync(lc->aw)))
                elig_slog(ELIG_SLOG_ERROR, "dpdk lcore %u: audit log write failed", lc->queue);
        }
        /* a memif peer that leaves unmaps the rings from DPDK's control thread without
           waiting for the datapath; the link goes down first, so do not touch them then */
        struct rte_eth_link link;
        if (rte_eth_link_get_nowait(d->port.port_id, &link) == 0 &&
            link.link_status == RTE_ETH_LINK_DOWN)
            continue;
        uint16_t n = rte_eth_rx_burst(d->port.port_id, lc->queue, rx, BURST);
        if (n)
            serve_burst(lc, rx, n);
    }
    publish(lc);
    elig_live_leave(d->p.live, lc->live_slot);
    lc->live_slot = -1;
    return 0;
}

/* ---- set-up ----------------------------------------------------------- */

/* The round's audit hook. */
static void lcore_audit(void *ctx, const char *facility, uint8_t opcode,
                        const struct elig_proto_answer *a, const uint8_t *encoded, size_t len)
{
    struct lcore *lc = ctx;
    elig_audit_record(lc->aw, a->reference, lc->now_s, facility, opcode, a->validity, encoded,
                      len); /* a failed write is reported by the next flush */
}

static int lcores_setup(struct elig_dpdk *d)
{
    d->lc = calloc(d->queues, sizeof(*d->lc));
    if (!d->lc)
        return -ENOMEM;
    for (unsigned i = 0; i < d->queues; i++)
        d->lc[i].live_slot = -1;
    struct elig_round_params rp = { .port = ELIG_ROUND_FACILITY };
    unsigned q = 0, lcore;
    RTE_LCORE_FOREACH(lcore)
    {
        struct lcore *lc = &d->lc[q];
        lc->d = d;
        lc->queue = (uint16_t)q;
        lc->today = elig_date_today();
        if ((lc->live_slot = elig_live_join(d->p.live)) < 0)
            return lc->live_slot;
        lc->ix = elig_live_enter(d->p.live, lc->live_slot, NULL);
        int rc = elig_checker_create(lc->ix, elig_check_ref_base((uint8_t)(128 + q)), &lc->ck);
        if (rc || (rc = elig_round_create(&rp, &lc->round)))
            return rc;
        lc->now_s = (int64_t)time(NULL);
        if (d->p.audit) {
            if ((rc = elig_audit_writer_open(d->p.audit, 128 + q, &lc->aw)))
                return rc;
            elig_round_set_audit(lc->round, lcore_audit, lc);
        }
        q++;
    }
    return 0;
}

static void lcores_free(struct elig_dpdk *d)
{
    for (unsigned q = 0; d->lc && q < d->queues; q++) {
        for (int i = 0; i < BURST; i++)
            elig_pbuf_free(&d->lc[q].dg[i].out);
        elig_round_destroy(d->lc[q].round);
        elig_checker_destroy(d->lc[q].ck);
        elig_audit_writer_close(d->lc[q].aw);
        if (d->lc[q].live_slot >= 0)
            elig_live_leave(d->p.live, d->lc[q].live_slot);
    }
}

static void report(struct elig_dpdk *d, int state)
{
    pthread_mutex_lock(&d->mu);
    d->state = state;
    pthread_cond_broadcast(&d->cv);
    pthread_mutex_unlock(&d->mu);
}

static void *eal_thread(void *arg)
{
    struct elig_dpdk *d = arg;
    int rc = elig_dport_eal_init(&d->eal, "eligd", d->p.eal_args);
    if (rc) {
        report(d, rc);
        return NULL;
    }
    d->queues = rte_lcore_count();
    rc = elig_dport_start(&d->port, d->p.port_id, d->queues,
                          d->p.mtu ? d->p.mtu : ELIG_UDP_MTU_DFLT, "eligd_mbufs");
    if (rc == 0) {
        memcpy(d->self.mac, d->port.mac, 6);
        d->max_payload = d->port.mtu - ELIG_UDP_IP_LEN - ELIG_UDP_UDP_LEN;
        if ((rc = lcores_setup(d)))
            elig_dport_stop(&d->port);
    }
    if (rc) {
        lcores_free(d);
        elig_dport_eal_fini(&d->eal);
        report(d, rc);
        return NULL;
    }
    report(d, 1);
    unsigned q = 1, lcore;
    RTE_LCORE_FOREACH_WORKER(lcore)
    {
        rte_eal_remote_launch(lcore_main, &d->lc[q++], lcore);
    }
    lcore_main(&d->lc[0]);
    rte_eal_mp_wait_lcore();
    elig_dport_stop(&d->port);
    lcores_free(d);
    elig_dport_eal_fini(&d->eal);
    return NULL;
}

int elig_dpdk_start(const struct elig_dpdk_params *p, struct elig_dpdk **out)
{
    struct sockaddr_in sa;
    if (!p->live || !p->addr || elig_addr_parse(p->addr, &sa) || sa.sin_port == 0)
        return -EINVAL;
    struct elig_dpdk *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->p = *p;
    d->self.ip = ntohl(sa.sin_addr.s_addr);
    d->self.port = ntohs(sa.sin_port);
    pthread_mutex_init(&d->mu, NULL);
    pthread_cond_init(&d->cv, NULL);
    int rc = -pthread_create(&d->thread, NULL, eal_thread, d);
    if (rc) {
        free(d);
        return rc;
    }
    pthread_mutex_lock(&d->mu);
    while (d->state == 0)
        pthread_cond_wait(&d->cv, &d->mu);
    int state = d->state;
    pthread_mutex_unlock(&d->mu);
    if (state < 0) {
        pthread_join(d->thread, NULL);
        free(d->lc);
        free(d);
        return state;
    }
    *out = d;
    return 0;
}

void elig_dpdk_info(const struct elig_dpdk *d, struct elig_dpdk_info *info)
{
    memcpy(info->mac, d->self.mac, 6);
    info->ip = d->self.ip;
    info->udp_port = d->self.port;
    info->mtu = d->port.mtu;
    info->queues = d->queues;
    info->driver = d->port.driver;
}

void elig_dpdk_stop(struct elig_dpdk *d)
{
    atomic_store(&d->stop, true);
}

void elig_dpdk_wait(struct elig_dpdk *d, struct elig_dpdk_stats *final)
{
    pthread_join(d->thread, NULL);
    if (final)
        elig_dpdk_stats(d, final);
    free(d->lc);
    pthread_mutex_destroy(&d->mu);
    pthread_cond_destroy(&d->cv);
    free(d);
}
