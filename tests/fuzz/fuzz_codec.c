/* SPDX-License-Identifier: MIT */
/*
 * fuzz_codec: libFuzzer harness for the event codec (the form events take
 * in the log, in snapshots and in ADMIN_APPEND).
 *
 * The input is one encoded event. Decoding must never read outside it; what
 * decodes must encode, and decoding that encoding must give an event that
 * encodes to the same bytes (the codec has one form for each event).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "elig_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *copy = malloc(size ? size : 1); /* exactly its size: an overread is caught */
    memcpy(copy, data, size);
    struct elig_event ev, back;
    if (elig_event_decode(copy, size, &ev) == 0) {
        uint8_t a[ELIG_EVENT_WIRE_MAX], b[ELIG_EVENT_WIRE_MAX];
        int la = elig_event_encode(&ev, a, sizeof a);
        if (la < 0 || elig_event_decode(a, (size_t)la, &back) != 0)
            abort();
        int lb = elig_event_encode(&back, b, sizeof b);
        if (lb != la || memcmp(a, b, (size_t)la) != 0)
            abort();
    }
    free(copy);
    return 0;
}
