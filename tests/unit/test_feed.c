/* SPDX-License-Identifier: MIT */
/*
 * test_feed: the feed parser and reader on good, bad and hostile input:
 * overlong fields and lines, invalid UTF-8, impossible dates, unknown kinds,
 * CRLF, BOM, an empty file, no final newline, lines across read buffers.
 * Every rejection must name its line and field, and no good neighbour may be
 * lost.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_error.h"
#include "elig_feed.h"
#include "test_support.h"

/* The 22 fields of a good ACQUIRE line. */
static const char *const acq_fields[] = {
    "ACQUIRE", "2025-04-01", "01130012", "01130012", "1234",   "56",  "00",         "123456789",
    "1",       "山田",       "太郎",     "ヤマダ",   "タロウ", "1",   "1980-05-10", "",
    "",        "30",         "",         "",         "",       "A03",
};
#define N_ACQ (sizeof(acq_fields) / sizeof(acq_fields[0]))

/* An ACQUIRE line with field i replaced by v and field j by w (i, j < 0:
 * unchanged). Each call returns a fresh slot of a static pool, so a table can
 * hold many of them. */
static char *acq_with2(int i, const char *v, int j, const char *w)
{
    static char pool[64][1024];
    static unsigned next;
    char *line = pool[next++ % 64];
    const size_t cap = sizeof(pool[0]);
    size_t o = 0;
    for (size_t k = 0; k < N_ACQ; k++) {
        const char *f = (int)k == i ? v : (int)k == j ? w : acq_fields[k];
        o += (size_t)snprintf(line + o, cap - o, "%s%s", k ? "\t" : "", f);
    }
    return line;
}

static char *acq_with(int i, const char *v)
{
    return acq_with2(i, v, -1, NULL);
}

static int parse(const char *line, struct elig_event *ev, struct elig_feed_error *err)
{
    return elig_feed_parse_line(line, strlen(line), ev, err);
}

static void test_good_lines(void **state)
{
    (void)state;
    struct elig_event ev;
    struct elig_feed_error err;
    assert_int_equal(parse(acq_with(-1, NULL), &ev, &err), 1);
    assert_int_equal(ev.kind, ELIG_EV_ACQUIRE);
    const struct elig_record *r = &ev.u.acquire;
    assert_memory_equal(r->key.insurer, "01130012", 8);
    assert_int_equal(r->person_id, 123456789);
    assert_string_equal(r->family_kana, "ヤマダ");
    assert_int_equal(r->birth_date, test_date("1980-05-10"));
    assert_int_equal(r->acquired, test_date("2025-04-01"));
    assert_int_equal(r->valid_from, test_date("2025-04-01")); /* defaults to effective */
    assert_int_equal(r->valid_until, ELIG_DATE_NONE);
    assert_int_equal(r->copay_pct, 30);
    assert_int_equal(r->limit_category, 3);

    assert_int_equal(parse("LOSS\t2025-05-01\t01130012\t01130012\t1234\t56\t00\t03", &ev, &err), 1);
    assert_int_equal(ev.kind, ELIG_EV_LOSS);
    assert_int_equal(ev.u.loss.reason, ELIG_LOSS_OTHER_INSURANCE);

    assert_int_equal(parse("CHANGE\t2025-08-01\t01130012\t01130012\t1234\t56\t\tcopay=20\t"
                           "family_kanji=佐藤\tvalid_until=",
                           &ev, &err),
                     1);
    assert_int_equal(ev.u.change.fields,
                     ELIG_CHG_COPAY | ELIG_CHG_FAMILY_KANJI | ELIG_CHG_VALID_UNTIL);
    assert_int_equal(ev.u.change.values.copay_pct, 20);
    assert_string_equal(ev.u.change.values.family_kanji, "佐藤");
    assert_memory_equal(ev.u.change.key.branch, "00", 2);

    assert_int_equal(
        parse("CARD_REGISTER\t2024-10-28\t01130012\tabcdef0123456789\t42\t2029-05-31", &ev, &err),
        1);
    assert_int_equal(ev.u.card.card_id, 0xABCDEF0123456789ULL);
    assert_int_equal(ev.u.card.person_id, 42);
    assert_int_equal(parse("CARD_DEREGISTER\t2025-01-15\t01130012\tABCDEF0123456789", &ev, &err),
                     1);
    assert_int_equal(
        parse("CERT_RENEW\t2029-03-01\t01130012\tABCDEF0123456789\t2034-05-31", &ev, &err), 1);
    assert_int_equal(parse("CARD_RETURN\t2030-01-01\t138057\tABCDEF0123456789", &ev, &err), 1);
    assert_memory_equal(ev.source, "00138057", 8);
    assert_int_equal(parse("INSURER\t2025-04-01\t01130012\t全国健康保険協会東京支部", &ev, &err),
                     1);
    assert_string_equal(ev.u.insurer.name, "全国健康保険協会東京支部");

    assert_int_equal(parse("", &ev, &err), 0);
    assert_int_equal(parse("# a comment\twith a tab", &ev, &err), 0);
}

