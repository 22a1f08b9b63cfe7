/* SPDX-License-Identifier: MIT */
/*
 * test_eligd_dpdk: eligd's UDP datapath over DPDK memif, end to end.
 *
 * eligd runs as a real process with --dpdk-addr and a memif port in the
 * server role (EAL --no-huge: no hugepages needed); this test process is
 * the memif client, through elig_dpeer, with its own EAL. One server and
 * one peer serve the whole group (an EAL starts once per process). Every
 * wait polls the port against a deadline; nothing sleeps. Drops are
 * checked through eligd's counters: a STATS frame sent after the bad
 * traffic on the same queue is answered after it was counted.
 *
 * Built without DPDK, the program reports "skipped" (exit 77).
 */
#include "elig_config.h"

#if !ELIG_HAVE_DPDK
#include <stdio.h>
int main(void)
{
    puts("eligd-dpdk: built without DPDK, skipped");
    return 77;
}
#else

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "elig_dpeer.h"
#include "elig_le.h"
#include "elig_proto.h"
#include "elig_udp.h"
#include "eligd_harness.h"

#define SERVER_IP "10.11.0.1"
#define UDP_PORT  7701
#define WAIT_MS   10000
#define MAX_GOT   256

struct fixture {
    struct server s;
    struct elig_dpeer *peer;
    char sockdir[64], sock[128];
    struct elig_udp_addr self, server;
};

/* One answer frame as received. */
struct got {
    struct elig_proto_header h;
    uint8_t body[2048];
};

struct inbox {
    struct got *f;
    size_t n;
    unsigned datagrams;
    unsigned arp_replies;
    bool bad_datagram; /* a datagram not made of whole frames */
};

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static void on_frame(void *ctx, int kind, const struct elig_udp_pkt *pkt, const uint8_t *frame,
                     size_t len)
{
    (void)frame;
    (void)len;
    struct inbox *in = ctx;
    if (kind == ELIG_UDP_ARP_REPLY)
        in->arp_replies++;
    if (kind != ELIG_UDP_DATA)
        return;
    in->datagrams++;
    size_t off = 0;
    while (off < pkt->len) {
        struct elig_proto_header h;
        if (elig_proto_header_decode(pkt->payload + off, pkt->len - off, true, &h) ||
            h.body_len > pkt->len - off - ELIG_PROTO_HEADER || h.body_len > 2048 ||
            in->n == MAX_GOT) {
            in->bad_datagram = true;
            return;
        }
        in->f[in->n].h = h;
        memcpy(in->f[in->n].body, pkt->payload + off + ELIG_PROTO_HEADER, h.body_len);
        in->n++;
        off += ELIG_PROTO_HEADER + h.body_len;
    }
}

static void inbox_reset(struct inbox *in)
{
    in->n = 0;
    in->datagrams = 0;
    in->arp_replies = 0;
    in->bad_datagram = false;
}

/* Send what is queued, then receive until want answer frames have come (bounded). */
static void exchange(struct fixture *fx, struct inbox *in, size_t want)
{
    assert_int_equal(elig_dpeer_flush(fx->peer), 0);
    uint64_t deadline = now_ms() + WAIT_MS;
    while (in->n < want && now_ms() < deadline)
        elig_dpeer_poll(fx->peer, on_frame, in);
    if (in->n < want)
        fail_msg("%zu answer frames of %zu came within %d ms", in->n, want, WAIT_MS);
    assert_false(in->bad_datagram);
}

/* Append a whole request frame to b. */
static void frame(struct elig_pbuf *b, uint8_t op, uint32_t id, const void *body, size_t len)
{
    long at = elig_proto_frame_begin(b, op, 0, 0, id);
    assert_true(at >= 0);
    assert_int_equal(elig_pbuf_reserve(b, len), 0);
    if (len)
        memcpy(b->data + b->len, body, len);
    b->len += len;
    elig_proto_frame_end(b, at);
}

/* Append the request frame of expects[i] with id. */
static void expect_frame(struct elig_pbuf *b, size_t i, uint32_t id)
{
    struct elig_pbuf body = { 0 };
    uint8_t op;
    encode_expect(&body, i, &op);
    frame(b, op, id, body.data, body.len);
    elig_pbuf_free(&body);
}

