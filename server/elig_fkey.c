/* SPDX-License-Identifier: MIT */
/*
 * elig_fkey: a facility's key, what both ends of the handshake share.
 *
 * A key is 32 random bytes (made by the registry, elig_fac); a facility
 * keeps it in a key file of 64 hex digits, mode 0600. The proof that
 * answers a server's challenge is HMAC-SHA-256 (libsodium's
 * crypto_auth_hmacsha256) under the key, over a context string, the
 * facility's code and the challenge, so a proof for one facility or one
 * challenge is worth nothing for another. Key bytes held in buffers here are
 * wiped (sodium_memzero) before they are released. No state of its own.
 */
#include "elig_fkey.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "elig_io.h"
#include "elig_proto.h"

#define CONTEXT "eligd-hello-v1"

int elig_fkey_init(void)
{
    return sodium_init() < 0 ? -EIO : 0;
}

void elig_fkey_proof(const uint8_t key[ELIG_FKEY_LEN], const char *code,
                     const uint8_t challenge[ELIG_FKEY_CHALLENGE_LEN],
                     uint8_t mac[ELIG_FKEY_MAC_LEN])
{
    crypto_auth_hmacsha256_state st;
    crypto_auth_hmacsha256_init(&st, key, ELIG_FKEY_LEN);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)CONTEXT, strlen(CONTEXT));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)code, ELIG_PROTO_FACILITY_LEN);
    crypto_auth_hmacsha256_update(&st, challenge, ELIG_FKEY_CHALLENGE_LEN);
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_memzero(&st, sizeof st);
}

int elig_fkey_parse(const char *hex, uint8_t key[ELIG_FKEY_LEN])
{
    size_t bin_len = 0;
    if (strlen(hex) != 2 * ELIG_FKEY_LEN ||
        sodium_hex2bin(key, ELIG_FKEY_LEN, hex, 2 * ELIG_FKEY_LEN, NULL, &bin_len, NULL) ||
        bin_len != ELIG_FKEY_LEN)
        return -EINVAL;
    return 0;
}

void elig_fkey_hex(const uint8_t key[ELIG_FKEY_LEN], char out[2 * ELIG_FKEY_LEN + 2])
{
    sodium_bin2hex(out, 2 * ELIG_FKEY_LEN + 1, key, ELIG_FKEY_LEN);
    out[2 * ELIG_FKEY_LEN] = '\n';
    out[2 * ELIG_FKEY_LEN + 1] = '\0';
}

int elig_fkey_read(const char *path, uint8_t key[ELIG_FKEY_LEN])
{
    char buf[2 * ELIG_FKEY_LEN + 16] = "";
    FILE *f = fopen(path, "r");
    if (!f)
        return -errno;
    bool ok = fgets(buf, sizeof buf, f) != NULL;
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    int rc = ok ? elig_fkey_parse(buf, key) : -EINVAL;
    sodium_memzero(buf, sizeof buf);
    return rc;
}

int elig_fkey_write(const char *path, const uint8_t key[ELIG_FKEY_LEN])
{
    char hex[2 * ELIG_FKEY_LEN + 2];
    elig_fkey_hex(key, hex);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    int rc = fd < 0 ? -errno : elig_io_write_all(fd, hex, strlen(hex));
    if (rc == 0 && fsync(fd))
        rc = -errno;
    if (fd >= 0)
        close(fd);
    sodium_memzero(hex, sizeof hex);
    return rc;
}
