/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "gc.h"
#include "remote-cli.h"

static void on_version(void *ud, const struct ck_version *v)
{
	json_t *a = ud;
	char t[64];

	if (a) {
		json_t *o = cli_version_json(v);

		json_object_set_new(o, "container", json_string(v->container));
		json_array_append_new(a, o);
		return;
	}
	printf("%s %s #%u %s (%s, created %s)\n",
	       arg_gc_dry_run ? "would delete" : "deleting", v->container,
	       v->seq, v->name, v->complete ? "complete" : "incomplete",
	       cli_time(v->created_ns, t, sizeof(t)));
}

bool arg_gc_dry_run;

int verb_gc(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dry-run", no_argument, NULL, 'n' },
		{ "no-compact", no_argument, NULL, 'C' },
		{ NULL, 0, NULL, 0 },
	};
	struct ck_gc_opts o = { .compact = true };
	struct ck_gc_report rep;
	struct ck_repo *r;
	json_t *list = NULL;
	char a[32], b[32], c1[32], d[32];
	int c, q;

	while ((c = cli_getopt(argc, argv, "gc", opts, "n")) != -1) {
		switch (c) {
		case 'n':
			o.dry_run = arg_gc_dry_run = true;
			break;
		case 'C':
			o.compact = false;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("gc", "too many arguments");
	if (argc - optind == 1)
		o.container = argv[optind];
	if (arg_server)
		return remote_gc(o.container, o.dry_run, o.compact);
	r = cli_open(!o.dry_run, "ckstore gc");
	if (!r)
		return EXIT_FAIL;
	if (arg_json)
		list = json_array();
	o.on_version = on_version;
	o.ud = list;
	q = ck_gc_run(r, &o, &rep);
	ck_repo_free(r);
	if (q == -ENOENT && o.container) {
		json_decref(list);
		fprintf(stderr, "ckstore: error: no container '%s'\n",
			o.container);
		return EXIT_FAIL;
	}
	if (q < 0) {
		json_decref(list);
		return cli_fail(q, "gc failed (what it did so far is "
				   "consistent; run it again)");
	}
	if (arg_json)
		return cli_json_print(json_pack(
			       "{s:b, s:o, s:I, s:I, s:I, s:I, s:I, s:I, "
			       "s:I, s:f}",
			       "dry_run", o.dry_run, "versions", list,
			       "versions_deleted",
			       (json_int_t)rep.versions_deleted,
			       "chunks_freed", (json_int_t)rep.chunks_freed,
			       "bytes_freed", (json_int_t)rep.bytes_freed,
			       "garbage_chunks",
			       (json_int_t)rep.garbage_chunks,
			       "garbage_bytes", (json_int_t)rep.garbage_bytes,
			       "disk_before", (json_int_t)rep.disk_before,
			       "disk_after", (json_int_t)rep.disk_after,
			       "seconds", rep.seconds)) < 0
			       ? EXIT_FAIL
			       : EXIT_OK;
	printf("%s %" PRIu64 " versions: %" PRIu64 " chunks, %s; garbage from "
	       "interrupted writes: %" PRIu64 " chunks, %s\n",
	       o.dry_run ? "would delete" : "deleted", rep.versions_deleted,
	       rep.chunks_freed, cli_size(rep.bytes_freed, a, sizeof(a)),
	       rep.garbage_chunks, cli_size(rep.garbage_bytes, b, sizeof(b)));
	if (!o.dry_run)
		printf("repository on disk: %s -> %s\n",
		       cli_size(rep.disk_before, c1, sizeof(c1)),
		       cli_size(rep.disk_after, d, sizeof(d)));
	return EXIT_OK;
}

static void print_policy(const char *ctr, const struct ck_policy *p,
			 bool own)
{
	if (arg_json) {
		cli_json_print(json_pack(
			"{s:s?, s:b, s:I, s:I, s:I, s:I}", "container", ctr,
			"own", own, "keep_groups", (json_int_t)p->keep_groups,
			"keep_last", (json_int_t)p->keep_last, "keep_within",
			(json_int_t)p->keep_within, "expire_incomplete",
			(json_int_t)p->expire_incomplete));
		return;
	}
	printf("%s%s: keep-groups %u, keep-last %u, keep-within %llds, "
	       "expire-incomplete %llds\n",
	       ctr ? ctr : "repository default",
	       ctr && !own ? " (repository default)" : "", p->keep_groups,
	       p->keep_last, (long long)p->keep_within,
	       (long long)p->expire_incomplete);
}

int verb_policy(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "keep-groups", required_argument, NULL, 'g' },
		{ "keep-last", required_argument, NULL, 'l' },
		{ "keep-within", required_argument, NULL, 'w' },
		{ "expire-incomplete", required_argument, NULL, 'e' },
		{ "clear", no_argument, NULL, 'c' },
		{ NULL, 0, NULL, 0 },
	};
	const char *ctr = NULL;
	struct ck_policy p;
	struct ck_repo *r;
	bool set = false, clear = false, own = false;
	long long gv = -1, lv = -1;
	int64_t wv = -1, ev = -1;
	char *end;
	int c, q;

	while ((c = cli_getopt(argc, argv, "policy", opts, NULL)) != -1) {
		switch (c) {
		case 'g':
		case 'l': {
			long long *dst = c == 'g' ? &gv : &lv;

			errno = 0;
			*dst = strtoll(optarg, &end, 10);
			if (errno || *end || *dst < 0 || *dst > UINT32_MAX)
				return cli_usage_error(
					"policy", "'%s' is not a count",
					optarg);
			set = true;
			break;
		}
		case 'w':
		case 'e':
			if (ck_duration_parse(optarg, c == 'w' ? &wv : &ev) < 0)
				return cli_usage_error(
					"policy",
					"'%s' is not a duration (e.g. 90s, "
					"15m, 2h, 7d)",
					optarg);
			set = true;
			break;
		case 'c':
			clear = true;
			break;
		case 'h':
			return EXIT_OK;
		default:
			return EXIT_USAGE;
		}
	}
	if (argc - optind > 1)
		return cli_usage_error("policy", "too many arguments");
	if (argc - optind == 1)
		ctr = argv[optind];
	if (ctr && ck_name_check(ctr) < 0)
		return cli_usage_error("policy", "invalid container name '%s'",
				       ctr);
	if (clear && (!ctr || set))
		return cli_usage_error("policy",
				       "--clear takes a CONTAINER and no "
				       "other option");
	if (arg_server)
		return remote_policy(ctr, set, clear, gv, lv, wv, ev);
	r = cli_open(set || clear, "ckstore policy");
	if (!r)
		return EXIT_FAIL;
	q = ck_policy_get(r, ctr, &p, &own);
	if (q == 0 && set) {
		if (gv >= 0)
			p.keep_groups = (uint32_t)gv;
		if (lv >= 0)
			p.keep_last = (uint32_t)lv;
		if (wv >= 0)
			p.keep_within = wv;
		if (ev >= 0)
			p.expire_incomplete = ev;
		q = ck_policy_set(r, ctr, &p);
		own = ctr != NULL;
	} else if (q == 0 && clear) {
		q = ck_policy_clear(r, ctr);
		if (q == 0)
			q = ck_policy_get(r, ctr, &p, &own);
	}
	ck_repo_free(r);
	if (q < 0)
		return cli_fail(q, "cannot %s the retention policy",
				set || clear ? "set" : "read");
	print_policy(ctr, &p, own);
	return EXIT_OK;
}
