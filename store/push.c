/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "criu.h"
#include "extract.h"
#include "flatten.h"
#include "fsutil.h"
#include "log.h"
#include "push.h"
#include "repo_internal.h"
#include "session_internal.h"
#include "walk.h"

#define PAGEMAP_MAX (64u << 20)

struct walk {
	struct ck_walk t;
	struct ck_push_opts *o;
};

static int set_err(struct ck_push_opts *o, const char *path, int r)
{
	snprintf(o->errpath, sizeof(o->errpath), "%s", path);
	return r;
}

static uint64_t fnv1a(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 0x100000001b3ULL;
	return h;
}

static bool has_prefix_suffix(const char *name, const char *pre,
			      const char *suf)
{
	size_t n = strlen(name), p = strlen(pre), s = strlen(suf);

	return n > p + s && strncmp(name, pre, p) == 0 &&
	       strcmp(name + n - s, suf) == 0;
}

static const char *base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

/* Virtual address of each chunk of a pages file described by @pm. */
static int chunk_vaddrs(const struct ck_criu_pagemap *pm, uint32_t unit,
			uint64_t **ret, size_t *ret_n)
{
	uint64_t pages = ck_criu_pagemap_data_pages(pm);
	uint64_t per = unit / CK_CRIU_PAGE_SIZE, k = 0;
	size_t n = (size_t)((pages + per - 1) / per);
	uint64_t *v;

	v = malloc((n ? n : 1) * sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < pm->n; i++) {
		if (!(pm->e[i].flags & CK_CRIU_PE_PRESENT))
			continue;
		for (uint64_t p = 0; p < pm->e[i].nr_pages; p++, k++)
			if (k % per == 0)
				v[k / per] = pm->e[i].vaddr +
					     p * CK_CRIU_PAGE_SIZE;
	}
	*ret = v;
	*ret_n = n;
	return 0;
}

/* A pages file's placement in memory, from the pagemap of its dir. */
struct placement {
	char pages_path[CK_PATH_MAX + 1];
	struct ck_page_hint hint;
	uint64_t *vaddrs;
	const struct ck_walk_item *item; /* the pagemap */
	void *pm_buf;		 /* its bytes */
	size_t pm_len;
};

static int pagemap_placement(const char *pagemap_path, const void *buf,
			     size_t len, uint32_t unit, struct placement *ret)
{
	struct ck_criu_pagemap pm = CK_CRIU_PAGEMAP_INIT;
	const char *b = base_name(pagemap_path);
	size_t dlen = (size_t)(b - pagemap_path);
	int q;

	q = ck_criu_pagemap_parse(buf, len, &pm);
	if (q < 0)
		return q;
	ret->vaddrs = NULL;
	q = snprintf(ret->pages_path, sizeof(ret->pages_path),
		     "%.*spages-%" PRIu64 ".img", (int)dlen, pagemap_path,
		     pm.pages_id);
	if (q < 0 || (size_t)q >= sizeof(ret->pages_path)) {
		q = -ENAMETOOLONG;
		goto out;
	}
	q = chunk_vaddrs(&pm, unit, &ret->vaddrs, &ret->hint.n);
	if (q < 0)
		goto out;
	ret->hint.vaddrs = ret->vaddrs;
	ret->hint.space = fnv1a(pagemap_path);
out:
	ck_criu_pagemap_release(&pm);
	return q;
}

/* Loads the pages of the version deltas are taken against: for every
 * pagemap of @pv, where each chunk of its pages file lives. */
