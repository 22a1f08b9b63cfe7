/* SPDX-License-Identifier: MIT */
#ifndef ELIG_SEG_H
#define ELIG_SEG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * The mapped segment: one file on tmpfs or hugetlbfs that holds the whole
 * index, mapped shared by the one writer and by any number of readers in any
 * process. This layer owns the file, the mapping, the page size, the
 * single-writer lock and the self-describing header; the index decides what
 * goes in the regions the header lists. Everything inside is addressed by
 * offsets from the base, never by pointers, so each process may map it at a
 * different address.
 */

#define ELIG_SEG_MAGIC       "ELIGSEG1" /**< 8 bytes at offset 0 */
#define ELIG_SEG_HEADER_SIZE 4096       /**< the header occupies the first 4 KiB */
#define ELIG_SEG_REGIONS_MAX 16         /**< regions the header can list */
#define ELIG_SEG_HUGE_PAGE   (2u << 20) /**< huge page size used (2 MiB) */

/** Which pages the caller wants. */
enum elig_seg_pages {
    ELIG_SEG_PAGES_AUTO = 0, /**< huge pages when the system offers them, else 4 KiB */
    ELIG_SEG_PAGES_SMALL,    /**< 4 KiB pages only */
    ELIG_SEG_PAGES_HUGE,     /**< 2 MiB pages or fail with -ELIG_ENOHUGEPAGES */
};

/** The policies' names by value, NULL-terminated: "auto", "small", "huge" (--pages). */
extern const char *const elig_seg_pages_names[];

/** Which pages back a mapped segment. */
enum elig_seg_backing {
    ELIG_SEG_BACKING_SMALL = 1, /**< 4 KiB pages */
    ELIG_SEG_BACKING_THP,       /**< tmpfs with transparent huge pages (madvise accepted) */
    ELIG_SEG_BACKING_HUGETLB,   /**< hugetlbfs: 2 MiB pages reserved up front */
};

/** Segment state recorded in the header. */
enum elig_seg_state {
    ELIG_SEG_CLEAN = 1,    /**< the last writer closed it in an orderly way */
    ELIG_SEG_DIRTY = 2,    /**< a writer has it open, or died with it open */
    ELIG_SEG_REPLACED = 3, /**< a larger segment took its path (elig_seg_retire()): reopen */
};

/** One region of the segment: where a part of the index lives. */
struct elig_seg_region {
    uint64_t offset; /**< from the base of the mapping; 0 = unused */
    uint64_t size;   /**< bytes */
};

/**
 * The header, at offset 0. Readers take a consistent copy with
 * elig_seg_header_read(); the writer changes it with elig_seg_header_publish().
 */
struct elig_seg_header {
    char magic[8];           /**< ELIG_SEG_MAGIC */
    uint32_t layout_version; /**< version of the index layout in the regions */
    uint32_t header_size;    /**< ELIG_SEG_HEADER_SIZE */
    uint64_t seq;            /**< header sequence: odd while the writer changes it */
    uint64_t segment_size;   /**< bytes of the file and mapping */
    uint64_t capacity;       /**< records the segment was sized for */
    uint64_t count;          /**< records it holds */
    uint64_t applied_lsn;    /**< last log sequence number applied */
    uint32_t state;          /**< enum elig_seg_state */
    uint32_t backing;        /**< enum elig_seg_backing it was created with */
    uint64_t created_unix;   /**< creation time, seconds since 1970 */
    uint8_t store_id[16];    /**< the store it belongs to (all zero: none) */
    struct elig_seg_region regions[ELIG_SEG_REGIONS_MAX]; /**< the index's layout */
    uint64_t checksum; /**< XXH3-64 of the header with seq and checksum taken as 0 */
};

/** Creation parameters. */
struct elig_seg_params {
    const char *path;          /**< file to create; must not exist (tmpfs or hugetlbfs) */
    uint64_t size;             /**< bytes needed, header included; rounded up to the page size */
    uint64_t capacity;         /**< records the layout is sized for, recorded in the header */
    uint32_t layout_version;   /**< recorded in the header and checked on open */
    enum elig_seg_pages pages; /**< page policy; on hugetlbfs huge pages are always used */
    const uint8_t *store_id;   /**< 16 bytes recorded in the header, or NULL (zeros) */
};

/** An open, mapped segment (opaque). */
struct elig_seg;