struct bad_row {
    const char *why;
    const char *line;
    int code;
    const char *field;
};

/* Names outside JIS X 0208 are kept, with their kana as the fallback a receipt system shows. */
static void test_names_outside_jis(void **state)
{
    (void)state;
    struct elig_event ev;
    struct elig_feed_error err = { 0 };
    char *line = acq_with(9, "𠮷田");
    assert_int_equal(parse(line, &ev, &err), 1);
    assert_string_equal(ev.u.acquire.family_kanji, "𠮷田");
    assert_string_equal(ev.u.acquire.family_kana, "ヤマダ");
    /* a given name outside it, with its kana */
    assert_int_equal(parse(acq_with(10, "髙"), &ev, &err), 1);
    /* a given name within it needs no kana; no given name at all neither */
    assert_int_equal(parse(acq_with2(10, "太郎", 12, ""), &ev, &err), 1);
    assert_int_equal(parse(acq_with2(10, "", 12, ""), &ev, &err), 1);
    assert_string_equal(ev.u.acquire.given_kana, "");
    /* a change of the kanji name alone is judged with the kana already held */
    assert_int_equal(
        parse("CHANGE\t2025-02-01\t01130012\t01130012\t1\t2\t\tfamily_kanji=𠮷田", &ev, &err), 1);
}

