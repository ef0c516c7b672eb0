/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "push.h"
#include "remote-cli.h"

static int report(const char *ctr, const struct ck_version *v, uint64_t t0)
{
	char a[32], b[32];

	if (arg_json) {
		json_t *o = cli_version_json(v);

		json_object_set_new(o, "container", json_string(ctr));
		json_object_set_new(o, "seconds",
				    json_real((double)(cli_now_ns() - t0) /
					      1e9));
		return cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (!arg_quiet)
		printf("%s #%u %s: %s logical, %s added (%" PRIu64
		       " new chunks), %s\n",
		       ctr, v->seq, v->name,
		       cli_size(v->logical_bytes, a, sizeof(a)),
		       cli_size(v->added_bytes, b, sizeof(b)), v->added_chunks,
		       v->complete ? "complete" : "incomplete");
	return EXIT_OK;
}

int verb_push(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "complete", no_argument, NULL, 'C' },
		{ "incomplete", no_argument, NULL, 'I' },
		{ NULL, 0, NULL, 0 },
	};
	struct ck_push_opts po = { .complete = -1 };
	struct cli_progress pr = { .what = "push" };
	struct ck_version v;
	struct ck_repo *r;
	const char *ctr, *dir = NULL;
	uint64_t t0 = 0;
	int c, q;

	while ((c = cli_getopt(argc, argv, "push", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			po.name = optarg;
			break;
		case 'C':
			po.complete = 1;
			break;
		case 'I':
			po.complete = 0;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind < 2)
		return cli_usage_error("push",
				       "expected CONTAINER and DIR arguments");
	if (argc - optind > 2 && po.name)
		return cli_usage_error("push",
				       "--name needs exactly one DIR");
	ctr = argv[optind];
	if (ck_name_check(ctr) < 0)
		return cli_usage_error(
			"push",
			"invalid container name '%s' (use 1-128 of "
			"A-Z a-z 0-9 . _ -, not starting with . or -)",
			ctr);
	if (po.name && ck_name_check(po.name) < 0)
		return cli_usage_error("push", "invalid version name '%s'",
				       po.name);
	if (arg_server)
		return remote_push(ctr, argc - optind - 1, argv + optind + 1,
				   po.name, po.complete);
	r = cli_open(true, "ckstore push");
	if (!r)
		return EXIT_FAIL;
	if (cli_progress_enabled()) {
		po.progress = cli_progress_cb;
		po.progress_ud = &pr;
	}
	/* Several directories become consecutive versions, in order, in one
	 * open of the repository (importing an existing series). */
	for (int i = optind + 1; i < argc; i++) {
		dir = argv[i];
		t0 = cli_now_ns();
		q = ck_push_dir(r, ctr, dir, &po, &v);
		cli_progress_end(&pr);
		if (q < 0 || i + 1 == argc)
			break;
		q = report(ctr, &v, t0);
		if (q != EXIT_OK)
			break;
	}
	ck_repo_free(r);
	if (q == -EEXIST)
		return cli_fail(q,
				"version '%s' already exists in container "
				"'%s'; choose another --name",
				po.name ? po.name : "(directory name)", ctr);
	if (q == -EBADMSG && po.errpath[0]) {
		fprintf(stderr,
			"ckstore: error: push of '%s' refused: '%s' is not a "
			"valid CRIU image (malformed, truncated, or it "
			"disagrees with its pages file); nothing was "
			"committed\n",
			dir, po.errpath);
		return EXIT_FAIL;
	}
	if (q == -EINVAL && !po.errpath[0])
		return cli_fail(q,
				"the directory name of '%s' is not a valid "
				"version name; pass --name",
				dir);
	if (q < 0)
		return cli_fail(q,
				"push of '%s' failed%s%s%s; nothing was "
				"committed",
				dir, po.errpath[0] ? " at '" : "", po.errpath,
				po.errpath[0] ? "'" : "");
	return report(ctr, &v, t0);
}
