/* SPDX-License-Identifier: MIT */
/*
 * elig_client_dgram: protocol frames over eligd's UDP datapath, for clients.
 *
 * Design: a thin layer over the DPDK client end (elig_dpeer) that keeps the
 * packets to itself: a flow is a source port counted from the local one, a
 * received frame is handed on only when it is a UDP datagram to one of
 * those ports (ARP and strays are the peer's business or dropped). The
 * callback of a poll is kept for that poll only. No state of its own beyond
 * the peer and the first flow's port.
 */
#include "elig_client_dgram.h"

#include <errno.h>
#include <stdlib.h>

#include "elig_dpeer.h"

struct elig_client_dgram {
    struct elig_dpeer *peer;
    uint16_t base; /* local port of flow 0 */
    elig_client_dgram_fn fn;
    void *ctx;
};

int elig_client_dgram_open(const struct elig_client_dgram_params *p, struct elig_client_dgram **out)
{
    struct elig_client_dgram *d = calloc(1, sizeof *d);
    if (d == NULL)
        return -ENOMEM;
    struct elig_dpeer_params pp = { .eal_args = p->eal_args,
                                    .port_id = p->port_id,
                                    .local = p->local,
                                    .server = p->server,
                                    .timeout_ms = p->timeout_ms,
                                    .queues = p->queues };
    int rc = elig_dpeer_open(&pp, &d->peer);
    if (rc) {
        free(d);
        return rc;
    }
    struct elig_udp_addr self;
    elig_dpeer_addrs(d->peer, &self, NULL);
    d->base = self.port;
    *out = d;
    return 0;
}

size_t elig_client_dgram_max_payload(const struct elig_client_dgram *d)
{
    return elig_dpeer_max_payload(d->peer);
}

int elig_client_dgram_send(struct elig_client_dgram *d, unsigned flow, const uint8_t *payload,
                           size_t len)
{
    return elig_dpeer_send(d->peer, (uint16_t)flow, payload, len);
}

unsigned elig_client_dgram_flush(struct elig_client_dgram *d)
{
    return elig_dpeer_flush(d->peer);
}

/* A frame the peer received: on to the caller when it is an answer to one of our flows. */
static void on_frame(void *ctx, int kind, const struct elig_udp_pkt *pkt, const uint8_t *frame,
                     size_t len)
{
    (void)frame, (void)len;
    struct elig_client_dgram *d = ctx;
    if (kind == ELIG_UDP_DATA && pkt->dport >= d->base)
        d->fn(d->ctx, (unsigned)(pkt->dport - d->base), pkt->payload, pkt->len);
}

unsigned elig_client_dgram_poll(struct elig_client_dgram *d, elig_client_dgram_fn fn, void *ctx)
{
    d->fn = fn;
    d->ctx = ctx;
    return elig_dpeer_poll(d->peer, on_frame, d);
}

int elig_client_dgram_wait_down(struct elig_client_dgram *d, uint32_t timeout_ms)
{
    return elig_dpeer_wait_down(d->peer, timeout_ms);
}

void elig_client_dgram_close(struct elig_client_dgram *d)
{
    if (d == NULL)
        return;
    elig_dpeer_close(d->peer);
    free(d);
}