static void test_bad_lines(void **state)
{
    (void)state;
    char long_name[200], long_symbol[64], nul_line[256];
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    memset(long_symbol, '1', 39);
    long_symbol[39] = '\0';
    const struct bad_row rows[] = {
        { "unknown kind", "TRANSFER\t2025-04-01\t01130012\tx", -ELIG_EKIND, "kind" },
        { "kind in lower case", "acquire\t2025-04-01\t01130012", -ELIG_EKIND, "kind" },
        { "impossible effective date", "LOSS\t2025-02-30\t01130012\t01130012\t1\t2\t\t01",
          -ELIG_EDATE, "effective" },
        { "short line", "LOSS\t2025-02-01", -ELIG_EFIELDS, "line" },
        { "too many fields for LOSS", "LOSS\t2025-02-01\t01130012\t01130012\t1\t2\t\t01\t1",
          -ELIG_EFIELDS, "line" },
        { "bad loss reason", "LOSS\t2025-02-01\t01130012\t01130012\t1\t2\t\t05", -ELIG_ERANGE,
          "reason" },
        { "source check digit", "LOSS\t2025-02-01\t01130013\t01130012\t1\t2\t\t01",
          -ELIG_ECHECKDIGIT, "source" },
        { "key of another insurer", "LOSS\t2025-02-01\t33120015\t01130012\t1\t2\t\t01",
          -ELIG_EOWNER, "insurer" },
        { "change without '='", "CHANGE\t2025-02-01\t01130012\t01130012\t1\t2\t\tcopay",
          -ELIG_ESYNTAX, "change" },
        { "change of unknown field", "CHANGE\t2025-02-01\t01130012\t01130012\t1\t2\t\taddress=x",
          -ELIG_ERANGE, "change" },
        { "change of person_id refused",
          "CHANGE\t2025-02-01\t01130012\t01130012\t1\t2\t\tperson_id=5", -ELIG_ERANGE, "change" },
        { "change names a field twice",
          "CHANGE\t2025-02-01\t01130012\t01130012\t1\t2\t\tcopay=20\tcopay=30", -ELIG_ESYNTAX,
          "copay" },
        { "kana outside JIS X 0208 (half-width)", acq_with(11, "ﾔﾏﾀﾞ"), -ELIG_EKANA,
          "family_kana" },
        { "kana outside JIS X 0208 (JIS X 0212)", acq_with(12, "タロウ～"), -ELIG_EKANA,
          "given_kana" },
        { "given kanji outside JIS X 0208 without its kana", acq_with2(10, "𠮷", 12, ""),
          -ELIG_EKANA, "given_kana" },
        { "change gives kana a receipt system cannot show",
          "CHANGE\t2025-02-01\t01130012\t01130012\t1\t2\t\tgiven_kana=ﾀﾛｳ", -ELIG_EKANA,
          "given_kana" },
        { "change gives a kanji name outside JIS X 0208 and empties its kana",
          "CHANGE\t2025-02-01\t01130012\t01130012\t1\t2\t\tgiven_kanji=髙\tgiven_kana=",
          -ELIG_EKANA, "given_kana" },
        { "change empties a required name",
          "CHANGE\t2025-02-01\t01130012\t01130012\t1\t2\t\tfamily_kanji=", -ELIG_EEMPTY,
          "family_kanji" },
        { "change with nothing to change", "CHANGE\t2025-02-01\t01130012\t01130012\t1\t2\t",
          -ELIG_EFIELDS, "line" },
        { "card id too short", "CARD_RETURN\t2025-02-01\t01130012\tABCDEF012345678", -ELIG_ESYNTAX,
          "card_id" },
        { "card id not hex", "CARD_RETURN\t2025-02-01\t01130012\tABCDEF012345678G", -ELIG_ESYNTAX,
          "card_id" },
        { "card registration without person",
          "CARD_REGISTER\t2025-02-01\t01130012\tABCDEF0123456789\t\t2029-01-01", -ELIG_EEMPTY,
          "person_id" },
        { "renewal to an impossible date",
          "CERT_RENEW\t2025-02-01\t01130012\tABCDEF0123456789\t2030-02-29", -ELIG_EDATE,
          "cert_expiry" },
        { "insurer without name", "INSURER\t2025-02-01\t01130012\t", -ELIG_EEMPTY, "name" },
        { "impossible birth date", acq_with(14, "2025-02-30"), -ELIG_EDATE, "birth_date" },
        { "birth date in another format", acq_with(14, "1980/05/10"), -ELIG_ESYNTAX, "birth_date" },
        { "overlong symbol", acq_with(4, long_symbol), -ELIG_ETOOLONG, "symbol" },
        { "overlong name", acq_with(9, long_name), -ELIG_ETOOLONG, "family_kanji" },
        { "invalid UTF-8 in a name", acq_with(11, "\xe3\x83"), -ELIG_EUTF8, "family_kana" },
        { "overlong UTF-8 in a name", acq_with(10, "\xc0\xaf"), -ELIG_EUTF8, "given_kanji" },
        { "control character in a name", acq_with(12, "タ\x1bロウ"), -ELIG_ECONTROL, "given_kana" },
        { "carriage return inside a line", acq_with(9, "山\r田"), -ELIG_ECONTROL, "family_kanji" },
        { "empty family name", acq_with(9, ""), -ELIG_EEMPTY, "family_kanji" },
        { "unknown co-payment ratio", acq_with(17, "25"), -ELIG_ERANGE, "copay" },
        { "missing co-payment ratio", acq_with(17, ""), -ELIG_EEMPTY, "copay" },
        { "unknown limit category", acq_with(21, "C01"), -ELIG_ERANGE, "limit" },
        { "sex code 3", acq_with(13, "3"), -ELIG_ERANGE, "sex" },
        { "person id with letters", acq_with(7, "12a"), -ELIG_ESYNTAX, "person_id" },
        { "person id zero", acq_with(7, "0"), -ELIG_ERANGE, "person_id" },
        { "person id with 19 digits", acq_with(7, "1234567890123456789"), -ELIG_ESYNTAX,
          "person_id" },
        { "valid_until before valid_from", acq_with(16, "2025-03-31"), -ELIG_EORDER,
          "valid_until" },
        { "elderly ratio without its dates", acq_with(18, "20"), -ELIG_EEMPTY, "elderly_from" },
        { "number check digit", acq_with(3, "01130013"), -ELIG_ECHECKDIGIT, "insurer" },
        { "6-digit number of another insurer", acq_with(3, "138057"), -ELIG_EOWNER, "insurer" },
        { "missing number", acq_with(5, ""), -ELIG_EEMPTY, "number" },
        { "ACQUIRE with a field missing", "ACQUIRE\t2025-04-01\t01130012\t01130012\t1\t2",
          -ELIG_EFIELDS, "line" },
    };
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        struct elig_event ev;
        struct elig_feed_error err = { 0, NULL };
        print_message("bad line: %s\n", rows[i].why);
        assert_int_equal(parse(rows[i].line, &ev, &err), rows[i].code);
        assert_int_equal(err.code, rows[i].code);
        assert_string_equal(err.field, rows[i].field);
    }

    /* a NUL byte inside a field */
    struct elig_event ev;
    struct elig_feed_error err;
    size_t n = (size_t)snprintf(nul_line, sizeof(nul_line), "%s", acq_with(-1, NULL));
    char *p = strstr(nul_line, "ヤマダ");
    p[3] = '\0';
    assert_int_equal(elig_feed_parse_line(nul_line, n, &ev, &err), -ELIG_ECONTROL);
    assert_string_equal(err.field, "family_kana");

    /* more than ELIG_FEED_FIELDS_MAX fields */
    char many[256] = "CHANGE";
    for (int i = 0; i < ELIG_FEED_FIELDS_MAX; i++)
        strcat(many, "\tx");
    assert_int_equal(parse(many, &ev, &err), -ELIG_EFIELDS);
    assert_string_equal(err.field, "line");

    /* a line over the limit */
    char *huge = malloc(ELIG_FEED_LINE_MAX + 2);
    memset(huge, 'A', ELIG_FEED_LINE_MAX + 1);
    assert_int_equal(elig_feed_parse_line(huge, ELIG_FEED_LINE_MAX + 1, &ev, &err), -ELIG_ETOOLONG);
    free(huge);
}

