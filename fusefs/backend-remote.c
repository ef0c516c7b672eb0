/* SPDX-License-Identifier: MIT */
/*
 * The remote backend: a ckstored over HTTP (client/remote.h), for
 * `ckstore-fuse --server URL [--token T]`.
 *
 * Connections. A struct ck_remote belongs to one thread at a time, so
 * the backend keeps a pool: a call takes an idle connection (or opens
 * one) and gives it back. Keep-alive makes the pool's connections
 * persistent.
 *
 * Block cache. Versions are immutable, so file bytes are cached by
 * (version id, view, path, 1 MiB block) in memory, least recently used
 * out first, within --cache-size bytes. The server's API serves file
 * byte ranges, not chunks by ID, so the cache holds decoded file blocks;
 * a block is fetched once however many readers want it at the same
 * time (the others wait for it).
 *
 * Retries. A transport failure (server unreachable, connection reset,
 * time-out, 503 while the server drains) is retried after 0.2 s, 1 s and
 * 3 s; after that the call fails with -EIO, which the mount returns to
 * the reader. Uploads are retried after 1, 2, 4 and 8 s; then the commit
 * fails, the version stays in the spool and the mount tries again every
 * CKFS_RETRY_S seconds (fs.h). A token without the write role makes a
 * read-only backend.
 */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend.h"
#include "http.h"
#include "log.h"
#include "remote.h"

#define POOL_MAX 16
#define BLOCK (1u << 20)
#define NBUCKETS 4096

struct block {
	uint64_t vid;
	int view;
	char *path;
	uint64_t idx;
	uint8_t *data;		/* NULL while being fetched */
	size_t len;
	int err;		/* fetch failed: waiters return it */
	unsigned users;		/* readers copying from it; lock */
	struct block *hnext;
	struct block *prev, *next; /* LRU, most recent first */
};

struct remote {
	struct ck_backend b; /* first: the ops table */
	char *url, *token;
	pthread_mutex_t lock;
	pthread_cond_t fetched;
	struct ck_remote *pool[POOL_MAX]; /* lock */
	size_t npool;			  /* lock */
	struct block *buckets[NBUCKETS];   /* lock */
	struct block *lru_head, *lru_tail; /* lock */
	uint64_t cached, cache_max;	   /* bytes; lock */
};

static struct remote *rem(struct ck_backend *b)
{
	return (struct remote *)b;
}

static int conn_get(struct remote *r, struct ck_remote **ret)
{
	pthread_mutex_lock(&r->lock);
	if (r->npool) {
		*ret = r->pool[--r->npool];
		pthread_mutex_unlock(&r->lock);
		return 0;
	}
	pthread_mutex_unlock(&r->lock);
	return ck_remote_open(r->url, r->token, NULL, ret);
}

static void conn_put(struct remote *r, struct ck_remote *rm)
{
	pthread_mutex_lock(&r->lock);
	if (r->npool < POOL_MAX) {
		r->pool[r->npool++] = rm;
		rm = NULL;
	}
	pthread_mutex_unlock(&r->lock);
	ck_remote_free(rm);
}

static bool transient(int q)
{
	return q == -ECONNREFUSED || q == -EHOSTUNREACH || q == -ETIMEDOUT ||
	       q == -ECONNRESET || q == -ESHUTDOWN || q == -EIO ||
	       q == -EPROTO;
}

