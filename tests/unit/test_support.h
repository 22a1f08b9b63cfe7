/* SPDX-License-Identifier: MIT */
#ifndef TEST_SUPPORT_H
#define TEST_SUPPORT_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "elig_date.h"
#include "elig_key.h"
#include "elig_index.h"
#include "elig_record.h"

/* Parse an ISO date or fail the test; NULL or "" gives ELIG_DATE_NONE. */
elig_date_t test_date(const char *iso);

/* Normalise a key or fail the test. */
struct elig_key test_key(const char *insurer, const char *symbol, const char *number,
                         const char *branch);

/* A valid record for tests: insured, male, 30%, names set; loss reason 99 if lost. */
struct elig_record test_record(const struct elig_key *key, uint64_t person, const char *birth,
                               const char *from, const char *until, const char *loss);

/* Make a fresh directory for segment files (under /dev/shm when writable) into buf. */
void test_temp_dir(char *buf, size_t size);

/*
 * Fork a child that runs child(write end of a pipe) and never returns; the
 * parent gets the pid and the read end in *read_fd. For crash tests.
 */
int test_spawn(void (*child)(int fd), int *read_fd);

/* Kill a spawned child with SIGKILL and reap it; fails the test if it was not killed. */
void test_kill(int pid);

/* A store's paths under dir, into 300-byte buffers: dir/data, dir/index.seg, dir/scratch.seg. */
void test_store_paths(const char *dir, char *data, char *seg, char *scratch);

/* A store of a test: a fresh temporary directory and the store's paths under it. */
struct test_store {
    char dir[256], data[300], seg[300], scratch[300];
};

/* Make ts afresh (a new directory; test_store_paths()). For a cmocka setup. Returns 0. */
int test_store_make(struct test_store *ts);

/* Remove ts's directory and everything in it. For a cmocka teardown. Returns 0 or -1. */
int test_store_remove(const struct test_store *ts);

struct elig_db;
struct elig_db_start;
/* Open ts's store (made with capacity 1000 the first time, then as DATA/store records it);
 * st may be NULL. Fails the test if it does not open. */
struct elig_db *test_store_open(const struct test_store *ts, struct elig_db_start *st);

/* Remove a test's temporary directory and everything in it; 0 or -1. */
int test_rm_tree(const char *dir);

/* Overwrite len bytes of the file at path at offset off (byte surgery), or fail the test. */
void test_poke(const char *path, uint64_t off, const void *bytes, size_t len);

/* Create an index at path with room for capacity records, persons and cards, or fail. */
struct elig_index *test_index_create(const char *path, uint64_t capacity);

/* Write bytes to a new temporary file; returns its path (caller frees and unlinks). */
char *test_temp_file(const void *data, size_t len);

#endif
