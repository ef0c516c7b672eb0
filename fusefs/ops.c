/* SPDX-License-Identifier: MIT */
/*
 * ops.c - the low-level FUSE operations. The only file that includes
 * fuse_lowlevel.h besides main.c; every operation replies exactly once,
 * with fuse_reply_err(req, -r) for a negative errno r.
 */
#define FUSE_USE_VERSION 314

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "compress.h"
#include "fs.h"
#include "log.h"
#include "mem.h"

/* A path below the spool's data directory: <ctr>/<name>/<path>. */
#define SPATH_MAX (2 * CK_NAME_MAX + CK_PATH_MAX + 8)

struct handle {
	int fd;			 /* spool file, or -1 (committed) */
	struct ckfs_ver *ver;	 /* counted */
	const struct ck_entry *e; /* committed: borrowed from ver->es */
	bool writer;		 /* counted in ver->writers */
	bool stats;		 /* the version's stats-dump */
};

struct dent {
	char *name;
	uint64_t ino;
	mode_t type;
};

struct dlist {
	struct dent *e;
	size_t n, cap;
};

static struct ckfs *fs_of(fuse_req_t req)
{
	return fuse_req_userdata(req);
}

/* Per worker thread: zstd's contexts (compress.h) and the buffer reads
 * are decoded into. FUSE worker threads come and go, so each frees both
 * on exit through this key. A buffer malloc()ed per read was mmap()ed
 * fresh and faulted in page by page (7 % of the CPU of a 1 MiB read). */
struct tl_state {
	void *rbuf;
	size_t rcap;
};

static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;
static struct tl_state tl_none; /* when calloc() failed: nothing kept */

static void tl_exit(void *p)
{
	struct tl_state *t = p;

	if (t != &tl_none) {
		free(t->rbuf);
		free(t);
	}
	ck_compress_thread_exit();
}

static void tl_make(void)
{
	(void)pthread_key_create(&tl_key, tl_exit);
}

static struct tl_state *tl_enter(void)
{
	struct tl_state *t;

	pthread_once(&tl_once, tl_make);
	t = pthread_getspecific(tl_key);
	if (!t) {
		t = calloc(1, sizeof(*t));
		if (!t)
			t = &tl_none;
		(void)pthread_setspecific(tl_key, t);
	}
	return t == &tl_none ? NULL : t;
}

/* This thread's read buffer of at least @size bytes, or NULL. */
static void *tl_read_buf(size_t size)
{
	struct tl_state *t = tl_enter();

	if (!t)
		return NULL;
	if (t->rcap < size) {
		void *nb = malloc(size);

		if (!nb)
			return NULL;
		free(t->rbuf);
		t->rbuf = nb;
		t->rcap = size;
	}
	return t->rbuf;
}

static bool spool_backed(const struct ckfs_ver *v)
{
	return v->state != CKFS_V_COMMITTED;
}

/* <ctr>/<name>[/<path>] of @v into @buf. */
static int spath(const struct ckfs_ver *v, const char *path, char *buf,
		 size_t cap)
{
	int k = snprintf(buf, cap, "%s/%s%s%s", v->ctr, v->name,
			 path[0] ? "/" : "", path);

	return k < 0 || (size_t)k >= cap ? -ENAMETOOLONG : 0;
}

static double ttl(const struct ckfs *fs, const struct ckfs_node *n)
{
	/* A version's name may go (gc); what is inside never changes. */
	if (n->kind == CKFS_ENT && !n->vroot &&
	    n->ver->state == CKFS_V_COMMITTED)
		return fs->o.ro_timeout;
	return fs->o.attr_timeout;
}

static void dir_stat(const struct ckfs *fs, uint64_t ino, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	st->st_mode = S_IFDIR | 0755;
	st->st_nlink = 2;
	st->st_size = 4096;
	st->st_mtim = fs->started;
	st->st_atim = fs->started;
	st->st_ctim = fs->started;
	st->st_blksize = 1 << 20;
}

/* Attributes of @n (path-based: @n must be hashed). */
static int node_stat(struct ckfs *fs, struct ckfs_node *n, struct stat *st)
{
	char path[CK_PATH_MAX + 1], sp[SPATH_MAX];
	struct ckfs_ver *v = n->ver;
	int q = 0;

	if (n->kind == CKFS_ROOT || n->kind == CKFS_FLATROOT) {
		dir_stat(fs, n->ino, st);
		return 0;
	}
	if (n->kind == CKFS_CTR) {
		dir_stat(fs, n->ino, st);
		if (!n->flat && fstatat(fs->data_fd, n->ctr, st,
					AT_SYMLINK_NOFOLLOW) == 0)
			st->st_ino = n->ino;
		return 0;
	}
	q = ckfs_node_path(fs, n, path, sizeof(path));
	if (q < 0)
		return q;
	pthread_rwlock_rdlock(&v->rw);
	if (spool_backed(v)) {
		q = spath(v, path, sp, sizeof(sp));
		if (q == 0 && fstatat(fs->data_fd, sp, st,
				      AT_SYMLINK_NOFOLLOW) < 0)
			q = -errno;
		st->st_ino = n->ino;
	} else if (n->vroot) {
		ckfs_ver_entry_stat(fs, v, NULL, n->ino, st);
	} else {
		const struct ck_entry *e = ckfs_ver_entry(v, path);

		if (e)
			ckfs_ver_entry_stat(fs, v, e, n->ino, st);
		else
			q = -ENOENT;
	}
	pthread_rwlock_unlock(&v->rw);
	return q;
}

