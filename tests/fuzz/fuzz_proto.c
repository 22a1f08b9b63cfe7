/* SPDX-License-Identifier: MIT */
/*
 * fuzz_proto: libFuzzer harness for the frame decoder.
 *
 * The input is a byte stream as a connection would deliver it: frames are
 * cut from it exactly as eligd does (header, then body_len bytes, refusing
 * a body over the facility limit) and each body goes through the decoder of
 * its opcode; every body is also offered to the answer and counter decoders
 * a client runs. Decoders must never read outside what they are given
 * (ASan), and what decodes must re-encode to the same bytes. The same stream
 * also goes, in pieces, into the client core (elig_cconn) as a server's
 * answers, after a handshake when its first byte is odd: it takes answers
 * out, or stops at an error, and never reads outside what it received.
 *
 * Built two ways: with clang -fsanitize=fuzzer (scripts/fuzz) it explores;
 * with fuzz_main.c (any compiler) it replays the corpus in tests/fuzz/corpus
 * as the fuzz-regress test suite.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elig_cconn.h"
#include "elig_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct elig_proto_answer answer;

/* A decoded number check encodes back to the bytes it came from. */
static void check_number(const uint8_t *body, size_t len, size_t start, size_t end,
                         const struct elig_proto_number *q, bool in_batch)
{
    struct elig_pbuf b = { 0 };
    if (elig_proto_number_encode(&b, q, in_batch) != 0 || b.len != end - start ||
        memcmp(b.data, body + start, b.len) != 0)
        abort();
    (void)len;
    elig_pbuf_free(&b);
}

static void decode_body(uint8_t opcode, const uint8_t *body, size_t len)
{
    size_t off = 0;
    switch (opcode) {
    case ELIG_OP_LOOKUP_NUMBER: {
        struct elig_proto_number q;
        if (elig_proto_number_decode(body, len, &off, false, &q) == 0)
            check_number(body, len, 0, off, &q, false);
        break;
    }
    case ELIG_OP_LOOKUP_CARD: {
        struct elig_proto_card q;
        if (elig_proto_card_decode(body, len, &q) == 0 && !elig_proto_facility_valid(q.facility))
            (void)q.card_id;
        break;
    }
    case ELIG_OP_BATCH: {
        struct elig_proto_batch b;
        if (elig_proto_batch_decode(body, len, &b) == 0) {
            for (unsigned i = 0; i < b.count; i++) {
                struct elig_proto_number q;
                size_t start = b.offset;
                elig_proto_batch_next(body, len, &b, &q);
                check_number(body, len, start, b.offset, &q, true);
            }
            if (b.offset != len)
                abort();
        }
        break;
    }
    default:
        break;
    }
    /* the client side's decoders on the same bytes */
    off = 0;
    while (off < len && elig_proto_answer_decode(body, len, &off, &answer) == 0)
        ;
    off = 0;
    uint16_t n;
    (void)elig_proto_batch_answer_count(body, len, &off, &n);
    char name[64];
    uint64_t v;
    while (off < len && elig_proto_stat_decode(body, len, &off, name, &v) == 0)
        ;
}

/* The stream as a client core receives it, in pieces of 1 + data[0] % 64 bytes. */
static void client_core(const uint8_t *data, size_t size)
{
    struct elig_cconn *c;
    if (size == 0 || elig_cconn_new(&c))
        return;
    static const uint8_t key[32] = { 1 };
    if (data[0] & 1)
        elig_cconn_hello(c, "1310000001", key);
    size_t step = 1 + data[0] % 64, at = 1;
    int rc = 0;
    while (at < size && rc >= 0) {
        size_t room, n = size - at < step ? size - at : step, len;
        uint8_t *p = elig_cconn_recv_space(c, &room);
        if (p == NULL)
            break;
        memcpy(p, data + at, n);
        elig_cconn_received(c, n);
        at += n;
        struct elig_proto_header h;
        const uint8_t *body;
        while ((rc = elig_cconn_answer(c, &h, &body)) == 1) {
            volatile uint8_t sum = 0;
            for (uint32_t i = 0; i < h.body_len; i++) /* every byte of it was received */
                sum ^= body[i];
        }
        while (elig_cconn_send_view(c, &len) && len) /* the AUTH a challenge made */
            elig_cconn_sent(c, len);
    }
    elig_cconn_free(c);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    client_core(data, size);
    size_t off = 0;
    while (off < size) {
        struct elig_proto_header h;
        bool response = data[off + 4 < size ? off + 4 : off] & ELIG_PROTO_F_RESPONSE;
        int rc = elig_proto_header_decode(data + off, size - off, response, &h);
        if (rc)
            break;
        if (h.body_len > ELIG_PROTO_MAX_BODY || size - off - ELIG_PROTO_HEADER < h.body_len)
            break;
        /* copy the body out, so ASan sees a read past its end */
        uint8_t *body = malloc(h.body_len ? h.body_len : 1);
        memcpy(body, data + off + ELIG_PROTO_HEADER, h.body_len);
        decode_body(h.opcode, body, h.body_len);
        free(body);
        off += ELIG_PROTO_HEADER + h.body_len;
    }
    return 0;
}
