/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CHUNK_H
#define ELIG_CHUNK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * The results of recent update chunks, by chunk id: what lets a sender
 * retry a chunk safely. A chunk is one unit of the log (an ADMIN_APPEND
 * frame, a chunk of `eligctl append`) carrying a 16-byte id chosen by the
 * sender; once applied, its result (first LSN, event count, each event's
 * status) is kept here, and a chunk arriving again with the same id is
 * answered with that result instead of being logged twice.
 *
 * The table holds the last ELIG_CHUNK_KEEP chunks in memory and appends each
 * result to a file (DATA/chunks), so a restart that reattaches its segment
 * (and so does not replay those chunks) still knows them. The file needs no
 * fsync of its own: a crash that loses its unsynced tail (power loss) also
 * loses the shared-memory segment, and the cold start that follows replays
 * the log and records those chunks again; elig_chunk_sync() makes it durable
 * when a snapshot is taken (after which the log before it may be gone).
 * Each entry carries a CRC32C; a torn or damaged entry ends the file when it
 * is read, and the file is rewritten from memory when it passes
 * ELIG_CHUNK_FILE_MAX.
 *
 * Thread-safety: none; the store calls it under its writer mutex.
 */

#define ELIG_CHUNK_ID_LEN   16
#define ELIG_CHUNK_KEEP     1024               /**< chunks whose results are kept */
#define ELIG_CHUNK_FILE_MAX (8u * 1024 * 1024) /**< the file is rewritten past this size */

/** The table (opaque). */
struct elig_chunk_table;

/** One chunk's result, as elig_chunk_find() gives it. */
struct elig_chunk_result {
    uint64_t hash; /**< digest of the chunk's events: the same id with other events is refused */
    uint64_t first_lsn; /**< LSN of its first event */
    uint32_t n;         /**< its events */
};

/**
 * Open the table, reading the results the file at path holds (created if
 * missing).
 *
 * @return 0 and *out; -ENOMEM; -errno of the file system.
 */
int elig_chunk_open(const char *path, struct elig_chunk_table **out);

/**
 * The result of chunk id, if it is among the kept ones.
 *
 * @param status if not NULL, status[0..n) receives each event's status
 *               (0 applied, or the update model's negative reason)
 * @param max    room in status; a chunk of more events is returned without them
 * @return true and *res set; false if the id is not known.
 */
bool elig_chunk_find(const struct elig_chunk_table *t, const uint8_t id[ELIG_CHUNK_ID_LEN],
                     struct elig_chunk_result *res, int *status, size_t max);

/**
 * Keep chunk id's result (replacing an older one of the same id) and append
 * it to the file.
 *
 * @return 0; -ENOMEM; -errno of the file system (the result stays in memory).
 */
int elig_chunk_add(struct elig_chunk_table *t, const uint8_t id[ELIG_CHUNK_ID_LEN],
                   const struct elig_chunk_result *res, const int *status);

/** fdatasync the file. @return 0 or -errno. */
int elig_chunk_sync(struct elig_chunk_table *t);

/** Close. NULL is ignored. */
void elig_chunk_close(struct elig_chunk_table *t);

/** Log record kind of a chunk's leading record (kinds from 0xC000 are the store's, not events). */
#define ELIG_CHUNK_RECORD_KIND 0xC001

/**
 * The log record that leads a chunk's events (ELIG_CHUNK_RECORD_KIND):
 *
 *   offset size
 *        0   16  the chunk id
 *       16    8  digest of the events (XXH3-64 of their encoded bytes)
 *       24    4  event count
 *       28    8  entry time, Unix seconds (absent in records written before
 *                it was added: 28 bytes, entry time unknown)
 */
#define ELIG_CHUNK_RECORD_V1 28
#define ELIG_CHUNK_RECORD    36

struct elig_chunk_record {
    uint8_t id[ELIG_CHUNK_ID_LEN];
    uint64_t hash;
    uint32_t n;
    int64_t entered; /**< 0: unknown */
};

/** Write rec as ELIG_CHUNK_RECORD bytes at out. */
void elig_chunk_record_encode(const struct elig_chunk_record *rec, uint8_t out[ELIG_CHUNK_RECORD]);

/** Read a chunk record of either length. @return 0; -ELIG_EKIND (not one). */
int elig_chunk_record_decode(const uint8_t *payload, size_t len, struct elig_chunk_record *rec);

#endif
