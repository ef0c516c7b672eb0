/* SPDX-License-Identifier: MIT */
/*
 * remote-push.c - ck_remote_push_dir(): the client half of the upload
 * protocol (remote.h, docs/http-api.md "Uploads").
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress.h"
#include "fsutil.h"
#include "http.h"
#include "id.h"
#include "idmap.h"
#include "remote.h"
#include "walk.h"

#define PAGEMAP_MAX (64u << 20)
#define BATCH_MAX (4u << 20)
#define QUEUE_MAX 2
#define READ_BLOCK (1u << 20)
#define ENTRIES_PER_POST 2000
#define WIRE_LEVEL 1

static int set_err(char *errpath, const char *path, int r)
{
	snprintf(errpath, CK_PATH_MAX + 1, "%s", path);
	return r;
}

static bool has_prefix_suffix(const char *path, const char *pre,
			      const char *suf)
{
	const char *b = strrchr(path, '/');
	size_t n, p = strlen(pre), s = strlen(suf);

	b = b ? b + 1 : path;
	n = strlen(b);
	return n > p + s && !strncmp(b, pre, p) && !strcmp(b + n - s, suf);
}

/* --- the sender thread --------------------------------------------------- */

struct batch {
	uint8_t *buf;
	size_t len;
};

struct sender {
	struct ck_http *h; /* its own connection */
	char path[160];	   /* "/v1/uploads/<id>/chunks" */
	bool compress;
	pthread_t th;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct batch q[QUEUE_MAX];
	size_t qn;
	bool busy, stop;
	int err;
	char msg[512];
	uint64_t chunks_sent;
};

static int send_batch(struct sender *s, const struct batch *b)
{
	struct ck_http_req q = { .method = "POST", .path = s->path,
				 .body = b->buf, .len = b->len,
				 .ctype = "application/octet-stream" };
	struct ck_http_resp r;
	void *z = NULL;
	size_t zlen = 0;
	int ret;

	if (s->compress) {
		size_t cap = ck_compress_bound(b->len);

		z = malloc(cap);
		if (z && ck_compress(WIRE_LEVEL, b->buf, b->len, NULL, 0, z,
				     cap, &zlen) == 0 &&
		    zlen < b->len) {
			q.body = z;
			q.len = zlen;
			q.zstd = true;
			q.raw_len = b->len;
		}
	}
	ret = ck_http_do(s->h, &q, &r);
	free(z);
	if (ret < 0) {
		snprintf(s->msg, sizeof(s->msg), "sending chunks: %.400s",
			 r.error);
	} else if (r.status != 200) {
		snprintf(s->msg, sizeof(s->msg), "sending chunks: %.400s (HTTP %ld)",
			 r.error, r.status);
		ret = r.status == 422 ? -EILSEQ
		      : r.status == 507 ? -ENOSPC
		      : r.status == 404 ? -ENOENT
					 : -EIO;
	}
	ck_http_resp_release(&r);
	return ret;
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;

	pthread_mutex_lock(&s->lock);
	for (;;) {
		struct batch b;
		int q;

		while (!s->qn && !s->stop)
			pthread_cond_wait(&s->cond, &s->lock);
		if (!s->qn)
			break;
		b = s->q[0];
		memmove(s->q, s->q + 1, (s->qn - 1) * sizeof(*s->q));
		s->qn--;
		s->busy = true;
		pthread_cond_broadcast(&s->cond);
		pthread_mutex_unlock(&s->lock);
		q = s->err ? 0 : send_batch(s, &b);
		free(b.buf);
		pthread_mutex_lock(&s->lock);
		if (q < 0 && !s->err)
			s->err = q;
		s->busy = false;
		pthread_cond_broadcast(&s->cond);
	}
	pthread_mutex_unlock(&s->lock);
	ck_compress_thread_exit();
	return NULL;
}

