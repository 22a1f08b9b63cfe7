/* SPDX-License-Identifier: MIT */
/*
 * elig_http: the metrics endpoint over libmicrohttpd.
 *
 * Design: eligd binds the listening socket itself (the same address parser
 * and errors as its other listeners, so a port in use is refused at start
 * with a clear line, before the store is opened) and hands it to libmicrohttpd, which runs one
 * thread of its own polling it. A request is answered from the text elig_prom makes at that moment,
 * copied into the response; nothing is cached and nothing on the serving path waits for a scrape.
 * Limits (connections, per-address connections, request memory, idle time) keep a misbehaving
 * scraper from costing more than a few hundred KiB.
 */
#include "elig_http.h"

#include <errno.h>
#include <microhttpd.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_addr.h"
#include "elig_net_error.h"
#include "elig_prom.h"
#include "elig_slog.h"

#define HTTP_CONNS        16
#define HTTP_CONNS_PER_IP 4
#define HTTP_MEMORY       16384 /* bytes of request one connection may hold */
#define HTTP_IDLE_S       10

struct elig_http {
    struct MHD_Daemon *d;
    const struct elig_srv *_Atomic srv;                   /* NULL while eligd starts */
    int (*extra)(const void *ctx, struct elig_pbuf *out); /* another source of series */
    const void *extra_ctx;
    int fd;
    uint16_t port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned code, const char *type,
                             const void *body, size_t len)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
    if (r == NULL)
        return MHD_NO;
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (code == MHD_HTTP_METHOD_NOT_ALLOWED)
        MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    enum MHD_Result rc = MHD_queue_response(conn, code, r);
    MHD_destroy_response(r);
    return rc;
}

static enum MHD_Result text(struct MHD_Connection *conn, unsigned code, const char *msg)
{
    return reply(conn, code, "text/plain; charset=utf-8", msg, strlen(msg));
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version, const char *upload,
                              size_t *upload_size, void **state)
{
    (void)version, (void)upload;
    struct elig_http *h = cls;
    if (*state == NULL) { /* headers only so far: answer once the request is whole */
        *state = h;
        return MHD_YES;
    }
    if (*upload_size) {
        *upload_size = 0;
        return text(conn, MHD_HTTP_CONTENT_TOO_LARGE, "no request body is taken here\n");
    }
    if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
        return text(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "GET /metrics or GET /healthz\n");
    struct elig_pbuf b = { 0 };
    enum MHD_Result rc;
    const struct elig_srv *srv = atomic_load(&h->srv);
    if (srv == NULL && (strcmp(url, "/metrics") == 0 || strcmp(url, "/healthz") == 0)) {
        static const char starting[] = "{\"status\":\"starting\"}\n";
        rc = reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "application/json", starting,
                   sizeof starting - 1);
    } else if (strcmp(url, "/metrics") == 0) {
        rc = elig_srv_metrics(srv, &b) == 0 && (!h->extra || h->extra(h->extra_ctx, &b) == 0)
                 ? reply(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8", b.data,
                         b.len)
                 : text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n");
    } else if (strcmp(url, "/healthz") == 0) {
        int st = elig_srv_health(srv, &b);
        rc = st < 0 ? text(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "out of memory\n")
                    : reply(conn, st == 0 ? MHD_HTTP_OK : MHD_HTTP_SERVICE_UNAVAILABLE,
                            "application/json", b.data, b.len);
    } else {
        rc = text(conn, MHD_HTTP_NOT_FOUND, "eligd serves /metrics and /healthz\n");
    }
    elig_pbuf_free(&b);
    return rc;
}

/* libmicrohttpd's own messages (a failed accept, a broken client) into eligd's log. */
static void http_log(void *cls, const char *fmt, va_list ap)
{
    (void)cls;
    char line[256];
    vsnprintf(line, sizeof line, fmt, ap);
    line[strcspn(line, "\n")] = '\0';
    elig_slog(ELIG_SLOG_WARN, "metrics endpoint: %s", line);
}

int elig_http_start(const struct elig_http_params *p, struct elig_http **out)
{
    struct elig_addr a;
    int rc = elig_addr_resolve(p->listen, true, &a);
    if (rc)
        return rc;
    struct elig_http *h = calloc(1, sizeof *h);
    if (h == NULL)
        return -ENOMEM;
    h->fd = socket(a.ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    struct elig_addr bound = { .len = sizeof bound.ss };
    if (h->fd < 0 || setsockopt(h->fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(h->fd, (struct sockaddr *)&a.ss, a.len) < 0 || listen(h->fd, 64) < 0 ||
        getsockname(h->fd, (struct sockaddr *)&bound.ss, &bound.len) < 0) {
        rc = -errno;
        if (h->fd >= 0)
            close(h->fd);
        free(h);
        return rc;
    }
    h->port = elig_addr_port(&bound);
    h->d = MHD_start_daemon(
        MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_ERROR_LOG |
            (a.ss.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0),
        0, NULL, NULL, handle, h, MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL, /* first: it
        takes the messages of the options after it */
        MHD_OPTION_LISTEN_SOCKET, h->fd, MHD_OPTION_CONNECTION_LIMIT, (unsigned)HTTP_CONNS,
        MHD_OPTION_PER_IP_CONNECTION_LIMIT, (unsigned)HTTP_CONNS_PER_IP,
        MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_MEMORY, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTP_IDLE_S, MHD_OPTION_END);
    if (h->d == NULL) {
        close(h->fd);
        free(h);
        return -EIO;
    }
    *out = h;
    return 0;
}

void elig_http_add_source(struct elig_http *h, int (*fn)(const void *ctx, struct elig_pbuf *out),
                          const void *ctx)
{
    h->extra = fn;
    h->extra_ctx = ctx;
}

void elig_http_serve(struct elig_http *h, const struct elig_srv *srv)
{
    atomic_store(&h->srv, srv);
}

uint16_t elig_http_port(const struct elig_http *h)
{
    return h->port;
}

void elig_http_stop(struct elig_http *h)
{
    if (h == NULL)
        return;
    MHD_stop_daemon(h->d); /* closes the listening socket it was given */
    free(h);
}
