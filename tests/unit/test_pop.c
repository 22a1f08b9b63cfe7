/* SPDX-License-Identifier: MIT */
/*
 * test_pop: the population generator and its compiled-in tables.
 *
 * The tables against the CSV files they were transcribed from (read from
 * the source tree here, never by the programs); determinism; every line a
 * valid feed line; and on a sample of 1M records, the distributions against
 * the published figures within stated tolerances.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_apply.h"
#include "elig_error.h"
#include "elig_index.h"
#include "elig_feed.h"
#include "elig_pop.h"
#include "elig_tables.h"
#include "elig_update.h"
#include "test_support.h"

/* Open loadgen/data/NAME of the source tree. */
static FILE *open_csv(const char *name)
{
    const char *data = getenv("ELIG_TEST_DATA"); /* tests/data */
    assert_non_null(data);
    char path[1024];
    snprintf(path, sizeof path, "%s/../../loadgen/data/%s", data, name);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    return f;
}

static void test_tables_match_csv(void **state)
{
    (void)state;
    char line[1024];
    FILE *f = open_csv("card_holders_by_age_sex.csv");
    int band = 0;
    assert_non_null(fgets(line, sizeof line, f)); /* header */
    while (fgets(line, sizeof line, f)) {
        char name[16];
        int pm, pf, pt, im, ifm, it, hm, hf;
        assert_int_equal(sscanf(line, "%15[^,],%d,%d,%d,%d,%d,%d,%d,%d", name, &pm, &pf, &pt, &im,
                                &ifm, &it, &hm, &hf),
                         9);
        if (strcmp(name, "all") == 0)
            continue;
        const struct elig_age_band *b = &elig_age_bands[band++];
        assert_string_equal(b->name, name);
        assert_int_equal(b->pop_male, pm);
        assert_int_equal(b->pop_female, pf);
        assert_int_equal(b->held_male, hm);
        assert_int_equal(b->held_female, hf);
    }
    assert_int_equal(band, ELIG_AGE_BANDS);
    fclose(f);

    f = open_csv("checks_by_prefecture.csv");
    assert_non_null(fgets(line, sizeof line, f));
    int rows = 0;
    while (fgets(line, sizeof line, f)) {
        char pref[32], ja[32], type[32];
        int rank;
        double rate;
        long long card, total;
        assert_int_equal(sscanf(line, "%31[^,],%31[^,],%31[^,],%d,%lf,%lld,%lld", pref, ja, type,
                                &rank, &rate, &card, &total),
                         7);
        const struct elig_prefecture *p = NULL;
        for (int i = 0; i < ELIG_PREFECTURES; i++)
            if (strcmp(elig_prefectures[i].name, pref) == 0)
                p = &elig_prefectures[i];
        assert_non_null(p);
        assert_string_equal(p->name_ja, ja);
        if (strcmp(pref, "Tokyo") == 0 && strcmp(type, "medical_clinic") == 0)
            total = 11194285; /* the correction SOURCES.md documents */
        int64_t got = strcmp(type, "hospital") == 0         ? p->hospital
                      : strcmp(type, "medical_clinic") == 0 ? p->medical_clinic
                      : strcmp(type, "dental_clinic") == 0  ? p->dental_clinic
                                                            : p->pharmacy;
        assert_int_equal(got, total);
        rows++;
    }
    assert_int_equal(rows, ELIG_PREFECTURES * 4);
    fclose(f);

    f = open_csv("cert_renewals_by_fiscal_year.csv");
    assert_non_null(fgets(line, sizeof line, f));
    int k = 0;
    while (fgets(line, sizeof line, f)) {
        int fy;
        long long n;
        if (sscanf(line, "%d,%lld", &fy, &n) != 2)
            continue; /* printed as "-" before 2019 */
        assert_int_equal(elig_renewals[k].fiscal_year, fy);
        assert_int_equal(elig_renewals[k].renewals, n);
        k++;
    }
    assert_int_equal(k, ELIG_RENEWAL_YEARS);
    fclose(f);

    f = open_csv("monthly_checks_by_facility.csv");
    assert_non_null(fgets(line, sizeof line, f));
    int cells = 0;
    while (fgets(line, sizeof line, f)) {
        char month[16], type[32];
        long long total, card, insurance, batch = 0;
        int got = sscanf(line, "%15[^,],%31[^,],%lld,%lld,%lld,%lld", month, type, &total, &card,
                         &insurance, &batch);
        assert_true(got >= 5);
        if (strcmp(type, "total") == 0)
            continue;
        const struct elig_month_checks *m = NULL;
        for (int i = 0; i < ELIG_MONTHS; i++)
            if (strcmp(elig_month_checks[i].month, month) == 0)
                m = &elig_month_checks[i];
        assert_non_null(m);
        int t = 0;
        while (t < ELIG_FACILITY_TYPES && strcmp(elig_facility_types[t], type) != 0)
            t++;
        assert_true(t < ELIG_FACILITY_TYPES);
        assert_int_equal(m->total[t], total);
        assert_int_equal(m->card[t], card);
        assert_int_equal(m->total[t] - m->card[t], insurance);
        assert_int_equal(m->batch[t], got == 6 ? batch : 0);
        cells++;
    }
    assert_int_equal(cells, ELIG_MONTHS * ELIG_FACILITY_TYPES);
    fclose(f);
}

