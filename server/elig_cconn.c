/* SPDX-License-Identifier: MIT */
/*
 * elig_cconn: the client core, one connection's protocol state without I/O.
 *
 * Design: three buffers. `out` collects queued frames; `wire` holds the send
 * in progress, which send_view() fills by swapping with `out` once the
 * previous send went out whole, so its bytes never move while a send (an
 * io_uring send, a TLS record) may point at them, and queueing never waits
 * for the network. `in` holds received bytes from in_off on; answers are
 * consumed by moving in_off, and only recv_space() moves bytes (to the
 * front), which is why a returned body stays valid until then.
 *
 * The handshake is a state machine inside answer(): HELLO's answer carries
 * the challenge, whose HMAC under the facility's key goes out as AUTH; AUTH's
 * answer ends it. The key is kept only between hello() and AUTH's queueing,
 * then wiped. Queueing is refused during the handshake, so the only answers
 * that can arrive then are the handshake's: anything else is a protocol
 * error.
 *
 * TLS (elig_cconn_start_tls()) sits between the byte layer and the frames:
 * send_view() encrypts what was queued and shows ciphertext (the
 * handshake's messages included), recv_space() offers a ciphertext buffer
 * and received() decrypts what came into `in`, where answers are read as
 * before. So every driver (poll, io_uring) carries TLS without a change of
 * its own.
 */
#include "elig_cconn.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "elig_fkey.h"
#include "elig_net_error.h"
#include "elig_tls.h"

#define RECV_ROOM 65536 /* the least room recv_space() offers */

struct elig_cconn {
    struct elig_pbuf out;  /* queued frames */
    struct elig_pbuf wire; /* the send in progress */
    size_t wire_sent;      /* of it, reported sent */
    struct elig_pbuf in;   /* received bytes */
    size_t in_off;         /* of them, consumed */
    long frame_at;         /* the frame begun last */
    uint32_t next_id;
    enum elig_cconn_state state;
    uint8_t status; /* the refusal's */
    uint32_t hs_id; /* the handshake frame awaiting its answer */
    char code[ELIG_PROTO_FACILITY_LEN + 1];
    uint8_t key[ELIG_FKEY_LEN];
    struct elig_tls *tls; /* NULL: plaintext */
    uint8_t *cin;         /* TLS: received ciphertext, fed to the session at once */
    int tls_rc;           /* TLS: the session's failure (-ELIG_ETLS, -ECONNRESET), or 0 */
};

int elig_cconn_new(struct elig_cconn **out)
{
    struct elig_cconn *c = calloc(1, sizeof *c);
    if (c == NULL)
        return -ENOMEM;
    c->next_id = 1;
    c->frame_at = -1;
    c->state = ELIG_CCONN_OPEN;
    *out = c;
    return 0;
}

void elig_cconn_free(struct elig_cconn *c)
{
    if (c == NULL)
        return;
    explicit_bzero(c->key, sizeof c->key);
    elig_pbuf_free(&c->out);
    elig_pbuf_free(&c->wire);
    elig_pbuf_free(&c->in);
    elig_tls_free(c->tls);
    free(c->cin);
    free(c);
}

static bool handshaking(const struct elig_cconn *c)
{
    return c->state == ELIG_CCONN_HELLO || c->state == ELIG_CCONN_AUTH;
}

/* ---- queueing -------------------------------------------------------------- */

/* A frame of opcode with the next id and body[0..len), whatever the state. */
static int queue_frame(struct elig_cconn *c, uint8_t opcode, const void *body, size_t len,
                       uint32_t *id)
{
    uint32_t rid = c->next_id++;
    long at = elig_proto_frame_begin(&c->out, opcode, 0, 0, rid);
    if (at < 0 || elig_pbuf_reserve(&c->out, len))
        return -ENOMEM;
    memcpy(c->out.data + c->out.len, body, len);
    c->out.len += len;
    elig_proto_frame_end(&c->out, at);
    *id = rid;
    return 0;
}

struct elig_pbuf *elig_cconn_begin(struct elig_cconn *c, uint8_t opcode, uint32_t *id)
{
    if (handshaking(c))
        return NULL;
    uint32_t rid = c->next_id++;
    c->frame_at = elig_proto_frame_begin(&c->out, opcode, 0, 0, rid);
    if (c->frame_at < 0)
        return NULL;
    if (id)
        *id = rid;
    return &c->out;
}

