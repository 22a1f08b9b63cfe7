/* SPDX-License-Identifier: MIT */
/*
 * elig_io: write(2) until everything is written (short writes happen on
 * sockets and pipes; EINTR when a signal lands; both are continued here so
 * that callers see one result for the whole buffer), and the directory sync
 * that makes a rename or a new file durable: the two steps every file that
 * is replaced whole (snapshot, registry, store record, chunk results) ends
 * with; and the whole replacement of a small file (elig_io_replace_file).
 */
#include "elig_io.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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

int elig_io_pwrite_all(int fd, const void *p, size_t n, uint64_t off)
{
    for (const uint8_t *b = p; n > 0;) {
        ssize_t w = pwrite(fd, b, n, (off_t)off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return w < 0 ? -errno : -EIO;
        b += w;
        off += (uint64_t)w;
        n -= (size_t)w;
    }
    return 0;
}

int elig_io_pread_all(int fd, void *p, size_t n, uint64_t off)
{
    for (uint8_t *b = p; n > 0;) {
        ssize_t r = pread(fd, b, n, (off_t)off);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return r < 0 ? -errno : -ENODATA;
        b += r;
        off += (uint64_t)r;
        n -= (size_t)r;
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

int elig_io_replace_file(const char *path, const void *data, size_t len)
{
    char tmp[4200], dir[4200] = ".";
    if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp)
        return -ENAMETOOLONG;
    const char *slash = strrchr(path, '/');
    if (slash)
        snprintf(dir, sizeof dir, "%.*s", slash == path ? 1 : (int)(slash - path), path);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0)
        return -errno;
    int rc = elig_io_write_all(fd, data, len);
    if (rc == 0 && fdatasync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc)
        unlink(tmp);
    return rc ? rc : elig_io_sync_dir(dir);
}
