/* SPDX-License-Identifier: MIT */
/*
 * elig_feed: parser and streaming reader of the insurer feed format.
 *
 * Design: the reader cuts the byte stream into lines with memchr over a 64 KiB
 * read buffer and copies each line into a fixed ELIG_FEED_LINE_MAX buffer; a
 * longer line is consumed to its end without being stored and rejected as one
 * line, so a hostile file can neither grow memory nor swallow its neighbours.
 * The parser splits a line on TAB into at most ELIG_FEED_FIELDS_MAX
 * (pointer, length) views, never copying or terminating them, then converts
 * each field through one table of field parsers shared by ACQUIRE (by
 * position) and CHANGE (by name), so a field is validated the same way
 * whichever event carries it. Every record an event would create goes through
 * elig_record_check(), the same invariants the rest of the system relies on.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <string.h>
#include <unistd.h>

#include "elig_error.h"
#include "elig_feed.h"
#include "elig_jis.h"
#include "elig_text.h"

struct field {
    const char *s;
    size_t len;
};

/* ---- field parsers ---------------------------------------------------- */

typedef int (*field_parse_fn)(const struct field *f, struct elig_record *r, size_t off);

/* Each parser is called with a non-empty field, or an empty one if the field is optional. */

static int parse_date(const struct field *f, struct elig_record *r, size_t off)
{
    elig_date_t d = ELIG_DATE_NONE;
    if (f->len) {
        int rc = elig_date_parse(f->s, f->len, &d);
        if (rc)
            return rc;
    }
    memcpy((char *)r + off, &d, sizeof(d));
    return 0;
}

static int parse_name(const struct field *f, struct elig_record *r, size_t off)
{
    if (f->len > ELIG_NAME_MAX)
        return -ELIG_ETOOLONG;
    int rc = elig_utf8_check(f->s, f->len);
    if (rc)
        return rc;
    char *dst = (char *)r + off;
    memcpy(dst, f->s, f->len);
    dst[f->len] = '\0';
    return 0;
}

static int parse_code12(const struct field *f, struct elig_record *r, size_t off)
{
    if (f->len != 1 || (f->s[0] != '1' && f->s[0] != '2'))
        return -ELIG_ERANGE;
    *((uint8_t *)r + off) = (uint8_t)(f->s[0] - '0');
    return 0;
}

static int parse_ratio(const struct field *f, struct elig_record *r, size_t off)
{
    uint8_t v = 0;
    if (f->len) {
        if (f->len != 2 || f->s[1] != '0' || f->s[0] < '1' || f->s[0] > '3')
            return -ELIG_ERANGE;
        v = (uint8_t)((f->s[0] - '0') * 10);
    }
    *((uint8_t *)r + off) = v;
    return 0;
}

static int parse_limit(const struct field *f, struct elig_record *r, size_t off)
{
    return elig_limit_parse(f->s, f->len, (uint8_t *)r + off);
}

static int parse_person(const struct field *f, struct elig_record *r, size_t off)
{
    uint64_t id;
    int rc = elig_person_id_parse(f->s, f->len, &id);
    if (rc)
        return rc;
    memcpy((char *)r + off, &id, sizeof(id));
    return 0;
}

