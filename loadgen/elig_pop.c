/* SPDX-License-Identifier: MIT */
/*
 * elig_pop: the synthetic population generator.
 *
 * Design: person i is drawn from a counter-based random stream (elig_rand.h):
 * draw k is a mix of (seed, i, k), so any person can be generated alone, in
 * any order, by any thread, and the output is a pure function of the
 * parameters. Table-driven draws (age band and sex, prefecture, expiry year)
 * go through cumulative weight arrays prepared once in elig_pop_create();
 * everything else is arithmetic on the draws. Keys are unique by
 * construction: a record's number is its own serial (person i's current
 * record i + 1, its past record persons + i + 1), so no two qualifications
 * share a key whatever the other draws.
 *
 * Insurers: per prefecture one Japan Health Insurance Association branch
 * (01pp001c), 30 society-managed insurers (06pp1kkc), the four mutual aid
 * kinds (31-34pp001c), 37 municipal NHI insurers (6 digits, pp2kkc) and the
 * late-stage elderly union (39pp001c); c is the check digit.
 */
#include "elig_pop.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "elig_key.h"
#include "elig_rand.h"
#include "elig_record.h"
#include "elig_tables.h"

#define SOCIETIES  30
#define NHI_CITIES 37
#define PER_PREF   (1 + SOCIETIES + 4 + NHI_CITIES + 1)

enum kind { K_KYOKAI, K_SOCIETY, K_MUTUAL, K_NHI, K_ELDERLY };

/* Shares of insurance kinds under 75, percent (assumed: docs/loadgen.md). */
#define SHARE_KYOKAI  39
#define SHARE_SOCIETY 27
#define SHARE_MUTUAL  9 /* NHI takes the rest */

struct insurer {
    char number[ELIG_INSURER_LEN + 1]; /* as written in feeds: 8 digits, NHI 6 */
    char name[ELIG_INSURER_NAME_MAX + 1];
};

struct elig_pop {
    struct elig_pop_params p;
    uint64_t persons, past;
    int64_t band_cum[ELIG_AGE_BANDS * 2]; /* cumulative population, band x sex */
    int64_t pref_cum[ELIG_PREFECTURES];
    int64_t fy_cum[8];
    int fy[8], nfy;
    elig_date_t fy_start[8];    /* 1 April of fy[k] */
    elig_date_t cards_from;     /* the first day of insurance-use registration */
    elig_date_t years_ago[100]; /* the reference date, a years before (by age) */
    struct insurer insurers[ELIG_PREFECTURES * PER_PREF];
    char dates[ELIG_DATE_MAX + 1][ELIG_DATE_ISO_LEN]; /* every date as YYYY-MM-DD, made once */
};

/* ---- writing lines without printf (it was most of the time) ------------ */

struct out {
    char *p, *end;
};

static void put(struct out *o, const char *s, size_t n)
{
    if ((size_t)(o->end - o->p) < n)
        n = (size_t)(o->end - o->p); /* cannot happen within ELIG_POP_PERSON_MAX */
    memcpy(o->p, s, n);
    o->p += n;
}

static void put_s(struct out *o, const char *s)
{
    put(o, s, strlen(s));
}

static void put_tab(struct out *o, const char *s)
{
    put(o, "\t", 1);
    put_s(o, s);
}

static void put_u64(struct out *o, uint64_t v)
{
    char d[20];
    int n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    put(o, "\t", 1);
    while (n)
        put(o, &d[--n], 1);
}

static void put_date(struct out *o, const struct elig_pop *pop, elig_date_t d)
{
    put(o, "\t", 1);
    put(o, pop->dates[d], ELIG_DATE_ISO_LEN);
}

/* ---- names (common family and given names; a few with kanji outside JIS X 0208) ---- */

struct name {
    const char *kanji, *kana;
};