static void send_payload(struct fixture *fx, const struct elig_pbuf *b)
{
    assert_int_equal(elig_dpeer_send(fx->peer, 0, b->data, b->len), 0);
}

/* A counter of a STATS answer, or fail. */
static uint64_t stat_of(const struct got *g, const char *name)
{
    size_t off = 2;
    uint16_t n = elig_rd16(g->body);
    for (uint16_t i = 0; i < n; i++) {
        char nm[64];
        uint64_t v;
        assert_int_equal(elig_proto_stat_decode(g->body, g->h.body_len, &off, nm, &v), 0);
        if (strcmp(nm, name) == 0)
            return v;
    }
    fail_msg("no counter %s", name);
    return 0;
}

/* STATS over the datapath (after everything sent before it). */
static void stats(struct fixture *fx, struct got *out)
{
    struct inbox in = { .f = calloc(MAX_GOT, sizeof(struct got)) };
    struct elig_pbuf b = { 0 };
    frame(&b, ELIG_OP_STATS, 777, NULL, 0);
    send_payload(fx, &b);
    exchange(fx, &in, 1);
    assert_int_equal(in.f[0].h.request_id, 777);
    assert_int_equal(in.f[0].h.status, ELIG_PS_OK);
    *out = in.f[0];
    elig_pbuf_free(&b);
    free(in.f);
}

/* A raw Ethernet frame carrying payload from us to the server, to be damaged by the caller. */
static size_t raw_datagram(struct fixture *fx, uint8_t *f, const struct elig_udp_addr *to,
                           const void *payload, size_t len)
{
    memcpy(f + ELIG_UDP_HEADERS, payload, len);
    int n = elig_udp_build(f, &fx->self, to, 1, len);
    assert_true(n > 0);
    return (size_t)n;
}

static void fix_ip_checksum(uint8_t *f)
{
    uint8_t *ip = f + ELIG_UDP_ETH_LEN;
    ip[10] = ip[11] = 0;
    uint16_t c = elig_udp_checksum(ip, ELIG_UDP_IP_LEN);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
}

/* ---- the group: one eligd, one peer ------------------------------------- */

static int group_setup(void **state)
{
    if (getenv("ELIGD") == NULL)
        return -1;
    struct fixture *fx = calloc(1, sizeof(*fx));
    snprintf(fx->sockdir, sizeof fx->sockdir, "/tmp/elig-memif-XXXXXX");
    if (!mkdtemp(fx->sockdir))
        return -1;
    snprintf(fx->sock, sizeof fx->sock, "%s/memif.sock", fx->sockdir);
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    char lcores[64], eal[512], peer_eal[512];
    /* lcore 0 floats over every CPU: the server and this client poll side by side */
    snprintf(lcores, sizeof lcores, "--lcores=0@(0-%ld)", cpus > 1 ? cpus - 1 : 0);
    snprintf(eal, sizeof eal,
             "%s --no-huge -m 128 --no-pci --no-shconf --no-telemetry --log-level=warning "
             "--vdev=net_memif0,role=server,socket=%s,socket-abstract=no",
             lcores, fx->sock);
    snprintf(peer_eal, sizeof peer_eal,
             "%s --no-huge -m 128 --no-pci --no-shconf --no-telemetry --log-level=warning "
             "--vdev=net_memif0,role=client,socket=%s,socket-abstract=no",
             lcores, fx->sock);
    char addr[32];
    snprintf(addr, sizeof addr, "%s:%d", SERVER_IP, UDP_PORT);
    const char *extra[] = { "--dpdk-addr", addr, "--dpdk-eal", eal, NULL };
    start_loaded(&fx->s, extra);
    struct elig_dpeer_params p = {
        .eal_args = peer_eal,
        .local = "10.11.0.2:40000",
        .server = addr,
        .timeout_ms = WAIT_MS,
    };
    int rc = elig_dpeer_open(&p, &fx->peer);
    if (rc) {
        fprintf(stderr, "peer: %s\n", strerror(-rc));
        return -1;
    }
    elig_dpeer_addrs(fx->peer, &fx->self, &fx->server);
    *state = fx;
    return 0;
}