/* 1 if container @ctr exists (in the view), 0 if not, or -errno when
 * the backend cannot say (e.g. -EIO: server unreachable). */
static int container_exists(struct ckfs *fs, const char *ctr, bool flat)
{
	struct ck_version *vs = NULL;
	size_t n = 0;
	int q;

	if (ck_name_check(ctr) < 0)
		return 0;
	if (!flat && ckfs_ctr_spooled(fs, ctr))
		return 1;
	q = fs->b->ops->versions(fs->b, ctr, &vs, &n);
	if (q == 0 && n > 0) {
		ckfs_known_add(fs, ctr, NULL);
		for (size_t i = 0; i < n; i++)
			ckfs_known_add(fs, ctr, vs[i].name);
	}
	free(vs);
	if (q == -EIO && !ckfs_known(fs, ctr, NULL))
		return 0; /* unreachable, and never heard of */
	return q < 0 ? q : n > 0;
}

/* Finds child @name of @p; on success *tmpl describes it (tmpl->ver is
 * counted: the caller puts it) and *st holds its attributes. */
static int resolve(struct ckfs *fs, struct ckfs_node *p, const char *name,
		   struct ckfs_node *tmpl, struct stat *st)
{
	char path[CK_PATH_MAX + 1], sp[SPATH_MAX];
	int q;

	memset(tmpl, 0, sizeof(*tmpl));
	switch (p->kind) {
	case CKFS_ROOT:
		if (!strcmp(name, CKFS_FLAT_NAME)) {
			tmpl->kind = CKFS_FLATROOT;
			dir_stat(fs, 0, st);
			return 0;
		}
		/* fall through */
	case CKFS_FLATROOT:
		q = container_exists(fs, name, p->kind == CKFS_FLATROOT);
		if (q <= 0)
			return q < 0 ? q : -ENOENT;
		tmpl->kind = CKFS_CTR;
		tmpl->flat = p->kind == CKFS_FLATROOT;
		snprintf(tmpl->ctr, sizeof(tmpl->ctr), "%s", name);
		tmpl->ino = 0;
		return node_stat(fs, tmpl, st);
	case CKFS_CTR:
		q = ckfs_ver_find(fs, p->ctr, name, p->flat, &tmpl->ver);
		if (q < 0)
			return q;
		tmpl->kind = CKFS_ENT;
		tmpl->vroot = true;
		pthread_rwlock_rdlock(&tmpl->ver->rw);
		if (spool_backed(tmpl->ver)) {
			q = spath(tmpl->ver, "", sp, sizeof(sp));
			if (q == 0 && fstatat(fs->data_fd, sp, st,
					      AT_SYMLINK_NOFOLLOW) < 0)
				q = -errno;
		} else {
			ckfs_ver_entry_stat(fs, tmpl->ver, NULL, 0, st);
		}
		pthread_rwlock_unlock(&tmpl->ver->rw);
		break;
	case CKFS_ENT:
		q = ckfs_node_child_path(fs, p, name, path, sizeof(path));
		if (q < 0)
			return q;
		tmpl->kind = CKFS_ENT;
		tmpl->ver = p->ver;
		ckfs_ver_get(fs, p->ver);
		pthread_rwlock_rdlock(&tmpl->ver->rw);
		if (spool_backed(tmpl->ver)) {
			q = spath(tmpl->ver, path, sp, sizeof(sp));
			if (q == 0 && fstatat(fs->data_fd, sp, st,
					      AT_SYMLINK_NOFOLLOW) < 0)
				q = -errno;
		} else {
			const struct ck_entry *e =
				ckfs_ver_entry(tmpl->ver, path);

			if (e)
				ckfs_ver_entry_stat(fs, tmpl->ver, e, 0, st);
			else
				q = -ENOENT;
		}
		pthread_rwlock_unlock(&tmpl->ver->rw);
		break;
	default:
		return -ENOENT;
	}
	if (q < 0) {
		ckfs_ver_put(fs, tmpl->ver);
		tmpl->ver = NULL;
	}
	return q;
}

/* Links the resolved child and replies with its entry. */
static void reply_entry(fuse_req_t req, struct ckfs_node *p, const char *name,
			struct ckfs_node *tmpl, struct stat *st,
			struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct fuse_entry_param e;
	struct ckfs_node *n;

	n = ckfs_node_link(fs, p, name, tmpl);
	ckfs_ver_put(fs, tmpl->ver);
	if (!n) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	memset(&e, 0, sizeof(e));
	e.ino = n->ino;
	e.attr = *st;
	e.attr.st_ino = n->ino;
	e.attr_timeout = ttl(fs, n);
	e.entry_timeout = e.attr_timeout;
	if (fi) {
		if (fuse_reply_create(req, &e, fi) == -ENOENT)
			ckfs_node_forget(fs, n->ino, 1);
	} else if (fuse_reply_entry(req, &e) == -ENOENT) {
		ckfs_node_forget(fs, n->ino, 1); /* interrupted */
	}
}

