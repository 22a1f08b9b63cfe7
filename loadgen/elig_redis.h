/* SPDX-License-Identifier: MIT */
#ifndef ELIG_REDIS_H
#define ELIG_REDIS_H

#include <stddef.h>
#include <stdint.h>

#include "elig_key.h"
#include "elig_pop.h"

/**
 * @file
 * The population in redis-server, for replaying the same traffic against
 * it (elig_replay with ELIG_REPLAY_REDIS): what a team would build on redis
 * instead of eligd. One hash per qualification record under "q:" + the
 * key's canonical bytes (elig_key_encode()), and one per registered card
 * under "c:" + the card id in 16 hex digits, each holding what an answer
 * carries, insurer name included (docs/loadgen.md lists the fields). A
 * check is one HGETALL; the client applies the rules that eligd applies on
 * the server (birth date, loss, certificate expiry and its grace).
 */

/** Longest key made by elig_redis_qkey() or elig_redis_ckey(). */
#define ELIG_REDIS_KEY_MAX (2 + ELIG_KEY_BYTES_MAX)

/** The hash of a qualification record's key into out. @return its length. */
size_t elig_redis_qkey(const struct elig_key *k, char out[ELIG_REDIS_KEY_MAX]);

/** The hash of a card into out. @return its length. */
size_t elig_redis_ckey(uint64_t card_id, char out[ELIG_REDIS_KEY_MAX]);

/**
 * Load redis-server at addr ("ADDR:PORT") with the population: every
 * person's records and card, pipelined over one connection. Blocking.
 * @param commands set to the number of HSET commands sent
 * @return 0; -EINVAL (bad address); -EIO (redis answered an error);
 *         -ELIG_EPROTO (a population line the feed parser refused: a bug);
 *         -errno of connect(2), read(2) or write(2).
 */
int elig_redis_load(const char *addr, const struct elig_pop *pop, uint64_t *commands);

#endif