static uint64_t fnv(uint64_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ull;
    return h;
}

static uint64_t digest(uint64_t records, uint64_t seed, uint64_t persons)
{
    struct elig_pop_params p = { .records = records, .seed = seed };
    struct elig_pop *pop;
    assert_int_equal(elig_pop_create(&p, &pop), 0);
    char buf[ELIG_POP_PERSON_MAX];
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < elig_pop_insurers(pop); i++)
        h = fnv(h, buf, elig_pop_insurer_line(pop, i, buf, sizeof buf));
    for (uint64_t i = 0; i < persons; i++)
        h = fnv(h, buf, elig_pop_person(pop, i, buf, sizeof buf));
    elig_pop_destroy(pop);
    return h;
}

static void test_deterministic(void **state)
{
    (void)state;
    assert_int_equal(digest(1000000, 7, 20000), digest(1000000, 7, 20000));
    assert_true(digest(1000000, 7, 20000) != digest(1000000, 8, 20000));
}

struct tally {
    uint64_t lines, acquire, loss, cards, current;
    uint64_t band[ELIG_AGE_BANDS][2], band_cards[ELIG_AGE_BANDS][2];
    uint64_t tokyo, elderly;
    elig_date_t today;
};

static int band_of(int age)
{
    for (int b = 0; b < ELIG_AGE_BANDS; b++)
        if (age >= elig_age_bands[b].lo && age <= elig_age_bands[b].hi)
            return b;
    return ELIG_AGE_BANDS - 1;
}

static void test_lines_and_distributions(void **state)
{
    (void)state;
    enum { RECORDS = 1000000 };
    struct elig_pop_params p = { .records = RECORDS, .seed = 1 };
    struct elig_pop *pop;
    assert_int_equal(elig_pop_create(&p, &pop), 0);
    struct tally *t = calloc(1, sizeof(*t));
    assert_int_equal(elig_date_parse("2025-02-01", 10, &t->today), 0);
    char buf[ELIG_POP_PERSON_MAX];
    struct elig_event ev;
    struct elig_feed_error fe;
    for (size_t i = 0; i < elig_pop_insurers(pop); i++) { /* check digits are checked here */
        size_t n = elig_pop_insurer_line(pop, i, buf, sizeof buf);
        if (elig_feed_parse_line(buf, n - 1, &ev, &fe) != 1)
            fail_msg("insurer line %zu: %s: %s", i, fe.field, elig_strerror(fe.code));
    }
    uint64_t persons = elig_pop_persons(pop);
    for (uint64_t i = 0; i < persons; i++) {
        size_t n = elig_pop_person(pop, i, buf, sizeof buf);
        int age = -1, sex = 0;
        for (char *line = buf, *nl; line < buf + n; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(buf + n - line));
            assert_non_null(nl);
            if (elig_feed_parse_line(line, (size_t)(nl - line), &ev, &fe) != 1)
                fail_msg("person %llu: %s: %s: %.*s", (unsigned long long)i, fe.field,
                         elig_strerror(fe.code), (int)(nl - line), line);
            t->lines++;
            if (ev.kind == ELIG_EV_ACQUIRE) {
                t->acquire++;
                age = elig_date_age(ev.u.acquire.birth_date, t->today);
                sex = ev.u.acquire.sex;
                if (memcmp(ev.u.acquire.key.insurer, "39", 2) == 0)
                    t->elderly++;
                if (memcmp(ev.u.acquire.key.insurer + 2, "13", 2) == 0 ||
                    memcmp(ev.u.acquire.key.insurer, "0013", 4) == 0)
                    t->tokyo++;
            } else if (ev.kind == ELIG_EV_LOSS) {
                t->loss++;
            } else if (ev.kind == ELIG_EV_CARD_REGISTER) {
                t->cards++;
                t->band_cards[band_of(age)][sex - 1]++;
            }
        }
        t->band[band_of(age)][sex - 1]++;
    }
    /* 3 current : 1 past; every record is an ACQUIRE */
    assert_int_equal(t->acquire - t->loss, persons);
    assert_true(t->acquire >= RECORDS - 100 && t->acquire <= RECORDS);
    /* age band x sex within 0.2 percentage points of the population table */
    double pop_total = 0;
    for (int b = 0; b < ELIG_AGE_BANDS; b++)
        pop_total += elig_age_bands[b].pop_male + elig_age_bands[b].pop_female;
    double expect_cards = 0;
    for (int b = 0; b < ELIG_AGE_BANDS; b++) {
        const struct elig_age_band *ab = &elig_age_bands[b];
        double want[2] = { ab->pop_male / pop_total, ab->pop_female / pop_total };
        double held[2] = { (double)ab->held_male / ab->pop_male,
                           (double)ab->held_female / ab->pop_female };
        for (int s = 0; s < 2; s++) {
            double got = (double)t->band[b][s] / (double)persons;
            if (got < want[s] - 0.002 || got > want[s] + 0.002)
                fail_msg("band %s sex %d: %.4f of persons, table %.4f", ab->name, s + 1, got,
                         want[s]);
            /* registered cards: held x 82%, within 2 points per cell */
            double reg = t->band[b][s] ? (double)t->band_cards[b][s] / (double)t->band[b][s] : 0;
            double want_reg = held[s] * elig_registration_share;
            if (reg < want_reg - 0.02 || reg > want_reg + 0.02)
                fail_msg("band %s sex %d: %.3f registered, want %.3f", ab->name, s + 1, reg,
                         want_reg);
            expect_cards += want[s] * want_reg;
        }
    }
    double cards = (double)t->cards / (double)persons;
    assert_true(cards > expect_cards - 0.003 && cards < expect_cards + 0.003);
    /* Tokyo's share of records follows its share of checks (10.6%), within a point */
    double tokyo = (double)t->tokyo / (double)t->acquire;
    assert_true(tokyo > 0.09 && tokyo < 0.12);
    free(t);
    elig_pop_destroy(pop);
}

