/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "compress.h"
#include "extract.h"
#include "fsutil.h"
#include "log.h"
#include "pool.h"
#include "repo_internal.h"

#define RANGE_CHUNKS 64
/* A read of at least this many whole chunks is decoded by the caller and
 * the repository's read helpers together (512 KiB of 4 KiB pages: smaller
 * reads cost more to hand out than they gain). */
#define PAR_CHUNKS (2 * RANGE_CHUNKS)

/* Decodes chunks [first, first + n) of a file into @buf (n * chunk_size
 * bytes room, the last chunk possibly shorter); zero chunks are zeroed
 * only if @zero_fill. */
static int decode_range(struct ck_repo *r, const struct ck_entry *e,
			const struct ck_id *ids, uint64_t first, size_t n,
			uint8_t *buf, bool zero_fill)
{
	struct ck_id want[RANGE_CHUNKS];
	void *recs[RANGE_CHUNKS];
	size_t lens[RANGE_CHUNKS], idx[RANGE_CHUNKS], nw = 0;
	int q = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t c = first + i;
		size_t clen = c + 1 < e->nchunks
				      ? e->chunk_size
				      : (size_t)(e->size - c * e->chunk_size);

		if (ck_id_is_zero(&ids[i])) {
			if (zero_fill)
				memset(buf + i * e->chunk_size, 0, clen);
			continue;
		}
		want[nw] = ids[i];
		idx[nw++] = i;
	}
	if (!nw)
		return 0;
	q = ck_repo_chunk_records(r, nw, want, recs, lens);
	if (q < 0)
		return q;
	ck_repo_bases_prefetch(r, nw, recs, lens);
	for (size_t j = 0; j < nw; j++) {
		size_t i = idx[j];
		uint64_t c = first + i;
		size_t clen = c + 1 < e->nchunks
				      ? e->chunk_size
				      : (size_t)(e->size - c * e->chunk_size);
		int got;

		if (q < 0)
			continue;
		if (!recs[j]) {
			q = -EBADMSG; /* referenced chunk is missing */
			continue;
		}
		got = ck_repo_chunk_decode(r, &want[j], recs[j], lens[j],
					   buf + i * e->chunk_size, clen);
		if (got >= 0 && (size_t)got != clen)
			got = -EBADMSG;
		if (got < 0) {
			char hex[CK_ID_HEX_SIZE];

			ck_log_debug("chunk %s of '%s': %d",
				     ck_id_to_hex(&want[j], hex), e->path, got);
			q = got;
		}
	}
	for (size_t j = 0; j < nw; j++)
		free(recs[j]);
	return q;
}

/* The repository's read helpers, started by the first read that wants
 * them; NULL on a one-CPU machine or when they cannot start. */
static struct ck_pool *read_pool(struct ck_repo *r)
{
	struct ck_pool *p;

	pthread_mutex_lock(&r->cache_lock);
	if (!r->read_pool_tried) {
		unsigned h = ck_pool_default_helpers();

		r->read_pool_tried = true;
		if (h && ck_pool_new(h, &r->read_pool) < 0)
			r->read_pool = NULL;
	}
	p = r->read_pool;
	pthread_mutex_unlock(&r->cache_lock);
	return p;
}

/* Whole chunks [first, first + n) of a file decoded into out, slices of
 * RANGE_CHUNKS handed out to whichever thread asks next. */
struct read_job {
	struct ck_repo *r;
	const struct ck_entry *e;
	const struct ck_id *ids; /* of chunk first */
	uint64_t first, n;
	uint8_t *out; /* chunk first's bytes */
	atomic_uint_fast64_t next;
	atomic_int err;
};

static void par_decode(void *arg, unsigned k)
{
	struct read_job *j = arg;

	(void)k;
	for (;;) {
		uint64_t i = atomic_fetch_add(&j->next, RANGE_CHUNKS);
		size_t n;
		int q;

		if (i >= j->n || atomic_load(&j->err))
			break;
		n = (size_t)(j->n - i < RANGE_CHUNKS ? j->n - i : RANGE_CHUNKS);
		q = decode_range(j->r, j->e, j->ids + i, j->first + i, n,
				 j->out + i * j->e->chunk_size, true);
		if (q < 0) {
			int zero = 0;

			atomic_compare_exchange_strong(&j->err, &zero, q);
			break;
		}
	}
}

/* Decodes whole chunks [w0, w1) of the read on the read helpers too;
 * false if they are busy with another read (or there are none), and
 * then the caller decodes alone. */
static bool decode_parallel(struct ck_repo *r, const struct ck_entry *e,
			    const struct ck_id *ids, uint64_t w0, uint64_t w1,
			    uint8_t *out, int *ret)
{
	struct ck_pool *p = read_pool(r);
	struct read_job j = { .r = r, .e = e, .ids = ids, .first = w0,
			      .n = w1 - w0, .out = out };

	if (!p)
		return false;
	atomic_init(&j.next, 0);
	atomic_init(&j.err, 0);
	if (!ck_pool_try_run(p, par_decode, &j))
		return false;
	*ret = atomic_load(&j.err);
	return true;
}

