/* SPDX-License-Identifier: MIT */
/*
 * elig_seg: the mapped segment file: creation, validation, mapping, the
 * single-writer lock and the header's sequence counter.
 *
 * Design. The segment is a file on tmpfs (default /dev/shm) or hugetlbfs, so
 * it outlives the process that built it: a restarted server re-maps it in
 * milliseconds instead of rebuilding 160M records, and tools map it read-only.
 * Space is reserved with fallocate() at creation, so a full tmpfs or a short
 * huge-page pool fails there, with an error, and never later as SIGBUS.
 *
 * Pages. On hugetlbfs every page is 2 MiB by construction. On tmpfs the
 * mapping is advised MADV_HUGEPAGE; it is reported as THP only when the
 * kernel's shmem policy would honour that advice, so the reported backing is
 * what the kernel does, not what was asked. With pages = HUGE and neither
 * available, creation fails instead of silently using 4 KiB pages.
 *
 * Concurrency. Exactly one writer: the writer holds flock(LOCK_EX) on the
 * file for as long as it has it open, across processes; a second writer gets
 * -EBUSY at once. Readers take no lock. The header's mutable fields are
 * published under a sequence counter (odd while changing): readers copy the
 * header, and retry if the counter moved or was odd, so they never see a torn
 * header and never block the writer. The checksum covers the header with the
 * counter and checksum taken as zero.
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <xxhash.h>

#include "elig_error.h"
#include "elig_seg.h"

_Static_assert(sizeof(struct elig_seg_header) <= ELIG_SEG_HEADER_SIZE, "header fits its page");

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ volatile("yield");
#endif
}

#define HEADER_READ_TRIES 100000 /* about 10 ms of a writer publishing back to back */

struct elig_seg {
    int fd;
    unsigned mode;
    void *base;
    uint64_t size;
    enum elig_seg_backing backing;
    char *path;
};

static struct elig_seg_header *hdr(const struct elig_seg *seg)
{
    return (struct elig_seg_header *)seg->base;
}

static uint64_t header_checksum(const struct elig_seg_header *h)
{
    struct elig_seg_header c = *h;
    c.seq = 0;
    c.checksum = 0;
    return XXH3_64bits(&c, sizeof(c));
}

static bool on_hugetlbfs(int fd)
{
    struct statfs sfs;
    return fstatfs(fd, &sfs) == 0 && sfs.f_type == HUGETLBFS_MAGIC;
}

/* Would the kernel back a MADV_HUGEPAGE tmpfs mapping with huge pages? */
static bool shmem_thp_available(void)
{
    FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/shmem_enabled", "re");
    if (f == NULL)
        return false;
    char line[256] = "";
    bool ok = fgets(line, sizeof(line), f) != NULL;
    fclose(f);
    if (!ok)
        return false;
    return strstr(line, "[always]") || strstr(line, "[within_size]") || strstr(line, "[advise]") ||
           strstr(line, "[force]");
}

/* Decide the backing of a fresh mapping and apply the advice it needs. */
static int choose_backing(struct elig_seg *seg, enum elig_seg_pages pages)
{
    if (on_hugetlbfs(seg->fd)) {
        seg->backing = ELIG_SEG_BACKING_HUGETLB;
        return 0;
    }
    seg->backing = ELIG_SEG_BACKING_SMALL;
    if (pages == ELIG_SEG_PAGES_SMALL)
        return 0;
    if (madvise(seg->base, seg->size, MADV_HUGEPAGE) == 0 && shmem_thp_available())
        seg->backing = ELIG_SEG_BACKING_THP;
    return pages == ELIG_SEG_PAGES_HUGE && seg->backing == ELIG_SEG_BACKING_SMALL
               ? -ELIG_ENOHUGEPAGES
               : 0;
}