static const struct name family[] = {
    { "佐藤", "サトウ" },   { "鈴木", "スズキ" },   { "高橋", "タカハシ" },
    { "田中", "タナカ" },   { "伊藤", "イトウ" },   { "渡辺", "ワタナベ" },
    { "山本", "ヤマモト" }, { "中村", "ナカムラ" }, { "小林", "コバヤシ" },
    { "加藤", "カトウ" },   { "吉田", "ヨシダ" },   { "山田", "ヤマダ" },
    { "佐々木", "ササキ" }, { "山口", "ヤマグチ" }, { "松本", "マツモト" },
    { "井上", "イノウエ" }, { "木村", "キムラ" },   { "林", "ハヤシ" },
    { "斎藤", "サイトウ" }, { "清水", "シミズ" },   { "山崎", "ヤマザキ" },
    { "森", "モリ" },       { "池田", "イケダ" },   { "橋本", "ハシモト" },
    { "阿部", "アベ" },     { "石川", "イシカワ" }, { "山下", "ヤマシタ" },
    { "中島", "ナカジマ" }, { "石井", "イシイ" },   { "小川", "オガワ" },
    { "前田", "マエダ" },   { "岡田", "オカダ" },   { "長谷川", "ハセガワ" },
    { "藤田", "フジタ" },   { "後藤", "ゴトウ" },   { "近藤", "コンドウ" },
};
/* variants outside JIS X 0208, shown as "●" by older facility systems */
static const struct name family_rare[] = {
    { "𠮷田", "ヨシダ" },
    { "髙橋", "タカハシ" },
    { "山﨑", "ヤマサキ" },
    { "德永", "トクナガ" },
};
static const struct name given_male[] = {
    { "蓮", "レン" },     { "湊", "ミナト" },     { "大翔", "ヒロト" },   { "翔", "ショウ" },
    { "健太", "ケンタ" }, { "誠", "マコト" },     { "浩", "ヒロシ" },     { "修", "オサム" },
    { "太郎", "タロウ" }, { "一郎", "イチロウ" }, { "大輔", "ダイスケ" }, { "拓也", "タクヤ" },
    { "清", "キヨシ" },   { "茂", "シゲル" },     { "隆", "タカシ" },     { "悠真", "ユウマ" },
};
static const struct name given_female[] = {
    { "陽葵", "ヒマリ" },   { "凛", "リン" },     { "結菜", "ユイナ" },   { "美咲", "ミサキ" },
    { "陽子", "ヨウコ" },   { "恵子", "ケイコ" }, { "幸子", "サチコ" },   { "花子", "ハナコ" },
    { "和子", "カズコ" },   { "愛", "アイ" },     { "直美", "ナオミ" },   { "由美", "ユミ" },
    { "久美子", "クミコ" }, { "明美", "アケミ" }, { "さくら", "サクラ" }, { "芽依", "メイ" },
};
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/* ---- random draws ------------------------------------------------------ */

/* Draw k of person i (64 draws a person: the population's streams). */
static uint64_t rnd(const struct elig_pop *pop, uint64_t i, uint64_t k)
{
    return elig_mix64(pop->p.seed * 0x9e3779b97f4a7c15ull ^ elig_mix64(i * 64 + k + 1));
}

/* Draw k of person i as a uniform number in [0, 1). */
static double uniform(const struct elig_pop *pop, uint64_t i, uint64_t k)
{
    return elig_unit(rnd(pop, i, k));
}

/* ---- insurers ---------------------------------------------------------- */

static void make_number(char *out, int law, int pref, int serial)
{
    char d[8];
    snprintf(d, sizeof d, "%02d%02d%03d", law, pref, serial);
    snprintf(out, ELIG_INSURER_LEN + 1, "%s%d", d, elig_luhn_check_digit(d));
}

static void make_insurers(struct elig_pop *pop)
{
    static const char *const mutual[] = { "国家公務員共済組合", "地方公務員共済組合",
                                          "警察共済組合", "私立学校教職員共済" };
    for (int p = 1; p <= ELIG_PREFECTURES; p++) {
        struct insurer *in = &pop->insurers[(p - 1) * PER_PREF];
        const char *ja = elig_prefectures[p - 1].name_ja;
        make_number(in->number, 1, p, 1);
        snprintf(in->name, sizeof in->name, "全国健康保険協会%s支部", ja);
        in++;
        for (int k = 0; k < SOCIETIES; k++, in++) {
            make_number(in->number, 6, p, 100 + k);
            snprintf(in->name, sizeof in->name, "%s第%d健康保険組合", ja, k + 1);
        }
        for (int k = 0; k < 4; k++, in++) {
            make_number(in->number, 31 + k, p, 1);
            snprintf(in->name, sizeof in->name, "%s%s", ja, mutual[k]);
        }
        for (int k = 0; k < NHI_CITIES; k++, in++) {
            char d[8], full[9];
            snprintf(d, sizeof d, "00%02d%03d", p, 200 + k); /* NHI: padded as stored */
            snprintf(full, sizeof full, "%s%d", d, elig_luhn_check_digit(d));
            memcpy(in->number, full + 2, 7); /* written in feeds as its 6 digits */
            snprintf(in->name, sizeof in->name, "%s第%d市国民健康保険", ja, k + 1);
        }
        make_number(in->number, 39, p, 1);
        snprintf(in->name, sizeof in->name, "%s後期高齢者医療広域連合", ja);
    }
}

static const struct insurer *insurer_of(const struct elig_pop *pop, unsigned pref, enum kind k,
                                        uint64_t r)
{
    const struct insurer *base = &pop->insurers[pref * PER_PREF];
    switch (k) {
    case K_KYOKAI:
        return base;
    case K_SOCIETY:
        return base + 1 + r % SOCIETIES;
    case K_MUTUAL:
        return base + 1 + SOCIETIES + r % 4;
    case K_NHI:
        return base + 1 + SOCIETIES + 4 + r % NHI_CITIES;
    default:
        return base + PER_PREF - 1;
    }
}

