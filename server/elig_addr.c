/* SPDX-License-Identifier: MIT */
/*
 * elig_addr: "HOST:PORT" into a sockaddr_in, shared by the server's
 * listeners, the client library and the load generator so that every
 * program accepts the same addresses and refuses the same mistakes.
 */
#include "elig_addr.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>

bool elig_addr_loopback(const struct sockaddr_in *sa)
{
    return (ntohl(sa->sin_addr.s_addr) >> 24) == 127;
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

int elig_addr_free(struct sockaddr_in *sa)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    struct sockaddr_in got;
    socklen_t len = sizeof got;
    int rc = bind(fd, (const struct sockaddr *)sa, sizeof *sa) ||
                     getsockname(fd, (struct sockaddr *)&got, &len)
                 ? -errno
                 : 0;
    if (rc == 0)
        sa->sin_port = got.sin_port; /* port 0: the free port the kernel picked */
    close(fd);
    return rc;
}

int elig_addr_connect(const char *s)
{
    struct sockaddr_in sa;
    if (elig_addr_parse(s, &sa) || sa.sin_port == 0)
        return -EINVAL;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    if (connect(fd, (struct sockaddr *)&sa, sizeof sa)) {
        int e = -errno;
        close(fd);
        return e;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    return fd;
}
