/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "chunk.h"
#include "compress.h"
#include "endian.h"
#include "fsutil.h"
#include "idmap.h"
#include "keys.h"
#include "log.h"
#include "mem.h"
#include "pool.h"
#include "repo_internal.h"

/* --- names ------------------------------------------------------------ */

int ck_name_check(const char *name)
{
	size_t n;

	if (!name)
		return -EINVAL;
	n = strlen(name);
	if (n == 0 || n > CK_NAME_MAX || name[0] == '.' || name[0] == '-')
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' ||
		      c == '-'))
			return -EINVAL;
	}
	return 0;
}

int ck_path_check(const char *path)
{
	const char *p = path;
	size_t n;

	if (!path)
		return -EINVAL;
	n = strlen(path);
	if (n == 0 || n > CK_PATH_MAX || path[0] == '/')
		return -EINVAL;
	while (*p) {
		const char *e = strchr(p, '/');
		size_t len = e ? (size_t)(e - p) : strlen(p);

		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		p += len;
		if (*p == '/') {
			p++;
			if (!*p)
				return -EINVAL; /* trailing slash */
		}
	}
	return 0;
}

/* --- meta keys -------------------------------------------------------- */

static int meta_get_str(struct ck_catalog *c, const char *name, char *buf,
			size_t cap)
{
	void *v = NULL;
	size_t n = 0;
	int r;

	r = ck_catalog_get(c, CK_CF_META, name, strlen(name), &v, &n);
	if (r < 0)
		return r;
	if (n >= cap) {
		free(v);
		return -EBADMSG;
	}
	memcpy(buf, v, n);
	buf[n] = 0;
	free(v);
	return 0;
}

static int meta_get_num(struct ck_catalog *c, const char *name,
			uint64_t *ret)
{
	char buf[32], *end;
	int r;

	r = meta_get_str(c, name, buf, sizeof(buf));
	if (r < 0)
		return r;
	errno = 0;
	*ret = strtoull(buf, &end, 10);
	if (errno || *end || end == buf)
		return -EBADMSG;
	return 0;
}

/* A setting that older repositories lack: @def when absent. */
static int meta_get_num_or(struct ck_catalog *c, const char *name,
			   uint64_t def, uint64_t *ret)
{
	int q = meta_get_num(c, name, ret);

	if (q == -ENOENT) {
		*ret = def;
		q = 0;
	}
	return q;
}

static void batch_put_num(struct ck_batch *b, const char *name, uint64_t v)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%" PRIu64, v);

	ck_batch_put(b, CK_CF_META, name, strlen(name), buf, (size_t)n);
}

/* --- lifecycle -------------------------------------------------------- */

int ck_repo_init(const char *path, const struct ck_repo_settings *s)
{
	struct ck_catalog_opts o = { .create = true, .blob_files = true };
	struct ck_catalog *c = NULL;
	struct ck_batch *b = NULL;
	uint8_t secret[CK_ID_SECRET_SIZE];
	char db[PATH_MAX];
	int r;

	if (s->chunk_unit < 4096 || s->chunk_unit > (1u << 20) ||
	    (s->chunk_unit & (s->chunk_unit - 1)))
		return -EINVAL;
	if (s->zstd_level < 1 || s->zstd_level > 19)
		return -EINVAL;
	if (s->group_size < 1 || s->group_size > CK_GROUP_MAX)
		return -EINVAL;

	r = ck_mkdir_empty(path);
	if (r < 0)
		return r;
	if (snprintf(db, sizeof(db), "%s/db", path) >= (int)sizeof(db))
		return -ENAMETOOLONG;
	if (getrandom(secret, sizeof(secret), 0) != (ssize_t)sizeof(secret))
		return -errno ? -errno : -EIO;

	r = ck_catalog_open(db, &o, &c);
	if (r < 0)
		goto out;
	b = ck_batch_new(c);
	if (!b) {
		r = -ENOMEM;
		goto out;
	}
	batch_put_num(b, CK_KEY_FORMAT, CK_FORMAT_VERSION);
	ck_batch_put(b, CK_CF_META, CK_KEY_SECRET, strlen(CK_KEY_SECRET),
		     secret, sizeof(secret));
	batch_put_num(b, CK_KEY_CHUNK_UNIT, s->chunk_unit);
	batch_put_num(b, CK_KEY_ZSTD_LEVEL, (uint64_t)s->zstd_level);
	batch_put_num(b, CK_KEY_DELTAS, s->deltas);
	if (s->dictionary)
		batch_put_num(b, CK_KEY_ZDICT_ON, 1);
	batch_put_num(b, CK_KEY_GROUP_SIZE, s->group_size);
	batch_put_num(b, CK_KEY_CREATED, (uint64_t)time(NULL));
	batch_put_num(b, CK_KEY_NEXT_VID, 1);
	r = ck_catalog_write(c, b, true);
	if (r < 0)
		goto out;
	r = ck_fsync_path(path);
out:
	ck_batch_free(b);
	ck_catalog_free(c);
	return r;
}

static int lock_path(const char *path, char *buf, size_t cap)
{
	if (snprintf(buf, cap, "%s/lock", path) >= (int)cap)
		return -ENAMETOOLONG;
	return 0;
}

