/* SPDX-License-Identifier: MIT */
/*
 * elig_codec: update events to bytes and back (see elig_codec.h for the
 * layout).
 *
 * Design: a writer and a reader cursor over a caller's buffer. Every put
 * checks room and every get checks what is left, setting a sticky error
 * flag instead of returning early, so the encoders and decoders read as a
 * plain list of fields in layout order and cannot drift apart. Decoding ends
 * by requiring that the buffer was consumed exactly.
 */
#include <errno.h>
#include <stdbool.h>
#include <string.h>

#include "elig_codec.h"
#include "elig_error.h"

struct cursor {
    uint8_t *w;       /* writing: the buffer */
    const uint8_t *r; /* reading: the buffer */
    size_t len, pos;
    int err;
};

static void put(struct cursor *c, const void *p, size_t n)
{
    if (c->err || n > c->len - c->pos) {
        c->err = c->err ? c->err : -ENOBUFS;
        return;
    }
    memcpy(c->w + c->pos, p, n);
    c->pos += n;
}

static void put_u8(struct cursor *c, uint8_t v)
{
    put(c, &v, 1);
}

static void put_u16(struct cursor *c, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    put(c, b, 2);
}

static void put_u32(struct cursor *c, uint32_t v)
{
    put_u16(c, (uint16_t)v);
    put_u16(c, (uint16_t)(v >> 16));
}

static void put_u64(struct cursor *c, uint64_t v)
{
    put_u32(c, (uint32_t)v);
    put_u32(c, (uint32_t)(v >> 32));
}

static void put_str(struct cursor *c, const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n > max) {
        c->err = c->err ? c->err : -ELIG_ETOOLONG;
        return;
    }
    put_u8(c, (uint8_t)n);
    put(c, s, n);
}

static void put_key(struct cursor *c, const struct elig_key *k)
{
    uint8_t buf[ELIG_KEY_BYTES_MAX];
    size_t n = elig_key_encode(k, buf);
    put_u8(c, (uint8_t)n);
    put(c, buf, n);
}

/* A record; without its key and person (ident = false) for a CHANGE's new values. */
static void put_record(struct cursor *c, const struct elig_record *r, bool ident)
{
    if (ident) {
        put_key(c, &r->key);
        put_u64(c, r->person_id);
    }
    const elig_date_t d[7] = { r->birth_date, r->acquired,     r->valid_from,   r->valid_until,
                               r->loss_date,  r->elderly_from, r->elderly_until };
    for (int i = 0; i < 7; i++)
        put_u16(c, d[i]);
    const uint8_t b[6] = { r->relation,  r->sex,         r->loss_reason,
                           r->copay_pct, r->elderly_pct, r->limit_category };
    put(c, b, sizeof b);
    put_str(c, r->family_kanji, ELIG_NAME_MAX);
    put_str(c, r->given_kanji, ELIG_NAME_MAX);
    put_str(c, r->family_kana, ELIG_NAME_MAX);
    put_str(c, r->given_kana, ELIG_NAME_MAX);
}

int elig_event_encode(const struct elig_event *ev, uint8_t *buf, size_t cap)
{
    struct cursor c = { .w = buf, .len = cap };
    put_u8(&c, ev->kind);
    put_u16(&c, ev->effective);
    put(&c, ev->source, ELIG_INSURER_LEN);
    switch (ev->kind) {
    case ELIG_EV_ACQUIRE:
        put_record(&c, &ev->u.acquire, true);
        break;
    case ELIG_EV_LOSS:
        put_key(&c, &ev->u.loss.key);
        put_u8(&c, ev->u.loss.reason);
        break;
    case ELIG_EV_CHANGE:
        put_key(&c, &ev->u.change.key);
        put_u32(&c, ev->u.change.fields);
        put_record(&c, &ev->u.change.values, false);
        break;
    case ELIG_EV_CARD_REGISTER:
    case ELIG_EV_CARD_DEREGISTER:
    case ELIG_EV_CERT_RENEW:
    case ELIG_EV_CARD_RETURN:
        put_u64(&c, ev->u.card.card_id);
        put_u64(&c, ev->u.card.person_id);
        put_u16(&c, ev->u.card.cert_expiry);
        break;
    case ELIG_EV_INSURER:
        put_str(&c, ev->u.insurer.name, ELIG_INSURER_NAME_MAX);
        break;
    default:
        return -ELIG_EKIND;
    }
    return c.err ? c.err : (int)c.pos;
}

static void get(struct cursor *c, void *p, size_t n)
{
    if (c->err || n > c->len - c->pos) {
        c->err = -ELIG_ESYNTAX;
        memset(p, 0, n);
        return;
    }
    memcpy(p, c->r + c->pos, n);
    c->pos += n;
}

static uint8_t get_u8(struct cursor *c)
{
    uint8_t v;
    get(c, &v, 1);
    return v;
}

