/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CHECK_H
#define ELIG_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_index.h"
#include "elig_proto.h"

/**
 * @file
 * Checks answered in batches: decoded requests in, protocol answers out.
 * The only place where the network paths meet the index and the rules, so
 * TCP, UDP and any future path give the same answer to the same request.
 *
 * A batch goes through the index in three passes over groups of requests:
 * key and card lookups (elig_index_lookup / _cards, their cache misses
 * overlapped), every record of the persons found (elig_index_gather), then
 * the rules (elig_eval_number / _card) per request.
 */

/** What a request asks for. */
enum elig_check_kind {
    ELIG_CHECK_NUMBER = 1, /**< by insurance-card number + birth date */
    ELIG_CHECK_CARD = 2,   /**< by card id */
};

/** One prepared check (from elig_check_prepare_*). */
struct elig_check_req {
    uint8_t kind;     /**< enum elig_check_kind */
    uint8_t status;   /**< ELIG_AS_OK, or why it is answered without a lookup */
    bool consent;     /**< the limit category may be disclosed */
    uint8_t fee;      /**< facility fee-table code: '1' medical, '3' dental, '4' pharmacy */
    elig_date_t date; /**< date of service */
    elig_date_t birth;
    uint64_t card_id;
    struct elig_key key;
};

/** Counters of one checker (one thread's): read and summed by the server's STATS. */
struct elig_check_counters {
    uint64_t checks;                /**< answers given */
    uint64_t by_number, by_card;    /**< checks by method */
    uint64_t validity[6];           /**< answers by validity code (0: refused) */
    uint64_t status[ELIG_AS_COUNT]; /**< answers by elig_astatus */
    uint64_t by_fee[3];             /**< medical, dental, pharmacy */
    uint64_t refusal[4];            /**< card refusals by enum elig_refusal - 1 */
};

/** The counters as 64-bit words (one published copy per thread is summed by STATS). */
#define ELIG_CHECK_WORDS (sizeof(struct elig_check_counters) / sizeof(uint64_t))

/**
 * One counter as STATS names it: its word in struct elig_check_counters, and
 * its Prometheus series (the metrics endpoint).
 */
struct elig_check_stat {
    const char *name;   /**< "checks", "answers_valid", ... */
    unsigned word;      /**< index of its uint64_t in the struct */
    const char *metric; /**< its family ("eligd_answers_total"), or NULL: not a series */
    const char *labels; /**< its labels within the family ("validity=\"valid\"") */
};

/**
 * Every counter of struct elig_check_counters that STATS reports (all but
 * status[ELIG_AS_OK], which is checks minus the others), in report order:
 * the one table both datapaths' STATS follow.
 */
extern const struct elig_check_stat elig_check_stats[];
extern const unsigned elig_check_stats_count;

/** Receives each answer in request order; a non-zero return stops the run. */
typedef int (*elig_check_emit_fn)(void *ctx, size_t i, const struct elig_proto_answer *ans);

/** A checker: scratch space for one thread's batches (opaque). */
struct elig_checker;

/**
 * A reference-number base for the checker of answering thread id: id in the
 * top byte, then 16 numbers per microsecond of the wall clock at the call,
 * so references stay unique across threads and across restarts (unless
 * one thread answers more than 16 checks per microsecond of its life).
 * eligd's io_uring workers use ids 0..127, its DPDK lcores 128..255.
 */
uint64_t elig_check_ref_base(uint8_t id);

/**
 * Make a checker that reads ix.
 *
 * @param ref_base first reference number it hands out (each answer takes
 *                 the next); callers give each checker a disjoint range
 * @return 0; -ENOMEM.
 */
int elig_checker_create(const struct elig_index *ix, uint64_t ref_base, struct elig_checker **out);
void elig_checker_destroy(struct elig_checker *ck);

/** Read ix from now on (after a grow; it holds what the old one held); nothing cached from the
 * old one is used again. Not thread-safe. */
void elig_checker_set_index(struct elig_checker *ck, const struct elig_index *ix);

/**
 * Prepare a number check from its decoded form. Sets r->status to
 * ELIG_AS_BAD_KEY or ELIG_AS_BAD_DATE when a field does not validate (the
 * request is then answered with that status and no lookup).
 *
 * @param fee   the facility's fee-table code character
 * @param today the date a zero query date stands for
 */
void elig_check_prepare_number(const struct elig_proto_number *q, char fee, elig_date_t today,
                               struct elig_check_req *r);
/** Prepare a card check (ELIG_AS_BAD_DATE / ELIG_AS_BAD_CARD as above). */
void elig_check_prepare_card(const struct elig_proto_card *q, char fee, elig_date_t today,
                             struct elig_check_req *r);

/**
 * Answer reqs[0..n) in order, calling emit for each. Not thread-safe on one
 * checker; use one per thread. Lock-free with respect to the writer.
 * Insurer names are cached between runs until the index's applied LSN
 * moves (the writer commits every change with its LSN).
 *
 * @return 0; the first non-zero value emit returned.
 */
int elig_checker_run(struct elig_checker *ck, const struct elig_check_req *reqs, size_t n,
                     elig_check_emit_fn emit, void *ctx);

/** The next reference number of this checker (a lookup by person's own). Not thread-safe. */
uint64_t elig_checker_reference(struct elig_checker *ck);

/**
 * The answer for one person found by the lookup by person (disaster mode):
 * its qualifications on date judged as a card check judges them
 * (elig_eval_person), insurer names and co-payment filled in as for any
 * check, a reference number of this checker's. Valid until the checker's
 * next call. Not thread-safe on one checker.
 */
const struct elig_proto_answer *elig_checker_person(struct elig_checker *ck, uint64_t person_id,
                                                    elig_date_t date, bool consent);

/** This checker's counters (owned by it; read them from its thread, or racily for stats). */
const struct elig_check_counters *elig_checker_counters(const struct elig_checker *ck);

#endif
