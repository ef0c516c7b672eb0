/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsutil.h"
#include "http.h"
#include "remote.h"

struct ck_remote {
	struct ck_http *h;
	char err[1024];
	long status;
	bool have_params;
	struct ck_remote_params params;
};

int ck_remote_open(const char *url, const char *token, const char *cacert,
		   struct ck_remote **ret)
{
	struct ck_remote *rm = calloc(1, sizeof(*rm));
	int q;

	if (!rm)
		return -ENOMEM;
	q = ck_http_new(url, token, cacert, &rm->h);
	if (q < 0) {
		free(rm);
		return q;
	}
	*ret = rm;
	return 0;
}

struct ck_remote *ck_remote_free(struct ck_remote *rm)
{
	if (!rm)
		return NULL;
	ck_http_free(rm->h);
	explicit_bzero(&rm->params, sizeof(rm->params));
	free(rm);
	return NULL;
}

const char *ck_remote_error(const struct ck_remote *rm)
{
	return rm->err;
}

long ck_remote_status(const struct ck_remote *rm)
{
	return rm->status;
}

const char *ck_remote_url(const struct ck_remote *rm)
{
	return ck_http_base(rm->h);
}

uint64_t ck_remote_bytes_sent(const struct ck_remote *rm)
{
	return ck_http_bytes_sent(rm->h);
}

uint64_t ck_remote_bytes_received(const struct ck_remote *rm)
{
	return ck_http_bytes_received(rm->h);
}

struct ck_http *ck_remote_http(struct ck_remote *rm)
{
	return rm->h;
}

int ck_remote_fail(struct ck_remote *rm, int r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(rm->err, sizeof(rm->err), fmt, ap);
	va_end(ap);
	return r;
}

static int status_errno(long status, const char *code)
{
	switch (status) {
	case 400:
	case 405:
	case 414:
	case 415:
	case 422:
		return status == 422 ? -EILSEQ : -EINVAL;
	case 401:
		return -EACCES;
	case 403:
		return -EPERM;
	case 404:
		return -ENOENT;
	case 408:
		return -ETIMEDOUT;
	case 409:
		if (!strcmp(code, "retry"))
			return -EAGAIN;
		if (!strcmp(code, "broken_chain"))
			return -ENOLINK;
		if (!strcmp(code, "busy"))
			return -EBUSY;
		return -EEXIST;
	case 413:
		return -EFBIG;
	case 416:
		return -ERANGE;
	case 429:
		return -EUSERS;
	case 500:
		return !strcmp(code, "corrupt") ? -EBADMSG : -EIO;
	case 501:
		return -EOPNOTSUPP;
	case 503:
		return -ESHUTDOWN;
	case 507:
		return -ENOSPC;
	default:
		return -EIO;
	}
}

int ck_remote_call(struct ck_remote *rm, const struct ck_http_req *q,
		   void **ret_json)
{
	struct ck_http_resp r;
	json_error_t je;
	int ret;

	if (ret_json)
		*ret_json = NULL;
	rm->err[0] = 0;
	ret = ck_http_do(rm->h, q, &r);
	rm->status = r.status;
	if (ret < 0) {
		snprintf(rm->err, sizeof(rm->err), "%s", r.error);
		ck_http_resp_release(&r);
		return ret;
	}
	if (r.status < 200 || r.status > 299) {
		snprintf(rm->err, sizeof(rm->err), "%s", r.error);
		ret = status_errno(r.status, r.code);
		ck_http_resp_release(&r);
		return ret;
	}
	if (ret_json && r.len) {
		*ret_json = json_loadb(r.body, r.len, 0, &je);
		if (!*ret_json) {
			snprintf(rm->err, sizeof(rm->err),
				 "the server sent malformed JSON: %s", je.text);
			ret = -EPROTO;
		}
	}
	ck_http_resp_release(&r);
	return ret;
}