/* Record fields that feeds carry: ACQUIRE lists them in this order. */
static const struct field_def {
    const char *name;
    size_t off;
    field_parse_fn parse;
    bool required;       /* may not be empty, in ACQUIRE or CHANGE */
    uint32_t change_bit; /* 0: cannot be changed by CHANGE */
} record_fields[] = {
#define OFF(m) offsetof(struct elig_record, m)
    { "person_id", OFF(person_id), parse_person, true, 0 },
    { "relation", OFF(relation), parse_code12, true, ELIG_CHG_RELATION },
    { "family_kanji", OFF(family_kanji), parse_name, true, ELIG_CHG_FAMILY_KANJI },
    { "given_kanji", OFF(given_kanji), parse_name, false, ELIG_CHG_GIVEN_KANJI },
    { "family_kana", OFF(family_kana), parse_name, true, ELIG_CHG_FAMILY_KANA },
    { "given_kana", OFF(given_kana), parse_name, false, ELIG_CHG_GIVEN_KANA },
    { "sex", OFF(sex), parse_code12, true, ELIG_CHG_SEX },
    { "birth_date", OFF(birth_date), parse_date, true, ELIG_CHG_BIRTH_DATE },
    { "valid_from", OFF(valid_from), parse_date, false, 0 },
    { "valid_until", OFF(valid_until), parse_date, false, ELIG_CHG_VALID_UNTIL },
    { "copay", OFF(copay_pct), parse_ratio, true, ELIG_CHG_COPAY },
    { "elderly_ratio", OFF(elderly_pct), parse_ratio, false, ELIG_CHG_ELDERLY_RATIO },
    { "elderly_from", OFF(elderly_from), parse_date, false, ELIG_CHG_ELDERLY_FROM },
    { "elderly_until", OFF(elderly_until), parse_date, false, ELIG_CHG_ELDERLY_UNTIL },
    { "limit", OFF(limit_category), parse_limit, false, ELIG_CHG_LIMIT },
#undef OFF
};
#define N_RECORD_FIELDS (sizeof(record_fields) / sizeof(record_fields[0]))

static int parse_record_field(const struct field_def *d, const struct field *f,
                              struct elig_record *r)
{
    if (f->len == 0 && d->required)
        return -ELIG_EEMPTY;
    return d->parse(f, r, d->off);
}

/* ---- line parser ------------------------------------------------------ */

/* Fields common to every kind: kind, effective date, source insurer. */
#define COMMON_FIELDS 3
/* Key fields that follow them in qualification events. */
#define KEY_FIELDS    4

static int fail(struct elig_feed_error *err, int code, const char *field)
{
    err->code = code;
    err->field = field;
    return code;
}

static int split(const char *line, size_t len, struct field *f, size_t *nf)
{
    size_t n = 0, start = 0;
    for (size_t i = 0; i <= len; i++) {
        if (i < len && line[i] != '\t')
            continue;
        if (n == ELIG_FEED_FIELDS_MAX)
            return -ELIG_EFIELDS;
        f[n].s = line + start;
        f[n].len = i - start;
        n++;
        start = i + 1;
    }
    *nf = n;
    return 0;
}

static int parse_key(const struct field *f, struct elig_key *key, struct elig_feed_error *err)
{
    enum elig_key_field bad;
    int rc = elig_key_normalize(f[0].s, f[0].len, f[1].s, f[1].len, f[2].s, f[2].len, f[3].s,
                                f[3].len, key, &bad);
    if (rc)
        return fail(err, rc, elig_key_field_name(bad));
    return 0;
}

static int owned_key(const struct elig_event *ev, const struct elig_key *key,
                     struct elig_feed_error *err)
{
    if (memcmp(key->insurer, ev->source, ELIG_INSURER_LEN) != 0)
        return fail(err, -ELIG_EOWNER, "insurer");
    return 0;
}

/*
 * The kana rule (docs/rules.md): a kana name is what a receipt system shows
 * when the kanji name has a character outside JIS X 0208, so a kana name
 * given must be within JIS X 0208, and a kanji name outside it needs its kana
 * name. set: the name fields the line gives (every one for an ACQUIRE; a
 * CHANGE that gives a kanji name without its kana is judged with the kana
 * it gives, if any).
 */
static int check_kana(const struct elig_record *r, uint32_t set, struct elig_feed_error *err)
{
    static const struct {
        uint32_t kanji_bit, kana_bit;
        size_t kanji, kana;
        const char *name;
    } parts[] = {
        { ELIG_CHG_FAMILY_KANJI, ELIG_CHG_FAMILY_KANA, offsetof(struct elig_record, family_kanji),
          offsetof(struct elig_record, family_kana), "family_kana" },
        { ELIG_CHG_GIVEN_KANJI, ELIG_CHG_GIVEN_KANA, offsetof(struct elig_record, given_kanji),
          offsetof(struct elig_record, given_kana), "given_kana" },
    };
    for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
        const char *kanji = (const char *)r + parts[i].kanji;
        const char *kana = (const char *)r + parts[i].kana;
        if (!(set & parts[i].kana_bit))
            continue;
        if (kana[0] ? elig_jis_x0208(kana, strlen(kana)) == 0
                    : (set & parts[i].kanji_bit) && kanji[0] &&
                          elig_jis_x0208(kanji, strlen(kanji)) == 0)
            return fail(err, -ELIG_EKANA, parts[i].name);
    }
    return 0;
}

