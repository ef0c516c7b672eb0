/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#define XXH_INLINE_ALL
#include <xxhash.h>

#include "id.h"

void ck_id_compute(const struct ck_hasher *h, const void *data, size_t len,
		   struct ck_id *ret)
{
	XXH128_hash_t v;
	XXH128_canonical_t c;

	v = XXH3_128bits_withSecret(data, len, h->secret, sizeof(h->secret));
	XXH128_canonicalFromHash(&c, v);
	memcpy(ret->b, c.digest, CK_ID_SIZE);
	if (ck_id_is_zero(ret))
		ret->b[CK_ID_SIZE - 1] = 1;
}

char *ck_id_to_hex(const struct ck_id *id, char *hex)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < CK_ID_SIZE; i++) {
		hex[2 * i] = digits[id->b[i] >> 4];
		hex[2 * i + 1] = digits[id->b[i] & 15];
	}
	hex[2 * CK_ID_SIZE] = 0;
	return hex;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ck_id_from_hex(const char *hex, struct ck_id *ret)
{
	struct ck_id id;

	if (!hex || strlen(hex) != 2 * CK_ID_SIZE)
		return -EINVAL;
	for (size_t i = 0; i < CK_ID_SIZE; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return -EINVAL;
		id.b[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = id;
	return 0;
}

bool ck_is_zero(const void *p, size_t len)
{
	const uint8_t *b = p;
	uint64_t acc = 0;
	size_t i = 0;

	/* Word-at-a-time, with an early exit per 64 bytes: pages that are not
	 * zero usually differ in the first cache line. */
	for (; i + 64 <= len; i += 64) {
		uint64_t w[8];

		memcpy(w, b + i, 64);
		acc = w[0] | w[1] | w[2] | w[3] | w[4] | w[5] | w[6] | w[7];
		if (acc)
			return false;
	}
	for (; i < len; i++)
		if (b[i])
			return false;
	return true;
}
