/* SPDX-License-Identifier: MIT */
#ifndef ELIG_RESP_H
#define ELIG_RESP_H

#include <stddef.h>
#include <stdint.h>

#include "elig_proto.h"

/**
 * @file
 * Just enough of redis's RESP2 protocol to drive redis-server as a peer in
 * loads and benchmarks: commands out, replies in (simple strings, errors,
 * integers, bulk strings, arrays of them). Replies are parsed in place: the
 * strings point into the caller's buffer. No state, thread-safe.
 */

#define ELIG_RESP_ITEMS 64 /**< array elements kept by elig_resp_parse() */

/** One reply. */
struct elig_resp_reply {
    char type;       /**< '+' simple, '-' error, ':' integer, '$' bulk, '*' array */
    int64_t integer; /**< ':' its value; '$' its length and '*' its count (-1: nil) */
    const uint8_t *str;
    size_t str_len; /**< '+', '-', '$': the string */
    unsigned items; /**< '*': elements kept (bulk strings and integers as text, in order) */
    struct {
        const uint8_t *p;
        size_t len;
    } item[ELIG_RESP_ITEMS];
};

/**
 * Append a command of argc arguments (argv[i], lens[i] bytes each) to b.
 * @return 0; -ENOMEM.
 */
int elig_resp_command(struct elig_pbuf *b, unsigned argc, const char *const argv[],
                      const size_t lens[]);

/**
 * Parse the reply at p (len bytes available); r may be NULL to measure only.
 * Array elements past ELIG_RESP_ITEMS, and nested arrays, are skipped
 * over but not kept.
 * @return the reply's length in bytes; 0 if it is not complete yet;
 *         -EPROTO if the bytes are not RESP.
 */
long elig_resp_parse(const uint8_t *p, size_t len, struct elig_resp_reply *r);

/**
 * Blocking: read from fd until `want` replies have arrived (a pipelined
 * load's acknowledgements), discarding them.
 * @return the number of error replies among them; -EPROTO; -ECONNRESET;
 *         -errno of read(2).
 */
long elig_resp_drain(int fd, uint64_t want);

#endif