/* ---- reader ------------------------------------------------------------- */

#define MAX_SEEN 4096

struct seen {
    uint64_t event_lines[MAX_SEEN];
    size_t nevents;
    uint64_t reject_lines[MAX_SEEN];
    const char *reject_fields[MAX_SEEN];
    int reject_codes[MAX_SEEN];
    size_t nrejects;
    int stop_at; /* stop with this error at the nth event, if > 0 */
};

static int on_event(void *ctx, const struct elig_event *ev, const char *path, uint64_t line)
{
    (void)ev;
    (void)path;
    struct seen *s = ctx;
    if (s->nevents < MAX_SEEN)
        s->event_lines[s->nevents] = line;
    s->nevents++;
    if (s->stop_at > 0 && (int)s->nevents == s->stop_at)
        return -ECANCELED;
    return 0;
}

static void on_reject(void *ctx, const char *path, uint64_t line, const struct elig_feed_error *err)
{
    struct seen *s = ctx;
    assert_non_null(path);
    if (s->nrejects < MAX_SEEN) {
        s->reject_lines[s->nrejects] = line;
        s->reject_fields[s->nrejects] = err->field;
        s->reject_codes[s->nrejects] = err->code;
    }
    s->nrejects++;
}

static int read_bytes(const void *data, size_t len, struct seen *s, struct elig_feed_stats *st)
{
    char *path = test_temp_file(data, len);
    int rc = elig_feed_read_file(path, on_event, on_reject, s, st);
    unlink(path);
    free(path);
    return rc;
}