static int load_parent(struct ck_repo *r, struct ck_session *s,
		       const struct ck_version *pv)
{
	struct ck_entry *es = NULL;
	struct ck_id *ids = NULL;
	size_t n = 0, cap = 0;
	int q;

	/* The flattened view of an incremental parent places every page,
	 * including those its own parent holds. */
	q = pv->chain == CK_CHAIN_FLATTENED ? ck_repo_flat_entries(r, pv, &es, &n)
					    : ck_repo_entries(r, pv->vid, &es, &n);
	if (q < 0)
		goto out;
	/* Every chunk of the parent is known to be stored. */
	for (size_t i = 0; i < n; i++) {
		if (es[i].type != CK_ENTRY_FILE || !es[i].nchunks)
			continue;
		if (es[i].nchunks > cap) {
			free(ids);
			cap = (size_t)es[i].nchunks;
			ids = malloc(cap * sizeof(*ids));
			if (!ids) {
				q = -ENOMEM;
				goto out;
			}
		}
		q = ck_repo_entry_chunks(r, pv->vid, &es[i], 0,
					 (size_t)es[i].nchunks, ids);
		if (q == 0)
			q = ck_session_add_known(s, ids, (size_t)es[i].nchunks);
		if (q < 0)
			goto out;
	}
	/* Where each page of the parent lives, from its pagemaps. */
	for (size_t i = 0; i < n; i++) {
		struct placement pl;
		struct ck_entry pe;
		void *buf = NULL;

		if (es[i].type != CK_ENTRY_FILE ||
		    !has_prefix_suffix(base_name(es[i].path), "pagemap-",
				       ".img") ||
		    es[i].size > PAGEMAP_MAX)
			continue;
		buf = malloc(es[i].size ? es[i].size : 1);
		if (!buf) {
			q = -ENOMEM;
			break;
		}
		q = ck_file_read(r, pv->vid, &es[i], 0, buf, es[i].size);
		if (q >= 0)
			q = pagemap_placement(es[i].path, buf, (size_t)q,
					      r->settings.chunk_unit, &pl);
		free(buf);
		if (q < 0) {
			q = 0; /* a pagemap we cannot read: no bases */
			continue;
		}
		if (ck_repo_view_entry_get(r, pv->vid, es[i].view,
					   pl.pages_path, &pe) == 0 &&
		    pe.type == CK_ENTRY_FILE && pe.nchunks == pl.hint.n &&
		    pe.chunk_size == r->settings.chunk_unit &&
		    pe.nchunks <= cap) {
			q = ck_repo_entry_chunks(r, pv->vid, &pe, 0,
						 (size_t)pe.nchunks, ids);
			if (q == 0)
				q = ck_session_add_bases(s, &pl.hint, ids);
		}
		free(pl.vaddrs);
		if (q < 0)
			break;
	}
out:
	/* -ENOENT: the parent may have been deleted while we read it. */
	if (q == 0 || q == -ENOENT) {
		int h = ck_session_hold_known(s, pv);

		q = h < 0 ? h : h == 0 ? 0 : q;
	}
	free(ids);
	free(es);
	return q;
}

/* The version that deltas are computed against: the target of the
 * `parent` link if it is a version of this container, else the newest
 * complete version. */
static int find_parent(struct ck_repo *r, const char *container,
		       struct walk *w, struct ck_version *ret)
{
	for (size_t i = 0; i < w->t.n; i++) {
		char t[CK_PATH_MAX + 1];
		ssize_t k;
		char *b;

		if (strcmp(w->t.v[i].path, "parent") ||
		    !S_ISLNK(w->t.v[i].st.st_mode))
			continue;
		k = readlinkat(w->t.root_fd, "parent", t, sizeof(t) - 1);
		if (k <= 0)
			break;
		t[k] = 0;
		while (k > 1 && t[k - 1] == '/')
			t[--k] = 0;
		b = strrchr(t, '/');
		b = b ? b + 1 : t;
		if (ck_name_check(b) == 0 &&
		    ck_repo_version_find(r, container, b, ret) == 0)
			return 0;
		break;
	}
	return ck_repo_version_find(r, container, "latest", ret);
}

static void on_progress(void *ud, uint64_t done)
{
	struct walk *w = ud;

	if (w->o->progress)
		w->o->progress(w->o->progress_ud, done, w->t.total);
}

static const struct ck_walk_item *find_item(const struct walk *w, const char *path)
{
	for (size_t i = 0; i < w->t.n; i++)
		if (!strcmp(w->t.v[i].path, path))
			return &w->t.v[i];
	return NULL;
}

