/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "remote-cli.h"

int cli_print_versions(const struct ck_version *vs, size_t n)
{
	int ret = EXIT_OK;

	if (arg_json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++)
			json_array_append_new(a, cli_version_json(&vs[i]));
		ret = cli_json_print(a) < 0 ? EXIT_FAIL : EXIT_OK;
	} else {
		printf("%4s  %-16s %-20s %-10s %-8s %5s %-12s %10s %10s\n",
		       "SEQ", "NAME", "CREATED", "STATE", "KIND", "GROUP",
		       "PARENT", "LOGICAL", "ADDED");
		for (size_t i = 0; i < n; i++) {
			char t[64], a[32], b[32];

			printf("%4u  %-16s %-20s %-10s %-8s %5u %-12s %10s "
			       "%10s\n",
			       vs[i].seq, vs[i].name,
			       cli_time(vs[i].created_ns, t, sizeof(t)),
			       vs[i].complete ? "complete" : "incomplete",
			       vs[i].kind == CK_KIND_PREDUMP ? "pre-dump"
							     : "dump",
			       vs[i].group,
			       vs[i].parent[0] ? vs[i].parent : "-",
			       cli_size(vs[i].logical_bytes, a, sizeof(a)),
			       cli_size(vs[i].added_bytes, b, sizeof(b)));
		}
	}
	return ret;
}

int verb_versions(int argc, char **argv)
{
	struct ck_version *vs = NULL;
	struct ck_repo *r;
	size_t n = 0;
	int c, q, ret = EXIT_OK;

	while ((c = cli_getopt(argc, argv, "versions", NULL, NULL)) != -1)
		return c == 'h' ? EXIT_OK : EXIT_USAGE;
	if (argc - optind != 1)
		return cli_usage_error("versions",
				       "expected one CONTAINER argument");
	if (arg_server)
		return remote_versions(argv[optind]);
	r = cli_open(false, NULL);
	if (!r)
		return EXIT_FAIL;
	q = ck_repo_versions(r, argv[optind], &vs, &n);
	ck_repo_free(r);
	if (q == -ENOENT) {
		fprintf(stderr,
			"ckstore: error: no container '%s' (see 'ckstore "
			"ls')\n",
			argv[optind]);
		return EXIT_FAIL;
	}
	if (q < 0)
		return cli_fail(q, "cannot list versions of '%s'",
				argv[optind]);
	ret = cli_print_versions(vs, n);
	free(vs);
	return ret;
}