void elig_cconn_end(struct elig_cconn *c)
{
    elig_proto_frame_end(&c->out, c->frame_at);
    c->frame_at = -1;
}

void elig_cconn_cancel(struct elig_cconn *c)
{
    if (c->frame_at >= 0 && (size_t)c->frame_at <= c->out.len)
        c->out.len = (size_t)c->frame_at;
    c->frame_at = -1;
}

struct elig_pbuf *elig_cconn_queue(struct elig_cconn *c)
{
    return handshaking(c) ? NULL : &c->out;
}

/* ---- the handshake ---------------------------------------------------------- */

int elig_cconn_hello(struct elig_cconn *c, const char *code, const uint8_t key[32])
{
    if (code == NULL || strlen(code) != ELIG_PROTO_FACILITY_LEN)
        return -EINVAL;
    if (c->state != ELIG_CCONN_OPEN || elig_cconn_unsent(c) || c->in.len > c->in_off)
        return -EBUSY;
    memcpy(c->code, code, sizeof c->code);
    memcpy(c->key, key, sizeof c->key);
    int rc = queue_frame(c, ELIG_OP_HELLO, code, ELIG_PROTO_FACILITY_LEN, &c->hs_id);
    if (rc) {
        explicit_bzero(c->key, sizeof c->key);
        return rc;
    }
    c->state = ELIG_CCONN_HELLO;
    return 0;
}

enum elig_cconn_state elig_cconn_state(const struct elig_cconn *c, uint8_t *status)
{
    if (status)
        *status = c->status;
    return c->state;
}

/* Take the handshake's answer h/body: on to AUTH, READY or REFUSED. */
static int handshake_step(struct elig_cconn *c, const struct elig_proto_header *h,
                          const uint8_t *body)
{
    uint8_t want = c->state == ELIG_CCONN_HELLO ? ELIG_OP_HELLO : ELIG_OP_AUTH;
    if (h->request_id != c->hs_id || h->opcode != want)
        return -ELIG_EPROTO;
    if (h->status != ELIG_PS_OK) {
        explicit_bzero(c->key, sizeof c->key);
        c->state = ELIG_CCONN_REFUSED;
        c->status = h->status;
        return -ELIG_EREFUSED;
    }
    if (c->state == ELIG_CCONN_AUTH) {
        c->state = ELIG_CCONN_READY;
        return 0;
    }
    if (h->body_len != ELIG_FKEY_CHALLENGE_LEN)
        return -ELIG_EPROTO;
    uint8_t mac[ELIG_FKEY_MAC_LEN];
    elig_fkey_proof(c->key, c->code, body, mac);
    explicit_bzero(c->key, sizeof c->key);
    int rc = queue_frame(c, ELIG_OP_AUTH, mac, sizeof mac, &c->hs_id);
    if (rc == 0)
        c->state = ELIG_CCONN_AUTH;
    return rc;
}

/* ---- bytes out --------------------------------------------------------------- */

/* TLS: the queued frames into the session, its ciphertext onto the wire. */
static void tls_to_wire(struct elig_cconn *c)
{
    if (c->out.len && !c->tls_rc && elig_tls_write(c->tls, c->out.data, c->out.len))
        c->tls_rc = -ELIG_ETLS;
    c->out.len = 0;
    size_t n = elig_tls_pending(c->tls);
    c->wire.len = c->wire_sent = 0;
    if (n && elig_pbuf_reserve(&c->wire, n) == 0)
        c->wire.len = elig_tls_take(c->tls, c->wire.data, n);
}

const uint8_t *elig_cconn_send_view(struct elig_cconn *c, size_t *len)
{
    if (c->wire_sent == c->wire.len && c->tls) {
        tls_to_wire(c);
    } else if (c->wire_sent == c->wire.len) {
        struct elig_pbuf t = c->wire;
        c->wire = c->out;
        c->out = t;
        c->out.len = 0;
        c->wire_sent = 0;
    }
    *len = c->wire.len - c->wire_sent;
    return c->wire.data + c->wire_sent;
}

void elig_cconn_sent(struct elig_cconn *c, size_t n)
{
    c->wire_sent += n;
    if (c->wire_sent >= c->wire.len)
        c->wire.len = c->wire_sent = 0;
}

