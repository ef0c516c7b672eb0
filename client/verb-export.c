/* SPDX-License-Identifier: MIT */
/*
 * verb-export.c - `ckstore export`: a version as a checkpoint archive
 * that `podman container restore --import` accepts (ckarchive.h). A file
 * is written beside its final name and renamed into place when
 * complete, so a failed export leaves nothing half-written.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ckarchive.h"
#include "cli.h"

int verb_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "version", required_argument, NULL, 'v' },
		{ "compress", required_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	struct ck_archive_export_opts eo = { .compression = CK_ARCHIVE_AUTO };
	const char *spec = "latest", *ctr, *path;
	char tmp[PATH_MAX], a[32];
	bool forced = false;
	struct ck_version v;
	struct ck_repo *r;
	int c, q, fd = -1;
	mode_t um;

	tmp[0] = 0;
	while ((c = cli_getopt(argc, argv, "export", opts, NULL)) != -1) {
		switch (c) {
		case 'v':
			spec = optarg;
			break;
		case 'c':
			if (ck_archive_compression_parse(optarg,
							 &eo.compression) < 0)
				return cli_usage_error(
					"export",
					"--compress takes none, gzip or zstd");
			forced = true;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind != 2)
		return cli_usage_error("export",
				       "expected CONTAINER and ARCHIVE arguments");
	ctr = argv[optind];
	path = argv[optind + 1];
	if (arg_server) {
		fprintf(stderr,
			"ckstore: error: export works on a local repository "
			"(--repo) for now, not through --server\n"
			"hint: run it on the storage node, or unset "
			"CKSTORE_SERVER\n");
		return EXIT_FAIL;
	}
	if (!forced)
		eo.compression = ck_archive_compression_for(path);
	if (!strcmp(path, "-") && isatty(STDOUT_FILENO))
		return cli_usage_error("export",
				       "refusing to write an archive to a "
				       "terminal");
	r = cli_open(false, NULL);
	if (!r)
		return EXIT_FAIL;
	if (cli_find_version(r, ctr, spec, &v) != EXIT_OK) {
		ck_repo_free(r);
		return EXIT_FAIL;
	}
	if (!strcmp(path, "-")) {
		fd = STDOUT_FILENO;
	} else {
		q = snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path);
		if (q < 0 || (size_t)q >= sizeof(tmp)) {
			ck_repo_free(r);
			return cli_fail(-ENAMETOOLONG, "cannot write '%s'",
					path);
		}
		fd = mkostemp(tmp, O_CLOEXEC);
		if (fd < 0) {
			q = -errno;
			tmp[0] = 0;
			ck_repo_free(r);
			return cli_fail(q, "cannot create '%s'", path);
		}
		um = umask(0);
		umask(um);
		(void)fchmod(fd, 0666 & ~um);
	}
	q = ck_archive_export(r, &v, fd, &eo);
	ck_repo_free(r);
	if (q == 0 && fd != STDOUT_FILENO && fsync(fd) < 0)
		q = -errno;
	if (fd != STDOUT_FILENO && close(fd) < 0 && q == 0)
		q = -errno;
	if (q == 0 && tmp[0] && rename(tmp, path) < 0)
		q = -errno;
	if (q < 0) {
		if (tmp[0])
			unlink(tmp);
		if (eo.errmsg[0]) {
			fprintf(stderr,
				"ckstore: error: export of '%s/%s' failed: "
				"%s\n",
				ctr, v.name, eo.errmsg);
			return EXIT_FAIL;
		}
		return cli_fail(q, "export of '%s/%s' to '%s' failed", ctr,
				v.name, path);
	}
	/* With "-" a JSON report would mix with the archive. */
	if (arg_json && fd != STDOUT_FILENO) {
		json_t *o = cli_version_json(&v);

		json_object_set_new(o, "container", json_string(ctr));
		json_object_set_new(o, "archive", json_string(path));
		json_object_set_new(o, "members",
				    json_integer((json_int_t)eo.members));
		json_object_set_new(o, "member_bytes",
				    json_integer((json_int_t)eo.bytes));
		return cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (!arg_quiet)
		fprintf(stderr,
			"ckstore: exported %s #%u %s: %" PRIu64
			" members, %s\n",
			ctr, v.seq, v.name, eo.members,
			cli_size(eo.bytes, a, sizeof(a)));
	return EXIT_OK;
}