static int read_item(struct walk *w, const struct ck_walk_item *it, size_t max,
		     void **ret, size_t *ret_len)
{
	char p[64];
	int fd, q;

	fd = openat(w->t.root_fd, it->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	snprintf(p, sizeof(p), "/proc/self/fd/%d", fd);
	q = ck_read_file(p, max, ret, ret_len);
	close(fd);
	return q;
}

/*
 * Checks every CRIU image before anything is stored: framing of every
 * image with a known magic, the inventory, and each pagemap against the
 * size of its pages file. A directory that fails is refused whole.
 */
static int validate(struct walk *w)
{
	for (size_t i = 0; i < w->t.n; i++) {
		const struct ck_walk_item *it = &w->t.v[i];
		const char *b = base_name(it->path);
		void *buf = NULL;
		size_t len = 0;
		int kind, q = 0;

		if (!S_ISREG(it->st.st_mode) ||
		    !has_prefix_suffix(b, "", ".img") ||
		    has_prefix_suffix(b, "pages-", ".img"))
			continue;
		if (it->st.st_size > (off_t)PAGEMAP_MAX)
			continue; /* not an image CRIU writes this large */
		q = read_item(w, it, PAGEMAP_MAX, &buf, &len);
		if (q < 0)
			return set_err(w->o, it->path, q);
		kind = ck_criu_image_kind(buf, len);
		if (!strcmp(b, "inventory.img")) {
			struct ck_criu_inventory inv;

			q = ck_criu_inventory_parse(buf, len, &inv);
		} else if (has_prefix_suffix(b, "pagemap-", ".img")) {
			struct ck_criu_pagemap pm = CK_CRIU_PAGEMAP_INIT;
			char pages[CK_PATH_MAX + 1];
			const struct ck_walk_item *pi;

			q = ck_criu_pagemap_parse(buf, len, &pm);
			if (q == 0) {
				snprintf(pages, sizeof(pages),
					 "%.*spages-%" PRIu64 ".img",
					 (int)(b - it->path), it->path,
					 pm.pages_id);
				pi = find_item(w, pages);
				q = pi && S_ISREG(pi->st.st_mode)
					    ? ck_criu_pagemap_check_pages(
						      &pm,
						      (uint64_t)pi->st.st_size)
					    : -EBADMSG;
			}
			ck_criu_pagemap_release(&pm);
		} else if (kind != CK_CRIU_KIND_UNKNOWN) {
			q = ck_criu_records_check(buf, len, NULL);
		}
		free(buf);
		/* Absurd sizes and unknown flags are malformed input too. */
		if (q == -E2BIG || q == -EOPNOTSUPP)
			q = -EBADMSG;
		if (q < 0)
			return set_err(w->o, it->path, q);
	}
	return 0;
}

/* Dump or pre-dump, from the files beside the (first) pagemap. */
static int dir_kind(struct walk *w)
{
	const char **names = calloc(w->t.n ? w->t.n : 1, sizeof(*names));
	const char *dir = NULL;
	size_t dlen = 0, n = 0;
	int k;

	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < w->t.n && !dir; i++)
		if (has_prefix_suffix(base_name(w->t.v[i].path), "pagemap-",
				      ".img")) {
			dir = w->t.v[i].path;
			dlen = (size_t)(base_name(dir) - dir);
		}
	for (size_t i = 0; i < w->t.n; i++) {
		const char *p = w->t.v[i].path;

		if ((dir && strncmp(p, dir, dlen)) || strchr(p + dlen, '/'))
			continue;
		names[n++] = p + dlen;
	}
	k = ck_criu_dir_kind(names, n, NULL);
	free(names);
	return k == CK_CRIU_DIR_PREDUMP ? CK_KIND_PREDUMP : CK_KIND_DUMP;
}

static struct ck_file_meta item_meta(const struct ck_walk_item *it)
{
	struct ck_file_meta m = {
		.mode = it->st.st_mode & 07777,
		.uid = it->st.st_uid,
		.gid = it->st.st_gid,
		.mtime_ns = (int64_t)it->st.st_mtim.tv_sec * 1000000000 +
			    it->st.st_mtim.tv_nsec,
	};

	return m;
}

/* item_meta(), then the caller's override (ck_push_opts.meta). */
static int entry_meta(struct walk *w, const struct ck_walk_item *it,
		      struct ck_file_meta *m)
{
	*m = item_meta(it);
	return w->o->meta ? w->o->meta(w->o->meta_ud, it->path, m) : 0;
}

/* The version a `parent` link names, if it is one of this container. */
static int link_parent(struct ck_repo *r, const char *container,
		       struct walk *w, struct ck_version *ret)
{
	const struct ck_walk_item *it = find_item(w, "parent");
	char t[CK_PATH_MAX + 1];
	ssize_t k;
	char *b;

