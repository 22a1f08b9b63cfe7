/* SPDX-License-Identifier: MIT */
/*
 * elig_lat: the bounds of eligd's latency histograms (elig_lat.h has the
 * rest, inline: adding a duration is on the answer path). 1-2.5-5 steps
 * from 10 us, the shortest an answer takes, to 1 s, past any deadline a
 * facility's terminal keeps.
 */
#include "elig_lat.h"

const uint64_t elig_lat_bound_ns[ELIG_LAT_BOUNDS] = {
    10000,   25000,    50000,    100000,   250000,    500000,    1000000,   2500000,
    5000000, 10000000, 25000000, 50000000, 100000000, 250000000, 500000000, 1000000000,
};
