/* SPDX-License-Identifier: MIT */
#ifndef ELIG_IO_H
#define ELIG_IO_H

#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * Blocking file-descriptor helpers shared by the programs' small writers
 * (registry files, loaders that feed a socket). The hot paths use io_uring
 * or the log's own writer instead.
 */

/**
 * write(2) all n bytes of p to fd, retrying on EINTR and short writes.
 * Thread-safe on distinct descriptors.
 * @return 0; -errno of write(2); -EIO if write(2) wrote nothing.
 */
int elig_io_write_all(int fd, const void *p, size_t n);

/**
 * pwrite(2) all n bytes of p to fd at offset off, as elig_io_write_all().
 * Thread-safe (positional: no shared file offset).
 * @return 0; -errno of pwrite(2); -EIO if pwrite(2) wrote nothing.
 */
int elig_io_pwrite_all(int fd, const void *p, size_t n, uint64_t off);

/**
 * pread(2) all n bytes at offset off of fd into p, retrying on EINTR and
 * short reads. Thread-safe (positional).
 * @return 0; -errno of pread(2); -ENODATA if the file ends first.
 */
int elig_io_pread_all(int fd, void *p, size_t n, uint64_t off);

/**
 * fsync(2) the directory dir, so that a file created or renamed in it
 * survives a crash. Thread-safe.
 * @return 0; -errno of open(2) or fsync(2).
 */
int elig_io_sync_dir(const char *dir);

/**
 * Replace the file at path with data[0..len), whole or not at all: written
 * to "<path>.tmp" (mode 0600), fdatasync, renamed over path, its directory
 * synced. On error the temporary file is removed and path is as it was.
 * Thread-safe on distinct paths.
 * @return 0; -ENAMETOOLONG; -errno of the file system.
 */
int elig_io_replace_file(const char *path, const void *data, size_t len);

#endif
