/* SPDX-License-Identifier: MIT */
#ifndef ELIG_ADDR_H
#define ELIG_ADDR_H

#include <netinet/in.h>

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

#endif
