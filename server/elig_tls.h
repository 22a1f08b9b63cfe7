/* SPDX-License-Identifier: MIT */
#ifndef ELIG_TLS_H
#define ELIG_TLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * TLS 1.3 for the facility port (OpenSSL 3), without I/O: a session turns
 * received ciphertext into plaintext and plaintext to send into ciphertext
 * through memory BIOs, so the caller keeps moving bytes as it did before
 * (eligd's io_uring rings, the client core's loops). Both ends use it: the
 * server with the facility CA to verify client certificates (mutual TLS),
 * the client with its facility certificate and the CA that signed the
 * server's. ALPN "eligd/1" is required on both sides; frames inside are
 * exactly docs/protocol.md's.
 *
 * A context (elig_tls_ctx) is made from files and shared by the sessions of
 * every thread (thread-safe: a reload swaps what new sessions are made from
 * under a lock, while sessions already made keep theirs); a session
 * (elig_tls) belongs to one connection and one thread at a time.
 */

#define ELIG_TLS_ALPN "eligd/1"

/** Which end a context serves. */
enum elig_tls_role {
    ELIG_TLS_SERVER, /**< eligd: asks for and verifies a client certificate */
    ELIG_TLS_CLIENT, /**< a facility: presents its certificate, verifies the server's */
};

/** What a context is made of (PEM files). */
struct elig_tls_params {
    enum elig_tls_role role;
    const char *cert;        /**< this end's certificate (chain), PEM */
    const char *key;         /**< its private key, PEM */
    const char *ca;          /**< the CA that signed the other end's certificates, PEM */
    const char *server_name; /**< client: the name the server's certificate must carry (a
                                  DNS name or an IP address); NULL: not checked (the CA
                                  alone is trusted) */
};

/** A context (opaque). */
struct elig_tls_ctx;

/**
 * Make a context from the files in p. Refused files are named in err (a
 * line, without a newline) so an operator sees which one and why.
 * @return 0 and *out; -ENOENT, -EACCES (a file); -EINVAL (not PEM, a key
 *         that does not match its certificate, no certificate in the CA
 *         file); -ENOMEM.
 */
int elig_tls_ctx_new(const struct elig_tls_params *p, struct elig_tls_ctx **out, char *err,
                     size_t err_size);

/**
 * Read the files of p again (a renewed certificate and key, a new CA file):
 * sessions made from now on use them, sessions made before keep what they
 * had. Nothing changes when a file is refused. Thread-safe.
 * @return 0; the errors of elig_tls_ctx_new() (named in err); -EINVAL (p's
 *         role is not ctx's).
 */
int elig_tls_ctx_reload(struct elig_tls_ctx *ctx, const struct elig_tls_params *p, char *err,
                        size_t err_size);

/** Free a context once no thread makes sessions from it (sessions hold their own). NULL is ignored.
 */
void elig_tls_ctx_free(struct elig_tls_ctx *ctx);

/** A session (opaque). */
struct elig_tls;

/** A session on ctx, before its handshake. @return 0 and *out; -ENOMEM. */
int elig_tls_new(struct elig_tls_ctx *ctx, struct elig_tls **out);

/** A client's saved TLS session, to resume the next connection with (opaque). */
struct elig_tls_resume;

/**
 * A client session that offers to resume r (the ticket the server gave an
 * earlier connection): the handshake then skips the certificates and their
 * signatures when the server accepts it, and is a full one otherwise.
 * @return 0 and *out; -ENOMEM.
 */
int elig_tls_new_resuming(struct elig_tls_ctx *ctx, const struct elig_tls_resume *r,
                          struct elig_tls **out);

/**
 * What a client needs to resume later: the session of t once the server's
 * ticket came (after the first bytes read past the handshake). NULL: none
 * yet. Keep it past elig_tls_free(t).
 */
struct elig_tls_resume *elig_tls_resume_get(const struct elig_tls *t);

/** Free what elig_tls_resume_get() gave. NULL is ignored. */
void elig_tls_resume_free(struct elig_tls_resume *r);

/** Whether t's handshake resumed an earlier session (once ready). */
bool elig_tls_resumed(const struct elig_tls *t);

/** Free a session. NULL is ignored. */
void elig_tls_free(struct elig_tls *t);

/**
 * Received ciphertext: all of p[0..n) is taken (buffered until it is read).
 * @return 0; -ENOMEM.
 */
int elig_tls_feed(struct elig_tls *t, const uint8_t *p, size_t n);

/**
 * Plaintext out of what was fed, handshake first: up to cap bytes into out.
 * @return the bytes read (0: nothing yet, feed more and send what
 *         elig_tls_take() has); -EPROTO (the handshake or a record failed:
 *         a wrong certificate, a plaintext peer, garbage; the session is
 *         dead, see elig_tls_error()); -ECONNRESET (the peer closed TLS).
 */
long elig_tls_read(struct elig_tls *t, uint8_t *out, size_t cap);

/**
 * Plaintext to send: encrypted into the session's output (elig_tls_take()).
 * Before the handshake ended the bytes are kept and go out after it.
 * @return 0; -EPROTO (the session is dead); -ENOMEM.
 */
int elig_tls_write(struct elig_tls *t, const uint8_t *p, size_t n);

/**
 * Ciphertext to send (handshake messages, records, alerts): moved to
 * out[0..cap).
 * @return the bytes moved; 0 when there are none.
 */
size_t elig_tls_take(struct elig_tls *t, uint8_t *out, size_t cap);

/** Bytes of ciphertext waiting for elig_tls_take(). */
size_t elig_tls_pending(const struct elig_tls *t);

/** Whether the handshake has ended well. */
bool elig_tls_ready(const struct elig_tls *t);

/**
 * The peer certificate's subject common name, once ready (the facility
 * code of a facility's certificate): copied into out (NUL-terminated).
 * @return 0; -ENOENT (no certificate, or no common name); -ENAMETOOLONG.
 */
int elig_tls_peer_name(const struct elig_tls *t, char *out, size_t size);

/** Why a session died: a constant string (never personal data). */
const char *elig_tls_error(const struct elig_tls *t);

/** Queue a close_notify alert (sent with the next elig_tls_take()). */
void elig_tls_close(struct elig_tls *t);

#endif
