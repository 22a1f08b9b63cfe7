/* SPDX-License-Identifier: MIT */
/*
 * elig_io: write(2) until everything is written (short writes happen on
 * sockets and pipes; EINTR when a signal lands; both are continued here so
 * that callers see one result for the whole buffer), and the directory sync
 * that makes a rename or a new file durable: the two steps every file that
 * is replaced whole (snapshot, registry, store record, chunk results) ends
 * with.
 */
#include "elig_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <unistd.h>

int elig_io_write_all(int fd, const void *p, size_t n)
{
    const uint8_t *b = p;
    while (n) {
        ssize_t w = write(fd, b, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        b += w;
        n -= (size_t)w;
    }
    return 0;
}

int elig_io_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}
