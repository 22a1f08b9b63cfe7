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
 * Connect a TCP socket to s ("HOST:PORT", PORT not 0), blocking, with
 * TCP_NODELAY and close-on-exec: the load generators' and benchmarks' way
 * to reach a server (elig_client_connect() is the one with a timeout).
 * @return the socket; -EINVAL if s is not an address; -errno of socket(2)
 *         or connect(2).
 */
int elig_addr_connect(const char *s);

#endif
