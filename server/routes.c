/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "compress.h"
#include "extract.h"
#include "fsck.h"
#include "gc.h"
#include "log.h"
#include "gcsched.h"
#include "report.h"
#include "routes.h"
#include "tar.h"
#include "upload.h"

#define CKSTORED_VERSION "0.1.0"
#define MAX_SEGS 300
#define MAX_QUERY 16
#define READ_AHEAD (1u << 20)
#define FSCK_MAX_PROBLEMS 1000

struct ck_routes {
	struct ck_repo *r;
	const struct ck_config *cfg;
	struct ck_metrics *m;
	struct ck_uploads *up;
	pthread_mutex_t auth_lock;
	struct ck_auth *auth; /* auth_lock */
	atomic_bool draining;
	atomic_uint_fast64_t active;
	uint64_t start_ns;
};

enum body_kind { BODY_NONE, BODY_JSON, BODY_FILE, BODY_CHUNKS };
enum scope { SCOPE_NONE, SCOPE_REPO, SCOPE_CONTAINER, SCOPE_UPLOAD };

struct rq;
typedef int (*handler_fn)(struct ck_routes *rt, struct rq *q,
			  struct ck_http_req *req);

struct route {
	const char *name; /* metrics label */
	enum ck_http_method method;
	const char *pattern; /* '/'-separated; "*" one segment, "**" rest */
	enum ck_role role;
	enum scope scope;
	enum body_kind body;
	handler_fn fn;
};

struct rq {
	const struct route *route;
	size_t route_idx;
	char *segs[MAX_SEGS];
	size_t nsegs;
	char *caps[4]; /* borrowed from segs: the "*" captures */
	size_t ncaps;
	char *rest;    /* "**": the remaining segments joined by '/' */
	struct {
		char *key, *val;
	} query[MAX_QUERY];
	size_t nquery;
	struct ck_auth *auth;
	struct ck_principal who;
	bool active;
};

/* --- helpers ----------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Percent-decodes @s[0..n) into a new string. -EINVAL for a bad escape,
 * a NUL or another control character, or (if @segment) a '/'. */
static int decode(const char *s, size_t n, bool segment, bool plus_space,
		  char **ret)
{
	char *o = malloc(n + 1);
	size_t k = 0;

	if (!o)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '%') {
			int hi, lo;

			if (i + 2 >= n) {
				free(o);
				return -EINVAL;
			}
			hi = hexval(s[i + 1]);
			lo = hexval(s[i + 2]);
			if (hi < 0 || lo < 0) {
				free(o);
				return -EINVAL;
			}
			c = (unsigned char)(hi << 4 | lo);
			i += 2;
		} else if (c == '+' && plus_space) {
			c = ' ';
		}
		if (c < 0x20 || c == 0x7f || (segment && c == '/')) {
			free(o);
			return -EINVAL;
		}
		o[k++] = (char)c;
	}
	o[k] = 0;
	*ret = o;
	return 0;
}

static void rq_free(struct rq *q)
{
	if (!q)
		return;
	for (size_t i = 0; i < q->nsegs; i++)
		free(q->segs[i]);
	for (size_t i = 0; i < q->nquery; i++) {
		free(q->query[i].key);
		free(q->query[i].val);
	}
	free(q->rest);
	ck_auth_unref(q->auth);
	free(q);
}

/* Splits the raw target into decoded path segments and query pairs. */
static int rq_parse(struct rq *q, const char *uri)
{
	const char *qs = strchr(uri, '?');
	size_t plen = qs ? (size_t)(qs - uri) : strlen(uri);
	const char *p = uri + 1;
	int r;

	if (uri[0] != '/')
		return -EINVAL;
	while (p <= uri + plen) {
		const char *e = memchr(p, '/', (size_t)(uri + plen - p));
		size_t n = e ? (size_t)(e - p) : (size_t)(uri + plen - p);

		if (q->nsegs == MAX_SEGS)
			return -ENAMETOOLONG;
		r = decode(p, n, true, false, &q->segs[q->nsegs]);
		if (r < 0)
			return r;
		q->nsegs++;
		if (!e)
			break;
		p = e + 1;
	}
	if (!qs)
		return 0;
	for (p = qs + 1; *p;) {
		const char *e = strchr(p, '&');
		size_t n = e ? (size_t)(e - p) : strlen(p);
		const char *eq = memchr(p, '=', n);

		if (n && q->nquery < MAX_QUERY) {
			size_t kl = eq ? (size_t)(eq - p) : n;

			r = decode(p, kl, false, true, &q->query[q->nquery].key);
			if (r < 0)
				return r;
			r = decode(eq ? eq + 1 : p + n, eq ? n - kl - 1 : 0,
				   false, true, &q->query[q->nquery].val);
			if (r < 0) {
				free(q->query[q->nquery].key);
				return r;
			}
			q->nquery++;
		} else if (n) {
			return -E2BIG;
		}
		if (!e)
			break;
		p = e + 1;
	}
	return 0;
}

static const char *query(const struct rq *q, const char *key)
{
	for (size_t i = 0; i < q->nquery; i++)
		if (!strcmp(q->query[i].key, key))
			return q->query[i].val;
	return NULL;
}

/* A decimal query parameter: -EINVAL if malformed, -ENOENT if absent
 * and required. */
