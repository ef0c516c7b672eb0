/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "extract.h"
#include "remote-cli.h"

int verb_restore(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", required_argument, NULL, 'v' },
		{ "threads", required_argument, NULL, 't' },
		{ "flatten", no_argument, NULL, 'f' },
		{ NULL, 0, NULL, 0 },
	};
	struct ck_restore_opts ro = { 0 };
	struct cli_progress pr = { .what = "restore" };
	const char *spec = "latest", *ctr, *dest;
	struct ck_version v;
	struct ck_repo *r;
	uint64_t t0;
	int c, q;

	while ((c = cli_getopt(argc, argv, "restore", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			spec = optarg;
			break;
		case 't':
			ro.threads = (unsigned)atoi(optarg);
			break;
		case 'f':
			ro.flatten = true;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("restore",
				       "expected CONTAINER and DEST arguments");
	ctr = argv[optind];
	dest = argv[optind + 1];
	if (arg_server)
		return remote_restore(ctr, spec, dest, ro.flatten);
	r = cli_open(false, NULL);
	if (!r)
		return EXIT_FAIL;
	if (cli_find_version(r, ctr, spec, &v) != EXIT_OK) {
		ck_repo_free(r);
		return EXIT_FAIL;
	}
	if (cli_progress_enabled()) {
		ro.progress = cli_progress_cb;
		ro.progress_ud = &pr;
	}
	t0 = cli_now_ns();
	q = ck_restore(r, &v, dest, &ro);
	cli_progress_end(&pr);
	ck_repo_free(r);
	if (q == -EEXIST)
		return cli_fail(q,
				"cannot restore into '%s' (it exists and is "
				"not empty)",
				dest);
	if (q == -ENOLINK)
		return cli_fail(q,
				"'%s/%s' is an incremental dump whose parent "
				"pages were never stored; it cannot be "
				"flattened (restore it without --flatten next "
				"to its parent directory)",
				ctr, v.name);
	if (q < 0)
		return cli_fail(q,
				"restore of '%s/%s' into '%s' failed; the "
				"directory is incomplete, remove it",
				ctr, v.name, dest);
	if (arg_json) {
		json_t *o = cli_version_json(&v);

		json_object_set_new(o, "container", json_string(ctr));
		json_object_set_new(o, "dest", json_string(dest));
		json_object_set_new(o, "seconds",
				    json_real((double)(cli_now_ns() - t0) /
					      1e9));
		return cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (!arg_quiet)
		fprintf(stderr, "ckstore: restored %s #%u %s into %s\n", ctr,
			v.seq, v.name, dest);
	return EXIT_OK;
}