static int group_teardown(void **state)
{
    struct fixture *fx = *state;
    if (!fx) {
        teardown(NULL);
        return 0;
    }
    /* eligd leaves the memif link first: a memif side that stays must not be polling when
       its peer disconnects (docs/operations.md, "DPDK"), and this process is not polling now */
    server_finish(&fx->s);
    elig_dpeer_close(fx->peer);
    unlink(fx->sock);
    rmdir(fx->sockdir);
    free(fx);
    return 0;
}

/* ---- tests -------------------------------------------------------------- */

/* ARP: the peer learnt the MAC eligd announced; a request for another address is dropped. */
static void test_arp(void **state)
{
    struct fixture *fx = *state;
    char mac[18], want[40];
    elig_udp_format_mac(fx->server.mac, mac);
    snprintf(want, sizeof want, "dpdk_mac=%s", mac);
    if (!strstr(fx->s.ready, want))
        fail_msg("ARP gave %s; eligd said: %s", mac, fx->s.ready);
    struct got before, after;
    stats(fx, &before);
    assert_true(stat_of(&before, "udp_arp_replies") >= 1);
    uint8_t f[ELIG_UDP_ARP_LEN];
    elig_udp_arp_request(f, &fx->self, (10u << 24) | (11u << 16) | 99); /* 10.11.0.99 */
    assert_int_equal(elig_dpeer_send_raw(fx->peer, f, sizeof f), 0);
    elig_udp_arp_request(f, &fx->self, fx->server.ip);
    assert_int_equal(elig_dpeer_send_raw(fx->peer, f, sizeof f), 0);
    stats(fx, &after);
    assert_int_equal(stat_of(&after, "udp_drop_arp") - stat_of(&before, "udp_drop_arp"), 1);
    assert_int_equal(stat_of(&after, "udp_arp_replies") - stat_of(&before, "udp_arp_replies"), 1);
}

/* Every validity code and card refusal, one frame per datagram. */
static void test_validity_codes(void **state)
{
    struct fixture *fx = *state;
    struct inbox in = { .f = calloc(MAX_GOT, sizeof(struct got)) };
    struct elig_proto_answer *a = malloc(sizeof(*a));
    for (size_t i = 0; i < NEXPECT; i++) {
        struct elig_pbuf b = { 0 };
        expect_frame(&b, i, (uint32_t)(100 + i));
        send_payload(fx, &b);
        elig_pbuf_free(&b);
        inbox_reset(&in);
        exchange(fx, &in, 1);
        assert_int_equal(in.n, 1);
        assert_int_equal(in.f[0].h.request_id, 100 + i);
        assert_int_equal(in.f[0].h.status, ELIG_PS_OK);
        size_t off = 0;
        assert_int_equal(elig_proto_answer_decode(in.f[0].body, in.f[0].h.body_len, &off, a), 0);
        assert_int_equal(off, in.f[0].h.body_len);
        assert_expected(i, a);
    }
    free(a);
    free(in.f);
}

/* Many frames in one datagram: answered in order, in datagrams of whole frames. */
static void test_several_frames(void **state)
{
    struct fixture *fx = *state;
    struct inbox in = { .f = calloc(MAX_GOT, sizeof(struct got)) };
    struct elig_pbuf b = { 0 };
    for (size_t i = 0; i < NEXPECT; i++)
        expect_frame(&b, i, (uint32_t)(200 + i));
    frame(&b, ELIG_OP_PING, 300, "hello", 5);
    frame(&b, 0x33, 301, NULL, 0); /* an unknown opcode: answered, and the datagram goes on */
    expect_frame(&b, 0, 302);
    assert_true(b.len <= elig_dpeer_max_payload(fx->peer));
    send_payload(fx, &b);
    exchange(fx, &in, NEXPECT + 3);
    assert_int_equal(in.n, NEXPECT + 3);
    assert_true(in.datagrams >= 2); /* the answers are larger than one 1,500-byte datagram */
    struct elig_proto_answer *a = malloc(sizeof(*a));
    for (size_t i = 0; i < NEXPECT; i++) {
        assert_int_equal(in.f[i].h.request_id, 200 + i);
        size_t off = 0;
        assert_int_equal(elig_proto_answer_decode(in.f[i].body, in.f[i].h.body_len, &off, a), 0);
        assert_expected(i, a);
    }
    const struct got *ping = &in.f[NEXPECT], *unk = &in.f[NEXPECT + 1], *last = &in.f[NEXPECT + 2];
    assert_int_equal(ping->h.request_id, 300);
    assert_int_equal(ping->h.body_len, 5);
    assert_memory_equal(ping->body, "hello", 5);
    assert_int_equal(unk->h.request_id, 301);
    assert_int_equal(unk->h.status, ELIG_PS_OPCODE);
    assert_int_equal(last->h.request_id, 302);
    assert_int_equal(last->h.status, ELIG_PS_OK);
    free(a);
    elig_pbuf_free(&b);
    free(in.f);
}

