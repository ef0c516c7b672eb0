/* SPDX-License-Identifier: MIT */
#include "chunk.h"
#include "compress.h"
#include "testlib.h"

static void fill(uint8_t *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = (uint8_t)(i % 64 < 48 ? 'a' + i % 7 : seed >> 16);
	}
}

static void test_round_trip(void)
{
	uint8_t in[4096], out[4096], z[8192];
	size_t zl = 0;

	fill(in, sizeof(in), 1);
	CK_ASSERT(ck_compress(3, in, sizeof(in), NULL, 0, z, sizeof(z), &zl) ==
		  0);
	CK_ASSERT(zl < sizeof(in));
	CK_ASSERT(ck_decompress(z, zl, NULL, 0, out, sizeof(out)) == 0);
	CK_ASSERT(memcmp(in, out, sizeof(in)) == 0);
	/* Wrong expected size is an error, not a short read. */
	CK_ASSERT(ck_decompress(z, zl, NULL, 0, out, 100) == -EBADMSG);
	/* A damaged frame is -EBADMSG. */
	z[zl / 2] ^= 0xff;
	z[1] ^= 0xff;
	CK_ASSERT(ck_decompress(z, zl, NULL, 0, out, sizeof(out)) < 0);
}

static void test_prefix_delta(void)
{
	uint8_t base[4096], page[4096], out[4096], z[8192];
	size_t plain = 0, delta = 0;

	fill(base, sizeof(base), 2);
	memcpy(page, base, sizeof(page));
	page[100] ^= 1;
	page[3000] ^= 0x55;
	CK_ASSERT(ck_compress(3, page, 4096, NULL, 0, z, sizeof(z), &plain) ==
		  0);
	CK_ASSERT(ck_compress(3, page, 4096, base, 4096, z, sizeof(z),
			      &delta) == 0);
	/* Two changed bytes against the base cost a few dozen bytes. */
	CK_ASSERT(delta < 64);
	CK_ASSERT(delta < plain);
	CK_ASSERT(ck_decompress(z, delta, base, 4096, out, 4096) == 0);
	CK_ASSERT(memcmp(out, page, 4096) == 0);
	/* Without (or with the wrong) base the delta does not decode to the
	 * page. */
	base[2000] ^= 0xff;
	CK_ASSERT(ck_decompress(z, delta, base, 4096, out, 4096) != 0 ||
		  memcmp(out, page, 4096) != 0);
}

static void test_chunk_header(void)
{
	uint8_t rec[64] = { 0 };
	struct ck_chunk_hdr h = { .enc = CK_ENC_DELTA, .depth = 2,
				  .raw_len = 4096 }, g;
	size_t n;

	memset(h.base.b, 0xab, sizeof(h.base.b));
	n = ck_chunk_write_hdr(&h, rec);
	CK_ASSERT(n == CK_CHUNK_HDR_DELTA);
	CK_ASSERT(ck_chunk_parse(rec, n + 10, &g) == 0);
	CK_ASSERT(g.enc == CK_ENC_DELTA && g.depth == 2 && g.raw_len == 4096);
	CK_ASSERT(memcmp(g.base.b, h.base.b, 16) == 0);
	CK_ASSERT(g.body_off == CK_CHUNK_HDR_DELTA);
	/* Malformed headers. */
	CK_ASSERT(ck_chunk_parse(rec, 4, &g) == -EBADMSG);
	CK_ASSERT(ck_chunk_parse(rec, n, &g) == -EBADMSG); /* no body */
	rec[2] = CK_DELTA_MAX_DEPTH + 1;
	CK_ASSERT(ck_chunk_parse(rec, n + 10, &g) == -EBADMSG);
	rec[2] = 2;
	rec[1] = 9;
	CK_ASSERT(ck_chunk_parse(rec, n + 10, &g) == -EBADMSG);
	rec[1] = CK_ENC_RAW;
	rec[2] = 0;
	/* raw records must hold exactly raw_len bytes */
	CK_ASSERT(ck_chunk_parse(rec, CK_CHUNK_HDR + 10, &g) == -EBADMSG);
	rec[0] = 7;
	CK_ASSERT(ck_chunk_parse(rec, n + 10, &g) == -EBADMSG);
}

int main(void)
{
	test_round_trip();
	test_prefix_delta();
	test_chunk_header();
	ck_compress_thread_exit();
	return 0;
}
