/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CLIENT_H
#define ELIG_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "elig_proto.h"

/**
 * @file
 * A small blocking client of the eligd protocol, for eligctl, tests and the
 * load generator's setup: connect, queue frames, flush, read answers in
 * order. Its protocol state is the client core (elig_cconn.h), which a
 * caller's own event loop can take over (elig_client_open_core()). Pipelining is the caller's:
 * queue many frames, flush once, then read as many answers. Every wait is bounded by the timeout
 * given at connect time. One client per thread; no global state.
 */

/** A connection (opaque). */
struct elig_client;
struct elig_cconn;

/**
 * Connect to "HOST:PORT" (an IPv4 address, "[IPv6]:PORT" or a host name:
 * elig_addr_resolve()) or, when addr contains a '/', to a Unix socket path.
 * A comma-separated list of HOST:PORT (eligd nodes serving the same data)
 * is tried in its order, each address of each name in turn, until one
 * answers: a node that is down costs a refused connect (or timeout_ms).
 *
 * @param timeout_ms bound on connect and on every later wait
 * @return 0 and *out; -ELIG_EADDRESS (bad address, unknown host); -EINVAL
 *         (a socket path too long); -ETIMEDOUT; -errno of connect(2).
 */
int elig_client_connect(const char *addr, int timeout_ms, struct elig_client **out);

/**
 * The servers of a comma-separated list ("HOST:PORT,HOST:PORT"), each into
 * out[i] (NUL-terminated), in order: what elig_client_connect() tries in
 * turn, for callers that move between them themselves (the load generator).
 * @return how many (at least 1); -ELIG_EADDRESS (an empty entry, one over
 *         255 bytes, more than max). Thread-safe.
 */
int elig_client_servers(const char *list, char (*out)[256], size_t max);

struct elig_tls_ctx;

/**
 * Connect as elig_client_connect() does, then speak TLS 1.3 with the client
 * context tls (elig_tls.h: the facility's certificate and key, the CA of
 * eligd's certificate). The handshake ends with the first answer read; a
 * refusal of either side's certificate shows there as -ELIG_ETLS (the
 * reason: elig_client_tls_error()) and a connection the server closed
 * after the handshake (a revoked facility) as -ECONNRESET after the
 * UNAUTHENTICATED answer. Over TLS the certificate names the facility:
 * no elig_client_hello() is needed.
 * @return 0 and *out; the errors of elig_client_connect(); -ENOMEM.
 */
int elig_client_connect_tls(const char *addr, int timeout_ms, struct elig_tls_ctx *tls,
                            struct elig_client **out);

/**
 * A client TLS context for eligd at addr: the facility's certificate and key,
 * the CA of eligd's certificate, which must name addr's host (of a list, the
 * first server's: the nodes' certificates name the service).
 * @return 0 and *out; -ELIG_EADDRESS (addr); the errors of elig_tls_ctx_new()
 *         (the refused file named in err).
 */
int elig_client_tls_context(const char *addr, const char *cert, const char *key, const char *ca,
                            struct elig_tls_ctx **out, char *err, size_t err_size);

/** Why the TLS session of c failed: a constant string. */
const char *elig_client_tls_error(const struct elig_client *c);

/**
 * Authenticate as facility code (HELLO, then AUTH with the HMAC of the
 * server's challenge under key): needed before any check when eligd does
 * not trust the network.
 * @return 0; -ELIG_EREFUSED with *status (ELIG_PS_UNAUTHENTICATED: wrong
 *         key, unknown or revoked facility; ELIG_PS_FACILITY_CONNS; ...);
 *         the errors of elig_client_call().
 */
int elig_client_hello(struct elig_client *c, const char *code, const uint8_t key[32],
                      uint8_t *status);

/**
 * A plain connected socket to addr ("HOST:PORT", "[IPv6]:PORT"; each address
 * of a name in turn), blocking, TCP_NODELAY: for callers that drive their
 * own event loop (the load generator, the benchmarks) and speak the codec.
 * @return the socket; -ELIG_EADDRESS; -errno of socket(2) or connect(2).
 */
int elig_client_dial(const char *addr);

/** Close and free. NULL is ignored. */
void elig_client_close(struct elig_client *c);