	if (!it || !S_ISLNK(it->st.st_mode))
		return -ENOENT;
	k = readlinkat(w->t.root_fd, "parent", t, sizeof(t) - 1);
	if (k <= 0)
		return -ENOENT;
	t[k] = 0;
	while (k > 1 && t[k - 1] == '/')
		t[--k] = 0;
	b = strrchr(t, '/');
	b = b ? b + 1 : t;
	if (ck_name_check(b) < 0)
		return -ENOENT;
	return ck_repo_version_find(r, container, b, ret);
}

static int push_once(struct ck_repo *r, const char *container,
		     const char *name, struct walk *w,
		     struct ck_version *ret)
{
	struct ck_session *s = NULL;
	struct placement *pls = NULL;
	size_t npl = 0;
	struct ck_version pv, lv;
	bool has_link_parent;
	enum ck_chain chain = CK_CHAIN_FULL;
	int q;

	q = ck_session_begin(r, container, name, &s);
	if (q < 0)
		return q;
	ck_session_set_progress(s, on_progress, w);
	if (w->o->complete >= 0)
		ck_session_set_complete(s, w->o->complete);
	q = dir_kind(w);
	if (q < 0)
		goto out;
	ck_session_set_kind(s, (enum ck_kind)q);
	has_link_parent = link_parent(r, container, w, &lv) == 0;
	if (find_parent(r, container, w, &pv) == 0) {
		q = load_parent(r, s, &pv);
		if (q < 0)
			goto out;
	}

	pls = calloc(w->t.n ? w->t.n : 1, sizeof(*pls));
	if (!pls) {
		q = -ENOMEM;
		goto out;
	}
	/* Pagemaps first: they place the pages of the pages files. */
	for (size_t i = 0; i < w->t.n; i++) {
		const struct ck_walk_item *it = &w->t.v[i];

		if (!S_ISREG(it->st.st_mode) ||
		    !has_prefix_suffix(base_name(it->path), "pagemap-",
				       ".img") ||
		    it->st.st_size > (off_t)PAGEMAP_MAX)
			continue;
		q = read_item(w, it, PAGEMAP_MAX, &pls[npl].pm_buf,
			      &pls[npl].pm_len);
		if (q < 0) {
			set_err(w->o, it->path, q);
			goto out;
		}
		pls[npl].item = it;
		q = pagemap_placement(it->path, pls[npl].pm_buf,
				      pls[npl].pm_len,
				      ck_repo_settings(r)->chunk_unit,
				      &pls[npl]);
		if (q < 0 && w->o->lenient) {
			/* Stored as an ordinary file, pages without bases. */
			free(pls[npl].pm_buf);
			memset(&pls[npl], 0, sizeof(pls[npl]));
			q = 0;
			continue;
		}
		npl++;
		if (q < 0) {
			set_err(w->o, it->path, q);
			goto out;
		}
	}

	for (size_t i = 0; i < w->t.n; i++) {
		const struct ck_walk_item *it = &w->t.v[i];
		struct ck_file_meta m;

		q = entry_meta(w, it, &m);
		if (q < 0) {
			set_err(w->o, it->path, q);
			goto out;
		}
		if (S_ISDIR(it->st.st_mode)) {
			q = ck_session_add_dir(s, it->path, &m);
		} else if (S_ISLNK(it->st.st_mode)) {
			char t[CK_PATH_MAX + 1];
			ssize_t k = readlinkat(w->t.root_fd, it->path, t,
					       sizeof(t) - 1);

			if (k < 0) {
				q = -errno;
			} else if (k == sizeof(t) - 1) {
				q = -ENAMETOOLONG;
			} else {
				t[k] = 0;
				q = ck_session_add_symlink(s, it->path, t, &m);
			}
		} else {
			const struct ck_page_hint *hint = NULL;
			bool pages = has_prefix_suffix(base_name(it->path),
						       "pages-", ".img");
			int fd;

			for (size_t j = 0; pages && j < npl; j++)
				if (!strcmp(pls[j].pages_path, it->path))
					hint = &pls[j].hint;
			fd = openat(w->t.root_fd, it->path,
				    O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0) {
				q = -errno;
			} else {
				q = ck_session_add_file_fd(
					s, it->path, fd,
					(uint64_t)it->st.st_size, pages, hint,
					&m);
				close(fd);
			}
		}
		if (q < 0) {
			set_err(w->o, it->path, q);
			goto out;
		}
	}