#define GOOD_LOSS "LOSS\t2025-05-01\t01130012\t01130012\t1234\t56\t00\t03"

static void test_reader_keeps_good_neighbours(void **state)
{
    (void)state;
    char *buf = malloc(65536);
    size_t o = 0;
    o += (size_t)sprintf(buf + o, "%s\n", GOOD_LOSS);              /* 1 */
    o += (size_t)sprintf(buf + o, "%s\n", "TRANSFER\t2025-05-01"); /* 2 bad */
    o += (size_t)sprintf(buf + o, "%s\n", GOOD_LOSS);              /* 3 */
    o += (size_t)sprintf(buf + o, "\n# comment\n");                /* 4, 5 */
    memset(buf + o, 'X', 10000);                                   /* 6 bad: long */
    o += 10000;
    buf[o++] = '\n';
    o += (size_t)sprintf(buf + o, "%s\n", acq_with(14, "2025-02-30")); /* 7 bad */
    o += (size_t)sprintf(buf + o, "%s", GOOD_LOSS);                    /* 8, no LF */
    struct seen s = { 0 };
    struct elig_feed_stats st;
    assert_int_equal(read_bytes(buf, o, &s, &st), 0);
    free(buf);
    assert_int_equal(st.lines, 8);
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.rejected, 3);
    assert_int_equal(s.nevents, 3);
    assert_int_equal(s.event_lines[0], 1);
    assert_int_equal(s.event_lines[1], 3);
    assert_int_equal(s.event_lines[2], 8);
    assert_int_equal(s.nrejects, 3);
    assert_int_equal(s.reject_lines[0], 2);
    assert_string_equal(s.reject_fields[0], "kind");
    assert_int_equal(s.reject_lines[1], 6);
    assert_int_equal(s.reject_codes[1], -ELIG_ETOOLONG);
    assert_string_equal(s.reject_fields[1], "line");
    assert_int_equal(s.reject_lines[2], 7);
    assert_string_equal(s.reject_fields[2], "birth_date");
}

static void test_reader_crlf_and_bom(void **state)
{
    (void)state;
    const char crlf[] = "\xEF\xBB\xBF" GOOD_LOSS "\r\n" GOOD_LOSS "\r\n\r\n" GOOD_LOSS "\r\n";
    struct seen s = { 0 };
    struct elig_feed_stats st;
    assert_int_equal(read_bytes(crlf, sizeof(crlf) - 1, &s, &st), 0);
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.rejected, 0);
    assert_int_equal(st.lines, 4);

    /* a byte-order mark anywhere but the start is not skipped */
    const char late_bom[] = GOOD_LOSS "\n\xEF\xBB\xBF" GOOD_LOSS "\n";
    memset(&s, 0, sizeof(s));
    assert_int_equal(read_bytes(late_bom, sizeof(late_bom) - 1, &s, &st), 0);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(s.nrejects, 1);
    assert_int_equal(s.reject_lines[0], 2);
    assert_string_equal(s.reject_fields[0], "kind");
}