static uint16_t get_u16(struct cursor *c)
{
    uint8_t b[2];
    get(c, b, 2);
    return (uint16_t)(b[0] | b[1] << 8);
}

static uint32_t get_u32(struct cursor *c)
{
    uint32_t lo = get_u16(c);
    return lo | (uint32_t)get_u16(c) << 16;
}

static uint64_t get_u64(struct cursor *c)
{
    uint64_t lo = get_u32(c);
    return lo | (uint64_t)get_u32(c) << 32;
}

/* A length-prefixed string into out (room for max bytes and a NUL); no NUL inside. */
static void get_str(struct cursor *c, char *out, size_t max)
{
    size_t n = get_u8(c);
    if (n > max)
        c->err = -ELIG_ESYNTAX;
    if (c->err) {
        out[0] = '\0';
        return;
    }
    get(c, out, n);
    out[c->err ? 0 : n] = '\0';
    if (!c->err && memchr(out, '\0', n))
        c->err = -ELIG_ESYNTAX;
}

static void get_key(struct cursor *c, struct elig_key *k)
{
    uint8_t buf[ELIG_KEY_BYTES_MAX];
    size_t n = get_u8(c);
    if (n > sizeof buf)
        c->err = -ELIG_ESYNTAX;
    if (c->err) {
        memset(k, 0, sizeof *k);
        return;
    }
    get(c, buf, n);
    char ins[ELIG_INSURER_LEN];
    if (!c->err && (elig_key_decode(buf, n, k) < 0 ||
                    elig_insurer_normalize(k->insurer, ELIG_INSURER_LEN, ins) < 0 ||
                    memcmp(ins, k->insurer, ELIG_INSURER_LEN) != 0))
        c->err = -ELIG_ESYNTAX; /* not a canonical key */
}

static void get_record(struct cursor *c, struct elig_record *r, bool ident)
{
    if (ident) {
        get_key(c, &r->key);
        r->person_id = get_u64(c);
    }
    elig_date_t *d[7] = { &r->birth_date, &r->acquired,     &r->valid_from,   &r->valid_until,
                          &r->loss_date,  &r->elderly_from, &r->elderly_until };
    for (int i = 0; i < 7; i++)
        *d[i] = get_u16(c);
    uint8_t b[6];
    get(c, b, sizeof b);
    r->relation = b[0];
    r->sex = b[1];
    r->loss_reason = b[2];
    r->copay_pct = b[3];
    r->elderly_pct = b[4];
    r->limit_category = b[5];
    get_str(c, r->family_kanji, ELIG_NAME_MAX);
    get_str(c, r->given_kanji, ELIG_NAME_MAX);
    get_str(c, r->family_kana, ELIG_NAME_MAX);
    get_str(c, r->given_kana, ELIG_NAME_MAX);
}

int elig_event_head(const uint8_t *buf, size_t len, uint8_t *kind, elig_date_t *effective,
                    char source[ELIG_INSURER_LEN])
{
    struct cursor c = { .r = buf, .len = len };
    *kind = get_u8(&c);
    *effective = get_u16(&c);
    get(&c, source, ELIG_INSURER_LEN);
    return c.err ? -ELIG_ESYNTAX : 0;
}

int elig_event_decode(const uint8_t *buf, size_t len, struct elig_event *ev)
{
    struct cursor c = { .r = buf, .len = len };
    memset(ev, 0, sizeof *ev);
    ev->kind = get_u8(&c);
    ev->effective = get_u16(&c);
    get(&c, ev->source, ELIG_INSURER_LEN);
    if (c.err)
        return c.err;
    switch (ev->kind) {
    case ELIG_EV_ACQUIRE:
        get_record(&c, &ev->u.acquire, true);
        break;
    case ELIG_EV_LOSS:
        get_key(&c, &ev->u.loss.key);
        ev->u.loss.reason = get_u8(&c);
        break;
    case ELIG_EV_CHANGE:
        get_key(&c, &ev->u.change.key);
        ev->u.change.fields = get_u32(&c);
        get_record(&c, &ev->u.change.values, false);
        break;
    case ELIG_EV_CARD_REGISTER:
    case ELIG_EV_CARD_DEREGISTER:
    case ELIG_EV_CERT_RENEW:
    case ELIG_EV_CARD_RETURN:
        ev->u.card.card_id = get_u64(&c);
        ev->u.card.person_id = get_u64(&c);
        ev->u.card.cert_expiry = get_u16(&c);
        break;
    case ELIG_EV_INSURER:
        get_str(&c, ev->u.insurer.name, ELIG_INSURER_NAME_MAX);
        break;
    default:
        return -ELIG_EKIND;
    }
    if (!c.err && c.pos != len)
        c.err = -ELIG_ESYNTAX; /* trailing bytes */
    return c.err;
}