static void op_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *p = ckfs_node_get(fs, parent), tmpl;
	struct stat st;
	int q;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	q = resolve(fs, p, name, &tmpl, &st);
	if (q < 0)
		fuse_reply_err(req, -q);
	else
		reply_entry(req, p, name, &tmpl, &st, NULL);
	ckfs_node_put(fs, p);
}

static void op_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	ckfs_node_forget(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void op_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		ckfs_node_forget(fs_of(req), forgets[i].ino,
				 forgets[i].nlookup);
	fuse_reply_none(req);
}

static struct handle *handle_of(struct fuse_file_info *fi)
{
	return fi ? (struct handle *)(uintptr_t)fi->fh : NULL;
}

static void op_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *n = ckfs_node_get(fs, ino);
	struct handle *h = handle_of(fi);
	struct stat st;
	int q;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (h && h->fd >= 0) /* open, perhaps unlinked */
		q = fstat(h->fd, &st) < 0 ? -errno : 0;
	else
		q = node_stat(fs, n, &st);
	st.st_ino = ino;
	if (q < 0)
		fuse_reply_err(req, -q);
	else
		fuse_reply_attr(req, &st, ttl(fs, n));
	ckfs_node_put(fs, n);
}

/*
 * Write side. Every change below a version goes to its spool directory,
 * under ver->rw held shared, and only while the version is WRITING: a
 * sealed or committed version answers EROFS, as does /.flat. The root
 * and container directories hold only what mkdir makes there.
 */
static int begin_write(struct ckfs *fs, struct ckfs_node *n)
{
	if (n->kind != CKFS_ENT)
		return n->kind == CKFS_FLATROOT || n->flat ? -EROFS : -EPERM;
	pthread_rwlock_rdlock(&n->ver->rw);
	if (n->ver->state != CKFS_V_WRITING) {
		pthread_rwlock_unlock(&n->ver->rw);
		return n->ver->state == CKFS_V_FAILED &&
				       n->ver->commit_err == -ENOENT
			       ? -ENOENT
			       : -EROFS;
	}
	return 0;
}

static void end_write(struct ckfs *fs, struct ckfs_node *n)
{
	ckfs_ver_touch(fs, n->ver);
	pthread_rwlock_unlock(&n->ver->rw);
}

/* begin_write() and the spool path of @n (or of its child @name). */
static int begin_path(struct ckfs *fs, struct ckfs_node *n, const char *name,
		      char *sp)
{
	char path[CK_PATH_MAX + 1];
	int q;

	if (n->kind != CKFS_ENT)
		return n->kind == CKFS_FLATROOT || n->flat ? -EROFS : -EPERM;
	q = name ? ckfs_node_child_path(fs, n, name, path, sizeof(path))
		 : ckfs_node_path(fs, n, path, sizeof(path));
	if (q < 0)
		return q;
	if (name && strlen(name) > NAME_MAX)
		return -ENAMETOOLONG;
	q = begin_write(fs, n);
	if (q < 0)
		return q;
	q = spath(n->ver, path, sp, SPATH_MAX);
	if (q < 0)
		pthread_rwlock_unlock(&n->ver->rw);
	return q;
}

static void op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		       int to_set, struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *n = ckfs_node_get(fs, ino);
	struct handle *h = handle_of(fi);
	char sp[SPATH_MAX];
	struct stat st;
	int q;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	q = begin_path(fs, n, NULL, sp);
	if (q < 0)
		goto out;
	if (to_set & FUSE_SET_ATTR_MODE) {
		if (h && h->fd >= 0)
			q = fchmod(h->fd, attr->st_mode & 07777);
		else
			q = fchmodat(fs->data_fd, sp, attr->st_mode & 07777,
				     AT_SYMLINK_NOFOLLOW);
		if (q < 0)
			q = -errno;
	}
	if (q == 0 && (to_set & (FUSE_SET_ATTR_UID | FUSE_SET_ATTR_GID))) {
		uid_t u = to_set & FUSE_SET_ATTR_UID ? attr->st_uid
						     : (uid_t)-1;
		gid_t g = to_set & FUSE_SET_ATTR_GID ? attr->st_gid
						     : (gid_t)-1;

		if (fchownat(fs->data_fd, sp, u, g, AT_SYMLINK_NOFOLLOW) < 0)
			q = -errno;
	}
	if (q == 0 && (to_set & FUSE_SET_ATTR_SIZE)) {
		if (h && h->fd >= 0 && h->writer) {
			q = ftruncate(h->fd, attr->st_size) < 0 ? -errno : 0;
		} else {
			int fd = openat(fs->data_fd, sp,
					O_WRONLY | O_NOFOLLOW | O_CLOEXEC);

			if (fd < 0) {
				q = -errno;
			} else {
				if (ftruncate(fd, attr->st_size) < 0)
					q = -errno;
				close(fd);
			}
		}
	}
	if (q == 0 && (to_set & (FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME))) {
		struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };

		if (to_set & FUSE_SET_ATTR_ATIME_NOW)
			ts[0].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_ATIME)
			ts[0] = attr->st_atim;
		if (to_set & FUSE_SET_ATTR_MTIME_NOW)
			ts[1].tv_nsec = UTIME_NOW;
		else if (to_set & FUSE_SET_ATTR_MTIME)
			ts[1] = attr->st_mtim;
		if (utimensat(fs->data_fd, sp, ts, AT_SYMLINK_NOFOLLOW) < 0)
			q = -errno;
	}
	if (q == 0 && fstatat(fs->data_fd, sp, &st, AT_SYMLINK_NOFOLLOW) < 0)
		q = -errno;
	end_write(fs, n);
