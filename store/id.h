/* SPDX-License-Identifier: MIT */
/*
 * id.h - chunk identifiers: keyed XXH3-128 over the chunk's raw bytes.
 *
 * Format: 16 bytes, xxhash's canonical (big-endian) form of
 * XXH3_128bits_withSecret(data, len, secret), both on disk and on the wire;
 * hex is 32 lowercase digits. The secret (CK_ID_SECRET_SIZE random bytes)
 * is created at repository init and never leaves the repository: without
 * it nobody can construct two inputs with the same ID.
 *
 * The all-zero ID is reserved: it names a chunk of zero bytes (a zero
 * page), which is never stored. ck_id_compute() never returns it (in the
 * astronomically unlikely case that the hash is all zero, the last byte is
 * set to 1, which only costs dedup for that one input).
 *
 * Threads: pure functions.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CK_ID_SIZE 16
#define CK_ID_HEX_SIZE (2 * CK_ID_SIZE + 1)
#define CK_ID_SECRET_SIZE 192

struct ck_id {
	uint8_t b[CK_ID_SIZE];
};

struct ck_hasher {
	uint8_t secret[CK_ID_SECRET_SIZE];
};

void ck_id_compute(const struct ck_hasher *h, const void *data, size_t len,
		   struct ck_id *ret);

/* Inline: the hash tables of a push compare and test IDs millions of
 * times (as out-of-line memcmp() calls they were ~4 % of its CPU). */
static inline void ck_id_words(const struct ck_id *id, uint64_t w[2])
{
	__builtin_memcpy(w, id->b, CK_ID_SIZE);
}

static inline bool ck_id_equal(const struct ck_id *a, const struct ck_id *b)
{
	uint64_t x[2], y[2];

	ck_id_words(a, x);
	ck_id_words(b, y);
	return ((x[0] ^ y[0]) | (x[1] ^ y[1])) == 0;
}

static inline bool ck_id_is_zero(const struct ck_id *id)
{
	uint64_t x[2];

	ck_id_words(id, x);
	return (x[0] | x[1]) == 0;
}
/* Writes CK_ID_HEX_SIZE bytes including the NUL; returns @hex. */
char *ck_id_to_hex(const struct ck_id *id, char *hex);
int ck_id_from_hex(const char *hex, struct ck_id *ret);
/* A 64-bit value taken from the ID, for hash tables. */
static inline uint64_t ck_id_hash64(const struct ck_id *id)
{
	uint64_t v;

	__builtin_memcpy(&v, id->b + 8, sizeof(v));
	return v;
}
/* True if all @len bytes at @p are zero. */
bool ck_is_zero(const void *p, size_t len);