int ck_file_read(struct ck_repo *r, uint64_t vid, const struct ck_entry *e,
		 uint64_t off, void *buf, size_t len)
{
	const uint64_t cs = e->chunk_size;
	uint8_t *out = buf, *page = NULL;
	struct ck_id *ids = NULL;
	uint64_t end, c0, c1, c, w0, w1;
	bool par = false;
	int q = 0;

	if (e->type != CK_ENTRY_FILE)
		return -EISDIR;
	if (off >= e->size || len == 0)
		return 0;
	if (len > e->size - off)
		len = (size_t)(e->size - off);
	if (len > INT32_MAX)
		len = INT32_MAX;
	end = off + len;
	c0 = off / cs;
	c1 = (end - 1) / cs;
	/* One lookup of the chunk list for the whole range (FUSE and cat
	 * read 1 MiB at a time). */
	ids = malloc((size_t)(c1 - c0 + 1) * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	q = ck_repo_entry_chunks(r, vid, e, c0, (size_t)(c1 - c0 + 1), ids);
	/* The chunks the range holds whole: [w0, w1). */
	w0 = (off + cs - 1) / cs;
	w1 = end == e->size ? c1 + 1 : end / cs;
	if (q == 0 && w1 >= w0 + PAR_CHUNKS)
		par = decode_parallel(r, e, ids + (w0 - c0), w0, w1,
				      out + (w0 * cs - off), &q);
	for (c = c0; q == 0 && c <= c1;) {
		uint64_t cstart = c * cs;
		uint64_t cend = cstart + cs < e->size ? cstart + cs : e->size;

		if (par && c == w0) {
			c = w1;
			continue;
		}
		if (cstart >= off && cend <= end) {
			/* Whole chunks decode straight into the caller's
			 * buffer. */
			size_t k = 1;

			while (c + k <= c1 && k < RANGE_CHUNKS &&
			       ((c + k) * cs + cs < e->size ? (c + k) * cs + cs
							    : e->size) <= end)
				k++;
			q = decode_range(r, e, ids + (c - c0), c, k,
					 out + (cstart - off), true);
			c += k;
			continue;
		}
		/* A chunk cut by the start or the end of the range. */
		if (!page) {
			page = malloc(cs);
			if (!page) {
				q = -ENOMEM;
				break;
			}
		}
		q = decode_range(r, e, ids + (c - c0), c, 1, page, true);
		if (q == 0) {
			uint64_t from = cstart > off ? cstart : off;
			uint64_t to = cend < end ? cend : end;

			memcpy(out + (from - off), page + (from - cstart),
			       (size_t)(to - from));
		}
		c++;
	}
	free(page);
	free(ids);
	if (q == -EBADMSG) {
		/* Missing chunks or chunk lists: damage, unless gc deleted
		 * the version under this read. */
		struct ck_entry cur;

		if (ck_repo_view_entry_get(r, vid, e->view, e->path, &cur) ==
		    -ENOENT)
			q = -ENOENT;
	}
	return q < 0 ? q : (int)len;
}

int ck_file_write_fd(struct ck_repo *r, uint64_t vid,
		     const struct ck_entry *e, int fd)
{
	const size_t step = 1u << 20;
	uint8_t *buf;
	uint64_t off = 0;
	int q = 0;

	buf = malloc(step);
	if (!buf)
		return -ENOMEM;
	while (off < e->size) {
		q = ck_file_read(r, vid, e, off, buf, step);
		if (q <= 0) {
			q = q < 0 ? q : -EIO;
			break;
		}
		off += (uint64_t)q;
		q = ck_write_all(fd, buf, (size_t)q);
		if (q < 0)
			break;
	}
	free(buf);
	return q;
}

/* --- restore ----------------------------------------------------------- */

struct job {
	struct ck_repo *r;
	const struct ck_entry *e;
	const struct ck_id *ids;
	int fd;
	atomic_uint_fast64_t next; /* next range start */
	atomic_int err;
	atomic_uint_fast64_t *done_bytes;
};

static void *worker(void *arg)
{
	struct job *j = arg;
	const struct ck_entry *e = j->e;
	uint8_t *buf = malloc((size_t)RANGE_CHUNKS * e->chunk_size);

	if (!buf) {
		atomic_store(&j->err, -ENOMEM);
		return NULL;
	}
	for (;;) {
		uint64_t first = atomic_fetch_add(&j->next, RANGE_CHUNKS);
		size_t n;
		int q;

		if (first >= e->nchunks || atomic_load(&j->err))
			break;
		n = (size_t)(e->nchunks - first < RANGE_CHUNKS
				     ? e->nchunks - first
				     : RANGE_CHUNKS);
		q = decode_range(j->r, e, j->ids + first, first, n, buf, false);
		/* Write runs of non-zero chunks; zero chunks stay holes. */
		for (size_t i = 0; q == 0 && i < n;) {
			size_t k = i, len = 0;

			if (ck_id_is_zero(&j->ids[first + i])) {
				i++;
				continue;
			}
			while (k < n && !ck_id_is_zero(&j->ids[first + k])) {
				uint64_t c = first + k;

				len += c + 1 < e->nchunks
					       ? e->chunk_size
					       : (size_t)(e->size -
							  c * e->chunk_size);
				k++;
			}
			q = ck_pwrite_all(j->fd, buf + i * e->chunk_size, len,
					  (off_t)((first + i) *
						  e->chunk_size));
			i = k;
		}
		if (q < 0) {
			int zero = 0;

			atomic_compare_exchange_strong(&j->err, &zero, q);
			break;
		}
		atomic_fetch_add(j->done_bytes,
				 (uint64_t)n * e->chunk_size);
	}
	free(buf);
	ck_compress_thread_exit();
	return NULL;
}

static int restore_file(struct ck_repo *r, const struct ck_version *v,
			const struct ck_entry *e, int fd, unsigned threads,
			atomic_uint_fast64_t *done_bytes)
{
	struct ck_id *ids = NULL;
	pthread_t th[16];
	unsigned started = 0;
	struct job j = { .r = r, .e = e, .fd = fd, .done_bytes = done_bytes };
	int q;

	if (ftruncate(fd, (off_t)e->size) < 0)
		return -errno;
	if (!e->nchunks)
		return 0;
	ids = malloc(e->nchunks * sizeof(*ids));
	if (!ids)
		return -ENOMEM;
	q = ck_repo_entry_chunks(r, v->vid, e, 0, (size_t)e->nchunks, ids);
	if (q < 0)
		goto out;
	j.ids = ids;
	atomic_init(&j.next, 0);
	atomic_init(&j.err, 0);
	if (threads > 16)
		threads = 16;
	if (e->nchunks <= RANGE_CHUNKS)
		threads = 1;
	for (unsigned i = 1; i < threads; i++) {
		if (pthread_create(&th[started], NULL, worker, &j) != 0)
			break;
		started++;
	}
	worker(&j); /* the calling thread works too */
	for (unsigned i = 0; i < started; i++)
		pthread_join(th[i], NULL);
	q = atomic_load(&j.err);
out:
	free(ids);
	return q;
}

int ck_entry_apply_meta(int dfd, const struct ck_entry *e, bool root)
{
	struct timespec ts[2];

	if (root && fchownat(dfd, e->path, e->uid, e->gid,
			     AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	if (e->type != CK_ENTRY_SYMLINK &&
	    fchmodat(dfd, e->path, e->mode & 07777, 0) < 0)
		return -errno;
	ts[0].tv_sec = ts[1].tv_sec = e->mtime_ns / 1000000000;
	ts[0].tv_nsec = ts[1].tv_nsec = e->mtime_ns % 1000000000;
	if (utimensat(dfd, e->path, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return -errno;
	return 0;
}

int ck_restore(struct ck_repo *r, const struct ck_version *v,
	       const char *dest, const struct ck_restore_opts *o)
{
	struct ck_entry *es = NULL;
	size_t n = 0;
	unsigned threads = o && o->threads ? o->threads : 0;
	bool root = geteuid() == 0;
	atomic_uint_fast64_t done_bytes;
	uint64_t total = 0;
	int dfd = -1, q;

	atomic_init(&done_bytes, 0);
	if (!threads) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);

		threads = c > 0 ? (unsigned)c : 1;
	}
	if (o && o->flatten)
		q = ck_repo_flat_entries(r, v, &es, &n);
	else
		q = ck_repo_entries(r, v->vid, &es, &n);
	if (q < 0)
		return q;
	for (size_t i = 0; i < n; i++)
		if (es[i].type == CK_ENTRY_FILE)
			total += es[i].size;
	q = ck_mkdir_empty(dest);
	if (q < 0)
		goto out;
	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		q = -errno;
		goto out;
	}
	/* Sorted paths put every directory before its contents. */
	for (size_t i = 0; i < n; i++) {
		const struct ck_entry *e = &es[i];
		int fd;

		switch (e->type) {
		case CK_ENTRY_DIR:
			if (mkdirat(dfd, e->path, 0700) < 0) {
				q = -errno;
				goto out;
			}
			break;
		case CK_ENTRY_SYMLINK:
			if (symlinkat(e->target, dfd, e->path) < 0) {
				q = -errno;
				goto out;
			}
			break;
		case CK_ENTRY_FILE:
			fd = openat(dfd, e->path,
				    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
					    O_NOFOLLOW,
				    0600);
			if (fd < 0) {
				q = -errno;
				goto out;
			}
			q = restore_file(r, v, e, fd, threads, &done_bytes);
			if (close(fd) < 0 && q == 0)
				q = -errno;
			if (q < 0)
				goto out;
			if (o && o->progress)
				o->progress(o->progress_ud,
					    atomic_load(&done_bytes), total);
			break;
		}
	}
	/* Metadata last, deepest first, so that setting a directory's mtime
	 * is not undone by creating its children. */
	for (size_t i = n; i-- > 0;) {
		q = ck_entry_apply_meta(dfd, &es[i], root);
		if (q < 0)
			goto out;
	}
out:
	if (dfd >= 0)
		close(dfd);
	free(es);
	return q;
}