/* ---- set-up ------------------------------------------------------------ */

static elig_date_t add_years(elig_date_t d, int years)
{
    int y, m, day;
    elig_date_to_ymd(d, &y, &m, &day);
    if (m == 2 && day == 29)
        day = 28;
    elig_date_t out;
    return elig_date_from_ymd(y + years, m, day, &out) ? d : out;
}

int elig_pop_create(const struct elig_pop_params *params, struct elig_pop **out)
{
    if (params->records == 0 || params->records > (1ull << 31))
        return -EINVAL;
    struct elig_pop *pop = calloc(1, sizeof(*pop));
    if (pop == NULL)
        return -ENOMEM;
    pop->p = *params;
    if (pop->p.today == ELIG_DATE_NONE)
        elig_date_from_ymd(2025, 2, 1, &pop->p.today);
    pop->persons = (params->records * 3 + 3) / 4; /* 3 current : 1 past */
    pop->past = params->records - pop->persons;
    int64_t c = 0;
    for (int b = 0; b < ELIG_AGE_BANDS; b++) {
        pop->band_cum[2 * b] = c += elig_age_bands[b].pop_male;
        pop->band_cum[2 * b + 1] = c += elig_age_bands[b].pop_female;
    }
    c = 0;
    for (int p = 0; p < ELIG_PREFECTURES; p++) {
        const struct elig_prefecture *pr = &elig_prefectures[p];
        pop->pref_cum[p] = c +=
            pr->hospital + pr->medical_clinic + pr->dental_clinic + pr->pharmacy;
    }
    /* certificate expiry: fiscal years from this one on, weighted by renewals due;
     * the years after the table's last get the mean of its last three */
    int y, m, d;
    elig_date_to_ymd(pop->p.today, &y, &m, &d);
    int fy = m >= 4 ? y : y - 1;
    int64_t last3 = 0;
    for (int i = ELIG_RENEWAL_YEARS - 3; i < ELIG_RENEWAL_YEARS; i++)
        last3 += elig_renewals[i].renewals;
    c = 0;
    for (int k = 0; k < 5; k++) { /* certificates last five years */
        int64_t w = last3 / 3;
        for (int i = 0; i < ELIG_RENEWAL_YEARS; i++)
            if (elig_renewals[i].fiscal_year == fy + k)
                w = elig_renewals[i].renewals;
        pop->fy[k] = fy + k;
        pop->fy_cum[k] = c += w;
    }
    pop->nfy = 5;
    for (int k = 0; k < pop->nfy; k++)
        elig_date_from_ymd(pop->fy[k], 4, 1, &pop->fy_start[k]);
    elig_date_from_ymd(2021, 10, 20, &pop->cards_from);
    for (int a = 0; a < 100; a++)
        pop->years_ago[a] = add_years(pop->p.today, -a);
    for (uint32_t x = ELIG_DATE_MIN; x <= ELIG_DATE_MAX; x++) {
        char iso[ELIG_DATE_ISO_LEN + 1];
        memcpy(pop->dates[x], elig_date_format((elig_date_t)x, iso), ELIG_DATE_ISO_LEN);
    }
    make_insurers(pop);
    *out = pop;
    return 0;
}

void elig_pop_destroy(struct elig_pop *pop)
{
    free(pop);
}

elig_date_t elig_pop_today(const struct elig_pop *pop)
{
    return pop->p.today;
}

uint64_t elig_pop_persons(const struct elig_pop *pop)
{
    return pop->persons;
}

size_t elig_pop_insurers(const struct elig_pop *pop)
{
    (void)pop;
    return ELIG_PREFECTURES * PER_PREF;
}

size_t elig_pop_insurer_line(const struct elig_pop *pop, size_t i, char *buf, size_t cap)
{
    const struct insurer *in = &pop->insurers[i];
    int n = snprintf(buf, cap, "INSURER\t2000-04-01\t%s\t%s\n", in->number, in->name);
    return n > 0 && (size_t)n < cap ? (size_t)n : 0;
}

/* ---- persons ----------------------------------------------------------- */

struct person {
    unsigned band, sex, pref, age;
    elig_date_t birth;
    const struct name *fam, *giv;
};

