/* SPDX-License-Identifier: MIT */
/*
 * test-crc32c.c - ck_crc32c() against the standard's test vectors
 * (RFC 3720, B.4) and the instruction path against the table path on
 * random data cut at random points, as RocksDB extends a CRC piece by
 * piece.
 */
#include "crc32c.h"
#include "testlib.h"

static void test_vectors(void)
{
	static const uint8_t zeros[32], ones[32] = {
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	uint8_t inc[32], dec[32];

	for (int i = 0; i < 32; i++) {
		inc[i] = (uint8_t)i;
		dec[i] = (uint8_t)(31 - i);
	}
	for (int k = 0; k < 2; k++) {
		uint32_t (*f)(uint32_t, const void *, size_t) =
			k ? ck_crc32c_portable : ck_crc32c;

		CK_ASSERT_EQ(f(0, "123456789", 9), 0xe3069283u);
		CK_ASSERT_EQ(f(0, zeros, 32), 0x8a9136aau);
		CK_ASSERT_EQ(f(0, ones, 32), 0x62a8ab43u);
		CK_ASSERT_EQ(f(0, inc, 32), 0x46dd794eu);
		CK_ASSERT_EQ(f(0, dec, 32), 0x113fdb5cu);
		CK_ASSERT_EQ(f(0, "", 0), 0);
		/* Extending equals computing at once. */
		CK_ASSERT_EQ(f(f(0, "1234", 4), "56789", 5), 0xe3069283u);
	}
}

static void test_paths_agree(void)
{
	static uint8_t buf[70000];
	unsigned seed = 12345;

	for (size_t i = 0; i < sizeof(buf); i++) {
		seed = seed * 1103515245 + 12345;
		buf[i] = (uint8_t)(seed >> 16);
	}
	for (int r = 0; r < 500; r++) {
		size_t off, len, cut;
		uint32_t a, b;

		seed = seed * 1103515245 + 12345;
		off = (seed >> 8) % 4096;
		seed = seed * 1103515245 + 12345;
		len = (seed >> 8) % (sizeof(buf) - 4096);
		seed = seed * 1103515245 + 12345;
		cut = len ? (seed >> 8) % len : 0;
		a = ck_crc32c(ck_crc32c(7, buf + off, cut), buf + off + cut,
			      len - cut);
		b = ck_crc32c_portable(7, buf + off, len);
		CK_ASSERT_EQ(a, b);
	}
}

int main(void)
{
	test_vectors();
	test_paths_agree();
	printf("crc32c: %s path\n", ck_crc32c_hw() ? "instruction" : "table");
	return 0;
}
