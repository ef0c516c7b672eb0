/* SPDX-License-Identifier: MIT */
/*
 * endian.h - fixed-width integer encoding for on-disk keys and records.
 * Keys use big-endian so that RocksDB's bytewise order is numeric order;
 * values use little-endian (as RocksDB's uint64add merge operator does).
 */
#pragma once

#include <stdint.h>

static inline void ck_put_be32(void *d, uint32_t v)
{
	uint8_t *p = d;

	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static inline uint32_t ck_get_be32(const void *s)
{
	const uint8_t *p = s;

	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static inline void ck_put_be64(void *d, uint64_t v)
{
	ck_put_be32(d, (uint32_t)(v >> 32));
	ck_put_be32((uint8_t *)d + 4, (uint32_t)v);
}

static inline uint64_t ck_get_be64(const void *s)
{
	return (uint64_t)ck_get_be32(s) << 32 |
	       ck_get_be32((const uint8_t *)s + 4);
}

static inline void ck_put_le32(void *d, uint32_t v)
{
	uint8_t *p = d;

	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}

static inline uint32_t ck_get_le32(const void *s)
{
	const uint8_t *p = s;

	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 |
	       (uint32_t)p[1] << 8 | p[0];
}

static inline void ck_put_le64(void *d, uint64_t v)
{
	ck_put_le32(d, (uint32_t)v);
	ck_put_le32((uint8_t *)d + 4, (uint32_t)(v >> 32));
}

static inline uint64_t ck_get_le64(const void *s)
{
	return (uint64_t)ck_get_le32((const uint8_t *)s + 4) << 32 |
	       ck_get_le32(s);
}
