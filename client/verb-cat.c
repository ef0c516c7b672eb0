/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "cli.h"
#include "extract.h"
#include "remote-cli.h"

int verb_cat(int argc, char **argv)
{
	struct ck_version v;
	struct ck_entry e;
	struct ck_repo *r;
	const char *ctr, *spec, *path;
	int c, q;

	while ((c = cli_getopt(argc, argv, "cat", NULL, NULL)) != -1)
		return c == 'h' ? EXIT_OK : EXIT_USAGE;
	if (argc - optind != 3)
		return cli_usage_error(
			"cat", "expected CONTAINER, VERSION and FILE arguments");
	ctr = argv[optind];
	spec = argv[optind + 1];
	path = argv[optind + 2];
	if (arg_server)
		return remote_cat(ctr, spec, path);
	r = cli_open(false, NULL);
	if (!r)
		return EXIT_FAIL;
	if (cli_find_version(r, ctr, spec, &v) != EXIT_OK) {
		ck_repo_free(r);
		return EXIT_FAIL;
	}
	q = ck_repo_entry_get(r, v.vid, path, &e);
	if (q == -ENOENT || q == -EINVAL) {
		ck_repo_free(r);
		fprintf(stderr,
			"ckstore: error: no file '%s' in version '%s/%s' (see "
			"'ckstore ls %s %s')\n",
			path, ctr, spec, ctr, spec);
		return EXIT_FAIL;
	}
	if (q == 0 && e.type == CK_ENTRY_SYMLINK) {
		printf("%s\n", e.target);
	} else if (q == 0 && e.type == CK_ENTRY_DIR) {
		q = -EISDIR;
	} else if (q == 0) {
		fflush(stdout);
		q = ck_file_write_fd(r, v.vid, &e, STDOUT_FILENO);
	}
	ck_repo_free(r);
	if (q < 0)
		return cli_fail(q, "cannot read '%s' of version '%s/%s'", path,
				ctr, spec);
	return EXIT_OK;
}
