/* SPDX-License-Identifier: MIT */
/*
 * remote-restore.c - ck_remote_restore(): a version from ckstored into a
 * new directory, byte-exact (remote.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "extract.h"
#include "fsutil.h"
#include "http.h"
#include "remote.h"

#define RANGE (8u << 20)	/* bytes per ranged GET */
#define WAVE_JOBS 256		/* GETs set up at once */
#define JOB_BUF (1u << 20)

struct rjob {
	int fd;
	uint32_t cs;	 /* the file's chunk size: zero chunks stay holes */
	uint64_t off;	 /* file offset of buf[0] */
	uint8_t *buf;
	size_t len, cap;
	uint64_t *done;
	const struct ck_remote_restore_opts *o;
	uint64_t total;
};

/* Writes the buffered bytes, skipping chunks of zeros. */
static int rjob_flush(struct rjob *j)
{
	size_t i = 0;
	int q = 0;

	while (q == 0 && i < j->len) {
		size_t k = i;

		while (k < j->len) {
			size_t l = j->len - k < j->cs ? j->len - k : j->cs;

			if (ck_is_zero(j->buf + k, l))
				break;
			k += l;
		}
		if (k > i)
			q = ck_pwrite_all(j->fd, j->buf + i, k - i,
					  (off_t)(j->off + i));
		if (k < j->len)
			k += j->len - k < j->cs ? j->len - k : j->cs;
		i = k;
	}
	j->off += j->len;
	if (j->done)
		*j->done += j->len;
	if (j->o && j->o->progress)
		j->o->progress(j->o->progress_ud, *j->done, j->total);
	j->len = 0;
	return q;
}

static int rjob_sink(void *ud, const void *data, size_t len)
{
	struct rjob *j = ud;
	const uint8_t *p = data;
	int q;

	while (len) {
		size_t k = j->cap - j->len < len ? j->cap - j->len : len;

		memcpy(j->buf + j->len, p, k);
		j->len += k;
		p += k;
		len -= k;
		if (j->len == j->cap) {
			q = rjob_flush(j);
			if (q < 0)
				return q;
		}
	}
	return 0;
}

/* Downloads jobs [0, n) and closes their files. */
static int run_wave(struct ck_remote *rm, struct ck_http_get *gets,
		    struct rjob *jobs, size_t n, unsigned parallel)
{
	int q, q2 = 0;

	q = ck_http_get_many(ck_remote_http(rm), gets, n, parallel);
	for (size_t i = 0; i < n; i++) {
		if (q == 0 && jobs[i].len)
			q2 = rjob_flush(&jobs[i]);
		if (q2 < 0 && q == 0)
			q = q2;
	}
	if (q == -EPROTO) {
		for (size_t i = 0; i < n; i++)
			if (gets[i].status && gets[i].status != 200 &&
			    gets[i].status != 206)
				return ck_remote_fail(rm, gets[i].status == 404
								  ? -ENOENT
								  : -EIO,
						      "%s: %s (HTTP %ld)",
						      gets[i].path,
						      gets[i].error,
						      gets[i].status);
	}
	if (q < 0 && !ck_remote_error(rm)[0])
		ck_remote_fail(rm, q, "download failed");
	return q;
}