/* Queues @b (taking its buffer), waiting while the queue is full. */
static int sender_put(struct sender *s, struct batch *b)
{
	int q;

	pthread_mutex_lock(&s->lock);
	while (s->qn == QUEUE_MAX && !s->err)
		pthread_cond_wait(&s->cond, &s->lock);
	q = s->err;
	if (!q) {
		s->q[s->qn++] = *b;
		pthread_cond_broadcast(&s->cond);
	} else {
		free(b->buf);
	}
	b->buf = NULL;
	b->len = 0;
	pthread_mutex_unlock(&s->lock);
	return q;
}

/* Waits until every queued batch was sent. */
static int sender_flush(struct sender *s)
{
	int q;

	pthread_mutex_lock(&s->lock);
	while ((s->qn || s->busy) && !s->err)
		pthread_cond_wait(&s->cond, &s->lock);
	q = s->err;
	pthread_mutex_unlock(&s->lock);
	return q;
}

static void sender_stop(struct sender *s)
{
	if (!s->started)
		return;
	pthread_mutex_lock(&s->lock);
	s->stop = true;
	if (!s->err)
		s->err = -ECANCELED; /* drop what is queued */
	pthread_cond_broadcast(&s->cond);
	pthread_mutex_unlock(&s->lock);
	pthread_join(s->th, NULL);
	for (size_t i = 0; i < s->qn; i++)
		free(s->q[i].buf);
	s->qn = 0;
	s->started = false;
}

/* --- one upload ------------------------------------------------------------ */

struct upload {
	struct ck_remote *rm;
	const struct ck_remote_params *p;
	struct ck_remote_push_opts *o;
	struct ck_walk *w;
	char id[64];
	char base[96]; /* "/v1/uploads/<id>" */
	struct sender snd;
	struct batch cur;
	size_t batch_max;
	struct ck_idmap sent;
	uint64_t done;
};

/* Sends the current batch of chunk frames, if any. */
static int flush_batch(struct upload *u)
{
	if (!u->cur.len)
		return 0;
	return sender_put(&u->snd, &u->cur);
}

static int add_frame(struct upload *u, const struct ck_id *id,
		     const void *data, size_t len)
{
	uint8_t *p;
	int q;

	if (u->cur.len && u->cur.len + CK_ID_SIZE + 4 + len > u->batch_max) {
		q = flush_batch(u);
		if (q < 0)
			return q;
	}
	if (!u->cur.buf) {
		size_t cap = u->batch_max > len + 64 ? u->batch_max
						     : len + 64;

		u->cur.buf = malloc(cap);
		if (!u->cur.buf)
			return -ENOMEM;
	}
	p = u->cur.buf + u->cur.len;
	memcpy(p, id->b, CK_ID_SIZE);
	p[16] = (uint8_t)len;
	p[17] = (uint8_t)(len >> 8);
	p[18] = (uint8_t)(len >> 16);
	p[19] = (uint8_t)(len >> 24);
	memcpy(p + 20, data, len);
	u->cur.len += CK_ID_SIZE + 4 + len;
	u->o->chunks_sent++;
	u->o->chunk_bytes_sent += len;
	return 0;
}

/* "?size=..&chunk_size=..&mode=..&uid=..&gid=..&mtime_ns=.." */
static int file_url(struct upload *u, const struct ck_walk_item *it, uint32_t cs,
		    bool inl, char *buf, size_t cap)
{
	char esc[3 * CK_PATH_MAX + 1];
	int k;

	if (ck_http_escape(it->path, true, esc, sizeof(esc)) < 0)
		return -ENAMETOOLONG;
	k = snprintf(buf, cap,
		     "%s/files/%s?size=%" PRIu64 "&chunk_size=%" PRIu32
		     "&mode=%u&uid=%u&gid=%u&mtime_ns=%" PRId64 "%s",
		     u->base, esc, (uint64_t)it->st.st_size, cs,
		     (unsigned)(it->st.st_mode & 07777),
		     (unsigned)it->st.st_uid, (unsigned)it->st.st_gid,
		     (int64_t)it->st.st_mtim.tv_sec * 1000000000 +
			     it->st.st_mtim.tv_nsec,
		     inl ? "&inline=1" : "");
	return k < 0 || (size_t)k >= cap ? -ENAMETOOLONG : 0;
}

