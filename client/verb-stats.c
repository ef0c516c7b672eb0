/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "remote-cli.h"
#include "report.h"

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

int cli_print_stats(json_t *o, const char *ctr)
{
	char a[32], b[32], c1[32], d[32], e[32], f[32];
	json_t *pc;

	if (arg_json)
		return cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
#define U(k) ((uint64_t)json_integer_value(json_object_get(o, k)))
	if (ctr) {
		printf("container       %s\n"
		       "versions        %" PRIu64 "\n"
		       "logical         %s\n"
		       "stored (added)  %s in %" PRIu64 " chunks\n"
		       "ratio           %.2fx\n",
		       ctr, U("versions"),
		       cli_size(U("logical_bytes"), a, sizeof(a)),
		       cli_size(U("stored_bytes"), b, sizeof(b)), U("chunks"),
		       ratio(U("logical_bytes"), U("stored_bytes")));
		json_decref(o);
		return EXIT_OK;
	}
	printf("containers      %" PRIu64 "\n"
	       "versions        %" PRIu64 "\n"
	       "logical         %s\n"
	       "unique          %s in %" PRIu64 " chunks (dedup %.2fx)\n"
	       "stored          %s (compression %.2fx, total %.2fx)\n"
	       "deltas          %" PRIu64 " chunks, %s saved\n"
	       "chunk lists     %" PRIu64 " chunks, %s\n"
	       "on disk         %s\n",
	       U("containers"), U("versions"),
	       cli_size(U("logical_bytes"), a, sizeof(a)),
	       cli_size(U("raw_bytes"), b, sizeof(b)), U("chunks"),
	       ratio(U("logical_bytes"), U("raw_bytes")),
	       cli_size(U("stored_bytes"), c1, sizeof(c1)),
	       ratio(U("raw_bytes"), U("stored_bytes") - U("list_stored_bytes")),
	       ratio(U("logical_bytes"), U("stored_bytes")), U("delta_chunks"),
	       cli_size(U("delta_raw_bytes") - U("delta_stored_bytes"), d,
			sizeof(d)),
	       U("list_chunks"), cli_size(U("list_stored_bytes"), f, sizeof(f)),
	       cli_size(U("disk_bytes"), e, sizeof(e)));
#undef U
	pc = json_object_get(o, "per_container");
	if (json_array_size(pc)) {
		size_t i;
		json_t *x;

		printf("\n%-24s %8s %8s %10s %10s  %s\n", "CONTAINER",
		       "VERSIONS", "COMPLETE", "LOGICAL", "STORED", "LATEST");
		json_array_foreach(pc, i, x)
		{
			const char *l = json_string_value(
				json_object_get(x, "latest"));

			printf("%-24s %8" JSON_INTEGER_FORMAT
			       " %8" JSON_INTEGER_FORMAT " %10s %10s  %s\n",
			       json_string_value(json_object_get(x, "container")),
			       json_integer_value(json_object_get(x, "versions")),
			       json_integer_value(
				       json_object_get(x, "complete_versions")),
			       cli_size((uint64_t)json_integer_value(
						json_object_get(x, "logical_bytes")),
					a, sizeof(a)),
			       cli_size((uint64_t)json_integer_value(
						json_object_get(x, "stored_bytes")),
					b, sizeof(b)),
			       l ? l : "-");
		}
	}
	json_decref(o);
	return EXIT_OK;
}

int verb_stats(int argc, char **argv)
{
	const char *ctr = NULL;
	struct ck_stats st;
	struct ck_repo *r;
	json_t *pc = NULL, *o;
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
	if (q == 0 && !ctr)
		pc = ck_containers_json(r, NULL, NULL);
	ck_repo_free(r);
	if (q == -ENOENT && ctr) {
		fprintf(stderr, "ckstore: error: no container '%s'\n", ctr);
		return EXIT_FAIL;
	}
	if (q < 0) {
		json_decref(pc);
		return cli_fail(q, "cannot compute statistics");
	}
	o = ck_stats_json(&st, ctr);
	if (!o) {
		json_decref(pc);
		return cli_fail(-ENOMEM, "cannot compute statistics");
	}
	if (pc)
		json_object_set_new(o, "per_container", pc);
	return cli_print_stats(o, ctr);
}
