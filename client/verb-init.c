/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int verb_init(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "chunk-size", required_argument, NULL, 'c' },
		{ "zstd-level", required_argument, NULL, 'z' },
		{ "no-deltas", no_argument, NULL, 'D' },
		{ "no-dictionary", no_argument, NULL, 'N' },
		{ "group-size", required_argument, NULL, 'g' },
		{ NULL, 0, NULL, 0 },
	};
	struct ck_repo_settings s = CK_REPO_SETTINGS_DEFAULT;
	char *end;
	int c, q;

	while ((c = cli_getopt(argc, argv, "init", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			s.chunk_unit = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || s.chunk_unit < 4096 ||
			    s.chunk_unit > (1u << 20) ||
			    (s.chunk_unit & (s.chunk_unit - 1)))
				return cli_usage_error(
					"init",
					"--chunk-size must be a power of two "
					"from 4096 to 1048576");
			break;
		case 'z':
			s.zstd_level = (int)strtol(optarg, &end, 10);
			if (*end || s.zstd_level < 1 || s.zstd_level > 19)
				return cli_usage_error(
					"init", "--zstd-level must be 1..19");
			break;
		case 'D':
			s.deltas = false;
			break;
		case 'N':
			s.dictionary = false;
			break;
		case 'g':
			s.group_size = (uint32_t)strtoul(optarg, &end, 10);
			if (*end || s.group_size < 1 ||
			    s.group_size > CK_GROUP_MAX)
				return cli_usage_error(
					"init", "--group-size must be 1..16");
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (optind != argc)
		return cli_usage_error("init", "unexpected argument '%s'",
				       argv[optind]);
	if (arg_server)
		return cli_usage_error("init",
				       "init creates a local repository; run it "
				       "where ckstored runs (without --server)");
	q = ck_repo_init(arg_repo, &s);
	if (q == -EEXIST)
		return cli_fail(q,
				"cannot create repository in '%s' (the "
				"directory is not empty)",
				arg_repo);
	if (q < 0)
		return cli_fail(q, "cannot create repository in '%s'",
				arg_repo);
	if (!arg_quiet)
		fprintf(stderr,
			"ckstore: initialized repository '%s' (chunk unit %u, "
			"zstd %d, deltas %s, dictionary %s)\n",
			arg_repo, s.chunk_unit, s.zstd_level,
			s.deltas ? "on" : "off", s.dictionary ? "on" : "off");
	return EXIT_OK;
}