static void draw_person(const struct elig_pop *pop, uint64_t i, struct person *ps)
{
    unsigned cell = elig_pick(pop->band_cum, ELIG_AGE_BANDS * 2, rnd(pop, i, 0));
    ps->band = cell / 2;
    ps->sex = cell % 2 ? ELIG_SEX_FEMALE : ELIG_SEX_MALE;
    const struct elig_age_band *b = &elig_age_bands[ps->band];
    ps->age = (unsigned)(b->lo + (int)(rnd(pop, i, 1) % (uint64_t)(b->hi - b->lo + 1)));
    ps->birth = (elig_date_t)(pop->years_ago[ps->age] - 1 - (elig_date_t)(rnd(pop, i, 2) % 365));
    ps->pref = elig_pick(pop->pref_cum, ELIG_PREFECTURES, rnd(pop, i, 3));
    uint64_t r = rnd(pop, i, 4);
    if (r % 1000 < 3) {
        ps->fam = &family_rare[(r >> 10) % COUNT(family_rare)];
    } else { /* a skew towards the commonest, as real surnames have */
        uint64_t x = (r >> 10) % 1024;
        ps->fam = &family[x * x * COUNT(family) / (1024 * 1024)];
    }
    uint64_t g = rnd(pop, i, 5);
    ps->giv = ps->sex == ELIG_SEX_MALE ? &given_male[g % COUNT(given_male)]
                                       : &given_female[g % COUNT(given_female)];
}

static enum kind draw_kind(const struct person *ps, uint64_t r)
{
    if (ps->age >= 75)
        return K_ELDERLY;
    unsigned x = (unsigned)(r % 100);
    return x < SHARE_KYOKAI                                  ? K_KYOKAI
           : x < SHARE_KYOKAI + SHARE_SOCIETY                ? K_SOCIETY
           : x < SHARE_KYOKAI + SHARE_SOCIETY + SHARE_MUTUAL ? K_MUTUAL
                                                             : K_NHI;
}

/* v in decimal into out, NUL-terminated (printf was a fifth of the replay's client). */
static void fmt_u64(char *out, uint64_t v)
{
    char d[20];
    int n = 0;
    do
        d[n++] = (char)('0' + v % 10);
    while ((v /= 10) != 0);
    while (n)
        *out++ = d[--n];
    *out = '\0';
}

/* Symbol as printed on the card, by kind. */
static void draw_symbol(enum kind k, uint64_t r, char *out)
{
    static const char *const kanji[] = { "東", "西", "南", "北", "中", "本" };
    switch (k) {
    case K_KYOKAI:
        fmt_u64(out, 10000000 + r % 90000000); /* always 8 digits */
        break;
    case K_SOCIETY:
        fmt_u64(out, 1 + r % 9999);
        break;
    case K_MUTUAL:
        fmt_u64(out, 10 + r % 990);
        break;
    case K_NHI:
        if (r % 50 == 0) { /* 2% of NHI symbols in kanji (assumed) */
            size_t n = strlen(kanji[(r >> 8) % 6]);
            memcpy(out, kanji[(r >> 8) % 6], n);
            fmt_u64(out + n, (unsigned)(r >> 16) % 100);
        } else {
            fmt_u64(out, 1 + r % 99);
        }
        break;
    default:
        out[0] = '\0'; /* late-stage elderly cards carry a number only */
    }
}

/* One ACQUIRE line. */
static void acquire_line(struct out *o, const struct elig_pop *pop, const struct insurer *in,
                         const char *symbol, uint64_t number, const char *branch, uint64_t person,
                         int relation, const struct person *ps, elig_date_t from, elig_date_t today,
                         const char *limit)
{
    static const char *const digit[] = { "0", "1", "2", "3" };
    put_s(o, "ACQUIRE");
    put_date(o, pop, from);
    put_tab(o, in->number);
    put_tab(o, in->number);
    put_tab(o, symbol);
    put_u64(o, number);
    put_tab(o, branch);
    put_u64(o, person);
    put_tab(o, digit[relation]);
    put_tab(o, ps->fam->kanji);
    put_tab(o, ps->giv->kanji);
    put_tab(o, ps->fam->kana);
    put_tab(o, ps->giv->kana);
    put_tab(o, digit[ps->sex]);
    put_date(o, pop, ps->birth);
    put_s(o, "\t\t"); /* valid_from = effective, open-ended */
    put_u64(o, (uint64_t)elig_copay_default(ps->birth, today));
    put_s(o, "\t\t\t"); /* no elderly certificate */
    put_tab(o, limit);
    put(o, "\n", 1);
}

/* Everything about person i as of the reference date. */
struct pp {
    struct person ps;
    uint64_t id;
    enum kind kind;
    const struct insurer *in;
    bool dependent;
    char symbol[64], branch[3];
    elig_date_t from;
    const char *limit;
    bool has_past;
    const struct insurer *pin; /* the past qualification, when has_past */
    char psym[64];
    elig_date_t pfrom;
    bool holds, registered; /* a card; registered for insurance use */
    uint64_t card;
    elig_date_t reg, expiry;
};