static int parse_acquire(const struct field *f, size_t nf, struct elig_event *ev,
                         struct elig_feed_error *err)
{
    if (nf != COMMON_FIELDS + KEY_FIELDS + N_RECORD_FIELDS)
        return fail(err, -ELIG_EFIELDS, "line");
    struct elig_record *r = &ev->u.acquire;
    memset(r, 0, sizeof(*r));
    int rc = parse_key(f + COMMON_FIELDS, &r->key, err);
    if (rc)
        return rc;
    const struct field *v = f + COMMON_FIELDS + KEY_FIELDS;
    for (size_t i = 0; i < N_RECORD_FIELDS; i++) {
        rc = parse_record_field(&record_fields[i], &v[i], r);
        if (rc)
            return fail(err, rc, record_fields[i].name);
    }
    r->acquired = ev->effective;
    if (r->valid_from == ELIG_DATE_NONE)
        r->valid_from = ev->effective;
    const char *bad = NULL;
    rc = elig_record_check(r, &bad);
    if (rc)
        return fail(err, rc, bad ? bad : "record");
    if ((rc = check_kana(r,
                         ELIG_CHG_FAMILY_KANJI | ELIG_CHG_GIVEN_KANJI | ELIG_CHG_FAMILY_KANA |
                             ELIG_CHG_GIVEN_KANA,
                         err)))
        return rc;
    return owned_key(ev, &r->key, err);
}

static int parse_loss(const struct field *f, size_t nf, struct elig_event *ev,
                      struct elig_feed_error *err)
{
    if (nf != COMMON_FIELDS + KEY_FIELDS + 1)
        return fail(err, -ELIG_EFIELDS, "line");
    int rc = parse_key(f + COMMON_FIELDS, &ev->u.loss.key, err);
    if (rc)
        return rc;
    const struct field *r = &f[COMMON_FIELDS + KEY_FIELDS];
    static const struct {
        char code[2];
        uint8_t reason;
    } reasons[] = { { "01", ELIG_LOSS_DEATH },
                    { "02", ELIG_LOSS_WELFARE },
                    { "03", ELIG_LOSS_OTHER_INSURANCE },
                    { "99", ELIG_LOSS_OTHER } };
    ev->u.loss.reason = ELIG_LOSS_NONE;
    for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
        if (r->len == 2 && memcmp(r->s, reasons[i].code, 2) == 0)
            ev->u.loss.reason = reasons[i].reason;
    if (ev->u.loss.reason == ELIG_LOSS_NONE)
        return fail(err, r->len ? -ELIG_ERANGE : -ELIG_EEMPTY, "reason");
    return owned_key(ev, &ev->u.loss.key, err);
}

static const struct field_def *change_field(const struct field *name)
{
    for (size_t i = 0; i < N_RECORD_FIELDS; i++) {
        const struct field_def *d = &record_fields[i];
        if (d->change_bit && strlen(d->name) == name->len &&
            memcmp(d->name, name->s, name->len) == 0)
            return d;
    }
    return NULL;
}

static int parse_change(const struct field *f, size_t nf, struct elig_event *ev,
                        struct elig_feed_error *err)
{
    if (nf < COMMON_FIELDS + KEY_FIELDS + 1)
        return fail(err, -ELIG_EFIELDS, "line");
    int rc = parse_key(f + COMMON_FIELDS, &ev->u.change.key, err);
    if (rc)
        return rc;
    ev->u.change.fields = 0;
    memset(&ev->u.change.values, 0, sizeof(ev->u.change.values));
    for (size_t i = COMMON_FIELDS + KEY_FIELDS; i < nf; i++) {
        const char *eq = memchr(f[i].s, '=', f[i].len);
        if (eq == NULL)
            return fail(err, -ELIG_ESYNTAX, "change");
        struct field name = { f[i].s, (size_t)(eq - f[i].s) };
        struct field value = { eq + 1, f[i].len - name.len - 1 };
        const struct field_def *d = change_field(&name);
        if (d == NULL)
            return fail(err, -ELIG_ERANGE, "change");
        if (ev->u.change.fields & d->change_bit)
            return fail(err, -ELIG_ESYNTAX, d->name);
        rc = parse_record_field(d, &value, &ev->u.change.values);
        if (rc)
            return fail(err, rc, d->name);
        ev->u.change.fields |= d->change_bit;
    }
    if ((rc = check_kana(&ev->u.change.values, ev->u.change.fields, err)))
        return rc;
    return owned_key(ev, &ev->u.change.key, err);
}

