/* SPDX-License-Identifier: MIT */
/*
 * elig_fac: the facility registry and the handshake's cryptography.
 *
 * In memory: an array of struct elig_fac kept sorted by code (insertion
 * keeps the order; a registry holds at most ELIG_FAC_MAX, and adding is an
 * operator's act, so the O(n) insert is of no concern), searched by binary
 * search. The registry eligd serves from is never changed in place: a
 * reload builds a new one.
 *
 * On disk: a header line, one line per facility
 *
 *     CODE <TAB> KIND <TAB> active|revoked <TAB> KEY_VERSION <TAB> CHANGED <TAB> KEY
 *
 * (KEY 64 lowercase hex digits, "-" once revoked) and a last line
 * "# crc32c XXXXXXXX" over every byte before it. Anything else is damage.
 *
 * Keys come from libsodium's CSPRNG; proofs are HMAC-SHA-256
 * (crypto_auth_hmacsha256) and are checked with its constant-time verify.
 * Key bytes are wiped (sodium_memzero) when a registry is freed or a
 * facility revoked.
 */
#include "elig_fac.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elig_crc32c.h"
#include "elig_net_error.h"
#include "elig_io.h"
#include "elig_proto.h"

#define HEADER       "# eligd facilities v1\n"
#define CONTEXT      "eligd-hello-v1"
#define FAC_LINE_MAX 256

struct elig_fac_registry {
    struct elig_fac *f;
    size_t n, cap;
};

static const char *const type_names[4] = { "hospital", "clinic", "dental", "pharmacy" };

const char *elig_fac_type_name(uint8_t type)
{
    return type < 4 ? type_names[type] : "?";
}

int elig_fac_type_parse(const char *s, enum elig_fac_type *out)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, type_names[i]) == 0) {
            *out = (enum elig_fac_type)i;
            return 0;
        }
    return -EINVAL;
}

/* Whether a facility of kind type may have this code's fee-table digit. */
static bool type_fits(const char *code, unsigned type)
{
    static const char fee[4] = { '1', '1', '3', '4' };
    return type < 4 && code[2] == fee[type];
}

int elig_fac_new(struct elig_fac_registry **out)
{
    struct elig_fac_registry *r = calloc(1, sizeof(*r));
    if (!r)
        return -ENOMEM;
    *out = r;
    return 0;
}

void elig_fac_free(struct elig_fac_registry *r)
{
    if (!r)
        return;
    if (r->f)
        sodium_memzero(r->f, r->cap * sizeof(*r->f));
    free(r->f);
    free(r);
}

size_t elig_fac_count(const struct elig_fac_registry *r)
{
    return r->n;
}

const struct elig_fac *elig_fac_at(const struct elig_fac_registry *r, size_t i)
{
    return i < r->n ? &r->f[i] : NULL;
}

/* Index of code, or where it would go (*found false). */
static size_t search(const struct elig_fac_registry *r, const char *code, bool *found)
{
    size_t lo = 0, hi = r->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(r->f[mid].code, code, ELIG_PROTO_FACILITY_LEN);
        if (c == 0) {
            *found = true;
            return mid;
        }
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *found = false;
    return lo;
}

const struct elig_fac *elig_fac_find(const struct elig_fac_registry *r, const char *code)
{
    bool found;
    size_t i = search(r, code, &found);
    return found ? &r->f[i] : NULL;
}

static struct elig_fac *find_mut(struct elig_fac_registry *r, const char *code)
{
    return (struct elig_fac *)elig_fac_find(r, code);
}

/* Insert f at its place. */
static int insert(struct elig_fac_registry *r, const struct elig_fac *f)
{
    bool found;
    size_t at = search(r, f->code, &found);
    if (found)
        return -EEXIST;
    if (r->n == ELIG_FAC_MAX)
        return -ENOSPC;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct elig_fac *nf = calloc(cap, sizeof(*nf));
        if (!nf)
            return -ENOMEM;
        if (r->f) {
            memcpy(nf, r->f, r->n * sizeof(*nf));
            sodium_memzero(r->f, r->cap * sizeof(*r->f));
            free(r->f);
        }
        r->f = nf;
        r->cap = cap;
    }
    memmove(&r->f[at + 1], &r->f[at], (r->n - at) * sizeof(*r->f));
    r->f[at] = *f;
    r->n++;
    return 0;
}