int ck_remote_restore(struct ck_remote *rm, const struct ck_version *v,
		      const char *dest, const struct ck_remote_restore_opts *o)
{
	struct ck_entry *es = NULL;
	struct ck_http_get *gets = NULL;
	struct rjob *jobs = NULL;
	char (*paths)[4 * CK_PATH_MAX + 4 * CK_NAME_MAX] = NULL;
	int *fds = NULL;
	size_t n = 0, nj = 0, nfd = 0;
	unsigned parallel = o && o->parallel ? o->parallel : 4;
	bool root = geteuid() == 0;
	uint64_t total = 0, done = 0;
	int dfd = -1, q;

	q = ck_remote_entries(rm, v, o && o->flatten ? "flattened" : NULL,
			      &es, &n);
	if (q < 0)
		return q;
	for (size_t i = 0; i < n; i++)
		if (es[i].type == CK_ENTRY_FILE)
			total += es[i].size;
	gets = calloc(WAVE_JOBS, sizeof(*gets));
	jobs = calloc(WAVE_JOBS, sizeof(*jobs));
	paths = calloc(WAVE_JOBS, sizeof(*paths));
	fds = malloc(WAVE_JOBS * sizeof(*fds));
	if (!gets || !jobs || !paths || !fds) {
		q = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < WAVE_JOBS; i++) {
		jobs[i].cap = JOB_BUF;
		jobs[i].buf = malloc(JOB_BUF);
		if (!jobs[i].buf) {
			q = -ENOMEM;
			goto out;
		}
	}
	q = ck_mkdir_empty(dest);
	if (q < 0)
		goto out;
	dfd = open(dest, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		q = -errno;
		goto out;
	}
	/* Sorted paths put every directory before its contents. */
	for (size_t i = 0; i <= n; i++) {
		const struct ck_entry *e = i < n ? &es[i] : NULL;
		uint64_t parts;
		int fd;

		if (e && e->type == CK_ENTRY_DIR) {
			if (mkdirat(dfd, e->path, 0700) < 0) {
				q = -errno;
				goto out;
			}
			continue;
		}
		if (e && e->type == CK_ENTRY_SYMLINK) {
			if (symlinkat(e->target, dfd, e->path) < 0) {
				q = -errno;
				goto out;
			}
			continue;
		}
		parts = e ? (e->size + RANGE - 1) / RANGE : 0;
		if (nj && (!e || nj + parts > WAVE_JOBS || nfd == WAVE_JOBS)) {
			q = run_wave(rm, gets, jobs, nj, parallel);
			for (size_t k = 0; k < nfd; k++)
				if (close(fds[k]) < 0 && q == 0)
					q = -errno;
			nj = nfd = 0;
			if (q < 0)
				goto out;
		}
		if (!e)
			break;
		fd = openat(dfd, e->path,
			    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			    0600);
		if (fd < 0) {
			q = -errno;
			goto out;
		}
		if (ftruncate(fd, (off_t)e->size) < 0) {
			q = -errno;
			close(fd);
			goto out;
		}
		if (!e->size) {
			close(fd);
			continue;
		}
		fds[nfd++] = fd;
		for (uint64_t p = 0; p < parts; p++) {
			struct ck_version vv = *v;
			char esc[3 * CK_PATH_MAX + 1];
			char suffix[3 * CK_PATH_MAX + 32];
			struct rjob *j;

			if (nj == WAVE_JOBS) {
				/* One file larger than a wave. */
				q = run_wave(rm, gets, jobs, nj, parallel);
				nj = 0;
				if (q < 0)
					goto out;
			}
			j = &jobs[nj];
			if (ck_http_escape(e->path, true, esc, sizeof(esc)) < 0) {
				q = -ENAMETOOLONG;
				goto out;
			}
			snprintf(suffix, sizeof(suffix), "/files/%s%s", esc,
				 e->view == CK_VIEW_FLAT ? "?view=flat" : "");
			q = ck_remote_version_path(&vv, suffix, paths[nj],
						   sizeof(paths[nj]));
			if (q < 0)
				goto out;
			j->fd = fd;
			j->cs = e->chunk_size ? e->chunk_size : 4096;
			j->off = p * RANGE;
			j->len = 0;
			j->done = &done;
			j->o = o;
			j->total = total;
			gets[nj] = (struct ck_http_get){
				.path = paths[nj],
				.off = parts > 1 ? p * RANGE : 0,
				.len = parts > 1 ? (e->size - p * RANGE < RANGE
							    ? e->size - p * RANGE
							    : RANGE)
						 : 0,
				.sink = rjob_sink,
				.ud = j,
			};
			nj++;
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
	for (size_t k = 0; k < nfd; k++)
		close(fds[k]);
	if (jobs)
		for (size_t i = 0; i < WAVE_JOBS; i++)
			free(jobs[i].buf);
	free(jobs);
	free(gets);
	free(paths);
	free(fds);
	if (dfd >= 0)
		close(dfd);
	free(es);
	return q;
}
