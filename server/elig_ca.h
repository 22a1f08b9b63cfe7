/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CA_H
#define ELIG_CA_H

/**
 * @file
 * The clearinghouse's certificate authority (OpenSSL 3): it signs eligd's
 * server certificate and one client certificate per facility, whose
 * subject common name is the facility's 10-digit code, the identity eligd
 * takes from a TLS connection (elig_tls.h). Keys are ECDSA P-256;
 * certificates are X.509 v3 with random 128-bit serial numbers, signed with
 * SHA-256, and say what they are for (CA; server authentication with the
 * server's name as subjectAltName; client authentication).
 *
 * A CA is a directory (docs/operations.md, "TLS"): ca.key (mode 0600) and
 * ca.crt. Every file made here is new (never one that exists: -EEXIST),
 * keys with mode 0600, written whole and synced. Revocation is not the
 * CA's: the facility registry says which codes are revoked, and eligd
 * refuses their certificates at the handshake.
 *
 * Functions are thread-safe on distinct arguments. No global state.
 */

/** Default validity, days: the CA 10 years, other certificates 2 years. */
#define ELIG_CA_DAYS      3650
#define ELIG_CA_CERT_DAYS 730

/** The CA (opaque). */
struct elig_ca;

/**
 * Make a CA in dir (created if missing, mode 0700): a new key and a
 * self-signed certificate with common name name, valid for days.
 * @return 0; -EEXIST (dir holds a CA already); -errno of the files; -ENOMEM.
 */
int elig_ca_init(const char *dir, const char *name, unsigned days);

/**
 * Load the CA of dir.
 * @return 0 and *out; -ENOENT (no CA there); -EINVAL (its key does not
 *         match its certificate, or a file is not PEM); -ENOMEM.
 */
int elig_ca_open(const char *dir, struct elig_ca **out);

/** Free a loaded CA (its key wiped). NULL is ignored. */
void elig_ca_close(struct elig_ca *ca);

/**
 * A server certificate for name (a DNS name or an IP address, put in the
 * subjectAltName) and its new key.
 * @return 0; -EINVAL (name empty or over 253 bytes); -EEXIST; -errno; -ENOMEM.
 */
int elig_ca_issue_server(struct elig_ca *ca, const char *name, unsigned days, const char *key_out,
                         const char *cert_out);

/**
 * A facility's client certificate (common name code) and its new key.
 * @return 0; -EINVAL (code is not a facility code); -EEXIST; -errno; -ENOMEM.
 */
int elig_ca_issue_facility(struct elig_ca *ca, const char *code, unsigned days, const char *key_out,
                           const char *cert_out);

/**
 * Sign a facility's certificate request (PEM, made with its own key):
 * its signature must verify and its common name must be code.
 * @return 0; -EINVAL (not a request, a bad signature, another common
 *         name); -EEXIST; -errno; -ENOMEM.
 */
int elig_ca_sign_request(struct elig_ca *ca, const char *code, const char *csr_path, unsigned days,
                         const char *cert_out);

#endif