static void draw(const struct elig_pop *pop, uint64_t i, struct pp *q)
{
    struct person *ps = &q->ps;
    draw_person(pop, i, ps);
    elig_date_t today = pop->p.today;
    q->id = i + 1;
    q->kind = draw_kind(ps, rnd(pop, i, 6));
    q->in = insurer_of(pop, ps->pref, q->kind, rnd(pop, i, 7));
    bool employee = q->kind == K_KYOKAI || q->kind == K_SOCIETY || q->kind == K_MUTUAL;
    q->dependent = employee && (ps->age < 20 || rnd(pop, i, 8) % 4 == 0);
    draw_symbol(q->kind, rnd(pop, i, 9), q->symbol);
    unsigned br = q->dependent ? 1 + (unsigned)(rnd(pop, i, 10) % 3) : 0;
    q->branch[0] = '0';
    q->branch[1] = (char)('0' + br);
    q->branch[2] = '\0';
    if (q->kind == K_ELDERLY)
        q->from = add_years(ps->birth, 75);
    else if (ps->age < 20)
        q->from = ps->birth;
    else /* joined within the last 20 years, never before turning 15 */
        q->from = (elig_date_t)(today -
                                rnd(pop, i, 11) % (365 * (ps->age - 15 < 20 ? ps->age - 15 : 20)));
    if (q->from > today)
        q->from = today;
    static const char *const limits[] = { "A01", "A02", "A03", "A04", "A05", "B01", "B02", "B03" };
    uint64_t rl = rnd(pop, i, 12);
    q->limit = rl % 10 == 0 ? limits[(rl >> 8) % COUNT(limits)] : "";
    /* one person in three (the 1 past : 3 current), spread evenly: a past qualification;
     * a child covered since birth moved from a parent's earlier insurer some day since */
    q->has_past = (i * pop->past) / pop->persons != ((i + 1) * pop->past) / pop->persons;
    if (q->has_past && q->from <= ps->birth + 1 && today > ps->birth + 2)
        q->from = (elig_date_t)(ps->birth + 2 + rnd(pop, i, 21) % (today - ps->birth - 2));
    q->has_past = q->has_past && q->from > ps->birth + 1;
    if (q->has_past) {
        enum kind pk = q->kind == K_NHI ? K_KYOKAI : K_NHI;
        q->pin = insurer_of(pop, ps->pref, pk, rnd(pop, i, 13));
        draw_symbol(pk, rnd(pop, i, 14), q->psym);
        q->pfrom = (elig_date_t)(q->from - 1 - rnd(pop, i, 15) % (q->from - ps->birth - 1));
    }
    /* the card: held by band and sex, registered for insurance use by 82% of holders */
    const struct elig_age_band *b = &elig_age_bands[ps->band];
    double held = ps->sex == ELIG_SEX_MALE ? (double)b->held_male / b->pop_male
                                           : (double)b->held_female / b->pop_female;
    double u = uniform(pop, i, 16);
    q->holds = u < held;
    q->registered = u < held * elig_registration_share;
    /* mix is a bijection: distinct persons get distinct cards */
    q->card = elig_mix64(q->id ^ elig_mix64(pop->p.seed + 0xCA7D));
    elig_date_t start = pop->cards_from;
    q->reg = today > start ? (elig_date_t)(start + rnd(pop, i, 17) % (today - start + 1)) : today;
    if (q->reg < q->from)
        q->reg = q->from < today ? q->from : today;
    unsigned y = elig_pick(pop->fy_cum, (unsigned)pop->nfy, rnd(pop, i, 18));
    q->expiry = (elig_date_t)(pop->fy_start[y] + rnd(pop, i, 19) % 365);
}

static void put_card(struct out *o, uint64_t card)
{
    char hex[17];
    for (int k = 15; k >= 0; k--, card >>= 4)
        hex[k] = "0123456789ABCDEF"[card & 15];
    hex[16] = '\0';
    put_tab(o, hex);
}

/* "KIND<TAB>date<TAB>source" */
static void put_head(struct out *o, const struct elig_pop *pop, const char *kind, elig_date_t d,
                     const struct insurer *source)
{
    put_s(o, kind);
    put_date(o, pop, d);
    put_tab(o, source->number);
}

static void put_key(struct out *o, const struct insurer *in, const char *symbol, uint64_t number,
                    const char *branch)
{
    put_tab(o, in->number);
    put_tab(o, symbol);
    put_u64(o, number);
    put_tab(o, branch);
}