/* Apply one feed line to ix; fail the test on a parse error or a refusal. */
static void apply_line(struct elig_index *ix, const char *line, size_t len, uint64_t lsn)
{
    struct elig_event ev;
    struct elig_feed_error fe;
    if (elig_feed_parse_line(line, len, &ev, &fe) != 1)
        fail_msg("%s: %s: %.*s", fe.field, elig_strerror(fe.code), (int)len, line);
    int rc = elig_apply(ix, &ev, lsn, NULL);
    if (rc)
        fail_msg("refused: %s: %.*s", elig_strerror(rc), (int)len, line);
}

struct month {
    char *lines[31];
    size_t len[31], cap[31];
    uint64_t events, registrations;
};

static void keep(void *ctx, unsigned day, const char *line, size_t len)
{
    struct month *m = ctx;
    assert_true(day < 31);
    if (m->cap[day] - m->len[day] < len) {
        m->cap[day] = m->cap[day] * 2 + len + 4096;
        m->lines[day] = realloc(m->lines[day], m->cap[day]);
    }
    memcpy(m->lines[day] + m->len[day], line, len);
    m->len[day] += len;
    m->events++;
    m->registrations += strncmp(line, "CARD_REGISTER", 13) == 0;
}

/* The population, then its month of updates in date order: every event applies. */
static void test_updates_apply(void **state)
{
    (void)state;
    enum { RECORDS = 200000 };
    struct elig_pop_params p = { .records = RECORDS, .seed = 3 };
    struct elig_pop *pop;
    assert_int_equal(elig_pop_create(&p, &pop), 0);
    char dir[256], path[300];
    test_temp_dir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/pop.seg", dir);
    struct elig_index *ix = test_index_create(path, RECORDS * 2);
    char buf[ELIG_POP_PERSON_MAX];
    uint64_t lsn = 0;
    for (size_t i = 0; i < elig_pop_insurers(pop); i++) {
        size_t n = elig_pop_insurer_line(pop, i, buf, sizeof buf);
        apply_line(ix, buf, n - 1, ++lsn);
    }
    struct month *m = calloc(1, sizeof(*m));
    for (uint64_t i = 0; i < elig_pop_persons(pop); i++) {
        size_t n = elig_pop_person(pop, i, buf, sizeof buf);
        for (char *line = buf, *nl; line < buf + n; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(buf + n - line));
            apply_line(ix, line, (size_t)(nl - line), ++lsn);
        }
        elig_pop_updates(pop, i, keep, m);
    }
    for (unsigned d = 0; d < elig_pop_month_days(pop); d++)
        for (char *line = m->lines[d], *nl; line && line < m->lines[d] + m->len[d]; line = nl + 1) {
            nl = memchr(line, '\n', (size_t)(m->lines[d] + m->len[d] - line));
            apply_line(ix, line, (size_t)(nl - line), ++lsn);
        }
    /* card registrations at the national rate (1.27M a month for 125.42M people), +-15% */
    double want = 1270000.0 * (double)elig_pop_persons(pop) / 125420000.0;
    assert_true((double)m->registrations > want * 0.85 && (double)m->registrations < want * 1.15);
    assert_true(m->events > m->registrations);
    for (int d = 0; d < 31; d++)
        free(m->lines[d]);
    free(m);
    elig_index_close(ix, false);
    unlink(path);
    rmdir(dir);
    elig_pop_destroy(pop);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tables_match_csv),
        cmocka_unit_test(test_deterministic),
        cmocka_unit_test(test_lines_and_distributions),
        cmocka_unit_test(test_updates_apply),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