int elig_fac_add(struct elig_fac_registry *r, const char *code, enum elig_fac_type type,
                 int64_t now, uint8_t key_out[ELIG_FKEY_LEN])
{
    if (!code || strlen(code) != ELIG_PROTO_FACILITY_LEN || !elig_proto_facility_valid(code) ||
        !type_fits(code, type))
        return -EINVAL;
    struct elig_fac f = { .type = (uint8_t)type, .key_version = 1, .changed = now };
    memcpy(f.code, code, ELIG_PROTO_FACILITY_LEN + 1);
    randombytes_buf(f.key, sizeof f.key);
    int rc = insert(r, &f);
    if (rc == 0)
        memcpy(key_out, f.key, ELIG_FKEY_LEN);
    sodium_memzero(&f, sizeof f);
    return rc;
}

int elig_fac_rotate(struct elig_fac_registry *r, const char *code, int64_t now,
                    uint8_t key_out[ELIG_FKEY_LEN])
{
    struct elig_fac *f = code ? find_mut(r, code) : NULL;
    if (!f)
        return -ENOENT;
    if (f->revoked)
        return -EPERM;
    randombytes_buf(f->key, sizeof f->key);
    f->key_version++;
    f->changed = now;
    memcpy(key_out, f->key, ELIG_FKEY_LEN);
    return 0;
}

int elig_fac_revoke(struct elig_fac_registry *r, const char *code, int64_t now)
{
    struct elig_fac *f = code ? find_mut(r, code) : NULL;
    if (!f)
        return -ENOENT;
    if (f->revoked)
        return -EALREADY;
    f->revoked = true;
    f->changed = now;
    sodium_memzero(f->key, sizeof f->key);
    return 0;
}

/* ---- the file ------------------------------------------------------------- */

/* Parse one facility line (NUL-terminated, without its newline). */
static int parse_line(char *line, struct elig_fac *f)
{
    char *field[7];
    int n = 0;
    for (char *save = NULL, *t = strtok_r(line, "\t", &save); t && n < 7;
         t = strtok_r(NULL, "\t", &save))
        field[n++] = t;
    enum elig_fac_type type;
    char *end;
    memset(f, 0, sizeof(*f));
    if (n != 6 || strlen(field[0]) != ELIG_PROTO_FACILITY_LEN ||
        !elig_proto_facility_valid(field[0]) || elig_fac_type_parse(field[1], &type) ||
        !type_fits(field[0], type))
        return -ELIG_EFACFILE;
    memcpy(f->code, field[0], ELIG_PROTO_FACILITY_LEN + 1);
    f->type = (uint8_t)type;
    if (strcmp(field[2], "revoked") == 0)
        f->revoked = true;
    else if (strcmp(field[2], "active") != 0)
        return -ELIG_EFACFILE;
    unsigned long v = strtoul(field[3], &end, 10);
    if (*end || end == field[3] || v == 0 || v > UINT32_MAX)
        return -ELIG_EFACFILE;
    f->key_version = (uint32_t)v;
    long long t = strtoll(field[4], &end, 10);
    if (*end || end == field[4])
        return -ELIG_EFACFILE;
    f->changed = t;
    if (f->revoked ? strcmp(field[5], "-") != 0 : elig_fkey_parse(field[5], f->key) != 0)
        return -ELIG_EFACFILE;
    return 0;
}