out:
	if (q < 0) {
		fuse_reply_err(req, -q);
	} else {
		st.st_ino = ino;
		fuse_reply_attr(req, &st, ttl(fs, n));
	}
	ckfs_node_put(fs, n);
}

static void op_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *n = ckfs_node_get(fs, ino);
	char path[CK_PATH_MAX + 1], sp[SPATH_MAX], t[PATH_MAX];
	int q;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind != CKFS_ENT) {
		q = -EINVAL;
		goto out;
	}
	q = ckfs_node_path(fs, n, path, sizeof(path));
	if (q < 0)
		goto out;
	pthread_rwlock_rdlock(&n->ver->rw);
	if (spool_backed(n->ver)) {
		ssize_t k;

		q = spath(n->ver, path, sp, sizeof(sp));
		if (q == 0) {
			k = readlinkat(fs->data_fd, sp, t, sizeof(t) - 1);
			if (k < 0)
				q = -errno;
			else
				t[k] = 0;
		}
	} else {
		const struct ck_entry *e = ckfs_ver_entry(n->ver, path);

		if (!e)
			q = -ENOENT;
		else if (e->type != CK_ENTRY_SYMLINK)
			q = -EINVAL;
		else
			snprintf(t, sizeof(t), "%s", e->target);
	}
	pthread_rwlock_unlock(&n->ver->rw);
out:
	if (q < 0)
		fuse_reply_err(req, -q);
	else
		fuse_reply_readlink(req, t);
	ckfs_node_put(fs, n);
}

/* After a change in the spool: the child's attributes, then the entry. */
static void reply_made(fuse_req_t req, struct ckfs_node *p, const char *name,
		       struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node tmpl;
	struct stat st;
	int q;

	q = resolve(fs, p, name, &tmpl, &st);
	if (q < 0)
		fuse_reply_err(req, -q);
	else
		reply_entry(req, p, name, &tmpl, &st, fi);
}

static void op_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct ckfs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ckfs_node *p = ckfs_node_get(fs, parent);
	struct ckfs_ver *v = NULL;
	char sp[SPATH_MAX];
	int q;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (fs->b->read_only && p->kind != CKFS_ENT) {
		q = -EROFS;
		goto out;
	}
	switch (p->kind) {
	case CKFS_ROOT:
		q = strcmp(name, CKFS_FLAT_NAME)
			    ? container_exists(fs, name, false)
			    : 1;
		/* Unreachable server: the dump goes to the spool. */
		if (q > 0)
			q = -EEXIST;
		else if (q == 0 || q == -EIO)
			q = ckfs_ctr_create(fs, name, mode);
		break;
	case CKFS_CTR:
		if (p->flat) {
			q = -EROFS;
			break;
		}
		q = ckfs_ver_create(fs, p->ctr, name, mode, ctx->uid,
				    ctx->gid, &v);
		ckfs_ver_put(fs, v);
		break;
	default:
		q = begin_path(fs, p, name, sp);
		if (q < 0)
			break;
		if (mkdirat(fs->data_fd, sp, mode & 07777) < 0)
			q = -errno;
		else
			(void)fchownat(fs->data_fd, sp, ctx->uid, ctx->gid,
				       AT_SYMLINK_NOFOLLOW);
		end_write(fs, p);
	}
out:
	if (q < 0)
		fuse_reply_err(req, -q);
	else
		reply_made(req, p, name, NULL);
	ckfs_node_put(fs, p);
}

static void op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, dev_t rdev)
{
	struct ckfs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ckfs_node *p = ckfs_node_get(fs, parent);
	char sp[SPATH_MAX];
	int q, fd;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	/* Image directories hold files, directories and symlinks only. */
	q = S_ISREG(mode) ? begin_path(fs, p, name, sp) : -EPERM;
	if (q == 0) {
		fd = openat(fs->data_fd, sp,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW |
				    O_CLOEXEC,
			    mode & 07777);
		if (fd < 0) {
			q = -errno;
		} else {
			(void)fchown(fd, ctx->uid, ctx->gid);
			close(fd);
		}
		end_write(fs, p);
	}
	(void)rdev;
	if (q < 0)
		fuse_reply_err(req, -q);
	else
		reply_made(req, p, name, NULL);
	ckfs_node_put(fs, p);
}

static void op_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct ckfs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ckfs_node *p = ckfs_node_get(fs, parent);
	char sp[SPATH_MAX];
	int q;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	q = strlen(link) > CK_PATH_MAX ? -ENAMETOOLONG
				       : begin_path(fs, p, name, sp);
	if (q == 0) {
		if (symlinkat(link, fs->data_fd, sp) < 0)
			q = -errno;
		else
			(void)fchownat(fs->data_fd, sp, ctx->uid, ctx->gid,
				       AT_SYMLINK_NOFOLLOW);
		end_write(fs, p);
	}
	if (q < 0)
		fuse_reply_err(req, -q);
	else
		reply_made(req, p, name, NULL);
	ckfs_node_put(fs, p);
}

