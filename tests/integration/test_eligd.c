/* SPDX-License-Identifier: MIT */
/*
 * test_eligd: eligd as a real process on loopback.
 *
 * Each test starts eligd (the binary named by $ELIGD) on port 0 with a
 * fresh store, loads docs/examples/sample.feed through the admin socket,
 * and talks to it with the client library and with raw bytes. Start-up is
 * synchronised on eligd's "ready" line (read from a pipe with a bounded
 * poll), its exit on a pidfd; no test sleeps. At the end eligd gets
 * SIGTERM and must exit 0 (under ASan, a leak makes that fail), and its
 * message log must not contain any name, birth date or card id of the feed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "elig_client.h"
#include "elig_codec.h"
#include "elig_net_error.h"
#include "elig_disaster.h"
#include "elig_fac.h"
#include "elig_jis.h"
#include "elig_feed.h"
#include "elig_le.h"
#include "elig_proto.h"
#include "test_support.h"
#include "eligd_harness.h"

#define D SAMPLE_DATE

/* Every validity code and card refusal, one frame at a time. */
static void test_validity_codes(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *c = connect_fac(&s);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    for (size_t i = 0; i < NEXPECT; i++) {
        uint32_t id;
        queue_expect(c, i, &id);
        assert_int_equal(elig_client_flush(c), 0);
        recv_answer(c, id, a);
        assert_expected(i, a);
    }
    /* what a valid answer carries */
    uint8_t st;
    struct elig_proto_number q = number("01130012", "1234", "56", "00", 19800510, D);
    q.flags = ELIG_PROTO_CONSENT;
    assert_int_equal(elig_client_lookup_number(c, &q, a, &st), 0);
    assert_int_equal(a->rec[0].limit_category, 2); /* A02 after the 2025-01-01 change */
    assert_string_equal(a->rec[0].family_kanji, "山田");
    assert_string_equal(a->insurer_name[0], "全国健康保険協会東京支部");
    q.flags = 0;
    assert_int_equal(elig_client_lookup_number(c, &q, a, &st), 0);
    assert_int_equal(a->rec[0].limit_category, 0); /* withheld without consent */
    /* co-payment from its change date */
    q.date = 20250801;
    assert_int_equal(elig_client_lookup_number(c, &q, a, &st), 0);
    assert_int_equal(a->rec[0].copay_pct, 20);
    /* full-width input is normalised like the feed's */
    q = number("０１１３００１２", "１２３４", "５６", "", 19800510, D);
    assert_int_equal(elig_client_lookup_number(c, &q, a, &st), 0);
    assert_int_equal(a->validity, ELIG_VALID);
    /* bad key, bad dates, bad card: answered, not dropped */
    q = number("01130013", "1234", "56", "00", 19800510, D);
    assert_int_equal(elig_client_lookup_number(c, &q, a, &st), 0);
    assert_int_equal(a->status, ELIG_AS_BAD_KEY);
    q = number("01130012", "1234", "56", "00", 19800231, D);
    assert_int_equal(elig_client_lookup_number(c, &q, a, &st), 0);
    assert_int_equal(a->status, ELIG_AS_BAD_DATE);
    struct elig_proto_card k = { .facility = FACILITY, .date = D, .card_id = 0 };
    assert_int_equal(elig_client_lookup_card(c, &k, a, &st), 0);
    assert_int_equal(a->status, ELIG_AS_BAD_CARD);
    k.card_id = 0xA1001;
    k.facility = "1320000001"; /* fee-table code 2 */
    assert_int_equal(elig_client_lookup_card(c, &k, a, &st), -ELIG_EREFUSED);
    assert_int_equal(st, ELIG_PS_FACILITY);
    free(a);
    elig_client_close(c);
    server_finish(&s);
}

/* Hundreds of frames in one write; answers in order, each the right one. */
static void test_pipelined(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *c = connect_fac(&s);
    enum { N = 600 };
    uint32_t ids[N];
    for (size_t i = 0; i < N; i++) {
        if (i % 7 == 6) {
            struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_PING, &ids[i]);
            elig_pbuf_reserve(b, 8);
            memcpy(b->data + b->len, &i, sizeof(uint32_t));
            b->len += 4;
            elig_client_end(c);
        } else {
            queue_expect(c, i % NEXPECT, &ids[i]);
        }
    }
    assert_int_equal(elig_client_flush(c), 0);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    uint64_t last_ref = 0;
    for (size_t i = 0; i < N; i++) {
        if (i % 7 == 6) {
            struct elig_proto_header h;
            const uint8_t *body;
            assert_int_equal(elig_client_recv(c, &h, &body), 0);
            assert_int_equal(h.request_id, ids[i]);
            assert_int_equal(h.opcode, ELIG_OP_PING);
            assert_int_equal(h.body_len, 4);
            assert_int_equal(elig_rd32(body), (uint32_t)i);
            continue;
        }
        recv_answer(c, ids[i], a);
        assert_expected(i % NEXPECT, a);
        assert_true(a->reference != last_ref);
        last_ref = a->reference;
    }
    free(a);
    elig_client_close(c);
    server_finish(&s);
}

/* A BATCH of 1000 answers each entry in order; 1001 is a malformed body. */
static void test_batch(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *c = connect_fac(&s);
    size_t numbers[NEXPECT], nn = 0;
    for (size_t i = 0; i < NEXPECT; i++)
        if (!expects[i].card)
            numbers[nn++] = i;
    for (unsigned count = 1; count <= 1001; count += 1000) {
        for (unsigned rep = 0; rep < (count == 1 ? 1 : 2); rep++) {
            unsigned n = count == 1 ? 1000 : 1001;
            uint32_t id;
            struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_BATCH, &id);
            assert_int_equal(elig_proto_batch_head_encode(b, FACILITY, (uint16_t)n), 0);
            for (unsigned i = 0; i < n; i++) {
                const struct expect *e = &expects[numbers[i % nn]];
                struct elig_proto_number q = number(e->q.insurer, e->q.symbol, e->q.number,
                                                    e->q.branch, e->q.birth, e->date);
                if (i % 10 == 9)
                    q.insurer = "0113001X"; /* one bad entry in ten: answered alone */
                assert_int_equal(elig_proto_number_encode(b, &q, true), 0);
            }
            elig_client_end(c);
            assert_int_equal(elig_client_flush(c), 0);
            struct elig_proto_header h;
            const uint8_t *body;
            assert_int_equal(elig_client_recv(c, &h, &body), 0);
            assert_int_equal(h.request_id, id);
            if (n == 1001) {
                assert_int_equal(h.status, ELIG_PS_BODY);
                continue;
            }
            assert_int_equal(h.status, ELIG_PS_OK);
            size_t off = 0;
            uint16_t got;
            assert_int_equal(elig_proto_batch_answer_count(body, h.body_len, &off, &got), 0);
            assert_int_equal(got, n);
            struct elig_proto_answer *a = malloc(sizeof(*a));
            for (unsigned i = 0; i < n; i++) {
                assert_int_equal(elig_proto_answer_decode(body, h.body_len, &off, a), 0);
                if (i % 10 == 9)
                    assert_int_equal(a->status, ELIG_AS_BAD_KEY);
                else
                    assert_expected(numbers[i % nn], a);
            }
            assert_int_equal(off, h.body_len);
            free(a);
        }
    }
    /* the connection goes on after the refused batch */
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_call(c, ELIG_OP_PING, "ok", 2, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_OK);
    elig_client_close(c);
    server_finish(&s);
}

/* ---- malformed frames: a table, each row with its answer and fate ----------- */

struct bad_frame {
    const char *name;
    uint8_t head[16];
    size_t body_len; /* zero bytes of body follow */
    uint8_t status;  /* the answer's status */
    bool closes;     /* the connection is closed after it */
};

#define H(op, b4, b5, b6, len0, len1, len2, len3)                                                  \
    {                                                                                              \
        'E', 'L', 1, op, b4, b5, b6, 0, 9, 0, 0, 0, len0, len1, len2, len3                         \
    }

