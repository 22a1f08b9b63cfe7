/* SPDX-License-Identifier: MIT */
#ifndef ELIG_ADDR_H
#define ELIG_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>

/**
 * @file
 * The one way eligd's programs read a TCP address: "HOST:PORT" where HOST
 * is an IPv4 address, an IPv6 address in brackets ("[::1]:7700") or a host
 * name (resolved with getaddrinfo(3): its first address), and PORT is
 * 0..65535 (0: any, for listeners). The UDP datapath, IPv4 only, reads its
 * addresses with elig_addr_parse().
 */

#include <sys/socket.h>

/** A resolved TCP address. */
struct elig_addr {
    struct sockaddr_storage ss; /**< AF_INET or AF_INET6 */
    socklen_t len;              /**< the length of the sockaddr in ss */
};

/**
 * Resolve s ("HOST:PORT") into out (a host name's first address). A host name may block on the
 * resolver: programs call this at start-up and connect time, never on a hot path. Thread-safe.
 * @param any_port whether PORT may be 0 (listeners)
 * @return 0; -ELIG_EADDRESS if s is not of that form or its host does not
 *         resolve.
 */
int elig_addr_resolve(const char *s, bool any_port, struct elig_addr *out);

/**
 * The host of s ("HOST:PORT", "[IPv6]:PORT"), without brackets, into
 * host[0..256): the name a server's certificate must carry.
 * @return 0; -ELIG_EADDRESS if s is not of that form.
 */
int elig_addr_host(const char *s, char host[256]);

/**
 * Every address s resolves to (a host name may have several: IPv6 and IPv4),
 * in the resolver's order, at most max of them; clients try them in turn.
 * @return how many were written (at least 1); as elig_addr_resolve().
 */
int elig_addr_resolve_all(const char *s, bool any_port, struct elig_addr *out, size_t max);

/**
 * Split a comma-separated list of addresses ("HOST:PORT,HOST:PORT") into
 * out[0..n), each NUL-terminated: the one way a list of servers is read.
 * Pure and thread-safe.
 * @return n (at least 1); -ELIG_EADDRESS (an empty entry, one over 255
 *         bytes, or more than max of them).
 */
int elig_addr_list(const char *s, char (*out)[256], size_t max);

/** The port of a, host order. */
uint16_t elig_addr_port(const struct elig_addr *a);

/** Set the port of a (host order). */
void elig_addr_set_port(struct elig_addr *a, uint16_t port);

/** Whether a is a loopback address (127.0.0.0/8 or ::1). */
bool elig_addr_is_loopback(const struct elig_addr *a);

/**
 * Parse an IPv4 "A.B.C.D:PORT" (or "localhost:PORT") into out (family,
 * address and port set; the rest zero): the UDP datapath's addresses.
 * Pure and thread-safe.
 * @return 0; -EINVAL if s is not of that form.
 */
int elig_addr_parse(const char *s, struct sockaddr_in *out);

/**
 * Whether a listener could have sa to itself: a socket bound there without
 * SO_REUSEPORT. A server whose workers share a port through SO_REUSEPORT
 * asks this first, since SO_REUSEPORT would also let another process of the
 * same user join that port and take part of its connections (and a port 0
 * bound with SO_REUSEPORT may be one such a group holds). With port 0 the
 * kernel picks a port that is free, and sa->sin_port is set to it. Between
 * this and the bind another process could still take the port: the test
 * narrows the window to the start-up, it does not lock.
 * @return 0 if free (a port 0 replaced by the port picked); -EADDRINUSE if something listens there
 * (or another -errno of socket(2)/bind(2), e.g. -EADDRNOTAVAIL, -EACCES).
 */
int elig_addr_free(struct elig_addr *sa);

/**
 * Connect a TCP socket to s ("HOST:PORT", PORT not 0; each address of a host
 * name in turn until one answers), blocking, with
 * TCP_NODELAY and close-on-exec: the load generators' and benchmarks' way
 * to reach a server (elig_client_connect() is the one with a timeout).
 * @return the socket; -ELIG_EADDRESS if s is not an address; -errno of
 *         socket(2) or connect(2).
 */
int elig_addr_connect(const char *s);

#endif