	/* Incremental dumps: a flattened view that stands on its own. */
	for (size_t j = 0; j < npl; j++) {
		const struct ck_walk_item *pg = find_item(w, pls[j].pages_path);
		struct ck_file_meta pm_meta, pg_meta;

		q = entry_meta(w, pls[j].item, &pm_meta);
		if (q == 0 && pg)
			q = entry_meta(w, pg, &pg_meta);
		else
			pg_meta = pm_meta;
		if (q < 0) {
			set_err(w->o, pls[j].item->path, q);
			goto out;
		}
		q = ck_flatten_pagemap(r, s, has_link_parent ? &lv : NULL,
				       pls[j].item->path, pls[j].pm_buf,
				       pls[j].pm_len, &pm_meta, &pg_meta);
		if (q == -ENOLINK || (q < 0 && w->o->lenient)) {
			chain = CK_CHAIN_BROKEN;
			continue;
		}
		if (q < 0) {
			set_err(w->o, pls[j].item->path, q);
			goto out;
		}
		if (q == 1 && chain == CK_CHAIN_FULL)
			chain = CK_CHAIN_FLATTENED;
	}
	ck_session_set_chain(s, chain);
	q = ck_session_commit(s, ret);
	w->o->delta_tried = s->enc.delta_tried;
	w->o->delta_used = s->enc.delta_used;
out:
	for (size_t i = 0; i < npl; i++) {
		free(pls[i].vaddrs);
		free(pls[i].pm_buf);
	}
	free(pls);
	ck_session_free(s);
	return q;
}

int ck_push_dir(struct ck_repo *r, const char *container, const char *src,
		struct ck_push_opts *o, struct ck_version *ret)
{
	struct walk w = { .t = { .root_fd = -1, .errpath = o->errpath },
			  .o = o };
	char name[CK_NAME_MAX + 1];
	struct stat st;
	int q;

	o->errpath[0] = 0;
	if (o->name) {
		if (strlen(o->name) > CK_NAME_MAX)
			return -EINVAL;
		strcpy(name, o->name);
	} else {
		/* Default name: the directory's own name. */
		char tmp[PATH_MAX];
		size_t n = strlen(src);
		const char *b;

		if (n >= sizeof(tmp))
			return -ENAMETOOLONG;
		memcpy(tmp, src, n + 1);
		while (n > 1 && tmp[n - 1] == '/')
			tmp[--n] = 0;
		b = base_name(tmp);
		if (strlen(b) > CK_NAME_MAX)
			return -EINVAL;
		strcpy(name, b);
	}
	q = ck_name_check(name);
	if (q < 0)
		return q;
	w.t.root_fd = open(src, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w.t.root_fd < 0)
		return set_err(o, src, -errno);
	if (fstat(w.t.root_fd, &st) < 0) {
		q = set_err(o, src, -errno);
		goto out;
	}
	q = ck_walk_dir(&w.t, "", 0);
	if (q < 0)
		goto out;
	q = validate(&w);
	if (q < 0 && o->lenient) {
		o->errpath[0] = 0;
		q = 0;
	}
	if (q < 0)
		goto out;
	/* A chunk this push reused was deleted by a concurrent gc before
	 * the commit: cannot happen while sessions hold what they reuse
	 * (docs/gc.md); a safety net, logged by the commit. */
	for (int i = 0; i < 5; i++) {
		q = push_once(r, container, name, &w, ret);
		if (q != -EAGAIN)
			break;
		usleep(50000u << i);
	}
out:
	free(w.t.v);
	close(w.t.root_fd);
	return q;
}

/* --- remote ingest (push.h) ------------------------------------------- */

