/* SPDX-License-Identifier: MIT */
/*
 * elig_proto: the frame codec of docs/protocol.md.
 *
 * Design. Decoding never copies: a decoded request points into the frame it
 * came from, so the server can parse a whole receive buffer of frames and
 * hand the fields straight to key normalisation. Every read is preceded by
 * a bounds check against the length the caller gave (a cursor with a
 * "short" flag: once a read would pass the end, every later read yields
 * zero and the decode fails), so hostile lengths cannot make a decoder read
 * out of bounds; the fuzz harness (tests/fuzz) drives exactly these entry
 * points. Encoding appends to an elig_pbuf, whose memory is kept between
 * frames: the server's steady state does no allocation.
 *
 * All integers are little-endian (elig_le.h). Dates travel as YYYYMMDD in a
 * u32, readable in a hex dump and easy for a client to produce.
 */
#include "elig_proto.h"

#include "elig_codec.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "elig_net_error.h"
#include "elig_jis.h"
#include "elig_le.h"

/* ---- buffers ---------------------------------------------------------- */

int elig_pbuf_reserve(struct elig_pbuf *b, size_t n)
{
    if (b->cap - b->len >= n)
        return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < n)
        cap *= 2;
    uint8_t *p = realloc(b->data, cap);
    if (p == NULL)
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

