/* SPDX-License-Identifier: MIT */
/*
 * test_udp: the packet layer of the UDP datapath, without a port.
 *
 * Frames built by elig_udp_build parse back to what went in; the checksum
 * matches a worked example; every proper prefix of a good frame is refused
 * without a read past its end (ASan watches); each rule drops with its own
 * reason; ARP requests and replies pair up.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elig_udp.h"
#include "test_support.h"

static const struct elig_udp_addr server = { .mac = { 0x02, 0, 0, 0, 0, 0x01 },
                                             .ip = 0x0A0B0001,
                                             .port = 7701 };
static const struct elig_udp_addr client = { .mac = { 0x02, 0, 0, 0, 0, 0x02 },
                                             .ip = 0x0A0B0002,
                                             .port = 40000 };

static size_t good(uint8_t *f, const char *payload)
{
    size_t len = strlen(payload);
    memcpy(f + ELIG_UDP_HEADERS, payload, len);
    int n = elig_udp_build(f, &client, &server, 7, len);
    assert_int_equal(n, ELIG_UDP_HEADERS + len);
    return (size_t)n;
}

static void test_checksum_example(void **state)
{
    (void)state;
    /* the IPv4 header of the classic worked example (RFC 1071 style): sum folds to 0xb861 */
    const uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
                             0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
    assert_int_equal(elig_udp_checksum(ip, sizeof ip), 0xb861);
    uint8_t with[20];
    memcpy(with, ip, 20);
    with[10] = 0xb8;
    with[11] = 0x61;
    assert_int_equal(elig_udp_checksum(with, sizeof with), 0);
}

static void test_round_trip(void **state)
{
    (void)state;
    uint8_t f[256];
    size_t n = good(f, "ELhello");
    struct elig_udp_pkt p;
    assert_int_equal(elig_udp_parse(&server, f, n, &p), ELIG_UDP_DATA);
    assert_int_equal(p.len, 7);
    assert_memory_equal(p.payload, "ELhello", 7);
    assert_int_equal(p.peer.ip, client.ip);
    assert_int_equal(p.peer.port, client.port);
    assert_memory_equal(p.peer.mac, client.mac, 6);
    /* an odd-length payload exercises the checksum's last byte */
    n = good(f, "x");
    assert_int_equal(elig_udp_parse(&server, f, n, &p), ELIG_UDP_DATA);
    /* a zero UDP checksum means "none" and is accepted */
    f[ELIG_UDP_ETH_LEN + ELIG_UDP_IP_LEN + 6] = 0;
    f[ELIG_UDP_ETH_LEN + ELIG_UDP_IP_LEN + 7] = 0;
    assert_int_equal(elig_udp_parse(&server, f, n, &p), ELIG_UDP_DATA);
    /* Ethernet padding after the IP packet is ignored */
    assert_int_equal(elig_udp_parse(&server, f, 60, &p), ELIG_UDP_DATA);
    assert_int_equal(p.len, 1);
    assert_int_equal(elig_udp_build(f, &client, &server, 0, 70000), -EMSGSIZE);
}

static void test_prefixes(void **state)
{
    (void)state;
    uint8_t f[256];
    size_t n = good(f, "ELprefix");
    for (size_t len = 0; len < n; len++) {
        uint8_t *copy = malloc(len ? len : 1); /* exact size: ASan sees any over-read */
        memcpy(copy, f, len);
        struct elig_udp_pkt p;
        int rc = elig_udp_parse(&server, copy, len, &p);
        if (rc != -ELIG_UDP_DROP_SHORT)
            fail_msg("prefix of %zu bytes: %d", len, rc);
        free(copy);
    }
}

static void fix_ip(uint8_t *f)
{
    uint8_t *ip = f + ELIG_UDP_ETH_LEN;
    ip[10] = ip[11] = 0;
    uint16_t c = elig_udp_checksum(ip, 20);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
}