size_t elig_pop_person(const struct elig_pop *pop, uint64_t i, char *buf, size_t cap)
{
    struct pp q;
    draw(pop, i, &q);
    struct out o = { .p = buf, .end = buf + cap };
    if (q.has_past) {
        uint64_t pnum = pop->persons + i + 1;
        acquire_line(&o, pop, q.pin, q.psym, pnum, "00", q.id, 1, &q.ps, q.pfrom, q.pfrom, "");
        put_head(&o, pop, "LOSS", q.from, q.pin);
        put_key(&o, q.pin, q.psym, pnum, "00");
        put_s(&o, "\t03\n");
    }
    acquire_line(&o, pop, q.in, q.symbol, i + 1, q.branch, q.id,
                 q.dependent ? ELIG_REL_DEPENDENT : ELIG_REL_INSURED, &q.ps, q.from, pop->p.today,
                 q.limit);
    if (q.registered) {
        put_head(&o, pop, "CARD_REGISTER", q.reg, q.in);
        put_card(&o, q.card);
        put_u64(&o, q.id);
        put_date(&o, pop, q.expiry);
        put(&o, "\n", 1);
    }
    return (size_t)(o.p - buf);
}

/* ---- a month of updates ------------------------------------------------- */

/*
 * Monthly rates. From the tables: card registrations (+678k in 16 days,
 * 2024-10-26..11-10: 1.27M a month), de-registrations (792 in 12 days:
 * about 2,000 a month of 77.47M registered). Assumed (docs/loadgen.md):
 * the rest.
 */
#define REG_PER_MONTH    1270000.0 /* card registrations, national */
#define NATIONAL_PERSONS 125420000.0
#define DEREG_SHARE      (2000.0 / 77470000.0)
#define RETURN_SHARE     0.0002 /* cards returned or lost, of registered */
#define RENEW_SHARE      0.90   /* certificates renewed before they expire */
#define CHANGE_SHARE     0.005  /* under 75: changing insurer in a month */
#define LIMIT_SHARE      0.001  /* limit category changed */
#define DEATH_75         0.0053 /* deaths a month, 75 and over */
#define DEATH_UNDER_75   0.00025
#define BIRTH_SHARE      0.0011 /* of persons aged 20-44: a child born this month */

/*
 * Registration lag (assumed, docs/loadgen.md): the law allows 5 days (10
 * for a change); in practice monthly batch processing lags by up to 2 months.
 * One insurer in ten works in monthly batches (15-60 days); the others
 * register 88% of events within the allowance and the rest up to 30 days.
 * The day an event arrives is its effective day plus its lag, but not past
 * the month: one that would arrive later is counted on the month's last day.
 */
#define BATCH_INSURERS 10 /* one in this many insurers registers in monthly batches */
#define ON_TIME_SHARE  0.88

bool elig_pop_batch_insurer(const struct elig_pop *pop, const char *number)
{
    uint64_t v = pop->p.seed;
    for (const char *c = number; *c; c++)
        v = v * 31 + (uint64_t)*c;
    return elig_mix64(v) % BATCH_INSURERS == 0;
}

static elig_date_t arrival(const struct elig_pop *pop, const struct insurer *in, elig_date_t d,
                           elig_date_t m1, uint64_t r, bool change)
{
    unsigned allowed = change ? 10 : 5, lag;
    if (elig_pop_batch_insurer(pop, in->number))
        lag = 15 + (unsigned)(r % 46);
    else if (elig_unit(r) < ON_TIME_SHARE)
        lag = (unsigned)((r >> 32) % (allowed + 1));
    else
        lag = allowed + 1 + (unsigned)((r >> 32) % (30 - allowed));
    return d + lag < m1 ? (elig_date_t)(d + lag) : (elig_date_t)(m1 - 1);
}

unsigned elig_pop_month_days(const struct elig_pop *pop)
{
    elig_date_t next;
    elig_date_add_months(pop->p.today, 1, &next);
    return (unsigned)(next - pop->p.today);
}

/* The share of persons holding a card but not registered for insurance use. */
static double unregistered_share(void)
{
    double pop = 0, unreg = 0;
    for (int b = 0; b < ELIG_AGE_BANDS; b++) {
        const struct elig_age_band *ab = &elig_age_bands[b];
        pop += ab->pop_male + ab->pop_female;
        unreg += (ab->held_male + ab->held_female) * (1 - elig_registration_share);
    }
    return unreg / pop;
}

/* The first day in [d0, d1) whose statutory co-payment differs from d0's, or 0. */
static elig_date_t copay_change(elig_date_t birth, elig_date_t d0, elig_date_t d1)
{
    int c0 = elig_copay_default(birth, d0);
    for (elig_date_t d = (elig_date_t)(d0 + 1); d < d1; d++)
        if (elig_copay_default(birth, d) != c0)
            return d;
    return 0;
}

