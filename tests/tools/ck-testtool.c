/* SPDX-License-Identifier: MIT */
/*
 * ck-testtool - what integration tests need that the CLI must not offer:
 *   ck-testtool hold REPO                 hold the repository until killed
 *   ck-testtool corrupt REPO [N]          flip one byte in the body of the
 *                                         N-th stored chunk (default 0);
 *                                         prints its ID
 *   ck-testtool chunk-of REPO CTR VER FILE INDEX
 *                                         print the ID of a file's chunk
 *   ck-testtool corrupt-id REPO ID        flip one byte of chunk ID's body
 *   ck-testtool dict REPO                 print the format, the size of
 *                                         the zstd dictionary (0: none)
 *                                         and a hash of its bytes
 *   ck-testtool corrupt-dict REPO [head]  flip one byte of the dictionary's
 *                                         content (head: of its magic)
 *   ck-testtool init-format1 REPO         create a repository as builds
 *                                         before format 2 did
 *   ck-testtool set-format REPO N         write meta.format N (a newer
 *                                         build's repository)
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "catalog.h"
#include "repo.h"

static int corrupt(struct ck_repo *r, const struct ck_id *id)
{
	struct ck_catalog *c = ck_repo_catalog(r);
	struct ck_batch *b;
	void *rec = NULL;
	size_t len = 0;
	char hex[CK_ID_HEX_SIZE];
	int q;

	q = ck_catalog_get(c, CK_CF_CHUNKS, id->b, CK_ID_SIZE, &rec, &len);
	if (q < 0)
		return q;
	((unsigned char *)rec)[len - 1] ^= 0x20;
	b = ck_batch_new(c);
	ck_batch_put(b, CK_CF_CHUNKS, id->b, CK_ID_SIZE, rec, len);
	q = ck_catalog_write(c, b, true);
	ck_batch_free(b);
	free(rec);
	if (q == 0)
		printf("%s\n", ck_id_to_hex(id, hex));
	return q;
}

/* Writes meta.format @fmt into the open repository @r (what a build of
 * another format would find there). */
static int put_format(struct ck_repo *r, const char *fmt)
{
	struct ck_catalog *c = ck_repo_catalog(r);
	struct ck_batch *b = ck_batch_new(c);
	int q;

	ck_batch_put(b, CK_CF_META, "meta.format", 11, fmt, strlen(fmt));
	q = ck_catalog_write(c, b, true);
	ck_batch_free(b);
	return q;
}

int main(int argc, char **argv)
{
	struct ck_repo *r = NULL;
	int q = -EINVAL;

	if (argc < 3) {
		fprintf(stderr, "usage: ck-testtool hold|corrupt|chunk-of|"
				"corrupt-id REPO ...\n");
		return 2;
	}
	if (!strcmp(argv[1], "init-format1")) {
		struct ck_repo_settings st = CK_REPO_SETTINGS_DEFAULT;

		st.dictionary = false;
		q = ck_repo_init(argv[2], &st);
		if (q == 0)
			q = ck_repo_open(argv[2], CK_OPEN_WRITE, "ck-testtool",
					 &r);
		if (q == 0)
			q = put_format(r, "1");
		goto out;
	}
	if (!strcmp(argv[1], "set-format") && argc == 4) {
		/* Opening checks the format: write it after a normal open. */
		q = ck_repo_open(argv[2], CK_OPEN_WRITE, "ck-testtool", &r);
		if (q == 0)
			q = put_format(r, argv[3]);
		goto out;
	}
	if (!strcmp(argv[1], "hold")) {
		q = ck_repo_open(argv[2], CK_OPEN_WRITE, "ck-testtool hold", &r);
		if (q < 0)
			goto out;
		printf("held\n");
		fflush(stdout);
		for (;;)
			pause();
	}
	q = ck_repo_open(argv[2],
			 strcmp(argv[1], "dict") ? CK_OPEN_WRITE : CK_OPEN_READ,
			 "ck-testtool", &r);
	if (q < 0)
		goto out;
	if (!strcmp(argv[1], "corrupt")) {
		long n = argc > 3 ? atol(argv[3]) : 0;
		struct ck_iter *it = NULL;
		struct ck_id id;

		q = ck_iter_new(ck_repo_catalog(r), CK_CF_CHUNKS, "", 0, &it);
		if (q < 0)
			goto out;
		for (; ck_iter_valid(it) && n > 0; ck_iter_next(it))
			n--;
		if (!ck_iter_valid(it)) {
			ck_iter_free(it);
			q = -ENOENT;
			goto out;
		}
		{
			size_t kl;
			const void *k = ck_iter_key(it, &kl);

			memcpy(id.b, k, CK_ID_SIZE);
		}
		ck_iter_free(it);
		q = corrupt(r, &id);
	} else if (!strcmp(argv[1], "corrupt-id") && argc == 4) {
		struct ck_id id;

		q = ck_id_from_hex(argv[3], &id);
		if (q == 0)
			q = corrupt(r, &id);
	} else if (!strcmp(argv[1], "dict") ||
		   !strcmp(argv[1], "corrupt-dict")) {
		struct ck_catalog *c = ck_repo_catalog(r);
		void *v = NULL, *f = NULL;
		size_t n = 0, fl = 0;

		q = ck_catalog_get(c, CK_CF_META, "meta.format", 11, &f, &fl);
		if (q < 0)
			goto out;
		q = ck_catalog_get(c, CK_CF_META, "meta.zstd_dict", 14, &v, &n);
		if (q == -ENOENT && !strcmp(argv[1], "dict"))
			q = 0;
		if (q == 0 && !strcmp(argv[1], "dict")) {
			uint64_t h = 1469598103934665603ull;

			for (size_t i = 0; i < n; i++)
				h = (h ^ ((unsigned char *)v)[i]) *
				    1099511628211ull;
			printf("format %.*s dict %zu %016llx\n", (int)fl,
			       (char *)f, n, (unsigned long long)(n ? h : 0));
		} else if (q == 0) {
			struct ck_batch *b = ck_batch_new(c);
			bool head = argc > 3 && !strcmp(argv[3], "head");

			((unsigned char *)v)[head ? 0 : n - 100] ^= 0x55;
			ck_batch_put(b, CK_CF_META, "meta.zstd_dict", 14, v, n);
			q = ck_catalog_write(c, b, true);
			ck_batch_free(b);
		}
		free(v);
		free(f);
	} else if (!strcmp(argv[1], "chunk-of") && argc == 7) {
		struct ck_version v;
		struct ck_entry e;
		struct ck_id id;
		char hex[CK_ID_HEX_SIZE];

		q = ck_repo_version_find(r, argv[3], argv[4], &v);
		if (q == 0)
			q = ck_repo_entry_get(r, v.vid, argv[5], &e);
		if (q == 0)
			q = ck_repo_entry_chunks(r, v.vid, &e,
						 (uint64_t)atoll(argv[6]), 1,
						 &id);
		if (q == 0)
			printf("%s\n", ck_id_to_hex(&id, hex));
	}
out:
	ck_repo_free(r);
	if (q < 0) {
		fprintf(stderr, "ck-testtool: %s\n", strerror(-q));
		return 1;
	}
	return 0;
}
