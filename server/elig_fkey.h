/* SPDX-License-Identifier: MIT */
#ifndef ELIG_FKEY_H
#define ELIG_FKEY_H

#include <stdint.h>

/**
 * @file
 * A facility's key: what both ends of the HELLO/AUTH handshake share
 * (docs/protocol.md, "HELLO"). The server keeps every facility's key in its
 * registry (elig_fac.h); a facility keeps its own in a key file and proves
 * it by answering the server's challenge (the client core, elig_cconn.h).
 * Every function is thread-safe; none keeps state.
 */

#define ELIG_FKEY_LEN           32 /**< bytes of a facility key */
#define ELIG_FKEY_CHALLENGE_LEN 32 /**< bytes of a server challenge */
#define ELIG_FKEY_MAC_LEN       32 /**< bytes of an HMAC-SHA-256 */

/**
 * The proof a facility sends: HMAC-SHA-256 under its key of
 * "eligd-hello-v1" || code (10 bytes) || challenge.
 */
void elig_fkey_proof(const uint8_t key[ELIG_FKEY_LEN], const char *code,
                     const uint8_t challenge[ELIG_FKEY_CHALLENGE_LEN],
                     uint8_t mac[ELIG_FKEY_MAC_LEN]);

/** Parse 64 hex digits into a key. @return 0; -EINVAL. */
int elig_fkey_parse(const char *hex, uint8_t key[ELIG_FKEY_LEN]);

/** A key as 64 lowercase hex digits and a newline, NUL-terminated (66 bytes). */
void elig_fkey_hex(const uint8_t key[ELIG_FKEY_LEN], char out[2 * ELIG_FKEY_LEN + 2]);

/**
 * Read a key file (64 hex digits, a newline allowed).
 * @return 0; -EINVAL (not a key); -errno of fopen (-ENOENT: no file).
 */
int elig_fkey_read(const char *path, uint8_t key[ELIG_FKEY_LEN]);

/**
 * Write a key file: a new file (never an existing one), mode 0600, synced.
 * @return 0; -EEXIST; -errno of open/write/fsync.
 */
int elig_fkey_write(const char *path, const uint8_t key[ELIG_FKEY_LEN]);

/** Initialise libsodium (idempotent, thread-safe). @return 0; -EIO. */
int elig_fkey_init(void);

#endif