void elig_pop_updates(const struct elig_pop *pop, uint64_t i, elig_pop_emit_fn emit, void *ctx)
{
    struct pp q;
    draw(pop, i, &q);
    elig_date_t m0 = pop->p.today;
    unsigned days = elig_pop_month_days(pop);
    elig_date_t m1 = (elig_date_t)(m0 + days);
    char buf[ELIG_POP_PERSON_MAX];
    struct out o;
#define LINE_START() (o = (struct out){ .p = buf, .end = buf + sizeof buf })
#define LINE_END(d)  (put(&o, "\n", 1), emit(ctx, (unsigned)((d)-m0), buf, (size_t)(o.p - buf)))
    bool moved = false;
    /* deaths: the qualification is lost (reason 01) and nothing else happens */
    double death = q.ps.age >= 75 ? DEATH_75 : DEATH_UNDER_75;
    if (uniform(pop, i, 30) < death) {
        elig_date_t d = (elig_date_t)(m0 + rnd(pop, i, 31) % days);
        LINE_START();
        put_head(&o, pop, "LOSS", d, q.in);
        put_key(&o, q.in, q.symbol, i + 1, q.branch);
        put_s(&o, "\t01");
        LINE_END(arrival(pop, q.in, d, m1, rnd(pop, i, 53), false));
        return;
    }
    /* turning 75: late-stage elderly from the birthday */
    elig_date_t b75 = add_years(q.ps.birth, 75);
    if (q.kind != K_ELDERLY && b75 >= m0 && b75 < m1 && b75 > q.from) {
        const struct insurer *e = insurer_of(pop, q.ps.pref, K_ELDERLY, 0);
        LINE_START();
        put_head(&o, pop, "LOSS", b75, q.in);
        put_key(&o, q.in, q.symbol, i + 1, q.branch);
        put_s(&o, "\t03");
        LINE_END(arrival(pop, q.in, b75, m1, rnd(pop, i, 53), false));
        LINE_START();
        acquire_line(&o, pop, e, "", 3 * pop->persons + i + 1, "00", q.id, ELIG_REL_INSURED, &q.ps,
                     b75, b75, "");
        o.p--; /* acquire_line ended the line */
        LINE_END(arrival(pop, e, b75, m1, rnd(pop, i, 54), false));
        moved = true;
    } else if (q.kind != K_ELDERLY && q.ps.age >= 18 && uniform(pop, i, 32) < CHANGE_SHARE) {
        /* a change of insurer: employee scheme <-> NHI */
        elig_date_t d = (elig_date_t)(m0 + rnd(pop, i, 33) % days);
        if (d <= q.from)
            d = (elig_date_t)(q.from + 1);
        if (d < m1) {
            enum kind nk = q.kind == K_NHI ? K_KYOKAI : K_NHI;
            const struct insurer *ni = insurer_of(pop, q.ps.pref, nk, rnd(pop, i, 34));
            char sym[64];
            draw_symbol(nk, rnd(pop, i, 35), sym);
            LINE_START();
            put_head(&o, pop, "LOSS", d, q.in);
            put_key(&o, q.in, q.symbol, i + 1, q.branch);
            put_s(&o, "\t03");
            LINE_END(arrival(pop, q.in, d, m1, rnd(pop, i, 53), false));
            LINE_START();
            acquire_line(&o, pop, ni, sym, 2 * pop->persons + i + 1, "00", q.id, ELIG_REL_INSURED,
                         &q.ps, d, d, "");
            o.p--;
            LINE_END(arrival(pop, ni, d, m1, rnd(pop, i, 54), false));
            moved = true;
        }
    }
    if (!moved) {
        /* the statutory co-payment changes (school age, 70) */
        elig_date_t d = copay_change(q.ps.birth, m0, m1);
        if (d) {
            LINE_START();
            put_head(&o, pop, "CHANGE", d, q.in);
            put_key(&o, q.in, q.symbol, i + 1, q.branch);
            int c = elig_copay_default(q.ps.birth, d);
            put_s(&o, c == 10 ? "\tcopay=10" : c == 20 ? "\tcopay=20" : "\tcopay=30");
            LINE_END(arrival(pop, q.in, d, m1, rnd(pop, i, 55), true));
        } else if (uniform(pop, i, 36) < LIMIT_SHARE) {
            d = (elig_date_t)(m0 + rnd(pop, i, 37) % days);
            if (d > q.from) {
                LINE_START();
                put_head(&o, pop, "CHANGE", d, q.in);
                put_key(&o, q.in, q.symbol, i + 1, q.branch);
                static const char *const to[] = { "\tlimit=A01", "\tlimit=A02", "\tlimit=A03",
                                                  "\tlimit=A04", "\tlimit=A05" };
                put_s(&o, to[rnd(pop, i, 38) % 5]);
                LINE_END(arrival(pop, q.in, d, m1, rnd(pop, i, 55), true));
            }
        }
    }
    /* a child: born this month, a dependent of an employee, else insured under NHI */
    if (q.ps.age >= 20 && q.ps.age < 45 && uniform(pop, i, 39) < BIRTH_SHARE) {
        struct person child = q.ps;
        child.birth = (elig_date_t)(m0 + rnd(pop, i, 40) % days);
        child.age = 0;
        child.sex = rnd(pop, i, 41) & 1 ? ELIG_SEX_FEMALE : ELIG_SEX_MALE;
        child.giv = child.sex == ELIG_SEX_MALE
                        ? &given_male[rnd(pop, i, 42) % COUNT(given_male)]
                        : &given_female[rnd(pop, i, 42) % COUNT(given_female)];
        bool employee = !moved && (q.kind == K_KYOKAI || q.kind == K_SOCIETY || q.kind == K_MUTUAL);
        const struct insurer *ci =
            employee ? q.in : insurer_of(pop, q.ps.pref, K_NHI, rnd(pop, i, 43));
        char sym[64];
        if (!employee)
            draw_symbol(K_NHI, rnd(pop, i, 44), sym);
        LINE_START();
        acquire_line(&o, pop, ci, employee ? q.symbol : sym, 4 * pop->persons + i + 1,
                     employee ? "04" : "00", 2 * pop->persons + q.id, employee ? 2 : 1, &child,
                     child.birth, child.birth, "");
        o.p--;
        LINE_END(arrival(pop, ci, child.birth, m1, rnd(pop, i, 56), false));
    }
    if (moved)
        return; /* card events come from the new insurer next month */
    /* cards */
    if (q.holds && !q.registered) {
        double p = REG_PER_MONTH / NATIONAL_PERSONS / unregistered_share();
        if (uniform(pop, i, 45) < p) {
            elig_date_t d = (elig_date_t)(m0 + rnd(pop, i, 46) % days);
            LINE_START();
            put_head(&o, pop, "CARD_REGISTER", d, q.in);
            put_card(&o, q.card);
            put_u64(&o, q.id);
            put_date(&o, pop, q.expiry > d ? q.expiry : add_years(q.expiry, 5));
            LINE_END(d);
        }
        return;
    }
    if (!q.registered)
        return;
    if (q.expiry >= m0 && q.expiry < m1 && uniform(pop, i, 47) < RENEW_SHARE) {
        elig_date_t d = (elig_date_t)(m0 + rnd(pop, i, 48) % (unsigned)(q.expiry - m0 + 1));
        LINE_START();
        put_head(&o, pop, "CERT_RENEW", d, q.in);
        put_card(&o, q.card);
        put_date(&o, pop, add_years(q.expiry, 5));
        LINE_END(d);
    } else if (uniform(pop, i, 49) < DEREG_SHARE) {
        elig_date_t d = (elig_date_t)(m0 + rnd(pop, i, 50) % days);
        LINE_START();
        put_head(&o, pop, "CARD_DEREGISTER", d, q.in);
        put_card(&o, q.card);
        LINE_END(d);
    } else if (uniform(pop, i, 51) < RETURN_SHARE) {
        elig_date_t d = (elig_date_t)(m0 + rnd(pop, i, 52) % days);
        LINE_START();
        put_head(&o, pop, "CARD_RETURN", d, q.in);
        put_card(&o, q.card);
        LINE_END(d);
    }
#undef LINE_START
#undef LINE_END
}