/* GET @path into JSON. */
static int get_json(struct ck_remote *rm, const char *path, json_t **ret)
{
	struct ck_http_req q = { .method = "GET", .path = path };

	return ck_remote_call(rm, &q, (void **)ret);
}

/* GET @path, whose answer must be a JSON array. */
static int get_json_array(struct ck_remote *rm, const char *path,
			  json_t **ret)
{
	int q = get_json(rm, path, ret);

	if (q < 0)
		return q;
	if (!json_is_array(*ret)) {
		json_decref(*ret);
		*ret = NULL;
		return ck_remote_fail(rm, -EPROTO, "unexpected answer");
	}
	return 0;
}

static uint64_t u64(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static void str(json_t *o, const char *key, char *buf, size_t cap)
{
	const char *s = json_string_value(json_object_get(o, key));

	snprintf(buf, cap, "%s", s ? s : "");
}

int ck_remote_version_json(const void *json, struct ck_version *v)
{
	json_t *o = (json_t *)json;
	const char *kind, *chain;

	if (!json_is_object(o) || !json_is_string(json_object_get(o, "name")))
		return -EPROTO;
	memset(v, 0, sizeof(*v));
	str(o, "container", v->container, sizeof(v->container));
	str(o, "name", v->name, sizeof(v->name));
	str(o, "parent", v->parent, sizeof(v->parent));
	v->vid = u64(o, "vid");
	v->seq = (uint32_t)u64(o, "seq");
	v->created_ns = (int64_t)u64(o, "created_ns");
	v->complete = json_is_true(json_object_get(o, "complete"));
	kind = json_string_value(json_object_get(o, "kind"));
	v->kind = kind && !strcmp(kind, "pre-dump") ? CK_KIND_PREDUMP
						    : CK_KIND_DUMP;
	chain = json_string_value(json_object_get(o, "chain"));
	v->chain = chain && !strcmp(chain, "flattened") ? CK_CHAIN_FLATTENED
		   : chain && !strcmp(chain, "broken")	 ? CK_CHAIN_BROKEN
							 : CK_CHAIN_FULL;
	v->group = (uint32_t)u64(o, "group");
	v->pinned = json_is_true(json_object_get(o, "pinned"));
	v->logical_bytes = u64(o, "logical_bytes");
	v->added_bytes = u64(o, "added_bytes");
	v->added_chunks = u64(o, "added_chunks");
	v->files = u64(o, "files");
	return 0;
}

static int escape_name(const char *name, char *buf, size_t cap)
{
	return ck_http_escape(name, false, buf, cap);
}

int ck_remote_version_path(const struct ck_version *v, const char *suffix,
			   char *buf, size_t cap)
{
	char c[3 * CK_NAME_MAX + 1], n[3 * CK_NAME_MAX + 1];
	int k;

	if (escape_name(v->container, c, sizeof(c)) < 0 ||
	    escape_name(v->name, n, sizeof(n)) < 0)
		return -ENAMETOOLONG;
	k = snprintf(buf, cap, "/v1/containers/%s/versions/%s%s", c, n,
		     suffix ? suffix : "");
	return k < 0 || (size_t)k >= cap ? -ENAMETOOLONG : 0;
}

int ck_remote_containers(struct ck_remote *rm,
			 struct ck_remote_container **ret, size_t *ret_n)
{
	struct ck_remote_container *v;
	json_t *a = NULL, *o;
	size_t i;
	int q;

	q = get_json_array(rm, "/v1/containers", &a);
	if (q < 0)
		return q;
	v = calloc(json_array_size(a) + 1, sizeof(*v));
	if (!v) {
		json_decref(a);
		return -ENOMEM;
	}
	json_array_foreach(a, i, o)
	{
		str(o, "name", v[i].name, sizeof(v[i].name));
		str(o, "latest", v[i].latest, sizeof(v[i].latest));
		v[i].versions = u64(o, "versions");
		v[i].logical_bytes = u64(o, "logical_bytes");
	}
	*ret_n = json_array_size(a);
	*ret = v;
	json_decref(a);
	return 0;
}

int ck_remote_versions(struct ck_remote *rm, const char *container,
		       struct ck_version **ret, size_t *ret_n)
{
	char c[3 * CK_NAME_MAX + 1], path[4 * CK_NAME_MAX];
	struct ck_version *v;
	json_t *a = NULL, *o;
	size_t i;
	int q;

	if (escape_name(container, c, sizeof(c)) < 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/v1/containers/%s/versions", c);
	q = get_json_array(rm, path, &a);
	if (q < 0)
		return q;
	v = calloc(json_array_size(a) + 1, sizeof(*v));
	if (!v) {
		json_decref(a);
		return -ENOMEM;
	}
	json_array_foreach(a, i, o)
	{
		q = ck_remote_version_json(o, &v[i]);
		if (q < 0) {
			free(v);
			json_decref(a);
			return ck_remote_fail(rm, q, "malformed version");
		}
	}
	*ret_n = json_array_size(a);
	*ret = v;
	json_decref(a);
	return 0;
}

int ck_remote_version_get(struct ck_remote *rm, const char *container,
			  const char *spec, struct ck_version *ret)
{
	char c[3 * CK_NAME_MAX + 1], s[3 * CK_NAME_MAX + 1];
	char path[8 * CK_NAME_MAX];
	json_t *o = NULL;
	int q;

	if (escape_name(container, c, sizeof(c)) < 0 ||
	    escape_name(spec, s, sizeof(s)) < 0)
		return -EINVAL;
	snprintf(path, sizeof(path), "/v1/containers/%s/versions/%s", c, s);
	q = get_json(rm, path, &o);
	if (q < 0)
		return q;
	q = ck_remote_version_json(o, ret);
	json_decref(o);
	return q < 0 ? ck_remote_fail(rm, q, "malformed version") : 0;
}

int ck_remote_entries(struct ck_remote *rm, const struct ck_version *v,
		      const char *view, struct ck_entry **ret, size_t *ret_n)
{
	char path[8 * CK_NAME_MAX], suffix[64];
	struct ck_entry *es;
	json_t *a = NULL, *o;
	size_t i;
	int q;

	snprintf(suffix, sizeof(suffix), "/entries%s%s", view ? "?view=" : "",
		 view ? view : "");
	q = ck_remote_version_path(v, suffix, path, sizeof(path));
	if (q < 0)
		return q;
	q = get_json_array(rm, path, &a);
	if (q < 0)
		return q;
	es = calloc(json_array_size(a) + 1, sizeof(*es));
	if (!es) {
		json_decref(a);
		return -ENOMEM;
	}
	json_array_foreach(a, i, o)
	{
		struct ck_entry *e = &es[i];
		const char *type = json_string_value(json_object_get(o, "type"));
		const char *vw = json_string_value(json_object_get(o, "view"));
		const char *p = json_string_value(json_object_get(o, "path"));

		if (!p || !type || ck_path_check(p) < 0) {
			free(es);
			json_decref(a);
			return ck_remote_fail(rm, -EPROTO,
					      "the server sent a bad entry");
		}
		snprintf(e->path, sizeof(e->path), "%s", p);
		e->type = !strcmp(type, "dir")	     ? CK_ENTRY_DIR
			  : !strcmp(type, "symlink") ? CK_ENTRY_SYMLINK
						     : CK_ENTRY_FILE;
		e->view = vw && !strcmp(vw, "flat") ? CK_VIEW_FLAT
						    : CK_VIEW_WRITTEN;
		e->mode = (uint32_t)u64(o, "mode") & 07777;
		e->uid = (uint32_t)u64(o, "uid");
		e->gid = (uint32_t)u64(o, "gid");
		e->mtime_ns = (int64_t)u64(o, "mtime_ns");
		e->size = u64(o, "size");
		e->chunk_size = (uint32_t)u64(o, "chunk_size");
		if (e->type == CK_ENTRY_FILE && e->chunk_size)
			e->nchunks = (e->size + e->chunk_size - 1) /
				     e->chunk_size;
		str(o, "target", e->target, sizeof(e->target));
	}
	*ret_n = json_array_size(a);
	*ret = es;
	json_decref(a);
	return 0;
}

/* "/v1/containers/C/versions/V/files/PATH[?view=flat]" */
static int file_path(const struct ck_version *v, const char *path, bool flat,
		     char *buf, size_t cap)
{
	char esc[3 * CK_PATH_MAX + 1], suffix[3 * CK_PATH_MAX + 32];

	if (ck_http_escape(path, true, esc, sizeof(esc)) < 0)
		return -ENAMETOOLONG;
	snprintf(suffix, sizeof(suffix), "/files/%s%s", esc,
		 flat ? "?view=flat" : "");
	return ck_remote_version_path(v, suffix, buf, cap);
}

struct membuf {
	uint8_t *p;
	size_t len, cap;
};

static int to_mem(void *ud, const void *data, size_t len)
{
	struct membuf *m = ud;

	if (len > m->cap - m->len)
		return -EPROTO; /* more than asked for */
	memcpy(m->p + m->len, data, len);
	m->len += len;
	return 0;
}

int ck_remote_read(struct ck_remote *rm, const struct ck_version *v,
		   const struct ck_entry *e, uint64_t off, void *buf,
		   size_t len)
{
	char path[4 * CK_PATH_MAX + 4 * CK_NAME_MAX];
	struct membuf m = { .p = buf, .cap = len };
	struct ck_http_get g = { 0 };
	int q;

	if (e->type != CK_ENTRY_FILE)
		return -EISDIR;
	if (off >= e->size || len == 0)
		return 0;
	if (len > e->size - off)
		len = (size_t)(e->size - off);
	if (len > INT32_MAX)
		len = INT32_MAX;
	m.cap = len;
	q = file_path(v, e->path, e->view == CK_VIEW_FLAT, path, sizeof(path));
	if (q < 0)
		return q;
	g.path = path;
	g.off = off;
	g.len = len;
	g.sink = to_mem;
	g.ud = &m;
	q = ck_http_get_many(rm->h, &g, 1, 1);
	rm->status = g.status;
	if (q == -EPROTO && g.status)
		return ck_remote_fail(rm, status_errno(g.status, ""), "%s",
				      g.error);
	if (q < 0)
		return ck_remote_fail(rm, q, "%s", g.error);
	return (int)m.len;
}

static int to_fd(void *ud, const void *data, size_t len)
{
	return ck_write_all(*(int *)ud, data, len);
}

int ck_remote_cat(struct ck_remote *rm, const struct ck_version *v,
		  const char *path, int fd)
{
	char url[4 * CK_PATH_MAX + 4 * CK_NAME_MAX];
	struct ck_http_get g = { 0 };
	int q;

	q = file_path(v, path, false, url, sizeof(url));
	if (q < 0)
		return q;
	g.path = url;
	g.sink = to_fd;
	g.ud = &fd;
	q = ck_http_get_many(rm->h, &g, 1, 1);
	rm->status = g.status;
	if (q == -EPROTO && g.status) {
		q = status_errno(g.status, "");
		if (g.status == 400 && strstr(g.error, "directory"))
			q = -EISDIR;
		return ck_remote_fail(rm, q, "%s", g.error);
	}
	if (q < 0)
		return ck_remote_fail(rm, q, "%s", g.error);
	if (!strcmp(g.type, "symlink"))
		q = ck_write_all(fd, "\n", 1);
	return q;
}

int ck_remote_delete(struct ck_remote *rm, const struct ck_version *v,
		     uint64_t *ret_freed)
{
	struct ck_http_req q = { .method = "DELETE" };
	char path[8 * CK_NAME_MAX];
	json_t *o = NULL;
	int r;

	r = ck_remote_version_path(v, NULL, path, sizeof(path));
	if (r < 0)
		return r;
	q.path = path;
	r = ck_remote_call(rm, &q, (void **)&o);
	if (r < 0)
		return r;
	*ret_freed = u64(o, "freed_bytes");
	json_decref(o);
	return 0;
}

int ck_remote_stats(struct ck_remote *rm, const char *container,
		    struct ck_stats *ret)
{
	char c[3 * CK_NAME_MAX + 1], path[4 * CK_NAME_MAX];
	json_t *o = NULL;
	int q;

	if (container) {
		if (escape_name(container, c, sizeof(c)) < 0)
			return -EINVAL;
		snprintf(path, sizeof(path), "/v1/containers/%s/stats", c);
	} else {
		snprintf(path, sizeof(path), "/v1/stats");
	}
	q = get_json(rm, path, &o);
	if (q < 0)
		return q;
	memset(ret, 0, sizeof(*ret));
	ret->containers = u64(o, "containers");
	ret->versions = u64(o, "versions");
	ret->logical_bytes = u64(o, "logical_bytes");
	ret->chunks = u64(o, "chunks");
	ret->raw_bytes = u64(o, "raw_bytes");
	ret->stored_bytes = u64(o, "stored_bytes");
	ret->delta_chunks = u64(o, "delta_chunks");
	ret->delta_raw_bytes = u64(o, "delta_raw_bytes");
	ret->delta_stored_bytes = u64(o, "delta_stored_bytes");
	ret->list_chunks = u64(o, "list_chunks");
	ret->list_stored_bytes = u64(o, "list_stored_bytes");
	ret->disk_bytes = u64(o, "disk_bytes");
	json_decref(o);
	return 0;
}

int ck_remote_post_json(struct ck_remote *rm, const char *path,
			const char *body, char **ret)
{
	struct ck_http_req q = { .method = "POST", .path = path,
				 .body = body, .len = strlen(body),
				 .ctype = "application/json" };
	json_t *o = NULL;
	int r;

	r = ck_remote_call(rm, &q, (void **)&o);
	if (r < 0)
		return r;
	*ret = json_dumps(o, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	json_decref(o);
	return *ret ? 0 : -ENOMEM;
}

int ck_remote_params(struct ck_remote *rm,
		     const struct ck_remote_params **ret)
{
	struct ck_remote_params *p = &rm->params;
	json_t *o = NULL;
	const char *hex;
	int q;

	if (rm->have_params) {
		*ret = p;
		return 0;
	}
	q = get_json(rm, "/v1/repo/params", &o);
	if (q < 0)
		return q;
	hex = json_string_value(json_object_get(o, "secret"));
	p->chunk_unit = (uint32_t)u64(o, "chunk_unit");
	p->small_chunk = (uint32_t)u64(o, "small_chunk");
	p->max_body = u64(o, "max_body");
	p->max_manifest = u64(o, "max_manifest");
	p->max_json = u64(o, "max_json");
	if (!hex || strlen(hex) != 2 * CK_ID_SECRET_SIZE || !p->chunk_unit ||
	    !p->small_chunk || p->max_body < (64u << 10) ||
	    p->max_manifest < 4096) {
		json_decref(o);
		return ck_remote_fail(rm, -EPROTO,
				      "the server's /v1/repo/params answer is "
				      "malformed");
	}
	for (size_t i = 0; i < CK_ID_SECRET_SIZE; i++) {
		unsigned x;

		if (sscanf(hex + 2 * i, "%2x", &x) != 1) {
			json_decref(o);
			return ck_remote_fail(rm, -EPROTO, "bad secret");
		}
		p->hasher.secret[i] = (uint8_t)x;
	}
	json_decref(o);
	rm->have_params = true;
	*ret = p;
	return 0;
}
