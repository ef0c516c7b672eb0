/* SPDX-License-Identifier: MIT */
#include "id.h"
#include "testlib.h"

static struct ck_hasher h1, h2;

static void test_hex_round_trip(void)
{
	struct ck_id a, b;
	char hex[CK_ID_HEX_SIZE];

	ck_id_compute(&h1, "abc", 3, &a);
	ck_id_to_hex(&a, hex);
	CK_ASSERT(strlen(hex) == 32);
	CK_ASSERT(ck_id_from_hex(hex, &b) == 0);
	CK_ASSERT(ck_id_equal(&a, &b));
}

static void test_rejects_garbage(void)
{
	struct ck_id x;

	CK_ASSERT(ck_id_from_hex("", &x) == -EINVAL);
	CK_ASSERT(ck_id_from_hex("not-hex", &x) == -EINVAL);
	CK_ASSERT(ck_id_from_hex("0123456789abcdef0123456789abcdeg", &x) ==
		  -EINVAL);
	CK_ASSERT(ck_id_from_hex("0123456789abcdef0123456789abcdef0", &x) ==
		  -EINVAL);
}

static void test_keyed(void)
{
	struct ck_id a, b, c;

	/* The same bytes under two secrets get unrelated IDs; under one
	 * secret the ID is a function of the bytes. */
	ck_id_compute(&h1, "page", 4, &a);
	ck_id_compute(&h2, "page", 4, &b);
	ck_id_compute(&h1, "page", 4, &c);
	CK_ASSERT(!ck_id_equal(&a, &b));
	CK_ASSERT(ck_id_equal(&a, &c));
	ck_id_compute(&h1, "pagf", 4, &c);
	CK_ASSERT(!ck_id_equal(&a, &c));
	CK_ASSERT(!ck_id_is_zero(&a));
}

static void test_zero(void)
{
	static uint8_t page[4096];

	CK_ASSERT(ck_is_zero(page, sizeof(page)));
	page[4095] = 1;
	CK_ASSERT(!ck_is_zero(page, sizeof(page)));
	page[4095] = 0;
	page[0] = 1;
	CK_ASSERT(!ck_is_zero(page, sizeof(page)));
	CK_ASSERT(!ck_is_zero(page, 1));
	CK_ASSERT(ck_is_zero(page + 1, 13));
}

int main(void)
{
	for (size_t i = 0; i < CK_ID_SECRET_SIZE; i++) {
		h1.secret[i] = (uint8_t)(i * 7 + 1);
		h2.secret[i] = (uint8_t)(i * 13 + 5);
	}
	test_hex_round_trip();
	test_rejects_garbage();
	test_keyed();
	test_zero();
	return 0;
}
