/* SPDX-License-Identifier: MIT */
#ifndef ELIG_UDP_H
#define ELIG_UDP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * Ethernet, ARP, IPv4 and UDP for the kernel-bypass datapath: parsing what
 * a port received and building what it sends, on plain byte buffers (no
 * DPDK type appears here, so the rules are unit-tested without a port).
 *
 * What eligd accepts (docs/protocol.md, "UDP datapath"): untagged Ethernet
 * II frames addressed to its MAC or broadcast; ARP requests for its IPv4
 * address (answered); IPv4 without options or with them, not fragmented,
 * header checksum right, addressed to its IPv4 address; UDP to its port,
 * length consistent with the IP packet, checksum right or 0 (none). Anything
 * else is dropped and counted by reason (enum elig_udp_drop).
 *
 * Pure functions: thread-safe on distinct buffers; nothing is allocated.
 */

#define ELIG_UDP_ETH_LEN  14 /**< Ethernet II header */
#define ELIG_UDP_IP_LEN   20 /**< IPv4 header without options (as sent) */
#define ELIG_UDP_UDP_LEN  8  /**< UDP header */
#define ELIG_UDP_HEADERS  (ELIG_UDP_ETH_LEN + ELIG_UDP_IP_LEN + ELIG_UDP_UDP_LEN)
#define ELIG_UDP_ARP_LEN  60 /**< an ARP frame as sent: 42 bytes padded to Ethernet's minimum */
#define ELIG_UDP_MTU_DFLT 9000
#define ELIG_UDP_MTU_MIN  576

/** One end of a UDP flow. */
struct elig_udp_addr {
    uint8_t mac[6]; /**< Ethernet address */
    uint32_t ip;    /**< IPv4 address, host byte order */
    uint16_t port;  /**< UDP port, host byte order */
};

/** What a received frame is. */
enum elig_udp_kind {
    ELIG_UDP_DATA = 1,        /**< a UDP datagram for us: payload set */
    ELIG_UDP_ARP_REQUEST = 2, /**< someone asks for our MAC: answer with elig_udp_arp_reply() */
    ELIG_UDP_ARP_REPLY = 3,   /**< an answer to our ARP request: peer.mac and peer.ip set */
};

/** Why a received frame was dropped (counted per reason). */
enum elig_udp_drop {
    ELIG_UDP_DROP_SHORT = 1,    /**< shorter than its headers say */
    ELIG_UDP_DROP_MAC,          /**< Ethernet destination is neither us nor broadcast */
    ELIG_UDP_DROP_ETHERTYPE,    /**< neither IPv4 nor ARP (VLAN tags included) */
    ELIG_UDP_DROP_ARP,          /**< ARP that is not an IPv4-over-Ethernet request/reply for us */
    ELIG_UDP_DROP_IP_HEADER,    /**< not IPv4, header length < 20, total length inconsistent */
    ELIG_UDP_DROP_IP_CHECKSUM,  /**< IPv4 header checksum wrong */
    ELIG_UDP_DROP_FRAGMENT,     /**< a fragment (eligd does not reassemble) */
    ELIG_UDP_DROP_NOT_MINE,     /**< IPv4 destination is not our address */
    ELIG_UDP_DROP_PROTOCOL,     /**< not UDP */
    ELIG_UDP_DROP_PORT,         /**< UDP destination port is not ours */
    ELIG_UDP_DROP_UDP_LENGTH,   /**< UDP length inconsistent with the IP packet */
    ELIG_UDP_DROP_UDP_CHECKSUM, /**< UDP checksum wrong */
    ELIG_UDP_DROP_COUNT
};

/** A received frame, parsed. */
struct elig_udp_pkt {
    enum elig_udp_kind kind;
    struct elig_udp_addr peer; /**< sender: MAC, IPv4 and (DATA) UDP port */
    uint16_t dport;            /**< DATA: the UDP port it was sent to */
    const uint8_t *payload;    /**< DATA: the UDP payload, inside the frame */
    size_t len;                /**< DATA: its length */
};

/**
 * Parse a received Ethernet frame addressed to self (self->port 0: any UDP
 * port, for a client with many flows).
 * @return enum elig_udp_kind (> 0) with *out filled; or the negated reason
 *         it is dropped (-enum elig_udp_drop).
 */
int elig_udp_parse(const struct elig_udp_addr *self, const uint8_t *frame, size_t len,
                   struct elig_udp_pkt *out);

/**
 * Write Ethernet, IPv4 and UDP headers into frame[0..ELIG_UDP_HEADERS) for
 * the payload already at frame + ELIG_UDP_HEADERS (len bytes), checksums
 * included. IPv4 identification is id; TTL 64; don't-fragment set.
 * @return the frame's length (ELIG_UDP_HEADERS + len); -EMSGSIZE when the
 *         datagram would not fit in an IPv4 packet.
 */
int elig_udp_build(uint8_t *frame, const struct elig_udp_addr *src, const struct elig_udp_addr *dst,
                   uint16_t id, size_t len);

/** Write an ARP reply from self to the asker of req into frame (ELIG_UDP_ARP_LEN bytes). */
size_t elig_udp_arp_reply(uint8_t *frame, const struct elig_udp_addr *self,
                          const struct elig_udp_pkt *req);

/** Write a broadcast ARP request from self for ip into frame (ELIG_UDP_ARP_LEN bytes). */
size_t elig_udp_arp_request(uint8_t *frame, const struct elig_udp_addr *self, uint32_t ip);

/** The Internet checksum of len bytes, folded and complemented (0 sums to 0xffff). */
uint16_t elig_udp_checksum(const uint8_t *data, size_t len);

/** The counter name of a drop reason ("udp_drop_short", ...; either sign); "?" when out of range.
 */
const char *elig_udp_drop_name(int reason);

/** Format a MAC as "xx:xx:xx:xx:xx:xx" into out (18 bytes, NUL included). */
void elig_udp_format_mac(const uint8_t mac[6], char out[18]);

#endif