void elig_pbuf_free(struct elig_pbuf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static uint8_t *put(struct elig_pbuf *b, size_t n)
{
    if (elig_pbuf_reserve(b, n))
        return NULL;
    uint8_t *p = b->data + b->len;
    b->len += n;
    return p;
}

/* A length-prefixed string: u8 length, bytes. */
static int put_str(struct elig_pbuf *b, const char *s, size_t n)
{
    if (n > 255)
        return -EINVAL;
    uint8_t *p = put(b, 1 + n);
    if (p == NULL)
        return -ENOMEM;
    p[0] = (uint8_t)n;
    if (n)
        memcpy(p + 1, s, n);
    return 0;
}

/* ---- reading cursor --------------------------------------------------- */

struct cur {
    const uint8_t *p;
    size_t len, off;
    bool shortread; /* a read passed the end: everything after is zero */
};

static const uint8_t *take(struct cur *c, size_t n)
{
    if (c->shortread || c->len - c->off < n) {
        c->shortread = true;
        return NULL;
    }
    const uint8_t *p = c->p + c->off;
    c->off += n;
    return p;
}

static uint8_t rd8(struct cur *c)
{
    const uint8_t *p = take(c, 1);
    return p ? p[0] : 0;
}

static uint16_t rd16(struct cur *c)
{
    const uint8_t *p = take(c, 2);
    return p ? elig_rd16(p) : 0;
}

static uint32_t rd32(struct cur *c)
{
    const uint8_t *p = take(c, 4);
    return p ? elig_rd32(p) : 0;
}

static uint64_t rd64(struct cur *c)
{
    const uint8_t *p = take(c, 8);
    return p ? elig_rd64(p) : 0;
}

/* A length-prefixed string of at most max bytes; false if longer or short. */
static bool rdstr(struct cur *c, size_t max, const char **s, uint8_t *n)
{
    uint8_t len = rd8(c);
    const uint8_t *p = take(c, len);
    if (p == NULL || len > max)
        return false;
    *s = (const char *)p;
    *n = len;
    return true;
}

/* Copy a length-prefixed string into a NUL-terminated buffer of cap bytes. */
static bool rdstr_copy(struct cur *c, char *out, size_t cap)
{
    const char *s;
    uint8_t n;
    if (!rdstr(c, cap - 1, &s, &n))
        return false;
    memcpy(out, s, n);
    out[n] = '\0';
    return memchr(out, '\0', n) == NULL;
}

/* ---- frames ----------------------------------------------------------- */

int elig_proto_header_decode(const uint8_t *buf, size_t len, bool response,
                             struct elig_proto_header *h)
{
    if (len < ELIG_PROTO_HEADER)
        return -EAGAIN;
    if (buf[0] != ELIG_PROTO_MAGIC0 || buf[1] != ELIG_PROTO_MAGIC1 || buf[6] || buf[7])
        return -ELIG_EPROTO;
    h->version = buf[2];
    h->opcode = buf[3];
    h->flags = buf[4];
    h->status = buf[5];
    h->request_id = elig_rd32(buf + 8);
    h->body_len = elig_rd32(buf + 12);
    if (response ? h->flags != ELIG_PROTO_F_RESPONSE : (h->flags != 0 || h->status != 0))
        return -ELIG_EPROTO;
    return 0;
}

long elig_proto_frame_next(const uint8_t *buf, size_t len, bool response,
                           struct elig_proto_header *h)
{
    int rc = elig_proto_header_decode(buf, len, response, h);
    if (rc == -EAGAIN)
        return 0;
    if (rc)
        return rc;
    size_t whole = ELIG_PROTO_HEADER + (size_t)h->body_len;
    return len >= whole ? (long)whole : 0;
}

void elig_proto_header_encode(uint8_t *out, const struct elig_proto_header *h)
{
    out[0] = ELIG_PROTO_MAGIC0;
    out[1] = ELIG_PROTO_MAGIC1;
    out[2] = h->version;
    out[3] = h->opcode;
    out[4] = h->flags;
    out[5] = h->status;
    out[6] = out[7] = 0;
    elig_le32(out + 8, h->request_id);
    elig_le32(out + 12, h->body_len);
}

long elig_proto_frame_begin(struct elig_pbuf *b, uint8_t opcode, uint8_t flags, uint8_t status,
                            uint32_t request_id)
{
    long at = (long)b->len;
    uint8_t *p = put(b, ELIG_PROTO_HEADER);
    if (p == NULL)
        return -ENOMEM;
    struct elig_proto_header h = {
        .version = ELIG_PROTO_VERSION,
        .opcode = opcode,
        .flags = flags,
        .status = status,
        .request_id = request_id,
    };
    elig_proto_header_encode(p, &h);
    return at;
}

void elig_proto_frame_end(struct elig_pbuf *b, long offset)
{
    elig_le32(b->data + offset + 12, (uint32_t)(b->len - (size_t)offset - ELIG_PROTO_HEADER));
}

/* ---- requests --------------------------------------------------------- */

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

bool elig_proto_facility_valid(const char *code)
{
    if (!digits(code, ELIG_PROTO_FACILITY_LEN))
        return false;
    int pref = (code[0] - '0') * 10 + (code[1] - '0');
    char fee = code[2];
    return pref >= 1 && pref <= 47 && (fee == '1' || fee == '3' || fee == '4');
}

int elig_proto_number_decode(const uint8_t *body, size_t len, size_t *off, bool in_batch,
                             struct elig_proto_number *q)
{
    struct cur c = { .p = body, .len = len, .off = *off };
    q->facility = in_batch ? NULL : (const char *)take(&c, ELIG_PROTO_FACILITY_LEN);
    q->flags = rd8(&c);
    uint8_t reserved = rd8(&c);
    q->date = rd32(&c);
    q->birth = rd32(&c);
    bool ok = rdstr(&c, ELIG_PROTO_INSURER_MAX, &q->insurer, &q->insurer_len) &&
              rdstr(&c, ELIG_PROTO_SYMBOL_MAX, &q->symbol, &q->symbol_len) &&
              rdstr(&c, ELIG_PROTO_NUMBER_MAX, &q->number, &q->number_len) &&
              rdstr(&c, ELIG_PROTO_BRANCH_MAX, &q->branch, &q->branch_len);
    if (!ok || c.shortread || reserved || (q->flags & ~ELIG_PROTO_CONSENT) ||
        (!in_batch && c.off != len))
        return -ELIG_EPROTO;
    *off = c.off;
    return 0;
}

int elig_proto_card_decode(const uint8_t *body, size_t len, struct elig_proto_card *q)
{
    struct cur c = { .p = body, .len = len };
    q->facility = (const char *)take(&c, ELIG_PROTO_FACILITY_LEN);
    q->flags = rd8(&c);
    uint8_t reserved = rd8(&c);
    q->date = rd32(&c);
    q->card_id = rd64(&c);
    if (c.shortread || reserved || (q->flags & ~ELIG_PROTO_CONSENT) || c.off != len)
        return -ELIG_EPROTO;
    return 0;
}

int elig_proto_batch_decode(const uint8_t *body, size_t len, struct elig_proto_batch *b)
{
    struct cur c = { .p = body, .len = len };
    b->facility = (const char *)take(&c, ELIG_PROTO_FACILITY_LEN);
    b->count = rd16(&c);
    if (c.shortread || b->count == 0 || b->count > ELIG_PROTO_BATCH_MAX)
        return -ELIG_EPROTO;
    b->offset = c.off;
    size_t off = c.off;
    for (unsigned i = 0; i < b->count; i++) {
        struct elig_proto_number q;
        if (elig_proto_number_decode(body, len, &off, true, &q))
            return -ELIG_EPROTO;
    }
    return off == len ? 0 : -ELIG_EPROTO;
}

int elig_proto_person_decode(const uint8_t *body, size_t len, struct elig_proto_person *q)
{
    struct cur c = { .p = body, .len = len };
    q->facility = (const char *)take(&c, ELIG_PROTO_FACILITY_LEN);
    q->flags = rd8(&c);
    q->reason = rd8(&c);
    q->date = rd32(&c);
    q->birth = rd32(&c);
    q->sex = rd8(&c);
    q->prefecture = rd8(&c);
    bool ok = rdstr(&c, ELIG_NAME_MAX, &q->family_kana, &q->family_len) &&
              rdstr(&c, ELIG_NAME_MAX, &q->given_kana, &q->given_len);
    if (!ok || c.shortread || c.off != len || (q->flags & ~ELIG_PROTO_CONSENT) ||
        q->reason < ELIG_REASON_NO_CARD || q->reason > ELIG_REASON_CANNOT_TELL ||
        (q->sex != ELIG_SEX_MALE && q->sex != ELIG_SEX_FEMALE) || q->prefecture > 47 ||
        q->family_len == 0)
        return -ELIG_EPROTO;
    return 0;
}

int elig_proto_person_encode(struct elig_pbuf *b, const struct elig_proto_person *q)
{
    if (q->family_len > ELIG_NAME_MAX || q->given_len > ELIG_NAME_MAX)
        return -EINVAL;
    uint8_t *p = put(b, ELIG_PROTO_PERSON_HEAD);
    if (p == NULL)
        return -ENOMEM;
    memcpy(p, q->facility, ELIG_PROTO_FACILITY_LEN);
    p[10] = q->flags;
    p[11] = q->reason;
    elig_le32(p + 12, q->date);
    elig_le32(p + 16, q->birth);
    p[20] = q->sex;
    p[21] = q->prefecture;
    int rc = put_str(b, q->family_kana, q->family_len);
    return rc ? rc : put_str(b, q->given_kana, q->given_len);
}

int elig_proto_list_part_decode(const uint8_t *body, size_t len, struct elig_proto_list_part *p)
{
    struct cur c = { .p = body, .len = len };
    p->facility = (const char *)take(&c, ELIG_PROTO_FACILITY_LEN);
    p->flags = rd8(&c);
    uint8_t reserved = rd8(&c);
    p->reception = rd64(&c);
    p->count = rd16(&c);
    if (c.shortread || reserved || (p->flags & ~ELIG_PROTO_LIST_PART_LAST) || p->count == 0 ||
        p->count > ELIG_PROTO_BATCH_MAX)
        return -ELIG_EPROTO;
    size_t off = c.off;
    for (unsigned i = 0; i < p->count; i++) {
        struct elig_proto_number q;
        if (elig_proto_number_decode(body, len, &off, true, &q))
            return -ELIG_EPROTO;
    }
    p->entries = body + c.off;
    p->entries_len = off - c.off;
    return off == len ? 0 : -ELIG_EPROTO;
}

int elig_proto_list_part_head_encode(struct elig_pbuf *b, const char *facility, uint8_t flags,
                                     uint64_t reception, uint16_t count)
{
    uint8_t *p = put(b, ELIG_PROTO_LIST_PART_HEAD);
    if (p == NULL)
        return -ENOMEM;
    memcpy(p, facility, ELIG_PROTO_FACILITY_LEN);
    p[10] = flags;
    p[11] = 0;
    elig_le64(p + 12, reception);
    elig_le16(p + 20, count);
    return 0;
}

void elig_proto_list_state_encode(uint8_t *out, const struct elig_proto_list_state *s)
{
    elig_le64(out, s->reception);
    out[8] = s->state;
    out[9] = out[10] = out[11] = 0;
    elig_le32(out + 12, s->entries);
    elig_le32(out + 16, s->done);
}

int elig_proto_list_state_decode(const uint8_t *in, struct elig_proto_list_state *s)
{
    s->reception = elig_rd64(in);
    s->state = in[8];
    s->entries = elig_rd32(in + 12);
    s->done = elig_rd32(in + 16);
    return in[9] | in[10] | in[11] || s->state > ELIG_LIST_FAILED ? -ELIG_EPROTO : 0;
}

void elig_proto_list_fetch_encode(uint8_t *out, const struct elig_proto_list_fetch *f)
{
    memcpy(out, f->facility, ELIG_PROTO_FACILITY_LEN);
    out[10] = out[11] = 0;
    elig_le64(out + 12, f->reception);
    elig_le32(out + 20, f->first);
    elig_le16(out + 24, f->max);
    out[26] = out[27] = 0;
}

int elig_proto_list_fetch_decode(const uint8_t *in, struct elig_proto_list_fetch *f)
{
    f->facility = (const char *)in;
    f->reception = elig_rd64(in + 12);
    f->first = elig_rd32(in + 20);
    f->max = elig_rd16(in + 24);
    return in[10] | in[11] | in[26] | in[27] || f->max == 0 || f->max > ELIG_PROTO_BATCH_MAX
               ? -ELIG_EPROTO
               : 0;
}

void elig_proto_batch_next(const uint8_t *body, size_t len, struct elig_proto_batch *b,
                           struct elig_proto_number *q)
{
    /* cannot fail: elig_proto_batch_decode() walked the same entries */
    (void)elig_proto_number_decode(body, len, &b->offset, true, q);
}

static int put_check_head(struct elig_pbuf *b, const char *facility, uint8_t flags, uint32_t date)
{
    size_t n = (facility ? ELIG_PROTO_FACILITY_LEN : 0) + 6;
    uint8_t *p = put(b, n);
    if (p == NULL)
        return -ENOMEM;
    if (facility) {
        memcpy(p, facility, ELIG_PROTO_FACILITY_LEN);
        p += ELIG_PROTO_FACILITY_LEN;
    }
    p[0] = flags;
    p[1] = 0;
    elig_le32(p + 2, date);
    return 0;
}

int elig_proto_number_encode(struct elig_pbuf *b, const struct elig_proto_number *q, bool in_batch)
{
    if ((!in_batch && q->facility == NULL) || q->insurer_len > ELIG_PROTO_INSURER_MAX ||
        q->symbol_len > ELIG_PROTO_SYMBOL_MAX || q->number_len > ELIG_PROTO_NUMBER_MAX ||
        q->branch_len > ELIG_PROTO_BRANCH_MAX)
        return -EINVAL;
    int rc = put_check_head(b, in_batch ? NULL : q->facility, q->flags, q->date);
    uint8_t *p = rc ? NULL : put(b, 4);
    if (p == NULL)
        return -ENOMEM;
    elig_le32(p, q->birth);
    if ((rc = put_str(b, q->insurer, q->insurer_len)) ||
        (rc = put_str(b, q->symbol, q->symbol_len)) ||
        (rc = put_str(b, q->number, q->number_len)) || (rc = put_str(b, q->branch, q->branch_len)))
        return rc;
    return 0;
}

int elig_proto_card_encode(struct elig_pbuf *b, const struct elig_proto_card *q)
{
    if (q->facility == NULL)
        return -EINVAL;
    int rc = put_check_head(b, q->facility, q->flags, q->date);
    uint8_t *p = rc ? NULL : put(b, 8);
    if (p == NULL)
        return -ENOMEM;
    elig_le64(p, q->card_id);
    return 0;
}

int elig_proto_batch_head_encode(struct elig_pbuf *b, const char *facility, uint16_t count)
{
    uint8_t *p = put(b, ELIG_PROTO_FACILITY_LEN + 2);
    if (p == NULL)
        return -ENOMEM;
    memcpy(p, facility, ELIG_PROTO_FACILITY_LEN);
    elig_le16(p + ELIG_PROTO_FACILITY_LEN, count);
    return 0;
}

/* ---- dates ------------------------------------------------------------ */

int elig_proto_date_in(uint32_t ymd, elig_date_t *out)
{
    if (ymd == 0) {
        *out = ELIG_DATE_NONE;
        return 0;
    }
    return elig_date_from_ymd((int)(ymd / 10000), (int)(ymd / 100 % 100), (int)(ymd % 100), out);
}

/*
 * Every answer record carries seven dates, so the conversion is a table of
 * all 65,536 elig_date_t values (256 KiB), made once. It is the module's
 * only state: constant after pthread_once(), shared by every thread.
 */
static uint32_t date_table[ELIG_DATE_MAX + 1];
static pthread_once_t date_table_once = PTHREAD_ONCE_INIT;

static void date_table_make(void)
{
    for (uint32_t d = ELIG_DATE_MIN; d <= ELIG_DATE_MAX; d++) {
        int y, m, day;
        elig_date_to_ymd((elig_date_t)d, &y, &m, &day);
        date_table[d] = (uint32_t)(y * 10000 + m * 100 + day);
    }
}

uint32_t elig_proto_date_out(elig_date_t d)
{
    pthread_once(&date_table_once, date_table_make);
    return date_table[d]; /* date_table[ELIG_DATE_NONE] is 0 */
}

/* ---- answers ---------------------------------------------------------- */

#define ANSWER_HEAD  20
#define RECORD_FIXED 44

static int put_record(struct elig_pbuf *b, const struct elig_record *r, const char *insurer_name)
{
    uint8_t *p = put(b, RECORD_FIXED);
    if (p == NULL)
        return -ENOMEM;
    memcpy(p, r->key.insurer, ELIG_INSURER_LEN);
    memcpy(p + 8, r->key.branch, ELIG_BRANCH_LEN);
    p[10] = r->relation;
    p[11] = r->sex;
    p[12] = r->loss_reason;
    p[13] = r->copay_pct;
    p[14] = r->elderly_pct;
    p[15] = r->limit_category;
    const elig_date_t dates[7] = { r->birth_date, r->acquired,     r->valid_from,   r->valid_until,
                                   r->loss_date,  r->elderly_from, r->elderly_until };
    for (int i = 0; i < 7; i++)
        elig_le32(p + 16 + 4 * i, elig_proto_date_out(dates[i]));
    int rc;
    if ((rc = put_str(b, r->key.symbol, r->key.symbol_len)) ||
        (rc = put_str(b, r->key.number, r->key.number_len)) ||
        (rc = put_str(b, insurer_name, strlen(insurer_name))) ||
        (rc = put_str(b, r->family_kanji, strlen(r->family_kanji))) ||
        (rc = put_str(b, r->given_kanji, strlen(r->given_kanji))) ||
        (rc = put_str(b, r->family_kana, strlen(r->family_kana))) ||
        (rc = put_str(b, r->given_kana, strlen(r->given_kana))))
        return rc;
    return 0;
}

int elig_proto_answer_encode(struct elig_pbuf *b, const struct elig_proto_answer *a)
{
    uint8_t *p = put(b, ANSWER_HEAD);
    if (p == NULL)
        return -ENOMEM;
    unsigned kana = 0, kanji = 0;
    for (unsigned i = 0; i < a->count; i++) {
        uint8_t f = a->rec[i].name_flags;
        kanji |= (unsigned)(f & (ELIG_NAME_FAMILY_KANJI | ELIG_NAME_GIVEN_KANJI)) << (2 * i);
        kana |= (f & ELIG_NAME_KANA ? 1u : 0u) << i;
    }
    p[0] = a->status;
    p[1] = a->validity;
    p[2] = a->refusal;
    p[3] = (uint8_t)(a->flags | (kanji | kana ? ELIG_FLAG_NAME_UNSHOWN : 0));
    p[4] = a->count;
    p[5] = (uint8_t)kana;
    elig_le16(p + 6, (uint16_t)kanji);
    elig_le64(p + 8, a->reference);
    elig_le32(p + 16, a->cert_expiry);
    for (unsigned i = 0; i < a->count; i++) {
        int rc = put_record(b, &a->rec[i], a->insurer_name[i]);
        if (rc)
            return rc;
    }
    return 0;
}

static bool get_date(struct cur *c, elig_date_t *d)
{
    return elig_proto_date_in(rd32(c), d) == 0;
}

static bool get_record(struct cur *c, struct elig_record *r, char *insurer_name)
{
    memset(r, 0, sizeof(*r));
    const uint8_t *p = take(c, 16);
    if (p == NULL)
        return false;
    memcpy(r->key.insurer, p, ELIG_INSURER_LEN);
    memcpy(r->key.branch, p + 8, ELIG_BRANCH_LEN);
    r->relation = p[10];
    r->sex = p[11];
    r->loss_reason = p[12];
    r->copay_pct = p[13];
    r->elderly_pct = p[14];
    r->limit_category = p[15];
    elig_date_t *dates[7] = { &r->birth_date, &r->acquired,     &r->valid_from,   &r->valid_until,
                              &r->loss_date,  &r->elderly_from, &r->elderly_until };
    for (int i = 0; i < 7; i++)
        if (!get_date(c, dates[i]))
            return false;
    const char *s;
    uint8_t n;
    if (!rdstr(c, ELIG_SYMBOL_MAX, &s, &n))
        return false;
    memcpy(r->key.symbol, s, n);
    r->key.symbol_len = n;
    if (!rdstr(c, ELIG_NUMBER_MAX, &s, &n) || n == 0)
        return false;
    memcpy(r->key.number, s, n);
    r->key.number_len = n;
    return rdstr_copy(c, insurer_name, ELIG_INSURER_NAME_MAX + 1) &&
           rdstr_copy(c, r->family_kanji, sizeof(r->family_kanji)) &&
           rdstr_copy(c, r->given_kanji, sizeof(r->given_kanji)) &&
           rdstr_copy(c, r->family_kana, sizeof(r->family_kana)) &&
           rdstr_copy(c, r->given_kana, sizeof(r->given_kana));
}

int elig_proto_answer_decode(const uint8_t *body, size_t len, size_t *off,
                             struct elig_proto_answer *a)
{
    struct cur c = { .p = body, .len = len, .off = *off };
    a->status = rd8(&c);
    a->validity = rd8(&c);
    a->refusal = rd8(&c);
    a->flags = rd8(&c);
    a->count = rd8(&c);
    unsigned kana = rd8(&c), kanji = rd16(&c);
    a->reference = rd64(&c);
    a->cert_expiry = rd32(&c);
    if (c.shortread || a->count > ELIG_ANSWER_MAX)
        return -ELIG_EPROTO;
    for (unsigned i = 0; i < a->count; i++) {
        if (!get_record(&c, &a->rec[i], a->insurer_name[i]))
            return -ELIG_EPROTO;
        a->rec[i].name_flags =
            (uint8_t)(((kanji >> (2 * i)) & 3) | ((kana >> i) & 1 ? ELIG_NAME_KANA : 0));
    }
    *off = c.off;
    return 0;
}

int elig_proto_batch_answer_head(struct elig_pbuf *b, uint16_t count)
{
    uint8_t *p = put(b, 2);
    if (p == NULL)
        return -ENOMEM;
    elig_le16(p, count);
    return 0;
}

int elig_proto_batch_answer_count(const uint8_t *body, size_t len, size_t *off, uint16_t *count)
{
    struct cur c = { .p = body, .len = len, .off = *off };
    *count = rd16(&c);
    if (c.shortread)
        return -ELIG_EPROTO;
    *off = c.off;
    return 0;
}

/* ---- statistics ------------------------------------------------------- */

int elig_proto_stat_encode(struct elig_pbuf *b, const char *name, uint64_t value)
{
    size_t n = strlen(name);
    if (n > 63)
        return -EINVAL;
    int rc = put_str(b, name, n);
    uint8_t *p = rc ? NULL : put(b, 8);
    if (p == NULL)
        return rc ? rc : -ENOMEM;
    elig_le64(p, value);
    return 0;
}

int elig_proto_stats_encode(struct elig_pbuf *b, const struct elig_proto_stat *items, size_t n)
{
    if (n > UINT16_MAX)
        return -EINVAL;
    int rc = elig_pbuf_reserve(b, 2);
    if (rc)
        return rc;
    elig_le16(b->data + b->len, (uint16_t)n);
    b->len += 2;
    for (size_t i = 0; i < n; i++)
        if ((rc = elig_proto_stat_encode(b, items[i].name, items[i].value)))
            return rc;
    return 0;
}

int elig_proto_stat_decode(const uint8_t *body, size_t len, size_t *off, char name[64],
                           uint64_t *value)
{
    struct cur c = { .p = body, .len = len, .off = *off };
    if (!rdstr_copy(&c, name, 64))
        return -ELIG_EPROTO;
    *value = rd64(&c);
    if (c.shortread)
        return -ELIG_EPROTO;
    *off = c.off;
    return 0;
}

/* ---- names ------------------------------------------------------------ */

const char *elig_pstatus_name(uint8_t status)
{
    static const char *const names[ELIG_PS_COUNT] = {
        [ELIG_PS_OK] = "ok",
        [ELIG_PS_VERSION] = "unknown-version",
        [ELIG_PS_OPCODE] = "unknown-opcode",
        [ELIG_PS_BODY] = "malformed-body",
        [ELIG_PS_FACILITY] = "bad-facility",
        [ELIG_PS_TOO_LARGE] = "frame-too-large",
        [ELIG_PS_HEADER] = "malformed-header",
        [ELIG_PS_BUSY] = "busy",
        [ELIG_PS_TIMEOUT] = "timeout",
        [ELIG_PS_SHUTDOWN] = "shutting-down",
        [ELIG_PS_UNAVAILABLE] = "unavailable",
        [ELIG_PS_INTERNAL] = "internal-error",
        [ELIG_PS_UNAUTHENTICATED] = "unauthenticated",
        [ELIG_PS_RATE_LIMITED] = "rate-limited",
        [ELIG_PS_FACILITY_CONNS] = "facility-connections",
        [ELIG_PS_NOT_FOUND] = "not-found",
        [ELIG_PS_BEHIND] = "behind",
        [ELIG_PS_NO_DISASTER] = "no-disaster",
    };
    return status < ELIG_PS_COUNT ? names[status] : "?";
}

const char *elig_astatus_name(uint8_t status)
{
    static const char *const names[ELIG_AS_COUNT] = {
        [ELIG_AS_OK] = "ok",
        [ELIG_AS_BAD_KEY] = "bad-key",
        [ELIG_AS_BAD_DATE] = "bad-date",
        [ELIG_AS_BAD_CARD] = "bad-card",
        [ELIG_AS_RETRY] = "retry",
        [ELIG_AS_TOO_MANY] = "too-many-records",
    };
    return status < ELIG_AS_COUNT ? names[status] : "?";
}

#define FAC_ALL                     (ELIG_OPF_FACILITY | ELIG_OPF_UDP)
#define OP(code, slot, flags, name) [code] = { code, flags, name, slot }

/* Indexed by opcode (a lookup per frame is one load); rows without a name are not opcodes. */
static const struct elig_op_info by_code[256] = {
    OP(ELIG_OP_PING, 0, FAC_ALL | ELIG_OPF_ADMIN | ELIG_OPF_PRE_AUTH, "PING"),
    OP(ELIG_OP_LOOKUP_NUMBER, 1, FAC_ALL | ELIG_OPF_CHECK, "LOOKUP_NUMBER"),
    OP(ELIG_OP_LOOKUP_CARD, 2, FAC_ALL | ELIG_OPF_CHECK, "LOOKUP_CARD"),
    OP(ELIG_OP_BATCH, 3, FAC_ALL | ELIG_OPF_CHECK, "BATCH"),
    OP(ELIG_OP_STATS, 4, FAC_ALL | ELIG_OPF_ADMIN | ELIG_OPF_EMPTY, "STATS"),
    OP(ELIG_OP_HELLO, 5, ELIG_OPF_FACILITY | ELIG_OPF_ADMIN | ELIG_OPF_SESSION | ELIG_OPF_PRE_AUTH,
       "HELLO"),
    OP(ELIG_OP_AUTH, 6, ELIG_OPF_FACILITY | ELIG_OPF_ADMIN | ELIG_OPF_SESSION | ELIG_OPF_PRE_AUTH,
       "AUTH"),
    OP(ELIG_OP_POSTHOC, 7, ELIG_OPF_FACILITY | ELIG_OPF_SESSION, "POSTHOC"),
    OP(ELIG_OP_LIST_SUBMIT, 13, ELIG_OPF_FACILITY | ELIG_OPF_SESSION, "LIST_SUBMIT"),
    OP(ELIG_OP_LIST_FETCH, 14, ELIG_OPF_FACILITY | ELIG_OPF_SESSION, "LIST_FETCH"),
    OP(ELIG_OP_LOOKUP_PERSON, 15, ELIG_OPF_FACILITY | ELIG_OPF_SESSION, "LOOKUP_PERSON"),
    OP(ELIG_OP_ADMIN_APPEND, 8, ELIG_OPF_ADMIN, "ADMIN_APPEND"),
    OP(ELIG_OP_ADMIN_SNAPSHOT, 9, ELIG_OPF_ADMIN | ELIG_OPF_EMPTY, "ADMIN_SNAPSHOT"),
    OP(ELIG_OP_ADMIN_STATS, 10, ELIG_OPF_ADMIN | ELIG_OPF_EMPTY, "ADMIN_STATS"),
    OP(ELIG_OP_ADMIN_RELOAD, 11, ELIG_OPF_ADMIN | ELIG_OPF_EMPTY, "ADMIN_RELOAD"),
    OP(ELIG_OP_ADMIN_GROW, 12, ELIG_OPF_ADMIN, "ADMIN_GROW"),
};
#undef OP

const struct elig_op_info *elig_op_info(uint8_t opcode)
{
    return by_code[opcode].name ? &by_code[opcode] : NULL;
}

const struct elig_op_info *elig_op_next(const struct elig_op_info *prev)
{
    for (unsigned i = prev ? (unsigned)(prev - by_code) + 1 : 0; i < 256; i++)
        if (by_code[i].name)
            return &by_code[i];
    return NULL;
}

bool elig_op_has(uint8_t opcode, uint8_t flags)
{
    return (by_code[opcode].flags & flags) == flags && by_code[opcode].name;
}

const char *elig_op_name(uint8_t opcode)
{
    const struct elig_op_info *o = elig_op_info(opcode);
    return o ? o->name : NULL;
}

/* ---- ADMIN_GROW ------------------------------------------------------- */

void elig_proto_grow_encode(uint8_t *out, const struct elig_proto_grow *g)
{
    elig_le64(out, g->capacity);
    elig_le64(out + 8, g->persons);
    elig_le64(out + 16, g->cards);
    elig_le32(out + 24, g->names);
    elig_le32(out + 28, g->key_strings);
}

void elig_proto_grow_decode(const uint8_t *in, struct elig_proto_grow *g)
{
    g->capacity = elig_rd64(in);
    g->persons = elig_rd64(in + 8);
    g->cards = elig_rd64(in + 16);
    g->names = elig_rd32(in + 24);
    g->key_strings = elig_rd32(in + 28);
}

void elig_proto_grown_encode(uint8_t *out, const struct elig_proto_grown *g)
{
    const uint64_t v[6] = { g->capacity_before, g->capacity_after,
                            g->records,         g->lsn,
                            g->segment_bytes,   g->ms };
    for (int i = 0; i < 6; i++)
        elig_le64(out + 8 * i, v[i]);
    elig_le32(out + 48, g->was_full);
    elig_le32(out + 52, 0);
}

void elig_proto_grown_decode(const uint8_t *in, struct elig_proto_grown *g)
{
    g->capacity_before = elig_rd64(in);
    g->capacity_after = elig_rd64(in + 8);
    g->records = elig_rd64(in + 16);
    g->lsn = elig_rd64(in + 24);
    g->segment_bytes = elig_rd64(in + 32);
    g->ms = elig_rd64(in + 40);
    g->was_full = elig_rd32(in + 48);
}

int elig_proto_append_decode(const uint8_t *body, size_t len, struct elig_event *evs, size_t max,
                             struct elig_proto_append *a)
{
    *a = (struct elig_proto_append){ 0 };
    if (len < 4)
        return -EINVAL;
    uint32_t count = elig_rd32(body);
    if (count == 0 || count > max)
        return -EINVAL;
    size_t off = 4;
    for (uint32_t i = 0; i < count; i++) {
        if (len - off < 2)
            return -EINVAL;
        uint16_t el = elig_rd16(body + off);
        off += 2;
        if (len - off < el || elig_event_decode(body + off, el, &evs[i]))
            return -EINVAL;
        off += el;
    }
    a->events_len = off;
    if (len - off == ELIG_PROTO_CHUNK_ID_LEN + ELIG_PROTO_ENTERED_LEN) {
        a->entered = (int64_t)elig_rd64(body + off + ELIG_PROTO_CHUNK_ID_LEN);
        if (a->entered <= 0)
            return -EINVAL;
    } else if (len - off != ELIG_PROTO_CHUNK_ID_LEN && len != off) {
        return -EINVAL;
    }
    if (len != off) /* an optional chunk id (and entry time) closes the body */
        a->id = body + off;
    a->n = count;
    return 0;
}
