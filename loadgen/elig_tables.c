/* SPDX-License-Identifier: MIT */
/*
 * elig_tables: the published figures the generators use, as C tables.
 *
 * Transcribed from the CSV files of loadgen/data/ (sources in loadgen/data/SOURCES.md)
 * so that the programs need no data files at run time. tests/unit/
 * test_tables.c reads the CSVs and checks every value here against them,
 * so the two cannot drift apart.
 */
#include "elig_tables.h"

/* card_holders_by_age_sex.csv: population and cards held, 10,000s, by 5-year band */
const struct elig_age_band elig_age_bands[ELIG_AGE_BANDS] = {
    { "0-4", 0, 4, 219, 209, 100, 95 },      { "5-9", 5, 9, 259, 246, 178, 171 },
    { "10-14", 10, 14, 277, 263, 198, 190 }, { "15-19", 15, 19, 286, 272, 214, 203 },
    { "20-24", 20, 24, 324, 307, 227, 227 }, { "25-29", 25, 29, 332, 312, 218, 231 },
    { "30-34", 30, 34, 335, 317, 227, 239 }, { "35-39", 35, 39, 373, 357, 250, 262 },
    { "40-44", 40, 44, 408, 394, 279, 294 }, { "45-49", 45, 49, 481, 466, 321, 337 },
    { "50-54", 50, 54, 483, 472, 358, 379 }, { "55-59", 55, 59, 409, 406, 312, 335 },
    { "60-64", 60, 64, 370, 376, 291, 311 }, { "65-69", 65, 69, 363, 381, 284, 307 },
    { "70-74", 70, 74, 434, 484, 306, 347 }, { "75-79", 75, 79, 319, 391, 294, 353 },
    { "80+", 80, 99, 445, 771, 368, 532 },
};

/*
 * checks_by_prefecture.csv: online checks in October 2024 by prefecture, all
 * facility types, as printed except Tokyo's medical clinics (1,194,285 printed,
 * 11,194,285 correct: see SOURCES.md). Indexed by prefecture code - 1.
 */
const struct elig_prefecture elig_prefectures[ELIG_PREFECTURES] = {
    { "Hokkaido", "北海道", 747802, 3097463, 834369, 5052747 },
    { "Aomori", "青森", 173467, 720028, 126385, 1400878 },
    { "Iwate", "岩手", 159451, 756266, 108096, 977699 },
    { "Miyagi", "宮城", 232766, 1856289, 349366, 2499886 },
    { "Akita", "秋田", 81581, 492206, 99953, 1280970 },
    { "Yamagata", "山形", 114367, 879930, 127285, 1136448 },
    { "Fukushima", "福島", 208252, 1164093, 176956, 1144043 },
    { "Ibaraki", "茨城", 257976, 1528774, 308762, 2203502 },
    { "Tochigi", "栃木", 170625, 1293799, 259857, 1599301 },
    { "Gunma", "群馬", 222795, 1451844, 237940, 1248323 },
    { "Saitama", "埼玉", 681244, 4736231, 854917, 5900334 },
    { "Chiba", "千葉", 574569, 3721292, 874776, 4585260 },
    { "Tokyo", "東京", 1347144, 11194285, 1866671, 11209042 },
    { "Kanagawa", "神奈川", 733047, 7156001, 1142559, 7525093 },
    { "Niigata", "新潟", 212334, 1296492, 334792, 1794711 },
    { "Toyama", "富山", 200188, 627589, 128396, 769954 },
    { "Ishikawa", "石川", 154689, 743451, 118158, 699816 },
    { "Fukui", "福井", 109362, 377560, 76941, 342345 },
    { "Yamanashi", "山梨", 65478, 452718, 57883, 693745 },
    { "Nagano", "長野", 247206, 1282418, 195758, 1767615 },
    { "Gifu", "岐阜", 210931, 1621421, 224624, 1658950 },
    { "Shizuoka", "静岡", 386180, 2762809, 449392, 3532283 },
    { "Aichi", "愛知", 765090, 6519148, 866391, 6581116 },
    { "Mie", "三重", 181684, 1491974, 181451, 1562006 },
    { "Shiga", "滋賀", 112011, 733167, 134335, 957038 },
    { "Kyoto", "京都", 250087, 1485609, 215601, 1610209 },
    { "Osaka", "大阪", 828867, 6223353, 955941, 5824094 },
    { "Hyogo", "兵庫", 532011, 3992140, 574798, 3761498 },
    { "Nara", "奈良", 142049, 924723, 119980, 827783 },
    { "Wakayama", "和歌山", 121384, 810355, 63818, 726743 },
    { "Tottori", "鳥取", 64917, 357700, 93865, 339214 },
    { "Shimane", "島根", 70064, 460209, 98104, 417163 },
    { "Okayama", "岡山", 257732, 1349588, 273839, 1151196 },
    { "Hiroshima", "広島", 311871, 2319514, 329198, 1873880 },
    { "Yamaguchi", "山口", 168444, 1139177, 169420, 1065634 },
    { "Tokushima", "徳島", 121050, 456345, 70594, 400884 },
    { "Kagawa", "香川", 103400, 534056, 129002, 621370 },
    { "Ehime", "愛媛", 171102, 889228, 202208, 1416245 },
    { "Kochi", "高知", 125180, 349075, 82095, 416434 },
    { "Fukuoka", "福岡", 672771, 4507016, 640789, 3435117 },
    { "Saga", "佐賀", 126862, 756986, 99768, 473582 },
    { "Nagasaki", "長崎", 187001, 1214135, 164906, 863144 },
    { "Kumamoto", "熊本", 305907, 1566325, 207701, 1101413 },
    { "Oita", "大分", 185434, 754557, 95786, 819908 },
    { "Miyazaki", "宮崎", 190823, 683226, 88980, 933893 },
    { "Kagoshima", "鹿児島", 284714, 1126091, 192817, 1111341 },
    { "Okinawa", "沖縄", 163758, 714092, 83697, 985204 },
};

/* cert_renewals_by_fiscal_year.csv: certificate renewals due, by fiscal year (April-March) */
const struct elig_renewals elig_renewals[ELIG_RENEWAL_YEARS] = {
    { 2019, 875433 },   { 2020, 7406803 },  { 2021, 2437880 },
    { 2022, 2045174 },  { 2023, 2368824 },  { 2024, 10762266 },
    { 2025, 27686936 }, { 2026, 20202216 }, { 2027, 27593847 },
};

/* card_status_summary.csv: insurance-use registrations per card holder, 2024-10-31 */
const double elig_registration_share = 0.82;

/* monthly_checks_by_facility.csv: online checks by facility type and method */
const char *const elig_facility_types[ELIG_FACILITY_TYPES] = { "hospital", "medical_clinic",
                                                               "dental_clinic", "pharmacy" };
const struct elig_month_checks elig_month_checks[ELIG_MONTHS] = {
    { "2024-10",
      { 13735667, 90570748, 15088920, 98299054 },
      { 3840623, 11692591, 3319469, 15268318 },
      { 0, 0, 0, 0 } },
    { "2025-02",
      { 15140259, 88236848, 17161172, 91413072 },
      { 6831395, 22040486, 6770867, 20787832 },
      { 17915817, 1541934, 4419685, 10845 } },
};
