/* SPDX-License-Identifier: MIT */
/*
 * fuzz_snap: libFuzzer harness for the snapshot checker and loader.
 *
 * The first input byte picks the form of the rest:
 *   even: the rest is a whole snapshot file of either format (the corpus holds
 *         images of the harness's own layout), as a damaged disk would leave it;
 *   odd:  the rest is the entries of one (type u8, length u32, bytes), and
 *         the harness puts a valid header and trailer around them (counts per
 *         type, CRC32C of the entries), so that the checksums pass and the
 *         loader's own structure checks are what is explored.
 * The file is checked and, if that passes, loaded into a small empty index:
 * neither may crash, leak or read outside what it read; a file the checker
 * refuses must be refused by the loader too, with nothing loaded.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "elig_crc32c.h"
#include "elig_error.h"
#include "elig_index.h"
#include "elig_le.h"
#include "elig_snap.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The snapshot format (index/elig_snap.h): header, entries, trailer. */
#define HEADER  64
#define TRAILER 20

static void wrap(const uint8_t *entries, size_t n, FILE *f)
{
    uint64_t count[4] = { 0 }, total = 0;
    uint32_t crc = 0;
    for (size_t off = 0; n - off >= 5;) {
        uint32_t len = elig_rd32(entries + off + 1);
        if (len > n - off - 5)
            break;
        count[entries[off] & 3]++;
        total++;
        off += 5 + len;
    }
    crc = elig_crc32c(0, entries, n);
    uint8_t h[HEADER] = { 0 }, t[TRAILER];
    memcpy(h, "ELIGSNP1", 8);
    elig_le32(h + 8, 1);
    elig_le32(h + 12, HEADER);
    elig_le64(h + 16, 1 + n % 1000); /* LSN */
    elig_le64(h + 24, count[1] + count[0]);
    elig_le64(h + 32, count[2]);
    elig_le64(h + 40, count[3]);
    elig_le32(h + 60, elig_crc32c(0, h, 60));
    memcpy(t, "ELIGEND1", 8);
    elig_le64(t + 8, total);
    elig_le32(t + 16, crc);
    fwrite(h, 1, sizeof h, f);
    fwrite(entries, 1, n, f);
    fwrite(t, 1, sizeof t, f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    char path[64], seg[64];
    snprintf(path, sizeof path, "/dev/shm/fuzz-snap-%d.els", (int)getpid());
    snprintf(seg, sizeof seg, "/dev/shm/fuzz-snap-%d.seg", (int)getpid());
    FILE *f = fopen(path, "wb");
    if (!f)
        return 0;
    if (data[0] & 1)
        wrap(data + 1, size - 1, f);
    else
        fwrite(data + 1, 1, size - 1, f);
    fclose(f);

    struct elig_snap_info info;
    int checked = elig_snap_check(path, &info);
    struct elig_index_params p = {
        .path = seg, .capacity = 256, .persons = 256, .cards = 128, .names = 256, .key_strings = 256
    };
    struct elig_index *ix = NULL;
    unlink(seg);
    if (elig_index_create(&p, &ix) == 0) {
        int loaded = elig_snap_load(path, ix, &info);
        if (checked != 0 && loaded == 0)
            abort(); /* the loader took what the checker refused */
        if (loaded == -ELIG_ESNAPSHOT) {
            struct elig_index_stats st;
            elig_index_stats(ix, &st);
            if (checked != 0 && st.records != 0)
                abort(); /* refused, yet something was loaded */
        }
        elig_index_close(ix, false);
    }
    unlink(seg);
    unlink(path);
    return 0;
}