static const struct bad_frame bad_frames[] = {
    { "unknown opcode", H(0x77, 0, 0, 0, 0, 0, 0, 0), 0, ELIG_PS_OPCODE, false },
    { "admin opcode on the facility port", H(ELIG_OP_ADMIN_SNAPSHOT, 0, 0, 0, 0, 0, 0, 0), 0,
      ELIG_PS_OPCODE, false },
    { "version 2",
      { 'E', 'L', 2, 1, 0, 0, 0, 0, 9, 0, 0, 0, 3, 0, 0, 0 },
      3,
      ELIG_PS_VERSION,
      false },
    { "number lookup, empty body", H(ELIG_OP_LOOKUP_NUMBER, 0, 0, 0, 0, 0, 0, 0), 0, ELIG_PS_BODY,
      false },
    { "card lookup, body of zeros", H(ELIG_OP_LOOKUP_CARD, 0, 0, 0, 24, 0, 0, 0), 24,
      ELIG_PS_FACILITY, false },
    { "card lookup, short body", H(ELIG_OP_LOOKUP_CARD, 0, 0, 0, 23, 0, 0, 0), 23, ELIG_PS_BODY,
      false },
    { "batch, count 0", H(ELIG_OP_BATCH, 0, 0, 0, 12, 0, 0, 0), 12, ELIG_PS_BODY, false },
    { "ping over 1 KiB", H(ELIG_OP_PING, 0, 0, 0, 0x01, 0x04, 0, 0), 1025, ELIG_PS_BODY, false },
    { "stats with a body", H(ELIG_OP_STATS, 0, 0, 0, 1, 0, 0, 0), 1, ELIG_PS_BODY,
      false }, /* "empty request body" */
    { "bad magic",
      { 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P', '/', '1', '.', '1', '\r', '\n' },
      0,
      ELIG_PS_HEADER,
      true },
    { "answer flag in a request", H(ELIG_OP_PING, 1, 0, 0, 0, 0, 0, 0), 0, ELIG_PS_HEADER, true },
    { "status in a request", H(ELIG_OP_PING, 0, 3, 0, 0, 0, 0, 0), 0, ELIG_PS_HEADER, true },
    { "reserved byte set", H(ELIG_OP_PING, 0, 0, 1, 0, 0, 0, 0), 0, ELIG_PS_HEADER, true },
    { "body over the limit", H(ELIG_OP_BATCH, 0, 0, 0, 0x01, 0x00, 0x04, 0x00), 0,
      ELIG_PS_TOO_LARGE, true },
    { "length 4 GiB", H(ELIG_OP_PING, 0, 0, 0, 0xff, 0xff, 0xff, 0xff), 0, ELIG_PS_TOO_LARGE,
      true },
};

static void test_malformed_frames(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    uint8_t zeros[2048] = { 0 };
    for (size_t i = 0; i < sizeof bad_frames / sizeof bad_frames[0]; i++) {
        const struct bad_frame *f = &bad_frames[i];
        struct elig_client *c = connect_fac(&s);
        assert_int_equal(elig_client_raw(c, f->head, 16), 0);
        assert_int_equal(elig_client_raw(c, zeros, f->body_len), 0);
        uint32_t ping_id;
        struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_PING, &ping_id);
        (void)b;
        elig_client_end(c);
        elig_client_flush(c); /* may fail with EPIPE on a closing connection */
        struct elig_proto_header h;
        const uint8_t *body;
        int rc = elig_client_recv(c, &h, &body);
        if (rc != 0 || h.status != f->status)
            fail_msg("%s: recv %d, status %u (%s), want %s", f->name, rc, h.status,
                     elig_pstatus_name(h.status), elig_pstatus_name(f->status));
        if (f->status == ELIG_PS_HEADER)
            assert_int_equal(h.request_id, 0);
        else
            assert_int_equal(h.request_id, 9);
        rc = elig_client_recv(c, &h, &body);
        if (f->closes) {
            if (rc != -ECONNRESET)
                fail_msg("%s: connection not closed (recv %d)", f->name, rc);
        } else if (rc != 0 || h.request_id != ping_id || h.status != ELIG_PS_OK) {
            fail_msg("%s: connection did not go on (recv %d, status %u)", f->name, rc, h.status);
        }
        elig_client_close(c);
    }
    /* the server is still whole */
    struct elig_client *c = connect_fac(&s);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    uint32_t id;
    queue_expect(c, 0, &id);
    assert_int_equal(elig_client_flush(c), 0);
    recv_answer(c, id, a);
    assert_expected(0, a);
    free(a);
    elig_client_close(c);
    server_finish(&s);
}

/* Half a frame, then silence: a timeout answer and the connection closes. */
static void test_stalled_frame(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--frame-timeout-ms", "200", NULL };
    server_start(&s, extra);
    struct elig_client *c = connect_fac(&s);
    static const uint8_t number_half[10] = { 'E', 'L', 1, ELIG_OP_LOOKUP_NUMBER, 0, 0, 0, 0, 1, 0 };
    assert_int_equal(elig_client_raw(c, number_half, sizeof number_half), 0);
    assert_int_equal(elig_client_flush(c), 0);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_TIMEOUT);
    assert_int_equal(elig_client_recv(c, &h, &body), -ECONNRESET);
    elig_client_close(c);
    /* a whole frame sent slowly in two parts is still answered */
    c = connect_fac(&s);
    static const uint8_t ping[18] = {
        'E', 'L', 1, 1, 0, 0, 0, 0, 5, 0, 0, 0, 2, 0, 0, 0, 'o', 'k'
    };
    assert_int_equal(elig_client_raw(c, ping, 10), 0);
    assert_int_equal(elig_client_flush(c), 0);
    assert_int_equal(elig_client_raw(c, ping + 10, 8), 0);
    assert_int_equal(elig_client_flush(c), 0);
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_OK);
    assert_int_equal(h.request_id, 5);
    elig_client_close(c);
    server_finish(&s);
}

/* The connection cap answers "busy" and closes; the others are untouched. */
static void test_connection_cap(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--max-conns", "3", NULL };
    server_start(&s, extra);
    struct elig_client *c[3];
    struct elig_proto_header h;
    const uint8_t *body;
    for (int i = 0; i < 3; i++) {
        c[i] = connect_fac(&s);
        assert_int_equal(elig_client_call(c[i], ELIG_OP_PING, "x", 1, &h, &body), 0);
    }
    struct elig_client *extra_c = connect_to(s.addr); /* the kernel accepts; eligd refuses */
    assert_int_equal(elig_client_recv(extra_c, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_BUSY);
    assert_int_equal(elig_client_recv(extra_c, &h, &body), -ECONNRESET);
    elig_client_close(extra_c);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(elig_client_call(c[i], ELIG_OP_PING, "y", 1, &h, &body), 0);
        assert_int_equal(h.status, ELIG_PS_OK);
    }
    /* a slot freed is a slot usable again; the close is seen by eligd asynchronously */
    elig_client_close(c[0]);
    int rc = -1;
    for (int attempt = 0; attempt < 2000 && rc != 0; attempt++) {
        struct elig_client *again = connect_to(s.addr);
        rc = elig_client_call(again, ELIG_OP_PING, "z", 1, &h, &body);
        if (rc == 0 && h.status != ELIG_PS_OK)
            rc = -1;
        elig_client_close(again);
    }
    assert_int_equal(rc, 0);
    elig_client_close(c[1]);
    elig_client_close(c[2]);
    server_finish(&s);
}

/* Addresses through the resolver: an IPv6 listener, a host name, a bad address refused. */
static void test_addresses(void **state)
{
    (void)state;
    struct server s;
    const char *const v6[] = { "--listen", "[::1]:0", NULL };
    start_loaded(&s, v6);
    unsigned port;
    assert_int_equal(sscanf(s.ready, "eligd: ready port=%u", &port), 1);
    char addr[64];
    snprintf(addr, sizeof addr, "[::1]:%u", port);
    struct elig_client *c = connect_to(addr);
    uint8_t st = 0;
    assert_int_equal(elig_client_hello(c, FACILITY, s.key, &st), 0);
    struct elig_proto_answer a;
    uint32_t id;
    queue_expect(c, 0, &id);
    assert_int_equal(elig_client_flush(c), 0);
    recv_answer(c, id, &a);
    assert_expected(0, &a); /* the same answer as over IPv4 */
    elig_client_close(c);
    struct elig_client *bad = NULL;
    assert_int_equal(elig_client_connect("[::1:7700", TIMEOUT_MS, &bad), -ELIG_EADDRESS);
    assert_int_equal(elig_client_connect("::1:7700", TIMEOUT_MS, &bad), -ELIG_EADDRESS);
    assert_int_equal(elig_client_connect("no-such-host.invalid:7700", TIMEOUT_MS, &bad),
                     -ELIG_EADDRESS);
    server_finish(&s);

    /* a host name: each of its addresses is tried (localhost may name ::1 first) */
    server_start(&s, NULL);
    assert_int_equal(sscanf(s.ready, "eligd: ready port=%u", &port), 1);
    snprintf(addr, sizeof addr, "localhost:%u", port);
    c = connect_to(addr);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_call(c, ELIG_OP_PING, "n", 1, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_OK);
    elig_client_close(c);
    server_finish(&s);
}

