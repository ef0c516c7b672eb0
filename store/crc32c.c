/* SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <string.h>

#include "crc32c.h"

#define POLY 0x82f63b78u /* reflected Castagnoli polynomial */

static uint32_t table[8][256];
static pthread_once_t table_once = PTHREAD_ONCE_INIT;

static void table_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = c & 1 ? (c >> 1) ^ POLY : c >> 1;
		table[0][i] = c;
	}
	for (uint32_t i = 0; i < 256; i++)
		for (int t = 1; t < 8; t++)
			table[t][i] = (table[t - 1][i] >> 8) ^
				      table[0][table[t - 1][i] & 0xff];
}

/* Slicing-by-8 on the inverted register. */
static uint32_t sw_update(uint32_t c, const uint8_t *p, size_t n)
{
	for (; n >= 8; n -= 8, p += 8) {
		uint32_t lo, hi;

		memcpy(&lo, p, 4);
		memcpy(&hi, p + 4, 4);
		lo ^= c;
		c = table[7][lo & 0xff] ^ table[6][(lo >> 8) & 0xff] ^
		    table[5][(lo >> 16) & 0xff] ^ table[4][lo >> 24] ^
		    table[3][hi & 0xff] ^ table[2][(hi >> 8) & 0xff] ^
		    table[1][(hi >> 16) & 0xff] ^ table[0][hi >> 24];
	}
	while (n--)
		c = (c >> 8) ^ table[0][(c ^ *p++) & 0xff];
	return c;
}

uint32_t ck_crc32c_portable(uint32_t crc, const void *buf, size_t len)
{
	pthread_once(&table_once, table_init);
	return ~sw_update(~crc, buf, len);
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t
hw_update(uint32_t c, const uint8_t *p, size_t n)
{
	uint64_t c64 = c;

	for (; n >= 8; n -= 8, p += 8) {
		uint64_t v;

		memcpy(&v, p, 8);
		c64 = __builtin_ia32_crc32di(c64, v);
	}
	c = (uint32_t)c64;
	while (n--)
		c = __builtin_ia32_crc32qi(c, *p++);
	return c;
}

int ck_crc32c_hw(void)
{
	static int hw = -1; /* a benign race: every thread finds the same */

	if (__atomic_load_n(&hw, __ATOMIC_RELAXED) < 0) {
		__builtin_cpu_init(); /* RocksDB may checksum before main() */
		__atomic_store_n(&hw, __builtin_cpu_supports("sse4.2") ? 1 : 0,
				 __ATOMIC_RELAXED);
	}
	return __atomic_load_n(&hw, __ATOMIC_RELAXED);
}

uint32_t ck_crc32c(uint32_t crc, const void *buf, size_t len)
{
	if (ck_crc32c_hw())
		return ~hw_update(~crc, buf, len);
	return ck_crc32c_portable(crc, buf, len);
}
#else
int ck_crc32c_hw(void)
{
	return 0;
}

uint32_t ck_crc32c(uint32_t crc, const void *buf, size_t len)
{
	return ck_crc32c_portable(crc, buf, len);
}
#endif

/* What RocksDB's calls to rocksdb::crc32c::Extend(unsigned, const char *,
 * unsigned long) become under `ld --wrap` (static builds, crc32c.h). */
uint32_t __wrap__ZN7rocksdb6crc32c6ExtendEjPKcm(uint32_t crc, const char *buf,
						size_t len);
uint32_t __wrap__ZN7rocksdb6crc32c6ExtendEjPKcm(uint32_t crc, const char *buf,
						size_t len)
{
	return ck_crc32c(crc, buf, len);
}
