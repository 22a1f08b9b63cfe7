/* SPDX-License-Identifier: MIT */
#ifndef ELIG_FAC_H
#define ELIG_FAC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "elig_fkey.h"

/**
 * @file
 * The facility registry: which facilities may ask, with which key.
 *
 * A facility is its 10-digit code (prefecture, fee-table code, number),
 * its kind, whether it is revoked, and a 32-byte secret key shared with it
 * when it was added (or last rotated). A connection proves the key by
 * answering a fresh server challenge with an HMAC-SHA-256 (libsodium),
 * compared in constant time (docs/protocol.md, "HELLO"); the key and the
 * proof are elig_fkey's, which the client library shares.
 *
 * On disk (docs/operations.md, "Facilities") the registry is one text file,
 * mode 0600, replaced atomically (temporary file, fsync, rename, fsync of
 * the directory), ending in a CRC-32C line over everything before it, so a
 * damaged file is refused and named rather than half read. Keys are in it
 * (the server must know them); they are never printed except once by the
 * command that made them, and never logged.
 *
 * A registry in memory is a sorted array: lookups by code are a binary
 * search. Functions on distinct registries are thread-safe; a registry is
 * not changed once shared (eligd swaps a new one in).
 */

#define ELIG_FAC_MAX (1u << 20) /**< facilities one registry may hold */

/** Kinds of facility (the published tables' four). */
enum elig_fac_type {
    ELIG_FAC_HOSPITAL = 0,
    ELIG_FAC_CLINIC = 1,
    ELIG_FAC_DENTAL = 2,
    ELIG_FAC_PHARMACY = 3,
};

/** One facility. */
struct elig_fac {
    char code[11];              /**< 10 digits, NUL-terminated */
    uint8_t type;               /**< enum elig_fac_type */
    bool revoked;               /**< may no longer connect */
    uint32_t key_version;       /**< 1 when added, +1 per rotation */
    int64_t changed;            /**< Unix time of the last add, rotate or revoke */
    uint8_t key[ELIG_FKEY_LEN]; /**< the shared secret */
};

/** A registry (opaque). */
struct elig_fac_registry;

/** An empty registry. @return 0; -ENOMEM. */
int elig_fac_new(struct elig_fac_registry **out);
/** Free a registry (NULL is fine); its keys are wiped first. */
void elig_fac_free(struct elig_fac_registry *r);

/**
 * Read a registry file.
 * @return 0 and *out; -ENOENT (no file); -ELIG_EFACFILE (checksum, syntax,
 *         a duplicate code or a code that is not a facility code: the file
 *         is damaged); -ENOMEM; -errno of open/read.
 */
int elig_fac_load(const char *path, struct elig_fac_registry **out);

/**
 * Write r to path atomically (path.tmp, fsync, rename, fsync of the
 * directory), mode 0600.
 * @return 0; -errno of the file system calls.
 */
int elig_fac_save(const struct elig_fac_registry *r, const char *path);

/** The facility of code, or NULL. */
const struct elig_fac *elig_fac_find(const struct elig_fac_registry *r, const char *code);
/** Facilities held, and the i-th in code order. */
size_t elig_fac_count(const struct elig_fac_registry *r);
const struct elig_fac *elig_fac_at(const struct elig_fac_registry *r, size_t i);

/**
 * Add a facility with a new random key (into key_out, for the operator to
 * hand over once).
 * @return 0; -EINVAL (not a facility code, or a kind its fee-table code
 *         cannot have: hospital and clinic are '1', dental '3', pharmacy
 *         '4'); -EEXIST; -ENOSPC (ELIG_FAC_MAX); -ENOMEM.
 */
int elig_fac_add(struct elig_fac_registry *r, const char *code, enum elig_fac_type type,
                 int64_t now, uint8_t key_out[ELIG_FKEY_LEN]);
/** Give a facility a new random key (into key_out). @return 0; -ENOENT; -EPERM (revoked). */
int elig_fac_rotate(struct elig_fac_registry *r, const char *code, int64_t now,
                    uint8_t key_out[ELIG_FKEY_LEN]);
/** Revoke a facility (its key is wiped). @return 0; -ENOENT; -EALREADY. */
int elig_fac_revoke(struct elig_fac_registry *r, const char *code, int64_t now);

/** "hospital", "clinic", "dental", "pharmacy"; parse: @return 0; -EINVAL. */
const char *elig_fac_type_name(uint8_t type);
int elig_fac_type_parse(const char *s, enum elig_fac_type *out);

/* ---- the handshake ------------------------------------------------------ */

/** A fresh random challenge (libsodium's CSPRNG). */
void elig_fac_challenge(uint8_t out[ELIG_FKEY_CHALLENGE_LEN]);

/** Whether mac proves f's key over challenge (constant time; false if revoked). */
bool elig_fac_verify(const struct elig_fac *f, const uint8_t challenge[ELIG_FKEY_CHALLENGE_LEN],
                     const uint8_t mac[ELIG_FKEY_MAC_LEN]);

#endif
