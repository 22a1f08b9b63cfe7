/* SPDX-License-Identifier: MIT */
/*
 * elig_udp: the packet layer of the kernel-bypass datapath.
 *
 * Design. A received frame is checked outside in (Ethernet, then ARP or
 * IPv4, then UDP), each layer only after the bytes it needs are known to be
 * there, so a short or lying frame never makes a read past its end. The
 * first failed rule names the drop reason; the datapath counts reasons so
 * an operator can tell a misconfigured peer (wrong port, wrong address)
 * from a damaged one (checksums). Sending builds fixed 20-byte IPv4
 * headers: eligd never sends options or fragments.
 *
 * Byte order: fields are read and written big-endian by hand (no struct
 * overlays), so the code is free of alignment and aliasing questions and
 * works on any buffer the port hands over.
 */
#include "elig_udp.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#define ETH_IPV4 0x0800
#define ETH_ARP  0x0806
#define ARP_REQ  1
#define ARP_REP  2
#define IP_UDP   17

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

/* One's-complement sum of len bytes, not folded. */
static uint32_t sum16(const uint8_t *d, size_t len, uint32_t acc)
{
    size_t i = 0;
    for (; i + 1 < len; i += 2)
        acc += rd16(d + i);
    if (i < len)
        acc += (uint32_t)d[i] << 8;
    return acc;
}

static uint16_t fold(uint32_t acc)
{
    while (acc >> 16)
        acc = (acc & 0xFFFF) + (acc >> 16);
    return (uint16_t)~acc;
}

uint16_t elig_udp_checksum(const uint8_t *data, size_t len)
{
    return fold(sum16(data, len, 0));
}

/* Sum of the UDP pseudo-header and the UDP header + payload. */
static uint32_t udp_sum(uint32_t src, uint32_t dst, const uint8_t *udp, size_t len)
{
    uint32_t acc = (src >> 16) + (src & 0xFFFF) + (dst >> 16) + (dst & 0xFFFF);
    acc += IP_UDP + (uint32_t)len;
    return sum16(udp, len, acc);
}

static const uint8_t broadcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static int parse_arp(const struct elig_udp_addr *self, const uint8_t *a, size_t len,
                     struct elig_udp_pkt *out)
{
    if (len < 28)
        return -ELIG_UDP_DROP_SHORT;
    /* Ethernet (1), IPv4 (0x0800), 6-byte and 4-byte addresses */
    if (rd16(a) != 1 || rd16(a + 2) != ETH_IPV4 || a[4] != 6 || a[5] != 4)
        return -ELIG_UDP_DROP_ARP;
    uint16_t op = rd16(a + 6);
    if ((op != ARP_REQ && op != ARP_REP) || rd32(a + 24) != self->ip)
        return -ELIG_UDP_DROP_ARP;
    memcpy(out->peer.mac, a + 8, 6);
    out->peer.ip = rd32(a + 14);
    out->peer.port = 0;
    out->kind = op == ARP_REQ ? ELIG_UDP_ARP_REQUEST : ELIG_UDP_ARP_REPLY;
    return (int)out->kind;
}

static int parse_udp(const struct elig_udp_addr *self, const uint8_t *ip, size_t len,
                     struct elig_udp_pkt *out)
{
    if (len < ELIG_UDP_IP_LEN)
        return -ELIG_UDP_DROP_SHORT;
    size_t ihl = (size_t)(ip[0] & 0x0F) * 4;
    if (ip[0] >> 4 != 4 || ihl < ELIG_UDP_IP_LEN)
        return -ELIG_UDP_DROP_IP_HEADER;
    size_t total = rd16(ip + 2);
    if (total > len)
        return -ELIG_UDP_DROP_SHORT;
    if (total < ihl)
        return -ELIG_UDP_DROP_IP_HEADER;
    if (elig_udp_checksum(ip, ihl) != 0)
        return -ELIG_UDP_DROP_IP_CHECKSUM;
    if (rd16(ip + 6) & 0x3FFF) /* more-fragments flag or an offset */
        return -ELIG_UDP_DROP_FRAGMENT;
    if (rd32(ip + 16) != self->ip)
        return -ELIG_UDP_DROP_NOT_MINE;
    if (ip[9] != IP_UDP)
        return -ELIG_UDP_DROP_PROTOCOL;
    const uint8_t *u = ip + ihl;
    size_t ulen = total - ihl;
    if (ulen < ELIG_UDP_UDP_LEN)
        return -ELIG_UDP_DROP_UDP_LENGTH;
    if (self->port && rd16(u + 2) != self->port)
        return -ELIG_UDP_DROP_PORT;
    if (rd16(u + 4) != ulen)
        return -ELIG_UDP_DROP_UDP_LENGTH;
    uint32_t src = rd32(ip + 12);
    if (rd16(u + 6) != 0 && fold(udp_sum(src, self->ip, u, ulen)) != 0)
        return -ELIG_UDP_DROP_UDP_CHECKSUM;
    out->kind = ELIG_UDP_DATA;
    out->peer.ip = src;
    out->peer.port = rd16(u);
    out->dport = rd16(u + 2);
    out->payload = u + ELIG_UDP_UDP_LEN;
    out->len = ulen - ELIG_UDP_UDP_LEN;
    return ELIG_UDP_DATA;
}

