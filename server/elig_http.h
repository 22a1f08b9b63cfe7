/* SPDX-License-Identifier: MIT */
#ifndef ELIG_HTTP_H
#define ELIG_HTTP_H

#include <stdint.h>

#include "elig_proto.h"
#include "elig_srv.h"

/**
 * @file
 * eligd's metrics endpoint: a small HTTP/1.1 server (libmicrohttpd, its own
 * thread) serving GET /metrics (Prometheus text) and GET /healthz (JSON;
 * 200 ready, 503 stopping) from a running elig_srv. Off unless eligd is
 * given --metrics-listen.
 *
 * What a scraper can cost is bounded: 16 connections in all, 4 per address,
 * 16 KiB of request per connection, 10 s idle; only GET and HEAD, no
 * request bodies (405, 413); any other path is 404.
 */

/** Endpoint parameters. */
struct elig_http_params {
    const char *listen; /**< "HOST:PORT" (PORT 0: any) */
};

/** A running endpoint (opaque). */
struct elig_http;

/**
 * Bind and start serving: until elig_http_serve() names the server, every
 * request is answered 503 with {"status":"starting"} (a cold start may take
 * minutes: /healthz says so meanwhile). eligd starts the endpoint before it
 * opens the store, so an address in use is refused before anything is
 * written.
 * @return 0 and *out; -ELIG_EADDRESS (listen is not HOST:PORT); -EADDRINUSE
 *         and other -errno of socket/bind/listen; -ENOMEM; -EIO (the HTTP
 *         server did not start). Not thread-safe against itself.
 */
int elig_http_start(const struct elig_http_params *p, struct elig_http **out);

/**
 * Report srv from now on (NULL: starting again). srv must outlive the
 * endpoint or be replaced first. Thread-safe.
 */
void elig_http_serve(struct elig_http *h, const struct elig_srv *srv);

/**
 * Append fn's series to every /metrics from now on (another datapath's: the
 * UDP one). fn runs on the endpoint's thread and must be thread-safe; ctx
 * must stay valid until elig_http_stop(). One extra source at most; set it
 * before elig_http_serve(). Not thread-safe against a scrape in progress.
 */
void elig_http_add_source(struct elig_http *h, int (*fn)(const void *ctx, struct elig_pbuf *out),
                          const void *ctx);

/** The port bound (useful with PORT 0). */
uint16_t elig_http_port(const struct elig_http *h);

/** Stop serving (requests in progress end) and free. NULL is a no-op. */
void elig_http_stop(struct elig_http *h);

#endif