static void backoff(int attempt)
{
	static const long ms[] = { 200, 1000, 3000 };
	struct timespec ts = { ms[attempt] / 1000,
			       (ms[attempt] % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

#define RETRIES 3

/* Runs @call with a pooled connection, retrying transient failures; a
 * failure that persists is -EIO for a transport problem. */
#define WITH_CONN(r, rm, q, call)                                           \
	do {                                                                \
		for (int att_ = 0;; att_++) {                               \
			q = conn_get(r, &rm);                               \
			if (q == 0) {                                       \
				q = (call);                                 \
				if (q < 0 && q != -ENOENT)                  \
					ck_log_debug("%s: %s", r->url,      \
						     ck_remote_error(rm));  \
				if (transient(q)) {                         \
					ck_remote_free(rm);                 \
				} else {                                    \
					conn_put(r, rm);                    \
				}                                           \
			}                                                   \
			if (!transient(q) || att_ == RETRIES)               \
				break;                                      \
			backoff(att_);                                      \
		}                                                           \
		if (transient(q))                                           \
			q = -EIO;                                           \
	} while (0)

static int remote_containers(struct ck_backend *b,
			     char (**ret)[CK_NAME_MAX + 1], size_t *ret_n)
{
	struct remote *r = rem(b);
	struct ck_remote_container *cs = NULL;
	struct ck_remote *rm = NULL;
	char(*out)[CK_NAME_MAX + 1];
	size_t n = 0;
	int q;

	WITH_CONN(r, rm, q, ck_remote_containers(rm, &cs, &n));
	if (q < 0)
		return q;
	out = calloc(n ? n : 1, sizeof(*out));
	if (!out) {
		free(cs);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		memcpy(out[i], cs[i].name, sizeof(out[i]));
	free(cs);
	*ret = out;
	*ret_n = n;
	return 0;
}

static int remote_versions(struct ck_backend *b, const char *container,
			   struct ck_version **ret, size_t *ret_n)
{
	struct remote *r = rem(b);
	struct ck_remote *rm = NULL;
	int q;

	WITH_CONN(r, rm, q, ck_remote_versions(rm, container, ret, ret_n));
	if (q == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		q = 0;
	}
	return q;
}

static int remote_entries(struct ck_backend *b, const struct ck_version *v,
			  bool flat, struct ck_entry **ret, size_t *ret_n)
{
	struct remote *r = rem(b);
	struct ck_remote *rm = NULL;
	int q;

	WITH_CONN(r, rm, q,
		  ck_remote_entries(rm, v, flat ? "flattened" : NULL, ret,
				    ret_n));
	return q;
}

/* --- block cache -------------------------------------------------------- */

static size_t bucket(uint64_t vid, int view, const char *path, uint64_t idx)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ vid ^ (idx << 32) ^
		     (uint64_t)view;

	for (; *path; path++)
		h = (h ^ (uint8_t)*path) * 0x100000001b3ULL;
	return (size_t)(h % NBUCKETS);
}

static void lru_unlink(struct remote *r, struct block *k)
{
	if (k->prev)
		k->prev->next = k->next;
	else
		r->lru_head = k->next;
	if (k->next)
		k->next->prev = k->prev;
	else
		r->lru_tail = k->prev;
	k->prev = k->next = NULL;
}

static void lru_front(struct remote *r, struct block *k)
{
	k->next = r->lru_head;
	k->prev = NULL;
	if (r->lru_head)
		r->lru_head->prev = k;
	r->lru_head = k;
	if (!r->lru_tail)
		r->lru_tail = k;
}

static void block_drop(struct remote *r, struct block *k)
{
	struct block **pp = &r->buckets[bucket(k->vid, k->view, k->path,
					       k->idx)];

	while (*pp && *pp != k)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = k->hnext;
	lru_unlink(r, k);
	r->cached -= k->data ? k->len : 0;
	free(k->data);
	free(k->path);
	free(k);
}

/* Evicts unused blocks, oldest first, until the cache fits. */
static void evict(struct remote *r)
{
	struct block *k = r->lru_tail;

	while (k && r->cached > r->cache_max) {
		struct block *p = k->prev;

		if (!k->users && k->data)
			block_drop(r, k);
		k = p;
	}
}

/* The block @idx of @e, held (users + 1) for the caller; fetched if not
 * cached. Returns it via *ret, or a negative errno. */
static int block_get(struct remote *r, const struct ck_version *v,
		     const struct ck_entry *e, uint64_t idx,
		     struct block **ret)
{
	size_t bk = bucket(v->vid, (int)e->view, e->path, idx);
	struct ck_remote *rm = NULL;
	struct block *k;
	uint64_t off = idx * BLOCK;
	size_t len = (size_t)(e->size - off < BLOCK ? e->size - off : BLOCK);
	uint8_t *data;
	int q;

	pthread_mutex_lock(&r->lock);
	for (k = r->buckets[bk]; k; k = k->hnext)
		if (k->vid == v->vid && k->view == (int)e->view &&
		    k->idx == idx && !strcmp(k->path, e->path))
			break;
	if (k) {
		k->users++;
		while (!k->data && !k->err)
			pthread_cond_wait(&r->fetched, &r->lock);
		q = k->err;
		if (q < 0) {
			if (--k->users == 0)
				block_drop(r, k);
		} else {
			lru_unlink(r, k);
			lru_front(r, k);
			*ret = k;
		}
		pthread_mutex_unlock(&r->lock);
		return q;
	}
	k = calloc(1, sizeof(*k));
	if (k)
		k->path = strdup(e->path);
	if (!k || !k->path) {
		pthread_mutex_unlock(&r->lock);
		if (k)
			free(k);
		return -ENOMEM;
	}
	k->vid = v->vid;
	k->view = (int)e->view;
	k->idx = idx;
	k->users = 1;
	k->hnext = r->buckets[bk];
	r->buckets[bk] = k;
	lru_front(r, k);
	pthread_mutex_unlock(&r->lock);

	/* Fetch without the lock; others wanting it wait on "fetched". */
	data = malloc(len ? len : 1);
	if (!data) {
		q = -ENOMEM;
	} else {
		WITH_CONN(r, rm, q, ck_remote_read(rm, v, e, off, data, len));
		if (q >= 0 && (size_t)q != len)
			q = -EIO;
	}
	pthread_mutex_lock(&r->lock);
	if (q < 0) {
		free(data);
		k->err = q;
		k->users--;
		pthread_cond_broadcast(&r->fetched);
		/* Dropped once no waiter looks at it any more. */
		if (!k->users)
			block_drop(r, k);
		pthread_mutex_unlock(&r->lock);
		return q;
	}
	k->data = data;
	k->len = len;
	r->cached += len;
	pthread_cond_broadcast(&r->fetched);
	evict(r);
	pthread_mutex_unlock(&r->lock);
	*ret = k;
	return 0;
}

static void block_put(struct remote *r, struct block *k)
{
	pthread_mutex_lock(&r->lock);
	k->users--;
	if (k->err && !k->users)
		block_drop(r, k);
	else
		evict(r);
	pthread_mutex_unlock(&r->lock);
}

static int remote_read(struct ck_backend *b, const struct ck_version *v,
		       const struct ck_entry *e, uint64_t off, void *buf,
		       size_t len)
{
	struct remote *r = rem(b);
	size_t done = 0;

	if (e->type != CK_ENTRY_FILE)
		return -EISDIR;
	if (off >= e->size)
		return 0;
	if (len > e->size - off)
		len = (size_t)(e->size - off);
	if (len > INT32_MAX)
		len = INT32_MAX;
	while (done < len) {
		uint64_t pos = off + done, idx = pos / BLOCK;
		size_t skip = (size_t)(pos - idx * BLOCK), take;
		struct block *k;
		int q = block_get(r, v, e, idx, &k);

		if (q < 0)
			return q;
		take = k->len - skip;
		if (take > len - done)
			take = len - done;
		memcpy((uint8_t *)buf + done, k->data + skip, take);
		block_put(r, k);
		done += take;
	}
	return (int)done;
}

static int remote_commit_dir(struct ck_backend *b, const char *container,
			     const char *name, const char *dir, bool lenient,
			     struct ck_version *ret, char *errpath)
{
	struct remote *r = rem(b);
	struct ck_remote_push_opts o = { .name = name, .complete = -1,
					 .lenient = lenient };
	struct ck_remote *rm = NULL;
	bool retried = false;
	int q;

	/* Uploads are retried too, after 1, 2, 4 and 8 s: a restarting
	 * server must not turn a finished dump into a failed commit. */
	for (int att = 0;; att++) {
		q = conn_get(r, &rm);
		if (q == 0) {
			q = ck_remote_push_dir(rm, container, dir, &o, ret);
			memcpy(errpath, o.errpath, sizeof(o.errpath));
			if (q < 0)
				ck_log_debug("%s: upload of '%s/%s': %s", r->url,
					     container, name,
					     ck_remote_error(rm));
			else
				ck_log_debug("%s: '%s/%s' sent %llu of %llu "
					     "chunks",
					     r->url, container, name,
					     (unsigned long long)o.chunks_sent,
					     (unsigned long long)
						     o.chunks_offered);
			if (transient(q))
				ck_remote_free(rm);
			else
				conn_put(r, rm);
		}
		/* The commit of an attempt whose answer was lost. */
		if (q == -EEXIST && retried &&
		    ck_backend_version_get(b, container, name, ret) == 0)
			q = 0;
		if (!transient(q) || att == 4)
			break;
		retried = true;
		sleep(1u << att);
	}
	return transient(q) ? -EIO : q;
}

static void remote_free(struct ck_backend *b)
{
	struct remote *r = rem(b);

	while (r->lru_head)
		block_drop(r, r->lru_head);
	for (size_t i = 0; i < r->npool; i++)
		ck_remote_free(r->pool[i]);
	pthread_cond_destroy(&r->fetched);
	pthread_mutex_destroy(&r->lock);
	free(r->url);
	free(r->token);
	free(r);
}

static const struct ck_backend_ops remote_ops = {
	.name = "remote",
	.containers = remote_containers,
	.versions = remote_versions,
	.entries = remote_entries,
	.read = remote_read,
	.commit_dir = remote_commit_dir,
	.free = remote_free,
};

int ck_backend_remote_open(const char *url, const char *token,
			   uint64_t cache_bytes, struct ck_backend **ret)
{
	struct ck_remote *rm = NULL;
	struct ck_version *vs = NULL;
	struct remote *r;
	size_t n = 0;
	int q;

	ck_http_global_init();
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->b.ops = &remote_ops;
	r->cache_max = cache_bytes;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->fetched, NULL);
	r->url = strdup(url);
	r->token = token ? strdup(token) : NULL;
	if (!r->url || (token && !r->token)) {
		remote_free(&r->b);
		return -ENOMEM;
	}
	/* One call now, so that a wrong URL or token fails the mount; the
	 * upload parameters need the write role: without it the mount is
	 * read-only. */
	q = ck_remote_open(url, token, NULL, &rm);
	if (q == 0) {
		const struct ck_remote_params *p;

		q = ck_remote_versions(rm, "-", &vs, &n); /* no such name */
		if (q == -ENOENT || q == -EINVAL)
			q = 0;
		if (q == 0) {
			q = ck_remote_params(rm, &p);
			if (q == -EPERM) {
				r->b.read_only = true;
				q = 0;
			}
		}
		if (q < 0)
			ck_log_error("%s: %s", url, ck_remote_error(rm));
		free(vs);
		conn_put(r, rm);
	}
	if (q < 0) {
		remote_free(&r->b);
		return q;
	}
	*ret = &r->b;
	return 0;
}