/** How elig_client_open_core() opens a connection. */
struct elig_client_open {
    const char *addr;         /**< as elig_client_connect() takes it */
    int timeout_ms;           /**< bound on connect and on the handshake's waits */
    struct elig_tls_ctx *tls; /**< optional: TLS with this client context */
    const char *code;         /**< optional: HELLO/AUTH as this facility ... */
    const uint8_t *key;       /**< ... with its 32-byte key */
};

/**
 * Connect (over TLS when o->tls), authenticate when o->code (as
 * elig_client_hello()), and hand the connection to the caller's own event
 * loop: the socket (made blocking, as io_uring's sends and receives want
 * it) and the client core with the connection's state (its TLS session,
 * the next request id, an ended handshake), which the caller drives from
 * then on and frees with elig_cconn_free(). What an event loop of many
 * connections does to open each of them. Over TLS the handshake ends in the caller's loop,
 * with the first answers.
 * @return the socket and *cc; the errors of those calls (*status as
 *         elig_client_hello() sets it).
 */
int elig_client_open_core(const struct elig_client_open *o, struct elig_cconn **cc,
                          uint8_t *status);

/**
 * Start a request frame; encode its body into the returned buffer, then call
 * elig_client_end(). The request id is the client's next (returned in *id).
 * @return the buffer; NULL if out of memory.
 */
struct elig_pbuf *elig_client_begin(struct elig_client *c, uint8_t opcode, uint32_t *id);
/** Finish the frame begun last. */
void elig_client_end(struct elig_client *c);

/** Queue raw bytes as they are (tests of malformed input). @return 0; -ENOMEM. */
int elig_client_raw(struct elig_client *c, const void *bytes, size_t len);

/** Send everything queued. @return 0; -ETIMEDOUT; -errno (-EPIPE: the server closed). */
int elig_client_flush(struct elig_client *c);

/**
 * Read the next answer frame. *body points into the client's buffer and
 * stays valid until the next call.
 *
 * @return 0; -ECONNRESET if the server closed the connection first;
 *         -ELIG_EPROTO if the bytes are not an answer frame; -ETIMEDOUT;
 *         -errno.
 */
int elig_client_recv(struct elig_client *c, struct elig_proto_header *h, const uint8_t **body);

/**
 * One round trip: send a frame with body[0..len) and read its answer.
 * @return 0 (h->status may still carry an error); the errors of
 *         elig_client_flush() and elig_client_recv(); -ELIG_EPROTO if the
 *         answer's request id or opcode does not match.
 */
int elig_client_call(struct elig_client *c, uint8_t opcode, const void *body, size_t len,
                     struct elig_proto_header *h, const uint8_t **answer);

/**
 * Check by number (LOOKUP_NUMBER) and decode the answer.
 * @return 0 and *a; -ELIG_EREFUSED with *status set if the frame was refused;
 *         the errors of elig_client_call().
 */
int elig_client_lookup_number(struct elig_client *c, const struct elig_proto_number *q,
                              struct elig_proto_answer *a, uint8_t *status);

/** What a LOOKUP_PERSON answered. */
struct elig_client_persons {
    uint8_t result;     /**< enum elig_person_result */
    uint8_t count;      /**< persons answered, 0..ELIG_PERSON_MAX */
    uint64_t reference; /**< the lookup's reference number (its audit record) */
    struct elig_proto_answer ans[ELIG_PERSON_MAX]; /**< one answer a person */
};

/**
 * Look a patient up by person in a declared disaster (LOOKUP_PERSON).
 * @return 0 and *out; -ELIG_EREFUSED with *status (no-disaster: the mode is
 *         not declared for this facility now; rate-limited: the lookups'
 *         allowance is spent); the errors of elig_client_call().
 */
int elig_client_lookup_person(struct elig_client *c, const struct elig_proto_person *q,
                              struct elig_client_persons *out, uint8_t *status);

/** Check by card (LOOKUP_CARD), as elig_client_lookup_number(). */
int elig_client_lookup_card(struct elig_client *c, const struct elig_proto_card *q,
                            struct elig_proto_answer *a, uint8_t *status);

