/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include "chunk.h"
#include "idmap.h"
#include "log.h"
#include "mem.h"
#include "push.h"
#include "upload.h"

#define ACQUIRE_WAIT_S 120

/* A file registered by a manifest, added to the session at commit. */
struct pfile {
	char *path;
	struct ck_file_meta m;
	uint64_t size;
	uint32_t chunk_size;
	struct ck_id *ids;
	uint64_t n;
};

/* A pagemap received inline, placing its pages file. */
struct pmap {
	char *path;
	struct ck_push_placement pl;
	void *buf; /* its bytes (for the flattened view of incremental
		    * dumps) */
	size_t len;
};

/* Values of up->want: a flagged chunk not received yet. */
#define WANT_FLAG (1ull << 63)
#define WANT(len, base) (WANT_FLAG | ((uint64_t)(len) << 32) | (base))
#define WANT_LEN(v) ((uint32_t)(((v) & ~WANT_FLAG) >> 32))
#define WANT_BASE(v) ((uint32_t)(v))

struct ck_upload {
	struct ck_uploads *u;
	char id[CK_UPLOAD_ID_HEX];
	char container[CK_NAME_MAX + 1];
	char name[CK_NAME_MAX + 1];
	char owner[80];
	struct ck_session *s;
	struct pfile *files;
	size_t nfiles, files_cap;
	size_t nentries; /* files, dirs and symlinks */
	uint64_t nids;
	struct ck_idmap want;
	struct ck_id *bases; /* WANT_BASE(v) - 1 indexes it */
	size_t nbases, bases_cap;
	struct pmap *pms;
	size_t npms;
	char **epaths; /* directories and symlinks */
	size_t nepaths;
	char *parent_link;
	bool lenient;
	uint64_t last_used_ns;
	bool busy;
};

