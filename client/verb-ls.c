/* SPDX-License-Identifier: MIT */
#include <getopt.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli.h"
#include "remote-cli.h"

static int ls_containers(struct ck_repo *r)
{
	char(*names)[CK_NAME_MAX + 1] = NULL;
	json_t *a = arg_json ? json_array() : NULL;
	size_t n = 0;
	int q;

	q = ck_repo_containers(r, &names, &n);
	if (q < 0)
		return cli_fail(q, "cannot list containers");
	if (!arg_json)
		printf("%-24s %8s %-16s %10s\n", "CONTAINER", "VERSIONS",
		       "LATEST", "LOGICAL");
	for (size_t i = 0; i < n; i++) {
		struct ck_version *vs = NULL, latest;
		size_t nv = 0;
		uint64_t logical = 0;
		char s[32];
		bool has_latest;

		q = ck_repo_versions(r, names[i], &vs, &nv);
		if (q < 0) {
			free(names);
			json_decref(a);
			return cli_fail(q, "cannot list '%s'", names[i]);
		}
		for (size_t j = 0; j < nv; j++)
			logical += vs[j].logical_bytes;
		free(vs);
		has_latest = ck_repo_version_find(r, names[i], "latest",
						  &latest) == 0;
		if (arg_json)
			json_array_append_new(
				a, json_pack("{s:s, s:I, s:s?, s:I}", "name",
					     names[i], "versions",
					     (json_int_t)nv, "latest",
					     has_latest ? latest.name : NULL,
					     "logical_bytes",
					     (json_int_t)logical));
		else
			printf("%-24s %8zu %-16s %10s\n", names[i], nv,
			       has_latest ? latest.name : "-",
			       cli_size(logical, s, sizeof(s)));
	}
	free(names);
	if (arg_json)
		return cli_json_print(a) < 0 ? EXIT_FAIL : EXIT_OK;
	return EXIT_OK;
}

static const char *type_name(enum ck_entry_type t)
{
	return t == CK_ENTRY_DIR ? "dir" : t == CK_ENTRY_SYMLINK ? "symlink"
								 : "file";
}

static int ls_version(struct ck_repo *r, const char *ctr, const char *spec)
{
	struct ck_version v;
	struct ck_entry *es = NULL;
	json_t *a = arg_json ? json_array() : NULL;
	size_t n = 0;
	int q;

	if (cli_find_version(r, ctr, spec, &v) != EXIT_OK) {
		json_decref(a);
		return EXIT_FAIL;
	}
	q = ck_repo_entries(r, v.vid, &es, &n);
	if (q < 0) {
		json_decref(a);
		return cli_fail(q, "cannot list version '%s/%s'", ctr, spec);
	}
	for (size_t i = 0; i < n; i++) {
		char t[64];

		if (arg_json) {
			char m[8];
			json_t *o;

			snprintf(m, sizeof(m), "%04o", es[i].mode);
			o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
				      "path", es[i].path, "type",
				      type_name(es[i].type), "mode", m, "size",
				      (json_int_t)es[i].size, "uid",
				      (json_int_t)es[i].uid, "gid",
				      (json_int_t)es[i].gid, "mtime",
				      cli_time(es[i].mtime_ns, t, sizeof(t)));
			if (es[i].type == CK_ENTRY_SYMLINK)
				json_object_set_new(o, "target",
						    json_string(es[i].target));
			json_array_append_new(a, o);
			continue;
		}
		printf("%c%04o %5u %5u %12" PRIu64 " %s %s%s%s\n",
		       es[i].type == CK_ENTRY_DIR	 ? 'd'
		       : es[i].type == CK_ENTRY_SYMLINK ? 'l'
							: '-',
		       es[i].mode, es[i].uid, es[i].gid, es[i].size,
		       cli_time(es[i].mtime_ns, t, sizeof(t)), es[i].path,
		       es[i].type == CK_ENTRY_SYMLINK ? " -> " : "",
		       es[i].target);
	}
	free(es);
	if (arg_json)
		return cli_json_print(a) < 0 ? EXIT_FAIL : EXIT_OK;
	return EXIT_OK;
}

int verb_ls(int argc, char **argv)
{
	struct ck_repo *r;
	int c, ret;

	while ((c = cli_getopt(argc, argv, "ls", NULL, NULL)) != -1)
		return c == 'h' ? EXIT_OK : EXIT_USAGE;
	if (argc - optind > 2)
		return cli_usage_error("ls", "too many arguments");
	if (arg_server)
		return remote_ls(argc - optind, argv + optind);
	r = cli_open(false, NULL);
	if (!r)
		return EXIT_FAIL;
	if (argc - optind == 0) {
		ret = ls_containers(r);
	} else if (argc - optind == 1) {
		ck_repo_free(r);
		/* One container: its versions. */
		return verb_versions(argc, argv);
	} else {
		ret = ls_version(r, argv[optind], argv[optind + 1]);
	}
	ck_repo_free(r);
	return ret;
}
