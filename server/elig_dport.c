/* SPDX-License-Identifier: MIT */
/*
 * elig_dport: EAL start-up and port set-up shared by both ends of the UDP
 * datapath.
 *
 * One mbuf holds one whole Ethernet frame (data room = MTU + Ethernet
 * overhead): both ends parse frames in place and never chain segments. The
 * pool is sized for every descriptor of every queue plus the per-lcore
 * caches and a margin for bursts being built, so RX never starves because
 * TX holds mbufs.
 */
#include "elig_dport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>

#include "elig_slog.h"

#define RX_DESC    1024
#define TX_DESC    1024
#define POOL_CACHE 256
#define MAX_ARGS   64
#define TX_RETRIES 64 /* bounded retries of a partly refused TX burst */

int elig_dport_eal_init(struct elig_dport_eal *e, const char *prog, const char *eal_args)
{
    memset(e, 0, sizeof(*e));
    e->args = strdup(eal_args ? eal_args : "");
    if (!e->args)
        return -ENOMEM;
    e->argv[e->argc++] = (char *)prog;
    for (char *save = NULL, *t = strtok_r(e->args, " \t", &save); t;
         t = strtok_r(NULL, " \t", &save)) {
        if (e->argc == MAX_ARGS + 1) {
            free(e->args);
            e->args = NULL;
            return -EINVAL;
        }
        e->argv[e->argc++] = t;
    }
    e->argv[e->argc] = NULL;
    rte_openlog_stream(stderr);
    if (rte_eal_init(e->argc, e->argv) < 0) {
        int err = rte_errno;
        elig_slog(ELIG_SLOG_ERROR, "dpdk: EAL initialisation failed: %s", rte_strerror(err));
        free(e->args);
        e->args = NULL;
        return err > 0 && err < 1000 ? -err : -EINVAL;
    }
    return 0;
}

void elig_dport_eal_fini(struct elig_dport_eal *e)
{
    /*
     * No rte_eal_cleanup(): in DPDK 22.11 it unmaps the EAL's memory while
     * the EAL's interrupt thread may still be handling an event (a memif
     * peer leaving is one), which then touches unmapped memory (seen as
     * crashes at exit). The EAL is started once per process and ends with
     * it; the port is already stopped and closed.
     */
    free(e->args);
    e->args = NULL;
}

int elig_dport_start(struct elig_dport *p, uint16_t port, unsigned queues, unsigned mtu,
                     const char *pool_name)
{
    memset(p, 0, sizeof(*p));
    p->port_id = port;
    p->queues = queues;
    if (!rte_eth_dev_is_valid_port(port)) {
        elig_slog(ELIG_SLOG_ERROR, "dpdk: no port %u (give one with --vdev or a bound NIC)", port);
        return -EINVAL;
    }
    struct rte_eth_dev_info info;
    int rc = rte_eth_dev_info_get(port, &info);
    if (rc)
        return rc;
    snprintf(p->driver, sizeof p->driver, "%s", info.driver_name);
    if (queues > info.max_rx_queues || queues > info.max_tx_queues) {
        elig_slog(ELIG_SLOG_ERROR, "dpdk: port %u has %u/%u queues, %u wanted", port,
                  info.max_rx_queues, info.max_tx_queues, queues);
        return -EINVAL;
    }
    if (info.max_mtu && mtu > info.max_mtu)
        mtu = info.max_mtu;
    unsigned overhead = RTE_ETHER_HDR_LEN + RTE_ETHER_CRC_LEN;
    if (info.max_rx_pktlen > overhead && mtu > info.max_rx_pktlen - overhead)
        mtu = info.max_rx_pktlen - overhead; /* e.g. memif: 1500 */
    struct rte_eth_conf conf;
    memset(&conf, 0, sizeof(conf));
    conf.rxmode.mtu = mtu;
    uint64_t rss = info.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
    if (queues > 1 && rss) {
        conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
        conf.rx_adv_conf.rss_conf.rss_hf = rss;
    }
    unsigned room = RTE_PKTMBUF_HEADROOM + mtu + overhead + 64;
    unsigned nb = queues * (RX_DESC + TX_DESC + POOL_CACHE + 256) + 1024;
    p->pool =
        rte_pktmbuf_pool_create(pool_name, nb, POOL_CACHE, 0, (uint16_t)room, rte_socket_id());
    if (!p->pool)
        return -rte_errno;
    if ((rc = rte_eth_dev_configure(port, (uint16_t)queues, (uint16_t)queues, &conf)))
        goto fail;
    uint16_t nrx = RX_DESC, ntx = TX_DESC;
    if ((rc = rte_eth_dev_adjust_nb_rx_tx_desc(port, &nrx, &ntx)))
        goto fail;
    int sock = rte_eth_dev_socket_id(port);
    for (unsigned q = 0; q < queues; q++)
        if ((rc = rte_eth_rx_queue_setup(port, (uint16_t)q, nrx, sock, NULL, p->pool)) ||
            (rc = rte_eth_tx_queue_setup(port, (uint16_t)q, ntx, sock, NULL)))
            goto fail;
    if ((rc = rte_eth_dev_start(port)))
        goto fail;
    struct rte_ether_addr mac;
    if ((rc = rte_eth_macaddr_get(port, &mac)))
        goto fail;
    memcpy(p->mac, mac.addr_bytes, 6);
    uint16_t got = 0;
    p->mtu = rte_eth_dev_get_mtu(port, &got) == 0 && got ? got : mtu;
    return 0;
fail:
    elig_slog(ELIG_SLOG_ERROR, "dpdk: port %u: %s", port, rte_strerror(rc < 0 ? -rc : rc));
    rte_eth_dev_close(port);
    rte_mempool_free(p->pool);
    p->pool = NULL;
    return rc < 0 ? rc : -EINVAL;
}

unsigned elig_dport_tx(uint16_t port_id, uint16_t q, struct rte_mbuf **m, unsigned n)
{
    unsigned sent = 0;
    for (int tries = 0; sent < n && tries < TX_RETRIES; tries++)
        sent += rte_eth_tx_burst(port_id, q, m + sent, (uint16_t)(n - sent));
    if (sent < n)
        rte_pktmbuf_free_bulk(m + sent, n - sent);
    return sent;
}

void elig_dport_stop(struct elig_dport *p)
{
    rte_eth_dev_stop(p->port_id);
    rte_eth_dev_close(p->port_id);
    rte_mempool_free(p->pool);
    p->pool = NULL;
}