struct ck_uploads {
	struct ck_repo *r;
	struct ck_uploads_opts o;
	struct ck_metrics *m;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct ck_upload **v;
	size_t n, reserved;
	pthread_t reaper;
	bool reaper_started, stop;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int set_err(char *err, size_t cap, int r, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static int set_err(char *err, size_t cap, int r, const char *fmt, ...)
{
	va_list ap;

	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
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

static void upload_free(struct ck_upload *up)
{
	if (!up)
		return;
	ck_session_free(up->s);
	for (size_t i = 0; i < up->nfiles; i++) {
		free(up->files[i].path);
		free(up->files[i].ids);
	}
	free(up->files);
	for (size_t i = 0; i < up->npms; i++) {
		free(up->pms[i].path);
		free(up->pms[i].pl.vaddrs);
		free(up->pms[i].buf);
	}
	free(up->pms);
	for (size_t i = 0; i < up->nepaths; i++)
		free(up->epaths[i]);
	free(up->epaths);
	free(up->parent_link);
	free(up->bases);
	ck_idmap_release(&up->want);
	free(up);
}

/* --- the table ---------------------------------------------------------- */

static void *reaper_main(void *arg)
{
	struct ck_uploads *u = arg;

	pthread_mutex_lock(&u->lock);
	while (!u->stop) {
		struct timespec ts;
		uint64_t limit = (uint64_t)u->o.idle_timeout * 1000000000u;
		uint64_t now;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&u->cond, &u->lock, &ts);
		now = now_ns();
		for (size_t i = 0; i < u->n;) {
			struct ck_upload *up = u->v[i];

			if (up->busy || now - up->last_used_ns < limit) {
				i++;
				continue;
			}
			u->v[i] = u->v[--u->n];
			pthread_mutex_unlock(&u->lock);
			ck_log_info("upload %s of %s/%s expired after %u s "
				    "idle; nothing was committed",
				    up->id, up->container, up->name,
				    u->o.idle_timeout);
			upload_free(up);
			ck_metrics_add(u->m, CK_M_UPLOADS_EXPIRED, 1);
			pthread_mutex_lock(&u->lock);
			i = 0;
		}
	}
	pthread_mutex_unlock(&u->lock);
	return NULL;
}

int ck_uploads_new(struct ck_repo *r, const struct ck_uploads_opts *o,
		   struct ck_metrics *m, struct ck_uploads **ret)
{
	struct ck_uploads *u = calloc(1, sizeof(*u));

	if (!u)
		return -ENOMEM;
	u->r = r;
	u->o = *o;
	u->m = m;
	pthread_mutex_init(&u->lock, NULL);
	pthread_cond_init(&u->cond, NULL);
	if (pthread_create(&u->reaper, NULL, reaper_main, u) != 0) {
		ck_uploads_free(u);
		return -EAGAIN;
	}
	u->reaper_started = true;
	*ret = u;
	return 0;
}

struct ck_uploads *ck_uploads_free(struct ck_uploads *u)
{
	if (!u)
		return NULL;
	pthread_mutex_lock(&u->lock);
	u->stop = true;
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	if (u->reaper_started)
		pthread_join(u->reaper, NULL);
	for (size_t i = 0; i < u->n; i++) {
		ck_log_info("dropping upload %s of %s/%s at shutdown",
			    u->v[i]->id, u->v[i]->container, u->v[i]->name);
		ck_metrics_add(u->m, CK_M_UPLOADS_ABORTED, 1);
		upload_free(u->v[i]);
	}
	free(u->v);
	pthread_cond_destroy(&u->cond);
	pthread_mutex_destroy(&u->lock);
	free(u);
	return NULL;
}

size_t ck_uploads_active(struct ck_uploads *u)
{
	size_t n;

	pthread_mutex_lock(&u->lock);
	n = u->n;
	pthread_mutex_unlock(&u->lock);
	return n;
}

static int random_id(char id[CK_UPLOAD_ID_HEX])
{
	uint8_t b[16];
	size_t got = 0;

	while (got < sizeof(b)) {
		ssize_t k = getrandom(b + got, sizeof(b) - got, 0);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		got += (size_t)k;
	}
	for (size_t i = 0; i < sizeof(b); i++)
		snprintf(id + 2 * i, 3, "%02x", b[i]);
	return 0;
}

int ck_upload_begin(struct ck_uploads *u, const struct ck_upload_begin *b,
		    char id[CK_UPLOAD_ID_HEX], char parent[CK_NAME_MAX + 1],
		    char *err, size_t cap)
{
	struct ck_upload *up = NULL;
	struct ck_version pv;
	void *nv;
	int q;

	parent[0] = 0;
	pthread_mutex_lock(&u->lock);
	if (u->n + u->reserved >= u->o.max_uploads) {
		pthread_mutex_unlock(&u->lock);
		return set_err(err, cap, -EUSERS,
			       "%u uploads are open (max_uploads); retry later",
			       u->o.max_uploads);
	}
	u->reserved++;
	pthread_mutex_unlock(&u->lock);

	up = calloc(1, sizeof(*up));
	if (!up) {
		q = -ENOMEM;
		goto out;
	}
	up->u = u;
	q = random_id(up->id);
	if (q < 0)
		goto out;
	snprintf(up->owner, sizeof(up->owner), "%s", b->owner);
	q = ck_session_begin(u->r, b->container, b->name, &up->s);
	if (q == -EEXIST) {
		set_err(err, cap, q, "version '%s' already exists in '%s'",
			b->name, b->container);
		goto out;
	}
	if (q < 0) {
		set_err(err, cap, q, "cannot begin a version of '%s'",
			b->container);
		goto out;
	}
	/* Lengths were checked by ck_session_begin(). */
	snprintf(up->container, sizeof(up->container), "%s", b->container);
	snprintf(up->name, sizeof(up->name), "%s", b->name);
	if (b->complete >= 0)
		ck_session_set_complete(up->s, b->complete);
	up->lenient = b->lenient;
	if (b->parent_link) {
		up->parent_link = strdup(b->parent_link);
		if (!up->parent_link) {
			q = -ENOMEM;
			goto out;
		}
	}
	if (ck_push_parent_find(u->r, b->container, b->parent_link, &pv) == 0) {
		q = ck_push_parent_load(u->r, up->s, &pv);
		if (q < 0) {
			set_err(err, cap, q, "cannot load parent version '%s'",
				pv.name);
			goto out;
		}
		memcpy(parent, pv.name, sizeof(pv.name));
	}
	up->last_used_ns = now_ns();

	pthread_mutex_lock(&u->lock);
	nv = realloc(u->v, (u->n + 1) * sizeof(*u->v));
	if (!nv) {
		pthread_mutex_unlock(&u->lock);
		q = -ENOMEM;
		goto out;
	}
	u->v = nv;
	u->v[u->n++] = up;
	u->reserved--;
	pthread_mutex_unlock(&u->lock);
	memcpy(id, up->id, CK_UPLOAD_ID_HEX);
	ck_metrics_add(u->m, CK_M_UPLOADS_STARTED, 1);
	return 0;
out:
	upload_free(up);
	pthread_mutex_lock(&u->lock);
	u->reserved--;
	pthread_mutex_unlock(&u->lock);
	return q;
}

static struct ck_upload *find(struct ck_uploads *u, const char *id)
{
	for (size_t i = 0; i < u->n; i++)
		if (!strcmp(u->v[i]->id, id))
			return u->v[i];
	return NULL;
}

int ck_upload_acquire(struct ck_uploads *u, const char *id, const char *owner,
		      bool admin, struct ck_upload **ret)
{
	struct ck_upload *up;
	struct timespec ts;
	int q = 0;

	clock_gettime(CLOCK_REALTIME, &ts);
	ts.tv_sec += ACQUIRE_WAIT_S;
	pthread_mutex_lock(&u->lock);
	for (;;) {
		up = find(u, id);
		if (!up) {
			q = -ENOENT;
			break;
		}
		if (!admin && strcmp(up->owner, owner)) {
			q = -EPERM;
			break;
		}
		if (!up->busy) {
			up->busy = true;
			*ret = up;
			break;
		}
		if (pthread_cond_timedwait(&u->cond, &u->lock, &ts) ==
		    ETIMEDOUT) {
			q = -EBUSY;
			break;
		}
	}
	pthread_mutex_unlock(&u->lock);
	return q;
}

void ck_upload_release(struct ck_uploads *u, struct ck_upload *up)
{
	pthread_mutex_lock(&u->lock);
	up->busy = false;
	up->last_used_ns = now_ns();
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
}

/* Removes @up (acquired) from the table and frees it. */
static void drop(struct ck_uploads *u, struct ck_upload *up)
{
	pthread_mutex_lock(&u->lock);
	for (size_t i = 0; i < u->n; i++)
		if (u->v[i] == up) {
			u->v[i] = u->v[--u->n];
			break;
		}
	pthread_cond_broadcast(&u->cond);
	pthread_mutex_unlock(&u->lock);
	upload_free(up);
}

const char *ck_upload_container(const struct ck_upload *up)
{
	return up->container;
}

/* --- files ---------------------------------------------------------------- */

/* Checks @f against the repository's chunking rule (CRIU page files at
 * the chunk unit, everything else at CK_SMALL_CHUNK) and the limits. */
static int check_file(struct ck_upload *up, const struct ck_upload_file *f,
		      uint64_t *ret_n, char *err, size_t cap)
{
	const struct ck_uploads *u = up->u;
	uint32_t want;
	uint64_t n;

	if (ck_path_check(f->path) < 0)
		return set_err(err, cap, -EINVAL, "invalid path '%s'",
			       f->path);
	want = has_prefix_suffix(f->path, "pages-", ".img")
		       ? ck_repo_settings(u->r)->chunk_unit
		       : CK_SMALL_CHUNK;
	if (f->chunk_size != want)
		return set_err(err, cap, -EINVAL,
			       "'%s' must be cut in chunks of %u bytes, not %u",
			       f->path, want, f->chunk_size);
	n = f->size / want + (f->size % want != 0);
	if (up->nentries >= u->o.max_files)
		return set_err(err, cap, -E2BIG,
			       "more than %u entries in one upload "
			       "(max_upload_files)",
			       u->o.max_files);
	if (up->nids + n > u->o.max_chunks)
		return set_err(err, cap, -E2BIG,
			       "more than %" PRIu64
			       " chunks in one upload (max_upload_chunks)",
			       u->o.max_chunks);
	*ret_n = n;
	return 0;
}

/* Takes ownership of @ids. */
static int add_pfile(struct ck_upload *up, const struct ck_upload_file *f,
		     struct ck_id *ids, uint64_t n)
{
	struct pfile *pf;

	if (CK_GROW(up->files, up->nfiles, up->files_cap, 64) < 0)
		return -ENOMEM;
	pf = &up->files[up->nfiles];
	pf->path = strdup(f->path);
	if (!pf->path)
		return -ENOMEM;
	pf->m = f->m;
	pf->size = f->size;
	pf->chunk_size = f->chunk_size;
	pf->ids = ids;
	pf->n = n;
	up->nfiles++;
	up->nentries++;
	up->nids += n;
	return 0;
}

static int add_base(struct ck_upload *up, const struct ck_id *id,
		    uint32_t *ret)
{
	if (up->nbases >= UINT32_MAX - 1)
		return -E2BIG;
	if (CK_GROW(up->bases, up->nbases, up->bases_cap, 1024) < 0)
		return -ENOMEM;
	up->bases[up->nbases++] = *id;
	*ret = (uint32_t)up->nbases;
	return 0;
}

/* Where the chunks of pages file @path live, if its pagemap came. */
static const struct ck_push_placement *placement_of(struct ck_upload *up,
						    const char *path,
						    uint64_t n)
{
	for (size_t i = 0; i < up->npms; i++)
		if (!strcmp(up->pms[i].pl.pages_path, path) &&
		    up->pms[i].pl.n == n)
			return &up->pms[i].pl;
	return NULL;
}

int ck_upload_manifest(struct ck_upload *up, const struct ck_upload_file *f,
		       const void *ids, size_t len, uint8_t **bitmap,
		       size_t *bitmap_len, uint64_t *nmissing, char *err,
		       size_t cap)
{
	const struct ck_push_placement *pl;
	struct ck_id *copy = NULL;
	bool *missing = NULL;
	uint8_t *bm = NULL;
	uint64_t n, flagged = 0, offered = 0;
	int q;

	q = check_file(up, f, &n, err, cap);
	if (q < 0)
		return q;
	if (len != n * CK_ID_SIZE)
		return set_err(err, cap, -EINVAL,
			       "'%s': %" PRIu64 " bytes need %" PRIu64
			       " chunk IDs (%" PRIu64 " bytes), got %zu bytes",
			       f->path, f->size, n, n * CK_ID_SIZE, len);
	copy = malloc(n ? n * sizeof(*copy) : 1);
	missing = malloc(n ? n : 1);
	bm = calloc(n / 8 + 1, 1);
	if (!copy || !missing || !bm) {
		q = -ENOMEM;
		goto out;
	}
	memcpy(copy, ids, len);
	q = ck_session_missing(up->s, copy, (size_t)n, missing);
	if (q < 0) {
		set_err(err, cap, q, "cannot look up the chunks of '%s'",
			f->path);
		goto out;
	}
	pl = placement_of(up, f->path, n);
	for (uint64_t i = 0; i < n; i++) {
		struct ck_idmap_slot *sl;
		uint32_t base = 0;
		bool isnew;

		if (ck_id_is_zero(&copy[i]))
			continue;
		offered++;
		if (!missing[i])
			continue;
		sl = ck_idmap_upsert(&up->want, &copy[i], &isnew);
		if (!sl) {
			q = -ENOMEM;
			goto out;
		}
		if (!isnew)
			continue; /* flagged before, once is enough */
		if (pl) {
			const struct ck_id *b =
				ck_push_base_for(up->s, pl->space, pl->vaddrs[i]);

			if (b) {
				q = add_base(up, b, &base);
				if (q < 0)
					goto out;
			}
		}
		ck_idmap_find(&up->want, &copy[i])->val =
			WANT(i + 1 < n ? f->chunk_size
				       : f->size - i * f->chunk_size,
			     base);
		bm[i / 8] |= (uint8_t)(1u << (i % 8));
		flagged++;
	}
	q = add_pfile(up, f, copy, n);
	if (q < 0)
		goto out;
	copy = NULL;
	ck_metrics_add(up->u->m, CK_M_CHUNKS_OFFERED, offered);
	ck_metrics_add(up->u->m, CK_M_CHUNKS_MISSING, flagged);
	*bitmap = bm;
	*bitmap_len = n / 8 + (n % 8 != 0);
	*nmissing = flagged;
	bm = NULL;
out:
	free(copy);
	free(missing);
	free(bm);
	return q;
}

int ck_upload_inline(struct ck_upload *up, const struct ck_upload_file *f,
		     const void *data, size_t len, char *err, size_t cap)
{
	const struct ck_hasher *h = ck_repo_hasher(up->u->r);
	const uint8_t *p = data;
	struct ck_id *ids = NULL;
	bool *missing = NULL;
	uint64_t n;
	int q;

	q = check_file(up, f, &n, err, cap);
	if (q < 0)
		return q;
	if (len != f->size)
		return set_err(err, cap, -EINVAL,
			       "'%s': size says %" PRIu64 " bytes, body has %zu",
			       f->path, f->size, len);
	ids = calloc(n ? n : 1, sizeof(*ids));
	missing = malloc(n ? n : 1);
	if (!ids || !missing) {
		q = -ENOMEM;
		goto out;
	}
	for (uint64_t i = 0; i < n; i++) {
		size_t off = (size_t)(i * f->chunk_size);
		size_t clen = len - off < f->chunk_size ? len - off
							: f->chunk_size;

		if (!ck_is_zero(p + off, clen))
			ck_id_compute(h, p + off, clen, &ids[i]);
	}
	q = ck_session_missing(up->s, ids, (size_t)n, missing);
	for (uint64_t i = 0; q == 0 && i < n; i++) {
		size_t off = (size_t)(i * f->chunk_size);
		size_t clen = len - off < f->chunk_size ? len - off
							: f->chunk_size;

		if (missing[i])
			q = ck_session_put_chunk(up->s, &ids[i], p + off, clen,
						 NULL);
	}
	if (q < 0) {
		set_err(err, cap, q, "cannot store '%s'", f->path);
		goto out;
	}
	if (has_prefix_suffix(f->path, "pagemap-", ".img")) {
		struct pmap pm = { .len = len };
		void *nv;

		/* A malformed pagemap is stored as an ordinary file, as a
		 * local push does; it only places no pages. */
		if (ck_push_placement(f->path, data, len,
				      ck_repo_settings(up->u->r)->chunk_unit,
				      &pm.pl) == 0) {
			nv = realloc(up->pms, (up->npms + 1) * sizeof(*up->pms));
			if (nv)
				up->pms = nv;
			pm.buf = malloc(len ? len : 1);
			pm.path = strdup(f->path);
			if (!nv || !pm.buf || !pm.path) {
				free(pm.buf);
				free(pm.path);
				free(pm.pl.vaddrs);
				q = -ENOMEM;
				goto out;
			}
			memcpy(pm.buf, data, len);
			up->pms[up->npms++] = pm;
		}
	}
	q = add_pfile(up, f, ids, n);
	if (q == 0)
		ids = NULL;
out:
	free(ids);
	free(missing);
	return q;
}

int ck_upload_chunks(struct ck_upload *up, const void *body, size_t len,
		     struct ck_upload_batch *st, char *err, size_t cap)
{
	const uint8_t *p = body;
	struct ck_chunk_in *in = NULL;
	size_t off = 0, nin = 0, incap = 0, bad = 0;
	char hex[CK_ID_HEX_SIZE];
	int q = 0;

	memset(st, 0, sizeof(*st));
	/* Check every frame first, then store the batch in one call: its
	 * chunks are encoded on every CPU (docs/decisions.md, D13). */
	while (off < len) {
		struct ck_idmap_slot *sl;
		struct ck_id id;
		uint32_t clen;
		uint64_t v;

		if (len - off < CK_ID_SIZE + 4) {
			q = set_err(err, cap, -EPROTO,
				    "truncated chunk frame header at byte %zu",
				    off);
			goto out;
		}
		memcpy(id.b, p + off, CK_ID_SIZE);
		clen = (uint32_t)p[off + 16] | (uint32_t)p[off + 17] << 8 |
		       (uint32_t)p[off + 18] << 16 |
		       (uint32_t)p[off + 19] << 24;
		off += CK_ID_SIZE + 4;
		if (clen == 0 || clen > CK_CHUNK_MAX) {
			q = set_err(err, cap, -EPROTO,
				    "chunk frame at byte %zu has a bad "
				    "length %" PRIu32,
				    off - CK_ID_SIZE - 4, clen);
			goto out;
		}
		if (len - off < clen) {
			q = set_err(err, cap, -EPROTO,
				    "truncated chunk %s: %" PRIu32
				    " bytes announced, %zu present",
				    ck_id_to_hex(&id, hex), clen, len - off);
			goto out;
		}
		sl = ck_idmap_find(&up->want, &id);
		v = sl ? sl->val : 0;
		if (!(v & WANT_FLAG)) {
			if (sl) { /* sent twice: already stored */
				st->duplicates++;
				off += clen;
				continue;
			}
			q = set_err(err, cap, -EINVAL,
				    "chunk %s was not asked for by any "
				    "manifest of this upload",
				    ck_id_to_hex(&id, hex));
			goto out;
		}
		if (clen != WANT_LEN(v)) {
			ck_metrics_add(up->u->m, CK_M_CHUNKS_REJECTED, 1);
			q = set_err(err, cap, -EILSEQ,
				    "chunk %s has %" PRIu32
				    " bytes, its manifest place needs %" PRIu32,
				    ck_id_to_hex(&id, hex), clen, WANT_LEN(v));
			goto out;
		}
		if (CK_GROW(in, nin, incap, 256) < 0) {
			q = set_err(err, cap, -ENOMEM,
				    "cannot store chunk %s",
				    ck_id_to_hex(&id, hex));
			goto out;
		}
		in[nin] = (struct ck_chunk_in){
			.id = id,
			.data = p + off,
			.len = clen,
			.base = WANT_BASE(v) ? &up->bases[WANT_BASE(v) - 1]
					     : NULL,
		};
		nin++;
		sl->val = 0; /* a second copy in this body is a duplicate */
		st->chunks++;
		st->bytes += clen;
		st->with_base += WANT_BASE(v) != 0;
		off += clen;
	}
	q = nin ? ck_session_put_chunks(up->s, in, nin, &bad) : 0;
	if (q < 0) {
		ck_id_to_hex(&in[bad].id, hex);
		if (q == -EBADMSG || q == -EINVAL)
			bad = 0; /* nothing was stored */
		if (q == -EBADMSG) {
			ck_metrics_add(up->u->m, CK_M_CHUNKS_REJECTED, 1);
			q = set_err(err, cap, -EILSEQ,
				    "chunk %s: its bytes do not hash to its "
				    "ID",
				    hex);
		} else {
			q = set_err(err, cap, q, "cannot store chunk %s", hex);
		}
		goto out;
	}
	ck_metrics_add(up->u->m, CK_M_CHUNKS_RECEIVED, st->chunks);
	ck_metrics_add(up->u->m, CK_M_CHUNK_BYTES, st->bytes);
	ck_metrics_add(up->u->m, CK_M_DELTA_HINTS, st->with_base);
out:
	/* What was not stored (a bad frame stores nothing) is wanted
	 * again, as its manifest asked for it. */
	for (size_t i = bad; q < 0 && i < nin; i++)
		ck_idmap_find(&up->want, &in[i].id)->val =
			WANT(in[i].len,
			     in[i].base ? (uint32_t)(in[i].base - up->bases) + 1
					: 0);
	free(in);
	return q;
}

/* Remembers the path of a directory or symlink (for ck_push_finish()). */
static int add_epath(struct ck_upload *up, const char *path)
{
	char **nv = realloc(up->epaths, (up->nepaths + 1) * sizeof(*nv));

	if (!nv)
		return -ENOMEM;
	up->epaths = nv;
	nv[up->nepaths] = strdup(path);
	if (!nv[up->nepaths])
		return -ENOMEM;
	up->nepaths++;
	return 0;
}

int ck_upload_add_dir(struct ck_upload *up, const char *path,
		      const struct ck_file_meta *m)
{
	int q;

	if (up->nentries >= up->u->o.max_files)
		return -E2BIG;
	q = ck_session_add_dir(up->s, path, m);
	if (q == 0)
		q = add_epath(up, path);
	if (q == 0)
		up->nentries++;
	return q;
}

int ck_upload_add_symlink(struct ck_upload *up, const char *path,
			  const char *target, const struct ck_file_meta *m)
{
	int q;

	if (up->nentries >= up->u->o.max_files)
		return -E2BIG;
	q = ck_session_add_symlink(up->s, path, target, m);
	if (q == 0)
		q = add_epath(up, path);
	if (q == 0)
		up->nentries++;
	return q;
}

static const struct pfile *pfile_of(const struct ck_upload *up,
				   const char *path)
{
	for (size_t i = 0; i < up->nfiles; i++)
		if (!strcmp(up->files[i].path, path))
			return &up->files[i];
	return NULL;
}

/* What ck_push_dir() does after the files: kind and flattened views. */
static int finish(struct ck_upload *up)
{
	const char **paths = NULL;
	struct ck_push_pagemap *pms = NULL;
	size_t n = 0;
	int q;

	paths = calloc(up->nfiles + up->nepaths + 1, sizeof(*paths));
	pms = calloc(up->npms + 1, sizeof(*pms));
	if (!paths || !pms) {
		q = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < up->nfiles; i++)
		paths[n++] = up->files[i].path;
	for (size_t i = 0; i < up->nepaths; i++)
		paths[n++] = up->epaths[i];
	for (size_t i = 0; i < up->npms; i++) {
		const struct pfile *pm = pfile_of(up, up->pms[i].path);
		const struct pfile *pg = pfile_of(up, up->pms[i].pl.pages_path);

		pms[i].path = up->pms[i].path;
		pms[i].buf = up->pms[i].buf;
		pms[i].len = up->pms[i].len;
		pms[i].meta = pm ? pm->m : (struct ck_file_meta){ 0 };
		pms[i].pages_meta = pg ? pg->m : pms[i].meta;
	}
	q = ck_push_finish(up->u->r, up->s, up->container, up->parent_link,
			   paths, n, pms, up->npms, up->lenient);
out:
	free(paths);
	free(pms);
	return q;
}

int ck_upload_commit(struct ck_uploads *u, struct ck_upload *up,
		     struct ck_version *ret, char *err, size_t cap)
{
	int q = 0;

	for (size_t i = 0; i < up->nfiles && q == 0; i++) {
		const struct pfile *pf = &up->files[i];

		q = ck_session_add_file_ids(up->s, pf->path, pf->size,
					    pf->chunk_size, pf->ids, pf->n,
					    &pf->m);
		if (q == -ENOENT)
			set_err(err, cap, -EINVAL,
				"'%s' uses chunks that were never uploaded",
				pf->path);
		else if (q < 0)
			set_err(err, cap, q, "cannot add '%s'", pf->path);
		if (q == -ENOENT)
			q = -EINVAL;
	}
	if (q == 0) {
		q = finish(up);
		if (q < 0)
			set_err(err, cap, q,
				"cannot complete the version (kind, flattened "
				"view of incremental pagemaps)");
	}
	if (q == 0) {
		q = ck_session_commit(up->s, ret);
		if (q == -EEXIST)
			set_err(err, cap, q,
				"two entries have the same path, or version "
				"'%s' was committed meanwhile",
				up->name);
		else if (q == -ENOTDIR)
			set_err(err, cap, q,
				"an entry's parent directory is missing");
		else if (q == -EAGAIN)
			set_err(err, cap, q,
				"a chunk this upload reused was deleted "
				"meanwhile; upload the version again");
		else if (q < 0)
			set_err(err, cap, q, "commit failed: %s", strerror(-q));
	}
	ck_metrics_add(u->m, q == 0 ? CK_M_UPLOADS_COMMITTED
				    : CK_M_UPLOADS_FAILED,
		       1);
	drop(u, up);
	return q;
}

void ck_upload_abort(struct ck_uploads *u, struct ck_upload *up)
{
	ck_metrics_add(u->m, CK_M_UPLOADS_ABORTED, 1);
	drop(u, up);
}
