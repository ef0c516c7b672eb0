/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "report.h"
#include "log.h"

const char *arg_repo;
const char *arg_server;
const char *arg_token;
const char *arg_cacert;
int arg_progress = -1;
bool arg_json;
bool arg_quiet;

extern const struct verb ck_verbs[];

static const struct verb *find(const char *name)
{
	for (const struct verb *v = ck_verbs; v->name; v++)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

void cli_usage(FILE *f, const char *verb)
{
	const struct verb *v = find(verb);

	if (v)
		fprintf(f, "usage: ckstore [--repo DIR] %s %s\n", v->name,
			v->args);
}

int cli_usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ckstore %s: ", verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; try 'ckstore %s --help'\n", verb);
	return EXIT_USAGE;
}

int cli_getopt(int argc, char **argv, const char *verb,
	       const struct option *extra, const char *shortopts)
{
	enum { OPT_JSON = 1000, OPT_PROGRESS, OPT_NO_PROGRESS };
	static struct option all[32];
	static const char *last_verb;
	static char sopts[64];
	int c;

	if (last_verb != verb) {
		size_t n = 0;

		all[n++] = (struct option){ "json", no_argument, NULL,
					    OPT_JSON };
		all[n++] = (struct option){ "progress", no_argument, NULL,
					    OPT_PROGRESS };
		all[n++] = (struct option){ "no-progress", no_argument, NULL,
					    OPT_NO_PROGRESS };
		all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
		for (; extra && extra->name && n < 31; extra++)
			all[n++] = *extra;
		all[n] = (struct option){ 0 };
		snprintf(sopts, sizeof(sopts), "h%s",
			 shortopts ? shortopts : "");
		last_verb = verb;
		optind = 0; /* 0, not 1: also resets GNU getopt's ordering
			     * mode, which main() set to stop at the verb */
	}
	opterr = 0;
	c = getopt_long(argc, argv, sopts, all, NULL);
	switch (c) {
	case OPT_JSON:
		arg_json = true;
		return cli_getopt(argc, argv, verb, extra, shortopts);
	case OPT_PROGRESS:
		arg_progress = 1;
		return cli_getopt(argc, argv, verb, extra, shortopts);
	case OPT_NO_PROGRESS:
		arg_progress = 0;
		return cli_getopt(argc, argv, verb, extra, shortopts);
	case 'h':
		cli_usage(stdout, verb);
		return 'h';
	case '?':
		if (optopt)
			cli_usage_error(verb, "option '-%c' is not valid here",
					optopt);
		else
			cli_usage_error(verb, "option '%s' is not valid here",
					argv[optind - 1]);
		return '?';
	case ':':
		cli_usage_error(verb, "option '%s' needs a value",
				argv[optind - 1]);
		return '?';
	default:
		return c;
	}
}

static const char *hint(int r)
{
	switch (r) {
	case -EBADMSG:
		return "stored data failed verification; run 'ckstore fsck' "
		       "to see what is damaged";
	case -ENOSPC:
		return "the file system holding the repository is full: free "
		       "space there and retry (then 'ckstore gc' reclaims "
		       "what interrupted writes left); nothing was committed";
	case -EROFS:
		return "the repository is open read-only";
	case -EMEDIUMTYPE:
		return "only regular files, directories and symlinks can be "
		       "stored";
	case -EAGAIN:
		return "a chunk it reused was deleted meanwhile; retry";
	default:
		return NULL;
	}
}

int cli_fail(int r, const char *fmt, ...)
{
	char what[1024];
	const char *h = hint(r);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	if (r == -EMEDIUMTYPE)
		fprintf(stderr, "ckstore: error: %s: unsupported file type\n",
			what);
	else
		fprintf(stderr, "ckstore: error: %s: %s\n", what,
			strerror(-r));
	if (h)
		fprintf(stderr, "hint: %s\n", h);
	return EXIT_FAIL;
}

struct ck_repo *cli_open(bool write, const char *program)
{
	struct ck_repo *r = NULL;
	char holder[256];
	int q;