static void op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *p = ckfs_node_get(fs, parent);
	char sp[SPATH_MAX];
	int q;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (p->kind == CKFS_ROOT || (p->kind == CKFS_CTR && !p->flat))
		q = -EISDIR; /* only directories live there */
	else
		q = begin_path(fs, p, name, sp);
	if (q == 0) {
		if (unlinkat(fs->data_fd, sp, 0) < 0)
			q = -errno;
		else
			ckfs_node_unhash(fs, p, name);
		end_write(fs, p);
	}
	fuse_reply_err(req, -q);
	ckfs_node_put(fs, p);
}

static void op_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *p = ckfs_node_get(fs, parent);
	struct ckfs_ver *v = NULL;
	char sp[SPATH_MAX];
	int q;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	switch (p->kind) {
	case CKFS_ROOT:
		q = strcmp(name, CKFS_FLAT_NAME)
			    ? container_exists(fs, name, false)
			    : -EBUSY;
		if (q == 0)
			q = -ENOENT;
		else if (q > 0)
			q = ckfs_ctr_remove(fs, name);
		break;
	case CKFS_CTR:
		if (p->flat) {
			q = -EROFS;
			break;
		}
		/* Only a version still being written can be removed here
		 * (an abandoned dump cleaned up by its writer). */
		q = ckfs_ver_find(fs, p->ctr, name, false, &v);
		if (q == 0)
			q = ckfs_ver_remove(fs, v);
		ckfs_ver_put(fs, v);
		break;
	default:
		q = begin_path(fs, p, name, sp);
		if (q < 0)
			break;
		if (unlinkat(fs->data_fd, sp, AT_REMOVEDIR) < 0)
			q = -errno;
		end_write(fs, p);
	}
	if (q == 0)
		ckfs_node_unhash(fs, p, name);
	fuse_reply_err(req, -q);
	ckfs_node_put(fs, p);
}

static void op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		      fuse_ino_t newparent, const char *newname,
		      unsigned int flags)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *p = ckfs_node_get(fs, parent);
	struct ckfs_node *np = ckfs_node_get(fs, newparent);
	char from[SPATH_MAX], to[SPATH_MAX], path[CK_PATH_MAX + 1];
	int q;

	if (!p || !np) {
		q = -ESTALE;
		goto out;
	}
	if (p->kind != CKFS_ENT || np->kind != CKFS_ENT) {
		/* Versions and containers are not renamed in place: mv
		 * copies (a new version) and removes. */
		q = p->flat || np->flat || p->kind == CKFS_FLATROOT ||
				    np->kind == CKFS_FLATROOT
			    ? -EROFS
			    : -EXDEV;
		goto out;
	}
	if (p->ver != np->ver) {
		q = -EXDEV;
		goto out;
	}
	if (strlen(newname) > NAME_MAX) {
		q = -ENAMETOOLONG;
		goto out;
	}
	q = ckfs_node_child_path(fs, np, newname, path, sizeof(path));
	if (q == 0)
		q = spath(np->ver, path, to, sizeof(to));
	if (q < 0)
		goto out;
	q = begin_path(fs, p, name, from);
	if (q < 0)
		goto out;
	if (renameat2(fs->data_fd, from, fs->data_fd, to, flags) < 0)
		q = -errno;
	else
		q = ckfs_node_move(fs, p, name, np, newname);
	end_write(fs, p);
	if (q == 0 && np->vroot && !strcmp(newname, CKFS_STATS_DUMP))
		ckfs_ver_stats_renamed(fs, np->ver);
out:
	fuse_reply_err(req, -q);
	ckfs_node_put(fs, p);
	ckfs_node_put(fs, np);
}

static void op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		    const char *newname)
{
	fuse_reply_err(req, EPERM); /* no hard links in an image directory */
}

/* --- files ------------------------------------------------------------- */

static bool is_stats(const struct ckfs_node *p, const char *name)
{
	return p->kind == CKFS_ENT && p->vroot &&
	       !strcmp(name, CKFS_STATS_DUMP);
}

static int open_spool(struct ckfs *fs, struct ckfs_node *n, const char *sp,
		      int flags, mode_t mode, bool create, struct handle *h)
{
	bool wr = (flags & O_ACCMODE) != O_RDONLY || (flags & O_TRUNC);
	int q = 0;

	/* The kernel gives every write its offset, so O_APPEND must not
	 * reach the spool file (pwrite would ignore the offset). */
	flags &= ~(O_CREAT | O_EXCL | O_NOCTTY | O_APPEND);
	flags |= O_CLOEXEC | O_NOFOLLOW;
	if (create)
		flags |= O_CREAT | O_EXCL;
	if (wr) {
		q = ckfs_ver_writer_open(fs, n->ver);
		if (q < 0)
			return q;
	}
	h->fd = openat(fs->data_fd, sp, flags, mode & 07777);
	if (h->fd < 0) {
		q = -errno;
		if (wr)
			ckfs_ver_writer_close(fs, n->ver, false);
		return q;
	}
	h->writer = wr;
	return 0;
}

