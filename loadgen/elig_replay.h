/* SPDX-License-Identifier: MIT */
#ifndef ELIG_REPLAY_H
#define ELIG_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include "elig_hist.h"
#include "elig_pop.h"

/**
 * @file
 * Traffic against eligd: checks drawn from a month's published mix
 * (facility type, card or number, batch) on keys of the generated
 * population, sent over N connections through one io_uring, every answer
 * checked against what the population says it must be.
 *
 * Open loop (rate > 0): frame k has an intended send time t0 + k / rate and
 * its latency is measured from that time, whether or not the client could
 * send it then: a slow server is charged for the queue it causes (no
 * coordinated omission). Closed loop (rate 0): each connection keeps depth
 * frames in flight, as fast as the server answers.
 */

#define ELIG_REPLAY_METHODS 3 /* card, number, batch entry */

/** What to send. */
struct elig_replay_params {
    const char *server;         /**< "ADDR:PORT" of eligd */
    const struct elig_pop *pop; /**< the population eligd holds (same records, seed, date) */
    const char *month;          /**< mix of monthly_checks_by_facility.csv ("2025-02") */
    uint64_t checks;            /**< checks to send (each BATCH entry counts one) */
    double rate;                /**< frames per second (open loop); 0: closed loop */
    unsigned connections;       /**< connections (default 16) */
    unsigned depth;             /**< closed loop: frames in flight per connection (default 16) */
    unsigned batch_size;        /**< entries per BATCH frame (default 32: an appointment list) */
    uint64_t seed;              /**< the traffic's seed (not the population's) */
    double miss_share;          /**< number checks with a mistyped birth date (default 0.02) */
    double lost_share;          /**< number checks on a lost qualification (default 0.03) */
    double timeout_s;           /**< give up waiting for answers after the last send (default 30) */
    bool progress;              /**< progress (rate, ETA) on stderr when it is a terminal */
};

/** What happened. Arrays are [facility type][method]. */
struct elig_replay_report {
    uint64_t frames_sent, frames_answered;
    uint64_t checks_sent, checks_answered;
    uint64_t frame_errors;                     /**< frames answered with a non-zero frame status */
    uint64_t check_errors;                     /**< checks answered with a non-zero answer status */
    uint64_t unexpected;                       /**< answers that contradict the population */
    uint64_t sent[4][ELIG_REPLAY_METHODS];     /**< the schedule's checks */
    uint64_t answered[4][ELIG_REPLAY_METHODS]; /**< checks answered, counted from the answers */
    uint64_t validity[6];     /**< answered checks by validity code (0: card refused) */
    double seconds;           /**< from the first intended send to the last answer */
    struct elig_hist latency; /**< per frame, ns, from its intended send time */
};

/**
 * Run the traffic. Blocking; one thread.
 * @return 0 (see the report); -EINVAL; -ENOENT (unknown month); -errno of
 *         connect(2) or io_uring; -ETIMEDOUT if answers stopped coming.
 */
int elig_replay_run(const struct elig_replay_params *p, struct elig_replay_report *r);

#endif