static int lock_writer(int fd)
{
    if (flock(fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    return errno == EWOULDBLOCK ? -EBUSY : -errno;
}

static void seg_free(struct elig_seg *seg)
{
    if (seg->base && seg->base != MAP_FAILED)
        munmap(seg->base, seg->size);
    if (seg->fd >= 0)
        close(seg->fd); /* releases the flock */
    free(seg->path);
    free(seg);
}

static struct elig_seg *seg_alloc(const char *path, unsigned mode)
{
    struct elig_seg *seg = calloc(1, sizeof(*seg));
    if (seg == NULL)
        return NULL;
    seg->fd = -1;
    seg->mode = mode;
    seg->path = strdup(path);
    if (seg->path == NULL) {
        free(seg);
        return NULL;
    }
    return seg;
}

int elig_seg_create(const struct elig_seg_params *p, struct elig_seg **out)
{
    if (p->size == 0 || p->capacity == 0 || p->path == NULL)
        return -EINVAL;
    struct elig_seg *seg = seg_alloc(p->path, ELIG_SEG_WRITER);
    if (seg == NULL)
        return -ENOMEM;
    int rc = 0;
    seg->fd = open(p->path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (seg->fd < 0) {
        rc = -errno;
        seg_free(seg);
        return rc;
    }
    bool huge_fs = on_hugetlbfs(seg->fd);
    uint64_t page = huge_fs || p->pages != ELIG_SEG_PAGES_SMALL ? ELIG_SEG_HUGE_PAGE : 4096;
    uint64_t need = p->size < ELIG_SEG_HEADER_SIZE ? ELIG_SEG_HEADER_SIZE : p->size;
    seg->size = (need + page - 1) / page * page;
    if ((rc = lock_writer(seg->fd)) != 0)
        goto fail;
    /* Reserve every page now: a full tmpfs or a short pool fails here, not as SIGBUS later. */
    if ((rc = -posix_fallocate(seg->fd, 0, (off_t)seg->size)) != 0) {
        if (huge_fs && (rc == -ENOSPC || rc == -ENOMEM))
            rc = -ELIG_ENOHUGEPAGES;
        goto fail;
    }
    seg->base = mmap(NULL, seg->size, PROT_READ | PROT_WRITE, MAP_SHARED, seg->fd, 0);
    if (seg->base == MAP_FAILED) {
        rc = huge_fs && errno == ENOMEM ? -ELIG_ENOHUGEPAGES : -errno;
        goto fail;
    }
    if ((rc = choose_backing(seg, p->pages)) != 0)
        goto fail;
    struct elig_seg_header *h = hdr(seg);
    memset(h, 0, ELIG_SEG_HEADER_SIZE);
    memcpy(h->magic, ELIG_SEG_MAGIC, sizeof(h->magic));
    h->layout_version = p->layout_version;
    h->header_size = ELIG_SEG_HEADER_SIZE;
    h->segment_size = seg->size;
    h->capacity = p->capacity;
    h->state = ELIG_SEG_DIRTY;
    h->backing = seg->backing;
    h->created_unix = (uint64_t)time(NULL);
    if (p->store_id)
        memcpy(h->store_id, p->store_id, sizeof h->store_id);
    h->checksum = header_checksum(h);
    *out = seg;
    return 0;
fail:
    unlink(p->path);
    seg_free(seg);
    return rc;
}

/* No live writer holds the lock: true for the writer itself, else probed with a shared lock. */
static bool writer_gone(const struct elig_seg *seg)
{
    if (seg->mode == ELIG_SEG_WRITER)
        return true;
    if (flock(seg->fd, LOCK_SH | LOCK_NB) != 0)
        return false;
    flock(seg->fd, LOCK_UN);
    return true;
}

int elig_seg_header_read(const struct elig_seg *seg, struct elig_seg_header *out)
{
    const struct elig_seg_header *h = hdr(seg);
    uint64_t first = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE), s1 = first;
    for (int i = 0; i < HEADER_READ_TRIES; i++) {
        s1 = __atomic_load_n(&h->seq, __ATOMIC_ACQUIRE);
        if (s1 & 1) {
            cpu_relax();
            continue;
        }
        memcpy(out, h, sizeof(*out));
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&h->seq, __ATOMIC_RELAXED) != s1)
            continue;
        return header_checksum(out) == out->checksum ? 0 : -ELIG_ESEGCHECKSUM;
    }
    /* Odd and unmoved all along with no writer alive: one died mid-publish. The checksum,
     * which excludes the counter, then says whether what it left is whole. */
    if ((s1 & 1) && s1 == first && writer_gone(seg)) {
        memcpy(out, h, sizeof(*out));
        return header_checksum(out) == out->checksum ? 0 : -ELIG_ESEGCHECKSUM;
    }
    return -EAGAIN;
}

/* The fields that say what a header is: magic, then layout version and header size. */
static int header_identity(const struct elig_seg_header *h, uint32_t layout_version)
{
    if (memcmp(h->magic, ELIG_SEG_MAGIC, sizeof(h->magic)) != 0)
        return -ELIG_ESEGMAGIC;
    if (h->layout_version != layout_version || h->header_size != ELIG_SEG_HEADER_SIZE)
        return -ELIG_ESEGVERSION;
    return 0;
}

int elig_seg_header_parse(const void *page, uint32_t layout_version, struct elig_seg_header *out)
{
    memcpy(out, page, sizeof *out);
    int rc = header_identity(out, layout_version);
    if (rc == 0 && header_checksum(out) != out->checksum)
        rc = -ELIG_ESEGCHECKSUM;
    return rc;
}

