/* SPDX-License-Identifier: MIT */
/*
 * elig_notify: the sd_notify protocol, by libsystemd.
 *
 * A thin layer so that one file knows the protocol's words and eligd's code
 * says what happened (ready, stopping) rather than how it is sent. sd_notify
 * reads NOTIFY_SOCKET on each call and keeps no state of ours; a datagram
 * that cannot be sent is not retried (the service manager then sees eligd
 * as not ready, or restarts it on a missed watchdog: the safe outcome).
 */
#include "elig_notify.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <systemd/sd-daemon.h>

int elig_notify_ready(const char *status)
{
    return sd_notifyf(0, "READY=1\nSTATUS=%s", status);
}

int elig_notify_status(const char *fmt, ...)
{
    char line[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    return sd_notifyf(0, "STATUS=%s", line);
}

int elig_notify_stopping(void)
{
    return sd_notify(0, "STOPPING=1\nSTATUS=stopping: finishing in-flight requests");
}

int elig_notify_watchdog(void)
{
    return sd_notify(0, "WATCHDOG=1");
}

uint64_t elig_notify_watchdog_usec(void)
{
    uint64_t usec = 0;
    return sd_watchdog_enabled(0, &usec) > 0 ? usec : 0;
}
