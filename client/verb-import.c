/* SPDX-License-Identifier: MIT */
/*
 * verb-import.c - `ckstore import`: a Podman or Kubernetes checkpoint
 * archive as a new version (ckarchive.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ckarchive.h"
#include "cli.h"

/* "64G", "512M", "1000": bytes (powers of 1024). */
static int parse_size(const char *s, uint64_t *ret)
{
	char *end;
	unsigned long long v;
	int shift = 0;

	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s || *s == '-')
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if (*end == 'i' && shift)
		end++;
	if ((*end == 'B' || *end == 'b') && end[1] == 0)
		end++;
	if (*end || (shift && v > (UINT64_MAX >> shift)))
		return -EINVAL;
	*ret = (uint64_t)v << shift;
	return 0;
}

/* The version name an archive's file name suggests: its base name
 * without the tar suffix, other characters than [A-Za-z0-9._-] as '_'
 * (the kubelet's names hold ':'); "import-<UTC time>" for stdin. */
static void default_name(const char *archive, char *out, size_t cap)
{
	static const char *const sfx[] = { ".tar.gz", ".tar.zst", ".tar.zstd",
					   ".tgz",    ".tzst",	  ".tar" };
	const char *b = strrchr(archive, '/');
	size_t n, k = 0;

	b = b ? b + 1 : archive;
	n = strlen(b);
	for (size_t i = 0; i < sizeof(sfx) / sizeof(*sfx); i++) {
		size_t s = strlen(sfx[i]);

		if (n > s && !strcmp(b + n - s, sfx[i])) {
			n -= s;
			break;
		}
	}
	while (n && (*b == '.' || *b == '-')) {
		b++;
		n--;
	}
	for (size_t i = 0; i < n && k + 1 < cap && k < CK_NAME_MAX; i++) {
		char c = b[i];

		out[k++] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
					   (c >= '0' && c <= '9') || c == '.' ||
					   c == '_' || c == '-'
				   ? c
				   : '_';
	}
	out[k] = 0;
	if (!k || !strcmp(archive, "-")) {
		time_t t = time(NULL);
		struct tm tm;

		gmtime_r(&t, &tm);
		strftime(out, cap, "import-%Y%m%dT%H%M%SZ", &tm);
	}
}

int verb_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "complete", no_argument, NULL, 'C' },
		{ "incomplete", no_argument, NULL, 'I' },
		{ "spool", required_argument, NULL, 's' },
		{ "max-members", required_argument, NULL, 'm' },
		{ "max-member-size", required_argument, NULL, 'M' },
		{ "max-size", required_argument, NULL, 'S' },
		{ NULL, 0, NULL, 0 },
	};
	struct ck_archive_import_opts io = {
		.complete = -1,
		.limits = CK_ARCHIVE_LIMITS_DEFAULT,
	};
	struct cli_progress pr = { .what = "import" };
	char name[CK_NAME_MAX + 1], a[32], b[32];
	const char *ctr, *path;
	struct ck_version v;
	struct ck_repo *r;
	uint64_t t0;
	int c, q, fd;

	while ((c = cli_getopt(argc, argv, "import", opts, NULL)) != -1) {
		uint64_t *lim = NULL;

		switch (c) {
		case 'n':
			io.name = optarg;
			break;
		case 'C':
			io.complete = 1;
			break;
		case 'I':
			io.complete = 0;
			break;
		case 's':
			io.spool = optarg;
			break;
		case 'm':
			lim = &io.limits.max_members;
			break;
		case 'M':
			lim = &io.limits.max_member_bytes;
			break;
		case 'S':
			lim = &io.limits.max_total_bytes;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
		if (lim && parse_size(optarg, lim) < 0)
			return cli_usage_error("import", "invalid number '%s'",
					       optarg);
	}
	if (argc - optind != 2)
		return cli_usage_error("import",
				       "expected CONTAINER and ARCHIVE arguments");
	ctr = argv[optind];
	path = argv[optind + 1];
	if (arg_server) {
		fprintf(stderr,
			"ckstore: error: import works on a local repository "
			"(--repo) for now, not through --server\n"
			"hint: run it on the storage node, or unset "
			"CKSTORE_SERVER\n");
		return EXIT_FAIL;
	}
	if (ck_name_check(ctr) < 0)
		return cli_usage_error(
			"import",
			"invalid container name '%s' (use 1-128 of "
			"A-Z a-z 0-9 . _ -, not starting with . or -)",
			ctr);
	if (!io.name) {
		default_name(path, name, sizeof(name));
		io.name = name;
	}
	if (ck_name_check(io.name) < 0)
		return cli_usage_error("import", "invalid version name '%s'",
				       io.name);
	io.source = path;
	if (!strcmp(path, "-")) {
		fd = STDIN_FILENO;
	} else {
		fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return cli_fail(-errno, "cannot open '%s'", path);
	}
	r = cli_open(true, "ckstore import");
	if (!r) {
		if (fd != STDIN_FILENO)
			close(fd);
		return EXIT_FAIL;
	}
	if (cli_progress_enabled()) {
		io.progress = cli_progress_cb;
		io.progress_ud = &pr;
	}
	t0 = cli_now_ns();
	q = ck_archive_import(r, ctr, fd, &io, &v);
	cli_progress_end(&pr);
	ck_repo_free(r);
	if (fd != STDIN_FILENO)
		close(fd);
	if (q == -EEXIST)
		return cli_fail(q,
				"version '%s' already exists in container "
				"'%s'; choose another --name",
				io.name, ctr);
	if (q < 0 && io.errmsg[0]) {
		fprintf(stderr,
			"ckstore: error: import of '%s' refused: %s%s%s%s; "
			"nothing was committed\n",
			path, io.errmember[0] ? "'" : "", io.errmember,
			io.errmember[0] ? "': " : "", io.errmsg);
		if (q == -E2BIG)
			fprintf(stderr, "hint: raise the limit if the archive "
					"is trusted\n");
		return EXIT_FAIL;
	}
	if (q < 0)
		return cli_fail(q, "import of '%s' failed%s%s%s; nothing was "
				   "committed",
				path, io.errmember[0] ? " at '" : "",
				io.errmember, io.errmember[0] ? "'" : "");
	if (arg_json) {
		json_t *o = cli_version_json(&v);

		json_object_set_new(o, "container", json_string(ctr));
		json_object_set_new(o, "members", json_integer((json_int_t)io.members));
		json_object_set_new(o, "member_bytes", json_integer((json_int_t)io.bytes));
		json_object_set_new(o, "compression",
				    json_string(ck_archive_compression_name(
					    io.compression)));
		json_object_set_new(o, "seconds",
				    json_real((double)(cli_now_ns() - t0) /
					      1e9));
		return cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (!arg_quiet)
		printf("%s #%u %s: %" PRIu64 " members (%s archive), %s "
		       "logical, %s added (%" PRIu64 " new chunks), %s\n",
		       ctr, v.seq, v.name, io.members,
		       ck_archive_compression_name(io.compression),
		       cli_size(v.logical_bytes, a, sizeof(a)),
		       cli_size(v.added_bytes, b, sizeof(b)), v.added_chunks,
		       v.complete ? "complete" : "incomplete");
	return EXIT_OK;
}
