/* SPDX-License-Identifier: MIT */
/*
 * test_cconn: the client core without a socket. The test plays the server:
 * it takes the bytes the core shows to send, answers with frames it builds,
 * and hands them over in pieces of every size.
 *
 * Queued frames carry ids counting from 1 and leave as one send; bytes of a
 * send in progress do not move while more is queued; a short send goes on
 * from where it stopped; answers split anywhere come out whole and in
 * order; the handshake answers the challenge with the proof the server
 * checks, and ends READY or REFUSED with the server's status; nothing may be
 * queued meanwhile; bytes that are not an answer, an oversized answer and a
 * stray answer during the handshake are protocol errors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elig_cconn.h"
#include "elig_net_error.h"
#include "elig_fkey.h"
#include "elig_le.h"
#include "elig_proto.h"
#include "test_support.h"

#define CODE "1310000001"

static struct elig_cconn *fresh(void)
{
    struct elig_cconn *c;
    assert_int_equal(elig_cconn_new(&c), 0);
    return c;
}

/* Queue a frame of opcode with body[0..len); its id. */
static uint32_t queue(struct elig_cconn *c, uint8_t opcode, const char *body, size_t len)
{
    uint32_t id;
    struct elig_pbuf *b = elig_cconn_begin(c, opcode, &id);
    assert_non_null(b);
    assert_int_equal(elig_pbuf_reserve(b, len), 0);
    memcpy(b->data + b->len, body, len);
    b->len += len;
    elig_cconn_end(c);
    return id;
}

/* An answer frame into out; its length. */
static size_t answer(uint8_t *out, uint8_t opcode, uint8_t status, uint32_t id, const void *body,
                     uint32_t len)
{
    struct elig_proto_header h = { .version = ELIG_PROTO_VERSION,
                                   .opcode = opcode,
                                   .flags = ELIG_PROTO_F_RESPONSE,
                                   .status = status,
                                   .request_id = id,
                                   .body_len = len };
    elig_proto_header_encode(out, &h);
    if (len)
        memcpy(out + ELIG_PROTO_HEADER, body, len);
    return ELIG_PROTO_HEADER + len;
}

/* Hand bytes to the core in pieces of at most step bytes. */
static void deliver(struct elig_cconn *c, const uint8_t *p, size_t len, size_t step)
{
    while (len) {
        size_t room, n = len < step ? len : step;
        uint8_t *at = elig_cconn_recv_space(c, &room);
        assert_non_null(at);
        assert_true(room >= 65536);
        memcpy(at, p, n);
        elig_cconn_received(c, n);
        p += n;
        len -= n;
    }
}

/* Take everything the core has to send, as the server reads it. */
static size_t take_sent(struct elig_cconn *c, uint8_t *out, size_t cap)
{
    size_t total = 0, len;
    const uint8_t *p;
    while ((p = elig_cconn_send_view(c, &len)) && len) {
        assert_true(total + len <= cap);
        memcpy(out + total, p, len);
        elig_cconn_sent(c, len);
        total += len;
    }
    assert_int_equal(elig_cconn_unsent(c), 0);
    return total;
}