/* A damaged or misaddressed Ethernet frame, and the counter it must move. */
struct bad_packet {
    const char *name;
    const char *counter;
};

static const struct bad_packet bad_packets[] = {
    { "short", "udp_drop_short" },
    { "other MAC", "udp_drop_mac" },
    { "IPv6", "udp_drop_ethertype" },
    { "bad IP checksum", "udp_drop_ip_checksum" },
    { "fragment", "udp_drop_fragment" },
    { "other IP", "udp_drop_not_mine" },
    { "not UDP", "udp_drop_protocol" },
    { "wrong UDP port", "udp_drop_port" },
    { "bad UDP length", "udp_drop_udp_length" },
    { "bad UDP checksum", "udp_drop_udp_checksum" },
};
#define NBAD      (sizeof bad_packets / sizeof bad_packets[0])

static size_t make_bad(struct fixture *fx, size_t i, uint8_t *f)
{
    uint8_t ping[ELIG_PROTO_HEADER];
    struct elig_proto_header h = { .version = 1, .opcode = ELIG_OP_PING, .request_id = 5 };
    elig_proto_header_encode(ping, &h);
    struct elig_udp_addr to = fx->server;
    uint8_t *ip = f + ELIG_UDP_ETH_LEN, *udp = ip + ELIG_UDP_IP_LEN;
    switch (i) {
    case 0:
        raw_datagram(fx, f, &to, ping, sizeof ping);
        return 10;
    case 1:
        to.mac[5] ^= 0x01;
        return raw_datagram(fx, f, &to, ping, sizeof ping);
    case 2: {
        size_t n = raw_datagram(fx, f, &to, ping, sizeof ping);
        f[12] = 0x86;
        f[13] = 0xDD;
        return n;
    }
    case 3: {
        size_t n = raw_datagram(fx, f, &to, ping, sizeof ping);
        ip[10] ^= 0x5A;
        return n;
    }
    case 4: {
        size_t n = raw_datagram(fx, f, &to, ping, sizeof ping);
        ip[6] = 0x20; /* more fragments */
        fix_ip_checksum(f);
        return n;
    }
    case 5:
        to.ip ^= 0x7F;
        return raw_datagram(fx, f, &to, ping, sizeof ping);
    case 6: {
        size_t n = raw_datagram(fx, f, &to, ping, sizeof ping);
        ip[9] = 1; /* ICMP */
        fix_ip_checksum(f);
        return n;
    }
    case 7:
        to.port = UDP_PORT + 1;
        return raw_datagram(fx, f, &to, ping, sizeof ping);
    case 8: {
        size_t n = raw_datagram(fx, f, &to, ping, sizeof ping);
        udp[5] += 4; /* says 4 bytes more than the IP packet holds */
        return n;
    }
    default: {
        size_t n = raw_datagram(fx, f, &to, ping, sizeof ping);
        f[n - 1] ^= 0xFF; /* the payload changed after the checksum */
        return n;
    }
    }
}

/* Every kind of bad packet is dropped, counted under its reason, and nothing answers it. */
static void test_bad_packets(void **state)
{
    struct fixture *fx = *state;
    struct got before, after;
    stats(fx, &before);
    uint8_t f[256];
    for (size_t i = 0; i < NBAD; i++) {
        memset(f, 0, sizeof f);
        size_t n = make_bad(fx, i, f);
        assert_int_equal(elig_dpeer_send_raw(fx->peer, f, n), 0);
    }
    stats(fx, &after);
    for (size_t i = 0; i < NBAD; i++) {
        uint64_t d =
            stat_of(&after, bad_packets[i].counter) - stat_of(&before, bad_packets[i].counter);
        if (d != 1)
            fail_msg("%s: %s moved by %llu", bad_packets[i].name, bad_packets[i].counter,
                     (unsigned long long)d);
    }
    /* only the STATS frame was a datagram for us */
    assert_int_equal(stat_of(&after, "udp_datagrams") - stat_of(&before, "udp_datagrams"), 1);
}

