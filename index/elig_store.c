/* SPDX-License-Identifier: MIT */
/*
 * elig_store: DATA/store: a store's identity and the parameters it was
 * made with (see elig_store.h).
 *
 * Text so an operator can read it (`cat DATA/store`), with a CRC32C line
 * so nothing reads a damaged one as parameters: a capacity misread would
 * make the next cold start build the wrong index. Keys are matched exactly;
 * an unknown key is damage too (a newer version's file is refused, not
 * half understood). The id comes from the kernel's random source.
 */
#include "elig_store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_io.h"

#define MAX_BYTES 4096

/* The lines before the checksum, for info. */
static int format(const struct elig_store_info *info, char *buf, size_t cap)
{
    return snprintf(buf, cap,
                    "# eligd store: made once with the store; eligd and eligctl read it. Do not "
                    "edit.\n"
                    "id=%s\ncapacity=%llu\npersons=%llu\ncards=%llu\nnames=%u\nkey_strings=%u\n"
                    "created=%s\n",
                    info->id, (unsigned long long)info->capacity, (unsigned long long)info->persons,
                    (unsigned long long)info->cards, info->names, info->key_strings, info->created);
}

static int parse_u64(const char *v, uint64_t max, uint64_t *out)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(v, &end, 10);
    if (errno || end == v || *end || *v == '-' || x > max)
        return -1;
    *out = x;
    return 0;
}

/* One key=value line into info; -1 if the key is unknown or the value bad. */
static int parse_line(char *l, struct elig_store_info *info, unsigned *seen)
{
    char *eq = strchr(l, '=');
    if (!eq)
        return -1;
    *eq = '\0';
    const char *k = l, *v = eq + 1;
    uint64_t x;
    if (strcmp(k, "id") == 0 && strlen(v) == 32 && strspn(v, "0123456789abcdef") == 32) {
        memcpy(info->id, v, 33);
        *seen |= 1;
    } else if (strcmp(k, "capacity") == 0 && parse_u64(v, 1ull << 31, &x) == 0 && x > 0) {
        info->capacity = x;
        *seen |= 2;
    } else if (strcmp(k, "persons") == 0 && parse_u64(v, 1ull << 30, &x) == 0) {
        info->persons = x;
    } else if (strcmp(k, "cards") == 0 && parse_u64(v, 1ull << 30, &x) == 0) {
        info->cards = x;
    } else if (strcmp(k, "names") == 0 && parse_u64(v, UINT32_MAX, &x) == 0) {
        info->names = (uint32_t)x;
    } else if (strcmp(k, "key_strings") == 0 && parse_u64(v, UINT32_MAX, &x) == 0) {
        info->key_strings = (uint32_t)x;
    } else if (strcmp(k, "created") == 0 && strlen(v) < sizeof info->created) {
        strcpy(info->created, v);
    } else {
        return -1;
    }
    return 0;
}

int elig_store_read(const char *data_dir, struct elig_store_info *out, int *line)
{
    char path[4096], buf[MAX_BYTES + 1];
    if (line)
        *line = 0;
    if ((size_t)snprintf(path, sizeof path, "%s/%s", data_dir, ELIG_STORE_FILE) >= sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, MAX_BYTES + 1);
    int err = n < 0 ? -errno : 0;
    close(fd);
    if (err)
        return err;
    if (n > MAX_BYTES)
        return -ELIG_ESTOREFILE;
    buf[n] = '\0';
    char *crc_line = strstr(buf, "\ncrc32c=");
    if (!crc_line)
        return -ELIG_ESTOREFILE;
    crc_line++;
    uint64_t want;
    char *nl = strchr(crc_line, '\n');
    if (nl)
        *nl = '\0';
    if (parse_u64(crc_line + 7, UINT32_MAX, &want) ||
        elig_crc32c(0, buf, (size_t)(crc_line - buf)) != (uint32_t)want)
        return -ELIG_ESTOREFILE;
    crc_line[0] = '\0';
    struct elig_store_info info = { 0 };
    unsigned seen = 0;
    int no = 0;
    for (char *save, *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        no++;
        if (l[0] == '#')
            continue;
        if (parse_line(l, &info, &seen)) {
            if (line)
                *line = no;
            return -ELIG_ESTOREFILE;
        }
    }
    if (seen != 3) /* id and capacity are required */
        return -ELIG_ESTOREFILE;
    *out = info;
    return 0;
}

int elig_store_new(struct elig_store_info *info)
{
    uint8_t raw[16];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return -errno;
    for (int i = 0; i < 16; i++)
        snprintf(info->id + 2 * i, 3, "%02x", raw[i]);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(info->created, sizeof info->created, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return 0;
}

void elig_store_id_bytes(const struct elig_store_info *info, uint8_t out[16])
{
    for (int i = 0; i < 16; i++) {
        unsigned v = 0;
        sscanf(info->id + 2 * i, "%2x", &v);
        out[i] = (uint8_t)v;
    }
}

int elig_store_create(const char *data_dir, struct elig_store_info *info)
{
    int rc = elig_store_new(info);
    return rc ? rc : elig_store_write(data_dir, info);
}

int elig_store_write(const char *data_dir, const struct elig_store_info *info)
{
    char buf[MAX_BYTES], path[4096];
    int len = format(info, buf, sizeof buf - 32);
    if (len < 0 || (size_t)len >= sizeof buf - 32)
        return -EINVAL;
    len += snprintf(buf + len, sizeof buf - (size_t)len, "crc32c=%u\n",
                    elig_crc32c(0, buf, (size_t)len));
    snprintf(path, sizeof path, "%s/%s", data_dir, ELIG_STORE_FILE);
    return elig_io_replace_file(path, buf, (size_t)len);
}