static void test_queue_and_send(void **state)
{
    (void)state;
    struct elig_cconn *c = fresh();
    size_t len;
    elig_cconn_send_view(c, &len);
    assert_int_equal(len, 0);
    assert_int_equal(queue(c, ELIG_OP_PING, "ab", 2), 1);
    assert_int_equal(queue(c, ELIG_OP_PING, "cde", 3), 2);
    const uint8_t *p = elig_cconn_send_view(c, &len);
    assert_int_equal(len, 2 * ELIG_PROTO_HEADER + 5);
    struct elig_proto_header h;
    assert_int_equal(elig_proto_frame_next(p, len, false, &h), ELIG_PROTO_HEADER + 2);
    assert_int_equal(h.request_id, 1);
    assert_int_equal(h.opcode, ELIG_OP_PING);

    /* a short send; more queued meanwhile: the bytes in flight stay where they are */
    uint8_t copy[64];
    memcpy(copy, p, len);
    elig_cconn_sent(c, 10);
    assert_int_equal(queue(c, ELIG_OP_PING, "f", 1), 3);
    size_t rest;
    const uint8_t *q = elig_cconn_send_view(c, &rest);
    assert_ptr_equal(q, p + 10);
    assert_int_equal(rest, len - 10);
    assert_memory_equal(q, copy + 10, rest);
    assert_int_equal(elig_cconn_unsent(c), rest + ELIG_PROTO_HEADER + 1);
    elig_cconn_sent(c, rest);
    /* then the frame queued meanwhile */
    q = elig_cconn_send_view(c, &rest);
    assert_int_equal(rest, ELIG_PROTO_HEADER + 1);
    assert_int_equal(elig_proto_frame_next(q, rest, false, &h), ELIG_PROTO_HEADER + 1);
    assert_int_equal(h.request_id, 3);
    elig_cconn_sent(c, rest);
    assert_int_equal(elig_cconn_unsent(c), 0);

    /* a frame whose body could not be encoded leaves nothing queued */
    struct elig_pbuf *b = elig_cconn_begin(c, ELIG_OP_PING, NULL);
    assert_non_null(b);
    elig_cconn_cancel(c);
    assert_int_equal(elig_cconn_unsent(c), 0);
    elig_cconn_free(c);
}

static void test_answers_split_anywhere(void **state)
{
    (void)state;
    uint8_t stream[4096];
    size_t len = 0;
    for (uint32_t i = 0; i < 20; i++) { /* bodies of 0..19 bytes */
        char body[32];
        memset(body, 'a' + (int)i, i);
        len += answer(stream + len, ELIG_OP_PING, ELIG_PS_OK, i + 1, body, i);
    }
    for (size_t step = 1; step <= 40; step++) {
        struct elig_cconn *c = fresh();
        size_t at = 0;
        uint32_t next = 1;
        while (at < len) {
            size_t n = len - at < step ? len - at : step;
            deliver(c, stream + at, n, n);
            at += n;
            struct elig_proto_header h;
            const uint8_t *body;
            int rc;
            while ((rc = elig_cconn_answer(c, &h, &body)) == 1) {
                assert_int_equal(h.request_id, next);
                assert_int_equal(h.body_len, next - 1);
                for (uint32_t j = 0; j < h.body_len; j++)
                    assert_int_equal(body[j], 'a' + (int)next - 1);
                next++;
            }
            assert_int_equal(rc, 0);
        }
        assert_int_equal(next, 21);
        size_t left;
        elig_cconn_input(c, &left);
        assert_int_equal(left, 0);
        elig_cconn_free(c);
    }
}

static void test_large_answer_gets_room(void **state)
{
    (void)state;
    struct elig_cconn *c = fresh();
    size_t big = 300000;
    uint8_t *stream = calloc(1, ELIG_PROTO_HEADER + big);
    answer(stream, ELIG_OP_STATS, ELIG_PS_OK, 1, NULL, 0);
    elig_le32(stream + 12, (uint32_t)big);
    deliver(c, stream, ELIG_PROTO_HEADER + 100, 1000);
    size_t room;
    assert_non_null(elig_cconn_recv_space(c, &room));
    assert_true(room >= big - 100); /* the rest of the answer fits at once */
    deliver(c, stream + ELIG_PROTO_HEADER + 100, big - 100, 70000);
    struct elig_proto_header h;
    const uint8_t *body;
    assert_int_equal(elig_cconn_answer(c, &h, &body), 1);
    assert_int_equal(h.body_len, big);
    free(stream);
    elig_cconn_free(c);
}

