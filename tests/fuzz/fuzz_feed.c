/* SPDX-License-Identifier: MIT */
/*
 * fuzz_feed: libFuzzer harness for the insurer feed parser.
 *
 * The input is a feed file. It is read whole through elig_feed_read_fd()
 * (from a memfd, as a file would be), and each line also through
 * elig_feed_parse_line(): both must agree line for line (the reader's event
 * and reject counts add up to the lines it saw), never read outside the
 * line, and every event accepted must go through the event codec and back
 * unchanged (encode, decode, encode gives the same bytes): what the feed
 * accepts, the log can hold.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "elig_codec.h"
#include "elig_feed.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void roundtrip(const struct elig_event *ev)
{
    uint8_t a[ELIG_EVENT_WIRE_MAX], b[ELIG_EVENT_WIRE_MAX];
    struct elig_event back;
    int la = elig_event_encode(ev, a, sizeof a);
    if (la < 0)
        abort(); /* the parser accepted what the log cannot hold */
    if (elig_event_decode(a, (size_t)la, &back) != 0)
        abort();
    int lb = elig_event_encode(&back, b, sizeof b);
    if (lb != la || memcmp(a, b, (size_t)la) != 0)
        abort();
}

struct counts {
    uint64_t events, rejects;
};

static int on_event(void *ctx, const struct elig_event *ev, const char *path, uint64_t line)
{
    (void)path;
    (void)line;
    ((struct counts *)ctx)->events++;
    roundtrip(ev);
    return 0;
}

static void on_reject(void *ctx, const char *path, uint64_t line, const struct elig_feed_error *err)
{
    (void)path;
    (void)line;
    if (err->code >= 0 || err->field == NULL)
        abort();
    ((struct counts *)ctx)->rejects++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* line by line, each in a buffer of its own size: an overread is caught */
    for (size_t off = 0; off < size;) {
        const uint8_t *nl = memchr(data + off, '\n', size - off);
        size_t len = nl ? (size_t)(nl - (data + off)) : size - off;
        char *line = malloc(len ? len : 1);
        memcpy(line, data + off, len);
        struct elig_event ev;
        struct elig_feed_error err;
        int rc = elig_feed_parse_line(line, len, &ev, &err);
        if (rc == 1)
            roundtrip(&ev);
        else if (rc < 0 && err.field == NULL)
            abort();
        free(line);
        off += len + 1;
    }
    /* the whole file through the reader */
    int fd = memfd_create("feed", MFD_CLOEXEC);
    if (fd < 0)
        return 0;
    if (size && write(fd, data, size) != (ssize_t)size) {
        close(fd);
        return 0;
    }
    lseek(fd, 0, SEEK_SET);
    struct counts c = { 0, 0 };
    struct elig_feed_stats st;
    if (elig_feed_read_fd(fd, "fuzz.feed", on_event, on_reject, &c, &st) == 0 &&
        (st.accepted != c.events || st.rejected != c.rejects ||
         st.accepted + st.rejected > st.lines))
        abort();
    close(fd);
    return 0;
}
