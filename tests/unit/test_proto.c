/* SPDX-License-Identifier: MIT */
/*
 * test_proto: the frame codec: the worked examples of docs/protocol.md
 * byte for byte, round trips of every opcode's body, and a table of
 * malformed inputs, each with the error it must give.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elig_le.h"
#include "elig_net_error.h"
#include "elig_codec.h"
#include "elig_update.h"
#include "elig_jis.h"
#include "elig_proto.h"
#include "test_support.h"

/* The examples of docs/protocol.md, as printed there. */
static const uint8_t ping_req[] = {
    0x45, 0x4c, 0x01, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x68, 0x69,
};
static const uint8_t ping_ans[] = {
    0x45, 0x4c, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00, 0x01,
    0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x68, 0x69,
};
static const uint8_t number_req[] = {
    0x45, 0x4c, 0x01, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x28, 0x00,
    0x00, 0x00, 0x31, 0x33, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x01, 0x00,
    0xbd, 0xfe, 0x34, 0x01, 0xbe, 0x21, 0x2e, 0x01, 0x08, 0x30, 0x31, 0x31, 0x33, 0x30,
    0x30, 0x31, 0x32, 0x04, 0x31, 0x32, 0x33, 0x34, 0x02, 0x35, 0x36, 0x02, 0x30, 0x30,
};
static const uint8_t number_ans[] = {
    0x45, 0x4c, 0x01, 0x02, 0x01, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00, 0x8f, 0x00, 0x00, 0x00,
    0x00, 0x01, 0x00, 0x04, 0x01, 0x00, 0x00, 0x00, 0x50, 0x51, 0xe1, 0x6c, 0x70, 0x0d, 0x66, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x30, 0x31, 0x31, 0x33, 0x30, 0x30, 0x31, 0x32, 0x30, 0x30, 0x01, 0x01,
    0x00, 0x1e, 0x00, 0x02, 0xbe, 0x21, 0x2e, 0x01, 0xd1, 0x3b, 0x34, 0x01, 0xf5, 0xfd, 0x34, 0x01,
    0x6b, 0x00, 0x35, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x04, 0x31, 0x32, 0x33, 0x34, 0x02, 0x35, 0x36, 0x24, 0xe5, 0x85, 0xa8, 0xe5, 0x9b, 0xbd, 0xe5,
    0x81, 0xa5, 0xe5, 0xba, 0xb7, 0xe4, 0xbf, 0x9d, 0xe9, 0x99, 0xba, 0xe5, 0x8d, 0x94, 0xe4, 0xbc,
    0x9a, 0xe6, 0x9d, 0xb1, 0xe4, 0xba, 0xac, 0xe6, 0x94, 0xaf, 0xe9, 0x83, 0xa8, 0x06, 0xe5, 0xb1,
    0xb1, 0xe7, 0x94, 0xb0, 0x06, 0xe5, 0xa4, 0xaa, 0xe9, 0x83, 0x8e, 0x09, 0xe3, 0x83, 0xa4, 0xe3,
    0x83, 0x9e, 0xe3, 0x83, 0x80, 0x09, 0xe3, 0x82, 0xbf, 0xe3, 0x83, 0xad, 0xe3, 0x82, 0xa6,
};
static const uint8_t card_req[] = {
    0x45, 0x4c, 0x01, 0x03, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x18, 0x00,
    0x00, 0x00, 0x31, 0x33, 0x34, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x00, 0x00,
    0xbd, 0xfe, 0x34, 0x01, 0x03, 0x10, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t card_ans[] = {
    0x45, 0x4c, 0x01, 0x03, 0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x51, 0x51, 0xe1, 0x6c, 0x70, 0x0d, 0x66, 0x00, 0x83, 0xb1, 0x34, 0x01,
};
static const uint8_t batch_req[] = {
    0x45, 0x4c, 0x01, 0x04, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00,
    0x00, 0x31, 0x33, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x02, 0x00, 0x00, 0x00,
    0xbd, 0xfe, 0x34, 0x01, 0xbf, 0x21, 0x2e, 0x01, 0x08, 0x30, 0x31, 0x31, 0x33, 0x30, 0x30,
    0x31, 0x32, 0x04, 0x31, 0x32, 0x33, 0x34, 0x02, 0x35, 0x36, 0x02, 0x30, 0x30, 0x00, 0x00,
    0xbd, 0xfe, 0x34, 0x01, 0xbe, 0x21, 0x2e, 0x01, 0x08, 0x30, 0x31, 0x31, 0x33, 0x30, 0x30,
    0x31, 0x33, 0x04, 0x31, 0x32, 0x33, 0x34, 0x02, 0x35, 0x36, 0x02, 0x30, 0x30,
};
static const uint8_t batch_ans[] = {
    0x45, 0x4c, 0x01, 0x04, 0x01, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00,
    0x00, 0x02, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x52, 0x51, 0xe1, 0x6c,
    0x70, 0x0d, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x53, 0x51, 0xe1, 0x6c, 0x70, 0x0d, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t unknown_ans[] = {
    0x45, 0x4c, 0x01, 0x77, 0x01, 0x02, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

/* Encode a request frame (header + body from encode_body) into b. */
static void frame(struct elig_pbuf *b, uint8_t op, uint32_t id)
{
    long at = elig_proto_frame_begin(b, op, 0, 0, id);
    assert_true(at >= 0);
}

static void check_bytes(const struct elig_pbuf *b, const uint8_t *want, size_t n)
{
    assert_int_equal(b->len, n);
    assert_memory_equal(b->data, want, n);
}

static void test_doc_requests(void **state)
{
    (void)state;
    struct elig_pbuf b = { 0 };
    frame(&b, ELIG_OP_PING, 1);
    memcpy(b.data + b.len, "hi", 2); /* room: frame_begin reserves 4 KiB */
    b.len += 2;
    elig_proto_frame_end(&b, 0);
    check_bytes(&b, ping_req, sizeof ping_req);

    b.len = 0;
    frame(&b, ELIG_OP_LOOKUP_NUMBER, 2);
    struct elig_proto_number q = {
        .facility = "1310000001",
        .flags = ELIG_PROTO_CONSENT,
        .date = 20250301,
        .birth = 19800510,
        .insurer = "01130012",
        .insurer_len = 8,
        .symbol = "1234",
        .symbol_len = 4,
        .number = "56",
        .number_len = 2,
        .branch = "00",
        .branch_len = 2,
    };
    assert_int_equal(elig_proto_number_encode(&b, &q, false), 0);
    elig_proto_frame_end(&b, 0);
    check_bytes(&b, number_req, sizeof number_req);

    b.len = 0;
    frame(&b, ELIG_OP_LOOKUP_CARD, 3);
    struct elig_proto_card k = { .facility = "1340000001", .date = 20250301, .card_id = 0xA1003 };
    assert_int_equal(elig_proto_card_encode(&b, &k), 0);
    elig_proto_frame_end(&b, 0);
    check_bytes(&b, card_req, sizeof card_req);

    b.len = 0;
    frame(&b, ELIG_OP_BATCH, 4);
    assert_int_equal(elig_proto_batch_head_encode(&b, "1310000001", 2), 0);
    q.facility = NULL;
    q.flags = 0;
    q.birth = 19800511;
    assert_int_equal(elig_proto_number_encode(&b, &q, true), 0);
    q.birth = 19800510;
    q.insurer = "01130013";
    assert_int_equal(elig_proto_number_encode(&b, &q, true), 0);
    elig_proto_frame_end(&b, 0);
    check_bytes(&b, batch_req, sizeof batch_req);
    elig_pbuf_free(&b);
}

static void test_doc_requests_decode(void **state)
{
    (void)state;
    struct elig_proto_header h;
    assert_int_equal(elig_proto_header_decode(number_req, sizeof number_req, false, &h), 0);
    assert_int_equal(h.opcode, ELIG_OP_LOOKUP_NUMBER);
    assert_int_equal(h.request_id, 2);
    assert_int_equal(h.body_len, sizeof number_req - ELIG_PROTO_HEADER);
    struct elig_proto_number q;
    size_t off = 0;
    assert_int_equal(elig_proto_number_decode(number_req + 16, h.body_len, &off, false, &q), 0);
    assert_memory_equal(q.facility, "1310000001", 10);
    assert_int_equal(q.date, 20250301);
    assert_int_equal(q.birth, 19800510);
    assert_int_equal(q.flags, ELIG_PROTO_CONSENT);
    assert_int_equal(q.symbol_len, 4);
    assert_memory_equal(q.symbol, "1234", 4);

    struct elig_proto_batch bt;
    assert_int_equal(elig_proto_batch_decode(batch_req + 16, sizeof batch_req - 16, &bt), 0);
    assert_int_equal(bt.count, 2);
    elig_proto_batch_next(batch_req + 16, sizeof batch_req - 16, &bt, &q);
    assert_int_equal(q.birth, 19800511);
    elig_proto_batch_next(batch_req + 16, sizeof batch_req - 16, &bt, &q);
    assert_memory_equal(q.insurer, "01130013", 8);
    assert_int_equal(bt.offset, sizeof batch_req - 16);

    struct elig_proto_card k;
    assert_int_equal(elig_proto_card_decode(card_req + 16, sizeof card_req - 16, &k), 0);
    assert_int_equal(k.card_id, 0xA1003);
    assert_memory_equal(k.facility, "1340000001", 10);
}

static void test_doc_answers(void **state)
{
    (void)state;
    struct elig_proto_header h;
    struct elig_proto_answer *a = malloc(sizeof(*a));
    size_t off = 0;
    assert_int_equal(elig_proto_header_decode(number_ans, sizeof number_ans, true, &h), 0);
    assert_int_equal(h.status, ELIG_PS_OK);
    assert_int_equal(h.request_id, 2);
    assert_int_equal(elig_proto_answer_decode(number_ans + 16, h.body_len, &off, a), 0);
    assert_int_equal(off, h.body_len);
    assert_int_equal(a->status, ELIG_AS_OK);
    assert_int_equal(a->validity, ELIG_VALID);
    assert_int_equal(a->count, 1);
    assert_int_equal(a->flags, ELIG_FLAG_LIMIT_DISCLOSED);
    assert_int_equal(a->reference, 0x00660d706ce15150ull);
    assert_memory_equal(a->rec[0].key.insurer, "01130012", 8);
    assert_int_equal(a->rec[0].copay_pct, 30);
    assert_int_equal(a->rec[0].limit_category, 2);
    assert_int_equal(a->rec[0].birth_date, test_date("1980-05-10"));
    assert_int_equal(a->rec[0].valid_until, test_date("2025-07-31"));
    assert_string_equal(a->rec[0].family_kanji, "山田");
    assert_string_equal(a->rec[0].given_kana, "タロウ");
    assert_string_equal(a->insurer_name[0], "全国健康保険協会東京支部");

    off = 0;
    assert_int_equal(elig_proto_answer_decode(card_ans + 16, sizeof card_ans - 16, &off, a), 0);
    assert_int_equal(a->validity, ELIG_VALIDITY_NONE);
    assert_int_equal(a->refusal, ELIG_REFUSE_CARD_RETURNED);
    assert_int_equal(a->cert_expiry, 20230531);
    assert_int_equal(a->count, 0);

    off = 0;
    uint16_t n;
    const uint8_t *body = batch_ans + 16;
    size_t len = sizeof batch_ans - 16;
    assert_int_equal(elig_proto_batch_answer_count(body, len, &off, &n), 0);
    assert_int_equal(n, 2);
    assert_int_equal(elig_proto_answer_decode(body, len, &off, a), 0);
    assert_int_equal(a->validity, ELIG_NO_MATCH);
    assert_int_equal(elig_proto_answer_decode(body, len, &off, a), 0);
    assert_int_equal(a->status, ELIG_AS_BAD_KEY);
    assert_int_equal(off, len);

    assert_int_equal(elig_proto_header_decode(ping_ans, sizeof ping_ans, true, &h), 0);
    assert_int_equal(h.opcode, ELIG_OP_PING);
    assert_int_equal(h.body_len, 2);
    assert_memory_equal(ping_ans + 16, "hi", 2);
    assert_int_equal(elig_proto_header_decode(unknown_ans, 16, true, &h), 0);
    assert_int_equal(h.status, ELIG_PS_OPCODE);
    assert_int_equal(h.opcode, 0x77);
    /* an answer is not a request, and the other way round */
    assert_int_equal(elig_proto_header_decode(unknown_ans, 16, false, &h), -ELIG_EPROTO);
    assert_int_equal(elig_proto_header_decode(ping_req, 16, true, &h), -ELIG_EPROTO);
    free(a);
}

/* An answer with every field set survives encode + decode unchanged. */
static void test_answer_round_trip(void **state)
{
    (void)state;
    struct elig_proto_answer *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    a->validity = ELIG_MULTIPLE;
    a->flags = ELIG_FLAG_RENEWAL_ALERT | ELIG_FLAG_LIMIT_DISCLOSED;
    a->count = ELIG_ANSWER_MAX;
    a->reference = 0x0123456789abcdefull;
    a->cert_expiry = 20270331;
    for (int i = 0; i < ELIG_ANSWER_MAX; i++) {
        struct elig_key key = test_key("06130017", "記号ABC", "1234567890123456789", "07");
        a->rec[i] = test_record(&key, 1000 + (uint64_t)i, "1950-01-31", "2020-04-01", "2030-03-31",
                                i % 2 ? "2024-06-30" : NULL);
        a->rec[i].elderly_pct = 20;
        a->rec[i].elderly_from = test_date("2020-05-01");
        a->rec[i].limit_category = (uint8_t)(i + 1);
        snprintf(a->insurer_name[i], sizeof a->insurer_name[i], "保険者%d", i);
    }
    struct elig_pbuf buf = { 0 };
    assert_int_equal(elig_proto_answer_encode(&buf, a), 0);
    size_t off = 0;
    assert_int_equal(elig_proto_answer_decode(buf.data, buf.len, &off, b), 0);
    assert_int_equal(off, buf.len);
    assert_int_equal(b->validity, a->validity);
    assert_int_equal(b->flags, a->flags);
    assert_int_equal(b->reference, a->reference);
    assert_int_equal(b->cert_expiry, a->cert_expiry);
    for (int i = 0; i < ELIG_ANSWER_MAX; i++) {
        /* person ids do not travel: compare everything else */
        a->rec[i].person_id = 0;
        assert_memory_equal(&a->rec[i], &b->rec[i], sizeof(a->rec[i]));
        assert_string_equal(a->insurer_name[i], b->insurer_name[i]);
    }
    /* every proper prefix is refused, never read past */
    for (size_t cut = 0; cut < buf.len; cut++) {
        off = 0;
        uint8_t *copy = malloc(cut ? cut : 1);
        memcpy(copy, buf.data, cut);
        assert_int_equal(elig_proto_answer_decode(copy, cut, &off, b), -ELIG_EPROTO);
        free(copy);
    }
    elig_pbuf_free(&buf);
    free(a);
    free(b);
}

/* Names outside JIS X 0208: two bits a record at bytes 6-7, one kana bit a record at byte 5. */
static void test_answer_name_flags(void **state)
{
    (void)state;
    struct elig_proto_answer *a = calloc(1, sizeof(*a)), *b = calloc(1, sizeof(*b));
    a->validity = ELIG_MULTIPLE;
    a->count = 3;
    struct elig_key key = test_key("06130017", "1", "2", "00");
    for (int i = 0; i < 3; i++)
        a->rec[i] = test_record(&key, 7, "1950-01-31", "2020-04-01", NULL, NULL);
    a->rec[1].name_flags = ELIG_NAME_FAMILY_KANJI;
    a->rec[2].name_flags = ELIG_NAME_GIVEN_KANJI | ELIG_NAME_KANA;
    struct elig_pbuf buf = { 0 };
    assert_int_equal(elig_proto_answer_encode(&buf, a), 0);
    assert_int_equal(buf.data[3], ELIG_FLAG_NAME_UNSHOWN);
    assert_int_equal(buf.data[5], 0x04);               /* record 2's kana */
    assert_int_equal(elig_rd16(buf.data + 6), 0x0024); /* record 1 family, record 2 given */
    size_t off = 0;
    assert_int_equal(elig_proto_answer_decode(buf.data, buf.len, &off, b), 0);
    assert_int_equal(b->flags, ELIG_FLAG_NAME_UNSHOWN);
    for (int i = 0; i < 3; i++)
        assert_int_equal(b->rec[i].name_flags, a->rec[i].name_flags);
    /* no flagged name: the bytes stay 0, as before names were judged */
    a->rec[1].name_flags = a->rec[2].name_flags = 0;
    buf.len = 0;
    assert_int_equal(elig_proto_answer_encode(&buf, a), 0);
    assert_int_equal(buf.data[3], 0);
    assert_int_equal(buf.data[5] | buf.data[6] | buf.data[7], 0);
    elig_pbuf_free(&buf);
    free(a);
    free(b);
}

/* ADMIN_APPEND bodies: events, then nothing, a chunk id, or a chunk id and an entry time. */
static void test_append_bodies(void **state)
{
    (void)state;
    struct elig_event ev = { .kind = ELIG_EV_LOSS, .effective = test_date("2025-02-01") };
    memcpy(ev.source, "01130012", 8);
    ev.u.loss.key = test_key("01130012", "1", "2", "");
    ev.u.loss.reason = ELIG_LOSS_DEATH;
    uint8_t body[512];
    elig_le32(body, 1);
    int el = elig_event_encode(&ev, body + 6, sizeof body - 6);
    assert_true(el > 0);
    elig_le16(body + 4, (uint16_t)el);
    size_t events = 6 + (size_t)el;
    for (int i = 0; i < 16; i++)
        body[events + (size_t)i] = (uint8_t)i;
    elig_le64(body + events + 16, 1740000000);
    struct elig_event out[2];
    struct elig_proto_append a;
    assert_int_equal(elig_proto_append_decode(body, events, out, 2, &a), 0);
    assert_int_equal(a.n, 1);
    assert_null(a.id);
    assert_int_equal(a.entered, 0);
    assert_int_equal(a.events_len, events);
    assert_int_equal(elig_proto_append_decode(body, events + 16, out, 2, &a), 0);
    assert_ptr_equal(a.id, body + events);
    assert_int_equal(a.entered, 0);
    assert_int_equal(elig_proto_append_decode(body, events + 24, out, 2, &a), 0);
    assert_ptr_equal(a.id, body + events);
    assert_int_equal(a.entered, 1740000000);
    assert_int_equal(a.events_len, events);
    assert_int_equal(out[0].u.loss.reason, ELIG_LOSS_DEATH);
    /* an entry time of 0 or below, or bytes that are neither */
    elig_le64(body + events + 16, 0);
    assert_int_equal(elig_proto_append_decode(body, events + 24, out, 2, &a), -EINVAL);
    elig_le64(body + events + 16, (uint64_t)-5);
    assert_int_equal(elig_proto_append_decode(body, events + 24, out, 2, &a), -EINVAL);
    for (size_t extra = 1; extra < 30; extra++)
        if (extra != 16 && extra != 24)
            assert_int_equal(elig_proto_append_decode(body, events + extra, out, 2, &a), -EINVAL);
}

/* docs/protocol.md's LIST_SUBMIT and LIST_FETCH examples, byte for byte. */
static const uint8_t list_submit_req[] = {
    0x45, 0x4c, 0x01, 0x09, 0x00, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00, 0x34, 0x00,
    0x00, 0x00, 0x31, 0x33, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x01, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0xbd, 0xfe,
    0x34, 0x01, 0xbf, 0x21, 0x2e, 0x01, 0x08, 0x30, 0x31, 0x31, 0x33, 0x30, 0x30, 0x31,
    0x32, 0x04, 0x31, 0x32, 0x33, 0x34, 0x02, 0x35, 0x36, 0x02, 0x30, 0x30,
};
static const uint8_t list_submit_ans[] = {
    0x45, 0x4c, 0x01, 0x09, 0x01, 0x00, 0x00, 0x00, 0x05, 0x00, 0x00, 0x00,
    0x14, 0x00, 0x00, 0x00, 0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11,
    0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};
static const uint8_t list_fetch_req[] = {
    0x45, 0x4c, 0x01, 0x0a, 0x00, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00,
    0x00, 0x31, 0x33, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x00, 0x00, 0x88, 0x77,
    0x66, 0x55, 0x44, 0x33, 0x22, 0x11, 0x00, 0x00, 0x00, 0x00, 0xe8, 0x03, 0x00, 0x00,
};
static const uint8_t list_fetch_ans[] = {
    0x45, 0x4c, 0x01, 0x0a, 0x01, 0x00, 0x00, 0x00, 0x06, 0x00, 0x00, 0x00, 0x28, 0x00,
    0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x52, 0x51, 0xe1, 0x6c, 0x70, 0x0d, 0x66, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void test_doc_lists(void **state)
{
    (void)state;
    /* the request as a client encodes it: the BATCH example's first entry */
    struct elig_proto_batch bt;
    assert_int_equal(elig_proto_batch_decode(batch_req + 16, sizeof batch_req - 16, &bt), 0);
    struct elig_proto_number q;
    elig_proto_batch_next(batch_req + 16, sizeof batch_req - 16, &bt, &q);
    struct elig_pbuf b = { 0 };
    long at = elig_proto_frame_begin(&b, ELIG_OP_LIST_SUBMIT, 0, 0, 5);
    assert_true(at >= 0);
    assert_int_equal(
        elig_proto_list_part_head_encode(&b, "1310000001", ELIG_PROTO_LIST_PART_LAST, 0, 1), 0);
    assert_int_equal(elig_proto_number_encode(&b, &q, true), 0);
    elig_proto_frame_end(&b, at);
    assert_int_equal(b.len, sizeof list_submit_req);
    assert_memory_equal(b.data, list_submit_req, b.len);
    struct elig_proto_list_part part;
    assert_int_equal(
        elig_proto_list_part_decode(list_submit_req + 16, sizeof list_submit_req - 16, &part), 0);
    assert_int_equal(part.count, 1);
    assert_int_equal(part.reception, 0);
    assert_int_equal(part.flags, ELIG_PROTO_LIST_PART_LAST);
    assert_int_equal(part.entries_len, sizeof list_submit_req - 16 - ELIG_PROTO_LIST_PART_HEAD);
    /* reserved bits, a count of 0 or over 1,000, a short entry: malformed */
    uint8_t bad[sizeof list_submit_req];
    memcpy(bad, list_submit_req, sizeof bad);
    bad[16 + 10] = 0x03;
    assert_int_equal(elig_proto_list_part_decode(bad + 16, sizeof bad - 16, &part), -ELIG_EPROTO);
    memcpy(bad, list_submit_req, sizeof bad);
    bad[16 + 20] = 0;
    assert_int_equal(elig_proto_list_part_decode(bad + 16, sizeof bad - 16, &part), -ELIG_EPROTO);
    elig_le16(bad + 16 + 20, 1001);
    assert_int_equal(elig_proto_list_part_decode(bad + 16, sizeof bad - 16, &part), -ELIG_EPROTO);
    assert_int_equal(
        elig_proto_list_part_decode(list_submit_req + 16, sizeof list_submit_req - 17, &part),
        -ELIG_EPROTO);
    /* its answer */
    struct elig_proto_list_state st = {
        .reception = 0x1122334455667788ull, .state = ELIG_LIST_QUEUED, .entries = 1, .done = 0
    };
    uint8_t out[ELIG_PROTO_LIST_STATE_BODY];
    elig_proto_list_state_encode(out, &st);
    assert_memory_equal(out, list_submit_ans + 16, sizeof out);
    struct elig_proto_list_state back;
    assert_int_equal(elig_proto_list_state_decode(list_submit_ans + 16, &back), 0);
    assert_int_equal(back.reception, st.reception);
    assert_int_equal(back.state, st.state);
    assert_int_equal(back.entries, st.entries);
    assert_int_equal(back.done, st.done);
    /* the fetch */
    struct elig_proto_list_fetch f = {
        .facility = "1310000001", .reception = 0x1122334455667788ull, .first = 0, .max = 1000
    };
    uint8_t fr[ELIG_PROTO_LIST_FETCH_BODY];
    elig_proto_list_fetch_encode(fr, &f);
    assert_memory_equal(fr, list_fetch_req + 16, sizeof fr);
    struct elig_proto_list_fetch fb;
    assert_int_equal(elig_proto_list_fetch_decode(list_fetch_req + 16, &fb), 0);
    assert_int_equal(fb.max, 1000);
    assert_memory_equal(fb.facility, "1310000001", 10);
    memcpy(bad, list_fetch_req, sizeof list_fetch_req);
    elig_le16(bad + 16 + 24, 0);
    assert_int_equal(elig_proto_list_fetch_decode(bad + 16, &fb), -ELIG_EPROTO);
    /* the fetched page: its head, then the answer as BATCH's example had it */
    const uint8_t *body = list_fetch_ans + 16;
    assert_int_equal(body[0], ELIG_LIST_DONE);
    assert_int_equal(elig_rd16(body + 16), 1);
    struct elig_proto_answer *a = malloc(sizeof(*a));
    size_t off = ELIG_PROTO_LIST_ANSWER_HEAD;
    assert_int_equal(elig_proto_answer_decode(body, sizeof list_fetch_ans - 16, &off, a), 0);
    assert_int_equal(off, sizeof list_fetch_ans - 16);
    assert_int_equal(a->validity, ELIG_NO_MATCH);
    assert_int_equal(a->reference, 0x00660d706ce15152ull);
    free(a);
    elig_pbuf_free(&b);
}

/* docs/protocol.md's LOOKUP_PERSON example, byte for byte. */
static const uint8_t person_req[] = {
    0x45, 0x4c, 0x01, 0x0b, 0x00, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x2a, 0x00, 0x00,
    0x00, 0x31, 0x33, 0x31, 0x30, 0x30, 0x30, 0x30, 0x30, 0x30, 0x31, 0x00, 0x01, 0x62, 0xfe,
    0x34, 0x01, 0xbe, 0x21, 0x2e, 0x01, 0x01, 0x00, 0x09, 0xe3, 0x83, 0xa4, 0xe3, 0x83, 0x9e,
    0xe3, 0x83, 0x80, 0x09, 0xe3, 0x82, 0xbf, 0xe3, 0x83, 0xad, 0xe3, 0x82, 0xa6,
};
static const uint8_t person_ans[] = {
    0x45, 0x4c, 0x01, 0x0b, 0x01, 0x00, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x10, 0x00, 0x00, 0x00,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x60, 0x51, 0xe1, 0x6c, 0x70, 0x0d, 0x66, 0x00,
};
static const uint8_t person_refused[] = {
    0x45, 0x4c, 0x01, 0x0b, 0x01, 0x11, 0x00, 0x00, 0x07, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
};

static void test_doc_person(void **state)
{
    (void)state;
    struct elig_proto_person q = { .facility = "1310000001",
                                   .reason = ELIG_REASON_NO_CARD,
                                   .date = 20250210,
                                   .birth = 19800510,
                                   .sex = ELIG_SEX_MALE,
                                   .family_kana = "ヤマダ",
                                   .family_len = 9,
                                   .given_kana = "タロウ",
                                   .given_len = 9 };
    struct elig_pbuf b = { 0 };
    long at = elig_proto_frame_begin(&b, ELIG_OP_LOOKUP_PERSON, 0, 0, 7);
    assert_true(at >= 0);
    assert_int_equal(elig_proto_person_encode(&b, &q), 0);
    elig_proto_frame_end(&b, at);
    assert_int_equal(b.len, sizeof person_req);
    assert_memory_equal(b.data, person_req, b.len);
    elig_pbuf_free(&b);
    struct elig_proto_header h;
    assert_int_equal(elig_proto_header_decode(person_ans, sizeof person_ans, true, &h), 0);
    assert_int_equal(h.body_len, 16);
    assert_int_equal(person_ans[16], ELIG_PERSON_TOO_MANY);
    assert_int_equal(elig_rd64(person_ans + 24), 0x00660d706ce15160ull);
    assert_int_equal(elig_proto_header_decode(person_refused, sizeof person_refused, true, &h), 0);
    assert_int_equal(h.status, ELIG_PS_NO_DISASTER);
    assert_string_equal(elig_pstatus_name(h.status), "no-disaster");
}

static void test_stats_round_trip(void **state)
{
    (void)state;
    struct elig_pbuf b = { 0 };
    assert_int_equal(elig_proto_stat_encode(&b, "checks", 42), 0);
    assert_int_equal(elig_proto_stat_encode(&b, "x", UINT64_MAX), 0);
    char long_name[80];
    memset(long_name, 'a', sizeof long_name - 1);
    long_name[sizeof long_name - 1] = '\0';
    assert_int_equal(elig_proto_stat_encode(&b, long_name, 1), -EINVAL);
    char name[64];
    uint64_t v;
    size_t off = 0;
    assert_int_equal(elig_proto_stat_decode(b.data, b.len, &off, name, &v), 0);
    assert_string_equal(name, "checks");
    assert_int_equal(v, 42);
    assert_int_equal(elig_proto_stat_decode(b.data, b.len, &off, name, &v), 0);
    assert_int_equal(v, UINT64_MAX);
    assert_int_equal(off, b.len);
    assert_int_equal(elig_proto_stat_decode(b.data, b.len, &off, name, &v), -ELIG_EPROTO);
    elig_pbuf_free(&b);
}

/* ---- malformed input: every row must give exactly its error ------------- */

struct bad_header {
    const char *name;
    uint8_t bytes[16];
    size_t len;
    int want;
};

static void test_malformed_headers(void **state)
{
    (void)state;
    static const struct bad_header rows[] = {
        { "empty", { 0 }, 0, -EAGAIN },
        { "15 bytes", { 'E', 'L', 1, 1 }, 15, -EAGAIN },
        { "bad magic", { 'G', 'E', 'T', ' ', '/', ' ', 'H', 'T', 'T', 'P' }, 16, -ELIG_EPROTO },
        { "magic swapped", { 'L', 'E', 1, 1 }, 16, -ELIG_EPROTO },
        { "reserved byte 6", { 'E', 'L', 1, 1, 0, 0, 1, 0 }, 16, -ELIG_EPROTO },
        { "reserved byte 7", { 'E', 'L', 1, 1, 0, 0, 0, 1 }, 16, -ELIG_EPROTO },
        { "answer flag in a request", { 'E', 'L', 1, 1, 1, 0 }, 16, -ELIG_EPROTO },
        { "unknown flag", { 'E', 'L', 1, 1, 0x80, 0 }, 16, -ELIG_EPROTO },
        { "status in a request", { 'E', 'L', 1, 1, 0, 3 }, 16, -ELIG_EPROTO },
        /* these decode: the server answers them and goes on */
        { "version 2", { 'E', 'L', 2, 1 }, 16, 0 },
        { "opcode 0xff", { 'E', 'L', 1, 0xff }, 16, 0 },
        { "huge length",
          { 'E', 'L', 1, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0xff, 0xff, 0xff, 0xff },
          16,
          0 },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
        struct elig_proto_header h;
        int rc = elig_proto_header_decode(rows[i].bytes, rows[i].len, false, &h);
        if (rc != rows[i].want)
            fail_msg("%s: got %d, want %d", rows[i].name, rc, rows[i].want);
    }
}

/* A valid LOOKUP_NUMBER body, for mutation. */
static size_t number_body(uint8_t *out)
{
    memcpy(out, number_req + 16, sizeof number_req - 16);
    return sizeof number_req - 16;
}

static void test_malformed_bodies(void **state)
{
    (void)state;
    uint8_t body[512];
    struct elig_proto_number q;
    size_t n = number_body(body), off;

    /* every proper prefix of a number body is refused */
    for (size_t cut = 0; cut < n; cut++) {
        off = 0;
        assert_int_equal(elig_proto_number_decode(body, cut, &off, false, &q), -ELIG_EPROTO);
    }
    /* a trailing byte */
    body[n] = 0;
    off = 0;
    assert_int_equal(elig_proto_number_decode(body, n + 1, &off, false, &q), -ELIG_EPROTO);
    /* reserved byte, unknown flag */
    n = number_body(body);
    body[11] = 1;
    off = 0;
    assert_int_equal(elig_proto_number_decode(body, n, &off, false, &q), -ELIG_EPROTO);
    n = number_body(body);
    body[10] = 0x02;
    off = 0;
    assert_int_equal(elig_proto_number_decode(body, n, &off, false, &q), -ELIG_EPROTO);
    /* a string length pointing past the end */
    n = number_body(body);
    body[20] = 200;
    off = 0;
    assert_int_equal(elig_proto_number_decode(body, n, &off, false, &q), -ELIG_EPROTO);
    /* an insurer over its 24-byte limit (lengths consistent) */
    uint8_t big[128] = { 0 };
    memcpy(big, body, 20);
    big[20] = 25;
    memset(big + 21, '1', 25);
    size_t m = 21 + 25;
    big[m++] = 0; /* symbol */
    big[m++] = 1; /* number */
    big[m++] = '5';
    big[m++] = 0; /* branch */
    off = 0;
    assert_int_equal(elig_proto_number_decode(big, m, &off, false, &q), -ELIG_EPROTO);
    big[20] = 24;
    memmove(big + 21 + 24, big + 21 + 25, m - 46);
    off = 0;
    assert_int_equal(elig_proto_number_decode(big, m - 1, &off, false, &q), 0);

    /* cards: short, long, reserved byte */
    struct elig_proto_card k;
    const uint8_t *cb = card_req + 16;
    assert_int_equal(elig_proto_card_decode(cb, 23, &k), -ELIG_EPROTO);
    uint8_t card[25];
    memcpy(card, cb, 24);
    card[24] = 0;
    assert_int_equal(elig_proto_card_decode(card, 25, &k), -ELIG_EPROTO);
    card[11] = 1;
    assert_int_equal(elig_proto_card_decode(card, 24, &k), -ELIG_EPROTO);

    /* batches: count 0, count over 1000, count larger than the entries, trailing bytes */
    struct elig_proto_batch bt;
    uint8_t bb[128];
    size_t bl = sizeof batch_req - 16;
    memcpy(bb, batch_req + 16, bl);
    elig_le16(bb + 10, 0);
    assert_int_equal(elig_proto_batch_decode(bb, bl, &bt), -ELIG_EPROTO);
    elig_le16(bb + 10, 1001);
    assert_int_equal(elig_proto_batch_decode(bb, bl, &bt), -ELIG_EPROTO);
    elig_le16(bb + 10, 3);
    assert_int_equal(elig_proto_batch_decode(bb, bl, &bt), -ELIG_EPROTO);
    elig_le16(bb + 10, 1);
    assert_int_equal(elig_proto_batch_decode(bb, bl, &bt), -ELIG_EPROTO);
    elig_le16(bb + 10, 2);
    assert_int_equal(elig_proto_batch_decode(bb, bl, &bt), 0);
    assert_int_equal(elig_proto_batch_decode(bb, 11, &bt), -ELIG_EPROTO);
}

static void test_facility_codes(void **state)
{
    (void)state;
    assert_true(elig_proto_facility_valid("1310000001"));
    assert_true(elig_proto_facility_valid("0130000000"));
    assert_true(elig_proto_facility_valid("4740000000"));
    assert_false(elig_proto_facility_valid("0010000001")); /* prefecture 00 */
    assert_false(elig_proto_facility_valid("4810000001")); /* prefecture 48 */
    assert_false(elig_proto_facility_valid("1320000001")); /* fee-table code 2 */
    assert_false(elig_proto_facility_valid("1350000001")); /* fee-table code 5 */
    assert_false(elig_proto_facility_valid("13100000x1"));
}

static void test_dates(void **state)
{
    (void)state;
    elig_date_t d;
    assert_int_equal(elig_proto_date_in(20250301, &d), 0);
    assert_int_equal(d, test_date("2025-03-01"));
    assert_int_equal(elig_proto_date_out(d), 20250301);
    assert_int_equal(elig_proto_date_in(0, &d), 0);
    assert_int_equal(d, ELIG_DATE_NONE);
    assert_int_equal(elig_proto_date_out(ELIG_DATE_NONE), 0);
    assert_int_equal(elig_proto_date_in(20250229, &d), -ELIG_EDATE);
    assert_int_equal(elig_proto_date_in(20241301, &d), -ELIG_EDATE);
    assert_int_equal(elig_proto_date_in(18991231, &d), -ELIG_EDATE);
    assert_int_equal(elig_proto_date_in(20240229, &d), 0);
}

static void test_names(void **state)
{
    (void)state;
    for (unsigned s = 0; s < ELIG_PS_COUNT; s++)
        assert_string_not_equal(elig_pstatus_name((uint8_t)s), "?");
    for (unsigned s = 0; s < ELIG_AS_COUNT; s++)
        assert_string_not_equal(elig_astatus_name((uint8_t)s), "?");
    assert_string_equal(elig_pstatus_name(200), "?");
    assert_string_equal(elig_op_name(ELIG_OP_BATCH), "BATCH");
    assert_null(elig_op_name(0x77));
}

/* Cells of a markdown table row "| a | b | ... |", trimmed; returns how many (at most max). */
static int row_cells(char *line, char **cell, int max)
{
    int n = 0;
    char *save = NULL;
    for (char *t = strtok_r(line, "|", &save); t && n < max; t = strtok_r(NULL, "|", &save)) {
        while (*t == ' ')
            t++;
        char *e = t + strlen(t);
        while (e > t && (e[-1] == ' ' || e[-1] == '\n'))
            *--e = '\0';
        if (*t)
            cell[n++] = t;
    }
    return n;
}

/* docs/protocol.md's opcode and status tables say what the server's tables say, row by row. */
/* Every opcode has its own dense slot: per-opcode counters are indexed by it. */
static void test_op_slots(void **state)
{
    (void)state;
    bool seen[ELIG_OP_SLOTS] = { false };
    unsigned n = 0;
    for (const struct elig_op_info *o = elig_op_next(NULL); o; o = elig_op_next(o), n++) {
        assert_true(o->slot < ELIG_OP_SLOTS);
        assert_false(seen[o->slot]);
        seen[o->slot] = true;
        assert_ptr_equal(elig_op_info(o->opcode), o);
    }
    assert_int_equal(n, ELIG_OP_SLOTS);
}

static void test_doc_tables(void **state)
{
    (void)state;
    const char *data = getenv("ELIG_TEST_DATA");
    assert_non_null(data);
    char path[4096];
    snprintf(path, sizeof path, "%s/../../docs/protocol.md", data);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    char line[1024];
    unsigned ops = 0, statuses = 0;
    enum { OTHER, OPCODES, STATUSES } section = OTHER;
    while (fgets(line, sizeof line, f)) {
        char *cell[8];
        if (line[0] == '#')
            section = strcmp(line, "### Opcodes\n") == 0           ? OPCODES
                      : strncmp(line, "### Frame status", 16) == 0 ? STATUSES
                                                                   : OTHER;
        if (section == OPCODES && strncmp(line, "| `", 3) == 0) { /* an opcode row */
            assert_int_equal(row_cells(line, cell, 8), 6);
            unsigned code = (unsigned)strtoul(cell[0] + 1, NULL, 16);
            const struct elig_op_info *o = elig_op_info((uint8_t)code);
            assert_non_null(o);
            assert_string_equal(cell[1], o->name);
            uint8_t port = strcmp(cell[2], "facility") == 0 ? ELIG_OPF_FACILITY
                           : strcmp(cell[2], "admin") == 0  ? ELIG_OPF_ADMIN
                                                            : ELIG_OPF_FACILITY | ELIG_OPF_ADMIN;
            assert_int_equal(o->flags & (ELIG_OPF_FACILITY | ELIG_OPF_ADMIN), port);
            assert_int_equal(!!(o->flags & ELIG_OPF_UDP), strcmp(cell[3], "yes") == 0);
            assert_int_equal(!!(o->flags & ELIG_OPF_PRE_AUTH), strcmp(cell[4], "yes") == 0);
            assert_int_equal(!!(o->flags & ELIG_OPF_EMPTY), strncmp(cell[5], "empty", 5) == 0);
            ops++;
        } else if (section == STATUSES && line[0] == '|' && line[1] == ' ' && line[2] >= '0' &&
                   line[2] <= '9') {
            assert_true(row_cells(line, cell, 8) >= 2); /* a status row: "| 10 | unavailable |" */
            unsigned code = (unsigned)strtoul(cell[0], NULL, 10);
            assert_true(code < ELIG_PS_COUNT);
            assert_string_equal(cell[1], elig_pstatus_name((uint8_t)code));
            statuses++;
        }
    }
    fclose(f);
    unsigned rows = 0;
    for (const struct elig_op_info *o = elig_op_next(NULL); o; o = elig_op_next(o), rows++) {
        if (o->flags & ELIG_OPF_CHECK) /* a check is a facility opcode */
            assert_true(o->flags & ELIG_OPF_FACILITY);
        assert_ptr_equal(elig_op_info(o->opcode), o);
        assert_string_equal(elig_op_name(o->opcode), o->name);
    }
    assert_int_equal(ops, rows);
    assert_int_equal(statuses, ELIG_PS_COUNT);
    assert_null(elig_op_info(0x0c));
    assert_false(elig_op_has(0x0c, 0));
}

/* The next whole frame of a stream: its length once all of it is there, 0 before, an error for
 * a bad header. */
static void test_frame_next(void **state)
{
    (void)state;
    struct elig_pbuf b = { 0 };
    long at = elig_proto_frame_begin(&b, ELIG_OP_PING, ELIG_PROTO_F_RESPONSE, 0, 9);
    assert_true(at >= 0);
    assert_int_equal(elig_pbuf_reserve(&b, 3), 0);
    memcpy(b.data + b.len, "abc", 3);
    b.len += 3;
    elig_proto_frame_end(&b, at);
    struct elig_proto_header h;
    for (size_t len = 0; len < b.len; len++)
        assert_int_equal(elig_proto_frame_next(b.data, len, true, &h), 0);
    assert_int_equal(elig_proto_frame_next(b.data, b.len, true, &h), ELIG_PROTO_HEADER + 3);
    assert_int_equal(h.request_id, 9);
    assert_int_equal(h.body_len, 3);
    b.data[0] = 'G';
    assert_int_equal(elig_proto_frame_next(b.data, b.len, true, &h), -ELIG_EPROTO);
    elig_pbuf_free(&b);
}

/* Every network-layer code has a name; elig_net_strerror() names the others as elig_strerror(). */
static void test_net_errors_named(void **state)
{
    (void)state;
    for (int c = ELIG_ERRNO_NET_BASE; c < ELIG_ERRNO_NET_END; c++)
        assert_string_not_equal(elig_net_strerror(-c), "unknown error");
    assert_string_equal(elig_net_strerror(-ELIG_ERRNO_NET_END), "unknown error");
    assert_string_equal(elig_net_strerror(-ELIG_ECHUNKID), elig_strerror(-ELIG_ECHUNKID));
    assert_string_equal(elig_net_strerror(-ENOSPC), elig_strerror(-ENOSPC));
    assert_string_equal(elig_strerror(-ELIG_EPROTO), "unknown error"); /* not the index's */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_net_errors_named),
        cmocka_unit_test(test_doc_requests),
        cmocka_unit_test(test_doc_requests_decode),
        cmocka_unit_test(test_doc_answers),
        cmocka_unit_test(test_answer_round_trip),
        cmocka_unit_test(test_answer_name_flags),
        cmocka_unit_test(test_append_bodies),
        cmocka_unit_test(test_doc_lists),
        cmocka_unit_test(test_doc_person),
        cmocka_unit_test(test_stats_round_trip),
        cmocka_unit_test(test_malformed_headers),
        cmocka_unit_test(test_malformed_bodies),
        cmocka_unit_test(test_facility_codes),
        cmocka_unit_test(test_dates),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_op_slots),
        cmocka_unit_test(test_doc_tables),
        cmocka_unit_test(test_frame_next),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