static void test_bad_bytes(void **state)
{
    (void)state;
    struct elig_proto_header h;
    const uint8_t *body;
    /* not an answer frame: a request's header */
    struct elig_cconn *c = fresh();
    uint8_t f[64];
    size_t n = answer(f, ELIG_OP_PING, 0, 1, NULL, 0);
    f[4] = 0;
    deliver(c, f, n, n);
    assert_int_equal(elig_cconn_answer(c, &h, &body), -ELIG_EPROTO);
    elig_cconn_free(c);
    /* garbage */
    c = fresh();
    deliver(c, (const uint8_t *)"HTTP/1.1 200 OK\r\n\r\n", 19, 19);
    assert_int_equal(elig_cconn_answer(c, &h, &body), -ELIG_EPROTO);
    elig_cconn_free(c);
    /* an answer larger than any the server sends: refused from its header */
    c = fresh();
    n = answer(f, ELIG_OP_STATS, ELIG_PS_OK, 1, NULL, 0);
    elig_le32(f + 12, ELIG_CCONN_ANSWER_MAX + 1);
    deliver(c, f, n, n);
    assert_int_equal(elig_cconn_answer(c, &h, &body), -ELIG_EPROTO);
    elig_cconn_free(c);
    /* other protocols' bytes go through the byte layer untouched */
    c = fresh();
    deliver(c, (const uint8_t *)"+OK\r\n:1\r\n", 9, 3);
    size_t len;
    const uint8_t *in = elig_cconn_input(c, &len);
    assert_int_equal(len, 9);
    assert_memory_equal(in, "+OK\r\n", 5);
    elig_cconn_consume(c, 5);
    in = elig_cconn_input(c, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(in, ":1\r\n", 4);
    elig_cconn_free(c);
}

/* Run a handshake against a server that answers HELLO with hello_status and AUTH with auth_status.
 */
static void handshake(uint8_t hello_status, uint8_t auth_status, size_t step)
{
    uint8_t key[ELIG_FKEY_LEN], challenge[ELIG_FKEY_CHALLENGE_LEN];
    for (int i = 0; i < 32; i++) {
        key[i] = (uint8_t)(7 * i + 1);
        challenge[i] = (uint8_t)(255 - 3 * i);
    }
    struct elig_cconn *c = fresh();
    assert_int_equal(elig_cconn_hello(c, "12345", key), -EINVAL);
    assert_int_equal(elig_cconn_hello(c, CODE, key), 0);
    assert_int_equal(elig_cconn_hello(c, CODE, key), -EBUSY);
    assert_null(elig_cconn_begin(c, ELIG_OP_PING, NULL)); /* nothing queued meanwhile */
    assert_null(elig_cconn_queue(c));
    assert_int_equal(elig_cconn_state(c, NULL), ELIG_CCONN_HELLO);

    uint8_t sent[256], ans[256];
    size_t n = take_sent(c, sent, sizeof sent);
    struct elig_proto_header h;
    assert_int_equal(elig_proto_frame_next(sent, n, false, &h), (long)n);
    assert_int_equal(h.opcode, ELIG_OP_HELLO);
    assert_int_equal(h.body_len, ELIG_PROTO_FACILITY_LEN);
    assert_memory_equal(sent + ELIG_PROTO_HEADER, CODE, ELIG_PROTO_FACILITY_LEN);
    uint32_t hello_id = h.request_id;

    const uint8_t *body;
    uint8_t status;
    size_t m = hello_status == ELIG_PS_OK
                   ? answer(ans, ELIG_OP_HELLO, ELIG_PS_OK, hello_id, challenge, sizeof challenge)
                   : answer(ans, ELIG_OP_HELLO, hello_status, hello_id, NULL, 0);
    deliver(c, ans, m, step);
    if (hello_status != ELIG_PS_OK) {
        assert_int_equal(elig_cconn_answer(c, &h, &body), -ELIG_EREFUSED);
        assert_int_equal(elig_cconn_state(c, &status), ELIG_CCONN_REFUSED);
        assert_int_equal(status, hello_status);
        elig_cconn_free(c);
        return;
    }
    assert_int_equal(elig_cconn_answer(c, &h, &body), 0); /* taken: AUTH is queued */
    assert_int_equal(elig_cconn_state(c, NULL), ELIG_CCONN_AUTH);
    n = take_sent(c, sent, sizeof sent);
    assert_int_equal(elig_proto_frame_next(sent, n, false, &h), (long)n);
    assert_int_equal(h.opcode, ELIG_OP_AUTH);
    assert_int_equal(h.request_id, hello_id + 1);
    uint8_t want[ELIG_FKEY_MAC_LEN];
    elig_fkey_proof(key, CODE, challenge, want);
    assert_int_equal(h.body_len, sizeof want);
    assert_memory_equal(sent + ELIG_PROTO_HEADER, want, sizeof want);

    m = answer(ans, ELIG_OP_AUTH, auth_status, h.request_id, NULL, 0);
    deliver(c, ans, m, step);
    if (auth_status != ELIG_PS_OK) {
        assert_int_equal(elig_cconn_answer(c, &h, &body), -ELIG_EREFUSED);
        assert_int_equal(elig_cconn_state(c, &status), ELIG_CCONN_REFUSED);
        assert_int_equal(status, auth_status);
        elig_cconn_free(c);
        return;
    }
    assert_int_equal(elig_cconn_answer(c, &h, &body), 0);
    assert_int_equal(elig_cconn_state(c, &status), ELIG_CCONN_READY);
    assert_int_equal(status, 0);
    /* READY: frames go out again, with the ids after the handshake's */
    assert_int_equal(queue(c, ELIG_OP_PING, "x", 1), hello_id + 2);
    assert_int_equal(elig_cconn_hello(c, CODE, key), -EBUSY); /* one handshake a connection */
    elig_cconn_free(c);
}

static void test_handshake(void **state)
{
    (void)state;
    for (size_t step = 1; step <= 64; step *= 4) {
        handshake(ELIG_PS_OK, ELIG_PS_OK, step);
        handshake(ELIG_PS_OK, ELIG_PS_UNAUTHENTICATED, step);
        handshake(ELIG_PS_FACILITY_CONNS, ELIG_PS_OK, step);
    }
}

static void test_handshake_stray_answer(void **state)
{
    (void)state;
    uint8_t key[ELIG_FKEY_LEN] = { 1 };
    struct elig_cconn *c = fresh();
    assert_int_equal(elig_cconn_hello(c, CODE, key), 0);
    uint8_t sent[128], ans[64];
    take_sent(c, sent, sizeof sent);
    struct elig_proto_header h;
    const uint8_t *body;
    size_t m = answer(ans, ELIG_OP_PING, ELIG_PS_OK, 99, NULL, 0);
    deliver(c, ans, m, m);
    assert_int_equal(elig_cconn_answer(c, &h, &body), -ELIG_EPROTO);
    elig_cconn_free(c);
    /* a challenge of the wrong length */
    c = fresh();
    assert_int_equal(elig_cconn_hello(c, CODE, key), 0);
    take_sent(c, sent, sizeof sent);
    m = answer(ans, ELIG_OP_HELLO, ELIG_PS_OK, 1, "short", 5);
    deliver(c, ans, m, m);
    assert_int_equal(elig_cconn_answer(c, &h, &body), -ELIG_EPROTO);
    elig_cconn_free(c);
    /* hello() refuses while frames are queued */
    c = fresh();
    queue(c, ELIG_OP_PING, "", 0);
    assert_int_equal(elig_cconn_hello(c, CODE, key), -EBUSY);
    elig_cconn_free(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_queue_and_send),
        cmocka_unit_test(test_answers_split_anywhere),
        cmocka_unit_test(test_large_answer_gets_room),
        cmocka_unit_test(test_bad_bytes),
        cmocka_unit_test(test_handshake),
        cmocka_unit_test(test_handshake_stray_answer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