/**
 * Hand in an appointment list (LIST_SUBMIT): qs[0..n) (n at most
 * ELIG_PROTO_LIST_MAX) in parts of ELIG_PROTO_BATCH_MAX, one round trip
 * each, the last one closing the list. Nothing else may be in flight on c.
 * @param st     out: the list's reception number and state (queued once all is in)
 * @param status out: the frame status when refused
 * @param code   out: the error code a refusal carried (0: none)
 * @return 0; -EINVAL (n 0 or over the limit); -ELIG_EREFUSED (*status, *code:
 *         not-found, rate-limited: too many lists waiting, malformed-body
 *         -E2BIG, unavailable); the errors of elig_client_call().
 */
int elig_client_list_submit(struct elig_client *c, const char *facility,
                            const struct elig_proto_number *qs, size_t n,
                            struct elig_proto_list_state *st, uint8_t *status, int *code);

/** Receives each answer of a fetched page, with its entry's index; non-zero stops. */
typedef int (*elig_client_answer_fn)(void *ctx, uint32_t index, const struct elig_proto_answer *a);

/**
 * One LIST_FETCH: the list's state and, once it is done, up to max answers
 * from entry first (as many as one answer frame holds), each handed to fn.
 * @param count out: answers in this page (continue from first + count)
 * @return 0; -ELIG_EREFUSED (*status: not-found for an unknown reception
 *         number, or another facility's); -ELIG_EPROTO; fn's negative value.
 */
int elig_client_list_fetch(struct elig_client *c, const char *facility, uint64_t reception,
                           uint32_t first, uint16_t max, struct elig_proto_list_state *st,
                           elig_client_answer_fn fn, void *ctx, uint16_t *count, uint8_t *status);

struct elig_event;

/**
 * Queue an ADMIN_APPEND frame of evs[0..n) (the admin socket's opcode);
 * flush and read its answer as for any frame.
 * @param chunk_id NULL, or ELIG_PROTO_CHUNK_ID_LEN bytes naming the chunk:
 *                 sent again with the same id, it is applied once and
 *                 answered with its first result
 * @return 0; -EINVAL if n is 0 or over ELIG_PROTO_APPEND_MAX; -ENOMEM; the
 *         errors of elig_event_encode().
 */
int elig_client_queue_append(struct elig_client *c, const uint8_t *chunk_id,
                             const struct elig_event *evs, size_t n);

/**
 * elig_client_queue_append() with the chunk's entry time: a back-fill of
 * events received at that Unix time (their registration lag counts from it;
 * docs/rules.md). entered 0: eligd's clock when it logs them.
 * @return as elig_client_queue_append(); -EINVAL also for an entry time
 *         below 0, or one without a chunk id.
 */
int elig_client_queue_append_at(struct elig_client *c, const uint8_t *chunk_id, int64_t entered,
                                const struct elig_event *evs, size_t n);

/**
 * One ADMIN_APPEND round trip: evs[0..n) queued (elig_client_queue_append_at(),
 * entered 0 for now),
 * sent, and the answer decoded. Nothing else may be in flight on c.
 * @param first   the LSN given to evs[0]
 * @param status  status[0..n): each event's result (0 applied, or the update
 *                model's negative reason)
 * @param pstatus set to the frame's status (ELIG_PS_OK on success)
 * @param code    when the frame was refused: the error code its body
 *                carried (0: none)
 * @return 0; -ELIG_EREFUSED (*pstatus, *code say why); -ELIG_EPROTO (an
 *         answer of another length); the errors of elig_client_queue_append(),
 *         elig_client_flush() and elig_client_recv().
 */
int elig_client_append(struct elig_client *c, const uint8_t *chunk_id, int64_t entered,
                       const struct elig_event *evs, size_t n, uint64_t *first, int *status,
                       uint8_t *pstatus, int *code);

/** Receives each counter of a STATS answer. */
typedef void (*elig_client_stat_fn)(void *ctx, const char *name, uint64_t value);

/**
 * STATS (or ADMIN_STATS with opcode ELIG_OP_ADMIN_STATS).
 * @return 0; -ELIG_EREFUSED (status in *status); the errors of elig_client_call().
 */
int elig_client_stats(struct elig_client *c, uint8_t opcode, elig_client_stat_fn fn, void *ctx,
                      uint8_t *status);

#endif
