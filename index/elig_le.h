/* SPDX-License-Identifier: MIT */
#ifndef ELIG_LE_H
#define ELIG_LE_H

#include <stdint.h>

/**
 * @file
 * Little-endian integers in byte buffers, for the on-disk formats (log,
 * snapshots): the same bytes on any host. Inline, pure.
 */

static inline void elig_le16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static inline void elig_le32(uint8_t *p, uint32_t v)
{
    elig_le16(p, (uint16_t)v);
    elig_le16(p + 2, (uint16_t)(v >> 16));
}

static inline void elig_le64(uint8_t *p, uint64_t v)
{
    elig_le32(p, (uint32_t)v);
    elig_le32(p + 4, (uint32_t)(v >> 32));
}

static inline uint16_t elig_rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] | p[1] << 8);
}

static inline uint32_t elig_rd32(const uint8_t *p)
{
    return elig_rd16(p) | (uint32_t)elig_rd16(p + 2) << 16;
}

static inline uint64_t elig_rd64(const uint8_t *p)
{
    return elig_rd32(p) | (uint64_t)elig_rd32(p + 4) << 32;
}

#endif
