/* SPDX-License-Identifier: MIT */
/*
 * elig_net_error: names for the network layer's error codes.
 *
 * Design: as index/elig_error.c, a static table indexed by (code - base),
 * for the block from ELIG_ERRNO_NET_BASE; every other code goes on to
 * elig_net_strerror(), so the programs (which see both kinds) call this one
 * function. No state.
 */
#include "elig_net_error.h"

static const char *const elig_net_error_names[ELIG_ERRNO_NET_END - ELIG_ERRNO_NET_BASE] = {
    [ELIG_EPROTO - ELIG_ERRNO_NET_BASE] = "malformed protocol frame",
    [ELIG_EREFUSED - ELIG_ERRNO_NET_BASE] = "the server refused the request",
    [ELIG_EFACFILE - ELIG_ERRNO_NET_BASE] = "facility registry is damaged (checksum or syntax)",
    [ELIG_EAUDIT - ELIG_ERRNO_NET_BASE] = "audit log or key is damaged (authentication failed)",
    [ELIG_EADDRESS - ELIG_ERRNO_NET_BASE] =
        "not an address (HOST:PORT or [IPv6]:PORT), or its host name does not resolve",
    [ELIG_ESTREAMGAP - ELIG_ERRNO_NET_BASE] =
        "the stream no longer holds what follows this position (past its retention)",
    [ELIG_ETLS - ELIG_ERRNO_NET_BASE] = "TLS failed (a certificate refused, or not a TLS peer)",
    [ELIG_EDISASTER - ELIG_ERRNO_NET_BASE] =
        "the disaster-mode declaration is damaged (checksum or syntax)",
    [ELIG_ELISTFILE - ELIG_ERRNO_NET_BASE] =
        "an appointment list's file is damaged (checksum or structure)",
};

const char *elig_net_strerror(int err)
{
    int code = err < 0 ? -err : err;
    if (code >= ELIG_ERRNO_NET_BASE && code < ELIG_ERRNO_NET_END) {
        const char *name = elig_net_error_names[code - ELIG_ERRNO_NET_BASE];
        return name ? name : "unknown error"; /* never NULL (test_proto checks all have one) */
    }
    return elig_strerror(err);
}
