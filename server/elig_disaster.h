/* SPDX-License-Identifier: MIT */
#ifndef ELIG_DISASTER_H
#define ELIG_DISASTER_H

#include <stdbool.h>
#include <stdint.h>

/**
 * @file
 * Disaster mode: while the operator has declared it for some prefectures
 * and until some time, facilities located there may look a patient up by
 * kana name, birth date and sex (LOOKUP_PERSON) when no card or number is
 * at hand. The declaration is a small file in the store's directory
 * (DATA/disaster), written whole by `eligctl disaster` and read again by
 * every eligd worker within a second of a change; no declaration, an
 * expired one or another prefecture means LOOKUP_PERSON is refused.
 *
 *   # eligd disaster mode
 *   prefectures=13,14
 *   from=1765000000        (Unix seconds: declared)
 *   until=1767225600       (Unix seconds: the mode ends)
 *   crc=1a2b3c4d           (CRC32C of the bytes before this line)
 *
 * Pure functions but for the file's reading and writing.
 */

/** A declaration. prefectures 0: none (the mode is off). */
struct elig_disaster {
    uint64_t prefectures; /**< bit p set: prefecture p (1..47) declared */
    int64_t from;         /**< declared at, Unix seconds */
    int64_t until;        /**< the mode ends at, Unix seconds */
};

/**
 * Read the declaration at path; a missing file is "off".
 * @return 0; -ELIG_EDISASTER (damaged: checksum or syntax); -errno.
 */
int elig_disaster_read(const char *path, struct elig_disaster *d);

/** Write d to path whole (synced, renamed). @return 0; -errno. */
int elig_disaster_write(const char *path, const struct elig_disaster *d);

/** Whether d covers a facility (its code's first two digits, the prefecture) at now. */
bool elig_disaster_covers(const struct elig_disaster *d, const char *facility, int64_t now);

/** "13,14" into a mask of prefectures 1..47. @return 0; -EINVAL. */
int elig_disaster_prefectures(const char *s, uint64_t *mask);

#endif
