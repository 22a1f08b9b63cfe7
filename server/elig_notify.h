/* SPDX-License-Identifier: MIT */
#ifndef ELIG_NOTIFY_H
#define ELIG_NOTIFY_H

#include <stdint.h>

/**
 * @file
 * What eligd tells its service manager (systemd's sd_notify protocol, through
 * libsystemd): READY=1 once it serves, STATUS= lines while it starts,
 * WATCHDOG=1 while its loops are alive, STOPPING=1 when it stops.
 *
 * Without NOTIFY_SOCKET in the environment (started by hand, by a test, by
 * a unit of Type=simple) every call does nothing and returns 0. Messages
 * carry counts and LSNs, never personal data. All functions are
 * thread-safe (each message is one datagram).
 */

/** READY=1, with a STATUS= line saying what is served. @return 0 or 1 (sent); -errno. */
int elig_notify_ready(const char *status);

/** A STATUS= line (printf format). @return 0 or 1 (sent); -errno. */
int elig_notify_status(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/** STOPPING=1: eligd is finishing what is in flight. @return 0 or 1 (sent); -errno. */
int elig_notify_stopping(void);

/** WATCHDOG=1: every loop went round in time. @return 0 or 1 (sent); -errno. */
int elig_notify_watchdog(void);

/**
 * The watchdog interval the service manager asked for (WATCHDOG_USEC, for
 * this process), in microseconds; 0: no watchdog. Pings are due at least
 * every half of it.
 */
uint64_t elig_notify_watchdog_usec(void);

#endif