static int parse_card(const struct field *f, size_t nf, struct elig_event *ev,
                      struct elig_feed_error *err)
{
    size_t want = COMMON_FIELDS + 1;
    if (ev->kind == ELIG_EV_CARD_REGISTER)
        want += 2;
    else if (ev->kind == ELIG_EV_CERT_RENEW)
        want += 1;
    if (nf != want)
        return fail(err, -ELIG_EFIELDS, "line");
    memset(&ev->u.card, 0, sizeof(ev->u.card));
    const struct field *c = &f[COMMON_FIELDS];
    if (c->len == 0)
        return fail(err, -ELIG_EEMPTY, "card_id");
    int rc = elig_card_id_parse(c->s, c->len, &ev->u.card.card_id);
    if (rc)
        return fail(err, rc, "card_id");
    const struct field *expiry = c + 1;
    if (ev->kind == ELIG_EV_CARD_REGISTER) {
        if (c[1].len == 0)
            return fail(err, -ELIG_EEMPTY, "person_id");
        rc = elig_person_id_parse(c[1].s, c[1].len, &ev->u.card.person_id);
        if (rc)
            return fail(err, rc, "person_id");
        expiry = c + 2;
    }
    if (ev->kind == ELIG_EV_CARD_REGISTER || ev->kind == ELIG_EV_CERT_RENEW) {
        if (expiry->len == 0)
            return fail(err, -ELIG_EEMPTY, "cert_expiry");
        rc = elig_date_parse(expiry->s, expiry->len, &ev->u.card.cert_expiry);
        if (rc)
            return fail(err, rc, "cert_expiry");
    }
    return 0;
}

static int parse_insurer(const struct field *f, size_t nf, struct elig_event *ev,
                         struct elig_feed_error *err)
{
    if (nf != COMMON_FIELDS + 1)
        return fail(err, -ELIG_EFIELDS, "line");
    const struct field *n = &f[COMMON_FIELDS];
    if (n->len == 0)
        return fail(err, -ELIG_EEMPTY, "name");
    if (n->len > ELIG_INSURER_NAME_MAX)
        return fail(err, -ELIG_ETOOLONG, "name");
    int rc = elig_utf8_check(n->s, n->len);
    if (rc)
        return fail(err, rc, "name");
    memcpy(ev->u.insurer.name, n->s, n->len);
    ev->u.insurer.name[n->len] = '\0';
    return 0;
}

static int parse_kind(const struct field *f)
{
    for (uint8_t k = 1; k <= ELIG_EV_KIND_MAX; k++) {
        const char *name = elig_event_kind_name(k);
        if (strlen(name) == f->len && memcmp(name, f->s, f->len) == 0)
            return k;
    }
    return -ELIG_EKIND;
}

int elig_feed_parse_line(const char *line, size_t len, struct elig_event *ev,
                         struct elig_feed_error *err)
{
    if (len > ELIG_FEED_LINE_MAX)
        return fail(err, -ELIG_ETOOLONG, "line");
    if (len == 0 || line[0] == '#')
        return 0;
    struct field f[ELIG_FEED_FIELDS_MAX];
    size_t nf;
    if (split(line, len, f, &nf))
        return fail(err, -ELIG_EFIELDS, "line");
    int kind = parse_kind(&f[0]);
    if (kind < 0)
        return fail(err, kind, "kind");
    if (nf < COMMON_FIELDS)
        return fail(err, -ELIG_EFIELDS, "line");
    memset(ev, 0, offsetof(struct elig_event, u));
    ev->kind = (uint8_t)kind;
    if (f[1].len == 0)
        return fail(err, -ELIG_EEMPTY, "effective");
    int rc = elig_date_parse(f[1].s, f[1].len, &ev->effective);
    if (rc)
        return fail(err, rc, "effective");
    if (f[2].len == 0)
        return fail(err, -ELIG_EEMPTY, "source");
    rc = elig_insurer_normalize(f[2].s, f[2].len, ev->source);
    if (rc)
        return fail(err, rc, "source");
    switch (kind) {
    case ELIG_EV_ACQUIRE:
        rc = parse_acquire(f, nf, ev, err);
        break;
    case ELIG_EV_LOSS:
        rc = parse_loss(f, nf, ev, err);
        break;
    case ELIG_EV_CHANGE:
        rc = parse_change(f, nf, ev, err);
        break;
    case ELIG_EV_INSURER:
        rc = parse_insurer(f, nf, ev, err);
        break;
    default:
        rc = parse_card(f, nf, ev, err);
        break;
    }
    return rc < 0 ? rc : 1;
}