size_t elig_cconn_unsent(const struct elig_cconn *c)
{
    return c->out.len + (c->wire.len - c->wire_sent) + (c->tls ? elig_tls_pending(c->tls) : 0);
}

/* ---- bytes in ----------------------------------------------------------------- */

uint8_t *elig_cconn_recv_space(struct elig_cconn *c, size_t *room)
{
    size_t have = c->in.len - c->in_off;
    if (c->in_off) {
        memmove(c->in.data, c->in.data + c->in_off, have);
        c->in.len = have;
        c->in_off = 0;
    }
    size_t need = RECV_ROOM;
    struct elig_proto_header h;
    if (elig_proto_frame_next(c->in.data, have, true, &h) == 0 && have >= ELIG_PROTO_HEADER &&
        h.body_len <= ELIG_CCONN_ANSWER_MAX && ELIG_PROTO_HEADER + h.body_len > have + need)
        need = ELIG_PROTO_HEADER + h.body_len - have; /* the rest of a large answer */
    if (elig_pbuf_reserve(&c->in, need))
        return NULL;
    if (c->tls) { /* ciphertext comes here; received() decrypts it into in */
        if (c->cin == NULL && (c->cin = malloc(RECV_ROOM)) == NULL)
            return NULL;
        *room = RECV_ROOM;
        return c->cin;
    }
    *room = c->in.cap - c->in.len;
    return c->in.data + c->in.len;
}

/* TLS: n bytes of ciphertext in cin: into the session, plaintext out of it into in. */
static void tls_received(struct elig_cconn *c, size_t n)
{
    if (c->tls_rc || elig_tls_feed(c->tls, c->cin, n)) {
        c->tls_rc = c->tls_rc ? c->tls_rc : -ELIG_ETLS;
        return;
    }
    for (unsigned guard = 0; guard < 1024; guard++) { /* a record a round: n bytes hold few */
        if (elig_pbuf_reserve(&c->in, RECV_ROOM)) {
            c->tls_rc = -ENOMEM;
            return;
        }
        long r = elig_tls_read(c->tls, c->in.data + c->in.len, c->in.cap - c->in.len);
        if (r <= 0) {
            if (r < 0)
                c->tls_rc = r == -EPROTO ? -ELIG_ETLS : -ECONNRESET;
            return;
        }
        c->in.len += (size_t)r;
    }
}

void elig_cconn_received(struct elig_cconn *c, size_t n)
{
    if (c->tls)
        tls_received(c, n);
    else
        c->in.len += n;
}

int elig_cconn_start_tls(struct elig_cconn *c, struct elig_tls_ctx *ctx)
{
    if (c->tls || c->state != ELIG_CCONN_OPEN || elig_cconn_unsent(c) || c->in.len > c->in_off)
        return -EBUSY;
    return elig_tls_new(ctx, &c->tls); /* its ClientHello is the first thing to send */
}

const char *elig_cconn_tls_error(const struct elig_cconn *c)
{
    return c->tls ? elig_tls_error(c->tls) : "not a TLS connection";
}

const uint8_t *elig_cconn_input(const struct elig_cconn *c, size_t *len)
{
    *len = c->in.len - c->in_off;
    return c->in.data + c->in_off;
}

void elig_cconn_consume(struct elig_cconn *c, size_t n)
{
    c->in_off += n;
    if (c->in_off >= c->in.len)
        c->in.len = c->in_off = 0;
}

int elig_cconn_answer(struct elig_cconn *c, struct elig_proto_header *h, const uint8_t **body)
{
    for (;;) {
        size_t have = c->in.len - c->in_off;
        const uint8_t *at = c->in.data + c->in_off;
        long n = elig_proto_frame_next(at, have, true, h);
        if (n < 0)
            return (int)n;
        if (have >= ELIG_PROTO_HEADER && h->body_len > ELIG_CCONN_ANSWER_MAX)
            return -ELIG_EPROTO;
        if (n == 0)
            return c->tls_rc;   /* the answers decrypted before a TLS failure come first */
        c->in_off += (size_t)n; /* the bytes stay until recv_space() */
        *body = at + ELIG_PROTO_HEADER;
        if (!handshaking(c))
            return 1;
        int rc = handshake_step(c, h, *body);
        if (rc)
            return rc;
    }
}
