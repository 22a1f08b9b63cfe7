/* SPDX-License-Identifier: MIT */
/*
 * elig_io: write(2) until everything is written. Short writes happen on
 * sockets and pipes; EINTR when a signal lands; both are continued here so
 * that callers see one result for the whole buffer.
 */
#include "elig_io.h"

#include <errno.h>
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