/* A connection that floods without reading does not starve another one. */
static void test_flood_fairness(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--workers", "1", NULL };
    start_loaded(&s, extra);
    struct elig_client *flood = NULL;
    assert_int_equal(elig_client_connect(s.addr, 1000, &flood), 0);
    uint8_t hs = 0;
    assert_int_equal(elig_client_hello(flood, FACILITY, s.key, &hs), 0);
    struct elig_client *polite = connect_fac(&s);
    enum { N = 400000 }; /* about 22 MB of requests, more than eligd and the kernel buffer */
    for (size_t i = 0; i < N; i++)
        queue_expect(flood, i % NEXPECT, NULL);
    /* never reading its answers, the flooder must be held back: eligd stops reading it */
    assert_int_equal(elig_client_flush(flood), -ETIMEDOUT);
    struct elig_proto_header h;
    const uint8_t *body;
    for (int i = 0; i < 20; i++) {
        assert_int_equal(elig_client_call(polite, ELIG_OP_PING, "p", 1, &h, &body), 0);
        assert_int_equal(h.status, ELIG_PS_OK);
    }
    elig_client_close(polite);
    elig_client_close(flood);
    server_finish(&s);
}

/* ---- facilities: HELLO/AUTH, revocation, allowances ------------------------ */

static uint64_t stat_value(struct elig_client *c, const char *name)
{
    return server_stat(c, ELIG_OP_STATS, name);
}

/* Send one frame and read its answer on c. */
static void call(struct elig_client *c, uint8_t op, const void *body, size_t len,
                 struct elig_proto_header *h, const uint8_t **ans)
{
    assert_int_equal(elig_client_call(c, op, body, len, h, ans), 0);
}

/* Queue a BATCH of count copies of one number check (count may be over the limit); its id. */
static uint32_t queue_batch(struct elig_client *c, unsigned count)
{
    uint32_t id;
    struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_BATCH, &id);
    assert_int_equal(elig_proto_batch_head_encode(b, FACILITY, (uint16_t)count), 0);
    for (unsigned i = 0; i < count; i++) {
        struct elig_proto_number q = number("01130012", "1234", "56", "00", 19800510, D);
        assert_int_equal(elig_proto_number_encode(b, &q, true), 0);
    }
    elig_client_end(c);
    return id;
}

/* HELLO as code on c; the challenge into ch. */
static void hello_on(struct elig_client *c, const char *code, uint8_t ch[ELIG_FKEY_CHALLENGE_LEN])
{
    struct elig_proto_header h;
    const uint8_t *body;
    call(c, ELIG_OP_HELLO, code, 10, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    assert_int_equal(h.body_len, ELIG_FKEY_CHALLENGE_LEN);
    memcpy(ch, body, ELIG_FKEY_CHALLENGE_LEN);
}

/* The connection has been closed by eligd (end of stream within the bound). */
static void assert_closed(struct elig_client *c)
{
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_recv(c, &h, &body), -ECONNRESET);
}