static void op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	const struct fuse_ctx *ctx = fuse_req_ctx(req);
	struct ckfs_node *p = ckfs_node_get(fs, parent), tmpl;
	struct handle *h = NULL;
	char sp[SPATH_MAX];
	struct stat st;
	int q;

	if (!p) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	h = calloc(1, sizeof(*h));
	if (!h) {
		q = -ENOMEM;
		goto out;
	}
	h->fd = -1;
	q = begin_path(fs, p, name, sp);
	if (q < 0)
		goto out;
	q = open_spool(fs, p, sp, fi->flags, mode, true, h);
	if (q == 0) {
		(void)fchown(h->fd, ctx->uid, ctx->gid);
		h->ver = p->ver;
		h->stats = is_stats(p, name);
		ckfs_ver_get(fs, h->ver);
	}
	end_write(fs, p);
	if (q < 0)
		goto out;
	q = resolve(fs, p, name, &tmpl, &st);
	if (q < 0) {
		close(h->fd);
		ckfs_ver_writer_close(fs, h->ver, false);
		ckfs_ver_put(fs, h->ver);
		goto out;
	}
	fi->fh = (uintptr_t)h;
	h = NULL;
	reply_entry(req, p, name, &tmpl, &st, fi);
out:
	if (q < 0)
		fuse_reply_err(req, -q);
	free(h);
	ckfs_node_put(fs, p);
}

static void op_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *n = ckfs_node_get(fs, ino);
	char path[CK_PATH_MAX + 1], sp[SPATH_MAX];
	bool wr = (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
	struct handle *h = NULL;
	int q;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind != CKFS_ENT) {
		q = -EISDIR;
		goto out;
	}
	q = ckfs_node_path(fs, n, path, sizeof(path));
	if (q < 0)
		goto out;
	h = calloc(1, sizeof(*h));
	if (!h) {
		q = -ENOMEM;
		goto out;
	}
	h->fd = -1;
	pthread_rwlock_rdlock(&n->ver->rw);
	if (spool_backed(n->ver)) {
		q = spath(n->ver, path, sp, sizeof(sp));
		if (q == 0)
			q = open_spool(fs, n, sp, fi->flags, 0, false, h);
		h->stats = !strcmp(path, CKFS_STATS_DUMP);
	} else if (wr) {
		q = -EROFS;
	} else {
		h->e = ckfs_ver_entry(n->ver, path);
		if (!h->e)
			q = -ENOENT;
		else if (h->e->type != CK_ENTRY_FILE)
			q = -EISDIR;
		/* Immutable: what the kernel cached stays true. */
		fi->keep_cache = 1;
	}
	pthread_rwlock_unlock(&n->ver->rw);
	if (q < 0)
		goto out;
	h->ver = n->ver;
	ckfs_ver_get(fs, h->ver);
	fi->fh = (uintptr_t)h;
	h = NULL;
	if (fuse_reply_open(req, fi) == -ENOENT) {
		/* interrupted: the kernel will not release it */
		h = handle_of(fi);
		if (h->fd >= 0)
			close(h->fd);
		if (h->writer)
			ckfs_ver_writer_close(fs, h->ver, false);
		ckfs_ver_put(fs, h->ver);
		free(h);
		h = NULL;
	}
out:
	if (q < 0)
		fuse_reply_err(req, -q);
	free(h);
	ckfs_node_put(fs, n);
}

static void op_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct handle *h = handle_of(fi);
	void *buf;
	int q;

	if (h->fd >= 0) {
		struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

		bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
		bv.buf[0].fd = h->fd;
		bv.buf[0].pos = off;
		fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
		return;
	}
	buf = tl_read_buf(size ? size : 1);
	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	q = fs->b->ops->read(fs->b, &h->ver->v, h->e, (uint64_t)off, buf,
			     size);
	if (q < 0) {
		ck_log_debug("read '%s/%s' %s at %lld: %s", h->ver->ctr,
			     h->ver->name, h->e->path, (long long)off,
			     strerror(-q));
		/* Stored bytes that fail verification are an I/O error to
		 * a POSIX reader. */
		fuse_reply_err(req, q == -EBADMSG ? EIO : -q);
	} else {
		fuse_reply_buf(req, buf, (size_t)q);
	}
}

static void op_write_buf(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_bufvec *in, off_t off,
			 struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct handle *h = handle_of(fi);
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	ssize_t k;

	if (h->fd < 0 || !h->writer) {
		fuse_reply_err(req, EBADF);
		return;
	}
	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = h->fd;
	out.buf[0].pos = off;
	k = fuse_buf_copy(&out, in, 0);
	ckfs_ver_touch(fs, h->ver);
	if (k < 0)
		fuse_reply_err(req, (int)-k);
	else
		fuse_reply_write(req, (size_t)k);
}

static void op_flush(fuse_req_t req, fuse_ino_t ino,
		     struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);

	if (h->writer && h->stats)
		ckfs_ver_stats_flushed(fs_of(req), h->ver);
	fuse_reply_err(req, 0);
}

static void op_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct handle *h = handle_of(fi);

	if (h->fd >= 0)
		close(h->fd);
	if (h->writer)
		ckfs_ver_writer_close(fs, h->ver, h->stats);
	ckfs_ver_put(fs, h->ver);
	free(h);
	fuse_reply_err(req, 0);
}

static void op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		     struct fuse_file_info *fi)
{
	struct handle *h = handle_of(fi);
	int q = 0;

	if (h->fd >= 0 &&
	    (datasync ? fdatasync(h->fd) : fsync(h->fd)) < 0)
		q = -errno;
	fuse_reply_err(req, -q);
}

