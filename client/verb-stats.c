/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "remote-cli.h"

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

int verb_stats(int argc, char **argv)
{
	const char *ctr = NULL;
	struct ck_stats st;
	struct ck_repo *r;
	char a[32], b[32], c1[32], d[32], e[32];
	int c, q;

	while ((c = cli_getopt(argc, argv, "stats", NULL, NULL)) != -1)
		return c == 'h' ? EXIT_OK : EXIT_USAGE;
	if (argc - optind > 1)
		return cli_usage_error("stats", "too many arguments");
	if (argc - optind == 1)
		ctr = argv[optind];
	if (arg_server)
		return remote_stats(ctr);
	r = cli_open(false, NULL);
	if (!r)
		return EXIT_FAIL;
	q = ck_repo_stats(r, ctr, &st);
	ck_repo_free(r);
	if (q == -ENOENT && ctr) {
		fprintf(stderr, "ckstore: error: no container '%s'\n", ctr);
		return EXIT_FAIL;
	}
	if (q < 0)
		return cli_fail(q, "cannot compute statistics");
	if (arg_json) {
		json_t *o = json_pack(
			"{s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
			"s:I, s:f, s:f, s:f, s:f}",
			"container", ctr, "containers",
			(json_int_t)st.containers, "versions",
			(json_int_t)st.versions, "logical_bytes",
			(json_int_t)st.logical_bytes, "chunks",
			(json_int_t)st.chunks, "raw_bytes",
			(json_int_t)st.raw_bytes, "stored_bytes",
			(json_int_t)st.stored_bytes, "delta_chunks",
			(json_int_t)st.delta_chunks, "delta_raw_bytes",
			(json_int_t)st.delta_raw_bytes, "delta_stored_bytes",
			(json_int_t)st.delta_stored_bytes, "disk_bytes",
			(json_int_t)st.disk_bytes, "dedup_ratio",
			ratio(st.logical_bytes, st.raw_bytes),
			"compression_ratio",
			ratio(st.raw_bytes, st.stored_bytes), "total_ratio",
			ratio(st.logical_bytes, st.stored_bytes),
			"delta_saved_bytes",
			(double)(st.delta_raw_bytes - st.delta_stored_bytes));
		json_object_set_new(
			o, "disk",
			json_pack("{s:I, s:I, s:I, s:I, s:I}", "blob_files",
				  (json_int_t)st.blob_bytes, "meta_tables",
				  (json_int_t)st.sst_bytes[CK_CF_META],
				  "chunk_index_tables",
				  (json_int_t)st.sst_bytes[CK_CF_CHUNKS],
				  "refs_tables",
				  (json_int_t)st.sst_bytes[CK_CF_REFS],
				  "stats_tables",
				  (json_int_t)st.sst_bytes[CK_CF_STATS]));
		return cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (ctr) {
		printf("container       %s\n"
		       "versions        %" PRIu64 "\n"
		       "logical         %s\n"
		       "stored (added)  %s in %" PRIu64 " chunks\n"
		       "ratio           %.2fx\n",
		       ctr, st.versions,
		       cli_size(st.logical_bytes, a, sizeof(a)),
		       cli_size(st.stored_bytes, b, sizeof(b)), st.chunks,
		       ratio(st.logical_bytes, st.stored_bytes));
		return EXIT_OK;
	}
	printf("containers      %" PRIu64 "\n"
	       "versions        %" PRIu64 "\n"
	       "logical         %s\n"
	       "unique          %s in %" PRIu64 " chunks (dedup %.2fx)\n"
	       "stored          %s (compression %.2fx, total %.2fx)\n"
	       "deltas          %" PRIu64 " chunks, %s saved\n"
	       "on disk         %s\n",
	       st.containers, st.versions,
	       cli_size(st.logical_bytes, a, sizeof(a)),
	       cli_size(st.raw_bytes, b, sizeof(b)), st.chunks,
	       ratio(st.logical_bytes, st.raw_bytes),
	       cli_size(st.stored_bytes, c1, sizeof(c1)),
	       ratio(st.raw_bytes, st.stored_bytes),
	       ratio(st.logical_bytes, st.stored_bytes), st.delta_chunks,
	       cli_size(st.delta_raw_bytes - st.delta_stored_bytes, d,
			sizeof(d)),
	       cli_size(st.disk_bytes, e, sizeof(e)));
	return EXIT_OK;
}
