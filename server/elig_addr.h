/* SPDX-License-Identifier: MIT */
#ifndef ELIG_ADDR_H
#define ELIG_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>

/**
 * @file
 * The one way eligd's programs read a TCP address: "HOST:PORT", HOST an
 * IPv4 address or "localhost", PORT 0..65535 (0: any, for listeners).
 */

/**
 * Parse s into out (family, address and port set; the rest zero).
 * Pure and thread-safe.
 * @return 0; -EINVAL if s is not of that form.
 */
int elig_addr_parse(const char *s, struct sockaddr_in *out);

/** Whether sa is in 127.0.0.0/8. Pure and thread-safe. */
bool elig_addr_loopback(const struct sockaddr_in *sa);

/**
 * Whether a listener could have sa to itself: a socket bound there without
 * SO_REUSEPORT. A server whose workers share a port through SO_REUSEPORT
 * asks this first, since SO_REUSEPORT would also let another process of the
 * same user join that port and take part of its connections (and a port 0
 * bound with SO_REUSEPORT may be one such a group holds). With port 0 the
 * kernel picks a port that is free, and sa->sin_port is set to it. Between
 * this and the bind another process could still take the port: the test
 * narrows the window to the start-up, it does not lock.
 * @return 0 if free; -EADDRINUSE if something listens there (or another
 *         -errno of socket(2)/bind(2), e.g. -EADDRNOTAVAIL, -EACCES).
 */
int elig_addr_free(struct sockaddr_in *sa);

/**
 * Connect a TCP socket to s ("HOST:PORT", PORT not 0), blocking, with
 * TCP_NODELAY and close-on-exec: the load generators' and benchmarks' way
 * to reach a server (elig_client_connect() is the one with a timeout).
 * @return the socket; -EINVAL if s is not an address; -errno of socket(2)
 *         or connect(2).
 */
int elig_addr_connect(const char *s);

#endif