int elig_udp_parse(const struct elig_udp_addr *self, const uint8_t *frame, size_t len,
                   struct elig_udp_pkt *out)
{
    if (len < ELIG_UDP_ETH_LEN)
        return -ELIG_UDP_DROP_SHORT;
    if (memcmp(frame, self->mac, 6) != 0 && memcmp(frame, broadcast, 6) != 0)
        return -ELIG_UDP_DROP_MAC;
    memset(out, 0, sizeof(*out));
    memcpy(out->peer.mac, frame + 6, 6);
    uint16_t type = rd16(frame + 12);
    if (type == ETH_ARP)
        return parse_arp(self, frame + ELIG_UDP_ETH_LEN, len - ELIG_UDP_ETH_LEN, out);
    if (type == ETH_IPV4)
        return parse_udp(self, frame + ELIG_UDP_ETH_LEN, len - ELIG_UDP_ETH_LEN, out);
    return -ELIG_UDP_DROP_ETHERTYPE;
}

static void eth_header(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    wr16(f + 12, type);
}

int elig_udp_build(uint8_t *frame, const struct elig_udp_addr *src, const struct elig_udp_addr *dst,
                   uint16_t id, size_t len)
{
    if (len > 65535 - ELIG_UDP_IP_LEN - ELIG_UDP_UDP_LEN)
        return -EMSGSIZE;
    eth_header(frame, dst->mac, src->mac, ETH_IPV4);
    uint8_t *ip = frame + ELIG_UDP_ETH_LEN;
    size_t ulen = ELIG_UDP_UDP_LEN + len;
    ip[0] = 0x45;
    ip[1] = 0;
    wr16(ip + 2, (uint16_t)(ELIG_UDP_IP_LEN + ulen));
    wr16(ip + 4, id);
    wr16(ip + 6, 0x4000); /* don't fragment */
    ip[8] = 64;
    ip[9] = IP_UDP;
    wr16(ip + 10, 0);
    wr32(ip + 12, src->ip);
    wr32(ip + 16, dst->ip);
    wr16(ip + 10, elig_udp_checksum(ip, ELIG_UDP_IP_LEN));
    uint8_t *u = ip + ELIG_UDP_IP_LEN;
    wr16(u, src->port);
    wr16(u + 2, dst->port);
    wr16(u + 4, (uint16_t)ulen);
    wr16(u + 6, 0);
    uint16_t c = fold(udp_sum(src->ip, dst->ip, u, ulen));
    wr16(u + 6, c ? c : 0xFFFF); /* 0 would mean "no checksum" */
    return (int)(ELIG_UDP_HEADERS + len);
}

static size_t arp(uint8_t *f, const struct elig_udp_addr *self, uint16_t op, const uint8_t *dmac,
                  const uint8_t *tmac, uint32_t tip)
{
    memset(f, 0, ELIG_UDP_ARP_LEN);
    eth_header(f, dmac, self->mac, ETH_ARP);
    uint8_t *a = f + ELIG_UDP_ETH_LEN;
    wr16(a, 1);
    wr16(a + 2, ETH_IPV4);
    a[4] = 6;
    a[5] = 4;
    wr16(a + 6, op);
    memcpy(a + 8, self->mac, 6);
    wr32(a + 14, self->ip);
    memcpy(a + 18, tmac, 6);
    wr32(a + 24, tip);
    return ELIG_UDP_ARP_LEN;
}

size_t elig_udp_arp_reply(uint8_t *frame, const struct elig_udp_addr *self,
                          const struct elig_udp_pkt *req)
{
    return arp(frame, self, ARP_REP, req->peer.mac, req->peer.mac, req->peer.ip);
}

size_t elig_udp_arp_request(uint8_t *frame, const struct elig_udp_addr *self, uint32_t ip)
{
    static const uint8_t zero[6];
    return arp(frame, self, ARP_REQ, broadcast, zero, ip);
}

const char *elig_udp_drop_name(int reason)
{
    static const char *const names[ELIG_UDP_DROP_COUNT] = {
        [ELIG_UDP_DROP_SHORT] = "udp_drop_short",
        [ELIG_UDP_DROP_MAC] = "udp_drop_mac",
        [ELIG_UDP_DROP_ETHERTYPE] = "udp_drop_ethertype",
        [ELIG_UDP_DROP_ARP] = "udp_drop_arp",
        [ELIG_UDP_DROP_IP_HEADER] = "udp_drop_ip_header",
        [ELIG_UDP_DROP_IP_CHECKSUM] = "udp_drop_ip_checksum",
        [ELIG_UDP_DROP_FRAGMENT] = "udp_drop_fragment",
        [ELIG_UDP_DROP_NOT_MINE] = "udp_drop_not_mine",
        [ELIG_UDP_DROP_PROTOCOL] = "udp_drop_protocol",
        [ELIG_UDP_DROP_PORT] = "udp_drop_port",
        [ELIG_UDP_DROP_UDP_LENGTH] = "udp_drop_udp_length",
        [ELIG_UDP_DROP_UDP_CHECKSUM] = "udp_drop_udp_checksum",
    };
    if (reason < 0)
        reason = -reason;
    return reason > 0 && reason < ELIG_UDP_DROP_COUNT ? names[reason] : "?";
}

void elig_udp_format_mac(const uint8_t mac[6], char out[18])
{
    snprintf(out, 18, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4],
             mac[5]);
}