/** Open modes. */
#define ELIG_SEG_READONLY 0x0 /**< map read-only; never blocks or is blocked by the writer */
#define ELIG_SEG_WRITER   0x1 /**< map read-write and hold the single-writer lock */

/**
 * Create a new segment file, size it, map it and write its header (state
 * DIRTY, count 0). The caller becomes its writer.
 *
 * Thread-safety: none needed; the returned segment is the caller's.
 * @return 0 and *out set; -EEXIST if path exists; -EINVAL for a zero size or
 *         capacity; -ELIG_ENOHUGEPAGES if pages is HUGE and none can be had
 *         (or the file is on hugetlbfs and its pool is too small); -errno of
 *         open(), ftruncate(), fallocate() or mmap() (-ENOSPC when tmpfs is full).
 */
int elig_seg_create(const struct elig_seg_params *p, struct elig_seg **out);

/**
 * Open and map an existing segment, validating its header first.
 *
 * @param mode            ELIG_SEG_READONLY or ELIG_SEG_WRITER
 * @param layout_version  the version the caller understands
 * @return 0 and *out set; -ENOENT; -EBUSY if mode is WRITER and another writer
 *         holds the lock (in any process); -ELIG_ESEGMAGIC; -ELIG_ESEGVERSION;
 *         -ELIG_ESEGSIZE if the file is shorter than its header or its size
 *         differs from the header's; -ELIG_ESEGCHECKSUM; -EAGAIN if the header
 *         kept changing while being read; -errno of open() or mmap().
 *         Opening as WRITER marks the segment DIRTY.
 */
int elig_seg_open(const char *path, unsigned mode, uint32_t layout_version, struct elig_seg **out);

/**
 * Unmap and close. A writer first marks the segment CLEAN when clean is true
 * (an orderly shutdown) and releases the lock. NULL is ignored.
 */
void elig_seg_close(struct elig_seg *seg, bool clean);

/** Base address of the mapping in this process (header at offset 0). */
void *elig_seg_base(const struct elig_seg *seg);

/** Size of the mapping in bytes. */
uint64_t elig_seg_size(const struct elig_seg *seg);

/** Pages backing this mapping. */
enum elig_seg_backing elig_seg_backing(const struct elig_seg *seg);

/** "4KiB", "2MiB-thp" or "2MiB-hugetlbfs". */
const char *elig_seg_backing_name(enum elig_seg_backing backing);

/**
 * Take a consistent copy of the header (sequence-counter protocol): retried
 * while the writer is changing it, and checked against its checksum.
 * Thread-safe; lock-free; never blocks the writer.
 *
 * A counter left odd by a writer that died mid-publish (no writer holds the
 * lock) is not waited on: the header is judged by its checksum alone.
 *
 * @return 0; -EAGAIN if it kept changing for 100,000 tries while a writer
 *         was alive; -ELIG_ESEGCHECKSUM.
 */
int elig_seg_header_read(const struct elig_seg *seg, struct elig_seg_header *out);

/**
 * Check a copy of a segment's header page held elsewhere (a snapshot's image
 * of a segment): magic, header size, layout version and checksum.
 *
 * @param page at least ELIG_SEG_HEADER_SIZE bytes, any alignment
 * @return 0 and *out; -ELIG_ESEGMAGIC; -ELIG_ESEGVERSION; -ELIG_ESEGCHECKSUM.
 *         Thread-safe (reads only page).
 */
int elig_seg_header_parse(const void *page, uint32_t layout_version, struct elig_seg_header *out);

/**
 * Writer only: replace the mutable header fields (count, applied_lsn, state,
 * regions) with those of *h and recompute the checksum, under the header's
 * sequence counter so that readers never see a torn header. The other fields
 * of *h are ignored.
 */
void elig_seg_header_publish(struct elig_seg *seg, const struct elig_seg_header *h);

/**
 * Writer only: atomically move the segment file to path (rename(2)), replacing
 * any segment there: the swap step of a rebuild. Processes that have the old
 * file mapped keep it until they reopen.
 *
 * @return 0; -errno of rename().
 */
int elig_seg_rename(struct elig_seg *seg, const char *path);

/**
 * Writer only: mark the segment REPLACED, for good (a later close keeps the
 * mark), once another segment has taken its path. Readers in other
 * processes see it in the header and reopen the path.
 */
void elig_seg_retire(struct elig_seg *seg);

#endif