/* No check before AUTH; a wrong key, a replayed proof, an unknown facility all fail. */
static void test_auth(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_proto_header h;
    const uint8_t *body;
    struct elig_proto_answer *a = malloc(sizeof(*a));

    /* PING is answered before authentication; a check is refused and the connection closed */
    struct elig_client *c = connect_to(s.addr);
    call(c, ELIG_OP_PING, "hi", 2, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    uint32_t id;
    queue_expect(c, 0, &id);
    assert_int_equal(elig_client_flush(c), 0);
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_UNAUTHENTICATED);
    assert_closed(c);
    elig_client_close(c);

    /* the right key: checks answered, as that facility only */
    c = connect_fac(&s);
    queue_expect(c, 0, &id);
    assert_int_equal(elig_client_flush(c), 0);
    recv_answer(c, id, a);
    assert_expected(0, a);
    struct elig_proto_number q = number("01130012", "1234", "56", "00", 19800510, D);
    q.facility = PHARMACY; /* a facility asks only as itself */
    uint8_t status = 0;
    assert_int_equal(elig_client_lookup_number(c, &q, a, &status), -ELIG_EREFUSED);
    assert_int_equal(status, ELIG_PS_FACILITY);
    call(c, ELIG_OP_HELLO, FACILITY, 10, &h, &body); /* once authenticated, no second HELLO */
    assert_int_equal(h.status, ELIG_PS_BODY);
    queue_expect(c, 0, &id); /* and the connection goes on */
    assert_int_equal(elig_client_flush(c), 0);
    recv_answer(c, id, a);
    elig_client_close(c);

    /* a wrong key */
    uint8_t wrong[32];
    memcpy(wrong, s.key, 32);
    wrong[5] ^= 0x40;
    c = connect_to(s.addr);
    assert_int_equal(elig_client_hello(c, FACILITY, wrong, &status), -ELIG_EREFUSED);
    assert_int_equal(status, ELIG_PS_UNAUTHENTICATED);
    assert_closed(c);
    elig_client_close(c);

    /* a proof replayed on another connection's challenge */
    uint8_t ch1[32], ch2[32], proof[32];
    struct elig_client *first = connect_to(s.addr);
    hello_on(first, FACILITY, ch1);
    elig_fkey_proof(s.key, FACILITY, ch1, proof);
    call(first, ELIG_OP_AUTH, proof, 32, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    struct elig_client *replay = connect_to(s.addr);
    hello_on(replay, FACILITY, ch2);
    assert_memory_not_equal(ch1, ch2, 32);
    call(replay, ELIG_OP_AUTH, proof, 32, &h, &body);
    assert_int_equal(h.status, ELIG_PS_UNAUTHENTICATED);
    assert_closed(replay);
    elig_client_close(replay);
    elig_client_close(first);

    /* AUTH without HELLO; an unregistered facility (it gets a challenge, then fails) */
    c = connect_to(s.addr);
    call(c, ELIG_OP_AUTH, proof, 32, &h, &body);
    assert_int_equal(h.status, ELIG_PS_UNAUTHENTICATED);
    assert_closed(c);
    elig_client_close(c);
    c = connect_to(s.addr);
    assert_int_equal(elig_client_hello(c, "2710000007", s.key, &status), -ELIG_EREFUSED);
    assert_int_equal(status, ELIG_PS_UNAUTHENTICATED);
    elig_client_close(c);
    c = connect_to(s.addr);
    call(c, ELIG_OP_HELLO, "9910000001", 10, &h, &body); /* not a facility code */
    assert_int_equal(h.status, ELIG_PS_FACILITY);
    elig_client_close(c);

    c = connect_fac(&s);
    assert_true(stat_value(c, "auth_ok") >= 3);
    assert_true(stat_value(c, "auth_refused") >= 5);
    elig_client_close(c);
    free(a);
    server_finish(&s);
}

/* Tell eligd to read the registry again (ADMIN_RELOAD); returns the facilities it holds. */
static uint32_t reload(const struct server *s)
{
    struct elig_client *adm = connect_to(s->sock);
    struct elig_proto_header h;
    const uint8_t *body;
    call(adm, ELIG_OP_ADMIN_RELOAD, NULL, 0, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    assert_int_equal(h.body_len, 4);
    uint32_t n = elig_rd32(body);
    elig_client_close(adm);
    return n;
}

/* Rotation: the new key works, the old one not; revocation closes open connections. */
static void test_rotate_revoke(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *open_fac = connect_fac(&s);
    struct elig_client *pharm = connect_to(s.addr);
    uint8_t status = 0;
    assert_int_equal(elig_client_hello(pharm, PHARMACY, s.pharmacy_key, &status), 0);

    struct elig_fac_registry *r;
    assert_int_equal(elig_fac_load(s.registry, &r), 0);
    uint8_t newkey[32];
    assert_int_equal(elig_fac_rotate(r, FACILITY, 1, newkey), 0);
    assert_int_equal(elig_fac_revoke(r, PHARMACY, 1), 0);
    assert_int_equal(elig_fac_save(r, s.registry), 0);
    elig_fac_free(r);
    assert_int_equal(reload(&s), 2);

    /* the revoked facility's open connection is closed; it cannot come back */
    assert_closed(pharm);
    elig_client_close(pharm);
    pharm = connect_to(s.addr);
    assert_int_equal(elig_client_hello(pharm, PHARMACY, s.pharmacy_key, &status), -ELIG_EREFUSED);
    assert_int_equal(status, ELIG_PS_UNAUTHENTICATED);
    elig_client_close(pharm);

    /* rotation leaves the open connection; new ones need the new key */
    struct elig_proto_answer *a = malloc(sizeof(*a));
    uint32_t id;
    queue_expect(open_fac, 0, &id);
    assert_int_equal(elig_client_flush(open_fac), 0);
    recv_answer(open_fac, id, a);
    struct elig_client *c = connect_to(s.addr);
    assert_int_equal(elig_client_hello(c, FACILITY, s.key, &status), -ELIG_EREFUSED);
    elig_client_close(c);
    c = connect_to(s.addr);
    assert_int_equal(elig_client_hello(c, FACILITY, newkey, &status), 0);
    assert_true(stat_value(c, "connections_closed_revoked") >= 1);
    elig_client_close(c);
    elig_client_close(open_fac);

    /* a damaged registry is refused by the reload, and the one in force stays */
    FILE *f = fopen(s.registry, "r+");
    assert_non_null(f);
    fseek(f, 30, SEEK_SET);
    fputc('#', f);
    fclose(f);
    struct elig_client *adm = connect_to(s.sock);
    struct elig_proto_header h;
    const uint8_t *body;
    call(adm, ELIG_OP_ADMIN_RELOAD, NULL, 0, &h, &body);
    assert_int_equal(h.status, ELIG_PS_UNAVAILABLE);
    assert_int_equal((int32_t)elig_rd32(body), -ELIG_EFACFILE);
    elig_client_close(adm);
    c = connect_to(s.addr);
    assert_int_equal(elig_client_hello(c, FACILITY, newkey, &status), 0);
    elig_client_close(c);
    free(a);
    server_finish(&s);
}

/* A facility's rate and its connection cap, with their own error codes. */
static void test_allowances(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = {
        "--facility-rate", "1", "--facility-burst", "1000", "--facility-conns", "2", NULL
    };
    start_loaded(&s, extra);
    struct elig_client *c = connect_fac(&s);
    /* a whole BATCH of 1000 spends the burst; the check behind it in the same write is refused */
    uint32_t batch_id = queue_batch(c, 1000), single_id;
    queue_expect(c, 0, &single_id);
    assert_int_equal(elig_client_flush(c), 0);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    assert_int_equal(h.request_id, batch_id);
    assert_int_equal(h.status, ELIG_PS_OK);
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    assert_int_equal(h.request_id, single_id);
    assert_int_equal(h.status, ELIG_PS_RATE_LIMITED);
    /* the connection goes on (PING is not a check), and another facility is not held back */
    call(c, ELIG_OP_PING, "p", 1, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    struct elig_client *p = connect_to(s.addr);
    uint8_t status = 0;
    assert_int_equal(elig_client_hello(p, PHARMACY, s.pharmacy_key, &status), 0);
    struct elig_proto_card card = { .facility = PHARMACY, .date = D, .card_id = 0xA1001 };
    struct elig_proto_answer *a = malloc(sizeof(*a));
    assert_int_equal(elig_client_lookup_card(p, &card, a, &status), 0);
    assert_int_equal(a->validity, ELIG_VALID);
    assert_true(stat_value(p, "frames_rate_limited") >= 1);
    elig_client_close(p);

    /* two connections of FACILITY are its cap: a third is refused at AUTH and closed */
    struct elig_client *second = connect_fac(&s);
    struct elig_client *third = connect_to(s.addr);
    assert_int_equal(elig_client_hello(third, FACILITY, s.key, &status), -ELIG_EREFUSED);
    assert_int_equal(status, ELIG_PS_FACILITY_CONNS);
    assert_closed(third);
    elig_client_close(third);
    /* once one closes (eligd sees it asynchronously), a new one gets in */
    elig_client_close(second);
    int rc = -1;
    for (int attempt = 0; attempt < 2000 && rc != 0; attempt++) {
        struct elig_client *again = connect_to(s.addr);
        rc = elig_client_hello(again, FACILITY, s.key, &status);
        elig_client_close(again);
    }
    assert_int_equal(rc, 0);
    elig_client_close(c);
    free(a);
    server_finish(&s);
}

/* POSTHOC: a facility re-reads its own answer by reference, even after a restart; nobody else. */
static void test_posthoc(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *c = connect_fac(&s);
    struct elig_proto_answer *a = malloc(sizeof(*a)), *b = malloc(sizeof(*b));
    uint32_t id;
    queue_expect(c, 0, &id);
    assert_int_equal(elig_client_flush(c), 0);
    recv_answer(c, id, a);
    assert_expected(0, a);
    uint8_t ref[8];
    elig_le64(ref, a->reference);
    struct elig_proto_header h;
    const uint8_t *body;
    call(c, ELIG_OP_POSTHOC, ref, 8, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    assert_true(h.body_len > 9);
    int64_t t = (int64_t)elig_rd64(body);
    int64_t now = (int64_t)time(NULL);
    assert_true(t <= now && t > now - 600);
    assert_int_equal(body[8], ELIG_OP_LOOKUP_NUMBER);
    size_t off = 9;
    assert_int_equal(elig_proto_answer_decode(body, h.body_len, &off, b), 0);
    assert_int_equal(off, h.body_len);
    assert_int_equal(b->reference, a->reference);
    assert_int_equal(b->validity, a->validity);
    assert_int_equal(b->count, a->count);
    assert_string_equal(b->rec[0].family_kana, a->rec[0].family_kana);

    /* another facility's read of it, an unknown reference, a short body */
    struct elig_client *p = connect_to(s.addr);
    uint8_t status = 0;
    assert_int_equal(elig_client_hello(p, PHARMACY, s.pharmacy_key, &status), 0);
    call(p, ELIG_OP_POSTHOC, ref, 8, &h, &body);
    assert_int_equal(h.status, ELIG_PS_NOT_FOUND);
    uint8_t other[8];
    elig_le64(other, a->reference + 1000000);
    call(c, ELIG_OP_POSTHOC, other, 8, &h, &body);
    assert_int_equal(h.status, ELIG_PS_NOT_FOUND);
    call(c, ELIG_OP_POSTHOC, ref, 7, &h, &body);
    assert_int_equal(h.status, ELIG_PS_BODY);
    elig_client_close(p);
    elig_client_close(c);
    /* before authentication: refused, and closed */
    c = connect_to(s.addr);
    call(c, ELIG_OP_POSTHOC, ref, 8, &h, &body);
    assert_int_equal(h.status, ELIG_PS_UNAUTHENTICATED);
    assert_closed(c);
    elig_client_close(c);

    /* after a restart the answer is still there, as it was */
    assert_int_equal(server_stop(&s), 0);
    assert_true(assert_audit_clean(&s) >= 1);
    server_exec(&s, NULL);
    c = connect_fac(&s);
    call(c, ELIG_OP_POSTHOC, ref, 8, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    off = 9;
    assert_int_equal(elig_proto_answer_decode(body, h.body_len, &off, b), 0);
    assert_int_equal(b->reference, a->reference);
    assert_true(stat_value(c, "posthoc_reads") >= 1);
    elig_client_close(c);
    free(a);
    free(b);
    server_finish(&s);
}

/* The admin TCP port answers only a client that proves the admin key. */
static void test_admin_tcp(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--admin-listen", "127.0.0.1:0", NULL };
    server_start(&s, extra);
    unsigned aport = 0;
    const char *at = strstr(s.ready, "admin_port=");
    assert_non_null(at);
    assert_int_equal(sscanf(at, "admin_port=%u", &aport), 1);
    assert_true(aport > 0);
    char addr[64], keyfile[400], hex[80] = "";
    snprintf(addr, sizeof addr, "127.0.0.1:%u", aport);
    snprintf(keyfile, sizeof keyfile, "%s/admin.key", s.data);
    struct stat st;
    assert_int_equal(stat(keyfile, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    FILE *f = fopen(keyfile, "r");
    assert_non_null(fgets(hex, sizeof hex, f));
    fclose(f);
    hex[strcspn(hex, "\n")] = '\0';
    uint8_t key[32];
    assert_int_equal(elig_fkey_parse(hex, key), 0);

    struct elig_proto_header h;
    const uint8_t *body;
    struct elig_client *c = connect_to(addr); /* no key: refused, closed */
    call(c, ELIG_OP_ADMIN_STATS, NULL, 0, &h, &body);
    assert_int_equal(h.status, ELIG_PS_UNAUTHENTICATED);
    assert_closed(c);
    elig_client_close(c);
    uint8_t status = 0;
    c = connect_to(addr); /* a facility's name and key do not open it */
    assert_int_equal(elig_client_hello(c, FACILITY, s.key, &status), -ELIG_EREFUSED);
    assert_int_equal(status, ELIG_PS_FACILITY);
    elig_client_close(c);
    c = connect_to(addr);
    key[0] ^= 1;
    assert_int_equal(elig_client_hello(c, "0000000000", key, &status), -ELIG_EREFUSED);
    assert_int_equal(status, ELIG_PS_UNAUTHENTICATED);
    elig_client_close(c);
    key[0] ^= 1;
    c = connect_to(addr);
    assert_int_equal(elig_client_hello(c, "0000000000", key, &status), 0);
    call(c, ELIG_OP_ADMIN_STATS, NULL, 0, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    elig_client_close(c);
    /* the Unix socket needs no key: its mode is its guard */
    c = connect_to(s.sock);
    call(c, ELIG_OP_ADMIN_STATS, NULL, 0, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    elig_client_close(c);
    server_finish(&s);
}

/* Admin: appends are durable and visible at once; opcodes stay on their side. */
/* One feed line through the admin socket: it must be applied. */
static void append_line(struct elig_client *adm, const char *line)
{
    struct elig_event ev;
    struct elig_feed_error fe;
    assert_int_equal(elig_feed_parse_line(line, strlen(line), &ev, &fe), 1);
    int32_t st;
    assert_int_equal(admin_append(adm, &ev, 1, &st), ELIG_PS_OK);
    assert_int_equal(st, 0);
}

/* A name a receipt system cannot show is flagged in the answer, with its kana beside it. */
static void test_names_outside_jis(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *adm = connect_to(s.sock);
    struct elig_client *fac = connect_fac(&s);
    static const char line[] = "ACQUIRE\t2025-02-01\t01130012\t01130012\t77\t2\t\t2002\t1\t"
                               "𠮷田\t髙志\tヨシダ\tタカシ\t1\t1990-01-01\t\t\t30\t\t\t\t";
    append_line(adm, line);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    uint8_t ps;
    struct elig_proto_number q = number("01130012", "77", "2", "", 19900101, D);
    assert_int_equal(elig_client_lookup_number(fac, &q, a, &ps), 0);
    assert_int_equal(a->validity, ELIG_VALID);
    assert_true(a->flags & ELIG_FLAG_NAME_UNSHOWN);
    assert_int_equal(a->rec[0].name_flags, ELIG_NAME_FAMILY_KANJI | ELIG_NAME_GIVEN_KANJI);
    assert_string_equal(a->rec[0].family_kanji, "𠮷田");
    assert_string_equal(a->rec[0].family_kana, "ヨシダ");
    /* a name within JIS X 0208 carries no flag */
    q = number("01130012", "1234", "56", "00", 19800510, D);
    assert_int_equal(elig_client_lookup_number(fac, &q, a, &ps), 0);
    assert_int_equal(a->validity, ELIG_VALID);
    assert_false(a->flags & ELIG_FLAG_NAME_UNSHOWN);
    assert_int_equal(a->rec[0].name_flags, 0);
    free(a);
    elig_client_close(fac);
    elig_client_close(adm);
    server_finish(&s);
}

/* ---- appointment lists (LIST_SUBMIT, LIST_FETCH) ---- */

#define LIST_N 2500 /* three parts: 1000, 1000, 500 */

/* Entry i of the test list: the sample's number checks in turn, the last one a bad key. */
static struct elig_proto_number list_entry(uint32_t i)
{
    if (i == LIST_N - 1)
        return number("01130013", "1234", "56", "00", 19800510, D);
    const struct expect *e = &expects[i % 5];
    return number(e->q.insurer, e->q.symbol, e->q.number, e->q.branch, e->q.birth, e->date);
}

static int check_list_answer(void *ctx, uint32_t index, const struct elig_proto_answer *a)
{
    uint32_t *seen = ctx;
    assert_int_equal(index, *seen);
    if (index == LIST_N - 1)
        assert_int_equal(a->status, ELIG_AS_BAD_KEY);
    else
        assert_expected(index % 5, a);
    (*seen)++;
    return 0;
}

/* Fetch every answer of a list, waiting (bounded) until it is done. */
static void fetch_list(struct elig_client *c, uint64_t reception)
{
    struct elig_proto_list_state st;
    uint16_t n;
    uint8_t ps;
    for (int i = 0;; i++) {
        assert_true(i < TIMEOUT_MS / 10);
        assert_int_equal(
            elig_client_list_fetch(c, FACILITY, reception, 0, 1, &st, NULL, NULL, &n, &ps), 0);
        if (st.state == ELIG_LIST_DONE)
            break;
        assert_true(st.state == ELIG_LIST_QUEUED || st.state == ELIG_LIST_RUNNING);
        assert_int_equal(n, 0);
        nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
    }
    assert_int_equal(st.entries, LIST_N);
    assert_int_equal(st.done, LIST_N);
    uint32_t seen = 0;
    for (int pages = 0; seen < LIST_N; pages++) {
        assert_true(pages < 100);
        uint32_t first = seen;
        assert_int_equal(elig_client_list_fetch(c, FACILITY, reception, first, 1000, &st,
                                                check_list_answer, &seen, &n, &ps),
                         0);
        assert_true(n > 0);
        assert_int_equal(seen, first + n);
    }
    /* past the end: the state, no answers */
    assert_int_equal(
        elig_client_list_fetch(c, FACILITY, reception, LIST_N, 10, &st, NULL, NULL, &n, &ps), 0);
    assert_int_equal(n, 0);
}

/* One LIST_SUBMIT part of k copies of entry 0, as raw frame: its status and code. */
static uint8_t list_part(struct elig_client *c, uint64_t reception, uint8_t flags, uint16_t k,
                         struct elig_proto_list_state *st, int32_t *code)
{
    struct elig_pbuf b = { 0 };
    assert_int_equal(elig_proto_list_part_head_encode(&b, FACILITY, flags, reception, k), 0);
    struct elig_proto_number q = list_entry(0);
    for (uint16_t i = 0; i < k; i++)
        assert_int_equal(elig_proto_number_encode(&b, &q, true), 0);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_call(c, ELIG_OP_LIST_SUBMIT, b.data, b.len, &h, &body), 0);
    elig_pbuf_free(&b);
    *code = h.body_len == 4 ? (int32_t)elig_rd32(body) : 0;
    if (h.status == ELIG_PS_OK) {
        assert_int_equal(h.body_len, ELIG_PROTO_LIST_STATE_BODY);
        assert_int_equal(elig_proto_list_state_decode(body, st), 0);
    }
    return h.status;
}

/* An appointment list handed in, checked in the background, fetched; kept across a restart;
 * every refusal. */
static void test_lists(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *c = connect_fac(&s);
    struct elig_proto_number *qs = calloc(LIST_N, sizeof *qs);
    assert_non_null(qs);
    for (uint32_t i = 0; i < LIST_N; i++)
        qs[i] = list_entry(i);
    struct elig_proto_list_state st;
    uint8_t ps;
    int code;
    assert_int_equal(elig_client_list_submit(c, FACILITY, qs, LIST_N, &st, &ps, &code), 0);
    assert_int_not_equal(st.reception, 0);
    assert_int_equal(st.entries, LIST_N);
    assert_true(st.state == ELIG_LIST_QUEUED || st.state == ELIG_LIST_RUNNING ||
                st.state == ELIG_LIST_DONE);
    uint64_t reception = st.reception;
    fetch_list(c, reception);

    /* refusals: an unknown reception number, another facility's, a part to a closed list */
    uint16_t n;
    assert_int_equal(
        elig_client_list_fetch(c, FACILITY, reception ^ 1, 0, 10, &st, NULL, NULL, &n, &ps),
        -ELIG_EREFUSED);
    assert_int_equal(ps, ELIG_PS_NOT_FOUND);
    struct elig_client *ph = connect_to(s.addr);
    assert_int_equal(elig_client_hello(ph, PHARMACY, s.pharmacy_key, &ps), 0);
    assert_int_equal(
        elig_client_list_fetch(ph, PHARMACY, reception, 0, 10, &st, NULL, NULL, &n, &ps),
        -ELIG_EREFUSED);
    assert_int_equal(ps, ELIG_PS_NOT_FOUND);
    elig_client_close(ph);
    assert_int_equal(
        elig_client_list_fetch(c, PHARMACY, reception, 0, 10, &st, NULL, NULL, &n, &ps),
        -ELIG_EREFUSED);
    assert_int_equal(ps, ELIG_PS_FACILITY); /* not the connection's facility */
    int32_t c32;
    assert_int_equal(list_part(c, reception, 0, 1, &st, &c32), ELIG_PS_NOT_FOUND);
    /* over the limit: ten open parts of 1,000, then one more entry */
    assert_int_equal(list_part(c, 0, 0, 1000, &st, &c32), ELIG_PS_OK);
    uint64_t open = st.reception;
    for (int i = 1; i < 10; i++)
        assert_int_equal(list_part(c, open, 0, 1000, &st, &c32), ELIG_PS_OK);
    assert_int_equal(st.entries, ELIG_PROTO_LIST_MAX);
    assert_int_equal(st.state, ELIG_LIST_OPEN);
    assert_int_equal(list_part(c, open, ELIG_PROTO_LIST_PART_LAST, 1, &st, &c32), ELIG_PS_BODY);
    assert_int_equal(c32, -E2BIG);
    /* ... and a list of more than 10,000 is not even sent */
    assert_int_equal(
        elig_client_list_submit(c, FACILITY, qs, ELIG_PROTO_LIST_MAX + 1, &st, &ps, &code),
        -EINVAL);
    /* a part naming another facility than the connection's */
    struct elig_pbuf b = { 0 };
    assert_int_equal(
        elig_proto_list_part_head_encode(&b, PHARMACY, ELIG_PROTO_LIST_PART_LAST, 0, 1), 0);
    assert_int_equal(elig_proto_number_encode(&b, &qs[0], true), 0);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_call(c, ELIG_OP_LIST_SUBMIT, b.data, b.len, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_FACILITY);
    /* a malformed part: count 0 */
    b.len = 0;
    assert_int_equal(elig_proto_list_part_head_encode(&b, FACILITY, 0, 0, 0), 0);
    assert_int_equal(elig_client_call(c, ELIG_OP_LIST_SUBMIT, b.data, b.len, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_BODY);
    elig_pbuf_free(&b);
    elig_client_close(c);

    /* a restart: the answers are still there, word for word as the rules give them; a list
     * handed in just before the stop is checked after it */
    c = connect_fac(&s);
    assert_int_equal(elig_client_list_submit(c, FACILITY, qs, LIST_N, &st, &ps, &code), 0);
    uint64_t late = st.reception;
    elig_client_close(c);
    assert_int_equal(server_stop(&s), 0);
    server_exec(&s, NULL);
    c = connect_fac(&s);
    fetch_list(c, reception);
    fetch_list(c, late);
    assert_int_equal(elig_client_list_fetch(c, FACILITY, open, 0, 10, &st, NULL, NULL, &n, &ps), 0);
    assert_int_equal(st.state, ELIG_LIST_OPEN); /* still open, as it was left */
    free(qs);
    elig_client_close(c);
    server_finish(&s);
}

/* ---- disaster mode: LOOKUP_PERSON ---- */

static struct elig_proto_person person_query(const char *family, const char *given, uint32_t birth,
                                             uint8_t sex, uint8_t prefecture)
{
    return (struct elig_proto_person){ .facility = FACILITY,
                                       .reason = ELIG_REASON_NO_CARD,
                                       .date = D,
                                       .birth = birth,
                                       .sex = sex,
                                       .prefecture = prefecture,
                                       .family_kana = family,
                                       .family_len = (uint8_t)strlen(family),
                                       .given_kana = given,
                                       .given_len = (uint8_t)strlen(given) };
}

/* A lookup until eligd has taken the declaration in (it looks each second): bounded. */
static int person_until(struct elig_client *c, const struct elig_proto_person *q,
                        struct elig_client_persons *out, uint8_t *ps, uint8_t until_not)
{
    int rc = 0;
    for (int i = 0; i < 300; i++) {
        rc = elig_client_lookup_person(c, q, out, ps);
        if (!(rc == -ELIG_EREFUSED && *ps == until_not))
            return rc;
        nanosleep(&(struct timespec){ .tv_nsec = 10000000 }, NULL);
    }
    return rc;
}

/* In a declared disaster, a patient by kana name, birth date and sex; every refusal. */
static void test_disaster(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *adm = connect_to(s.sock);
    /* four タナカ ハナコ born 1990-01-01, three of insurers of Tokyo (13), one of Chiba (12) */
    for (int i = 0; i < 4; i++) {
        char line[512];
        const char *ins = i < 3 ? "01130012" : "33120015";
        snprintf(line, sizeof line,
                 "ACQUIRE\t2025-02-01\t%s\t%s\t66\t%d\t\t%d\t1\t田中\t花子\tタナカ\tハナコ\t2\t"
                 "1990-01-01\t\t\t30\t\t\t\t",
                 ins, ins, i + 1, 3001 + i);
        append_line(adm, line);
    }
    elig_client_close(adm);
    struct elig_client *c = connect_fac(&s);
    struct elig_client_persons *out = malloc(sizeof *out);
    uint8_t ps;
    struct elig_proto_person q = person_query("やまだ", "ﾀﾛｳ", 19800510, ELIG_SEX_MALE, 0);
    /* off: refused, nothing told */
    assert_int_equal(elig_client_lookup_person(c, &q, out, &ps), -ELIG_EREFUSED);
    assert_int_equal(ps, ELIG_PS_NO_DISASTER);
    /* declared for Chiba only: a Tokyo facility is still refused */
    char path[400];
    snprintf(path, sizeof path, "%s/disaster", s.data);
    int64_t now = (int64_t)time(NULL);
    struct elig_disaster d = { .prefectures = 1ull << 12, .from = now - 60, .until = now + 3600 };
    assert_int_equal(elig_disaster_write(path, &d), 0);
    assert_int_equal(elig_client_lookup_person(c, &q, out, &ps), -ELIG_EREFUSED);
    assert_int_equal(ps, ELIG_PS_NO_DISASTER);
    /* and for Tokyo: found, as a card check would answer it; names folded as typed */
    d.prefectures |= 1ull << 13;
    assert_int_equal(elig_disaster_write(path, &d), 0);
    assert_int_equal(person_until(c, &q, out, &ps, ELIG_PS_NO_DISASTER), 0);
    assert_int_equal(out->result, ELIG_PERSON_FOUND);
    assert_int_equal(out->count, 1);
    assert_int_equal(out->ans[0].validity, ELIG_VALID);
    assert_string_equal(out->ans[0].rec[0].family_kanji, "山田");
    uint64_t answered = out->ans[0].reference;
    /* kana that are not UTF-8: malformed */
    q = person_query("\xff\xfe", "", 19800510, ELIG_SEX_MALE, 0);
    assert_int_equal(elig_client_lookup_person(c, &q, out, &ps), -ELIG_EREFUSED);
    assert_int_equal(ps, ELIG_PS_BODY);
    /* nobody: another birth date */
    q = person_query("ヤマダ", "タロウ", 19800511, ELIG_SEX_MALE, 0);
    assert_int_equal(elig_client_lookup_person(c, &q, out, &ps), 0);
    assert_int_equal(out->result, ELIG_PERSON_NONE);
    assert_int_equal(out->count, 0);
    /* four namesakes: too many, nothing told; narrowed to Chiba: the one */
    q = person_query("タナカ", "ハナコ", 19900101, ELIG_SEX_FEMALE, 0);
    assert_int_equal(elig_client_lookup_person(c, &q, out, &ps), 0);
    assert_int_equal(out->result, ELIG_PERSON_TOO_MANY);
    assert_int_equal(out->count, 0);
    q.prefecture = 12;
    assert_int_equal(elig_client_lookup_person(c, &q, out, &ps), 0);
    assert_int_equal(out->result, ELIG_PERSON_FOUND);
    assert_int_equal(out->count, 1);
    assert_memory_equal(out->ans[0].rec[0].key.insurer, "33120015", 8);
    q.prefecture = 13;
    assert_int_equal(elig_client_lookup_person(c, &q, out, &ps), 0);
    assert_int_equal(out->count, 3);
    /* audited with its reason: POSTHOC reads the person's answer back, reason first */
    uint8_t ref[8];
    elig_le64(ref, answered);
    struct elig_proto_header h;
    const uint8_t *body;
    call(c, ELIG_OP_POSTHOC, ref, 8, &h, &body);
    assert_int_equal(h.status, ELIG_PS_OK);
    assert_int_equal(body[8], ELIG_OP_LOOKUP_PERSON);
    assert_int_equal(body[9], ELIG_REASON_NO_CARD);
    /* its own allowance: 20 at once (6 spent above), then refused while checks go on */
    q = person_query("ヤマダ", "タロウ", 19800510, ELIG_SEX_MALE, 0);
    int spent = 0;
    for (int i = 0; i < 30 && elig_client_lookup_person(c, &q, out, &ps) == 0; i++)
        spent++;
    assert_int_equal(ps, ELIG_PS_RATE_LIMITED);
    assert_int_equal(spent, 20 - 6);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    struct elig_proto_number nq = number("01130012", "1234", "56", "00", 19800510, D);
    assert_int_equal(elig_client_lookup_number(c, &nq, a, &ps), 0);
    assert_int_equal(a->validity, ELIG_VALID);
    /* over: refused again */
    d.until = now - 1;
    assert_int_equal(elig_disaster_write(path, &d), 0);
    assert_int_equal(person_until(c, &q, out, &ps, ELIG_PS_RATE_LIMITED), -ELIG_EREFUSED);
    assert_int_equal(ps, ELIG_PS_NO_DISASTER);
    free(a);
    free(out);
    elig_client_close(c);
    server_finish(&s);
}

static void test_admin(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *adm = connect_to(s.sock);
    struct elig_client *fac = connect_fac(&s);
    /* person 2001 acquires a qualification */
    struct elig_event ev;
    static const char line[] = "ACQUIRE\t2025-02-01\t01130012\t01130012\t77\t1\t\t2001\t1\t"
                               "木村\t健\tキムラ\tケン\t1\t1990-01-01\t\t\t30\t\t\t\t";
    struct elig_feed_error fe;
    int prc = elig_feed_parse_line(line, strlen(line), &ev, &fe);
    if (prc != 1)
        fail_msg("feed line: %s: %s", fe.field, elig_net_strerror(fe.code));
    struct elig_event evs[2] = { ev, ev }; /* the second is refused: key already open */
    int32_t st[2];
    assert_int_equal(admin_append(adm, evs, 2, st), ELIG_PS_OK);
    assert_int_equal(st[0], 0);
    assert_int_equal(st[1], -ELIG_EOVERLAP);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    uint8_t ps;
    struct elig_proto_number q = number("01130012", "77", "1", "", 19900101, D);
    assert_int_equal(elig_client_lookup_number(fac, &q, a, &ps), 0);
    assert_int_equal(a->validity, ELIG_VALID);
    /* an insurer renamed while serving: the next answer carries the new name */
    assert_string_equal(a->insurer_name[0], "全国健康保険協会東京支部");
    static const char rename[] = "INSURER\t2025-02-01\t01130012\t全国健康保険協会東京都支部";
    assert_int_equal(elig_feed_parse_line(rename, strlen(rename), &ev, &fe), 1);
    assert_int_equal(admin_append(adm, &ev, 1, st), ELIG_PS_OK);
    assert_int_equal(st[0], 0);
    assert_int_equal(elig_client_lookup_number(fac, &q, a, &ps), 0);
    assert_string_equal(a->insurer_name[0], "全国健康保険協会東京都支部");
    /* lookups are not served on the admin socket, admin opcodes not on the facility port */
    assert_int_equal(elig_client_lookup_number(adm, &q, a, &ps), -ELIG_EREFUSED);
    assert_int_equal(ps, ELIG_PS_OPCODE);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_call(fac, ELIG_OP_ADMIN_APPEND, "\1\0\0\0", 4, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_OPCODE);
    /* a malformed event: nothing is logged */
    assert_int_equal(elig_client_call(adm, ELIG_OP_ADMIN_APPEND, "\1\0\0\0\3\0abc", 9, &h, &body),
                     0);
    assert_int_equal(h.status, ELIG_PS_BODY);
    /* snapshot */
    assert_int_equal(elig_client_call(adm, ELIG_OP_ADMIN_SNAPSHOT, NULL, 0, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_OK);
    assert_int_equal(h.body_len, 48);
    assert_int_equal(elig_rd64(body + 8), 10); /* 9 records of the sample + 1 */
    assert_int_equal(elig_rd64(body + 40), 0); /* no stream position: not a cluster node */
    elig_client_close(adm);
    elig_client_close(fac);
    /* a new process on the same store starts warm and still has the appended record */
    assert_int_equal(server_stop(&s), 0);
    server_exec(&s, NULL);
    fac = connect_fac(&s);
    assert_int_equal(elig_client_lookup_number(fac, &q, a, &ps), 0);
    assert_int_equal(a->validity, ELIG_VALID);
    elig_client_close(fac);
    free(a);
    server_finish(&s);
}

/* SIGTERM while answers are being produced: what was received is answered whole, exit 0. */
static void test_sigterm_drain(void **state)
{
    (void)state;
    struct server s;
    start_loaded(&s, NULL);
    struct elig_client *c = connect_fac(&s);
    enum { FRAMES = 40, ENTRIES = 1000 };
    uint32_t first_id = 0, id;
    for (int f = 0; f < FRAMES; f++) {
        id = queue_batch(c, ENTRIES);
        if (f == 0)
            first_id = id;
    }
    assert_int_equal(elig_client_flush(c), 0);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_OK);
    kill(s.pid, SIGTERM);
    int answered = 1, rc;
    while ((rc = elig_client_recv(c, &h, &body)) == 0) {
        assert_int_equal(h.status, ELIG_PS_OK);
        assert_int_equal(h.request_id, first_id + (uint32_t)answered);
        assert_int_equal(elig_rd16(body), ENTRIES);
        answered++;
    }
    /* the stream ends at a frame boundary: a clean close, never a torn answer */
    assert_int_equal(rc, -ECONNRESET);
    assert_true(answered >= 1 && answered <= FRAMES);
    elig_client_close(c);
    assert_int_equal(wait_readable(s.pidfd, TIMEOUT_MS), 1);
    int status;
    assert_int_equal(waitpid(s.pid, &status, 0), s.pid);
    close(s.pidfd);
    running.pid = 0;
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_log_clean(&s);
    server_remove(&s);
}

/* SIGHUP reopens the message log after rotation. */
static void test_sighup(void **state)
{
    (void)state;
    struct server s;
    server_start(&s, NULL);
    int in = inotify_init1(IN_CLOEXEC);
    assert_true(in >= 0);
    assert_true(inotify_add_watch(in, s.dir, IN_CREATE) >= 0);
    char rotated[400];
    snprintf(rotated, sizeof rotated, "%s.1", s.log);
    assert_int_equal(rename(s.log, rotated), 0);
    kill(s.pid, SIGHUP);
    bool created = false;
    while (!created) {
        assert_int_equal(wait_readable(in, TIMEOUT_MS), 1);
        char buf[4096];
        ssize_t n = read(in, buf, sizeof buf);
        assert_true(n > 0);
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *e = (struct inotify_event *)p;
            if (e->len && strcmp(e->name, "eligd.log") == 0)
                created = true;
            p += sizeof(*e) + e->len;
        }
    }
    close(in);
    assert_int_equal(server_stop(&s), 0);
    FILE *f = fopen(s.log, "r");
    assert_non_null(f);
    char line[1024];
    bool reopened = false, stopped = false;
    while (fgets(line, sizeof line, f)) {
        reopened |= strstr(line, "message log reopened") != NULL;
        stopped |= strstr(line, "stopped") != NULL;
    }
    fclose(f);
    assert_true(reopened);
    assert_true(stopped);
    server_remove(&s);
}

/* Appends through the admin socket on one thread while checks go on. */
struct appender_arg {
    const char *sock;
    int frames;
    _Atomic int acked; /* frames acknowledged so far */
    int error;         /* non-zero: what went wrong (asserts stay on the main thread) */
};

enum { APPEND_PER = 100 };

static void *appender_main(void *arg)
{
    struct appender_arg *a = arg;
    struct elig_client *c = NULL;
    struct elig_event *evs = calloc(APPEND_PER, sizeof(*evs));
    if (evs == NULL || elig_client_connect(a->sock, TIMEOUT_MS, &c)) {
        a->error = 1;
        free(evs);
        return NULL;
    }
    for (int f = 0; f < a->frames && !a->error; f++) {
        struct elig_proto_header h;
        const uint8_t *body;
        if (make_acquires(evs, f * APPEND_PER + 1, APPEND_PER) ||
            elig_client_queue_append(c, NULL, evs, APPEND_PER) || elig_client_flush(c) ||
            elig_client_recv(c, &h, &body) || h.status != ELIG_PS_OK)
            a->error = 2;
        else
            a->acked = f + 1;
    }
    elig_client_close(c);
    free(evs);
    return NULL;
}

/* Checks go on, correct, while updates apply; an acknowledged update is seen at once. */
static void test_checks_during_appends(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--capacity", "100000", NULL };
    start_loaded(&s, extra);
    struct appender_arg arg = { .sock = s.sock, .frames = 200 };
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, appender_main, &arg), 0);
    struct elig_client *c = connect_fac(&s);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    long checks = 0;
    for (long n = 0; n < 1000000 && arg.acked < arg.frames && !arg.error; n++) {
        int acked = arg.acked;
        uint32_t id;
        queue_expect(c, (size_t)n % NEXPECT, &id); /* the sample: never touched by the appends */
        assert_int_equal(elig_client_flush(c), 0);
        recv_answer(c, id, a);
        assert_expected((size_t)n % NEXPECT, a);
        if (acked > 0) { /* the last event of an acknowledged frame answers "valid" */
            char num[16];
            snprintf(num, sizeof num, "%d", acked * APPEND_PER);
            struct elig_proto_number q = number("01130012", "88", num, "", 19900101, D);
            uint8_t ps;
            assert_int_equal(elig_client_lookup_number(c, &q, a, &ps), 0);
            assert_int_equal(a->validity, ELIG_VALID);
        }
        checks++;
    }
    assert_int_equal(pthread_join(t, NULL), 0);
    assert_int_equal(arg.error, 0);
    assert_int_equal(arg.acked, arg.frames);
    assert_true(checks > 0);
    free(a);
    elig_client_close(c);
    server_finish(&s);
}

/*
 * Crash: eligd is killed (SIGKILL) while appends are in flight on the admin
 * socket. After a restart on the same store, every event that was
 * acknowledged must be there: an acknowledgement means durable.
 */
static void test_crash_kill_during_appends(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--capacity", "100000", NULL }; /* the last one counts */
    start_loaded(&s, extra);
    enum { FRAMES = 300, PER = 100 };
    struct elig_event *evs = calloc(PER, sizeof(*evs));
    struct elig_client *adm = connect_to(s.sock);
    for (int f = 0; f < FRAMES; f++) {
        assert_int_equal(make_acquires(evs, f * PER + 1, PER), 0);
        assert_int_equal(elig_client_queue_append(adm, NULL, evs, PER), 0);
    }
    free(evs);
    assert_int_equal(elig_client_flush(adm), 0);
    /* the first acknowledgement, then the kill, while later frames are being made durable */
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_recv(adm, &h, &body), 0);
    assert_int_equal(h.status, ELIG_PS_OK);
    kill(s.pid, SIGKILL);
    int acked = 1;
    while (elig_client_recv(adm, &h, &body) == 0) {
        if (h.status != ELIG_PS_OK)
            fail_msg("frame %d: %s (%s)", acked + 1, elig_pstatus_name(h.status),
                     h.body_len == 4 ? elig_net_strerror((int32_t)elig_rd32(body)) : "");
        acked++;
    }
    elig_client_close(adm);
    assert_int_equal(wait_readable(s.pidfd, TIMEOUT_MS), 1);
    int status;
    assert_int_equal(waitpid(s.pid, &status, 0), s.pid);
    close(s.pidfd);
    running.pid = 0;
    assert_true(WIFSIGNALED(status));

    /*
     * Restart on the same store, with no flag but the same capacity (a cold
     * start replays every event): every acknowledged event answers "valid".
     * The kill may have cut a write short: that torn tail was never
     * acknowledged, and the start cuts it by itself.
     */
    const char *const again[] = { extra[0], extra[1], NULL };
    server_exec(&s, again);
    struct elig_client *c = connect_fac(&s);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    int present = 0;
    for (int f = 0; f < FRAMES * PER / 1000; f++) { /* BATCH frames of 1000 checks */
        struct elig_pbuf *b = elig_client_begin(c, ELIG_OP_BATCH, NULL);
        assert_int_equal(elig_proto_batch_head_encode(b, FACILITY, 1000), 0);
        for (int i = f * 1000 + 1; i <= f * 1000 + 1000; i++) {
            char num[16];
            snprintf(num, sizeof num, "%d", i);
            struct elig_proto_number q = number("01130012", "88", num, "", 19900101, D);
            assert_int_equal(elig_proto_number_encode(b, &q, true), 0);
        }
        elig_client_end(c);
        assert_int_equal(elig_client_flush(c), 0);
        assert_int_equal(elig_client_recv(c, &h, &body), 0);
        size_t off = 0;
        uint16_t n;
        assert_int_equal(elig_proto_batch_answer_count(body, h.body_len, &off, &n), 0);
        for (int i = f * 1000 + 1; i <= f * 1000 + 1000; i++) {
            assert_int_equal(elig_proto_answer_decode(body, h.body_len, &off, a), 0);
            if (a->validity == ELIG_VALID)
                present++;
            else if (i <= acked * PER)
                fail_msg("event %d was acknowledged (%d frames were) but is missing", i, acked);
            if (a->validity == ELIG_VALID && present != i) /* applied in order: a prefix */
                fail_msg("event %d is there but an earlier one is not", i);
        }
    }
    print_message("acknowledged %d of %d frames; %d events present after the restart\n", acked,
                  FRAMES, present);
    assert_true(present >= acked * PER);
    assert_int_equal(present % PER, 0); /* each frame whole or not at all */
    free(a);
    elig_client_close(c);
    server_finish(&s);
}

/* One BATCH of count entries (count may be over the limit: a malformed frame); its status. */
static uint8_t batch_status(struct elig_client *c, unsigned count)
{
    uint32_t id = queue_batch(c, count);
    assert_int_equal(elig_client_flush(c), 0);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_client_recv(c, &h, &body), 0);
    assert_int_equal(h.request_id, id);
    return h.status;
}

/*
 * What is refused costs nothing, and what a connection took and did not use
 * goes back: a malformed BATCH is answered 3 and not charged (then a burst
 * of 2,000 still holds two BATCHes of 1,000), 3 wins over 13 once the
 * allowance is spent; 300 connections of one check each stay inside the
 * burst; STATS with a body is malformed.
 */
static void test_allowance_edges(void **state)
{
    (void)state;
    struct server s;
    const char *const extra[] = { "--facility-rate", "1", "--facility-burst", "2000", NULL };
    start_loaded(&s, extra);
    struct elig_client *c = connect_fac(&s);
    assert_int_equal(batch_status(c, ELIG_PROTO_BATCH_MAX + 1), ELIG_PS_BODY);
    assert_int_equal(batch_status(c, 1000), ELIG_PS_OK);
    assert_int_equal(batch_status(c, 990), ELIG_PS_OK);
    assert_int_equal(batch_status(c, 1000), ELIG_PS_RATE_LIMITED); /* spent */
    assert_int_equal(batch_status(c, ELIG_PROTO_BATCH_MAX + 1), ELIG_PS_BODY);
    struct elig_proto_header h;
    const uint8_t *body;
    call(c, ELIG_OP_STATS, "x", 1, &h, &body);
    assert_int_equal(h.status, ELIG_PS_BODY);
    elig_client_close(c);
    struct elig_client *adm = connect_to(s.sock);
    call(adm, ELIG_OP_ADMIN_STATS, "x", 1, &h, &body);
    assert_int_equal(h.status, ELIG_PS_BODY);
    elig_client_close(adm);
    server_finish(&s);

    /* one check per connection: 300 connections spend 300 of the burst, not 300 x a credit */
    start_loaded(&s, extra);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    for (int i = 0; i < 300; i++) {
        struct elig_client *one = connect_fac(&s);
        uint32_t id;
        queue_expect(one, 0, &id);
        assert_int_equal(elig_client_flush(one), 0);
        recv_answer(one, id, a); /* asserts status OK and the expected answer */
        elig_client_close(one);
    }
    free(a);
    server_finish(&s);
}

int main(void)
{
    if (getenv("TEST_FILTER"))
        cmocka_set_test_filter(getenv("TEST_FILTER"));
    if (getenv("TEST_SKIP"))
        cmocka_set_skip_filter(getenv("TEST_SKIP"));
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_validity_codes, teardown),
        cmocka_unit_test_teardown(test_pipelined, teardown),
        cmocka_unit_test_teardown(test_batch, teardown),
        cmocka_unit_test_teardown(test_malformed_frames, teardown),
        cmocka_unit_test_teardown(test_stalled_frame, teardown),
        cmocka_unit_test_teardown(test_connection_cap, teardown),
        cmocka_unit_test_teardown(test_addresses, teardown),
        cmocka_unit_test_teardown(test_flood_fairness, teardown),
        cmocka_unit_test_teardown(test_admin, teardown),
        cmocka_unit_test_teardown(test_names_outside_jis, teardown),
        cmocka_unit_test_teardown(test_lists, teardown),
        cmocka_unit_test_teardown(test_disaster, teardown),
        cmocka_unit_test_teardown(test_sigterm_drain, teardown),
        cmocka_unit_test_teardown(test_checks_during_appends, teardown),
        cmocka_unit_test_teardown(test_crash_kill_during_appends, teardown),
        cmocka_unit_test_teardown(test_sighup, teardown),
        cmocka_unit_test_teardown(test_auth, teardown),
        cmocka_unit_test_teardown(test_rotate_revoke, teardown),
        cmocka_unit_test_teardown(test_allowances, teardown),
        cmocka_unit_test_teardown(test_allowance_edges, teardown),
        cmocka_unit_test_teardown(test_posthoc, teardown),
        cmocka_unit_test_teardown(test_admin_tcp, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