/* PUT with an optionally compressed body; returns the response. */
static int put(struct upload *u, const char *url, const void *body,
	       size_t len, struct ck_http_resp *r)
{
	struct ck_http_req q = { .method = "PUT", .path = url, .body = body,
				 .len = len,
				 .ctype = "application/octet-stream" };
	void *z = NULL;
	size_t zlen = 0;
	int ret;

	if (len >= 4096 && !u->o->no_compress) {
		size_t cap = ck_compress_bound(len);

		z = malloc(cap);
		if (z && ck_compress(WIRE_LEVEL, body, len, NULL, 0, z, cap,
				     &zlen) == 0 &&
		    zlen < len - len / 10) {
			q.body = z;
			q.len = zlen;
			q.zstd = true;
			q.raw_len = len;
		}
	}
	ret = ck_http_do(ck_remote_http(u->rm), &q, r);
	free(z);
	if (ret < 0)
		return ck_remote_fail(u->rm, ret, "%s", r->error);
	if (r->status != 200) {
		ck_remote_fail(u->rm, -EIO, "%s (HTTP %ld)", r->error,
			       r->status);
		return r->status == 400	  ? -EINVAL
		       : r->status == 413 ? -EFBIG
		       : r->status == 507 ? -ENOSPC
		       : r->status == 404 ? -ENOENT
					  : -EIO;
	}
	return 0;
}