int ck_push_placement(const char *pagemap_path, const void *buf, size_t len,
		      uint32_t unit, struct ck_push_placement *ret)
{
	struct placement pl;
	int q;

	if (ck_path_check(pagemap_path) < 0 || unit < CK_CRIU_PAGE_SIZE ||
	    unit % CK_CRIU_PAGE_SIZE)
		return -EINVAL;
	q = pagemap_placement(pagemap_path, buf, len, unit, &pl);
	if (q < 0)
		return q;
	memcpy(ret->pages_path, pl.pages_path, sizeof(ret->pages_path));
	ret->space = pl.hint.space;
	ret->vaddrs = pl.vaddrs;
	ret->n = pl.hint.n;
	return 0;
}

int ck_push_parent_find(struct ck_repo *r, const char *container,
			const char *link_target, struct ck_version *ret)
{
	char t[CK_PATH_MAX + 1];
	size_t k;
	char *b;

	if (link_target && *link_target &&
	    (k = strlen(link_target)) < sizeof(t)) {
		memcpy(t, link_target, k + 1);
		while (k > 1 && t[k - 1] == '/')
			t[--k] = 0;
		b = strrchr(t, '/');
		b = b ? b + 1 : t;
		if (ck_name_check(b) == 0 &&
		    ck_repo_version_find(r, container, b, ret) == 0)
			return 0;
	}
	return ck_repo_version_find(r, container, "latest", ret);
}

int ck_push_parent_load(struct ck_repo *r, struct ck_session *s,
			const struct ck_version *pv)
{
	return load_parent(r, s, pv);
}

const struct ck_id *ck_push_base_for(struct ck_session *s, uint64_t space,
				     uint64_t vaddr)
{
	return ck_session_base_for(s, space, vaddr);
}

/* The version the last component of a `parent` link's target names. */
static int link_target_version(struct ck_repo *r, const char *container,
			       const char *target, struct ck_version *ret)
{
	char t[CK_PATH_MAX + 1];
	size_t k;
	char *b;

	if (!target || !*target || (k = strlen(target)) >= sizeof(t))
		return -ENOENT;
	memcpy(t, target, k + 1);
	while (k > 1 && t[k - 1] == '/')
		t[--k] = 0;
	b = strrchr(t, '/');
	b = b ? b + 1 : t;
	if (ck_name_check(b) < 0)
		return -ENOENT;
	return ck_repo_version_find(r, container, b, ret);
}

int ck_push_finish(struct ck_repo *r, struct ck_session *s,
		   const char *container, const char *link_target,
		   const char *const *paths, size_t n,
		   const struct ck_push_pagemap *pms, size_t npms, bool lenient)
{
	const char **names = NULL;
	const char *dir = NULL;
	size_t dlen = 0, nn = 0;
	enum ck_chain chain = CK_CHAIN_FULL;
	struct ck_version lv;
	bool has_link;
	int k, q = 0;

	/* Kind: from the files beside the first pagemap, as dir_kind(). */
	names = calloc(n ? n : 1, sizeof(*names));
	if (!names)
		return -ENOMEM;
	for (size_t i = 0; i < n && !dir; i++)
		if (has_prefix_suffix(base_name(paths[i]), "pagemap-", ".img")) {
			dir = paths[i];
			dlen = (size_t)(base_name(dir) - dir);
		}
	for (size_t i = 0; i < n; i++) {
		const char *p = paths[i];

		if ((dir && strncmp(p, dir, dlen)) || strchr(p + dlen, '/'))
			continue;
		names[nn++] = p + dlen;
	}
	k = ck_criu_dir_kind(names, nn, NULL);
	free(names);
	ck_session_set_kind(s, k == CK_CRIU_DIR_PREDUMP ? CK_KIND_PREDUMP
							 : CK_KIND_DUMP);

	/* Incremental dumps: a flattened view that stands on its own. */
	has_link = link_target_version(r, container, link_target, &lv) == 0;
	for (size_t j = 0; j < npms; j++) {
		q = ck_flatten_pagemap(r, s, has_link ? &lv : NULL,
				       pms[j].path, pms[j].buf, pms[j].len,
				       &pms[j].meta, &pms[j].pages_meta);
		if (q == -ENOLINK || (q < 0 && lenient)) {
			chain = CK_CHAIN_BROKEN;
			q = 0;
			continue;
		}
		if (q < 0)
			return q;
		if (q == 1 && chain == CK_CHAIN_FULL)
			chain = CK_CHAIN_FLATTENED;
		q = 0;
	}
	ck_session_set_chain(s, chain);
	return 0;
}
