/* SPDX-License-Identifier: MIT */
/*
 * elig_dpeer: the client end of the UDP datapath on a DPDK port.
 *
 * Design. One or more queue pairs, all driven by the thread that opened the
 * peer: sends are built straight into mbufs and queued in a small array per
 * queue that goes to the port when it fills or on elig_dpeer_flush();
 * elig_dpeer_poll() receives one burst per queue and parses each frame with the same rules eligd
 * uses (elig_udp), so a caller sees what the server sent and why anything else was not for it.
 *
 * Waiting at open (the link of a memif port comes up when its peer
 * connects; the server's MAC comes from ARP) polls a condition against a
 * deadline: the link status, then ARP replies, with a request re-sent
 * every 100 ms. Nothing else blocks.
 */
#include "elig_dpeer.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <rte_alarm.h>
#include <rte_cycles.h>
#include <rte_ethdev.h>
#include <rte_mbuf.h>

#include "elig_addr.h"
#include "elig_dport.h"
#include "elig_slog.h"

#define BURST 32

struct txq {
    struct rte_mbuf *m[BURST];
    unsigned n;
};

struct elig_dpeer {
    struct elig_dport_eal eal;
    struct elig_dport port;
    struct elig_udp_addr self, server;
    size_t max_payload;
    unsigned queues;
    struct txq tx[ELIG_DPEER_MAX_QUEUES];
    uint16_t ip_id;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int parse_addr(const char *s, struct elig_udp_addr *a)
{
    struct sockaddr_in sa;
    if (!s || elig_addr_parse(s, &sa))
        return -EINVAL;
    a->ip = ntohl(sa.sin_addr.s_addr);
    a->port = ntohs(sa.sin_port);
    return 0;
}

static unsigned flush_queue(struct elig_dpeer *d, unsigned q)
{
    struct txq *t = &d->tx[q];
    unsigned dropped = t->n - elig_dport_tx(d->port.port_id, (uint16_t)q, t->m, t->n);
    t->n = 0;
    return dropped;
}

unsigned elig_dpeer_flush(struct elig_dpeer *d)
{
    unsigned dropped = 0;
    for (unsigned q = 0; q < d->queues; q++)
        dropped += flush_queue(d, q);
    return dropped;
}

static uint8_t *tx_alloc(struct elig_dpeer *d, unsigned q, size_t len)
{
    struct rte_mbuf *m = rte_pktmbuf_alloc(d->port.pool);
    uint8_t *data = m ? (uint8_t *)rte_pktmbuf_append(m, (uint16_t)len) : NULL;
    if (!data) {
        if (m)
            rte_pktmbuf_free(m);
        return NULL;
    }
    struct txq *t = &d->tx[q];
    if (t->n == BURST)
        flush_queue(d, q);
    t->m[t->n++] = m;
    return data;
}

int elig_dpeer_send(struct elig_dpeer *d, uint16_t sport, const uint8_t *payload, size_t len)
{
    if (len > d->max_payload)
        return -EMSGSIZE;
    uint8_t *f = tx_alloc(d, sport % d->queues, ELIG_UDP_HEADERS + len);
    if (!f)
        return -ENOBUFS;
    memcpy(f + ELIG_UDP_HEADERS, payload, len);
    struct elig_udp_addr src = d->self;
    src.port = (uint16_t)(d->self.port + sport);
    elig_udp_build(f, &src, &d->server, d->ip_id++, len);
    return 0;
}

int elig_dpeer_send_raw(struct elig_dpeer *d, const uint8_t *frame, size_t len)
{
    if (len > d->port.mtu + 14u)
        return -EMSGSIZE;
    uint8_t *f = tx_alloc(d, 0, len);
    if (!f)
        return -ENOBUFS;
    memcpy(f, frame, len);
    return 0;
}

static unsigned poll_queue(struct elig_dpeer *d, unsigned q, elig_dpeer_fn fn, void *ctx)
{
    struct rte_mbuf *rx[BURST];
    uint16_t n = rte_eth_rx_burst(d->port.port_id, (uint16_t)q, rx, BURST);
    for (uint16_t i = 0; i < n; i++) {
        const uint8_t *f = rte_pktmbuf_mtod(rx[i], const uint8_t *);
        size_t len = rx[i]->data_len;
        struct elig_udp_pkt pkt;
        struct elig_udp_addr self = d->self;
        self.port = 0; /* answers come to any of our flows' source ports */
        int kind = rx[i]->nb_segs == 1 ? elig_udp_parse(&self, f, len, &pkt) : -ELIG_UDP_DROP_SHORT;
        fn(ctx, kind, &pkt, f, len);
    }
    if (n)
        rte_pktmbuf_free_bulk(rx, n);
    return n;
}

unsigned elig_dpeer_poll(struct elig_dpeer *d, elig_dpeer_fn fn, void *ctx)
{
    struct rte_eth_link link;
    if (rte_eth_link_get_nowait(d->port.port_id, &link) == 0 &&
        link.link_status == RTE_ETH_LINK_DOWN)
        return 0; /* the peer left: its rings are going away */
    unsigned n = 0;
    for (unsigned q = 0; q < d->queues; q++)
        n += poll_queue(d, q, fn, ctx);
    return n;
}

struct arp_wait {
    const struct elig_dpeer *d;
    bool got;
    uint8_t mac[6];
};

static void on_arp(void *ctx, int kind, const struct elig_udp_pkt *pkt, const uint8_t *frame,
                   size_t len)
{
    (void)frame;
    (void)len;
    struct arp_wait *w = ctx;
    if (kind == ELIG_UDP_ARP_REPLY && pkt->peer.ip == w->d->server.ip) {
        memcpy(w->mac, pkt->peer.mac, 6);
        w->got = true;
    }
}

/* Wait for the link, then ask for the server's MAC until it answers. */
static int resolve(struct elig_dpeer *d, uint32_t timeout_ms)
{
    uint64_t deadline = mono_ms() + timeout_ms;
    struct rte_eth_link link;
    for (;;) {
        memset(&link, 0, sizeof(link));
        rte_eth_link_get_nowait(d->port.port_id, &link);
        if (link.link_status == RTE_ETH_LINK_UP)
            break;
        if (mono_ms() >= deadline)
            return -ETIMEDOUT;
        rte_delay_us_sleep(1000); /* the link is brought up by the EAL's control thread */
    }
    struct arp_wait w = { .d = d };
    uint64_t next = 0;
    while (!w.got) {
        uint64_t now = mono_ms();
        if (now >= deadline)
            return -ETIMEDOUT;
        if (now >= next) {
            uint8_t *f = tx_alloc(d, 0, ELIG_UDP_ARP_LEN);
            if (f)
                elig_udp_arp_request(f, &d->self, d->server.ip);
            elig_dpeer_flush(d);
            next = now + 100;
        }
        elig_dpeer_poll(d, on_arp, &w);
    }
    memcpy(d->server.mac, w.mac, 6);
    return 0;
}

int elig_dpeer_open(const struct elig_dpeer_params *p, struct elig_dpeer **out)
{
    struct elig_dpeer *d = calloc(1, sizeof(*d));
    if (!d)
        return -ENOMEM;
    d->queues = p->queues ? p->queues : 1;
    int rc = d->queues <= ELIG_DPEER_MAX_QUEUES ? parse_addr(p->local, &d->self) : -EINVAL;
    if (rc == 0)
        rc = parse_addr(p->server, &d->server);
    if (rc == 0 && (rc = elig_dport_eal_init(&d->eal, "elig-peer", p->eal_args)) == 0) {
        rc =
            elig_dport_start(&d->port, p->port_id, d->queues, ELIG_UDP_MTU_DFLT, "elig_peer_mbufs");
        if (rc == 0) {
            memcpy(d->self.mac, d->port.mac, 6);
            d->max_payload = d->port.mtu - ELIG_UDP_IP_LEN - ELIG_UDP_UDP_LEN;
            rc = resolve(d, p->timeout_ms ? p->timeout_ms : 10000);
            if (rc)
                elig_dport_stop(&d->port);
        }
        if (rc)
            elig_dport_eal_fini(&d->eal);
    }
    if (rc) {
        free(d);
        return rc;
    }
    *out = d;
    return 0;
}

/* An alarm's callback runs on the EAL's interrupt thread, after whatever
 * callback that thread is running now: a barrier behind memif's disconnect. */
static void intr_barrier_cb(void *arg)
{
    __atomic_store_n((int *)arg, 1, __ATOMIC_RELEASE);
}

int elig_dpeer_wait_down(struct elig_dpeer *d, uint32_t timeout_ms)
{
    uint64_t deadline = mono_ms() + timeout_ms;
    for (;;) {
        struct rte_eth_link link;
        memset(&link, 0, sizeof(link));
        rte_eth_link_get_nowait(d->port.port_id, &link);
        if (link.link_status == RTE_ETH_LINK_DOWN)
            break;
        if (mono_ms() >= deadline)
            return -ETIMEDOUT;
        rte_delay_us_sleep(1000); /* the link is taken down by the EAL's control thread */
    }
    /* memif marks the link down first and then, on the interrupt thread,
     * unmaps the rings and closes the queues' event fds: closing the port
     * before that is done makes the two threads free the same queues. Wait
     * until the interrupt thread has moved past it. */
    int passed = 0;
    if (rte_eal_alarm_set(1, intr_barrier_cb, &passed) != 0)
        return 0;
    while (!__atomic_load_n(&passed, __ATOMIC_ACQUIRE)) {
        if (mono_ms() >= deadline) {
            rte_eal_alarm_cancel(intr_barrier_cb, &passed);
            return -ETIMEDOUT;
        }
        rte_delay_us_sleep(200);
    }
    return 0;
}

void elig_dpeer_addrs(const struct elig_dpeer *d, struct elig_udp_addr *self,
                      struct elig_udp_addr *server)
{
    if (self)
        *self = d->self;
    if (server)
        *server = d->server;
}

size_t elig_dpeer_max_payload(const struct elig_dpeer *d)
{
    return d->max_payload;
}

void elig_dpeer_close(struct elig_dpeer *d)
{
    if (!d)
        return;
    elig_dpeer_flush(d);
    elig_dport_stop(&d->port);
    elig_dport_eal_fini(&d->eal);
    free(d);
}