/* d as YYYYMMDD, read off the table of ISO dates. */
static uint32_t ymd(const struct elig_pop *pop, elig_date_t d)
{
    const char *s = pop->dates[d];
    uint32_t v = 0;
    for (int k = 0; k < ELIG_DATE_ISO_LEN; k++)
        if (s[k] != '-')
            v = v * 10 + (uint32_t)(s[k] - '0');
    return v;
}

void elig_pop_keys(const struct elig_pop *pop, uint64_t i, struct elig_pop_person_keys *k)
{
    struct pp q;
    draw(pop, i, &q);
    memset(k, 0, sizeof(*k));
    memcpy(k->insurer, q.in->number, sizeof k->insurer);
    memcpy(k->symbol, q.symbol, sizeof k->symbol);
    fmt_u64(k->number, i + 1);
    memcpy(k->branch, q.branch, sizeof k->branch);
    k->birth = ymd(pop, q.ps.birth);
    k->has_past = q.has_past;
    if (q.has_past) {
        memcpy(k->past_insurer, q.pin->number, sizeof k->past_insurer);
        memcpy(k->past_symbol, q.psym, sizeof k->past_symbol);
        fmt_u64(k->past_number, pop->persons + i + 1);
    }
    k->card = q.card;
    k->holds = q.holds;
    k->registered = q.registered;
    k->cert_expiry = q.registered ? ymd(pop, q.expiry) : 0;
}