static void op_fallocate(fuse_req_t req, fuse_ino_t ino, int mode,
			 off_t off, off_t len, struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct handle *h = handle_of(fi);
	int q = 0;

	/* Punching holes in a spool file works (criu --auto-dedup on the
	 * version being written); a sealed version has no write handle. */
	if (h->fd < 0 || !h->writer)
		q = h->fd < 0 ? -EROFS : -EBADF;
	else if (fallocate(h->fd, mode, off, len) < 0)
		q = -errno;
	if (h->fd >= 0)
		ckfs_ver_touch(fs, h->ver);
	fuse_reply_err(req, -q);
}

/* --- directories ------------------------------------------------------- */

static int dl_add(struct dlist *d, const char *name, uint64_t ino,
		  mode_t type)
{
	for (size_t i = 0; i < d->n; i++)
		if (!strcmp(d->e[i].name, name))
			return 0;
	if (CK_GROW(d->e, d->n, d->cap, 32) < 0)
		return -ENOMEM;
	d->e[d->n].name = strdup(name);
	if (!d->e[d->n].name)
		return -ENOMEM;
	d->e[d->n].ino = ino;
	d->e[d->n].type = type;
	d->n++;
	return 0;
}

static void dl_free(struct dlist *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->n; i++)
		free(d->e[i].name);
	free(d->e);
	free(d);
}

static int list_containers(struct ckfs *fs, struct dlist *d, bool flat)
{
	char(*cs)[CK_NAME_MAX + 1] = NULL;
	size_t n = 0;
	int q;

	q = fs->b->ops->containers(fs->b, &cs, &n);
	for (size_t i = 0; q == 0 && i < n; i++) {
		ckfs_known_add(fs, cs[i], NULL);
		q = dl_add(d, cs[i], 0, S_IFDIR);
	}
	free(cs);
	if (q == 0 && !flat) {
		int fd = openat(fs->data_fd, ".", O_RDONLY | O_DIRECTORY |
							   O_CLOEXEC);
		DIR *dd = fd >= 0 ? fdopendir(fd) : NULL;
		struct dirent *de;

		if (!dd) {
			if (fd >= 0)
				close(fd);
			return -EIO;
		}
		while (q == 0 && (de = readdir(dd)))
			if (de->d_name[0] != '.' &&
			    ck_name_check(de->d_name) == 0)
				q = dl_add(d, de->d_name, 0, S_IFDIR);
		closedir(dd);
	}
	return q;
}

static int list_versions(struct ckfs *fs, struct dlist *d, const char *ctr,
			 bool flat)
{
	struct ck_version *vs = NULL;
	size_t n = 0;
	int q;

	q = fs->b->ops->versions(fs->b, ctr, &vs, &n);
	for (size_t i = 0; q == 0 && i < n; i++) {
		ckfs_known_add(fs, ctr, vs[i].name);
		if (!flat || vs[i].chain != CK_CHAIN_BROKEN)
			q = dl_add(d, vs[i].name, 0, S_IFDIR);
	}
	free(vs);
	if (q < 0 || flat)
		return q;
	pthread_mutex_lock(&fs->lock);
	for (struct ckfs_ver *v = fs->vers; q == 0 && v; v = v->next)
		if (!v->flat && v->state != CKFS_V_COMMITTED &&
		    !strcmp(v->ctr, ctr))
			q = dl_add(d, v->name, 0, S_IFDIR);
	pthread_mutex_unlock(&fs->lock);
	return q;
}

static int list_entry(struct ckfs *fs, struct ckfs_node *n, struct dlist *d)
{
	char path[CK_PATH_MAX + 1], sp[SPATH_MAX];
	struct ckfs_ver *v = n->ver;
	int q;

	q = ckfs_node_path(fs, n, path, sizeof(path));
	if (q < 0)
		return q;
	pthread_rwlock_rdlock(&v->rw);
	if (spool_backed(v)) {
		int fd = -1;
		DIR *dd = NULL;
		struct dirent *de;

		q = spath(v, path, sp, sizeof(sp));
		if (q == 0) {
			fd = openat(fs->data_fd, sp,
				    O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					    O_CLOEXEC);
			if (fd < 0)
				q = -errno;
		}
		if (q == 0) {
			dd = fdopendir(fd);
			if (!dd) {
				close(fd);
				q = -ENOMEM;
			}
		}
		while (q == 0 && (de = readdir(dd)))
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				q = dl_add(d, de->d_name, 0,
					   (mode_t)DTTOIF(de->d_type));
		if (dd)
			closedir(dd);
	} else {
		size_t plen = strlen(path);

		/* Sorted by path: the children of "a" follow "a/". */
		for (size_t i = 0; q == 0 && i < v->n; i++) {
			const struct ck_entry *e = &v->es[i];
			const char *rest;

			if (plen && (strncmp(e->path, path, plen) ||
				     e->path[plen] != '/'))
				continue;
			rest = e->path + (plen ? plen + 1 : 0);
			if (strchr(rest, '/'))
				continue;
			q = dl_add(d, rest, 0,
				   e->type == CK_ENTRY_DIR	   ? S_IFDIR
				   : e->type == CK_ENTRY_SYMLINK ? S_IFLNK
								 : S_IFREG);
		}
	}
	pthread_rwlock_unlock(&v->rw);
	return q;
}

