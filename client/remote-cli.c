/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "fsck.h"
#include "http.h"
#include "remote-cli.h"
#include "remote.h"

/* fsck's exit code, as verb-fsck.c. */
#define FSCK_EXIT(mask) ((mask) << 2)

static struct ck_remote *connect_remote(void)
{
	struct ck_remote *rm = NULL;
	int q;

	ck_http_global_init();
	q = ck_remote_open(arg_server, arg_token, arg_cacert, &rm);
	if (q == -EINVAL) {
		fprintf(stderr,
			"ckstore: error: '%s' is not a server URL (use "
			"http://HOST:PORT or https://HOST:PORT)\n",
			arg_server);
		return NULL;
	}
	if (q < 0) {
		cli_fail(q, "cannot use server '%s'", arg_server);
		return NULL;
	}
	return rm;
}

/* Prints "ckstore: error: <what>: <why>" and a hint; returns EXIT_FAIL. */
static int fail(struct ck_remote *rm, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(struct ck_remote *rm, int r, const char *fmt, ...)
{
	const char *msg = ck_remote_error(rm);
	char what[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	fprintf(stderr, "ckstore: error: %s: %s\n", what,
		msg[0] ? msg : strerror(-r));
	switch (r) {
	case -EACCES:
		fprintf(stderr, "hint: the server wants a valid bearer token; "
				"pass --token or set CKSTORE_TOKEN\n");
		break;
	case -EPERM:
		fprintf(stderr, "hint: the token's role or container patterns "
				"do not allow this\n");
		break;
	case -ECONNREFUSED:
	case -EHOSTUNREACH:
	case -ETIMEDOUT:
		fprintf(stderr, "hint: is ckstored running at %s?\n",
			ck_remote_url(rm));
		break;
	case -EPROTO:
		fprintf(stderr, "hint: for https, --cacert (or "
				"CKSTORE_CACERT) names the server's CA\n");
		break;
	case -EBADMSG:
		fprintf(stderr, "hint: stored data failed verification on the "
				"server; run 'ckstore fsck' there\n");
		break;
	case -ENOSPC:
		fprintf(stderr, "hint: the server is out of space; nothing "
				"was committed\n");
		break;
	case -EUSERS:
		fprintf(stderr, "hint: the server has too many uploads open; "
				"retry later\n");
		break;
	default:
		break;
	}
	return EXIT_FAIL;
}

/* Resolves @spec; prints and returns EXIT_FAIL if it cannot. */
static int find(struct ck_remote *rm, const char *ctr, const char *spec,
		struct ck_version *v)
{
	int q;

	if (ck_name_check(ctr) < 0) {
		fprintf(stderr, "ckstore: error: invalid container name '%s'\n",
			ctr);
		return EXIT_FAIL;
	}
	q = ck_remote_version_get(rm, ctr, spec, v);
	if (q == -ENOENT || q == -EINVAL)
		return cli_no_version(ctr, spec);
	if (q < 0)
		return fail(rm, q, "cannot read version '%s/%s'", ctr, spec);
	return EXIT_OK;
}

static int push_report(const char *ctr, const struct ck_version *v,
		       const struct ck_remote_push_opts *po, uint64_t t0)
{
	char a[32], b[32], c[32];

	if (arg_json) {
		json_t *o = cli_version_json(v);

		json_object_set_new(o, "container", json_string(ctr));
		json_object_set_new(o, "seconds",
				    json_real((double)(cli_now_ns() - t0) /
					      1e9));
		json_object_set_new(o, "chunks_offered",
				    json_integer((json_int_t)po->chunks_offered));
		json_object_set_new(o, "chunks_sent",
				    json_integer((json_int_t)po->chunks_sent));
		json_object_set_new(o, "chunk_bytes_sent",
				    json_integer(
					    (json_int_t)po->chunk_bytes_sent));
		json_object_set_new(o, "wire_bytes_sent",
				    json_integer((json_int_t)po->wire_sent));
		json_object_set_new(o, "wire_bytes_received",
				    json_integer(
					    (json_int_t)po->wire_received));
		return cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	if (!arg_quiet)
		printf("%s #%u %s: %s logical, %s added (%" PRIu64
		       " new chunks), %s; %s sent\n",
		       ctr, v->seq, v->name,
		       cli_size(v->logical_bytes, a, sizeof(a)),
		       cli_size(v->added_bytes, b, sizeof(b)), v->added_chunks,
		       v->complete ? "complete" : "incomplete",
		       cli_size(po->wire_sent, c, sizeof(c)));
	return EXIT_OK;
}

int remote_push(const char *ctr, int ndirs, char **dirs, const char *name,
		int complete)
{
	struct ck_remote_push_opts po = { .name = name, .complete = complete };
	struct cli_progress pr = { .what = "push" };
	struct ck_remote *rm = connect_remote();
	struct ck_version v;
	const char *dir = NULL;
	uint64_t t0 = 0;
	int q = 0, ret = EXIT_OK;

	if (!rm)
		return EXIT_FAIL;
	if (getenv("CKSTORE_WIRE_RAW"))
		po.no_compress = true;
	if (cli_progress_enabled()) {
		po.progress = cli_progress_cb;
		po.progress_ud = &pr;
	}
	for (int i = 0; i < ndirs; i++) {
		dir = dirs[i];
		t0 = cli_now_ns();
		q = ck_remote_push_dir(rm, ctr, dir, &po, &v);
		cli_progress_end(&pr);
		if (q < 0)
			break;
		ret = push_report(ctr, &v, &po, t0);
		if (ret != EXIT_OK)
			break;
	}
	if (q == -EEXIST)
		ret = fail(rm, q,
			   "version '%s' already exists in container '%s'; "
			   "choose another --name",
			   name ? name : "(directory name)", ctr);
	else if (q == -EINVAL && !po.errpath[0] && !ck_remote_error(rm)[0])
		ret = cli_fail(q,
			       "the directory name of '%s' is not a valid "
			       "version name; pass --name",
			       dir);
	else if (q == -EMEDIUMTYPE)
		ret = cli_fail(q, "push of '%s' failed at '%s'", dir,
			       po.errpath);
	else if (q < 0)
		ret = fail(rm, q, "push of '%s' to %s failed%s%s%s; nothing was "
				  "committed",
			   dir, ck_remote_url(rm),
			   po.errpath[0] ? " at '" : "", po.errpath,
			   po.errpath[0] ? "'" : "");
	ck_remote_free(rm);
	return ret;
}

int remote_versions(const char *ctr)
{
	struct ck_remote *rm = connect_remote();
	struct ck_version *vs = NULL;
	size_t n = 0;
	int q, ret = EXIT_OK;

	if (!rm)
		return EXIT_FAIL;
	q = ck_name_check(ctr) < 0 ? -ENOENT
				   : ck_remote_versions(rm, ctr, &vs, &n);
	if (q == -ENOENT) {
		ck_remote_free(rm);
		fprintf(stderr,
			"ckstore: error: no container '%s' (see 'ckstore "
			"ls')\n",
			ctr);
		return EXIT_FAIL;
	}
	if (q < 0) {
		ret = fail(rm, q, "cannot list versions of '%s'", ctr);
		ck_remote_free(rm);
		return ret;
	}
	ret = cli_print_versions(vs, n);
	free(vs);
	ck_remote_free(rm);
	return ret;
}

static const char *type_name(enum ck_entry_type t)
{
	return t == CK_ENTRY_DIR ? "dir" : t == CK_ENTRY_SYMLINK ? "symlink"
								 : "file";
}

int remote_ls(int nargs, char **args)
{
	struct ck_remote *rm;
	int q, ret = EXIT_OK;

	if (nargs == 1)
		return remote_versions(args[0]);
	rm = connect_remote();
	if (!rm)
		return EXIT_FAIL;
	if (nargs == 0) {
		struct ck_remote_container *cs = NULL;
		json_t *a = arg_json ? json_array() : NULL;
		size_t n = 0;

		q = ck_remote_containers(rm, &cs, &n);
		if (q < 0) {
			json_decref(a);
			ret = fail(rm, q, "cannot list containers");
			ck_remote_free(rm);
			return ret;
		}
		if (!arg_json)
			printf("%-24s %8s %-16s %10s\n", "CONTAINER",
			       "VERSIONS", "LATEST", "LOGICAL");
		for (size_t i = 0; i < n; i++) {
			char s[32];

			if (arg_json)
				json_array_append_new(
					a, json_pack("{s:s, s:I, s:s?, s:I}",
						     "name", cs[i].name,
						     "versions",
						     (json_int_t)cs[i].versions,
						     "latest",
						     cs[i].latest[0] ? cs[i].latest
								     : NULL,
						     "logical_bytes",
						     (json_int_t)cs[i]
							     .logical_bytes));
			else
				printf("%-24s %8" PRIu64 " %-16s %10s\n",
				       cs[i].name, cs[i].versions,
				       cs[i].latest[0] ? cs[i].latest : "-",
				       cli_size(cs[i].logical_bytes, s,
						sizeof(s)));
		}
		free(cs);
		if (arg_json)
			ret = cli_json_print(a) < 0 ? EXIT_FAIL : EXIT_OK;
	} else {
		struct ck_version v;
		struct ck_entry *es = NULL;
		json_t *a;
		size_t n = 0;

		ret = find(rm, args[0], args[1], &v);
		if (ret != EXIT_OK) {
			ck_remote_free(rm);
			return ret;
		}
		q = ck_remote_entries(rm, &v, NULL, &es, &n);
		if (q < 0) {
			ret = fail(rm, q, "cannot list version '%s/%s'",
				   args[0], args[1]);
			ck_remote_free(rm);
			return ret;
		}
		a = arg_json ? json_array() : NULL;
		for (size_t i = 0; i < n; i++) {
			char t[64];

			if (arg_json) {
				char m[8];
				json_t *o;

				snprintf(m, sizeof(m), "%04o", es[i].mode);
				o = json_pack(
					"{s:s, s:s, s:s, s:I, s:I, s:I, s:s}",
					"path", es[i].path, "type",
					type_name(es[i].type), "mode", m,
					"size", (json_int_t)es[i].size, "uid",
					(json_int_t)es[i].uid, "gid",
					(json_int_t)es[i].gid, "mtime",
					cli_time(es[i].mtime_ns, t, sizeof(t)));
				if (es[i].type == CK_ENTRY_SYMLINK)
					json_object_set_new(
						o, "target",
						json_string(es[i].target));
				json_array_append_new(a, o);
				continue;
			}
			printf("%c%04o %5u %5u %12" PRIu64 " %s %s%s%s\n",
			       es[i].type == CK_ENTRY_DIR	 ? 'd'
			       : es[i].type == CK_ENTRY_SYMLINK ? 'l'
								: '-',
			       es[i].mode, es[i].uid, es[i].gid, es[i].size,
			       cli_time(es[i].mtime_ns, t, sizeof(t)),
			       es[i].path,
			       es[i].type == CK_ENTRY_SYMLINK ? " -> " : "",
			       es[i].target);
		}
		free(es);
		if (arg_json)
			ret = cli_json_print(a) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	ck_remote_free(rm);
	return ret;
}

int remote_cat(const char *ctr, const char *spec, const char *path)
{
	struct ck_remote *rm = connect_remote();
	struct ck_version v;
	int q, ret;

	if (!rm)
		return EXIT_FAIL;
	ret = find(rm, ctr, spec, &v);
	if (ret != EXIT_OK) {
		ck_remote_free(rm);
		return ret;
	}
	fflush(stdout);
	q = ck_path_check(path) < 0 ? -ENOENT
				    : ck_remote_cat(rm, &v, path, STDOUT_FILENO);
	if (q == -ENOENT) {
		fprintf(stderr,
			"ckstore: error: no file '%s' in version '%s/%s' (see "
			"'ckstore ls %s %s')\n",
			path, ctr, spec, ctr, spec);
		ret = EXIT_FAIL;
	} else if (q == -EISDIR) {
		ret = cli_fail(q, "cannot read '%s' of version '%s/%s'", path,
			       ctr, spec);
	} else if (q < 0) {
		ret = fail(rm, q, "cannot read '%s' of version '%s/%s'", path,
			   ctr, spec);
	}
	ck_remote_free(rm);
	return ret;
}

int remote_restore(const char *ctr, const char *spec, const char *dest,
		   bool flatten)
{
	struct ck_remote_restore_opts ro = { .flatten = flatten };
	struct cli_progress pr = { .what = "restore" };
	struct ck_remote *rm = connect_remote();
	struct ck_version v;
	const char *par = getenv("CKSTORE_PARALLEL");
	uint64_t t0;
	int q, ret;

	if (!rm)
		return EXIT_FAIL;
	ret = find(rm, ctr, spec, &v);
	if (ret != EXIT_OK) {
		ck_remote_free(rm);
		return ret;
	}
	if (par)
		ro.parallel = (unsigned)atoi(par);
	if (cli_progress_enabled()) {
		ro.progress = cli_progress_cb;
		ro.progress_ud = &pr;
	}
	t0 = cli_now_ns();
	q = ck_remote_restore(rm, &v, dest, &ro);
	cli_progress_end(&pr);
	if (q == -EEXIST) {
		ret = cli_fail(q,
			       "cannot restore into '%s' (it exists and is not "
			       "empty)",
			       dest);
	} else if (q == -ENOLINK) {
		ret = fail(rm, q,
			   "'%s/%s' cannot be flattened: pages of its parent "
			   "chain are not stored",
			   ctr, v.name);
	} else if (q < 0) {
		ret = fail(rm, q,
			   "restore of '%s/%s' into '%s' failed; the directory "
			   "is incomplete, remove it",
			   ctr, v.name, dest);
	} else if (arg_json) {
		json_t *o = cli_version_json(&v);

		json_object_set_new(o, "container", json_string(ctr));
		json_object_set_new(o, "dest", json_string(dest));
		json_object_set_new(o, "seconds",
				    json_real((double)(cli_now_ns() - t0) /
					      1e9));
		json_object_set_new(o, "wire_bytes_received",
				    json_integer((json_int_t)
							 ck_remote_bytes_received(
								 rm)));
		ret = cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
	} else {
		if (!arg_quiet)
			fprintf(stderr, "ckstore: restored %s #%u %s into %s\n",
				ctr, v.seq, v.name, dest);
		ret = EXIT_OK;
	}
	ck_remote_free(rm);
	return ret;
}

int remote_rm(const char *ctr, const char *spec)
{
	struct ck_remote *rm = connect_remote();
	struct ck_version v;
	uint64_t freed = 0;
	char s[32];
	int q, ret;

	if (!rm)
		return EXIT_FAIL;
	ret = find(rm, ctr, spec, &v);
	if (ret != EXIT_OK) {
		ck_remote_free(rm);
		return ret;
	}
	q = ck_remote_delete(rm, &v, &freed);
	if (q < 0) {
		ret = fail(rm, q, "cannot delete '%s/%s'", ctr, spec);
	} else if (arg_json) {
		ret = cli_json_print(json_pack("{s:s, s:s, s:I}", "container",
					       ctr, "name", v.name,
					       "freed_bytes",
					       (json_int_t)freed)) < 0
			      ? EXIT_FAIL
			      : EXIT_OK;
	} else {
		if (!arg_quiet)
			printf("deleted %s #%u %s, reclaimed %s\n", ctr, v.seq,
			       v.name, cli_size(freed, s, sizeof(s)));
		ret = EXIT_OK;
	}
	ck_remote_free(rm);
	return ret;
}

int remote_stats(const char *ctr)
{
	struct ck_remote *rm = connect_remote();
	char c[3 * CK_NAME_MAX + 1], path[4 * CK_NAME_MAX];
	struct ck_http_req hq = { .method = "GET", .path = path };
	json_t *o = NULL;
	int q, ret = EXIT_OK;

	if (!rm)
		return EXIT_FAIL;
	if (ctr && ck_http_escape(ctr, false, c, sizeof(c)) < 0)
		q = -ENOENT;
	else {
		if (ctr)
			snprintf(path, sizeof(path), "/v1/containers/%s/stats",
				 c);
		else
			snprintf(path, sizeof(path), "/v1/stats");
		q = ck_remote_call(rm, &hq, (void **)&o);
	}
	if (q == -ENOENT && ctr) {
		ck_remote_free(rm);
		fprintf(stderr, "ckstore: error: no container '%s'\n", ctr);
		return EXIT_FAIL;
	}
	if (q < 0 || !o) {
		ret = fail(rm, q < 0 ? q : -EPROTO,
			   "cannot compute statistics");
		ck_remote_free(rm);
		return ret;
	}
	ck_remote_free(rm);
	/* The server answers with what `stats --json` prints locally. */
	return cli_print_stats(o, ctr);
}

int remote_fsck(void)
{
	struct ck_remote *rm = connect_remote();
	char *text = NULL;
	json_t *o, *p;
	size_t i;
	int q, mask;

	if (!rm)
		return EXIT_FAIL;
	q = ck_remote_post_json(rm, "/v1/fsck", "{}", &text);
	if (q < 0) {
		q = fail(rm, q, "fsck could not complete");
		ck_remote_free(rm);
		return q;
	}
	ck_remote_free(rm);
	o = json_loads(text, 0, NULL);
	free(text);
	if (!o) {
		fprintf(stderr, "ckstore: error: malformed fsck answer\n");
		return EXIT_FAIL;
	}
	mask = (int)json_integer_value(json_object_get(o, "mask"));
	if (arg_json) {
		json_object_del(o, "mask");
		json_object_del(o, "problems_dropped");
		if (cli_json_print(o) < 0)
			return EXIT_FAIL;
		return mask ? FSCK_EXIT(mask) : EXIT_OK;
	}
	json_array_foreach(json_object_get(o, "problems"), i, p)
		printf("%s: %s\n",
		       json_string_value(json_object_get(p, "class")),
		       json_string_value(json_object_get(p, "message")));
	if (!arg_quiet) {
		fprintf(stderr,
			"fsck: %" PRIu64 " versions, %" PRIu64
			" files, %" PRIu64 " chunks (%" PRIu64
			" deltas) checked; %zu problems\n",
			(uint64_t)json_integer_value(
				json_object_get(o, "versions")),
			(uint64_t)json_integer_value(json_object_get(o, "files")),
			(uint64_t)json_integer_value(
				json_object_get(o, "chunks")),
			(uint64_t)json_integer_value(
				json_object_get(o, "delta_chunks")),
			json_array_size(json_object_get(o, "problems")));
		if (json_integer_value(json_object_get(o, "garbage_chunks"))) {
			char s[32];

			fprintf(stderr,
				"fsck: %" PRIu64
				" uncommitted chunks (%s) from interrupted "
				"pushes; gc reclaims them\n",
				(uint64_t)json_integer_value(
					json_object_get(o, "garbage_chunks")),
				cli_size((uint64_t)json_integer_value(
						 json_object_get(
							 o, "garbage_bytes")),
					 s, sizeof(s)));
		}
	}
	json_decref(o);
	return mask ? FSCK_EXIT(mask) : EXIT_OK;
}

int remote_gc(const char *ctr, bool dry_run, bool compact)
{
	struct ck_remote *rm = connect_remote();
	char *text = NULL, *body;
	char a[32], b[32], c1[32], d[32];
	json_t *o, *v, *req;
	size_t i;
	int q;

	if (!rm)
		return EXIT_FAIL;
	req = json_pack("{s:s?, s:b, s:b}", "container", ctr, "dry_run",
			dry_run, "compact", compact);
	body = req ? json_dumps(req, JSON_COMPACT) : NULL;
	json_decref(req);
	if (!body) {
		ck_remote_free(rm);
		return cli_fail(-ENOMEM, "gc");
	}
	q = ck_remote_post_json(rm, "/v1/gc", body, &text);
	free(body);
	if (q == -ENOENT && ctr) {
		ck_remote_free(rm);
		fprintf(stderr, "ckstore: error: no container '%s'\n", ctr);
		return EXIT_FAIL;
	}
	if (q < 0) {
		q = fail(rm, q, "gc failed (what it did so far is consistent; "
				"run it again)");
		ck_remote_free(rm);
		return q;
	}
	ck_remote_free(rm);
	o = json_loads(text, 0, NULL);
	free(text);
	if (!o) {
		fprintf(stderr, "ckstore: error: malformed gc answer\n");
		return EXIT_FAIL;
	}
	if (arg_json) {
		json_t *list = json_array();

		json_array_foreach(json_object_get(o, "versions"), i, v)
		{
			struct ck_version cv;
			json_t *j;

			if (ck_remote_version_json(v, &cv) < 0)
				continue;
			j = cli_version_json(&cv);
			json_object_set_new(j, "container",
					    json_string(cv.container));
			json_array_append_new(list, j);
		}
		json_object_set_new(o, "versions", list);
		return cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
	}
	json_array_foreach(json_object_get(o, "versions"), i, v)
	{
		struct ck_version cv;
		char t[64];

		if (ck_remote_version_json(v, &cv) < 0)
			continue;
		printf("%s %s #%u %s (%s, created %s)\n",
		       dry_run ? "would delete" : "deleting", cv.container,
		       cv.seq, cv.name, cv.complete ? "complete" : "incomplete",
		       cli_time(cv.created_ns, t, sizeof(t)));
	}
#define U(k) ((uint64_t)json_integer_value(json_object_get(o, k)))
	printf("%s %" PRIu64 " versions: %" PRIu64 " chunks, %s; garbage from "
	       "interrupted writes: %" PRIu64 " chunks, %s\n",
	       dry_run ? "would delete" : "deleted", U("versions_deleted"),
	       U("chunks_freed"), cli_size(U("bytes_freed"), a, sizeof(a)),
	       U("garbage_chunks"), cli_size(U("garbage_bytes"), b, sizeof(b)));
	if (!dry_run)
		printf("repository on disk: %s -> %s\n",
		       cli_size(U("disk_before"), c1, sizeof(c1)),
		       cli_size(U("disk_after"), d, sizeof(d)));
#undef U
	json_decref(o);
	return EXIT_OK;
}

int remote_policy(const char *ctr, bool set, bool clear, long long groups,
		  long long last, long long within, long long incomplete)
{
	struct ck_http_req hq = { .path = NULL, .ctype = "application/json" };
	char c[3 * CK_NAME_MAX + 1], path[4 * CK_NAME_MAX];
	struct ck_remote *rm = connect_remote();
	json_t *o = NULL, *req = NULL;
	char *body = NULL;
	int q;

	if (!rm)
		return EXIT_FAIL;
	if (ctr) {
		if (ck_http_escape(ctr, false, c, sizeof(c)) < 0) {
			ck_remote_free(rm);
			return cli_fail(-EINVAL, "bad container name");
		}
		snprintf(path, sizeof(path), "/v1/containers/%s/policy", c);
	} else {
		snprintf(path, sizeof(path), "/v1/policy");
	}
	hq.path = path;
	hq.method = set ? "PUT" : clear ? "DELETE" : "GET";
	if (set) {
		req = json_object();
		if (groups >= 0)
			json_object_set_new(req, "keep_groups",
					    json_integer(groups));
		if (last >= 0)
			json_object_set_new(req, "keep_last",
					    json_integer(last));
		if (within >= 0)
			json_object_set_new(req, "keep_within",
					    json_integer(within));
		if (incomplete >= 0)
			json_object_set_new(req, "expire_incomplete",
					    json_integer(incomplete));
		body = json_dumps(req, JSON_COMPACT);
		json_decref(req);
		if (!body) {
			ck_remote_free(rm);
			return cli_fail(-ENOMEM, "policy");
		}
		hq.body = body;
		hq.len = strlen(body);
	}
	q = ck_remote_call(rm, &hq, (void **)&o);
	free(body);
	if (q < 0) {
		q = fail(rm, q, "cannot %s the retention policy",
			 set || clear ? "set" : "read");
		ck_remote_free(rm);
		return q;
	}
	ck_remote_free(rm);
	if (arg_json)
		return cli_json_print(o) < 0 ? EXIT_FAIL : EXIT_OK;
	printf("%s%s: keep-groups %lld, keep-last %lld, keep-within %llds, "
	       "expire-incomplete %llds\n",
	       ctr ? ctr : "repository default",
	       ctr && !json_is_true(json_object_get(o, "own"))
		       ? " (repository default)"
		       : "",
	       (long long)json_integer_value(json_object_get(o, "keep_groups")),
	       (long long)json_integer_value(json_object_get(o, "keep_last")),
	       (long long)json_integer_value(json_object_get(o, "keep_within")),
	       (long long)json_integer_value(
		       json_object_get(o, "expire_incomplete")));
	json_decref(o);
	return EXIT_OK;
}

int remote_pin(const char *ctr, const char *spec, bool pinned)
{
	struct ck_http_req hq = { .method = pinned ? "POST" : "DELETE" };
	struct ck_remote *rm = connect_remote();
	char path[8 * CK_NAME_MAX];
	struct ck_version v;
	int q, ret;

	if (!rm)
		return EXIT_FAIL;
	ret = find(rm, ctr, spec, &v);
	if (ret != EXIT_OK) {
		ck_remote_free(rm);
		return ret;
	}
	q = ck_remote_version_path(&v, "/pin", path, sizeof(path));
	hq.path = path;
	if (q == 0)
		q = ck_remote_call(rm, &hq, NULL);
	if (q < 0) {
		ret = fail(rm, q, "cannot %s '%s/%s'", pinned ? "pin" : "unpin",
			   ctr, spec);
	} else if (!arg_quiet) {
		printf("%s %s #%u %s\n", pinned ? "pinned" : "unpinned", ctr,
		       v.seq, v.name);
	}
	ck_remote_free(rm);
	return ret;
}