/* ---- streaming reader ------------------------------------------------- */

struct reader {
    const char *path;
    elig_feed_event_fn on_event;
    elig_feed_reject_fn on_reject;
    void *ctx;
    struct elig_feed_stats *st;
    char line[ELIG_FEED_LINE_MAX + 2]; /* room for a CR and one byte that proves overflow */
    size_t len;
    bool overflow;
};

static int finish_line(struct reader *rd)
{
    struct elig_feed_stats *st = rd->st;
    st->lines++;
    const char *s = rd->line;
    size_t n = rd->len;
    if (st->lines == 1 && n >= 3 && memcmp(s, "\xEF\xBB\xBF", 3) == 0) {
        s += 3;
        n -= 3;
    }
    if (n > 0 && s[n - 1] == '\r')
        n--;
    struct elig_event ev;
    struct elig_feed_error err = { 0, NULL };
    int rc = rd->overflow || n > ELIG_FEED_LINE_MAX ? fail(&err, -ELIG_ETOOLONG, "line")
                                                    : elig_feed_parse_line(s, n, &ev, &err);
    rd->len = 0;
    rd->overflow = false;
    if (rc < 0) {
        st->rejected++;
        if (rd->on_reject)
            rd->on_reject(rd->ctx, rd->path, st->lines, &err);
        return 0;
    }
    if (rc == 0)
        return 0;
    st->accepted++;
    return rd->on_event(rd->ctx, &ev, rd->path, st->lines);
}

static void append(struct reader *rd, const char *p, size_t n)
{
    size_t room = sizeof(rd->line) - rd->len;
    if (n > room) {
        n = room;
        rd->overflow = true;
    }
    memcpy(rd->line + rd->len, p, n);
    rd->len += n;
}

int elig_feed_read_fd(int fd, const char *path, elig_feed_event_fn on_event,
                      elig_feed_reject_fn on_reject, void *ctx, struct elig_feed_stats *stats)
{
    struct elig_feed_stats local;
    struct reader rd = { .path = path, .on_event = on_event, .on_reject = on_reject, .ctx = ctx };
    rd.st = stats ? stats : &local;
    memset(rd.st, 0, sizeof(*rd.st));
    char buf[65536];
    for (;;) {
        ssize_t got = read(fd, buf, sizeof(buf));
        if (got < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (got == 0)
            break;
        const char *p = buf, *end = buf + got;
        while (p < end) {
            const char *nl = memchr(p, '\n', (size_t)(end - p));
            append(&rd, p, (size_t)((nl ? nl : end) - p));
            if (nl == NULL)
                break;
            int rc = finish_line(&rd);
            if (rc)
                return rc;
            p = nl + 1;
        }
    }
    if (rd.len > 0 || rd.overflow)
        return finish_line(&rd);
    return 0;
}

int elig_feed_read_file(const char *path, elig_feed_event_fn on_event,
                        elig_feed_reject_fn on_reject, void *ctx, struct elig_feed_stats *stats)
{
    bool is_stdin = strcmp(path, "-") == 0;
    int fd = is_stdin ? STDIN_FILENO : open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = elig_feed_read_fd(fd, is_stdin ? "<stdin>" : path, on_event, on_reject, ctx, stats);
    if (!is_stdin)
        close(fd);
    return rc;
}