int ck_repo_holder(const char *path, char *buf, size_t cap)
{
	char lp[PATH_MAX];
	ssize_t n;
	int fd, r;

	buf[0] = 0;
	r = lock_path(path, lp, sizeof(lp));
	if (r < 0)
		return r;
	fd = open(lp, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	if (flock(fd, LOCK_SH | LOCK_NB) == 0) {
		/* Nobody holds it; the text is stale. */
		close(fd);
		return 0;
	}
	n = pread(fd, buf, cap - 1, 0);
	close(fd);
	if (n < 0)
		return -errno;
	buf[n] = 0;
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = 0;
	if (!n)
		snprintf(buf, cap, "another process");
	return 0;
}

static int take_lock(struct ck_repo *r, const char *program)
{
	char lp[PATH_MAX], line[256];
	time_t now = time(NULL);
	struct tm tm;
	int fd, n;

	if (lock_path(r->path, lp, sizeof(lp)) < 0)
		return -ENAMETOOLONG;
	fd = open(lp, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		close(fd);
		return e == EWOULDBLOCK ? -EBUSY : -e;
	}
	gmtime_r(&now, &tm);
	n = snprintf(line, sizeof(line),
		     "%s (pid %ld) since %04d-%02d-%02dT%02d:%02d:%02dZ\n",
		     program ? program : "ckstore", (long)getpid(),
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec);
	if (ftruncate(fd, 0) < 0 || pwrite(fd, line, (size_t)n, 0) != n) {
		int e = errno ? errno : EIO;

		close(fd);
		return -e;
	}
	r->lock_fd = fd;
	return 0;
}

/* Loads the repository's dictionary, if it has one, once per process:
 * this process is the only writer, and a reader sees the database as it
 * was when it opened it. Caller holds r->zdict_lock, its own mutex:
 * decoding (which loads it first) happens under r->lock too (deletion
 * reads list chunks). */
static int zdict_load_locked(struct ck_repo *r)
{
	struct ck_zdict *d = NULL;
	void *v = NULL;
	size_t n = 0;
	int q;

	if (atomic_load(&r->zdict_checked))
		return r->zdict_damaged ? -EBADMSG : 0;
	q = ck_catalog_get(r->cat, CK_CF_META, CK_KEY_ZDICT,
			   strlen(CK_KEY_ZDICT), &v, &n);
	if (q == 0) {
		q = ck_zdict_new(v, n, r->settings.zstd_level, &d);
		if (q == -EBADMSG) {
			/* Said once; never replaced by a new one (its
			 * records would stay unreadable for good). */
			ck_log_warning("repository '%s': its zstd dictionary "
				       "is damaged; records made with it "
				       "cannot be read (ckstore fsck)",
				       r->path);
			r->zdict_damaged = true;
		}
	}
	free(v);
	if (q == -ENOENT)
		q = 0;
	if (q < 0 && !r->zdict_damaged)
		return q; /* I/O: try again next time */
	atomic_store(&r->zdict, d);
	atomic_store(&r->zdict_checked, true);
	return q;
}

int ck_repo_zdict(struct ck_repo *r, const struct ck_zdict **ret)
{
	const struct ck_zdict *d = atomic_load(&r->zdict);
	int q = 0;

	if (!d && atomic_load(&r->zdict_checked)) {
		/* Set before zdict_checked, never changed after. */
		q = r->zdict_damaged ? -EBADMSG : 0;
	} else if (!d) {
		pthread_mutex_lock(&r->zdict_lock);
		q = zdict_load_locked(r);
		pthread_mutex_unlock(&r->zdict_lock);
		d = atomic_load(&r->zdict);
	}
	*ret = d;
	return q;
}

/*
 * The dictionary is trained once, from the first pages file (or upload
 * batch) of at least CK_ZDICT_MIN_SAMPLES pages that a repository with
 * the setting on receives, and never changes: every CK_ENC_ZDICT record
 * names it implicitly. It is written before any record made with it, in
 * an unsynced batch: the WAL is ordered, so a record that survives a
 * crash implies its dictionary did (the rule of chunks before versions,
 * docs/format.md). Sessions racing to train keep the first one stored.
 */
int ck_repo_zdict_train(struct ck_repo *r, const void *samples, size_t n,
			size_t len)
{
	struct ck_zdict *d = NULL;
	struct ck_batch *b = NULL;
	size_t dlen = 0;
	void *dict;
	int q;

	if (!r->settings.dictionary || ck_repo_read_only(r) ||
	    n < CK_ZDICT_MIN_SAMPLES || atomic_load(&r->zdict) ||
	    atomic_exchange(&r->zdict_tried, true))
		return 0;
	dict = malloc(CK_ZDICT_SIZE);
	if (!dict)
		return -ENOMEM;
	q = ck_zdict_train(samples, n, len, r->settings.zstd_level, dict,
			   CK_ZDICT_SIZE, &dlen);
	if (q == 0)
		q = ck_zdict_new(dict, dlen, r->settings.zstd_level, &d);
	if (q < 0) {
		/* No dictionary (pages zstd cannot train on): pages are
		 * compressed alone, as without one; this process does not
		 * try again. */
		free(dict);
		return q == -ENOMEM ? q : 0;
	}
	pthread_mutex_lock(&r->zdict_lock);
	q = zdict_load_locked(r);
	if (q < 0 || atomic_load(&r->zdict))
		goto out; /* another session was first, or it is damaged */
	b = ck_batch_new(r->cat);
	if (!b) {
		q = -ENOMEM;
		goto out;
	}
	ck_batch_put(b, CK_CF_META, CK_KEY_ZDICT, strlen(CK_KEY_ZDICT), dict,
		     dlen);
	q = ck_catalog_write(r->cat, b, false);
	if (q == 0) {
		atomic_store(&r->zdict, d);
		d = NULL;
		ck_log_debug("trained a %zu-byte zstd dictionary from %zu "
			     "pages", dlen, n);
	}
out:
	pthread_mutex_unlock(&r->zdict_lock);
	ck_batch_free(b);
	ck_zdict_free(d);
	free(dict);
	return q;
}

int ck_repo_open(const char *path, enum ck_open_flags flags,
		 const char *program, struct ck_repo **ret)
{
	struct ck_catalog_opts o = { .blob_files = true };
	struct ck_repo *r;
	char db[PATH_MAX];
	uint64_t v;
	void *secret = NULL;
	size_t slen = 0;
	int q;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->lock_fd = -1;
	pthread_mutex_init(&r->lock, NULL);
	pthread_mutex_init(&r->cache_lock, NULL);
	pthread_mutex_init(&r->zdict_lock, NULL);
	r->path = strdup(path);
	if (!r->path) {
		q = -ENOMEM;
		goto fail;
	}
	if (snprintf(db, sizeof(db), "%s/db", path) >= (int)sizeof(db)) {
		q = -ENAMETOOLONG;
		goto fail;
	}
	if (access(db, F_OK) < 0) {
		q = errno == ENOENT ? -ENOTDIR : -errno;
		goto fail;
	}
	if (flags & CK_OPEN_WRITE) {
		q = take_lock(r, program);
		if (q < 0)
			goto fail;
	}
	o.read_only = !(flags & CK_OPEN_WRITE);
	q = ck_catalog_open(db, &o, &r->cat);
	if (q < 0)
		goto fail;

	q = meta_get_num(r->cat, CK_KEY_FORMAT, &v);
	if (q < 0)
		goto fail;
	if (v < CK_FORMAT_MIN || v > CK_FORMAT_VERSION) {
		q = -EPROTONOSUPPORT;
		goto fail;
	}
	r->format = (uint32_t)v;
	q = ck_catalog_get(r->cat, CK_CF_META, CK_KEY_SECRET,
			   strlen(CK_KEY_SECRET), &secret, &slen);
	if (q < 0)
		goto fail;
	if (slen != CK_ID_SECRET_SIZE) {
		q = -EBADMSG;
		goto fail;
	}
	memcpy(r->hasher.secret, secret, slen);
	q = meta_get_num(r->cat, CK_KEY_CHUNK_UNIT, &v);
	if (q < 0)
		goto fail;
	r->settings.chunk_unit = (uint32_t)v;
	q = meta_get_num(r->cat, CK_KEY_ZSTD_LEVEL, &v);
	if (q < 0)
		goto fail;
	r->settings.zstd_level = (int)v;
	q = meta_get_num(r->cat, CK_KEY_DELTAS, &v);
	if (q < 0)
		goto fail;
	r->settings.deltas = v != 0;
	q = meta_get_num_or(r->cat, CK_KEY_ZDICT_ON, 0, &v);
	if (q < 0)
		goto fail;
	r->settings.dictionary = v != 0;
	q = meta_get_num_or(r->cat, CK_KEY_GROUP_SIZE, 5, &v);
	if (q < 0)
		goto fail;
	r->settings.group_size = (uint32_t)v;
	q = meta_get_num(r->cat, CK_KEY_NEXT_VID, &r->next_vid);
	if (q < 0)
		goto fail;
	q = meta_get_num_or(r->cat, CK_KEY_EPOCH, 0, &r->epoch);
	if (q < 0)
		goto fail;
	if (flags & CK_OPEN_WRITE) {
		/* A new writer epoch: journals of older epochs belong to
		 * writers that are gone. */
		struct ck_batch *b = ck_batch_new(r->cat);

		if (!b) {
			q = -ENOMEM;
			goto fail;
		}
		r->epoch++;
		batch_put_num(b, CK_KEY_EPOCH, r->epoch);
		/* No sync needed: the WAL is ordered, so any journal record of
		 * this epoch that survives a crash implies this one did. */
		q = ck_catalog_write(r->cat, b, false);
		ck_batch_free(b);
		if (q < 0)
			goto fail;
	}
	if (r->settings.chunk_unit < 4096 ||
	    r->settings.chunk_unit > CK_CHUNK_MAX) {
		q = -EBADMSG;
		goto fail;
	}
	free(secret);
	*ret = r;
	return 0;
fail:
	free(secret);
	ck_repo_free(r);
	return q;
}

struct ck_repo *ck_repo_free(struct ck_repo *r)
{
	if (!r)
		return NULL;
	ck_pool_free(r->read_pool); /* no reader is left */
	ck_catalog_free(r->cat);
	if (r->lock_fd >= 0) {
		/* Leave the text for post-mortems but drop the lock. */
		close(r->lock_fd);
	}
	for (size_t i = 0; i < CK_BASE_CACHE_SLOTS; i++)
		free(r->base_cache[i]); /* no reader is left */
	ck_zdict_free(atomic_load(&r->zdict));
	pthread_mutex_destroy(&r->lock);
	pthread_mutex_destroy(&r->cache_lock);
	pthread_mutex_destroy(&r->zdict_lock);
	free(r->live);
	free(r->path);
	free(r);
	return NULL;
}

bool ck_repo_read_only(const struct ck_repo *r)
{
	return ck_catalog_read_only(r->cat);
}

const struct ck_repo_settings *ck_repo_settings(const struct ck_repo *r)
{
	return &r->settings;
}

const struct ck_hasher *ck_repo_hasher(const struct ck_repo *r)
{
	return &r->hasher;
}

const char *ck_repo_path(const struct ck_repo *r)
{
	return r->path;
}

struct ck_catalog *ck_repo_catalog(struct ck_repo *r)
{
	return r->cat;
}

/* --- catalogue -------------------------------------------------------- */

int ck_repo_containers(struct ck_repo *r, char (**ret)[CK_NAME_MAX + 1],
		       size_t *ret_n)
{
	char(*names)[CK_NAME_MAX + 1] = NULL;
	size_t n = 0, cap = 0;
	struct ck_iter *it = NULL;
	char last[CK_NAME_MAX + 1] = "";
	int q;

	q = ck_iter_new(r->cat, CK_CF_META, CK_KEY_VERSION_PREFIX, 1, &it);
	if (q < 0)
		return q;
	for (; ck_iter_valid(it); ck_iter_next(it)) {
		size_t klen;
		const char *k = ck_iter_key(it, &klen);
		size_t clen = strnlen(k + 1, klen - 1);

		if (clen == 0 || clen > CK_NAME_MAX)
			continue;
		if (strlen(last) == clen && memcmp(last, k + 1, clen) == 0)
			continue;
		if (CK_GROW(names, n, cap, 16) < 0) {
			q = -ENOMEM;
			goto out;
		}
		memcpy(names[n], k + 1, clen);
		names[n][clen] = 0;
		memcpy(last, names[n], clen + 1);
		n++;
	}
	q = ck_iter_status(it);
out:
	ck_iter_free(it);
	if (q < 0) {
		free(names);
		return q;
	}
	*ret = names;
	*ret_n = n;
	return 0;
}

int ck_repo_versions(struct ck_repo *r, const char *container,
		     struct ck_version **ret, size_t *ret_n)
{
	struct ck_version *vs = NULL;
	size_t n = 0, cap = 0;
	struct ck_iter *it = NULL;
	uint8_t prefix[2 + CK_NAME_MAX];
	size_t plen;
	int q;

	q = ck_name_check(container);
	if (q < 0)
		return q;
	plen = ck_key_version_prefix(prefix, container);
	q = ck_iter_new(r->cat, CK_CF_META, prefix, plen, &it);
	if (q < 0)
		return q;
	for (; ck_iter_valid(it); ck_iter_next(it)) {
		size_t vlen;
		const void *v = ck_iter_value(it, &vlen);

		if (CK_GROW(vs, n, cap, 16) < 0) {
			q = -ENOMEM;
			goto out;
		}
		q = ck_version_decode(v, vlen, &vs[n]);
		if (q < 0)
			goto out;
		n++;
	}
	q = ck_iter_status(it);
	if (q == 0 && n == 0)
		q = -ENOENT;
out:
	ck_iter_free(it);
	if (q < 0) {
		free(vs);
		return q;
	}
	*ret = vs;
	*ret_n = n;
	return 0;
}

int ck_repo_version_get_seq(struct ck_repo *r, const char *container,
			    uint32_t seq, struct ck_version *ret)
{
	uint8_t key[2 + CK_NAME_MAX + 4];
	size_t klen = ck_key_version(key, container, seq);
	void *v = NULL;
	size_t n = 0;
	int q;

	q = ck_catalog_get(r->cat, CK_CF_META, key, klen, &v, &n);
	if (q < 0)
		return q;
	q = ck_version_decode(v, n, ret);
	free(v);
	return q;
}

int ck_repo_version_seq_by_name(struct ck_repo *r, const char *container,
				const char *name, uint32_t *ret)
{
	uint8_t key[3 + 2 * CK_NAME_MAX];
	size_t klen = ck_key_name(key, container, name);
	void *v = NULL;
	size_t n = 0;
	int q;

	q = ck_catalog_get(r->cat, CK_CF_META, key, klen, &v, &n);
	if (q < 0)
		return q;
	if (n != 4) {
		free(v);
		return -EBADMSG;
	}
	*ret = ck_get_be32(v);
	free(v);
	return 0;
}

int ck_repo_version_find(struct ck_repo *r, const char *container,
			 const char *spec, struct ck_version *ret)
{
	uint32_t seq;
	int q;

	q = ck_name_check(container);
	if (q < 0)
		return q;
	if (!spec || strcmp(spec, "latest") == 0) {
		struct ck_version *vs = NULL;
		size_t n = 0;

		q = ck_repo_versions(r, container, &vs, &n);
		if (q < 0)
			return q;
		q = -ENOENT;
		for (size_t i = n; i-- > 0;)
			if (vs[i].complete) {
				*ret = vs[i];
				q = 0;
				break;
			}
		free(vs);
		return q;
	}
	if (spec[0] == '#') {
		char *end;
		unsigned long v;

		errno = 0;
		v = strtoul(spec + 1, &end, 10);
		if (errno || *end || end == spec + 1 || v == 0 ||
		    v > UINT32_MAX)
			return -EINVAL;
		return ck_repo_version_get_seq(r, container, (uint32_t)v,
					       ret);
	}
	q = ck_name_check(spec);
	if (q < 0)
		return q;
	q = ck_repo_version_seq_by_name(r, container, spec, &seq);
	if (q < 0)
		return q;
	return ck_repo_version_get_seq(r, container, seq, ret);
}

int ck_repo_view_entries(struct ck_repo *r, uint64_t vid, enum ck_view view,
			 struct ck_entry **ret, size_t *ret_n)
{
	struct ck_entry *es = NULL;
	size_t n = 0, cap = 0;
	struct ck_iter *it = NULL;
	uint8_t prefix[9];
	int q;

	ck_key_entry_prefix(prefix, view, vid);
	q = ck_iter_new(r->cat, CK_CF_META, prefix, sizeof(prefix), &it);
	if (q < 0)
		return q;
	for (; ck_iter_valid(it); ck_iter_next(it)) {
		size_t klen, vlen;
		const char *k = ck_iter_key(it, &klen);
		const void *v = ck_iter_value(it, &vlen);

		if (CK_GROW(es, n, cap, 32) < 0) {
			q = -ENOMEM;
			goto out;
		}
		q = ck_entry_decode(k + 9, klen - 9, v, vlen, &es[n]);
		if (q < 0)
			goto out;
		es[n].view = view;
		n++;
	}
	q = ck_iter_status(it);
out:
	ck_iter_free(it);
	if (q < 0) {
		free(es);
		return q;
	}
	*ret = es;
	*ret_n = n;
	return 0;
}

int ck_repo_entries(struct ck_repo *r, uint64_t vid, struct ck_entry **ret,
		    size_t *ret_n)
{
	return ck_repo_view_entries(r, vid, CK_VIEW_WRITTEN, ret, ret_n);
}

int ck_repo_view_entry_get(struct ck_repo *r, uint64_t vid,
			   enum ck_view view, const char *path,
			   struct ck_entry *ret)
{
	uint8_t key[9 + CK_PATH_MAX];
	size_t klen;
	void *v = NULL;
	size_t n = 0;
	int q;

	q = ck_path_check(path);
	if (q < 0)
		return q;
	klen = ck_key_entry(key, view, vid, path);
	q = ck_catalog_get(r->cat, CK_CF_META, key, klen, &v, &n);
	if (q < 0)
		return q;
	q = ck_entry_decode(path, strlen(path), v, n, ret);
	free(v);
	if (q == 0)
		ret->view = view;
	return q;
}

int ck_repo_entry_get(struct ck_repo *r, uint64_t vid, const char *path,
		      struct ck_entry *ret)
{
	return ck_repo_view_entry_get(r, vid, CK_VIEW_WRITTEN, path, ret);
}

int ck_repo_flat_entries(struct ck_repo *r, const struct ck_version *v,
			 struct ck_entry **ret, size_t *ret_n)
{
	struct ck_entry *es = NULL, *fs = NULL;
	size_t n = 0, nf = 0, out = 0;
	int q;

	if (v->chain == CK_CHAIN_BROKEN)
		return -ENOLINK;
	q = ck_repo_entries(r, v->vid, &es, &n);
	if (q < 0)
		return q;
	if (v->chain == CK_CHAIN_FULL)
		goto done;
	q = ck_repo_view_entries(r, v->vid, CK_VIEW_FLAT, &fs, &nf);
	if (q < 0) {
		free(es);
		return q;
	}
	/* Both lists are sorted by path: replace in one merge pass. */
	for (size_t i = 0, j = 0; i < n; i++) {
		int c = 1;

		while (j < nf && (c = strcmp(fs[j].path, es[i].path)) < 0)
			j++;
		if (j < nf && c == 0)
			es[i] = fs[j];
		if (strcmp(es[i].path, "parent") == 0 &&
		    es[i].type == CK_ENTRY_SYMLINK)
			continue; /* the flattened image stands alone */
		es[out++] = es[i];
	}
	n = out;
	free(fs);
done:
	*ret = es;
	*ret_n = n;
	return 0;
}

void ck_stats_count(int64_t st[CK_ST_N], const struct ck_chunk_hdr *h,
		    size_t len, int sign)
{
	bool delta = h->enc == CK_ENC_DELTA;

	st[CK_ST_STORED] += sign * (int64_t)len;
	if (h->flags & CK_CHUNK_LIST) {
		st[CK_ST_LIST_CHUNKS] += sign;
		st[CK_ST_LIST_STORED] += sign * (int64_t)len;
		return;
	}
	st[CK_ST_CHUNKS] += sign;
	st[CK_ST_RAW] += sign * (int64_t)h->raw_len;
	if (delta) {
		st[CK_ST_DELTA_CHUNKS] += sign;
		st[CK_ST_DELTA_RAW] += sign * (int64_t)h->raw_len;
		st[CK_ST_DELTA_STORED] += sign * (int64_t)len;
	}
}

void ck_stats_put(struct ck_batch *b, const int64_t st[CK_ST_N])
{
	static const char *const names[CK_ST_N] = {
		[CK_ST_CHUNKS] = CK_STAT_CHUNKS,
		[CK_ST_RAW] = CK_STAT_RAW,
		[CK_ST_STORED] = CK_STAT_STORED,
		[CK_ST_DELTA_CHUNKS] = CK_STAT_DELTA_CHUNKS,
		[CK_ST_DELTA_RAW] = CK_STAT_DELTA_RAW,
		[CK_ST_DELTA_STORED] = CK_STAT_DELTA_STORED,
		[CK_ST_LIST_CHUNKS] = CK_STAT_LIST_CHUNKS,
		[CK_ST_LIST_STORED] = CK_STAT_LIST_STORED,
	};

	for (int i = 0; i < CK_ST_N; i++)
		if (st[i])
			ck_batch_add_u64(b, CK_CF_STATS, names[i],
					 strlen(names[i]), st[i]);
}

bool ck_segment_listed(const void *v, size_t vlen, const struct ck_id **ret,
		       size_t *ret_n)
{
	const uint8_t *p = v;

	if (vlen % CK_ID_SIZE != 1 || p[0] != CK_SEG_LISTED)
		return false;
	*ret = (const struct ck_id *)(p + 1);
	*ret_n = vlen / CK_ID_SIZE;
	return true;
}

int ck_segment_lists(const void *v, size_t vlen, uint64_t seg_n,
		     const struct ck_id **ret, size_t *ret_n)
{
	size_t k = (size_t)((seg_n + CK_LIST_IDS - 1) / CK_LIST_IDS);

	if (vlen == seg_n * CK_ID_SIZE) {
		*ret = NULL; /* format 1: the IDs themselves */
		*ret_n = 0;
		return 0;
	}
	if (!ck_segment_listed(v, vlen, ret, ret_n) || *ret_n != k)
		return -EBADMSG;
	return 0;
}

/* Reads segment @seg (@seg_n IDs) of @e: *ret_v the value, for the caller
 * to free (NULL if none), @lists and @nl as ck_segment_lists() gives them. A
 * missing key is damage (-EBADMSG). */
static int segment_get(struct ck_repo *r, uint64_t vid,
		       const struct ck_entry *e, uint32_t seg, uint64_t seg_n,
		       void **ret_v, size_t *ret_vlen, const struct ck_id **lists,
		       size_t *nl)
{
	uint8_t key[9 + CK_PATH_MAX + 5];
	size_t klen = ck_key_segment(key, e->view, vid, e->path, seg);
	int q;

	*ret_v = NULL;
	q = ck_catalog_get(r->cat, CK_CF_META, key, klen, ret_v, ret_vlen);
	if (q < 0)
		return q == -ENOENT ? -EBADMSG : q;
	return ck_segment_lists(*ret_v, *ret_vlen, seg_n, lists, nl);
}

/* IDs [from, from + n) of segment @seg (@seg_n IDs) of @e into @ret. */
static int segment_read(struct ck_repo *r, uint64_t vid,
			const struct ck_entry *e, uint32_t seg, uint64_t seg_n,
			uint64_t from, size_t n, struct ck_id *ret)
{
	const struct ck_id *lists;
	struct ck_id *tmp = NULL;
	size_t vlen = 0, nl;
	void *v;
	int q;

	q = segment_get(r, vid, e, seg, seg_n, &v, &vlen, &lists, &nl);
	if (q < 0)
		goto out;
	if (!lists) {
		memcpy(ret, (uint8_t *)v + from * CK_ID_SIZE, n * CK_ID_SIZE);
		goto out;
	}
	tmp = malloc(CK_LIST_IDS * sizeof(*tmp));
	if (!tmp) {
		q = -ENOMEM;
		goto out;
	}
	for (size_t j = (size_t)(from / CK_LIST_IDS); n; j++) {
		uint64_t l_first = (uint64_t)j * CK_LIST_IDS;
		uint64_t l_n = seg_n - l_first, off = from - l_first;
		struct ck_id lid;
		size_t take;
		int got;

		if (l_n > CK_LIST_IDS)
			l_n = CK_LIST_IDS;
		memcpy(&lid, &lists[j], sizeof(lid));
		if (ck_id_is_zero(&lid)) {
			/* Zero pages only: not stored, like them. */
			memset(tmp, 0, CK_LIST_IDS * sizeof(*tmp));
			got = (int)(l_n * CK_ID_SIZE);
		} else {
			got = ck_repo_chunk_read(r, &lid, tmp,
						 CK_LIST_IDS * sizeof(*tmp));
		}
		if (got < 0) {
			q = got == -ENOENT ? -EBADMSG : got;
			goto out;
		}
		if ((uint64_t)got != l_n * CK_ID_SIZE) {
			q = -EBADMSG;
			goto out;
		}
		take = (size_t)(l_n - off);
		if (take > n)
			take = n;
		memcpy(ret, tmp + off, take * sizeof(*ret));
		ret += take;
		from += take;
		n -= take;
	}
out:
	free(tmp);
	free(v);
	return q;
}

int ck_repo_entry_chunks(struct ck_repo *r, uint64_t vid,
			 const struct ck_entry *e, uint64_t first, size_t n,
			 struct ck_id *ret)
{
	size_t done = 0;

	if (e->type != CK_ENTRY_FILE || first > e->nchunks ||
	    n > e->nchunks - first)
		return -EINVAL;
	while (done < n) {
		uint64_t i = first + done;
		uint32_t seg = (uint32_t)(i / CK_SEG_CHUNKS);
		uint64_t seg_first = (uint64_t)seg * CK_SEG_CHUNKS;
		uint64_t seg_n = e->nchunks - seg_first;
		size_t take;
		int q;

		if (seg_n > CK_SEG_CHUNKS)
			seg_n = CK_SEG_CHUNKS;
		take = (size_t)(seg_first + seg_n - i);
		if (take > n - done)
			take = n - done;
		q = segment_read(r, vid, e, seg, seg_n, i - seg_first, take,
				 ret + done);
		if (q < 0)
			return q;
		done += take;
	}
	return 0;
}

int ck_repo_entry_lists(struct ck_repo *r, uint64_t vid,
			const struct ck_entry *e, struct ck_id **ret,
			size_t *ret_n)
{
	/* At most one list chunk per CK_LIST_IDS chunks of the file. */
	size_t max = (size_t)((e->nchunks + CK_LIST_IDS - 1) / CK_LIST_IDS);
	struct ck_id *out;
	size_t n = 0;
	int q = 0;

	if (e->type != CK_ENTRY_FILE)
		return -EINVAL;
	out = malloc((max ? max : 1) * sizeof(*out));
	if (!out)
		return -ENOMEM;
	for (uint64_t first = 0; first < e->nchunks; first += CK_SEG_CHUNKS) {
		uint64_t seg_n = e->nchunks - first;
		const struct ck_id *lists;
		size_t vlen = 0, nl;
		void *v;

		if (seg_n > CK_SEG_CHUNKS)
			seg_n = CK_SEG_CHUNKS;
		q = segment_get(r, vid, e, (uint32_t)(first / CK_SEG_CHUNKS),
				seg_n, &v, &vlen, &lists, &nl);
		if (q == 0 && nl) {
			memcpy(out + n, lists, nl * sizeof(*out));
			n += nl;
		}
		free(v);
		if (q < 0)
			break;
	}
	if (q < 0) {
		free(out);
		return q;
	}
	*ret = out;
	*ret_n = n;
	return 0;
}

int ck_repo_version_pin(struct ck_repo *r, const char *container,
			uint32_t seq, bool pinned)
{
	uint8_t key[2 + CK_NAME_MAX + 4];
	struct ck_version v;
	struct ck_batch *b = NULL;
	char *json = NULL;
	size_t jlen = 0;
	int q;

	if (ck_repo_read_only(r))
		return -EROFS;
	b = ck_batch_new(r->cat);
	if (!b)
		return -ENOMEM;
	pthread_mutex_lock(&r->lock);
	q = ck_repo_version_get_seq(r, container, seq, &v);
	if (q < 0)
		goto out;
	v.pinned = pinned;
	q = ck_version_encode(&v, &json, &jlen);
	if (q < 0)
		goto out;
	ck_batch_put(b, CK_CF_META, key, ck_key_version(key, container, seq),
		     json, jlen);
	q = ck_catalog_write(r->cat, b, true);
out:
	pthread_mutex_unlock(&r->lock);
	free(json);
	ck_batch_free(b);
	return q;
}

/* --- chunks ------------------------------------------------------------ */

int ck_repo_chunk_records(struct ck_repo *r, size_t n,
			  const struct ck_id *ids, void **recs, size_t *lens)
{
	const void *keys[256];
	size_t klens[256];
	size_t done = 0;

	while (done < n) {
		size_t m = n - done > 256 ? 256 : n - done;
		int q;

		for (size_t i = 0; i < m; i++) {
			keys[i] = ids[done + i].b;
			klens[i] = CK_ID_SIZE;
		}
		q = ck_catalog_multi_get(r->cat, CK_CF_CHUNKS, m, keys, klens,
					 recs + done, lens + done);
		if (q < 0) {
			for (size_t i = 0; i < done; i++) {
				free(recs[i]);
				recs[i] = NULL;
			}
			return q;
		}
		done += m;
	}
	return 0;
}

int ck_repo_chunk_decode(struct ck_repo *r, const struct ck_id *id,
			 const void *rec, size_t len, void *buf, size_t cap)
{
	struct ck_chunk_hdr h;
	struct ck_id got;
	const uint8_t *body;
	size_t blen;
	void *base = NULL;
	int q;

	q = ck_chunk_parse(rec, len, &h);
	if (q < 0)
		return q;
	if (h.raw_len > cap)
		return -EBADMSG;
	body = (const uint8_t *)rec + h.body_off;
	blen = len - h.body_off;
	switch (h.enc) {
	case CK_ENC_RAW:
		memcpy(buf, body, h.raw_len);
		break;
	case CK_ENC_ZSTD:
		q = ck_decompress(body, blen, NULL, 0, buf, h.raw_len);
		break;
	case CK_ENC_ZDICT: {
		const struct ck_zdict *d;

		q = ck_repo_zdict(r, &d);
		if (q == 0)
			q = d ? ck_decompress_dict(d, body, blen, buf,
						   h.raw_len)
			      : -EBADMSG;
		break;
	}
	case CK_ENC_DELTA:
		q = ck_repo_base_get(r, &h.base, h.depth, &base);
		if (q < 0)
			return q == -ENOENT ? -EBADMSG : q;
		q = ck_decompress(body, blen, base, (size_t)q, buf,
				  h.raw_len);
		ck_repo_base_put(r, base);
		break;
	}
	if (q < 0)
		return q;
	ck_id_compute(&r->hasher, buf, h.raw_len, &got);
	if (!ck_id_equal(&got, id))
		return -EBADMSG;
	return (int)h.raw_len;
}

int ck_repo_chunk_read(struct ck_repo *r, const struct ck_id *id, void *buf,
		       size_t cap)
{
	void *rec = NULL;
	size_t len = 0;
	int q;

	if (ck_id_is_zero(id))
		return -EINVAL;
	q = ck_catalog_get(r->cat, CK_CF_CHUNKS, id->b, CK_ID_SIZE, &rec,
			   &len);
	if (q < 0)
		return q;
	q = ck_repo_chunk_decode(r, id, rec, len, buf, cap);
	free(rec);
	return q;
}

/*
 * Delta bases. A delta's base is read (and verified) in full before the
 * delta can be decoded; consecutive pages of one version often share a
 * base chain, and so do restores of neighbouring versions, so decoded
 * bases are kept in a small direct-mapped cache. Entries are reference
 * counted so that a reader can use one while another thread replaces the
 * slot.
 */
struct base_entry {
	struct ck_id id;
	int refs; /* protected by r->cache_lock */
	struct ck_chunk_hdr hdr;
	size_t len;
	uint8_t data[];
};

int ck_repo_base_get(struct ck_repo *r, const struct ck_id *id,
		     unsigned depth, void **ret)
{
	return ck_repo_base_get_hdr(r, id, depth, ret, NULL);
}

/* The cache entry of base @id decoded from its record; NULL with *err
 * set if the record is not a valid base for a delta of depth @depth (a
 * base must be shallower than its delta, which bounds recursion even on
 * a crafted repository, and a page chunk). */
static struct base_entry *base_make(struct ck_repo *r, const struct ck_id *id,
				    unsigned depth, const void *rec,
				    size_t len, int *err)
{
	struct base_entry *e;
	int q;

	e = malloc(sizeof(*e) + r->settings.chunk_unit);
	if (!e) {
		*err = -ENOMEM;
		return NULL;
	}
	q = ck_chunk_parse(rec, len, &e->hdr);
	if (q == 0 && e->hdr.depth >= depth)
		q = -EBADMSG;
	if (q == 0 && e->hdr.raw_len > r->settings.chunk_unit)
		q = -EBADMSG;
	if (q == 0)
		q = ck_repo_chunk_decode(r, id, rec, len, e->data,
					 r->settings.chunk_unit);
	if (q < 0) {
		free(e);
		*err = q;
		return NULL;
	}
	e->id = *id;
	e->len = (size_t)q;
	e->refs = 1; /* the cache's */
	return e;
}

/* Puts @e in its slot (replacing what was there). */
static void base_insert(struct ck_repo *r, struct base_entry *e)
{
	size_t slot = (size_t)ck_id_hash64(&e->id) % CK_BASE_CACHE_SLOTS;
	struct base_entry *old;

	pthread_mutex_lock(&r->cache_lock);
	old = r->base_cache[slot];
	r->base_cache[slot] = e;
	if (old && --old->refs == 0)
		free(old);
	pthread_mutex_unlock(&r->cache_lock);
}

/* Whether the cache holds base @id usable by a delta of depth @depth. */
static bool base_cached(struct ck_repo *r, const struct ck_id *id,
			unsigned depth)
{
	size_t slot = (size_t)ck_id_hash64(id) % CK_BASE_CACHE_SLOTS;
	struct base_entry *e;
	bool yes;

	pthread_mutex_lock(&r->cache_lock);
	e = r->base_cache[slot];
	yes = e && ck_id_equal(&e->id, id) && e->hdr.depth < depth;
	pthread_mutex_unlock(&r->cache_lock);
	return yes;
}

int ck_repo_base_get_hdr(struct ck_repo *r, const struct ck_id *id,
			 unsigned depth, void **ret,
			 struct ck_chunk_hdr *ret_hdr)
{
	size_t slot = (size_t)ck_id_hash64(id) % CK_BASE_CACHE_SLOTS;
	struct base_entry *e;
	void *rec = NULL;
	size_t len = 0;
	int q;

	if (depth == 0)
		return -EBADMSG; /* a delta's depth is >= 1 */
	pthread_mutex_lock(&r->cache_lock);
	e = r->base_cache[slot];
	if (e && ck_id_equal(&e->id, id) && e->hdr.depth < depth) {
		e->refs++;
		pthread_mutex_unlock(&r->cache_lock);
		if (ret_hdr)
			*ret_hdr = e->hdr;
		*ret = e->data;
		return (int)e->len;
	}
	pthread_mutex_unlock(&r->cache_lock);

	q = ck_catalog_get(r->cat, CK_CF_CHUNKS, id->b, CK_ID_SIZE, &rec,
			   &len);
	if (q < 0)
		return q;
	e = base_make(r, id, depth, rec, len, &q);
	free(rec);
	if (!e)
		return q;
	e->refs++; /* and the caller's */
	if (ret_hdr)
		*ret_hdr = e->hdr;
	base_insert(r, e);
	*ret = e->data;
	return (int)e->len;
}

/*
 * Batched base reads. Decoding the deltas of a range one by one reads
 * each missing base with its own lookup, and a base that is a delta
 * itself reads its own base the same way: on pyweb-direct, a restore of
 * the last version read 1,283 bases one lookup at a time beside 2,700
 * chunks read in batches. Here the bases the cache lacks are read one
 * chain level at a time with one batched lookup per level, then decoded
 * deepest level first into the cache, where decoding the range finds
 * them. Best effort: whatever fails here (or is evicted before its use)
 * is read again by ck_repo_base_get(), which reports the error.
 */
struct base_want {
	struct ck_id id;
	unsigned depth; /* of the shallowest delta wanting it */
};

/* Adds the base of record @rec (if a delta whose base is not cached) to
 * @w unless already there. */
static void want_base(struct ck_repo *r, const void *rec, size_t len,
		      struct base_want *w, size_t *nw)
{
	struct ck_chunk_hdr h;

	if (!rec || ck_chunk_parse(rec, len, &h) < 0 ||
	    h.enc != CK_ENC_DELTA || h.depth == 0)
		return;
	for (size_t i = 0; i < *nw; i++)
		if (ck_id_equal(&w[i].id, &h.base)) {
			if (h.depth < w[i].depth)
				w[i].depth = h.depth;
			return;
		}
	if (base_cached(r, &h.base, h.depth))
		return;
	w[*nw].id = h.base;
	w[*nw].depth = h.depth;
	(*nw)++;
}

/* Reads the wanted bases @w0 (@nw0 of them, at most @n) and the whole
 * chains under them, then decodes them into the cache. */
static void bases_prefetch(struct ck_repo *r, size_t n,
			   const struct base_want *w0, size_t nw0)
{
	struct base_want *w[CK_DELTA_MAX_DEPTH + 2] = { NULL };
	void **brecs[CK_DELTA_MAX_DEPTH + 2] = { NULL };
	size_t *blens[CK_DELTA_MAX_DEPTH + 2] = { NULL };
	size_t nw[CK_DELTA_MAX_DEPTH + 2] = { 0 };
	const unsigned maxl = CK_DELTA_MAX_DEPTH + 1;
	struct ck_id *ids = NULL;
	unsigned levels = 0;

	if (!nw0)
		return;
	ids = malloc(n * sizeof(*ids));
	if (!ids)
		return;
	/* Each record wants at most one base, so a level has at most n. */
	for (unsigned l = 0; l <= maxl; l++) {
		w[l] = malloc(n * sizeof(*w[l]));
		brecs[l] = calloc(n, sizeof(*brecs[l]));
		blens[l] = calloc(n, sizeof(*blens[l]));
		if (!w[l] || !brecs[l] || !blens[l])
			goto out;
	}
	memcpy(w[0], w0, nw0 * sizeof(*w0));
	nw[0] = nw0;
	for (unsigned l = 0; l <= maxl && nw[l]; l++) {
		for (size_t i = 0; i < nw[l]; i++)
			ids[i] = w[l][i].id;
		if (ck_repo_chunk_records(r, nw[l], ids, brecs[l],
					  blens[l]) < 0)
			break;
		levels = l + 1;
		if (l == maxl)
			break;
		for (size_t i = 0; i < nw[l]; i++)
			want_base(r, brecs[l][i], blens[l][i], w[l + 1],
				  &nw[l + 1]);
	}
	while (levels-- > 0)
		for (size_t i = 0; i < nw[levels]; i++) {
			struct base_entry *e;
			int q;

			if (!brecs[levels][i])
				continue;
			e = base_make(r, &w[levels][i].id, w[levels][i].depth,
				      brecs[levels][i], blens[levels][i], &q);
			if (e)
				base_insert(r, e);
		}
out:
	for (unsigned l = 0; l <= maxl; l++) {
		if (brecs[l])
			for (size_t i = 0; i < nw[l]; i++)
				free(brecs[l][i]);
		free(w[l]);
		free(brecs[l]);
		free(blens[l]);
	}
	free(ids);
}

void ck_repo_bases_prefetch(struct ck_repo *r, size_t n,
			    void *const *recs, const size_t *lens)
{
	struct base_want *w;
	size_t nw = 0;

	if (!n || !(w = malloc(n * sizeof(*w))))
		return;
	for (size_t i = 0; i < n; i++)
		want_base(r, recs[i], lens[i], w, &nw);
	bases_prefetch(r, n, w, nw);
	free(w);
}

void ck_repo_bases_prefetch_ids(struct ck_repo *r, size_t n,
				const struct ck_id *const *ids)
{
	struct base_want *w;
	size_t nw = 0;

	if (!n || !(w = malloc(n * sizeof(*w))))
		return;
	for (size_t i = 0; i < n; i++) {
		bool dup = false;

		if (!ids[i] ||
		    base_cached(r, ids[i], CK_DELTA_MAX_DEPTH + 1))
			continue;
		for (size_t k = 0; k < nw && !dup; k++)
			dup = ck_id_equal(&w[k].id, ids[i]);
		if (dup)
			continue;
		w[nw].id = *ids[i];
		w[nw].depth = CK_DELTA_MAX_DEPTH + 1;
		nw++;
	}
	bases_prefetch(r, n, w, nw);
	free(w);
}

void ck_repo_base_put(struct ck_repo *r, void *data)
{
	struct base_entry *e;

	if (!data)
		return;
	e = (struct base_entry *)((uint8_t *)data -
				  offsetof(struct base_entry, data));
	pthread_mutex_lock(&r->cache_lock);
	if (--e->refs == 0)
		free(e);
	pthread_mutex_unlock(&r->cache_lock);
}

/* --- stats ------------------------------------------------------------- */

int ck_repo_stats(struct ck_repo *r, const char *container,
		  struct ck_stats *ret)
{
	struct ck_stats st = { 0 };
	char(*names)[CK_NAME_MAX + 1] = NULL;
	size_t nn = 0;
	int q;

	q = ck_repo_containers(r, &names, &nn);
	if (q < 0)
		return q;
	for (size_t i = 0; i < nn; i++) {
		struct ck_version *vs = NULL;
		size_t n = 0;

		if (container && strcmp(container, names[i]) != 0)
			continue;
		q = ck_repo_versions(r, names[i], &vs, &n);
		if (q < 0)
			goto out;
		st.containers++;
		st.versions += n;
		for (size_t j = 0; j < n; j++) {
			st.logical_bytes += vs[j].logical_bytes;
			if (container) {
				st.stored_bytes += vs[j].added_bytes;
				st.chunks += vs[j].added_chunks;
			}
		}
		free(vs);
	}
	if (container && st.containers == 0) {
		q = -ENOENT;
		goto out;
	}
	if (!container) {
		static const struct {
			const char *key;
			size_t off;
		} counters[] = {
			{ CK_STAT_CHUNKS, offsetof(struct ck_stats, chunks) },
			{ CK_STAT_RAW, offsetof(struct ck_stats, raw_bytes) },
			{ CK_STAT_STORED,
			  offsetof(struct ck_stats, stored_bytes) },
			{ CK_STAT_DELTA_CHUNKS,
			  offsetof(struct ck_stats, delta_chunks) },
			{ CK_STAT_DELTA_RAW,
			  offsetof(struct ck_stats, delta_raw_bytes) },
			{ CK_STAT_DELTA_STORED,
			  offsetof(struct ck_stats, delta_stored_bytes) },
			{ CK_STAT_LIST_CHUNKS,
			  offsetof(struct ck_stats, list_chunks) },
			{ CK_STAT_LIST_STORED,
			  offsetof(struct ck_stats, list_stored_bytes) },
		};

		for (size_t i = 0; i < sizeof(counters) / sizeof(*counters);
		     i++) {
			q = ck_catalog_get_u64(
				r->cat, CK_CF_STATS, counters[i].key,
				strlen(counters[i].key),
				(uint64_t *)((uint8_t *)&st + counters[i].off));
			if (q < 0)
				goto out;
		}
	}
	q = ck_du(r->path, &st.disk_bytes);
	if (q < 0)
		goto out;
	/* Where the bytes on disk are: metadata tables vs chunk blobs. */
	for (int i = 0; i < CK_CF_MAX; i++)
		(void)ck_catalog_property_u64(r->cat, (enum ck_cf)i,
					      "rocksdb.total-sst-files-size",
					      &st.sst_bytes[i]);
	(void)ck_catalog_property_u64(r->cat, CK_CF_CHUNKS,
				      "rocksdb.total-blob-file-size",
				      &st.blob_bytes);
	*ret = st;
out:
	free(names);
	return q;
}