static void test_reader_empty_and_degenerate_files(void **state)
{
    (void)state;
    struct seen s = { 0 };
    struct elig_feed_stats st;
    assert_int_equal(read_bytes("", 0, &s, &st), 0);
    assert_int_equal(st.lines, 0);
    assert_int_equal(st.accepted + st.rejected, 0);

    assert_int_equal(read_bytes("\xEF\xBB\xBF", 3, &s, &st), 0); /* only a BOM */
    assert_int_equal(st.lines, 1);
    assert_int_equal(st.accepted + st.rejected, 0);

    assert_int_equal(read_bytes("\n\n\n", 3, &s, &st), 0);
    assert_int_equal(st.lines, 3);
    assert_int_equal(st.accepted + st.rejected, 0);

    /* a line of exactly the limit is judged, one byte more is too long */
    char *buf = malloc(2 * ELIG_FEED_LINE_MAX + 8);
    memset(buf, 'A', ELIG_FEED_LINE_MAX);
    buf[ELIG_FEED_LINE_MAX] = '\n';
    memset(buf + ELIG_FEED_LINE_MAX + 1, 'A', ELIG_FEED_LINE_MAX + 1);
    memset(&s, 0, sizeof(s));
    assert_int_equal(read_bytes(buf, 2 * ELIG_FEED_LINE_MAX + 2, &s, &st), 0);
    free(buf);
    assert_int_equal(s.nrejects, 2);
    assert_int_equal(s.reject_codes[0], -ELIG_EKIND);
    assert_int_equal(s.reject_codes[1], -ELIG_ETOOLONG);

    assert_int_equal(elig_feed_read_file("/nonexistent/feed", on_event, on_reject, &s, &st),
                     -ENOENT);
}

static void test_reader_lines_across_buffers(void **state)
{
    (void)state;
    /* 3000 lines of varying length: several cross the reader's 64 KiB boundary */
    size_t cap = 3000 * 300, o = 0;
    char *buf = malloc(cap);
    for (int i = 0; i < 3000; i++) {
        if (i % 7 == 3)
            o += (size_t)sprintf(buf + o, "# %*s\n", i % 50, "");
        else if (i % 11 == 5)
            o += (size_t)sprintf(buf + o, "LOSS\t2025-05-01\t01130012\t01130012\t1\t%d\t\t07\n", i);
        else
            o += (size_t)sprintf(buf + o, "LOSS\t2025-05-01\t01130012\t01130012\t1\t%d\t\t03\n", i);
    }
    struct seen *s = calloc(1, sizeof(*s));
    struct elig_feed_stats st;
    assert_int_equal(read_bytes(buf, o, s, &st), 0);
    free(buf);
    size_t comments = 0, bad = 0;
    for (int i = 0; i < 3000; i++) {
        comments += i % 7 == 3;
        bad += i % 7 != 3 && i % 11 == 5;
    }
    assert_int_equal(st.lines, 3000);
    assert_int_equal(st.rejected, bad);
    assert_int_equal(st.accepted, 3000 - comments - bad);
    for (size_t i = 0; i < s->nrejects && i < MAX_SEEN; i++)
        assert_int_equal((s->reject_lines[i] - 1) % 11, 5);
    free(s);
}

static void test_reader_stops_when_told(void **state)
{
    (void)state;
    const char data[] = GOOD_LOSS "\n" GOOD_LOSS "\n" GOOD_LOSS "\n";
    struct seen s = { .stop_at = 2 };
    struct elig_feed_stats st;
    assert_int_equal(read_bytes(data, sizeof(data) - 1, &s, &st), -ECANCELED);
    assert_int_equal(s.nevents, 2);
    assert_int_equal(st.lines, 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good_lines),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_names_outside_jis),
        cmocka_unit_test(test_reader_keeps_good_neighbours),
        cmocka_unit_test(test_reader_crlf_and_bom),
        cmocka_unit_test(test_reader_empty_and_degenerate_files),
        cmocka_unit_test(test_reader_lines_across_buffers),
        cmocka_unit_test(test_reader_stops_when_told),
    };
    return cmocka_run_group_tests_name("feed", tests, NULL, NULL);
}
