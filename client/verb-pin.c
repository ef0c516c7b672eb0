/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "remote-cli.h"

static int pin(int argc, char **argv, const char *verb, bool pinned)
{
	struct ck_version v;
	struct ck_repo *r;
	int c, q;

	while ((c = cli_getopt(argc, argv, verb, NULL, NULL)) != -1)
		return c == 'h' ? EXIT_OK : EXIT_USAGE;
	if (argc - optind != 2)
		return cli_usage_error(verb,
				       "expected CONTAINER and VERSION arguments");
	if (arg_server)
		return remote_pin(argv[optind], argv[optind + 1], pinned);
	r = cli_open(true, pinned ? "ckstore pin" : "ckstore unpin");
	if (!r)
		return EXIT_FAIL;
	if (cli_find_version(r, argv[optind], argv[optind + 1], &v) !=
	    EXIT_OK) {
		ck_repo_free(r);
		return EXIT_FAIL;
	}
	q = ck_repo_version_pin(r, argv[optind], v.seq, pinned);
	ck_repo_free(r);
	if (q < 0)
		return cli_fail(q, "cannot %s '%s/%s'", verb, argv[optind],
				argv[optind + 1]);
	if (!arg_quiet)
		printf("%s %s #%u %s\n", pinned ? "pinned" : "unpinned",
		       argv[optind], v.seq, v.name);
	return EXIT_OK;
}

int verb_pin(int argc, char **argv)
{
	return pin(argc, argv, "pin", true);
}

int verb_unpin(int argc, char **argv)
{
	return pin(argc, argv, "unpin", false);
}