/* Bad frames inside good datagrams: answered as docs/protocol.md says. */
static void test_bad_frames(void **state)
{
    struct fixture *fx = *state;
    struct inbox in = { .f = calloc(MAX_GOT, sizeof(struct got)) };
    struct got before, after;
    stats(fx, &before);

    /* a body running past the datagram: TOO_LARGE with its id, the rest ignored */
    struct elig_pbuf b = { 0 };
    frame(&b, ELIG_OP_PING, 11, "0123456789", 10);
    elig_le32(b.data + 12, 100);
    send_payload(fx, &b);
    exchange(fx, &in, 1);
    assert_int_equal(in.f[0].h.request_id, 11);
    assert_int_equal(in.f[0].h.status, ELIG_PS_TOO_LARGE);

    /* a good frame, then 8 stray bytes: the frame answered, then HEADER with id 0 */
    inbox_reset(&in);
    b.len = 0;
    frame(&b, ELIG_OP_PING, 12, "x", 1);
    assert_int_equal(elig_pbuf_reserve(&b, 8), 0);
    memcpy(b.data + b.len, "EL\x01\x01\0\0\0\0", 8);
    b.len += 8;
    send_payload(fx, &b);
    exchange(fx, &in, 2);
    assert_int_equal(in.f[0].h.request_id, 12);
    assert_int_equal(in.f[0].h.status, ELIG_PS_OK);
    assert_int_equal(in.f[1].h.request_id, 0);
    assert_int_equal(in.f[1].h.status, ELIG_PS_HEADER);

    /* bad magic first: HEADER, and the PING after it is not read */
    inbox_reset(&in);
    b.len = 0;
    frame(&b, ELIG_OP_PING, 13, NULL, 0);
    frame(&b, ELIG_OP_PING, 14, NULL, 0);
    b.data[0] = 'X';
    send_payload(fx, &b);
    frame(&b, ELIG_OP_PING, 15, NULL, 0); /* a marker datagram: everything before it is answered */
    assert_int_equal(elig_dpeer_send(fx->peer, 0, b.data + 32, 16), 0);
    exchange(fx, &in, 2);
    assert_int_equal(in.n, 2);
    assert_int_equal(in.f[0].h.status, ELIG_PS_HEADER);
    assert_int_equal(in.f[1].h.request_id, 15);

    /* a bad facility code */
    inbox_reset(&in);
    b.len = 0;
    struct elig_pbuf body = { 0 };
    struct elig_proto_number q = number("01130012", "1234", "56", "00", 19800510, 20250301);
    q.facility = "9910000001"; /* prefecture 99 */
    assert_int_equal(elig_proto_number_encode(&body, &q, false), 0);
    frame(&b, ELIG_OP_LOOKUP_NUMBER, 16, body.data, body.len);
    send_payload(fx, &b);
    exchange(fx, &in, 1);
    assert_int_equal(in.f[0].h.request_id, 16);
    assert_int_equal(in.f[0].h.status, ELIG_PS_FACILITY);

    /* a BATCH whose answer cannot fit one datagram: TOO_LARGE, header only */
    inbox_reset(&in);
    b.len = 0;
    body.len = 0;
    assert_int_equal(elig_proto_batch_head_encode(&body, FACILITY, 12), 0);
    for (int i = 0; i < 12; i++) {
        struct elig_proto_number e = number("01130012", "1234", "56", "00", 19800510, 20250301);
        assert_int_equal(elig_proto_number_encode(&body, &e, true), 0);
    }
    frame(&b, ELIG_OP_BATCH, 17, body.data, body.len);
    send_payload(fx, &b);
    exchange(fx, &in, 1);
    assert_int_equal(in.f[0].h.request_id, 17);
    assert_int_equal(in.f[0].h.status, ELIG_PS_TOO_LARGE);
    assert_int_equal(in.f[0].h.body_len, 0);

    stats(fx, &after);
    assert_int_equal(stat_of(&after, "frames_truncated") - stat_of(&before, "frames_truncated"), 1);
    assert_int_equal(stat_of(&after, "answers_too_large") - stat_of(&before, "answers_too_large"),
                     1);
    /* TOO_LARGE (truncated), 2 x HEADER, FACILITY */
    assert_int_equal(stat_of(&after, "frames_bad") - stat_of(&before, "frames_bad"), 4);
    elig_pbuf_free(&body);
    elig_pbuf_free(&b);
    free(in.f);
}

