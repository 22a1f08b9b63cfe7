/* SPDX-License-Identifier: MIT */
#ifndef ELIG_CRC32C_H
#define ELIG_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/**
 * @file
 * CRC-32C (Castagnoli polynomial), as iSCSI, ext4 and most write-ahead logs
 * use: strong on the short bursts a torn write leaves, and one instruction
 * per 8 bytes on x86-64 with SSE4.2.
 */

/**
 * Extend crc over data[0..len). Start with 0; the result of one call may be
 * passed as crc to the next to checksum data in pieces. elig_crc32c(0,
 * "123456789", 9) is 0xE3069283. Pure and thread-safe.
 */
uint32_t elig_crc32c(uint32_t crc, const void *data, size_t len);

/** The same, always by table (for tests that compare it with the CPU's instruction). */
uint32_t elig_crc32c_sw(uint32_t crc, const void *data, size_t len);

#endif