static int push_inline(struct upload *u, const struct ck_walk_item *it)
{
	char url[4 * CK_PATH_MAX + 256], p[64];
	struct ck_http_resp r;
	void *buf = NULL;
	size_t len = 0;
	int fd, q;

	fd = openat(u->w->root_fd, it->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return set_err(u->o->errpath, it->path, -errno);
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	q = ck_read_file(p, PAGEMAP_MAX, &buf, &len);
	close(fd);
	if (q < 0)
		return set_err(u->o->errpath, it->path, q);
	if (len != (size_t)it->st.st_size) {
		free(buf);
		return set_err(u->o->errpath, it->path, -EAGAIN);
	}
	q = file_url(u, it, u->p->small_chunk, true, url, sizeof(url));
	if (q == 0)
		q = put(u, url, buf, len, &r);
	if (q == 0)
		ck_http_resp_release(&r);
	free(buf);
	u->done += len;
	if (q < 0)
		set_err(u->o->errpath, it->path, q);
	return q;
}

static int push_file(struct upload *u, const struct ck_walk_item *it)
{
	uint32_t cs = has_prefix_suffix(it->path, "pages-", ".img")
			      ? u->p->chunk_unit
			      : u->p->small_chunk;
	uint64_t size = (uint64_t)it->st.st_size;
	uint64_t n = size / cs + (size % cs != 0);
	struct ck_id *ids = NULL;
	uint8_t *buf = NULL;
	size_t block = READ_BLOCK > cs ? READ_BLOCK / cs * cs : cs;
	char url[4 * CK_PATH_MAX + 256];
	struct ck_http_resp r = { 0 };
	bool have_resp = false;
	int fd, q;

	if (n * CK_ID_SIZE > u->p->max_manifest)
		return set_err(u->o->errpath, it->path,
			       ck_remote_fail(u->rm, -EFBIG,
					      "'%s' has %" PRIu64
					      " chunks, more than the server's "
					      "max_manifest allows",
					      it->path, n));
	fd = openat(u->w->root_fd, it->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return set_err(u->o->errpath, it->path, -errno);
	ids = calloc(n ? n : 1, sizeof(*ids));
	buf = malloc(block);
	if (!ids || !buf) {
		q = -ENOMEM;
		goto out;
	}
	/* Hash: the manifest. */
	for (uint64_t off = 0; off < size; off += block) {
		size_t len = size - off < block ? (size_t)(size - off) : block;

		q = ck_pread_all(fd, buf, len, (off_t)off);
		if (q < 0)
			goto out;
		for (size_t k = 0; k < len; k += cs) {
			size_t clen = len - k < cs ? len - k : cs;
			uint64_t i = (off + k) / cs;

			if (!ck_is_zero(buf + k, clen))
				ck_id_compute(&u->p->hasher, buf + k, clen,
					      &ids[i]);
			else
				memset(&ids[i], 0, sizeof(ids[i]));
		}
		u->done += len;
		if (u->o->progress)
			u->o->progress(u->o->progress_ud, u->done,
				       u->w->total);
	}
	for (uint64_t i = 0; i < n; i++)
		u->o->chunks_offered += !ck_id_is_zero(&ids[i]);
	q = file_url(u, it, cs, false, url, sizeof(url));
	if (q < 0)
		goto out;
	q = put(u, url, ids, n * CK_ID_SIZE, &r);
	if (q < 0)
		goto out;
	have_resp = true;
	if (r.len < n / 8 + (n % 8 != 0)) {
		q = ck_remote_fail(u->rm, -EPROTO,
				   "the server's answer for '%s' is too short",
				   it->path);
		goto out;
	}
	/* Send what the server lacks. */
	for (uint64_t i = 0; i < n; i++) {
		size_t clen;
		bool isnew;

		if (!((uint8_t)r.body[i / 8] & (1u << (i % 8))))
			continue;
		if (ck_id_is_zero(&ids[i]))
			continue;
		if (!ck_idmap_upsert(&u->sent, &ids[i], &isnew)) {
			q = -ENOMEM;
			goto out;
		}
		if (!isnew)
			continue;
		clen = i + 1 < n ? cs : (size_t)(size - i * cs);
		q = ck_pread_all(fd, buf, clen, (off_t)(i * cs));
		if (q < 0)
			goto out;
		q = add_frame(u, &ids[i], buf, clen);
		if (q < 0)
			goto out;
	}
out:
	if (have_resp)
		ck_http_resp_release(&r);
	if (q < 0)
		set_err(u->o->errpath, it->path, q);
	close(fd);
	free(ids);
	free(buf);
	return q;
}

static int post_json(struct upload *u, const char *path, json_t *o,
		     json_t **ret)
{
	struct ck_http_req q = { .method = "POST", .path = path,
				 .ctype = "application/json" };
	char *s = json_dumps(o, JSON_COMPACT);
	int r;

	if (!s)
		return -ENOMEM;
	q.body = s;
	q.len = strlen(s);
	r = ck_remote_call(u->rm, &q, (void **)ret);
	free(s);
	return r;
}

static int push_entries(struct upload *u)
{
	char path[128];
	json_t *a = json_array();
	int q = 0;

	if (!a)
		return -ENOMEM;
	snprintf(path, sizeof(path), "%s/entries", u->base);
	for (size_t i = 0; i <= u->w->n && q == 0; i++) {
		const struct ck_walk_item *it = i < u->w->n ? &u->w->v[i] : NULL;

		if (it && (S_ISDIR(it->st.st_mode) || S_ISLNK(it->st.st_mode))) {
			int64_t mt = (int64_t)it->st.st_mtim.tv_sec * 1000000000 +
				     it->st.st_mtim.tv_nsec;
			json_t *e = json_pack(
				"{s:s, s:s, s:i, s:I, s:I, s:I}", "path",
				it->path, "type",
				S_ISDIR(it->st.st_mode) ? "dir" : "symlink",
				"mode", (int)(it->st.st_mode & 07777), "uid",
				(json_int_t)it->st.st_uid, "gid",
				(json_int_t)it->st.st_gid, "mtime_ns",
				(json_int_t)mt);

			if (S_ISLNK(it->st.st_mode)) {
				char t[CK_PATH_MAX + 1];
				ssize_t k = readlinkat(u->w->root_fd, it->path,
						       t, sizeof(t) - 1);

				if (k < 0 || k == sizeof(t) - 1) {
					json_decref(e);
					q = set_err(u->o->errpath, it->path,
						    k < 0 ? -errno
							  : -ENAMETOOLONG);
					break;
				}
				t[k] = 0;
				json_object_set_new(e, "target",
						    json_string(t));
			}
			json_array_append_new(a, e);
		}
		if (json_array_size(a) &&
		    (json_array_size(a) == ENTRIES_PER_POST || !it)) {
			json_t *o = json_pack("{s:O}", "entries", a);

			q = o ? post_json(u, path, o, NULL) : -ENOMEM;
			json_decref(o);
			json_array_clear(a);
		}
	}
	json_decref(a);
	return q;
}

static void abort_upload(struct upload *u)
{
	struct ck_http_req q = { .method = "DELETE", .path = u->base };
	struct ck_http_resp r;

	if (!u->id[0])
		return;
	if (ck_http_do(ck_remote_http(u->rm), &q, &r) == 0)
		ck_http_resp_release(&r);
}

static int push_once(struct ck_remote *rm, const char *container,
		     const char *name, struct ck_walk *w,
		     struct ck_remote_push_opts *o, struct ck_version *ret)
{
	struct upload u = { .rm = rm, .o = o, .w = w };
	char c[3 * CK_NAME_MAX + 1], path[4 * CK_NAME_MAX], t[CK_PATH_MAX + 1];
	json_t *req = NULL, *resp = NULL;
	const char *id;
	int q;

	q = ck_remote_params(rm, &u.p);
	if (q < 0)
		return q;
	u.batch_max = BATCH_MAX;
	if (u.batch_max > u.p->max_body / 2)
		u.batch_max = (size_t)(u.p->max_body / 2);
	pthread_mutex_init(&u.snd.lock, NULL);
	pthread_cond_init(&u.snd.cond, NULL);
	u.snd.compress = !o->no_compress;

	/* Begin. */
	req = json_pack("{s:s}", "name", name);
	if (!req) {
		q = -ENOMEM;
		goto out;
	}
	json_object_set_new(req, "complete",
			    o->complete < 0 ? json_null()
					    : json_boolean(o->complete));
	if (o->lenient)
		json_object_set_new(req, "lenient", json_true());
	for (size_t i = 0; i < w->n; i++) {
		ssize_t k;

		if (strcmp(w->v[i].path, "parent") ||
		    !S_ISLNK(w->v[i].st.st_mode))
			continue;
		k = readlinkat(w->root_fd, "parent", t, sizeof(t) - 1);
		if (k > 0) {
			t[k] = 0;
			json_object_set_new(req, "parent", json_string(t));
		}
	}
	if (ck_http_escape(container, false, c, sizeof(c)) < 0) {
		q = -EINVAL;
		goto out;
	}
	snprintf(path, sizeof(path), "/v1/containers/%s/uploads", c);
	q = post_json(&u, path, req, &resp);
	if (q < 0)
		goto out;
	id = json_string_value(json_object_get(resp, "upload"));
	if (!id || strlen(id) >= sizeof(u.id) ||
	    strspn(id, "0123456789abcdef") != strlen(id)) {
		q = ck_remote_fail(rm, -EPROTO, "the server sent no upload ID");
		goto out;
	}
	snprintf(u.id, sizeof(u.id), "%s", id);
	snprintf(u.base, sizeof(u.base), "/v1/uploads/%s", u.id);
	snprintf(u.snd.path, sizeof(u.snd.path), "%s/chunks", u.base);
	q = ck_http_clone(ck_remote_http(rm), &u.snd.h);
	if (q < 0)
		goto out;
	if (pthread_create(&u.snd.th, NULL, sender_main, &u.snd) != 0) {
		q = -EAGAIN;
		goto out;
	}
	u.snd.started = true;

	/* Pagemaps first: they place the pages of the pages files. */
	for (size_t i = 0; i < w->n; i++) {
		const struct ck_walk_item *it = &w->v[i];

		if (!S_ISREG(it->st.st_mode) ||
		    !has_prefix_suffix(it->path, "pagemap-", ".img") ||
		    it->st.st_size > (off_t)PAGEMAP_MAX)
			continue;
		q = push_inline(&u, it);
		if (q < 0)
			goto out;
	}
	for (size_t i = 0; i < w->n; i++) {
		const struct ck_walk_item *it = &w->v[i];

		if (!S_ISREG(it->st.st_mode) ||
		    (has_prefix_suffix(it->path, "pagemap-", ".img") &&
		     it->st.st_size <= (off_t)PAGEMAP_MAX))
			continue;
		q = push_file(&u, it);
		if (q < 0)
			goto out;
	}
	q = flush_batch(&u);
	if (q == 0)
		q = sender_flush(&u.snd);
	if (q < 0) {
		if (u.snd.msg[0])
			ck_remote_fail(rm, q, "%s", u.snd.msg);
		goto out;
	}
	q = push_entries(&u);
	if (q < 0)
		goto out;

	/* Commit. */
	json_decref(resp);
	resp = NULL;
	snprintf(path, sizeof(path), "%s/commit", u.base);
	json_decref(req);
	req = json_object();
	q = req ? post_json(&u, path, req, &resp) : -ENOMEM;
	if (q == 0) {
		u.id[0] = 0; /* committed: nothing to abort */
		q = ck_remote_version_json(resp, ret);
	} else if (q != -EAGAIN && q != -EEXIST) {
		u.id[0] = 0; /* a failed commit drops the upload */
	}
out:
	sender_stop(&u.snd);
	if (q < 0)
		abort_upload(&u);
	if (u.snd.h) {
		o->wire_sent += ck_http_bytes_sent(u.snd.h);
		o->wire_received += ck_http_bytes_received(u.snd.h);
	}
	ck_http_free(u.snd.h);
	free(u.cur.buf);
	ck_idmap_release(&u.sent);
	pthread_cond_destroy(&u.snd.cond);
	pthread_mutex_destroy(&u.snd.lock);
	json_decref(req);
	json_decref(resp);
	return q;
}

int ck_remote_push_dir(struct ck_remote *rm, const char *container,
		       const char *dir, struct ck_remote_push_opts *o,
		       struct ck_version *ret)
{
	struct ck_walk w = { .root_fd = -1, .errpath = o->errpath };
	char name[CK_NAME_MAX + 1];
	uint64_t s0 = ck_remote_bytes_sent(rm);
	uint64_t r0 = ck_remote_bytes_received(rm);
	int q;

	o->errpath[0] = 0;
	o->chunks_offered = o->chunks_sent = o->chunk_bytes_sent = 0;
	o->wire_sent = o->wire_received = 0;
	if (o->name) {
		if (strlen(o->name) > CK_NAME_MAX)
			return -EINVAL;
		memcpy(name, o->name, strlen(o->name) + 1);
	} else {
		char tmp[4096];
		size_t n = strlen(dir);
		const char *b;

		if (n >= sizeof(tmp))
			return -ENAMETOOLONG;
		memcpy(tmp, dir, n + 1);
		while (n > 1 && tmp[n - 1] == '/')
			tmp[--n] = 0;
		b = strrchr(tmp, '/');
		b = b ? b + 1 : tmp;
		if (strlen(b) > CK_NAME_MAX)
			return -EINVAL;
		memcpy(name, b, strlen(b) + 1);
	}
	q = ck_name_check(name);
	if (q < 0)
		return q;
	w.root_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.root_fd < 0)
		return set_err(o->errpath, dir, -errno);
	q = ck_walk_dir(&w, "", 0);
	if (q == 0) {
		/* A chunk this upload reused was deleted by a concurrent gc
		 * before the commit (docs/gc.md): upload again, what is
		 * missing now; gc running continuously can take a few. */
		for (int i = 0; i < 5; i++) {
			q = push_once(rm, container, name, &w, o, ret);
			if (q != -EAGAIN)
				break;
			usleep(50000u << i);
		}
	}
	free(w.v);
	close(w.root_fd);
	o->wire_sent += ck_remote_bytes_sent(rm) - s0;
	o->wire_received += ck_remote_bytes_received(rm) - r0;
	return q;
}
