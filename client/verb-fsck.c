/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>

#include "cli.h"
#include "fsck.h"
#include "remote-cli.h"

/* fsck's exit code: problem classes (fsck.h) shifted past 1 and 2, so
 * that 1 still means "fsck itself failed" and 2 "usage". */
#define FSCK_EXIT(mask) ((mask) << 2)

static void on_problem(void *ud, enum ck_fsck_class cls, const char *msg)
{
	json_t *a = ud;

	if (a)
		json_array_append_new(a, json_pack("{s:s, s:s}", "class",
						   ck_fsck_class_name(cls),
						   "message", msg));
	else
		printf("%s: %s\n", ck_fsck_class_name(cls), msg);
}

int verb_fsck(int argc, char **argv)
{
	struct ck_fsck_report rep = { 0 };
	json_t *problems = NULL;
	struct ck_repo *r;
	char s[32];
	int c, q;

	while ((c = cli_getopt(argc, argv, "fsck", NULL, NULL)) != -1) {
		if (c == 'h') {
			printf("\nExit code: 0 clean, 1 fsck failed, 2 usage; "
			       "otherwise the sum of\n");
#define CK_FSCK_HELP(name, bit, text)                                        \
	printf("  %3d  %-14s %s\n", FSCK_EXIT(bit), #name, text);
			CK_FSCK_CLASSES(CK_FSCK_HELP)
#undef CK_FSCK_HELP
			return EXIT_OK;
		}
		return EXIT_USAGE;
	}
	if (argc != optind)
		return cli_usage_error("fsck", "unexpected argument '%s'",
				       argv[optind]);
	if (arg_server)
		return remote_fsck();
	r = cli_open(false, NULL);
	if (!r)
		return EXIT_FAIL;
	if (arg_json)
		problems = json_array();
	q = ck_fsck(r, on_problem, problems, &rep);
	ck_repo_free(r);
	if (q < 0) {
		json_decref(problems);
		return cli_fail(q, "fsck could not complete");
	}
	if (arg_json) {
		json_t *o = json_pack(
			"{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:o}", "clean",
			q == 0, "versions", (json_int_t)rep.versions, "files",
			(json_int_t)rep.files, "chunks",
			(json_int_t)rep.chunks, "delta_chunks",
			(json_int_t)rep.delta_chunks, "garbage_chunks",
			(json_int_t)rep.garbage_chunks, "garbage_bytes",
			(json_int_t)rep.garbage_bytes, "problems", problems);

		if (cli_json_print(o) < 0)
			return EXIT_FAIL;
	} else if (!arg_quiet) {
		fprintf(stderr,
			"fsck: %" PRIu64 " versions, %" PRIu64
			" files, %" PRIu64 " chunks (%" PRIu64
			" deltas) checked; %" PRIu64 " problems\n",
			rep.versions, rep.files, rep.chunks, rep.delta_chunks,
			rep.problems);
		if (rep.garbage_chunks)
			fprintf(stderr,
				"fsck: %" PRIu64
				" uncommitted chunks (%s) from interrupted "
				"pushes; gc reclaims them\n",
				rep.garbage_chunks,
				cli_size(rep.garbage_bytes, s, sizeof(s)));
	}
	return q ? FSCK_EXIT(q) : EXIT_OK;
}
