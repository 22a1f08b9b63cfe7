/* SPDX-License-Identifier: MIT */
#ifndef ELIG_SNAP_H
#define ELIG_SNAP_H

#include <stdint.h>

#include "elig_index.h"

/**
 * @file
 * Snapshots: an image of the index as of one applied LSN, so that a cold
 * start loads it and replays only the log after it, and the log before it
 * can be deleted.
 *
 * File <dir>/snapshot-<LSN, 20 digits>.els, format 2 (written):
 *   header   128 bytes: magic "ELIGSNP1", version 2, data offset 4096, LSN,
 *            counts of records, cards and insurer names, creation time, the
 *            first 4 bytes of the store's id (bytes 56-59; zero: none),
 *            CRC32C of bytes 0-59 and 64-127 (at 60), image bytes u64 (64),
 *            block bytes u32 (72, 2 MiB), blocks u32 (76); zero to 4096
 *   image    the segment's bytes from its header page through its last
 *            region (elig_index_image), at offset 4096; all-zero blocks are
 *            holes
 *   table    XXH3-64 of each block of the image, u64 little-endian
 *   trailer  "ELIGEND2", blocks u64, CRC32C of the table
 * Format 1 (still checked, loaded and copied, no longer written):
 *   header   64 bytes, bytes 0-63 as above with version 1, CRC of 0-59
 *   entries  type u8 (1 record, 2 card, 3 insurer name), length u32, bytes:
 *            records and names in the event codec's form (ACQUIRE, INSURER),
 *            cards as id, person, four dates, state
 *   trailer  "ELIGEND1", entry count u64, CRC32C of all entry bytes
 * Written to a temporary name, synced, renamed into place, directory synced:
 * a snapshot file either exists whole or not at all.
 */

/** Snapshot file formats. */
enum elig_snap_format {
    ELIG_SNAP_ENTRIES = 1, /**< encoded items (older versions) */
    ELIG_SNAP_IMAGE = 2,   /**< the segment's image, checksummed per 2 MiB block */
};

/** What a snapshot holds. */
struct elig_snap_info {
    uint64_t lsn;       /**< the applied LSN it is an image of */
    uint64_t records;   /**< qualification records */
    uint64_t cards;     /**< card links */
    uint64_t insurers;  /**< insurer names */
    uint64_t bytes;     /**< file size */
    uint32_t store_tag; /**< the first 4 bytes of the store id it was written from (0: none) */
    uint32_t format;    /**< enum elig_snap_format */
};

/**
 * Write the image of ix (format 2) as of lsn into dir (created if missing).
 * The caller (the writer) must not change ix meanwhile; lookups may go on.
 * What is written is handed to the disk as it goes and dropped from the page
 * cache, so that a snapshot as large as the index does not evict it.
 *
 * @return 0; -EINVAL (ix is a view of an image); -errno of the file system
 *         (the temporary file is removed).
 */
int elig_snap_write(const struct elig_index *ix, const char *dir, uint64_t lsn,
                    struct elig_snap_info *info);

/**
 * Check a snapshot file whole (header, every entry, trailer checksum)
 * without loading it.
 *
 * @return 0 and *info; -ELIG_ESNAPSHOT if it is damaged; -errno.
 */
int elig_snap_check(const char *path, struct elig_snap_info *info);

/**
 * Copy the snapshot src into dir (under its own name, as elig_snap_write()
 * writes: temporary name, synced, renamed), naming store_tag as the store
 * it belongs to: how a store is started from another store's image (a new
 * cluster node from a peer's snapshot). src is checked whole while it is
 * copied; a damaged one leaves nothing in dir.
 *
 * @return 0 and *info (of the copy); -ELIG_ESNAPSHOT (src is damaged);
 *         -errno of the file system.
 */
int elig_snap_copy(const char *src, const char *dir, uint32_t store_tag,
                   struct elig_snap_info *info);

/**
 * Read a snapshot's header only (64 bytes: magic, version, CRC): its LSN,
 * counts and store tag, bytes left 0. Cheap, for choosing among snapshots.
 * @return 0 and *info; -ELIG_ESNAPSHOT if the header is damaged; -errno.
 */
int elig_snap_peek(const char *path, struct elig_snap_info *info);

/**
 * Load a snapshot into an empty index just created (writer view) and record
 * its LSN as applied. An image of ix's own layout is read straight into the
 * segment, each block checked as it lands (at the speed of the disk); one of
 * another layout (the store was made larger since), and format 1, are
 * checked whole first and then inserted item by item.
 *
 * @return 0; -ELIG_ESNAPSHOT if damaged (nothing is loaded: a block found
 *         damaged while loading empties ix again); -EBUSY (ix is not empty);
 *         the errors of the index's bulk inserts (-ELIG_EFULL); -errno.
 */
int elig_snap_load(const char *path, struct elig_index *ix, struct elig_snap_info *info);

/**
 * The snapshot files in dir, newest (highest LSN) first: up to max paths
 * written as dir/name into paths[i] (each PATH_MAX bytes).
 *
 * @return the number found (may exceed max); -errno (-ENOENT: no dir).
 */
int elig_snap_list(const char *dir, char (*paths)[4096], int max);

/** Delete the snapshots of dir older than the newest keep. @return how many; -errno. */
int elig_snap_prune(const char *dir, int keep);

#endif
