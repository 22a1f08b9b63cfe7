/* SPDX-License-Identifier: MIT */
#ifndef ELIG_NET_ERROR_H
#define ELIG_NET_ERROR_H

#include "elig_error.h"

/**
 * @file
 * The network layer's error codes: the protocol, the client library and the
 * server, numbered from ELIG_ERRNO_NET_BASE (index/elig_error.h keeps the
 * numbering space, and the codes of the store and the data below it).
 * Returned negated, as every project code is.
 */
enum elig_net_errno {
    ELIG_EPROTO = ELIG_ERRNO_NET_BASE, /**< bytes that are not a protocol frame of the kind due */
    ELIG_EREFUSED,                     /**< the server answered the request with an error status */
    ELIG_EFACFILE,                     /**< facility registry is damaged (checksum or syntax) */
    ELIG_EAUDIT,                       /**< audit log or key is damaged (authentication failed) */
    ELIG_EADDRESS,   /**< not HOST:PORT ([IPv6]:PORT), or its host does not resolve */
    ELIG_ETLS,       /**< the TLS handshake or a record failed (a certificate, a plaintext peer) */
    ELIG_ESTREAMGAP, /**< the cluster's stream no longer holds what follows a node's position */
    ELIG_ELISTFILE,  /**< an appointment list's file is damaged (checksum or structure) */
    ELIG_EDISASTER,  /**< the disaster-mode declaration (DATA/disaster) is damaged */
    ELIG_ERRNO_NET_END
};

/**
 * Name any error code: the network layer's here, the others as
 * elig_strerror() does (the project's, then the system's).
 *
 * @param err  a value returned by any elig function (negative), or its absolute value.
 * @return     a static, constant string; never NULL ("unknown error" for an
 *             unknown code). Thread-safe.
 */
const char *elig_net_strerror(int err);

#endif
