/* SPDX-License-Identifier: MIT */
/*
 * elig_addr: "HOST:PORT" into a socket address, shared by the server's
 * listeners, the client library and the load generator so that every
 * program accepts the same addresses and refuses the same mistakes.
 * getaddrinfo(3) does the resolving (IPv4, IPv6, host names); the split of
 * HOST and PORT is ours, because an IPv6 literal holds colons and is
 * written in brackets.
 */
#include "elig_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

#include "elig_net_error.h"

/* Split "HOST:PORT" or "[HOST]:PORT" into host (NUL-terminated) and port. */
static int split(const char *s, char host[256], unsigned long *port)
{
    const char *colon = strrchr(s, ':');
    if (!colon || colon == s)
        return -ELIG_EADDRESS;
    const char *h = s, *h_end = colon;
    if (*s == '[') { /* an IPv6 literal */
        if (colon[-1] != ']' || colon - s < 3)
            return -ELIG_EADDRESS;
        h = s + 1;
        h_end = colon - 1;
    } else if (memchr(s, ':', (size_t)(colon - s))) {
        return -ELIG_EADDRESS; /* an IPv6 address without brackets */
    }
    if (h_end - h >= 256)
        return -ELIG_EADDRESS;
    memcpy(host, h, (size_t)(h_end - h));
    host[h_end - h] = '\0';
    char *end;
    *port = strtoul(colon + 1, &end, 10);
    if (*end || end == colon + 1 || colon[1] == '-' || colon[1] == '+' || *port > 65535)
        return -ELIG_EADDRESS;
    return 0;
}

int elig_addr_host(const char *s, char host[256])
{
    unsigned long port;
    return split(s, host, &port);
}

int elig_addr_resolve_all(const char *s, bool any_port, struct elig_addr *out, size_t max)
{
    char host[256];
    unsigned long port;
    int rc = split(s, host, &port);
    if (rc)
        return rc;
    if ((port == 0 && !any_port) || max == 0)
        return -ELIG_EADDRESS;
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM, .ai_flags = AI_ADDRCONFIG }, *ai;
    if (*s == '[')
        hints.ai_flags = AI_NUMERICHOST; /* a literal, whatever the interfaces */
    if (getaddrinfo(host, NULL, &hints, &ai) != 0)
        return -ELIG_EADDRESS;
    size_t n = 0;
    for (const struct addrinfo *p = ai; p && n < max; p = p->ai_next) {
        if ((p->ai_family != AF_INET && p->ai_family != AF_INET6) ||
            p->ai_addrlen > sizeof out[n].ss)
            continue;
        memset(&out[n], 0, sizeof out[n]);
        memcpy(&out[n].ss, p->ai_addr, p->ai_addrlen);
        out[n].len = p->ai_addrlen;
        elig_addr_set_port(&out[n], (uint16_t)port);
        n++;
    }
    freeaddrinfo(ai);
    return n ? (int)n : -ELIG_EADDRESS;
}

int elig_addr_resolve(const char *s, bool any_port, struct elig_addr *out)
{
    int n = elig_addr_resolve_all(s, any_port, out, 1);
    return n < 0 ? n : 0;
}

uint16_t elig_addr_port(const struct elig_addr *a)
{
    return ntohs(a->ss.ss_family == AF_INET6 ? ((const struct sockaddr_in6 *)&a->ss)->sin6_port
                                             : ((const struct sockaddr_in *)&a->ss)->sin_port);
}

void elig_addr_set_port(struct elig_addr *a, uint16_t port)
{
    if (a->ss.ss_family == AF_INET6)
        ((struct sockaddr_in6 *)&a->ss)->sin6_port = htons(port);
    else
        ((struct sockaddr_in *)&a->ss)->sin_port = htons(port);
}

bool elig_addr_is_loopback(const struct elig_addr *a)
{
    if (a->ss.ss_family == AF_INET6) {
        const struct in6_addr *v6 = &((const struct sockaddr_in6 *)&a->ss)->sin6_addr;
        return IN6_IS_ADDR_LOOPBACK(v6) || (IN6_IS_ADDR_V4MAPPED(v6) && v6->s6_addr[12] == 127);
    }
    return (ntohl(((const struct sockaddr_in *)&a->ss)->sin_addr.s_addr) >> 24) == 127;
}

int elig_addr_parse(const char *s, struct sockaddr_in *out)
{
    const char *colon = strrchr(s, ':');
    if (colon == NULL || colon == s || colon - s > 63)
        return -EINVAL;
    char host[64];
    memcpy(host, s, (size_t)(colon - s));
    host[colon - s] = '\0';
    char *end;
    unsigned long port = strtoul(colon + 1, &end, 10);
    if (*end || end == colon + 1 || port > 65535)
        return -EINVAL;
    memset(out, 0, sizeof(*out));
    out->sin_family = AF_INET;
    out->sin_port = htons((uint16_t)port);
    const char *ip = strcmp(host, "localhost") == 0 ? "127.0.0.1" : host;
    return inet_pton(AF_INET, ip, &out->sin_addr) == 1 ? 0 : -EINVAL;
}

int elig_addr_free(struct elig_addr *sa)
{
    int fd = socket(sa->ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct elig_addr got = { .len = sizeof got.ss };
    int rc = bind(fd, (const struct sockaddr *)&sa->ss, sa->len) ||
                     getsockname(fd, (struct sockaddr *)&got.ss, &got.len)
                 ? -errno
                 : 0;
    if (rc == 0) /* port 0: the free port the kernel picked */
        elig_addr_set_port(sa, elig_addr_port(&got));
    close(fd);
    return rc;
}

int elig_addr_list(const char *s, char (*out)[256], size_t max)
{
    size_t n = 0;
    for (;;) {
        size_t len = strcspn(s, ",");
        if (len == 0 || len >= sizeof out[0] || n == max)
            return -ELIG_EADDRESS;
        memcpy(out[n], s, len);
        out[n++][len] = '\0';
        if (s[len] == '\0')
            return (int)n;
        s += len + 1;
    }
}

int elig_addr_connect(const char *s)
{
    struct elig_addr a[8];
    int n = elig_addr_resolve_all(s, false, a, 8), rc = n;
    for (int i = 0; i < n; i++) { /* each address of the name in turn, as clients do */
        int fd = socket(a[i].ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
        if (fd < 0)
            return -errno;
        if (connect(fd, (struct sockaddr *)&a[i].ss, a[i].len) == 0) {
            int one = 1;
            setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            return fd;
        }
        rc = -errno;
        close(fd);
    }
    return rc;
}
