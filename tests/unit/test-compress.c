/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

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

/* Pages of one kind: a shared layout (structures with the same field
 * names and small counters) and per-page noise, as heap pages are. */
static void fill_page(uint8_t *p, unsigned seed)
{
	static const char *const words[] = { "ob_refcnt", "ob_type",
					     "tp_name", "__dict__",
					     "co_code", "f_locals" };

	for (size_t i = 0; i < 4096; i += 32) {
		seed = seed * 1103515245 + 12345;
		memset(p + i, 0, 32);
		memcpy(p + i, words[(seed >> 16) % 6],
		       strlen(words[(seed >> 16) % 6]));
		p[i + 24] = (uint8_t)(seed >> 8);
		p[i + 28] = (uint8_t)(i >> 5);
	}
}

static void test_dictionary(void)
{
	enum { N = CK_ZDICT_MAX_SAMPLES };
	uint8_t *samples = malloc((size_t)N * 4096);
	uint8_t *dict = malloc(CK_ZDICT_SIZE);
	uint8_t page[4096], out[4096], z[8192];
	size_t dl = 0, alone = 0, with = 0, zl = 0;
	struct ck_zdict *d = NULL;

	CK_ASSERT(samples && dict);
	for (unsigned i = 0; i < N; i++)
		fill_page(samples + (size_t)i * 4096, i);
	/* Too few samples: no dictionary. */
	CK_ASSERT(ck_zdict_train(samples, CK_ZDICT_MIN_SAMPLES - 1, 4096, 3,
				 dict, CK_ZDICT_SIZE, &dl) == -EINVAL);
	CK_ASSERT(ck_zdict_train(samples, N, 4096, 3, dict, CK_ZDICT_SIZE,
				 &dl) == 0);
	CK_ASSERT(dl > 0 && dl <= CK_ZDICT_SIZE);
	CK_ASSERT(ck_zdict_new(dict, dl, 3, &d) == 0);
	/* A page the dictionary has not seen, of the same kind, compresses
	 * smaller with it and decodes back to itself. */
	fill_page(page, 99999);
	CK_ASSERT(ck_compress(3, page, 4096, NULL, 0, z, sizeof(z), &alone) ==
		  0);
	CK_ASSERT(ck_compress_dict(d, page, 4096, z, sizeof(z), &with) == 0);
	CK_ASSERT(with < alone);
	CK_ASSERT(ck_decompress_dict(d, z, with, out, 4096) == 0);
	CK_ASSERT(memcmp(out, page, 4096) == 0);
	CK_ASSERT(ck_decompress_dict(d, z, with, out, 100) == -EBADMSG);
	/* Without the dictionary the frame does not decode to the page. */
	CK_ASSERT(ck_decompress(z, with, NULL, 0, out, 4096) != 0 ||
		  memcmp(out, page, 4096) != 0);
	/* The dictionary does not stick to the context: the next plain
	 * frame decodes without it. */
	CK_ASSERT(ck_compress(3, page, 4096, NULL, 0, z, sizeof(z), &zl) == 0);
	CK_ASSERT(zl == alone);
	CK_ASSERT(ck_decompress(z, zl, NULL, 0, out, 4096) == 0);
	CK_ASSERT(memcmp(out, page, 4096) == 0);
	/* Output that does not fit is -ENOSPC, and the context recovers. */
	CK_ASSERT(ck_compress_dict(d, page, 4096, z, 8, &with) == -ENOSPC);
	CK_ASSERT(ck_compress(3, page, 4096, NULL, 0, z, sizeof(z), &zl) == 0);
	CK_ASSERT(zl == alone);
	CK_ASSERT(ck_compress_dict(d, page, 4096, z, sizeof(z), &with) == 0);
	CK_ASSERT(ck_decompress_dict(d, z, with, out, 4096) == 0);
	CK_ASSERT(memcmp(out, page, 4096) == 0);
	/* Bytes that are not a trained dictionary are refused. */
	memset(dict, 'x', 64);
	d = ck_zdict_free(d);
	CK_ASSERT(ck_zdict_new(dict, 64, 3, &d) == -EBADMSG && !d);
	free(samples);
	free(dict);
}

int main(void)
{
	test_round_trip();
	test_prefix_delta();
	test_chunk_header();
	test_dictionary();
	ck_compress_thread_exit();
	return 0;
}
