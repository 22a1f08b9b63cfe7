/* SPDX-License-Identifier: MIT */
#ifndef ELIG_STORE_H
#define ELIG_STORE_H

#include <stdint.h>

/**
 * @file
 * A store's identity and parameters, recorded in its data directory
 * (DATA/store) when the store is made, so that later starts and tools use
 * them instead of flags that must be repeated, and a flag that disagrees is
 * refused with the recorded value.
 *
 * The file is text, one `key=value` a line (id, capacity, persons, cards,
 * names, key_strings, created), closed by `crc32c=` over the lines before
 * it, so a damaged or hand-edited file is named, never half believed. It is
 * written to a temporary name, synced and renamed into place.
 *
 * Thread-safety: the functions are reentrant; one process at a time makes a
 * store (the log's lock).
 */

#define ELIG_STORE_FILE "store"

/** What a store was made with. Zero in persons, cards, names, key_strings: the index's default. */
struct elig_store_info {
    char id[33];          /**< 32 hex digits, random, made once */
    uint64_t capacity;    /**< qualification records the index holds */
    uint64_t persons;     /**< persons */
    uint64_t cards;       /**< card links */
    uint32_t names;       /**< name pairs */
    uint32_t key_strings; /**< key strings */
    char created[24];     /**< YYYY-MM-DDTHH:MM:SSZ */
};

/**
 * Read data_dir/store.
 * @param line if not NULL, on -ELIG_ESTOREFILE the line at fault (0: the file as a whole)
 * @return 0; -ENOENT (no such file: not a store made by this version);
 *         -ELIG_ESTOREFILE (damaged, or a value out of range); -errno.
 */
int elig_store_read(const char *data_dir, struct elig_store_info *out, int *line);

/**
 * Make a new identity (id, created) in info; nothing is written.
 * @return 0; -errno of getrandom(2).
 */
int elig_store_new(struct elig_store_info *info);

/**
 * Write info as data_dir/store (temporary file, fdatasync, rename, directory sync).
 * @return 0; -errno of the file system.
 */
int elig_store_write(const char *data_dir, const struct elig_store_info *info);

/** elig_store_new(), then elig_store_write(). */
int elig_store_create(const char *data_dir, struct elig_store_info *info);

/** The id as its 16 bytes (the form stamped into log file headers). */
void elig_store_id_bytes(const struct elig_store_info *info, uint8_t out[16]);

#endif
