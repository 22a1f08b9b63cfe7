/* SPDX-License-Identifier: MIT */
/*
 * elig_disaster: the disaster-mode declaration (see elig_disaster.h).
 *
 * Design: a file of a few lines, written whole through elig_io_replace_file
 * (so a reader sees the old declaration or the new one, never half), with a
 * CRC32C line so that a damaged file is refused and named rather than read
 * as "off" or as a wider declaration than was made.
 */
#include "elig_disaster.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_crc32c.h"
#include "elig_io.h"
#include "elig_net_error.h"

int elig_disaster_prefectures(const char *s, uint64_t *mask)
{
    *mask = 0;
    while (*s) {
        char *end;
        long p = strtol(s, &end, 10);
        if (end == s || p < 1 || p > 47 || (*end && *end != ','))
            return -EINVAL;
        *mask |= 1ull << p;
        s = *end ? end + 1 : end;
    }
    return *mask ? 0 : -EINVAL;
}

static int render(const struct elig_disaster *d, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "# eligd disaster mode: written by eligctl disaster\nprefectures=");
    bool first = true;
    for (int p = 1; p <= 47; p++)
        if (d->prefectures & (1ull << p)) {
            n += snprintf(buf + n, cap - (size_t)n, "%s%02d", first ? "" : ",", p);
            first = false;
        }
    n += snprintf(buf + n, cap - (size_t)n, "\nfrom=%lld\nuntil=%lld\n", (long long)d->from,
                  (long long)d->until);
    n += snprintf(buf + n, cap - (size_t)n, "crc=%08x\n", elig_crc32c(0, buf, (size_t)n));
    return n;
}

int elig_disaster_write(const char *path, const struct elig_disaster *d)
{
    char buf[512];
    int n = render(d, buf, sizeof buf);
    return elig_io_replace_file(path, buf, (size_t)n);
}

int elig_disaster_read(const char *path, struct elig_disaster *d)
{
    *d = (struct elig_disaster){ 0 };
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    char buf[513];
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n < 0)
        return -errno;
    buf[n] = '\0';
    char *crc = strstr(buf, "crc=");
    unsigned want;
    if (crc == NULL || sscanf(crc, "crc=%8x", &want) != 1 ||
        elig_crc32c(0, buf, (size_t)(crc - buf)) != want)
        return -ELIG_EDISASTER;
    struct elig_disaster got = { 0 };
    char pref[256] = "";
    long long from, until;
    char *p = strstr(buf, "prefectures="), *f = strstr(buf, "\nfrom="),
         *u = strstr(buf, "\nuntil=");
    if (!p || !f || !u || sscanf(p, "prefectures=%255[0-9,]", pref) != 1 ||
        sscanf(f, "\nfrom=%lld", &from) != 1 || sscanf(u, "\nuntil=%lld", &until) != 1 ||
        elig_disaster_prefectures(pref, &got.prefectures) != 0)
        return -ELIG_EDISASTER;
    got.from = from;
    got.until = until;
    *d = got;
    return 0;
}

bool elig_disaster_covers(const struct elig_disaster *d, const char *facility, int64_t now)
{
    if (d->prefectures == 0 || now < d->from || now >= d->until)
        return false;
    int p = (facility[0] - '0') * 10 + (facility[1] - '0');
    return p >= 1 && p <= 47 && (d->prefectures & (1ull << p));
}