static int read_all(const char *path, char **out, size_t *len)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) || st.st_size > (off_t)ELIG_FAC_MAX * FAC_LINE_MAX) {
        int e = errno ? -errno : -ELIG_EFACFILE;
        close(fd);
        return e;
    }
    char *buf = malloc((size_t)st.st_size + 1);
    size_t got = 0;
    while (buf && got < (size_t)st.st_size) {
        ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);
        if (r <= 0)
            break;
        got += (size_t)r;
    }
    close(fd);
    if (!buf || got != (size_t)st.st_size) {
        if (buf)
            sodium_memzero(buf, (size_t)st.st_size);
        free(buf);
        return buf ? -EIO : -ENOMEM;
    }
    buf[got] = '\0';
    *out = buf;
    *len = got;
    return 0;
}

int elig_fac_load(const char *path, struct elig_fac_registry **out)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = read_all(path, &buf, &len);
    if (rc)
        return rc;
    /* the trailer: "# crc32c XXXXXXXX\n" over everything before it */
    const size_t tl = 18;
    char want[20];
    if (len < strlen(HEADER) + tl || memcmp(buf, HEADER, strlen(HEADER)) != 0)
        rc = -ELIG_EFACFILE;
    if (rc == 0) { /* compared as text: one spelling of the checksum only */
        snprintf(want, sizeof want, "# crc32c %08x\n", elig_crc32c(0, buf, len - tl));
        if (memcmp(buf + len - tl, want, tl) != 0 || buf[len - tl - 1] != '\n')
            rc = -ELIG_EFACFILE;
    }
    struct elig_fac_registry *r = NULL;
    if (rc == 0)
        rc = elig_fac_new(&r);
    if (rc == 0)
        buf[len - tl] = '\0';
    for (char *save = NULL, *line = rc ? NULL : strtok_r(buf + strlen(HEADER), "\n", &save);
         line && rc == 0; line = strtok_r(NULL, "\n", &save)) {
        struct elig_fac f;
        rc = parse_line(line, &f);
        if (rc == 0)
            rc = insert(r, &f);
        if (rc == -EEXIST)
            rc = -ELIG_EFACFILE;
        sodium_memzero(&f, sizeof f);
    }
    sodium_memzero(buf, len);
    free(buf);
    if (rc) {
        elig_fac_free(r);
        return rc;
    }
    *out = r;
    return 0;
}

int elig_fac_save(const struct elig_fac_registry *r, const char *path)
{
    size_t cap = strlen(HEADER) + r->n * FAC_LINE_MAX + 32, len = 0;
    char *buf = malloc(cap);
    if (!buf)
        return -ENOMEM;
    len += (size_t)snprintf(buf, cap, "%s", HEADER);
    for (size_t i = 0; i < r->n; i++) {
        const struct elig_fac *f = &r->f[i];
        char hex[2 * ELIG_FKEY_LEN + 1] = "-";
        if (!f->revoked)
            sodium_bin2hex(hex, sizeof hex, f->key, sizeof f->key);
        len += (size_t)snprintf(buf + len, cap - len, "%s\t%s\t%s\t%u\t%lld\t%s\n", f->code,
                                elig_fac_type_name(f->type), f->revoked ? "revoked" : "active",
                                f->key_version, (long long)f->changed, hex);
        sodium_memzero(hex, sizeof hex);
    }
    len += (size_t)snprintf(buf + len, cap - len, "# crc32c %08x\n", elig_crc32c(0, buf, len));
    int rc = elig_io_replace_file(path, buf, len);
    sodium_memzero(buf, len);
    free(buf);
    return rc;
}

/* ---- the handshake -------------------------------------------------------- */

void elig_fac_challenge(uint8_t out[ELIG_FKEY_CHALLENGE_LEN])
{
    randombytes_buf(out, ELIG_FKEY_CHALLENGE_LEN);
}

bool elig_fac_verify(const struct elig_fac *f, const uint8_t challenge[ELIG_FKEY_CHALLENGE_LEN],
                     const uint8_t mac[ELIG_FKEY_MAC_LEN])
{
    if (!f || f->revoked)
        return false;
    uint8_t want[ELIG_FKEY_MAC_LEN];
    elig_fkey_proof(f->key, f->code, challenge, want);
    bool ok = sodium_memcmp(want, mac, ELIG_FKEY_MAC_LEN) == 0;
    sodium_memzero(want, sizeof want);
    return ok;
}
