/* SPDX-License-Identifier: MIT */
#ifndef ELIG_ROUND_H
#define ELIG_ROUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_check.h"
#include "elig_proto.h"

/**
 * @file
 * A round of frames: requests from any number of sources (TCP connections,
 * UDP datagrams) decoded into one array of checks, sent through a checker
 * in one call, and answered in frame order, each answer appended to the
 * output buffer its frame names. Every datapath of eligd serves frames
 * through a round, so a frame gets the same answer whichever way it came.
 *
 * Use: elig_round_begin(), then elig_round_add() / elig_round_add_status()
 * per frame until one returns -ENOSPC (the round is full; the frame is
 * left for the next round), then elig_round_run(). Bodies handed to
 * elig_round_add() and the output buffers must stay valid and unmoved until
 * elig_round_run() returns; output buffers may grow (they are only appended
 * to, through their struct elig_pbuf).
 *
 * A round belongs to one thread. It allocates at creation only.
 */

/** Which opcodes a round answers. */
enum elig_round_port {
    ELIG_ROUND_FACILITY = 0, /**< PING, STATS and the checks */
    ELIG_ROUND_ADMIN = 1,    /**< PING, STATS and the ADMIN_* opcodes (through the callback) */
};

/** Round parameters. Zero in an optional field picks the default shown. */
struct elig_round_params {
    enum elig_round_port port; /**< opcodes served */
    size_t max_checks;         /**< optional: checks after which the round is full (4096); one
                                    BATCH may take it over by up to ELIG_PROTO_BATCH_MAX - 1 */
    size_t max_frames;         /**< optional: frames one round holds (8192) */
};

/**
 * Answers a frame the round does not answer itself: STATS and the admin
 * opcodes. The callback appends the answer body to out (the header is
 * written by the round) and sets *status; when *status is not ELIG_PS_OK
 * the round cuts the body back to the first keep_on_error bytes the callback
 * left in *keep_on_error (0 unless it sets it).
 *
 * @return 0; a negative errno (-ENOMEM) that ends the run.
 */
typedef int (*elig_round_plain_fn)(void *ctx, uint8_t opcode, const uint8_t *body, size_t len,
                                   struct elig_pbuf *out, uint8_t *status, size_t *keep_on_error);

/**
 * Receives every answered check after it is encoded (the audit log): the
 * facility code it named (10 bytes), its frame's opcode, the answer and its
 * encoded bytes.
 */
typedef void (*elig_round_audit_fn)(void *ctx, const char *facility, uint8_t opcode,
                                    const struct elig_proto_answer *a, const uint8_t *encoded,
                                    size_t len);

/** Validities an answered check is counted under: 0-5 as answered, and one more for the rest. */
#define ELIG_ROUND_VALIDITIES 7 /**< [6]: answered with an answer status other than OK */

/** Counters of a round's life (cumulative; the owner publishes them). */
struct elig_round_counters {
    uint64_t frames;     /**< frames added */
    uint64_t bad_frames; /**< answered with an error status other than ELIG_PS_UNAVAILABLE */
    uint64_t checks[ELIG_OP_SLOTS][ELIG_ROUND_VALIDITIES]; /**< answered checks by their
                                                              frame's opcode (its slot) and
                                                              validity */
};

/** A round (opaque). */
struct elig_round;

/** Call fn for every answered check of later runs (NULL: none). */
void elig_round_set_audit(struct elig_round *r, elig_round_audit_fn fn, void *ctx);

/** Make a round. @return 0 and *out; -ENOMEM. */
int elig_round_create(const struct elig_round_params *p, struct elig_round **out);
/** Free a round (NULL is fine). */
void elig_round_destroy(struct elig_round *r);

/** Start an empty round; a zero query date in its checks stands for today. */
void elig_round_begin(struct elig_round *r, elig_date_t today);

/**
 * Add one whole frame: its header (already decoded and within the port's
 * body limit) and body. Decides how it is answered: an unknown version or
 * an opcode this port does not serve gets that status; a malformed check
 * body ELIG_PS_BODY, a bad facility code ELIG_PS_FACILITY; checks are
 * prepared for the run.
 *
 * @param out the buffer its answer is appended to
 * @return 0 (taken); -ENOSPC: the round is full (checks or frames), the
 *         frame was not taken and goes into the next round.
 */
int elig_round_add(struct elig_round *r, const struct elig_proto_header *h, const uint8_t *body,
                   struct elig_pbuf *out);

/**
 * Add a frame answered with status and no body (a malformed header, an
 * over-long body, a timeout: the caller's decisions).
 * @return 0; -ENOSPC when the round holds max_frames frames.
 */
int elig_round_add_status(struct elig_round *r, const struct elig_proto_header *h, uint8_t status,
                          struct elig_pbuf *out);

/**
 * Add a frame the caller has answered already: status, and len bytes of body
 * (with any status: a refusal may carry its error code), copied at run time
 * from body (which must stay valid until then). For the handshake and the
 * session's opcodes, whose answers depend on the connection.
 * @return 0; -ENOSPC.
 */
int elig_round_add_answer(struct elig_round *r, const struct elig_proto_header *h, uint8_t status,
                          const uint8_t *body, size_t len, struct elig_pbuf *out);

/**
 * Charges a frame's n checks to the facility's allowance, once the frame
 * has decoded and is going to be checked. false: over the allowance; the
 * frame is answered ELIG_PS_RATE_LIMITED and nothing of it is checked.
 */
typedef bool (*elig_round_spend_fn)(void *ctx, unsigned n);

/** Frames added from now on are charged through fn (NULL: free: a trusted network, UDP). */
void elig_round_spend(struct elig_round *r, elig_round_spend_fn fn, void *ctx);

/**
 * Checks added from now on must name this facility (10 digits), or they are
 * answered ELIG_PS_FACILITY: a connection asks only as the facility it
 * authenticated as. NULL: any valid code (trusted network, UDP).
 */
void elig_round_facility(struct elig_round *r, const char *facility);

/**
 * Whether one more frame carrying n checks (0 for other frames) would be
 * taken now, so that a caller can decide things that must happen once
 * (spend a rate allowance, answer a handshake) before adding it.
 */
bool elig_round_room(const struct elig_round *r, size_t n);

/** Checks the round holds so far. */
size_t elig_round_checks(const struct elig_round *r);

/**
 * Answer every frame of the round in the order added: checks through ck
 * (one elig_checker_run() call), PING echoed, STATS and admin opcodes
 * through plain (NULL: answered ELIG_PS_INTERNAL).
 *
 * @return 0; -ENOMEM (an output buffer could not grow: the outputs of this
 *         round's frames are then incomplete, and the caller must not send
 *         them as they are); a negative value plain returned.
 */
int elig_round_run(struct elig_round *r, struct elig_checker *ck, elig_round_plain_fn plain,
                   void *ctx);

/** The round's counters. */
const struct elig_round_counters *elig_round_counters(const struct elig_round *r);

#endif