	q = ck_repo_open(arg_repo, write ? CK_OPEN_WRITE : CK_OPEN_READ,
			 program, &r);
	if (q == 0)
		return r;
	switch (q) {
	case -ENOTDIR:
	case -ENOENT:
		fprintf(stderr,
			"ckstore: error: '%s' is not a ckstore repository\n"
			"hint: create one with 'ckstore --repo %s init', or "
			"point --repo (or CKSTORE_REPO) at one\n",
			arg_repo, arg_repo);
		break;
	case -EBUSY:
		ck_repo_holder(arg_repo, holder, sizeof(holder));
		fprintf(stderr,
			"ckstore: error: repository '%s' is held by %s\n"
			"hint: reading verbs work while it is held; to write, "
			"go through that process (e.g. --server URL) or stop "
			"it first\n",
			arg_repo, holder[0] ? holder : "another process");
		break;
	case -EPROTONOSUPPORT:
		fprintf(stderr,
			"ckstore: error: repository '%s' has an on-disk format "
			"this ckstore does not know (made by a newer "
			"ckstore?)\n",
			arg_repo);
		break;
	default:
		cli_fail(q, "cannot open repository '%s'", arg_repo);
	}
	return NULL;
}

const char *cli_size(uint64_t n, char *buf, size_t cap)
{
	static const char *const units[] = { "B", "KiB", "MiB", "GiB",
					     "TiB" };
	double v = (double)n;
	int u = 0;

	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, cap, "%" PRIu64 " B", n);
	else
		snprintf(buf, cap, "%.1f %s", v, units[u]);
	return buf;
}

const char *cli_time(int64_t ns, char *buf, size_t cap)
{
	return ck_iso_time(ns, buf, cap);
}

int cli_json_print(json_t *o)
{
	int r;

	if (!o)
		return -ENOMEM;
	r = json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	fputc('\n', stdout);
	return r < 0 ? -EIO : 0;
}

json_t *cli_version_json(const struct ck_version *v)
{
	char t[64];

	return json_pack("{s:I, s:s, s:s, s:s, s:s, s:s?, s:I, s:b, s:I, "
			 "s:I, s:I, s:I, s:s}",
			 "seq", (json_int_t)v->seq, "name", v->name, "created",
			 cli_time(v->created_ns, t, sizeof(t)), "state",
			 v->complete ? "complete" : "incomplete", "kind",
			 v->kind == CK_KIND_PREDUMP ? "pre-dump" : "dump",
			 "parent", v->parent[0] ? v->parent : NULL, "group",
			 (json_int_t)v->group, "pinned", v->pinned,
			 "logical_bytes", (json_int_t)v->logical_bytes,
			 "added_bytes", (json_int_t)v->added_bytes,
			 "added_chunks", (json_int_t)v->added_chunks, "files",
			 (json_int_t)v->files, "chain",
			 v->chain == CK_CHAIN_FULL	  ? "full"
			 : v->chain == CK_CHAIN_FLATTENED ? "flattened"
							  : "broken");
}

uint64_t cli_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000 + (uint64_t)ts.tv_nsec;
}

bool cli_progress_enabled(void)
{
	if (arg_progress >= 0)
		return arg_progress;
	return isatty(STDERR_FILENO);
}

void cli_progress_cb(void *ud, uint64_t done, uint64_t total)
{
	struct cli_progress *p = ud;
	uint64_t now = cli_now_ns();
	char a[32], b[32];
	double secs;

	if (!p->start_ns)
		p->start_ns = now;
	if (now - p->last_ns < 160000000 && done < total)
		return;
	p->last_ns = now;
	p->active = true;
	secs = (double)(now - p->start_ns) / 1e9;
	fprintf(stderr, "\r%s: %s / %s (%3.0f%%) %.0f MiB/s   ", p->what,
		cli_size(done, a, sizeof(a)), cli_size(total, b, sizeof(b)),
		total ? 100.0 * (double)done / (double)total : 100.0,
		secs > 0 ? (double)done / secs / 1048576 : 0.0);
}

void cli_progress_end(struct cli_progress *p)
{
	if (p->active)
		fputc('\n', stderr);
	p->active = false;
}

int cli_no_version(const char *ctr, const char *spec)
{
	fprintf(stderr,
		"ckstore: error: no %sversion '%s' in container '%s' (see "
		"'ckstore versions %s')\n",
		strcmp(spec, "latest") ? "" : "complete ", spec, ctr, ctr);
	return EXIT_FAIL;
}

int cli_find_version(struct ck_repo *r, const char *ctr, const char *spec,
		     struct ck_version *v)
{
	int q = ck_repo_version_find(r, ctr, spec, v);

	if (q == -ENOENT || q == -EINVAL)
		return cli_no_version(ctr, spec);
	if (q < 0)
		return cli_fail(q, "cannot read version '%s/%s'", ctr, spec);
	return EXIT_OK;
}
