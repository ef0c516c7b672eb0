/* SPDX-License-Identifier: MIT */
#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "extract.h"
#include "log.h"
#include "tar.h"

#define STEP (1u << 20)

struct ck_tar {
	struct ck_repo *r;
	struct ck_version v;
	char prefix[CK_NAME_MAX + 2]; /* "name/" or "" */
	struct archive *a;
	struct ck_entry *es;
	size_t n, idx;
	bool root_done, streaming, closed;
	uint64_t file_off;
	uint8_t *step;	/* file bytes being archived */
	uint8_t *out;	/* archive bytes not yet read */
	size_t out_len, out_off, out_cap;
	int err;
};

static la_ssize_t on_write(struct archive *a, void *ud, const void *buf,
			   size_t len)
{
	struct ck_tar *t = ud;

	(void)a;
	if (t->out_len + len > t->out_cap) {
		size_t cap = t->out_cap ? t->out_cap : (STEP + 65536);
		void *nb;

		while (cap < t->out_len + len)
			cap *= 2;
		nb = realloc(t->out, cap);
		if (!nb) {
			t->err = -ENOMEM;
			return -1;
		}
		t->out = nb;
		t->out_cap = cap;
	}
	memcpy(t->out + t->out_len, buf, len);
	t->out_len += len;
	return (la_ssize_t)len;
}

int ck_tar_new(struct ck_repo *r, const struct ck_version *v,
	       const char *prefix, bool flatten, struct ck_tar **ret)
{
	struct ck_tar *t = calloc(1, sizeof(*t));
	int q;

	if (!t)
		return -ENOMEM;
	t->r = r;
	t->v = *v;
	if (prefix[0])
		snprintf(t->prefix, sizeof(t->prefix), "%s/", prefix);
	q = flatten ? ck_repo_flat_entries(r, v, &t->es, &t->n)
		    : ck_repo_entries(r, v->vid, &t->es, &t->n);
	if (q < 0)
		goto fail;
	t->step = malloc(STEP);
	t->a = archive_write_new();
	if (!t->step || !t->a) {
		q = -ENOMEM;
		goto fail;
	}
	if (archive_write_set_format_pax_restricted(t->a) != ARCHIVE_OK ||
	    archive_write_set_bytes_per_block(t->a, 0) != ARCHIVE_OK ||
	    archive_write_open2(t->a, t, NULL, on_write, NULL, NULL) !=
		    ARCHIVE_OK) {
		ck_log_debug("libarchive: %s", archive_error_string(t->a));
		q = -EIO;
		goto fail;
	}
	*ret = t;
	return 0;
fail:
	ck_tar_free(t);
	return q;
}

struct ck_tar *ck_tar_free(struct ck_tar *t)
{
	if (!t)
		return NULL;
	if (t->a)
		archive_write_free(t->a);
	free(t->es);
	free(t->step);
	free(t->out);
	free(t);
	return NULL;
}

static int write_header(struct ck_tar *t, const char *path,
			const struct ck_entry *e)
{
	struct archive_entry *ae = archive_entry_new();
	char name[CK_NAME_MAX + 2 + CK_PATH_MAX + 1];
	int q = 0;

	if (!ae)
		return -ENOMEM;
	snprintf(name, sizeof(name), "%s%s", t->prefix, path);
	archive_entry_set_pathname(ae, name);
	archive_entry_set_uid(ae, e->uid);
	archive_entry_set_gid(ae, e->gid);
	archive_entry_set_mtime(ae, e->mtime_ns / 1000000000,
				e->mtime_ns % 1000000000);
	switch (e->type) {
	case CK_ENTRY_DIR:
		archive_entry_set_filetype(ae, AE_IFDIR);
		archive_entry_set_perm(ae, e->mode & 07777);
		break;
	case CK_ENTRY_SYMLINK:
		archive_entry_set_filetype(ae, AE_IFLNK);
		archive_entry_set_perm(ae, 0777);
		archive_entry_set_symlink(ae, e->target);
		break;
	case CK_ENTRY_FILE:
		archive_entry_set_filetype(ae, AE_IFREG);
		archive_entry_set_perm(ae, e->mode & 07777);
		archive_entry_set_size(ae, (la_int64_t)e->size);
		break;
	}
	if (archive_write_header(t->a, ae) != ARCHIVE_OK) {
		ck_log_debug("libarchive: %s", archive_error_string(t->a));
		q = t->err ? t->err : -EIO;
	}
	archive_entry_free(ae);
	return q;
}

/* Produces the next piece of the archive into t->out. */
static int step(struct ck_tar *t)
{
	const struct ck_entry *e;
	int q;

	if (!t->root_done) {
		struct ck_entry root = { .type = CK_ENTRY_DIR, .mode = 0755,
					 .mtime_ns = t->v.created_ns };

		t->root_done = true;
		return t->prefix[0] ? write_header(t, "", &root) : 0;
	}
	if (t->streaming) {
		e = &t->es[t->idx];
		q = ck_file_read(t->r, t->v.vid, e, t->file_off, t->step, STEP);
		if (q < 0)
			return q;
		if (q == 0)
			return -EIO; /* shorter than its size */
		if (archive_write_data(t->a, t->step, (size_t)q) != q)
			return t->err ? t->err : -EIO;
		t->file_off += (uint64_t)q;
		if (t->file_off < e->size)
			return 0;
		t->streaming = false;
		t->idx++;
		return 0;
	}
	if (t->idx < t->n) {
		e = &t->es[t->idx];
		q = write_header(t, e->path, e);
		if (q < 0)
			return q;
		if (e->type == CK_ENTRY_FILE && e->size > 0) {
			t->streaming = true;
			t->file_off = 0;
		} else {
			t->idx++;
		}
		return 0;
	}
	if (archive_write_close(t->a) != ARCHIVE_OK)
		return t->err ? t->err : -EIO;
	t->closed = true;
	return 0;
}

ssize_t ck_tar_read(struct ck_tar *t, char *buf, size_t max)
{
	size_t k;

	while (t->out_off == t->out_len) {
		int q;

		if (t->closed)
			return 0;
		t->out_off = t->out_len = 0;
		q = step(t);
		if (q < 0) {
			ck_log_debug("tar of version %llu: %s",
				     (unsigned long long)t->v.vid,
				     strerror(-q));
			return q;
		}
	}
	k = t->out_len - t->out_off;
	if (k > max)
		k = max;
	memcpy(buf, t->out + t->out_off, k);
	t->out_off += k;
	return (ssize_t)k;
}
