/* SPDX-License-Identifier: MIT */
#ifndef ELIG_REPLAY_H
#define ELIG_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_hist.h"
#include "elig_pop.h"

/**
 * @file
 * Traffic against eligd (or redis-server holding the same population):
 * checks drawn from a month's published mix (facility type, card or
 * number, batch) and placed in the month by its schedule (elig_sched: hour
 * of day, kind of day), on keys of the generated population, sent over N
 * connections through one io_uring, every answer checked against what the
 * population says it must be.
 *
 * Three ways to pace it:
 * - speed > 0: open loop on the schedule: frame k is due at t0 + (its
 *   place in the month - the first frame's place) / speed;
 * - rate > 0: open loop at a constant rate, frame k due at t0 + k / rate;
 * - neither: closed loop, depth frames in flight per connection.
 * In the open loops a frame's latency is measured from the time it was
 * due, whether or not the client could send it then: a slow server is
 * charged for the queue it causes (no coordinated omission).
 */

#define ELIG_REPLAY_METHODS 3 /* card, number, batch entry */

/** Who answers. */
enum elig_replay_target {
    ELIG_REPLAY_ELIGD, /**< eligd's protocol (docs/protocol.md) */
    ELIG_REPLAY_REDIS, /**< redis-server loaded by elig_redis_load(): HGETALL per check */
};

/**
 * A datagram transport instead of TCP: eligd's UDP datapath, which the
 * program wires to a DPDK port (elig_client_dgram). Each connection is one flow
 * (its own source port); its frames go out packed into datagrams of whole
 * frames, and answers come back per flow, in order, but may be lost.
 */
struct elig_tls_ctx;

struct elig_replay_dgram {
    void *ctx;
    size_t max_payload; /**< largest datagram payload */
    /** Queue one datagram of flow. @return 0; a negative errno. */
    int (*send)(void *ctx, unsigned flow, const uint8_t *payload, size_t len);
    /** Send what is queued. */
    void (*flush)(void *ctx);
    /** Receive what waits: deliver(arg, flow, payload, len) per datagram; returns how many. */
    unsigned (*poll)(void *ctx,
                     void (*deliver)(void *arg, unsigned flow, const uint8_t *p, size_t len),
                     void *arg);
};

/** What to send. */
struct elig_replay_params {
    const char *server;                    /**< "ADDR:PORT" (TCP; unused with dgram), or several
                                                separated by commas (eligd nodes serving the same
                                                data): each connection starts on the first that
                                                answers and, when its connection is lost, moves
                                                to the next, sending again the frames that were
                                                in flight (checks are reads) */
    struct elig_tls_ctx *tls;              /**< optional: TLS to eligd with this client context
                                                (its certificate names one facility: eligd must
                                                trust the network for the month's mix) */
    const struct elig_replay_dgram *dgram; /**< optional: datagrams to eligd instead of TCP */
    enum elig_replay_target target;        /**< eligd or redis */
    const struct elig_pop *pop; /**< the population the server holds (same records, seed, date) */
    const char *month;    /**< mix and calendar of monthly_checks_by_facility.csv ("2025-02") */
    uint64_t checks;      /**< the month's checks (each BATCH entry counts one); without a window,
                               the replay ends when they are sent */
    double from_s;        /**< window: start, seconds from the month's start */
    double hours;         /**< window: its length in hours; 0: no window */
    double speed;         /**< > 0: open loop on the schedule, month seconds per real second */
    double rate;          /**< > 0 (and speed 0): open loop, frames per second */
    unsigned connections; /**< connections (default 16) */
    unsigned depth;       /**< closed loop: frames in flight per connection (default 16) */
    unsigned batch_size;  /**< entries per BATCH frame (default 32: an appointment list) */
    uint64_t seed;        /**< the traffic's seed (not the population's) */
    double miss_share;    /**< number checks with a mistyped birth date (default 0.02) */
    double lost_share;    /**< number checks on a lost qualification (default 0.03) */
    double timeout_s;     /**< give up waiting for answers after the last send (default 30) */
    double loss_s;        /**< dgram: a flow silent this long with frames in flight has lost
                               them; TCP with several servers: a connection silent this long
                               with frames in flight is taken as lost and moved (a node cut
                               off without a reset); default 1 */
    double interval_s;    /**< time-series interval, seconds (default 1) */
    bool progress;        /**< progress (rate, ETA) on stderr when it is a terminal */
};

/** One interval of the time series. */
struct elig_replay_point {
    double t;                        /**< seconds from the start to the interval's end */
    double month_h;                  /**< hours into the month of the last frame sent by then */
    uint64_t checks;                 /**< checks answered in the interval */
    uint64_t frames;                 /**< frames answered in the interval */
    uint64_t p50_ns, p99_ns, max_ns; /**< latency of the interval's answered frames */
};

/** What happened. Arrays are [facility type][method]. */
struct elig_replay_report {
    uint64_t frames_sent, frames_answered;
    uint64_t checks_sent, checks_answered;
    uint64_t frame_errors;                 /**< frames answered with a non-zero frame status */
    uint64_t check_errors;                 /**< checks answered with a non-zero answer status */
    uint64_t unexpected;                   /**< answers that contradict the population */
    uint64_t frames_lost, checks_lost;     /**< dgram: never answered (counted lost) */
    uint64_t failovers;                    /**< connections moved to another server */
    uint64_t behind;                       /**< answers BEHIND that moved their connection */
    uint64_t frames_resent, checks_resent; /**< in flight on a lost connection: sent again */
    double longest_gap_s; /**< the longest time without an answer while frames were in flight */
    uint64_t sent[4][ELIG_REPLAY_METHODS];     /**< the schedule's checks */
    uint64_t answered[4][ELIG_REPLAY_METHODS]; /**< checks answered, counted from the answers */
    uint64_t validity[6];             /**< answered checks by validity code (0: card refused) */
    double seconds;                   /**< from the first intended send to the last answer */
    double month_from_h, month_to_h;  /**< the part of the month replayed, hours */
    struct elig_hist latency;         /**< per frame, ns, from its intended send time */
    struct elig_replay_point *series; /**< malloc'd; elig_replay_report_free() */
    size_t points;
};

/**
 * Run the traffic. Blocking; one thread.
 * @return 0 (see the report); -EINVAL; -ENOENT (unknown month); -ELIG_EPROTO
 *         (an answer that is not the protocol's); -errno of connect(2) or
 *         io_uring; -ETIMEDOUT if answers stopped coming, or no server could be
 *         reached again for timeout_s after a connection was lost; -EMSGSIZE
 *         (dgram: a frame larger than a datagram: lower batch_size).
 */
int elig_replay_run(const struct elig_replay_params *p, struct elig_replay_report *r);

/** Free what a report holds (its series); the report may be reused. */
void elig_replay_report_free(struct elig_replay_report *r);

#endif