static void op_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *n = ckfs_node_get(fs, ino);
	struct dlist *d;
	int q = 0;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		q = -ENOMEM;
		goto out;
	}
	q = dl_add(d, ".", n->ino, S_IFDIR);
	if (q == 0)
		q = dl_add(d, "..", n->parent ? n->parent->ino : 1, S_IFDIR);
	if (q < 0)
		goto out;
	switch (n->kind) {
	case CKFS_ROOT:
		q = dl_add(d, CKFS_FLAT_NAME, 0, S_IFDIR);
		if (q == 0)
			q = list_containers(fs, d, false);
		break;
	case CKFS_FLATROOT:
		q = list_containers(fs, d, true);
		break;
	case CKFS_CTR:
		q = list_versions(fs, d, n->ctr, n->flat);
		break;
	default:
		q = list_entry(fs, n, d);
	}
	if (q < 0)
		goto out;
	fi->fh = (uintptr_t)d;
	d = NULL;
	if (fuse_reply_open(req, fi) == -ENOENT)
		dl_free((struct dlist *)(uintptr_t)fi->fh);
out:
	if (q < 0)
		fuse_reply_err(req, -q);
	dl_free(d);
	ckfs_node_put(fs, n);
}

static void op_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	struct dlist *d = (struct dlist *)(uintptr_t)fi->fh;
	char *buf = malloc(size ? size : 1);
	size_t used = 0;

	if (!buf) {
		fuse_reply_err(req, ENOMEM);
		return;
	}
	for (size_t i = (size_t)off; i < d->n; i++) {
		struct stat st = { 0 };
		size_t k;

		/* d_ino: a stable stand-in; lookup gives the real one. */
		st.st_ino = d->e[i].ino ? d->e[i].ino : (uint64_t)1 << 62 | i;
		st.st_mode = d->e[i].type;
		k = fuse_add_direntry(req, buf + used, size - used,
				      d->e[i].name, &st, (off_t)(i + 1));
		if (k > size - used)
			break;
		used += k;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void op_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	dl_free((struct dlist *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void op_fsyncdir(fuse_req_t req, fuse_ino_t ino, int datasync,
			struct fuse_file_info *fi)
{
	struct ckfs *fs = fs_of(req);
	struct ckfs_node *n = ckfs_node_get(fs, ino);
	char path[CK_PATH_MAX + 1], sp[SPATH_MAX];
	int q = 0;

	if (!n) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (n->kind == CKFS_ENT) {
		/* A finished dump is durable once it is in the repository:
		 * fsync of its directory waits for the commit. */
		q = ckfs_ver_wait(fs, n->ver);
		if (q == 0)
			q = ckfs_node_path(fs, n, path, sizeof(path));
		if (q == 0) {
			pthread_rwlock_rdlock(&n->ver->rw);
			if (n->ver->state == CKFS_V_WRITING &&
			    spath(n->ver, path, sp, sizeof(sp)) == 0) {
				int fd = openat(fs->data_fd, sp,
						O_RDONLY | O_DIRECTORY |
							O_CLOEXEC);

				if (fd < 0 || fsync(fd) < 0)
					q = -errno;
				if (fd >= 0)
					close(fd);
			}
			pthread_rwlock_unlock(&n->ver->rw);
		}
	}
	fuse_reply_err(req, -q);
	ckfs_node_put(fs, n);
}

static void op_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct ckfs *fs = fs_of(req);
	struct statvfs sv;

	/* What is written lands in the spool first: its free space is
	 * what a writer can count on. */
	if (fstatvfs(fs->spool_fd, &sv) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	sv.f_namemax = NAME_MAX;
	fuse_reply_statfs(req, &sv);
}

static void op_init(void *userdata, struct fuse_conn_info *conn)
{
	struct ckfs *fs = userdata;

	/* Large requests: 1 MiB writes and reads (the kernel's max_pages),
	 * splice both ways. */
	if (conn->capable & FUSE_CAP_SPLICE_WRITE)
		conn->want |= FUSE_CAP_SPLICE_WRITE;
	if (conn->capable & FUSE_CAP_SPLICE_MOVE)
		conn->want |= FUSE_CAP_SPLICE_MOVE;
	if (conn->capable & FUSE_CAP_ASYNC_READ)
		conn->want |= FUSE_CAP_ASYNC_READ;
	conn->want &= ~(unsigned)FUSE_CAP_WRITEBACK_CACHE;
	conn->max_write = 1u << 20;
	/* Must equal the max_read mount option (main.c passes it). */
	conn->max_read = fs->o.max_read;
}

const struct fuse_lowlevel_ops ckfs_ops = {
	.init = op_init,
	.lookup = op_lookup,
	.forget = op_forget,
	.forget_multi = op_forget_multi,
	.getattr = op_getattr,
	.setattr = op_setattr,
	.readlink = op_readlink,
	.mknod = op_mknod,
	.mkdir = op_mkdir,
	.symlink = op_symlink,
	.unlink = op_unlink,
	.rmdir = op_rmdir,
	.rename = op_rename,
	.link = op_link,
	.create = op_create,
	.open = op_open,
	.read = op_read,
	.write_buf = op_write_buf,
	.flush = op_flush,
	.release = op_release,
	.fsync = op_fsync,
	.fallocate = op_fallocate,
	.opendir = op_opendir,
	.readdir = op_readdir,
	.releasedir = op_releasedir,
	.fsyncdir = op_fsyncdir,
	.statfs = op_statfs,
};
