/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <errno.h>
#include <stdio.h>

#include "cli.h"
#include "remote-cli.h"

int verb_rm(int argc, char **argv)
{
	struct ck_version v;
	struct ck_repo *r;
	uint64_t freed = 0;
	char s[32];
	int c, q;

	while ((c = cli_getopt(argc, argv, "rm", NULL, NULL)) != -1)
		return c == 'h' ? EXIT_OK : EXIT_USAGE;
	if (argc - optind != 2)
		return cli_usage_error("rm",
				       "expected CONTAINER and VERSION arguments");
	if (arg_server)
		return remote_rm(argv[optind], argv[optind + 1]);
	r = cli_open(true, "ckstore rm");
	if (!r)
		return EXIT_FAIL;
	if (cli_find_version(r, argv[optind], argv[optind + 1], &v) !=
	    EXIT_OK) {
		ck_repo_free(r);
		return EXIT_FAIL;
	}
	q = ck_repo_version_delete(r, argv[optind], v.vid, &freed);
	ck_repo_free(r);
	if (q < 0)
		return cli_fail(q, "cannot delete '%s/%s'", argv[optind],
				argv[optind + 1]);
	if (arg_json)
		return cli_json_print(json_pack("{s:s, s:s, s:I}", "container",
						argv[optind], "name", v.name,
						"freed_bytes",
						(json_int_t)freed)) < 0
			       ? EXIT_FAIL
			       : EXIT_OK;
	if (!arg_quiet)
		printf("deleted %s #%u %s, reclaimed %s\n", argv[optind],
		       v.seq, v.name, cli_size(freed, s, sizeof(s)));
	return EXIT_OK;
}