/* The UDP datapath serves a trusted segment: no handshake there; its checks are audited too. */
static void test_trusted_and_audited(void **state)
{
    struct fixture *fx = *state;
    struct inbox in = { .f = calloc(MAX_GOT, sizeof(struct got)) };
    struct elig_pbuf b = { 0 };
    frame(&b, ELIG_OP_HELLO, 41, FACILITY, 10); /* not served on UDP */
    expect_frame(&b, 0, 42);
    send_payload(fx, &b);
    exchange(fx, &in, 2);
    assert_int_equal(in.f[0].h.request_id, 41);
    assert_int_equal(in.f[0].h.status, ELIG_PS_OPCODE);
    assert_int_equal(in.f[1].h.status, ELIG_PS_OK);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    size_t off = 0;
    assert_int_equal(elig_proto_answer_decode(in.f[1].body, in.f[1].h.body_len, &off, a), 0);

    /* the facility reads that answer again over TCP (the lcore writes its audit every second) */
    struct elig_client *c = connect_fac(&fx->s);
    uint8_t ref[8];
    elig_le64(ref, a->reference);
    struct elig_proto_header h = { 0 };
    const uint8_t *body = NULL;
    uint64_t deadline = now_ms() + WAIT_MS;
    do
        assert_int_equal(elig_client_call(c, ELIG_OP_POSTHOC, ref, 8, &h, &body), 0);
    while (h.status == ELIG_PS_NOT_FOUND && now_ms() < deadline);
    assert_int_equal(h.status, ELIG_PS_OK);
    struct elig_proto_answer *back = malloc(sizeof(*back));
    off = 9;
    assert_int_equal(elig_proto_answer_decode(body, h.body_len, &off, back), 0);
    assert_int_equal(back->reference, a->reference);
    assert_int_equal(back->validity, a->validity);
    elig_client_close(c);
    free(back);
    free(a);
    elig_pbuf_free(&b);
    free(in.f);
}

/*
 * A grow while the lcore serves: the index is rebuilt larger and swapped in
 * through the admin socket; an update made after it is seen over UDP (so the
 * lcore reads the grown index, not the old one frozen at the grow), and
 * checks are answered as before.
 */
static void test_grow_while_serving(void **state)
{
    struct fixture *fx = *state;
    struct got g;
    stats(fx, &g);
    uint64_t before = stat_of(&g, "index_applied_lsn");
    struct elig_client *adm = connect_to(fx->s.sock);
    uint8_t req[ELIG_PROTO_GROW_BODY] = { 0 }; /* twice the capacity */
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_call(adm, ELIG_OP_ADMIN_GROW, req, sizeof req, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_OK);
    assert_int_equal(h.body_len, ELIG_PROTO_GROWN_BODY);
    struct elig_proto_grown grown;
    elig_proto_grown_decode(body, &grown);
    assert_int_equal(grown.capacity_after, 2 * grown.capacity_before);
    struct elig_event ev[1];
    int32_t st[1];
    assert_int_equal(make_acquires(ev, 90000, 1), 0);
    assert_int_equal(admin_append(adm, ev, 1, st), ELIG_PS_OK);
    assert_int_equal(st[0], 0);
    uint64_t after = server_stat(adm, ELIG_OP_ADMIN_STATS, "index_applied_lsn");
    assert_true(after > before);
    elig_client_close(adm);
    stats(fx, &g);
    assert_int_equal(stat_of(&g, "index_applied_lsn"), after);
    test_validity_codes(state);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arp),
        cmocka_unit_test(test_validity_codes),
        cmocka_unit_test(test_several_frames),
        cmocka_unit_test(test_bad_packets),
        cmocka_unit_test(test_bad_frames),
        cmocka_unit_test(test_trusted_and_audited),
        cmocka_unit_test(test_grow_while_serving),
    };
    if (getenv("ELIGD") == NULL) {
        puts("eligd-dpdk: $ELIGD not set, skipped");
        return 77;
    }
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}

#endif