static void test_drops(void **state)
{
    (void)state;
    uint8_t f[256];
    uint8_t *ip = f + ELIG_UDP_ETH_LEN, *u = ip + ELIG_UDP_IP_LEN;
    struct elig_udp_pkt p;
    struct {
        const char *name;
        int reason;
    } cases[] = {
        { "mac", ELIG_UDP_DROP_MAC },           { "ethertype", ELIG_UDP_DROP_ETHERTYPE },
        { "version", ELIG_UDP_DROP_IP_HEADER }, { "ihl", ELIG_UDP_DROP_IP_HEADER },
        { "ipsum", ELIG_UDP_DROP_IP_CHECKSUM }, { "frag", ELIG_UDP_DROP_FRAGMENT },
        { "offset", ELIG_UDP_DROP_FRAGMENT },   { "dst", ELIG_UDP_DROP_NOT_MINE },
        { "proto", ELIG_UDP_DROP_PROTOCOL },    { "port", ELIG_UDP_DROP_PORT },
        { "ulen", ELIG_UDP_DROP_UDP_LENGTH },   { "usum", ELIG_UDP_DROP_UDP_CHECKSUM },
        { "total", ELIG_UDP_DROP_SHORT },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = good(f, "ELdata!");
        switch (i) {
        case 0:
            f[0] = 0x04;
            break;
        case 1:
            f[12] = 0x81;
            f[13] = 0x00;
            break; /* a VLAN tag */
        case 2:
            ip[0] = 0x65;
            fix_ip(f);
            break;
        case 3:
            ip[0] = 0x44;
            fix_ip(f);
            break;
        case 4:
            ip[11] ^= 1;
            break;
        case 5:
            ip[6] |= 0x20;
            fix_ip(f);
            break;
        case 6:
            ip[7] = 8;
            fix_ip(f);
            break;
        case 7:
            ip[19] = 9;
            fix_ip(f);
            break;
        case 8:
            ip[9] = 6;
            fix_ip(f);
            break;
        case 9:
            u[3] = 0x55;
            break;
        case 10:
            u[5] = 7;
            break;
        case 11:
            f[n - 1] ^= 0x10;
            break;
        case 12:
            ip[3] += 1;
            fix_ip(f);
            break; /* total length one past the frame */
        }
        int rc = elig_udp_parse(&server, f, n, &p);
        if (rc != -cases[i].reason)
            fail_msg("%s: got %d (%s), want %s", cases[i].name, rc, elig_udp_drop_name(rc),
                     elig_udp_drop_name(cases[i].reason));
    }
    assert_string_equal(elig_udp_drop_name(-ELIG_UDP_DROP_PORT), "udp_drop_port");
    assert_string_equal(elig_udp_drop_name(0), "?");
    assert_string_equal(elig_udp_drop_name(ELIG_UDP_DROP_COUNT), "?");
}

static void test_arp(void **state)
{
    (void)state;
    uint8_t req[ELIG_UDP_ARP_LEN], rep[ELIG_UDP_ARP_LEN];
    assert_int_equal(elig_udp_arp_request(req, &client, server.ip), ELIG_UDP_ARP_LEN);
    struct elig_udp_pkt p;
    assert_int_equal(elig_udp_parse(&server, req, sizeof req, &p), ELIG_UDP_ARP_REQUEST);
    assert_int_equal(p.peer.ip, client.ip);
    assert_memory_equal(p.peer.mac, client.mac, 6);
    assert_int_equal(elig_udp_arp_reply(rep, &server, &p), ELIG_UDP_ARP_LEN);
    assert_memory_equal(rep, client.mac, 6); /* unicast back */
    struct elig_udp_pkt r;
    assert_int_equal(elig_udp_parse(&client, rep, sizeof rep, &r), ELIG_UDP_ARP_REPLY);
    assert_int_equal(r.peer.ip, server.ip);
    assert_memory_equal(r.peer.mac, server.mac, 6);
    /* a request for another address is not for us */
    elig_udp_arp_request(req, &client, server.ip + 1);
    assert_int_equal(elig_udp_parse(&server, req, sizeof req, &p), -ELIG_UDP_DROP_ARP);
    /* a truncated ARP */
    elig_udp_arp_request(req, &client, server.ip);
    assert_int_equal(elig_udp_parse(&server, req, 30, &p), -ELIG_UDP_DROP_SHORT);
    char mac[18];
    elig_udp_format_mac(server.mac, mac);
    assert_string_equal(mac, "02:00:00:00:00:01");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_checksum_example),
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_prefixes),
        cmocka_unit_test(test_drops),
        cmocka_unit_test(test_arp),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
