/* SPDX-License-Identifier: MIT */
#ifndef ELIG_TABLES_H
#define ELIG_TABLES_H

#include <stdint.h>

/**
 * @file
 * Published figures (loadgen/data/, sources in loadgen/data/SOURCES.md)
 * compiled in, so the generators need no data file at run time.
 */

#define ELIG_AGE_BANDS     17
#define ELIG_PREFECTURES   47
#define ELIG_RENEWAL_YEARS 9

/** One 5-year age band: population and cards held, in 10,000s. */
struct elig_age_band {
    const char *name; /**< "0-4" ... "80+" */
    int lo, hi;       /**< ages covered (80+ taken as 80-99) */
    int pop_male, pop_female;
    int held_male, held_female;
};

/** Online checks in October 2024 in one prefecture, by facility type. */
struct elig_prefecture {
    const char *name, *name_ja;
    int64_t hospital, medical_clinic, dental_clinic, pharmacy;
};

/** Card certificate renewals due in one fiscal year. */
struct elig_renewals {
    int fiscal_year;
    int64_t renewals;
};

#define ELIG_FACILITY_TYPES 4
#define ELIG_MONTHS         2

/** Online checks of one month by facility type (hospital, medical clinic, dental, pharmacy). */
struct elig_month_checks {
    const char *month;                  /**< "2025-02" */
    int64_t total[ELIG_FACILITY_TYPES]; /**< checks, card + insurance card */
    int64_t card[ELIG_FACILITY_TYPES];  /**< of which by card */
    int64_t batch[ELIG_FACILITY_TYPES]; /**< batch checks, counted apart; 0 if not published */
};

/** "hospital", "medical_clinic", "dental_clinic", "pharmacy". */
extern const char *const elig_facility_types[ELIG_FACILITY_TYPES];
extern const struct elig_month_checks elig_month_checks[ELIG_MONTHS];

extern const struct elig_age_band elig_age_bands[ELIG_AGE_BANDS];
extern const struct elig_prefecture elig_prefectures[ELIG_PREFECTURES]; /**< by code - 1 */
extern const struct elig_renewals elig_renewals[ELIG_RENEWAL_YEARS];
extern const double elig_registration_share; /**< insurance-use registrations per holder */

#endif