void elig_seg_header_publish(struct elig_seg *seg, const struct elig_seg_header *in)
{
    struct elig_seg_header *h = hdr(seg);
    /* Odd while publishing; "| 1" also restores parity after a writer that died mid-publish. */
    uint64_t begin = h->seq | 1;
    __atomic_store_n(&h->seq, begin, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    h->count = in->count;
    h->applied_lsn = in->applied_lsn;
    h->state = in->state;
    memcpy(h->regions, in->regions, sizeof(h->regions));
    h->checksum = header_checksum(h);
    __atomic_store_n(&h->seq, begin + 1, __ATOMIC_RELEASE);
}

static int validate(struct elig_seg *seg, uint32_t layout_version, uint64_t file_size)
{
    int rc = header_identity(hdr(seg), layout_version);
    if (rc)
        return rc;
    struct elig_seg_header h;
    rc = elig_seg_header_read(seg, &h);
    if (rc)
        return rc;
    if (h.segment_size != file_size)
        return -ELIG_ESEGSIZE;
    return 0;
}

int elig_seg_open(const char *path, unsigned mode, uint32_t layout_version, struct elig_seg **out)
{
    bool writer = mode & ELIG_SEG_WRITER;
    struct elig_seg *seg = seg_alloc(path, writer ? ELIG_SEG_WRITER : ELIG_SEG_READONLY);
    if (seg == NULL)
        return -ENOMEM;
    int rc = 0;
    struct stat st;
    seg->fd = open(path, (writer ? O_RDWR : O_RDONLY) | O_CLOEXEC);
    if (seg->fd < 0 || fstat(seg->fd, &st) != 0) {
        rc = -errno;
        goto fail;
    }
    if (writer && (rc = lock_writer(seg->fd)) != 0)
        goto fail;
    if (st.st_size < ELIG_SEG_HEADER_SIZE) {
        rc = -ELIG_ESEGSIZE;
        goto fail;
    }
    seg->size = (uint64_t)st.st_size;
    seg->base =
        mmap(NULL, seg->size, writer ? PROT_READ | PROT_WRITE : PROT_READ, MAP_SHARED, seg->fd, 0);
    if (seg->base == MAP_FAILED) {
        rc = -errno;
        goto fail;
    }
    if ((rc = validate(seg, layout_version, seg->size)) != 0)
        goto fail;
    enum elig_seg_pages pages =
        hdr(seg)->backing == ELIG_SEG_BACKING_SMALL ? ELIG_SEG_PAGES_SMALL : ELIG_SEG_PAGES_AUTO;
    if ((rc = choose_backing(seg, pages)) != 0)
        goto fail;
    if (writer) {
        struct elig_seg_header h = *hdr(seg);
        h.state = ELIG_SEG_DIRTY;
        elig_seg_header_publish(seg, &h);
    }
    *out = seg;
    return 0;
fail:
    seg_free(seg);
    return rc;
}

void elig_seg_close(struct elig_seg *seg, bool clean)
{
    if (seg == NULL)
        return;
    if (seg->mode == ELIG_SEG_WRITER && clean && hdr(seg)->state != ELIG_SEG_REPLACED) {
        struct elig_seg_header h = *hdr(seg);
        h.state = ELIG_SEG_CLEAN;
        elig_seg_header_publish(seg, &h);
    }
    seg_free(seg);
}

void elig_seg_retire(struct elig_seg *seg)
{
    struct elig_seg_header h = *hdr(seg);
    h.state = ELIG_SEG_REPLACED;
    elig_seg_header_publish(seg, &h);
}

void *elig_seg_base(const struct elig_seg *seg)
{
    return seg->base;
}

uint64_t elig_seg_size(const struct elig_seg *seg)
{
    return seg->size;
}

enum elig_seg_backing elig_seg_backing(const struct elig_seg *seg)
{
    return seg->backing;
}

const char *const elig_seg_pages_names[] = { [ELIG_SEG_PAGES_AUTO] = "auto",
                                             [ELIG_SEG_PAGES_SMALL] = "small",
                                             [ELIG_SEG_PAGES_HUGE] = "huge",
                                             NULL };

const char *elig_seg_backing_name(enum elig_seg_backing backing)
{
    switch (backing) {
    case ELIG_SEG_BACKING_THP:
        return "2MiB-thp";
    case ELIG_SEG_BACKING_HUGETLB:
        return "2MiB-hugetlbfs";
    default:
        return "4KiB";
    }
}

int elig_seg_rename(struct elig_seg *seg, const char *path)
{
    char *copy = strdup(path);
    if (copy == NULL)
        return -ENOMEM;
    if (rename(seg->path, path) != 0) {
        int rc = -errno;
        free(copy);
        return rc;
    }
    free(seg->path);
    seg->path = copy;
    return 0;
}
