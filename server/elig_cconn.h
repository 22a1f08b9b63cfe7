/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CCONN_H
#define ELIG_CCONN_H

#include <stddef.h>
#include <stdint.h>

#include "elig_proto.h"

/**
 * @file
 * The client core: one connection's protocol state, without I/O.
 *
 * It holds what every eligd client needs whatever drives its socket: the
 * frames queued to send, the bytes of the send in progress (stable until
 * they went out, so an io_uring send may point at them), the bytes received
 * and the answers whole among them, request ids, and the facility handshake
 * (HELLO, then AUTH with the HMAC of the server's challenge) as a state
 * machine that answers the server's challenge by itself. The caller moves
 * the bytes: poll() and send/recv (the blocking client, elig_client.h), an
 * io_uring of many connections (the load generator, the benchmarks), or
 * later a TLS layer between the two. The byte layer (send_view/sent,
 * recv_space/received, input/consume) carries any protocol; the benchmarks
 * also drive redis and memcached connections through it.
 *
 * A driver's loop:
 *   - queue frames (begin/end, or whole frames appended to elig_cconn_queue());
 *   - send what elig_cconn_send_view() shows, report it with elig_cconn_sent();
 *   - receive into elig_cconn_recv_space(), report it with elig_cconn_received();
 *   - take answers with elig_cconn_answer() until it returns 0; then send
 *     again if the send view is not empty (the handshake may have queued AUTH).
 *
 * Not thread-safe: one connection, one thread at a time. No global state.
 */

/** A connection's protocol state (opaque). */
struct elig_cconn;

/** Where the facility handshake stands. */
enum elig_cconn_state {
    ELIG_CCONN_OPEN,    /**< no handshake begun: frames may be queued */
    ELIG_CCONN_HELLO,   /**< HELLO queued or sent, its challenge awaited */
    ELIG_CCONN_AUTH,    /**< AUTH queued or sent, its answer awaited */
    ELIG_CCONN_READY,   /**< authenticated: frames may be queued */
    ELIG_CCONN_REFUSED, /**< the server refused HELLO or AUTH (the status is kept) */
};

/** The largest answer frame accepted (a BATCH of 1,000 answers is ~2 MiB). */
#define ELIG_CCONN_ANSWER_MAX (16u * 1024 * 1024)

/** A new connection state, empty, in ELIG_CCONN_OPEN. @return 0; -ENOMEM. */
int elig_cconn_new(struct elig_cconn **out);

/** Free it (its buffers; the key of a handshake is wiped). NULL is ignored. */
void elig_cconn_free(struct elig_cconn *c);

/* ---- queueing -------------------------------------------------------------- */

/**
 * Start a request frame with the connection's next request id (ids count
 * up from 1); encode its body into the returned buffer, then call
 * elig_cconn_end().
 * @return the buffer; NULL if out of memory, or during a handshake (no
 *         frame may be queued between elig_cconn_hello() and READY).
 */
struct elig_pbuf *elig_cconn_begin(struct elig_cconn *c, uint8_t opcode, uint32_t *id);

/** Finish the frame begun last. */
void elig_cconn_end(struct elig_cconn *c);

/** Drop the frame begun last, whose body could not be encoded: nothing of it stays queued. */
void elig_cconn_cancel(struct elig_cconn *c);

/**
 * The queue itself, for callers that append whole frames they encoded with
 * ids of their own (the load generator numbers frames by their place in
 * the month), pre-encoded requests, or another protocol's bytes.
 * @return the buffer; NULL during a handshake.
 */
struct elig_pbuf *elig_cconn_queue(struct elig_cconn *c);

/* ---- the handshake ---------------------------------------------------------- */

/**
 * Begin the facility handshake as code (10 characters) with its 32-byte
 * key: queues HELLO. elig_cconn_answer() takes the challenge, queues AUTH
 * and takes its answer; the state is READY or REFUSED after.
 * @return 0; -EINVAL (code not 10 characters); -EBUSY (frames queued or
 *         answers outstanding, or a handshake begun already); -ENOMEM.
 */
int elig_cconn_hello(struct elig_cconn *c, const char *code, const uint8_t key[32]);

/** The handshake's state; *status (if not NULL) the refusal's status, else 0. */
enum elig_cconn_state elig_cconn_state(const struct elig_cconn *c, uint8_t *status);

/* ---- TLS ------------------------------------------------------------------------ */

struct elig_tls_ctx;

/**
 * Speak TLS 1.3 with the client context ctx (elig_tls.h) from now on: the
 * byte layer carries ciphertext, frames and answers stay plaintext, and the
 * driver's loop is unchanged (the first bytes to send are the ClientHello).
 * Call it on a fresh connection.
 * @return 0; -EBUSY (bytes already queued or received, a handshake begun,
 *         TLS already); -ENOMEM.
 */
int elig_cconn_start_tls(struct elig_cconn *c, struct elig_tls_ctx *ctx);

/** Why the TLS session failed (after -ELIG_ETLS): a constant string. */
const char *elig_cconn_tls_error(const struct elig_cconn *c);

/* ---- bytes out --------------------------------------------------------------- */

/**
 * The bytes to send next: what is left of the send in progress, else all
 * frames queued since (which become the send in progress). They stay
 * valid and unchanged until elig_cconn_sent() reports them all sent, while
 * new frames may be queued meanwhile.
 * @return the bytes, *len of them; *len 0 when nothing is to be sent.
 */
const uint8_t *elig_cconn_send_view(struct elig_cconn *c, size_t *len);

/** n bytes of the send view went out (n <= its length). */
void elig_cconn_sent(struct elig_cconn *c, size_t n);

/** Bytes queued or being sent, not yet reported sent. */
size_t elig_cconn_unsent(const struct elig_cconn *c);

/* ---- bytes in ----------------------------------------------------------------- */

/**
 * Room to receive into: at least 64 KiB, and enough for the whole of a
 * partly received answer. Moves unread bytes to the buffer's start, so
 * pointers from elig_cconn_answer() and elig_cconn_input() end here.
 * @return the room, *room bytes of it; NULL if out of memory.
 */
uint8_t *elig_cconn_recv_space(struct elig_cconn *c, size_t *room);

/** n bytes were received into the room (n <= its size). */
void elig_cconn_received(struct elig_cconn *c, size_t n);

/** The bytes received and not consumed (another protocol's answers). */
const uint8_t *elig_cconn_input(const struct elig_cconn *c, size_t *len);

/** Drop the first n bytes of the input (n <= its length). */
void elig_cconn_consume(struct elig_cconn *c, size_t n);

/**
 * The next whole answer frame, consumed: its header in *h, its body at
 * *body (valid until the next elig_cconn_recv_space()). The handshake's
 * answers are taken here and never returned.
 * @return 1 and an answer; 0 when none is whole yet (receive more; send
 *         the send view first if it is not empty); -ELIG_EPROTO (bytes that
 *         are not an answer frame, an answer over ELIG_CCONN_ANSWER_MAX, an
 *         answer during the handshake that is not the handshake's);
 *         -ELIG_EREFUSED (the server refused the handshake: see
 *         elig_cconn_state()); -ENOMEM (AUTH could not be queued);
 *         TLS: -ELIG_ETLS (the session failed: elig_cconn_tls_error()),
 *         -ECONNRESET (the server ended TLS), once the answers decrypted
 *         before were taken.
 */
int elig_cconn_answer(struct elig_cconn *c, struct elig_proto_header *h, const uint8_t **body);

#endif
