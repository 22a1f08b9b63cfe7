/* SPDX-License-Identifier: MIT */
/*
 * elig_resp: redis's RESP2 wire format, both ways.
 *
 * Design: commands are written as arrays of bulk strings ("*N\r\n" then
 * "$len\r\nbytes\r\n" per argument), which redis accepts for any bytes.
 * Replies are parsed by one recursive descent over a byte range that never
 * reads past it: a reply that is cut short parses as "incomplete" (0), so
 * the caller can read more and try again from the same start. Arrays nest
 * at most 8 deep (redis's own replies to the commands used here nest 1).
 */
#include "elig_resp.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int elig_resp_command(struct elig_pbuf *b, unsigned argc, const char *const argv[],
                      const size_t lens[])
{
    size_t need = 16;
    for (unsigned i = 0; i < argc; i++)
        need += lens[i] + 24;
    if (elig_pbuf_reserve(b, need))
        return -ENOMEM;
    char *o = (char *)b->data + b->len;
    o += sprintf(o, "*%u\r\n", argc);
    for (unsigned i = 0; i < argc; i++) {
        o += sprintf(o, "$%zu\r\n", lens[i]);
        memcpy(o, argv[i], lens[i]);
        o += lens[i];
        *o++ = '\r';
        *o++ = '\n';
    }
    b->len = (size_t)((uint8_t *)o - b->data);
    return 0;
}

/* The line at p: its length before "\r\n" in *n; false if no full line. */
static bool line(const uint8_t *p, size_t len, size_t *n)
{
    const uint8_t *nl = memchr(p, '\n', len);
    if (nl == NULL)
        return false;
    *n = (size_t)(nl - p);
    return true;
}

/* A signed decimal of the line p[1..n) (n excludes "\r\n"). */
static int number(const uint8_t *p, size_t n, int64_t *out)
{
    if (n < 3 || p[n - 1] != '\r')
        return -EPROTO;
    size_t i = 1;
    bool neg = p[i] == '-';
    i += neg;
    if (i >= n - 1 || n - 1 - i > 18)
        return -EPROTO;
    int64_t v = 0;
    for (; i < n - 1; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -EPROTO;
        v = v * 10 + (p[i] - '0');
    }
    *out = neg ? -v : v;
    return 0;
}

static long parse(const uint8_t *p, size_t len, struct elig_resp_reply *r, int depth)
{
    size_t n;
    if (len == 0 || !line(p, len, &n))
        return 0;
    if (depth > 8)
        return -EPROTO;
    int64_t v = 0;
    switch (p[0]) {
    case '+':
    case '-':
        if (n < 2 || p[n - 1] != '\r')
            return -EPROTO;
        if (r) {
            r->type = (char)p[0];
            r->str = p + 1;
            r->str_len = n - 2;
        }
        return (long)n + 1;
    case ':':
        if (number(p, n, &v))
            return -EPROTO;
        if (r)
            *r = (struct elig_resp_reply){
                .type = ':', .integer = v, .str = p + 1, .str_len = n - 2
            };
        return (long)n + 1;
    case '$':
        if (number(p, n, &v) || v < -1 || v > (1 << 29))
            return -EPROTO;
        if (v >= 0 && len < n + 1 + (size_t)v + 2)
            return 0;
        if (v >= 0 && memcmp(p + n + 1 + v, "\r\n", 2) != 0)
            return -EPROTO;
        if (r)
            *r = (struct elig_resp_reply){
                .type = '$', .integer = v, .str = p + n + 1, .str_len = v > 0 ? (size_t)v : 0
            };
        return (long)(n + 1) + (v >= 0 ? v + 2 : 0);
    case '*': {
        if (number(p, n, &v) || v < -1 || v > (1 << 24))
            return -EPROTO;
        if (r) {
            r->type = '*';
            r->integer = v;
            r->items = 0;
        }
        size_t off = n + 1;
        for (int64_t i = 0; i < v; i++) {
            struct elig_resp_reply e;
            long m = parse(p + off, len - off, &e, depth + 1);
            if (m <= 0)
                return m;
            if (r && r->items < ELIG_RESP_ITEMS && (e.type == '$' || e.type == ':')) {
                r->item[r->items].p = e.str;
                r->item[r->items++].len = e.str_len;
            }
            off += (size_t)m;
        }
        return (long)off;
    }
    default:
        return -EPROTO;
    }
}

long elig_resp_parse(const uint8_t *p, size_t len, struct elig_resp_reply *r)
{
    return parse(p, len, r, 0);
}

long elig_resp_drain(int fd, uint64_t want)
{
    size_t cap = 1 << 16, have = 0;
    uint8_t *buf = malloc(cap);
    long errors = 0;
    if (buf == NULL)
        return -ENOMEM;
    while (want) {
        if (have == cap) { /* one reply longer than the buffer */
            uint8_t *nb = realloc(buf, cap * 2);
            if (nb == NULL) {
                errors = -ENOMEM;
                break;
            }
            buf = nb;
            cap *= 2;
        }
        ssize_t got = read(fd, buf + have, cap - have);
        if (got <= 0) {
            errors = got < 0 ? -errno : -ECONNRESET;
            break;
        }
        have += (size_t)got;
        size_t off = 0;
        struct elig_resp_reply r;
        long m = 0;
        while (want && (m = elig_resp_parse(buf + off, have - off, &r)) > 0) {
            errors += r.type == '-';
            off += (size_t)m;
            want--;
        }
        if (want && m < 0) {
            errors = m;
            break;
        }
        memmove(buf, buf + off, have - off);
        have -= off;
    }
    free(buf);
    return errors;
}