static int query_u64(const struct rq *q, const char *key, bool required,
		     uint64_t def, uint64_t *ret)
{
	const char *v = query(q, key);
	char *end;
	unsigned long long x;

	if (!v) {
		*ret = def;
		return required ? -ENOENT : 0;
	}
	if (!*v || *v == '-' || *v == '+')
		return -EINVAL;
	errno = 0;
	x = strtoull(v, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = x;
	return 0;
}

static int query_i64(const struct rq *q, const char *key, int64_t *ret)
{
	const char *v = query(q, key);
	char *end;
	long long x;

	*ret = 0;
	if (!v)
		return 0;
	errno = 0;
	x = strtoll(v, &end, 10);
	if (errno || *end || !*v)
		return -EINVAL;
	*ret = x;
	return 0;
}

static bool valid_spec(const char *s)
{
	if (!strcmp(s, "latest"))
		return true;
	if (s[0] == '#') {
		if (!s[1] || strlen(s) > 11)
			return false;
		return strspn(s + 1, "0123456789") == strlen(s + 1);
	}
	return ck_name_check(s) == 0;
}

static json_t *version_json(const struct ck_version *v)
{
	static const char *const chains[] = { "full", "flattened", "broken" };
	char t[64];

	ck_iso_time(v->created_ns, t, sizeof(t));

	return json_pack("{s:s, s:I, s:I, s:s, s:s, s:I, s:s, s:b, s:s, s:s*, "
			 "s:I, s:s, s:b, s:I, s:I, s:I, s:I}",
			 "container", v->container, "vid", (json_int_t)v->vid,
			 "seq", (json_int_t)v->seq, "name", v->name,
			 "created", t, "created_ns", (json_int_t)v->created_ns,
			 "state", v->complete ? "complete" : "incomplete",
			 "complete", v->complete, "kind",
			 v->kind == CK_KIND_PREDUMP ? "pre-dump" : "dump",
			 "parent", v->parent[0] ? v->parent : NULL, "group",
			 (json_int_t)v->group, "chain",
			 (unsigned)v->chain < 3 ? chains[v->chain] : "?",
			 "pinned", v->pinned,
			 "logical_bytes", (json_int_t)v->logical_bytes,
			 "added_bytes", (json_int_t)v->added_bytes,
			 "added_chunks", (json_int_t)v->added_chunks, "files",
			 (json_int_t)v->files);
}

/* Resolves captures 0 (container) and 1 (version spec); answers 400/404
 * itself and returns 1 if it did. */
static int find_version(struct ck_routes *rt, struct rq *q,
			struct ck_http_req *req, struct ck_version *v)
{
	const char *c = q->caps[0], *spec = q->caps[1];
	int r;

	if (!valid_spec(spec)) {
		ck_http_respond_error(req, 400, "bad_request",
				      "invalid version '%s' (a name, 'latest' "
				      "or '#N')",
				      spec);
		return 1;
	}
	r = ck_repo_version_find(rt->r, c, spec, v);
	if (r == -ENOENT || r == -EINVAL) {
		ck_http_respond_error(req, 404, "not_found",
				      "no %sversion '%s' in container '%s'",
				      strcmp(spec, "latest") ? "" : "complete ",
				      spec, c);
		return 1;
	}
	if (r < 0) {
		ck_http_respond_errno(req, r, "cannot read version '%s/%s'", c,
				      spec);
		return 1;
	}
	return 0;
}

/* The request body, decompressed if it came with Content-Encoding: zstd
 * (X-Ck-Raw-Length gives its size, at most @limit). *ret_free is what
 * the caller frees (NULL if the body is used as is). Answers itself and
 * returns 1 on a bad body. */
static int body_of(struct ck_http_req *req, size_t limit, const void **ret,
		   size_t *ret_len, void **ret_free)
{
	const char *enc = ck_http_header(req, "Content-Encoding");
	const char *raw = ck_http_header(req, "X-Ck-Raw-Length");
	const void *b;
	size_t len;
	unsigned long long n;
	char *end;
	void *out;
	int r;

	*ret_free = NULL;
	b = ck_http_body(req, &len);
	if (!enc || !strcmp(enc, "identity")) {
		*ret = b;
		*ret_len = len;
		return 0;
	}
	if (strcmp(enc, "zstd")) {
		ck_http_respond_error(req, 415, "unsupported_encoding",
				      "Content-Encoding '%s' is not supported "
				      "(zstd or identity)",
				      enc);
		return 1;
	}
	if (!raw || !*raw || (errno = 0, n = strtoull(raw, &end, 10), errno) ||
	    *end) {
		ck_http_respond_error(req, 400, "bad_request",
				      "a zstd body needs X-Ck-Raw-Length");
		return 1;
	}
	if (n > limit) {
		ck_http_respond_error(req, 413, "too_large",
				      "decompressed body of %llu bytes is over "
				      "the limit of %zu",
				      n, limit);
		return 1;
	}
	out = malloc(n ? (size_t)n : 1);
	if (!out) {
		ck_http_respond_errno(req, -ENOMEM, "out of memory");
		return 1;
	}
	r = ck_decompress(b, len, NULL, 0, out, (size_t)n);
	if (r < 0) {
		free(out);
		ck_http_respond_error(req, 400, "bad_request",
				      "body does not decompress to its "
				      "X-Ck-Raw-Length of %llu bytes",
				      n);
		return 1;
	}
	*ret = out;
	*ret_len = (size_t)n;
	*ret_free = out;
	return 0;
}

static int parse_json(struct ck_http_req *req, json_t **ret)
{
	json_error_t je;
	size_t len;
	const void *b = ck_http_body(req, &len);

	*ret = json_loadb(b, len, JSON_REJECT_DUPLICATES, &je);
	if (!*ret) {
		ck_http_respond_error(req, 400, "bad_json",
				      "malformed JSON body at line %d column "
				      "%d: %s",
				      je.line, je.column, je.text);
		return 1;
	}
	if (!json_is_object(*ret)) {
		json_decref(*ret);
		ck_http_respond_error(req, 400, "bad_json",
				      "the body must be a JSON object");
		return 1;
	}
	return 0;
}

/* --- repository-wide routes --------------------------------------------- */

static int h_health(struct ck_routes *rt, struct rq *q,
		    struct ck_http_req *req)
{
	(void)q;
	return ck_http_respond_json(
		req, 200,
		json_pack("{s:s, s:s, s:b}", "status", "ok", "version",
			  CKSTORED_VERSION, "draining",
			  atomic_load(&rt->draining)));
}

static int h_metrics(struct ck_routes *rt, struct rq *q,
		     struct ck_http_req *req)
{
	struct ck_metrics_gauges g = { 0 };
	struct ck_stats st;
	char *text = NULL;
	size_t len = 0;
	int r;

	(void)q;
	g.uploads_active = ck_uploads_active(rt->up);
	g.requests_active = atomic_load(&rt->active);
	g.uptime_seconds = (now_ns() - rt->start_ns) / 1000000000u;
	if (ck_repo_stats(rt->r, NULL, &st) == 0) {
		g.have_repo = 1;
		g.containers = st.containers;
		g.versions = st.versions;
		g.logical_bytes = st.logical_bytes;
		g.chunks = st.chunks;
		g.raw_bytes = st.raw_bytes;
		g.stored_bytes = st.stored_bytes;
		g.delta_chunks = st.delta_chunks;
	}
	r = ck_metrics_render(rt->m, &g, &text, &len);
	if (r < 0)
		return r;
	return ck_http_respond_data(req, 200,
				    "text/plain; version=0.0.4; charset=utf-8",
				    text, len);
}

static int h_params(struct ck_routes *rt, struct rq *q,
		    struct ck_http_req *req)
{
	const struct ck_hasher *h = ck_repo_hasher(rt->r);
	char hex[2 * CK_ID_SECRET_SIZE + 1];

	(void)q;
	for (size_t i = 0; i < CK_ID_SECRET_SIZE; i++)
		snprintf(hex + 2 * i, 3, "%02x", h->secret[i]);
	ck_http_add_header(req, "Cache-Control", "no-store");
	return ck_http_respond_json(
		req, 200,
		json_pack("{s:i, s:I, s:I, s:i, s:s, s:I, s:I, s:I, s:I}",
			  "format", CK_FORMAT_VERSION, "chunk_unit",
			  (json_int_t)ck_repo_settings(rt->r)->chunk_unit,
			  "small_chunk", (json_int_t)CK_SMALL_CHUNK, "id_size",
			  CK_ID_SIZE, "secret", hex, "max_body",
			  (json_int_t)rt->cfg->max_body, "max_manifest",
			  (json_int_t)rt->cfg->max_manifest, "max_json",
			  (json_int_t)rt->cfg->max_json, "idle_timeout",
			  (json_int_t)rt->cfg->upload_idle_timeout));
}

static bool sees(void *ud, const char *ctr)
{
	return ck_auth_sees(ud, ctr);
}

static int stats_common(struct ck_routes *rt, struct rq *q,
			struct ck_http_req *req, const char *ctr)
{
	struct ck_stats st;
	json_t *o;
	int r;

	r = ck_repo_stats(rt->r, ctr, &st);
	if (r == -ENOENT && ctr)
		return ck_http_respond_error(req, 404, "not_found",
					     "no container '%s'", ctr);
	if (r < 0)
		return ck_http_respond_errno(req, r,
					     "cannot compute statistics");
	o = ck_stats_json(&st, ctr);
	if (!o)
		return -ENOMEM;
	if (!ctr) {
		json_t *pc = ck_containers_json(rt->r, sees, &q->who);

		if (pc)
			json_object_set_new(o, "per_container", pc);
	}
	return ck_http_respond_json(req, 200, o);
}

static int h_stats(struct ck_routes *rt, struct rq *q,
		   struct ck_http_req *req)
{
	return stats_common(rt, q, req, NULL);
}

static int h_container_stats(struct ck_routes *rt, struct rq *q,
			     struct ck_http_req *req)
{
	return stats_common(rt, q, req, q->caps[0]);
}

struct fsck_ud {
	json_t *problems;
	uint64_t dropped;
};

static void on_problem(void *ud, enum ck_fsck_class cls, const char *msg)
{
	struct fsck_ud *f = ud;

	if (json_array_size(f->problems) >= FSCK_MAX_PROBLEMS) {
		f->dropped++;
		return;
	}
	json_array_append_new(f->problems,
			      json_pack("{s:s, s:s}", "class",
					ck_fsck_class_name(cls), "message",
					msg));
}

static int h_fsck(struct ck_routes *rt, struct rq *q,
		  struct ck_http_req *req)
{
	struct fsck_ud f = { .problems = json_array() };
	struct ck_fsck_report rep = { 0 };
	int r;

	(void)q;
	if (!f.problems)
		return -ENOMEM;
	r = ck_fsck(rt->r, on_problem, &f, &rep);
	if (r < 0) {
		json_decref(f.problems);
		return ck_http_respond_errno(req, r, "fsck could not complete");
	}
	return ck_http_respond_json(
		req, 200,
		json_pack("{s:b, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:o}",
			  "clean", r == 0, "mask", r, "versions",
			  (json_int_t)rep.versions, "files",
			  (json_int_t)rep.files, "chunks",
			  (json_int_t)rep.chunks, "delta_chunks",
			  (json_int_t)rep.delta_chunks, "garbage_chunks",
			  (json_int_t)rep.garbage_chunks, "garbage_bytes",
			  (json_int_t)rep.garbage_bytes, "problems_dropped",
			  (json_int_t)f.dropped, "problems", f.problems));
}

static void on_gc_version(void *ud, const struct ck_version *v)
{
	json_array_append_new(ud, version_json(v));
}

static int h_gc(struct ck_routes *rt, struct rq *q, struct ck_http_req *req)
{
	struct ck_gc_opts o = { .compact = true, .on_version = on_gc_version };
	struct ck_gc_report rep;
	json_t *body = NULL, *list, *v;
	size_t len;
	int r;

	if (ck_http_body(req, &len) && len && parse_json(req, &body))
		return 0;
	v = json_object_get(body, "container");
	if (v && !json_is_null(v) &&
	    (!json_is_string(v) || ck_name_check(json_string_value(v)))) {
		json_decref(body);
		return ck_http_respond_error(req, 400, "bad_request",
					     "'container' must be a container "
					     "name or null");
	}
	o.container = json_is_string(v) ? json_string_value(v) : NULL;
	o.dry_run = json_is_true(json_object_get(body, "dry_run"));
	if (json_is_false(json_object_get(body, "compact")))
		o.compact = false;
	list = json_array();
	o.ud = list;
	r = list ? ck_gc_run(rt->r, &o, &rep) : -ENOMEM;
	if (r == -ENOENT && o.container) {
		r = ck_http_respond_error(req, 404, "not_found",
					  "no container '%s'", o.container);
		goto out;
	}
	if (r < 0) {
		r = ck_http_respond_errno(req, r,
					  "gc failed (what it did so far is "
					  "consistent; run it again)");
		goto out;
	}
	if (!o.dry_run)
		ck_gcsched_count(rt->m, rep.versions_deleted,
				 rep.bytes_freed + rep.garbage_bytes);
	ck_log_info("gc%s (%s): %" PRIu64 " versions, %" PRIu64
		    " garbage chunks",
		    o.dry_run ? " dry run" : "", ck_auth_name(&q->who),
		    rep.versions_deleted, rep.garbage_chunks);
	r = ck_http_respond_json(
		req, 200,
		json_pack("{s:b, s:O, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:f}",
			  "dry_run", o.dry_run, "versions", list,
			  "versions_deleted", (json_int_t)rep.versions_deleted,
			  "chunks_freed", (json_int_t)rep.chunks_freed,
			  "bytes_freed", (json_int_t)rep.bytes_freed,
			  "garbage_chunks", (json_int_t)rep.garbage_chunks,
			  "garbage_bytes", (json_int_t)rep.garbage_bytes,
			  "disk_before", (json_int_t)rep.disk_before,
			  "disk_after", (json_int_t)rep.disk_after, "seconds",
			  rep.seconds));
out:
	json_decref(list);
	json_decref(body);
	return r;
}

static json_t *policy_json(const char *ctr, const struct ck_policy *p,
			   bool own)
{
	return json_pack("{s:s?, s:b, s:I, s:I, s:I, s:I}", "container", ctr,
			 "own", own, "keep_groups", (json_int_t)p->keep_groups,
			 "keep_last", (json_int_t)p->keep_last, "keep_within",
			 (json_int_t)p->keep_within, "expire_incomplete",
			 (json_int_t)p->expire_incomplete);
}

/* GET, PUT (fields given replace the current ones) and DELETE (back to
 * the repository default) of a container's policy, or of the default. */
static int h_policy(struct ck_routes *rt, struct rq *q,
		    struct ck_http_req *req)
{
	const char *ctr = q->ncaps ? q->caps[0] : NULL;
	enum ck_http_method m = ck_http_method(req);
	struct ck_policy p;
	bool own = false;
	json_t *body = NULL;
	int r;

	if (m == CK_HTTP_PUT && !ctr && q->who.role < CK_ROLE_ADMIN)
		return ck_http_respond_error(req, 403, "forbidden",
					     "the repository's default policy "
					     "is admin's");
	if (m == CK_HTTP_DELETE && !ctr)
		return ck_http_respond_error(req, 400, "bad_request",
					     "the default policy cannot be "
					     "cleared, only set");
	if (m == CK_HTTP_PUT && parse_json(req, &body))
		return 0;
	r = ck_policy_get(rt->r, ctr, &p, &own);
	if (r == 0 && m == CK_HTTP_PUT) {
		static const char *const keys[4] = { "keep_groups", "keep_last",
						     "keep_within",
						     "expire_incomplete" };

		for (int i = 0; i < 4; i++) {
			json_t *v = json_object_get(body, keys[i]);
			json_int_t x;

			if (!v)
				continue;
			x = json_is_integer(v) ? json_integer_value(v) : -1;
			if (x < 0 || (i < 2 && x > UINT32_MAX)) {
				json_decref(body);
				return ck_http_respond_error(
					req, 400, "bad_request",
					"'%s' must be a non-negative integer%s",
					keys[i], i >= 2 ? " (seconds)" : "");
			}
			if (i == 0)
				p.keep_groups = (uint32_t)x;
			else if (i == 1)
				p.keep_last = (uint32_t)x;
			else if (i == 2)
				p.keep_within = x;
			else
				p.expire_incomplete = x;
		}
		r = ck_policy_set(rt->r, ctr, &p);
		own = ctr != NULL;
	} else if (r == 0 && m == CK_HTTP_DELETE) {
		r = ck_policy_clear(rt->r, ctr);
		if (r == 0)
			r = ck_policy_get(rt->r, ctr, &p, &own);
	}
	json_decref(body);
	if (r < 0)
		return ck_http_respond_errno(req, r,
					     "cannot %s the retention policy",
					     m == CK_HTTP_GET ? "read" : "set");
	return ck_http_respond_json(req, 200, policy_json(ctr, &p, own));
}

static int h_pin(struct ck_routes *rt, struct rq *q, struct ck_http_req *req)
{
	bool pinned = ck_http_method(req) != CK_HTTP_DELETE;
	struct ck_version v;
	int r;

	if (find_version(rt, q, req, &v))
		return 0;
	r = ck_repo_version_pin(rt->r, v.container, v.seq, pinned);
	if (r < 0)
		return ck_http_respond_errno(req, r, "cannot %s '%s/%s'",
					     pinned ? "pin" : "unpin",
					     v.container, v.name);
	v.pinned = pinned;
	return ck_http_respond_json(req, 200, version_json(&v));
}

/* --- containers and versions ---------------------------------------------- */

static int h_containers(struct ck_routes *rt, struct rq *q,
			struct ck_http_req *req)
{
	char(*names)[CK_NAME_MAX + 1] = NULL;
	json_t *a = json_array();
	size_t n = 0;
	int r;

	if (!a)
		return -ENOMEM;
	r = ck_repo_containers(rt->r, &names, &n);
	if (r < 0) {
		json_decref(a);
		return ck_http_respond_errno(req, r, "cannot list containers");
	}
	for (size_t i = 0; i < n; i++) {
		struct ck_version *vs = NULL, latest;
		size_t nv = 0;
		uint64_t logical = 0;
		bool has_latest;

		if (!ck_auth_sees(&q->who, names[i]))
			continue;
		r = ck_repo_versions(rt->r, names[i], &vs, &nv);
		if (r < 0) {
			free(names);
			json_decref(a);
			return ck_http_respond_errno(req, r, "cannot list '%s'",
						     names[i]);
		}
		for (size_t j = 0; j < nv; j++)
			logical += vs[j].logical_bytes;
		has_latest = false;
		for (size_t j = nv; j-- > 0;)
			if (vs[j].complete) {
				latest = vs[j];
				has_latest = true;
				break;
			}
		free(vs);
		json_array_append_new(
			a, json_pack("{s:s, s:I, s:s?, s:I}", "name", names[i],
				     "versions", (json_int_t)nv, "latest",
				     has_latest ? latest.name : NULL,
				     "logical_bytes", (json_int_t)logical));
	}
	free(names);
	return ck_http_respond_json(req, 200, a);
}

static int h_versions(struct ck_routes *rt, struct rq *q,
		      struct ck_http_req *req)
{
	struct ck_version *vs = NULL;
	json_t *a;
	size_t n = 0;
	int r;

	r = ck_repo_versions(rt->r, q->caps[0], &vs, &n);
	if (r == 0 && n == 0)
		r = -ENOENT;
	if (r == -ENOENT)
		return ck_http_respond_error(req, 404, "not_found",
					     "no container '%s'", q->caps[0]);
	if (r < 0)
		return ck_http_respond_errno(req, r,
					     "cannot list versions of '%s'",
					     q->caps[0]);
	a = json_array();
	for (size_t i = 0; a && i < n; i++)
		json_array_append_new(a, version_json(&vs[i]));
	free(vs);
	return ck_http_respond_json(req, 200, a);
}

static int h_version(struct ck_routes *rt, struct rq *q,
		     struct ck_http_req *req)
{
	struct ck_version v;

	if (find_version(rt, q, req, &v))
		return 0;
	return ck_http_respond_json(req, 200, version_json(&v));
}

static int h_version_delete(struct ck_routes *rt, struct rq *q,
			    struct ck_http_req *req)
{
	struct ck_version v;
	uint64_t freed = 0;
	int r;

	if (find_version(rt, q, req, &v))
		return 0;
	r = ck_repo_version_delete(rt->r, v.container, v.vid, &freed);
	if (r == -ENOENT)
		return ck_http_respond_error(req, 404, "not_found",
					     "version '%s/%s' is already gone",
					     v.container, v.name);
	if (r < 0)
		return ck_http_respond_errno(req, r, "cannot delete '%s/%s'",
					     v.container, v.name);
	ck_log_info("deleted %s #%u %s (%s), reclaimed %" PRIu64 " bytes",
		    v.container, v.seq, v.name, ck_auth_name(&q->who), freed);
	return ck_http_respond_json(
		req, 200,
		json_pack("{s:s, s:s, s:I, s:I}", "container", v.container,
			  "name", v.name, "seq", (json_int_t)v.seq,
			  "freed_bytes", (json_int_t)freed));
}

static const char *type_name(enum ck_entry_type t)
{
	return t == CK_ENTRY_DIR ? "dir" : t == CK_ENTRY_SYMLINK ? "symlink"
								 : "file";
}

static int h_entries(struct ck_routes *rt, struct rq *q,
		     struct ck_http_req *req)
{
	struct ck_version v;
	struct ck_entry *es = NULL;
	json_t *a;
	size_t n = 0;
	int r;

	const char *view = query(q, "view");

	if (find_version(rt, q, req, &v))
		return 0;
	if (!view || !strcmp(view, "written"))
		r = ck_repo_entries(rt->r, v.vid, &es, &n);
	else if (!strcmp(view, "flat"))
		r = ck_repo_view_entries(rt->r, v.vid, CK_VIEW_FLAT, &es, &n);
	else if (!strcmp(view, "flattened"))
		r = ck_repo_flat_entries(rt->r, &v, &es, &n);
	else
		return ck_http_respond_error(req, 400, "bad_request",
					     "view must be written, flat or "
					     "flattened");
	if (r == -ENOLINK)
		return ck_http_respond_error(req, 409, "broken_chain",
					     "'%s/%s' has no flattened view: "
					     "pages of its parent chain are "
					     "not in the repository",
					     v.container, v.name);
	if (r < 0)
		return ck_http_respond_errno(req, r, "cannot list '%s/%s'",
					     v.container, v.name);
	a = json_array();
	for (size_t i = 0; a && i < n; i++) {
		json_t *o = json_pack(
			"{s:s, s:s, s:i, s:I, s:I, s:I, s:I}", "path",
			es[i].path, "type", type_name(es[i].type), "mode",
			(int)es[i].mode, "uid", (json_int_t)es[i].uid, "gid",
			(json_int_t)es[i].gid, "mtime_ns",
			(json_int_t)es[i].mtime_ns, "size",
			(json_int_t)es[i].size);

		if (es[i].view == CK_VIEW_FLAT)
			json_object_set_new(o, "view", json_string("flat"));
		if (es[i].type == CK_ENTRY_FILE)
			json_object_set_new(o, "chunk_size",
					    json_integer(es[i].chunk_size));
		if (es[i].type == CK_ENTRY_SYMLINK)
			json_object_set_new(o, "target",
					    json_string(es[i].target));
		json_array_append_new(a, o);
	}
	free(es);
	return ck_http_respond_json(req, 200, a);
}

/* --- files ------------------------------------------------------------------ */

struct fstream {
	struct ck_repo *r;
	uint64_t vid;
	struct ck_entry e;
	uint64_t start, len; /* the range served */
	uint8_t *buf;	     /* read-ahead */
	uint64_t buf_pos;    /* body offset of buf[0] */
	size_t buf_len;
};

static ssize_t fstream_read(void *ud, uint64_t pos, char *out, size_t max)
{
	struct fstream *f = ud;
	size_t k;

	if (pos >= f->len)
		return 0;
	if (pos < f->buf_pos || pos >= f->buf_pos + f->buf_len) {
		uint64_t want = f->len - pos;
		int r;

		if (want > READ_AHEAD)
			want = READ_AHEAD;
		r = ck_file_read(f->r, f->vid, &f->e, f->start + pos, f->buf,
				 (size_t)want);
		if (r <= 0) {
			ck_log_error("read of '%s' (version %" PRIu64
				     ") at %" PRIu64 " failed: %s",
				     f->e.path, f->vid, f->start + pos,
				     r < 0 ? strerror(-r) : "short file");
			return r < 0 ? r : -EIO;
		}
		f->buf_pos = pos;
		f->buf_len = (size_t)r;
	}
	k = (size_t)(f->buf_pos + f->buf_len - pos);
	if (k > max)
		k = max;
	memcpy(out, f->buf + (pos - f->buf_pos), k);
	return (ssize_t)k;
}

static void fstream_free(void *ud)
{
	struct fstream *f = ud;

	free(f->buf);
	free(f);
}

/* Parses a single "bytes=" range against @size. 1: a range was set;
 * 0: serve everything (no header, several ranges, or not bytes);
 * -ERANGE: unsatisfiable. */
static int parse_range(const char *h, uint64_t size, uint64_t *start,
		       uint64_t *len)
{
	unsigned long long a, b;
	char *end;

	if (!h || strncmp(h, "bytes=", 6) || strchr(h, ','))
		return 0;
	h += 6;
	errno = 0;
	if (*h == '-') {
		b = strtoull(h + 1, &end, 10);
		if (errno || *end || end == h + 1)
			return 0;
		if (b == 0 || size == 0)
			return -ERANGE;
		if (b > size)
			b = size;
		*start = size - b;
		*len = b;
		return 1;
	}
	a = strtoull(h, &end, 10);
	if (errno || end == h || *end != '-')
		return 0;
	h = end + 1;
	if (*h) {
		b = strtoull(h, &end, 10);
		if (errno || *end || b < a)
			return 0;
	} else {
		b = size ? size - 1 : 0;
	}
	if (a >= size)
		return -ERANGE;
	if (b >= size)
		b = size - 1;
	*start = a;
	*len = b - a + 1;
	return 1;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

static int h_file(struct ck_routes *rt, struct rq *q, struct ck_http_req *req)
{
	struct ck_version v;
	struct ck_entry e;
	struct fstream *f;
	char etag[64], num[64], lm[64];
	const char *inm, *ir, *view;
	uint64_t start = 0, len;
	time_t sec;
	struct tm tm;
	int r, ranged;

	if (find_version(rt, q, req, &v))
		return 0;
	if (ck_path_check(q->rest) < 0)
		return ck_http_respond_error(req, 400, "bad_request",
					     "invalid path '%s'", q->rest);
	view = query(q, "view");
	if (view && strcmp(view, "written") && strcmp(view, "flat"))
		return ck_http_respond_error(req, 400, "bad_request",
					     "view must be written or flat");
	r = ck_repo_view_entry_get(rt->r, v.vid,
				   view && !strcmp(view, "flat") ? CK_VIEW_FLAT
								 : CK_VIEW_WRITTEN,
				   q->rest, &e);
	if (r == -ENOENT)
		return ck_http_respond_error(req, 404, "not_found",
					     "no file '%s' in version '%s/%s'",
					     q->rest, v.container, v.name);
	if (r < 0)
		return ck_http_respond_errno(req, r, "cannot read '%s'",
					     q->rest);
	if (e.type == CK_ENTRY_DIR)
		return ck_http_respond_error(req, 400, "is_directory",
					     "'%s' is a directory; list it with "
					     ".../entries",
					     q->rest);
	/* A version never changes and its vid is never reused: (vid, path)
	 * names these bytes for good, so the ETag is strong. */
	snprintf(etag, sizeof(etag), "\"%" PRIx64 "-%016" PRIx64 "%s\"", v.vid,
		 fnv1a(e.path), e.view == CK_VIEW_FLAT ? "-f" : "");
	ck_http_add_header(req, "ETag", etag);
	sec = (time_t)(e.mtime_ns / 1000000000);
	gmtime_r(&sec, &tm);
	strftime(lm, sizeof(lm), "%a, %d %b %Y %H:%M:%S GMT", &tm);
	ck_http_add_header(req, "Last-Modified", lm);
	snprintf(num, sizeof(num), "%04o", e.mode);
	ck_http_add_header(req, "X-Ck-Mode", num);
	snprintf(num, sizeof(num), "%" PRId64, e.mtime_ns);
	ck_http_add_header(req, "X-Ck-Mtime-Ns", num);
	ck_http_add_header(req, "X-Ck-Type", type_name(e.type));
	inm = ck_http_header(req, "If-None-Match");
	if (inm && (strstr(inm, etag) || !strcmp(inm, "*")))
		return ck_http_respond_empty(req, 304);
	if (e.type == CK_ENTRY_SYMLINK) {
		char *t = strdup(e.target);

		if (!t)
			return -ENOMEM;
		return ck_http_respond_data(req, 200, "text/plain", t,
					    strlen(t));
	}
	ck_http_add_header(req, "Accept-Ranges", "bytes");
	len = e.size;
	ir = ck_http_header(req, "If-Range");
	ranged = ir && strcmp(ir, etag)
			 ? 0
			 : parse_range(ck_http_header(req, "Range"), e.size,
				       &start, &len);
	if (ranged == -ERANGE) {
		snprintf(num, sizeof(num), "bytes */%" PRIu64, e.size);
		ck_http_add_header(req, "Content-Range", num);
		return ck_http_respond_error(req, 416, "range_not_satisfiable",
					     "'%s' has %" PRIu64 " bytes",
					     e.path, e.size);
	}
	if (ranged) {
		snprintf(num, sizeof(num),
			 "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, start,
			 start + len - 1, e.size);
		ck_http_add_header(req, "Content-Range", num);
	}
	if (len == 0)
		return ck_http_respond_data(req, 200,
					    "application/octet-stream",
					    calloc(1, 1), 0);
	f = calloc(1, sizeof(*f));
	if (!f)
		return -ENOMEM;
	f->buf = malloc(READ_AHEAD);
	if (!f->buf) {
		free(f);
		return -ENOMEM;
	}
	f->r = rt->r;
	f->vid = v.vid;
	f->e = e;
	f->start = start;
	f->len = len;
	return ck_http_respond_stream(req, ranged ? 206 : 200,
				      "application/octet-stream", len,
				      fstream_read, f, fstream_free);
}

static ssize_t tar_read(void *ud, uint64_t pos, char *buf, size_t max)
{
	(void)pos;
	return ck_tar_read(ud, buf, max);
}

static void tar_free(void *ud)
{
	ck_tar_free(ud);
}

static int h_tar(struct ck_routes *rt, struct rq *q, struct ck_http_req *req)
{
	struct ck_version v;
	struct ck_tar *t = NULL;
	const char *prefix = query(q, "prefix");
	char cd[2 * CK_NAME_MAX + 64];
	int r;

	if (find_version(rt, q, req, &v))
		return 0;
	if (!prefix)
		prefix = v.name;
	if (prefix[0] && ck_name_check(prefix) < 0)
		return ck_http_respond_error(req, 400, "bad_request",
					     "invalid prefix '%s'", prefix);
	r = ck_tar_new(rt->r, &v, prefix,
		       query(q, "flatten") && !strcmp(query(q, "flatten"), "1"),
		       &t);
	if (r == -ENOLINK)
		return ck_http_respond_error(req, 409, "broken_chain",
					     "'%s/%s' has no flattened view",
					     v.container, v.name);
	if (r < 0)
		return ck_http_respond_errno(req, r, "cannot read '%s/%s'",
					     v.container, v.name);
	snprintf(cd, sizeof(cd), "attachment; filename=\"%s-%s.tar\"",
		 v.container, v.name);
	ck_http_add_header(req, "Content-Disposition", cd);
	return ck_http_respond_stream(req, 200, "application/x-tar",
				      CK_HTTP_SIZE_UNKNOWN, tar_read, t,
				      tar_free);
}

/* --- uploads ------------------------------------------------------------------ */

static int h_upload_begin(struct ck_routes *rt, struct rq *q,
			  struct ck_http_req *req)
{
	struct ck_upload_begin b = { .container = q->caps[0], .complete = -1 };
	char id[CK_UPLOAD_ID_HEX], parent[CK_NAME_MAX + 1], err[512];
	char loc[64];
	json_t *o, *name, *complete, *plink;
	int r;

	if (parse_json(req, &o))
		return 0;
	name = json_object_get(o, "name");
	complete = json_object_get(o, "complete");
	plink = json_object_get(o, "parent");
	if (!json_is_string(name) || ck_name_check(json_string_value(name))) {
		json_decref(o);
		return ck_http_respond_error(
			req, 400, "bad_request",
			"'name' must be a version name (1-128 of A-Z a-z 0-9 . "
			"_ -, not starting with . or -)");
	}
	if (complete && !json_is_boolean(complete) && !json_is_null(complete)) {
		json_decref(o);
		return ck_http_respond_error(req, 400, "bad_request",
					     "'complete' must be true, false or "
					     "null");
	}
	if (plink && !json_is_string(plink) && !json_is_null(plink)) {
		json_decref(o);
		return ck_http_respond_error(req, 400, "bad_request",
					     "'parent' must be a string or null");
	}
	b.name = json_string_value(name);
	if (json_is_boolean(complete))
		b.complete = json_is_true(complete);
	b.parent_link = json_is_string(plink) ? json_string_value(plink) : NULL;
	b.lenient = json_is_true(json_object_get(o, "lenient"));
	b.owner = ck_auth_name(&q->who);
	r = ck_upload_begin(rt->up, &b, id, parent, err, sizeof(err));
	if (r < 0) {
		json_decref(o);
		if (r == -EUSERS)
			ck_http_add_header(req, "Retry-After", "5");
		return ck_http_respond_errno(req, r, "%s", err);
	}
	ck_log_debug("upload %s of %s/%s begun by %s (parent '%s')", id,
		     b.container, b.name, b.owner, parent);
	json_decref(o);
	snprintf(loc, sizeof(loc), "/v1/uploads/%s", id);
	ck_http_add_header(req, "Location", loc);
	return ck_http_respond_json(
		req, 201,
		json_pack("{s:s, s:s?, s:I, s:I}", "upload", id, "parent",
			  parent[0] ? parent : NULL, "chunk_unit",
			  (json_int_t)ck_repo_settings(rt->r)->chunk_unit,
			  "idle_timeout",
			  (json_int_t)rt->cfg->upload_idle_timeout));
}

/* Takes the upload named by capture 0 for this request; answers and
 * returns NULL if it cannot. */
static struct ck_upload *acquire(struct ck_routes *rt, struct rq *q,
				 struct ck_http_req *req)
{
	struct ck_upload *up = NULL;
	int r;

	r = ck_upload_acquire(rt->up, q->caps[0], ck_auth_name(&q->who),
			      q->who.role == CK_ROLE_ADMIN, &up);
	if (r == -ENOENT) {
		ck_http_respond_error(req, 404, "not_found",
				      "no upload '%s' (committed, aborted or "
				      "expired after %u s idle)",
				      q->caps[0], rt->cfg->upload_idle_timeout);
		return NULL;
	}
	if (r == -EPERM) {
		ck_http_respond_error(req, 403, "forbidden",
				      "upload '%s' belongs to another token",
				      q->caps[0]);
		return NULL;
	}
	if (r < 0) {
		ck_http_respond_errno(req, r, "upload '%s' is in use",
				      q->caps[0]);
		return NULL;
	}
	if (!ck_auth_allows(&q->who, CK_ROLE_WRITE, ck_upload_container(up))) {
		ck_upload_release(rt->up, up);
		ck_http_respond_error(req, 403, "forbidden",
				      "token '%s' may not write to container "
				      "'%s'",
				      ck_auth_name(&q->who),
				      ck_upload_container(up));
		return NULL;
	}
	return up;
}

static int h_upload_file(struct ck_routes *rt, struct rq *q,
			 struct ck_http_req *req)
{
	struct ck_upload_file f = { .path = q->rest };
	struct ck_upload *up;
	uint64_t v, chunk_size, nmissing = 0;
	const void *body;
	void *tofree = NULL;
	size_t len;
	uint8_t *bm = NULL;
	size_t bml = 0;
	bool inl;
	char err[512], num[32];
	int r;

	if (ck_path_check(q->rest) < 0)
		return ck_http_respond_error(req, 400, "bad_request",
					     "invalid path '%s'", q->rest);
	if (query_u64(q, "size", true, 0, &f.size) < 0 ||
	    query_u64(q, "chunk_size", true, 0, &chunk_size) < 0 ||
	    chunk_size > UINT32_MAX)
		return ck_http_respond_error(req, 400, "bad_request",
					     "'size' and 'chunk_size' query "
					     "parameters are required numbers");
	f.chunk_size = (uint32_t)chunk_size;
	if (query_u64(q, "mode", false, 0644, &v) < 0 || v > 07777)
		return ck_http_respond_error(req, 400, "bad_request",
					     "bad 'mode'");
	f.m.mode = (uint32_t)v;
	if (query_u64(q, "uid", false, 0, &v) < 0 || v > UINT32_MAX)
		return ck_http_respond_error(req, 400, "bad_request",
					     "bad 'uid'");
	f.m.uid = (uint32_t)v;
	if (query_u64(q, "gid", false, 0, &v) < 0 || v > UINT32_MAX)
		return ck_http_respond_error(req, 400, "bad_request",
					     "bad 'gid'");
	f.m.gid = (uint32_t)v;
	if (query_i64(q, "mtime_ns", &f.m.mtime_ns) < 0)
		return ck_http_respond_error(req, 400, "bad_request",
					     "bad 'mtime_ns'");
	inl = query(q, "inline") && !strcmp(query(q, "inline"), "1");
	if (body_of(req, inl ? rt->cfg->max_body : rt->cfg->max_manifest,
		    &body, &len, &tofree))
		return 0;
	if (len > (inl ? rt->cfg->max_body : rt->cfg->max_manifest)) {
		free(tofree);
		return ck_http_respond_error(req, 413, "too_large",
					     "%s of %zu bytes is over %s",
					     inl ? "an inline file" : "a manifest",
					     len,
					     inl ? "max_body" : "max_manifest");
	}
	up = acquire(rt, q, req);
	if (!up) {
		free(tofree);
		return 0;
	}
	if (inl)
		r = ck_upload_inline(up, &f, body, len, err, sizeof(err));
	else
		r = ck_upload_manifest(up, &f, body, len, &bm, &bml, &nmissing,
				       err, sizeof(err));
	ck_upload_release(rt->up, up);
	free(tofree);
	if (r < 0)
		return ck_http_respond_errno(req, r, "%s", err);
	snprintf(num, sizeof(num), "%" PRIu64, nmissing);
	ck_http_add_header(req, "X-Ck-Missing", num);
	if (!bm)
		bm = calloc(1, 1);
	return ck_http_respond_data(req, 200, "application/octet-stream", bm,
				    bml);
}

static int h_upload_chunks(struct ck_routes *rt, struct rq *q,
			   struct ck_http_req *req)
{
	struct ck_upload_batch st;
	struct ck_upload *up;
	const void *body;
	void *tofree = NULL;
	size_t len;
	char err[512];
	int r;

	if (body_of(req, rt->cfg->max_body, &body, &len, &tofree))
		return 0;
	up = acquire(rt, q, req);
	if (!up) {
		free(tofree);
		return 0;
	}
	r = ck_upload_chunks(up, body, len, &st, err, sizeof(err));
	ck_upload_release(rt->up, up);
	free(tofree);
	if (r < 0)
		return ck_http_respond_errno(req, r, "%s", err);
	return ck_http_respond_json(
		req, 200,
		json_pack("{s:I, s:I, s:I, s:I}", "received",
			  (json_int_t)st.chunks, "bytes", (json_int_t)st.bytes,
			  "duplicates", (json_int_t)st.duplicates, "with_base",
			  (json_int_t)st.with_base));
}

static int entry_meta(json_t *e, struct ck_file_meta *m)
{
	json_t *mode = json_object_get(e, "mode");
	json_t *uid = json_object_get(e, "uid");
	json_t *gid = json_object_get(e, "gid");
	json_t *mt = json_object_get(e, "mtime_ns");

	if ((mode && !json_is_integer(mode)) || (uid && !json_is_integer(uid)) ||
	    (gid && !json_is_integer(gid)) || (mt && !json_is_integer(mt)))
		return -EINVAL;
	m->mode = mode ? (uint32_t)json_integer_value(mode) : 0755;
	m->uid = uid ? (uint32_t)json_integer_value(uid) : 0;
	m->gid = gid ? (uint32_t)json_integer_value(gid) : 0;
	m->mtime_ns = mt ? (int64_t)json_integer_value(mt) : 0;
	if ((mode && (json_integer_value(mode) < 0 ||
		      json_integer_value(mode) > 07777)) ||
	    (uid && (json_integer_value(uid) < 0 ||
		     json_integer_value(uid) > UINT32_MAX)) ||
	    (gid && (json_integer_value(gid) < 0 ||
		     json_integer_value(gid) > UINT32_MAX)))
		return -EINVAL;
	return 0;
}

static int h_upload_entries(struct ck_routes *rt, struct rq *q,
			    struct ck_http_req *req)
{
	struct ck_upload *up;
	json_t *o, *a, *e;
	size_t i, added = 0;
	int r = 0;

	if (parse_json(req, &o))
		return 0;
	a = json_object_get(o, "entries");
	if (!json_is_array(a)) {
		json_decref(o);
		return ck_http_respond_error(req, 400, "bad_request",
					     "'entries' must be an array");
	}
	up = acquire(rt, q, req);
	if (!up) {
		json_decref(o);
		return 0;
	}
	json_array_foreach(a, i, e)
	{
		const char *path = json_string_value(json_object_get(e, "path"));
		const char *type = json_string_value(json_object_get(e, "type"));
		const char *target =
			json_string_value(json_object_get(e, "target"));
		struct ck_file_meta m;

		if (!path || !type || entry_meta(e, &m) < 0) {
			r = -EINVAL;
			break;
		}
		if (!strcmp(type, "dir"))
			r = ck_upload_add_dir(up, path, &m);
		else if (!strcmp(type, "symlink") && target)
			r = ck_upload_add_symlink(up, path, target, &m);
		else
			r = -EINVAL;
		if (r < 0)
			break;
		added++;
	}
	ck_upload_release(rt->up, up);
	if (r < 0) {
		r = ck_http_respond_errno(
			req, r,
			"entry %zu: needs 'path' (a relative path), 'type' "
			"('dir' or 'symlink' with 'target'), integer 'mode', "
			"'uid', 'gid', 'mtime_ns' (%zu entries added before "
			"it)",
			i, added);
		json_decref(o);
		return r;
	}
	json_decref(o);
	return ck_http_respond_json(req, 200,
				    json_pack("{s:I}", "added",
					      (json_int_t)added));
}

static int h_upload_commit(struct ck_routes *rt, struct rq *q,
			   struct ck_http_req *req)
{
	struct ck_upload *up;
	struct ck_version v;
	char err[512];
	int r;

	up = acquire(rt, q, req);
	if (!up)
		return 0;
	r = ck_upload_commit(rt->up, up, &v, err, sizeof(err));
	if (r < 0)
		return ck_http_respond_errno(req, r, "%s", err);
	ck_log_info("committed %s #%u %s: %" PRIu64 " logical bytes, %" PRIu64
		    " added in %" PRIu64 " chunks (%s)",
		    v.container, v.seq, v.name, v.logical_bytes, v.added_bytes,
		    v.added_chunks, ck_auth_name(&q->who));
	return ck_http_respond_json(req, 201, version_json(&v));
}

static int h_upload_abort(struct ck_routes *rt, struct rq *q,
			  struct ck_http_req *req)
{
	struct ck_upload *up = acquire(rt, q, req);

	if (!up)
		return 0;
	ck_upload_abort(rt->up, up);
	return ck_http_respond_empty(req, 204);
}

/* --- the table ------------------------------------------------------------- */

static const struct route routes[] = {
	{ "health", CK_HTTP_GET, "v1/health", CK_ROLE_NONE, SCOPE_NONE,
	  BODY_NONE, h_health },
	{ "metrics", CK_HTTP_GET, "metrics", CK_ROLE_READ, SCOPE_NONE,
	  BODY_NONE, h_metrics },
	{ "params", CK_HTTP_GET, "v1/repo/params", CK_ROLE_WRITE, SCOPE_NONE,
	  BODY_NONE, h_params },
	{ "stats", CK_HTTP_GET, "v1/stats", CK_ROLE_READ, SCOPE_REPO,
	  BODY_NONE, h_stats },
	{ "fsck", CK_HTTP_POST, "v1/fsck", CK_ROLE_ADMIN, SCOPE_REPO,
	  BODY_JSON, h_fsck },
	{ "gc", CK_HTTP_POST, "v1/gc", CK_ROLE_ADMIN, SCOPE_REPO, BODY_JSON,
	  h_gc },
	{ "policy", CK_HTTP_GET, "v1/policy", CK_ROLE_READ, SCOPE_REPO,
	  BODY_NONE, h_policy },
	{ "policy_set", CK_HTTP_PUT, "v1/policy", CK_ROLE_ADMIN, SCOPE_REPO,
	  BODY_JSON, h_policy },
	{ "containers", CK_HTTP_GET, "v1/containers", CK_ROLE_READ,
	  SCOPE_NONE, BODY_NONE, h_containers },
	{ "container_stats", CK_HTTP_GET, "v1/containers/*/stats",
	  CK_ROLE_READ, SCOPE_CONTAINER, BODY_NONE, h_container_stats },
	{ "container_policy", CK_HTTP_GET, "v1/containers/*/policy",
	  CK_ROLE_READ, SCOPE_CONTAINER, BODY_NONE, h_policy },
	{ "container_policy_set", CK_HTTP_PUT, "v1/containers/*/policy",
	  CK_ROLE_WRITE, SCOPE_CONTAINER, BODY_JSON, h_policy },
	{ "container_policy_clear", CK_HTTP_DELETE, "v1/containers/*/policy",
	  CK_ROLE_WRITE, SCOPE_CONTAINER, BODY_NONE, h_policy },
	{ "versions", CK_HTTP_GET, "v1/containers/*/versions", CK_ROLE_READ,
	  SCOPE_CONTAINER, BODY_NONE, h_versions },
	{ "version", CK_HTTP_GET, "v1/containers/*/versions/*", CK_ROLE_READ,
	  SCOPE_CONTAINER, BODY_NONE, h_version },
	{ "version_delete", CK_HTTP_DELETE, "v1/containers/*/versions/*",
	  CK_ROLE_WRITE, SCOPE_CONTAINER, BODY_NONE, h_version_delete },
	{ "entries", CK_HTTP_GET, "v1/containers/*/versions/*/entries",
	  CK_ROLE_READ, SCOPE_CONTAINER, BODY_NONE, h_entries },
	{ "file", CK_HTTP_GET, "v1/containers/*/versions/*/files/**",
	  CK_ROLE_READ, SCOPE_CONTAINER, BODY_NONE, h_file },
	{ "tar", CK_HTTP_GET, "v1/containers/*/versions/*/tar", CK_ROLE_READ,
	  SCOPE_CONTAINER, BODY_NONE, h_tar },
	{ "pin", CK_HTTP_POST, "v1/containers/*/versions/*/pin",
	  CK_ROLE_WRITE, SCOPE_CONTAINER, BODY_JSON, h_pin },
	{ "unpin", CK_HTTP_DELETE, "v1/containers/*/versions/*/pin",
	  CK_ROLE_WRITE, SCOPE_CONTAINER, BODY_NONE, h_pin },
	{ "upload_begin", CK_HTTP_POST, "v1/containers/*/uploads",
	  CK_ROLE_WRITE, SCOPE_CONTAINER, BODY_JSON, h_upload_begin },
	{ "upload_file", CK_HTTP_PUT, "v1/uploads/*/files/**", CK_ROLE_WRITE,
	  SCOPE_UPLOAD, BODY_FILE, h_upload_file },
	{ "upload_chunks", CK_HTTP_POST, "v1/uploads/*/chunks", CK_ROLE_WRITE,
	  SCOPE_UPLOAD, BODY_CHUNKS, h_upload_chunks },
	{ "upload_entries", CK_HTTP_POST, "v1/uploads/*/entries",
	  CK_ROLE_WRITE, SCOPE_UPLOAD, BODY_JSON, h_upload_entries },
	{ "upload_commit", CK_HTTP_POST, "v1/uploads/*/commit", CK_ROLE_WRITE,
	  SCOPE_UPLOAD, BODY_JSON, h_upload_commit },
	{ "upload_abort", CK_HTTP_DELETE, "v1/uploads/*", CK_ROLE_WRITE,
	  SCOPE_UPLOAD, BODY_NONE, h_upload_abort },
};
#define NROUTES (sizeof(routes) / sizeof(*routes))

static const char *route_names[NROUTES];

static const char *method_str(enum ck_http_method m)
{
	static const char *const n[] = { "GET", "HEAD", "POST",
					 "PUT", "DELETE", "?" };

	return n[m];
}

/* Matches @q's segments against @pattern, filling captures. */
static bool match(struct rq *q, const char *pattern)
{
	const char *p = pattern;
	size_t i = 0;

	q->ncaps = 0;
	free(q->rest);
	q->rest = NULL;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t n = e ? (size_t)(e - p) : strlen(p);

		if (n == 2 && !strncmp(p, "**", 2)) {
			size_t total = 0, k = 0;

			if (i >= q->nsegs)
				return false;
			for (size_t j = i; j < q->nsegs; j++)
				total += strlen(q->segs[j]) + 1;
			q->rest = malloc(total);
			if (!q->rest)
				return false;
			for (size_t j = i; j < q->nsegs; j++) {
				size_t l = strlen(q->segs[j]);

				memcpy(q->rest + k, q->segs[j], l);
				k += l;
				q->rest[k++] = j + 1 < q->nsegs ? '/' : 0;
			}
			return true;
		}
		if (i >= q->nsegs)
			return false;
		if (n == 1 && *p == '*') {
			if (!q->segs[i][0] || q->ncaps == 4)
				return false;
			q->caps[q->ncaps++] = q->segs[i];
		} else if (strlen(q->segs[i]) != n ||
			   strncmp(q->segs[i], p, n)) {
			return false;
		}
		i++;
		p = e ? e + 1 : p + n;
	}
	return i == q->nsegs;
}

static pthread_key_t thread_key;
static pthread_once_t thread_once = PTHREAD_ONCE_INIT;

/* Frees a connection thread's zstd contexts when the thread ends. */
static void thread_end(void *p)
{
	(void)p;
	ck_compress_thread_exit();
}

static void make_key(void)
{
	(void)pthread_key_create(&thread_key, thread_end);
}

static size_t body_limit(const struct ck_routes *rt, enum body_kind k)
{
	const struct ck_config *c = rt->cfg;

	switch (k) {
	case BODY_JSON:
		return (size_t)c->max_json;
	case BODY_FILE:
		return (size_t)(c->max_body > c->max_manifest ? c->max_body
							      : c->max_manifest);
	case BODY_CHUNKS:
		return (size_t)c->max_body;
	case BODY_NONE:
		break;
	}
	return 0;
}

static void on_begin(void *ud, struct ck_http_req *req)
{
	struct ck_routes *rt = ud;
	enum ck_http_method m = ck_http_method(req);
	struct rq *q;
	const struct route *found = NULL;
	const char *container = NULL;
	char allow[64] = "";
	bool path_ok = false;
	int r;

	pthread_once(&thread_once, make_key);
	pthread_setspecific(thread_key, rt);
	atomic_fetch_add(&rt->active, 1);
	q = calloc(1, sizeof(*q));
	if (!q) {
		atomic_fetch_sub(&rt->active, 1);
		ck_http_respond_errno(req, -ENOMEM, "out of memory");
		return;
	}
	q->active = true;
	q->route_idx = NROUTES;
	ck_http_set_data(req, q);
	if (atomic_load(&rt->draining)) {
		ck_http_add_header(req, "Connection", "close");
		ck_http_respond_error(req, 503, "shutting_down",
				      "the server is shutting down");
		return;
	}
	r = rq_parse(q, ck_http_uri(req));
	if (r < 0) {
		ck_http_respond_error(req, 400, "bad_request",
				      "malformed request target (bad percent "
				      "escape, NUL, control character or "
				      "encoded '/')");
		return;
	}
	for (size_t i = 0; i < NROUTES; i++) {
		enum ck_http_method rm = routes[i].method;

		if (!match(q, routes[i].pattern))
			continue;
		path_ok = true;
		if (rm == m || (rm == CK_HTTP_GET && m == CK_HTTP_HEAD)) {
			found = &routes[i];
			q->route_idx = i;
			break;
		}
		snprintf(allow + strlen(allow), sizeof(allow) - strlen(allow),
			 "%s%s%s", allow[0] ? ", " : "", method_str(rm),
			 rm == CK_HTTP_GET ? ", HEAD" : "");
	}
	if (!found && path_ok) {
		ck_http_add_header(req, "Allow", allow);
		ck_http_respond_error(req, 405, "method_not_allowed",
				      "%s is not allowed here (allowed: %s)",
				      ck_http_method_name(req), allow);
		return;
	}
	if (!found) {
		ck_http_respond_error(req, 404, "not_found",
				      "no such endpoint: %s %s",
				      ck_http_method_name(req),
				      ck_http_uri(req));
		return;
	}
	q->route = found;
	match(q, found->pattern); /* captures of the chosen route */

	pthread_mutex_lock(&rt->auth_lock);
	q->auth = ck_auth_ref(rt->auth);
	pthread_mutex_unlock(&rt->auth_lock);
	if (found->role != CK_ROLE_NONE &&
	    !(found->fn == h_metrics && !rt->cfg->metrics_auth)) {
		r = ck_auth_check(q->auth, ck_http_header(req, "Authorization"),
				  &q->who);
		if (r < 0 || (q->who.role == CK_ROLE_NONE && !q->who.token)) {
			ck_http_respond_error(req, 401, "unauthorized",
					      r < 0 ? "unknown or malformed "
						      "bearer token"
						    : "this endpoint needs a "
						      "bearer token");
			return;
		}
		if (found->scope == SCOPE_CONTAINER) {
			container = q->caps[0];
			if (ck_name_check(container) < 0) {
				ck_http_respond_error(
					req, 400, "bad_request",
					"invalid container name '%s'",
					container);
				return;
			}
		}
		if (q->who.role < found->role) {
			ck_http_respond_error(req, 403, "forbidden",
					      "token '%s' has role %s; this "
					      "needs %s",
					      ck_auth_name(&q->who),
					      ck_role_name(q->who.role),
					      ck_role_name(found->role));
			return;
		}
		/* Uploads check their container when they are taken. */
		if ((found->scope == SCOPE_CONTAINER ||
		     found->scope == SCOPE_REPO) &&
		    !ck_auth_allows(&q->who, found->role, container)) {
			if (container)
				ck_http_respond_error(
					req, 403, "forbidden",
					"token '%s' may not use container '%s'",
					ck_auth_name(&q->who), container);
			else
				ck_http_respond_error(
					req, 403, "forbidden",
					"token '%s' is limited to some "
					"containers; this needs an unlimited "
					"token",
					ck_auth_name(&q->who));
			return;
		}
	} else {
		q->who.role = CK_ROLE_NONE;
	}
	ck_http_set_body_limit(req, body_limit(rt, found->body));
}

static void on_body(void *ud, struct ck_http_req *req)
{
	struct ck_routes *rt = ud;
	struct rq *q = ck_http_data(req);
	int r;

	r = q->route->fn(rt, q, req);
	if (r < 0 && !ck_http_responded(req))
		ck_http_respond_errno(req, r, "%s failed: %s",
				      q->route->name, strerror(-r));
}

static void on_end(void *ud, struct ck_http_req *req, bool ok)
{
	struct ck_routes *rt = ud;
	struct rq *q = ck_http_data(req);
	unsigned status = ck_http_status(req);

	if (status == 401)
		ck_metrics_add(rt->m, CK_M_AUTH_FAILURES, 1);
	if (status == 403)
		ck_metrics_add(rt->m, CK_M_FORBIDDEN, 1);
	ck_metrics_request(rt->m, q ? q->route_idx : NROUTES, status,
			   ck_http_bytes_received(req),
			   ck_http_bytes_sent(req), ck_http_elapsed_ns(req));
	if (status >= 500 && status != 501 && status != 503)
		ck_log_error("%s %s from %s: %u", ck_http_method_name(req),
			     ck_http_uri(req), ck_http_peer(req), status);
	else
		ck_log_debug("%s %s from %s (%s): %u%s",
			     ck_http_method_name(req), ck_http_uri(req),
			     ck_http_peer(req),
			     q ? ck_auth_name(&q->who) : "?", status,
			     ok ? "" : " (not completed)");
	if (q && q->active)
		atomic_fetch_sub(&rt->active, 1);
	rq_free(q);
}

const struct ck_http_ops ck_routes_ops = {
	.on_begin = on_begin,
	.on_body = on_body,
	.on_end = on_end,
};

int ck_routes_new(struct ck_repo *r, const struct ck_config *cfg,
		  struct ck_auth *auth, struct ck_routes **ret)
{
	struct ck_uploads_opts uo = {
		.max_uploads = cfg->max_uploads,
		.idle_timeout = cfg->upload_idle_timeout,
		.max_files = cfg->max_upload_files,
		.max_chunks = cfg->max_upload_chunks,
	};
	struct ck_routes *rt = calloc(1, sizeof(*rt));
	int q;

	if (!rt)
		return -ENOMEM;
	rt->r = r;
	rt->cfg = cfg;
	rt->start_ns = now_ns();
	pthread_mutex_init(&rt->auth_lock, NULL);
	rt->auth = ck_auth_ref(auth);
	for (size_t i = 0; i < NROUTES; i++)
		route_names[i] = routes[i].name;
	rt->m = ck_metrics_new(route_names, NROUTES);
	if (!rt->m) {
		ck_routes_free(rt);
		return -ENOMEM;
	}
	q = ck_uploads_new(r, &uo, rt->m, &rt->up);
	if (q < 0) {
		ck_routes_free(rt);
		return q;
	}
	*ret = rt;
	return 0;
}

struct ck_routes *ck_routes_free(struct ck_routes *rt)
{
	if (!rt)
		return NULL;
	ck_uploads_free(rt->up);
	ck_metrics_free(rt->m);
	ck_auth_unref(rt->auth);
	pthread_mutex_destroy(&rt->auth_lock);
	free(rt);
	return NULL;
}

void ck_routes_set_auth(struct ck_routes *rt, struct ck_auth *auth)
{
	struct ck_auth *old;

	pthread_mutex_lock(&rt->auth_lock);
	old = rt->auth;
	rt->auth = ck_auth_ref(auth);
	pthread_mutex_unlock(&rt->auth_lock);
	ck_auth_unref(old);
}

void ck_routes_drain(struct ck_routes *rt)
{
	atomic_store(&rt->draining, true);
}

uint64_t ck_routes_active(struct ck_routes *rt)
{
	return atomic_load(&rt->active);
}

struct ck_metrics *ck_routes_metrics(struct ck_routes *rt)
{
	return rt->m;
}

size_t ck_routes_uploads(struct ck_routes *rt)
{
	return ck_uploads_active(rt->up);
}
