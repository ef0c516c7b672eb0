/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "compress.h"
#include "fs.h"
#include "log.h"

#define IDLE_POLL_MS 500

int64_t ckfs_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Removes @name under @dirfd and everything below it. */
static int rm_tree(int at, const char *name, int depth)
{
	struct dirent *de;
	DIR *d;
	int fd, q = 0;

	if (unlinkat(at, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return -errno;
	if (depth > 64)
		return -ELOOP;
	fd = openat(at, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		q = rm_tree(fd, de->d_name, depth + 1);
		if (q < 0)
			break;
	}
	closedir(d);
	if (q == 0 && unlinkat(at, name, AT_REMOVEDIR) < 0)
		q = -errno;
	return q;
}

static struct ckfs_ver *ver_alloc(const char *ctr, const char *name,
				  bool flat)
{
	struct ckfs_ver *v = calloc(1, sizeof(*v));

	if (!v)
		return NULL;
	snprintf(v->ctr, sizeof(v->ctr), "%s", ctr);
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->flat = flat;
	v->spool_fd = -1;
	pthread_rwlock_init(&v->rw, NULL);
	return v;
}

static void ver_free(struct ckfs_ver *v)
{
	if (v->spool_fd >= 0)
		close(v->spool_fd);
	free(v->spool_path);
	free(v->es);
	pthread_rwlock_destroy(&v->rw);
	free(v);
}

static void unlist(struct ckfs *fs, struct ckfs_ver *v)
{
	struct ckfs_ver **pp = &fs->vers;

	while (*pp && *pp != v)
		pp = &(*pp)->next;
	if (*pp)
		*pp = v->next;
	v->next = NULL;
}

void ckfs_ver_put_locked(struct ckfs *fs, struct ckfs_ver *v)
{
	if (--v->refs > 0)
		return;
	unlist(fs, v);
	ver_free(v);
}

void ckfs_ver_put(struct ckfs *fs, struct ckfs_ver *v)
{
	if (!v)
		return;
	pthread_mutex_lock(&fs->lock);
	ckfs_ver_put_locked(fs, v);
	pthread_mutex_unlock(&fs->lock);
}

void ckfs_ver_get(struct ckfs *fs, struct ckfs_ver *v)
{
	pthread_mutex_lock(&fs->lock);
	v->refs++;
	pthread_mutex_unlock(&fs->lock);
}

static struct ckfs_ver *find_listed(struct ckfs *fs, const char *ctr,
				    const char *name, bool flat)
{
	for (struct ckfs_ver *v = fs->vers; v; v = v->next)
		if (v->flat == flat && !strcmp(v->ctr, ctr) &&
		    !strcmp(v->name, name))
			return v;
	return NULL;
}

int ckfs_ver_find(struct ckfs *fs, const char *ctr, const char *name,
		  bool flat, struct ckfs_ver **ret)
{
	struct ckfs_ver *v, *w;
	int q;

	pthread_mutex_lock(&fs->lock);
	v = find_listed(fs, ctr, name, flat);
	if (v)
		v->refs++;
	pthread_mutex_unlock(&fs->lock);
	if (v) {
		*ret = v;
		return 0;
	}
	if (ck_name_check(ctr) < 0 || ck_name_check(name) < 0)
		return -ENOENT;
	v = ver_alloc(ctr, name, flat);
	if (!v)
		return -ENOMEM;
	q = ck_backend_version_get(fs->b, ctr, name, &v->v);
	if (q == 0 && flat && v->v.chain == CK_CHAIN_BROKEN)
		q = -ENOENT; /* nothing to flatten against */
	if (q == 0)
		q = fs->b->ops->entries(fs->b, &v->v, flat, &v->es, &v->n);
	if (q == -ENOLINK)
		q = -ENOENT;
	if (q == -EIO && !ckfs_known(fs, ctr, name))
		q = -ENOENT; /* unreachable, and never heard of */
	if (q < 0) {
		ver_free(v);
		return q;
	}
	v->state = CKFS_V_COMMITTED;
	v->refs = 1;
	ckfs_known_add(fs, ctr, name);
	pthread_mutex_lock(&fs->lock);
	w = find_listed(fs, ctr, name, flat);
	if (w) { /* another thread was faster */
		w->refs++;
		pthread_mutex_unlock(&fs->lock);
		ver_free(v);
		*ret = w;
		return 0;
	}
	v->next = fs->vers;
	fs->vers = v;
	pthread_mutex_unlock(&fs->lock);
	*ret = v;
	return 0;
}

bool ckfs_ver_writing(struct ckfs *fs, const char *ctr, const char *name)
{
	struct ckfs_ver *v;
	bool r;

	pthread_mutex_lock(&fs->lock);
	v = find_listed(fs, ctr, name, false);
	r = v && v->state != CKFS_V_COMMITTED;
	pthread_mutex_unlock(&fs->lock);
	return r;
}

const struct ck_entry *ckfs_ver_entry(const struct ckfs_ver *v,
				      const char *path)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(v->es[mid].path, path);

		if (c == 0)
			return &v->es[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

void ckfs_ver_entry_stat(const struct ckfs *fs, const struct ckfs_ver *v,
			 const struct ck_entry *e, uint64_t ino,
			 struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_ino = ino;
	if (!e) { /* the version directory */
		if (v->root_st.st_mode) {
			*st = v->root_st;
			st->st_ino = ino;
			st->st_nlink = 2;
			return;
		}
		st->st_mode = S_IFDIR | 0755;
		st->st_nlink = 2;
		st->st_size = 4096; /* what a local directory shows */
		st->st_mtim.tv_sec = v->v.created_ns / 1000000000;
		st->st_mtim.tv_nsec = v->v.created_ns % 1000000000;
	} else {
		st->st_mode = (e->type == CK_ENTRY_DIR	   ? S_IFDIR
			       : e->type == CK_ENTRY_SYMLINK ? S_IFLNK
							     : S_IFREG) |
			      (e->mode & 07777);
		st->st_nlink = e->type == CK_ENTRY_DIR ? 2 : 1;
		st->st_uid = e->uid;
		st->st_gid = e->gid;
		st->st_size = e->type == CK_ENTRY_DIR ? 4096 : (off_t)e->size;
		st->st_mtim.tv_sec = e->mtime_ns / 1000000000;
		st->st_mtim.tv_nsec = e->mtime_ns % 1000000000;
	}
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_blksize = 1 << 20;
	st->st_atim = st->st_mtim;
	st->st_ctim = st->st_mtim;
	(void)fs;
}

/* --- names the backend listed ------------------------------------------ */

static size_t known_bucket(const char *ctr, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (; *ctr; ctr++)
		h = (h ^ (uint8_t)*ctr) * 0x100000001b3ULL;
	h = (h ^ '/') * 0x100000001b3ULL;
	for (; name && *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ULL;
	return (size_t)(h % CKFS_KNOWN_BUCKETS);
}

static bool known_locked(struct ckfs *fs, const char *key, size_t b)
{
	for (struct ckfs_known *k = fs->known[b]; k; k = k->next)
		if (!strcmp(k->name, key))
			return true;
	return false;
}

static void known_key(const char *ctr, const char *name, char *key)
{
	snprintf(key, 2 * CK_NAME_MAX + 2, "%s%s%s", ctr, name ? "/" : "",
		 name ? name : "");
}

void ckfs_known_add(struct ckfs *fs, const char *ctr, const char *name)
{
	char key[2 * CK_NAME_MAX + 2];
	size_t b = known_bucket(ctr, name);
	struct ckfs_known *k;

	known_key(ctr, name, key);
	pthread_mutex_lock(&fs->lock);
	if (!known_locked(fs, key, b) && fs->nknown < CKFS_KNOWN_MAX) {
		k = malloc(sizeof(*k) + strlen(key) + 1);
		if (k) {
			strcpy(k->name, key);
			k->next = fs->known[b];
			fs->known[b] = k;
			fs->nknown++;
		}
	}
	pthread_mutex_unlock(&fs->lock);
}

bool ckfs_known(struct ckfs *fs, const char *ctr, const char *name)
{
	char key[2 * CK_NAME_MAX + 2];
	bool r;

	known_key(ctr, name, key);
	pthread_mutex_lock(&fs->lock);
	r = known_locked(fs, key, known_bucket(ctr, name));
	pthread_mutex_unlock(&fs->lock);
	return r;
}

/* --- containers made by mkdir ----------------------------------------- */

int ckfs_ctr_create(struct ckfs *fs, const char *ctr, mode_t mode)
{
	struct ck_version *vs = NULL;
	size_t n = 0;
	int q;

	if (ck_name_check(ctr) < 0)
		return strlen(ctr) > CK_NAME_MAX ? -ENAMETOOLONG : -EINVAL;
	q = fs->b->ops->versions(fs->b, ctr, &vs, &n);
	free(vs);
	if (q < 0 && q != -EIO) /* -EIO: unreachable, spool it anyway */
		return q;
	if (q == 0 && n > 0)
		return -EEXIST;
	if (mkdirat(fs->data_fd, ctr, (mode & 07777) | 0700) < 0)
		return -errno;
	return 0;
}

bool ckfs_ctr_spooled(struct ckfs *fs, const char *ctr)
{
	struct stat st;

	return ck_name_check(ctr) == 0 &&
	       fstatat(fs->data_fd, ctr, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
	       S_ISDIR(st.st_mode);
}

int ckfs_ctr_remove(struct ckfs *fs, const char *ctr)
{
	struct ck_version *vs = NULL;
	size_t n = 0;
	int q;

	q = fs->b->ops->versions(fs->b, ctr, &vs, &n);
	free(vs);
	if (q < 0)
		return q;
	if (n > 0)
		return -ENOTEMPTY;
	if (unlinkat(fs->data_fd, ctr, AT_REMOVEDIR) < 0)
		return -errno;
	return 0;
}

/* --- versions being written ------------------------------------------- */

static int spool_path_of(struct ckfs *fs, const char *ctr, const char *name,
			 char **ret)
{
	char buf[PATH_MAX];
	int k = snprintf(buf, sizeof(buf), "%s/%s/%s", fs->data_path, ctr,
			 name);

	if (k < 0 || (size_t)k >= sizeof(buf))
		return -ENAMETOOLONG;
	*ret = strdup(buf);
	return *ret ? 0 : -ENOMEM;
}

/* Lists @v as WRITING with the spool directory that exists already. */
static int ver_adopt(struct ckfs *fs, struct ckfs_ver *v)
{
	char rel[2 * CK_NAME_MAX + 2];
	int q;

	snprintf(rel, sizeof(rel), "%s/%s", v->ctr, v->name);
	q = spool_path_of(fs, v->ctr, v->name, &v->spool_path);
	if (q < 0)
		return q;
	v->spool_fd = openat(fs->data_fd, rel,
			     O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (v->spool_fd < 0)
		return -errno;
	v->state = CKFS_V_WRITING;
	v->active_ns = ckfs_now_ns();
	return 0;
}

int ckfs_ver_create(struct ckfs *fs, const char *ctr, const char *name,
		    mode_t mode, uid_t uid, gid_t gid, struct ckfs_ver **ret)
{
	char rel[2 * CK_NAME_MAX + 2];
	struct ckfs_ver *v;
	struct ck_version cv;
	bool listed;
	int q;

	if (ck_name_check(name) < 0)
		return strlen(name) > CK_NAME_MAX ? -ENAMETOOLONG : -EINVAL;
	pthread_mutex_lock(&fs->lock);
	listed = find_listed(fs, ctr, name, false) != NULL;
	pthread_mutex_unlock(&fs->lock);
	if (listed)
		return -EEXIST;
	/* While the backend is unreachable (-EIO) a dump is accepted into
	 * the spool; a name taken meanwhile fails its commit (EEXIST). */
	q = ck_backend_version_get(fs->b, ctr, name, &cv);
	if (q == 0)
		return -EEXIST;
	if (q != -ENOENT && q != -EIO)
		return q;
	/* The container's spool directory, then the version's: mkdirat
	 * decides between two racing creators. */
	if (mkdirat(fs->data_fd, ctr, 0755) < 0 && errno != EEXIST)
		return -errno;
	snprintf(rel, sizeof(rel), "%s/%s", ctr, name);
	if (mkdirat(fs->data_fd, rel, mode & 07777) < 0)
		return -errno;
	(void)fchownat(fs->data_fd, rel, uid, gid, AT_SYMLINK_NOFOLLOW);
	v = ver_alloc(ctr, name, false);
	if (!v) {
		(void)unlinkat(fs->data_fd, rel, AT_REMOVEDIR);
		return -ENOMEM;
	}
	q = ver_adopt(fs, v);
	if (q < 0) {
		(void)unlinkat(fs->data_fd, rel, AT_REMOVEDIR);
		ver_free(v);
		return q;
	}
	v->refs = 2; /* the list (while not committed) and the caller */
	pthread_mutex_lock(&fs->lock);
	v->next = fs->vers;
	fs->vers = v;
	pthread_mutex_unlock(&fs->lock);
	*ret = v;
	return 0;
}

int ckfs_ver_remove(struct ckfs *fs, struct ckfs_ver *v)
{
	char rel[2 * CK_NAME_MAX + 2];
	int q = 0;

	snprintf(rel, sizeof(rel), "%s/%s", v->ctr, v->name);
	pthread_rwlock_wrlock(&v->rw);
	pthread_mutex_lock(&fs->lock);
	if (v->state != CKFS_V_WRITING)
		q = -EROFS;
	else if (v->writers)
		q = -EBUSY;
	pthread_mutex_unlock(&fs->lock);
	if (q == 0 && unlinkat(fs->data_fd, rel, AT_REMOVEDIR) < 0)
		q = -errno;
	if (q == 0) {
		pthread_mutex_lock(&fs->lock);
		unlist(fs, v);
		v->state = CKFS_V_FAILED; /* gone: no spool, not stored */
		v->commit_err = -ENOENT;
		ckfs_ver_put_locked(fs, v); /* the list's count */
		pthread_mutex_unlock(&fs->lock);
	}
	pthread_rwlock_unlock(&v->rw);
	return q;
}

int ckfs_ver_writer_open(struct ckfs *fs, struct ckfs_ver *v)
{
	int q = 0;

	pthread_mutex_lock(&fs->lock);
	if (v->state != CKFS_V_WRITING) {
		q = -EROFS;
	} else {
		v->writers++;
		v->active_ns = ckfs_now_ns();
	}
	pthread_mutex_unlock(&fs->lock);
	return q;
}

void ckfs_ver_writer_close(struct ckfs *fs, struct ckfs_ver *v, bool stats)
{
	pthread_mutex_lock(&fs->lock);
	v->writers--;
	v->active_ns = ckfs_now_ns();
	if (stats)
		v->stats_closed = true;
	if (v->stats_closed && v->writers == 0)
		pthread_cond_broadcast(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
}

void ckfs_ver_touch(struct ckfs *fs, struct ckfs_ver *v)
{
	__atomic_store_n(&v->active_ns, ckfs_now_ns(), __ATOMIC_RELAXED);
	(void)fs;
}

void ckfs_ver_stats_renamed(struct ckfs *fs, struct ckfs_ver *v)
{
	pthread_mutex_lock(&fs->lock);
	if (v->state == CKFS_V_WRITING) {
		v->stats_closed = true;
		pthread_cond_broadcast(&fs->cond);
	}
	pthread_mutex_unlock(&fs->lock);
}

void ckfs_ver_stats_flushed(struct ckfs *fs, struct ckfs_ver *v)
{
	pthread_mutex_lock(&fs->lock);
	v->stats_flushed = true;
	pthread_mutex_unlock(&fs->lock);
}

int ckfs_ver_wait(struct ckfs *fs, struct ckfs_ver *v)
{
	struct timespec dl;
	int q = 0;

	/* stats-dump was closed (FLUSH is synchronous with close(), its
	 * RELEASE is not): the commit is imminent, wait for it, but not
	 * forever if another descriptor keeps the file open. */
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 30;
	pthread_mutex_lock(&fs->lock);
	if (v->state == CKFS_V_FAILED && v->commit_err != -ENOENT &&
	    !fs->stopping) {
		/* Asked again after a failed store (space freed, the server
		 * back): the committer tries now, not at its next retry. */
		unsigned t = v->commit_tries;

		v->failed_ns = ckfs_now_ns() -
			       (int64_t)CKFS_RETRY_S * 1000000000 - 1;
		pthread_cond_broadcast(&fs->cond);
		while (v->commit_tries == t && !fs->stopping &&
		       (v->state == CKFS_V_FAILED ||
			v->state == CKFS_V_SEALED))
			if (pthread_cond_timedwait(&fs->cond, &fs->lock,
						   &dl) == ETIMEDOUT)
				break;
	}
	while (v->state == CKFS_V_SEALED ||
	       (v->state == CKFS_V_WRITING && v->stats_flushed)) {
		if (pthread_cond_timedwait(&fs->cond, &fs->lock, &dl) ==
			    ETIMEDOUT &&
		    v->state == CKFS_V_WRITING)
			break;
	}
	if (v->state == CKFS_V_FAILED)
		q = v->commit_err;
	pthread_mutex_unlock(&fs->lock);
	return q;
}

/* --- commit ------------------------------------------------------------ */

/* Stores sealed version @v and switches it to COMMITTED. Called by one
 * thread at a time (the committer, or the unmount path after it
 * stopped). */
static void commit_one(struct ckfs *fs, struct ckfs_ver *v)
{
	char errpath[CK_PATH_MAX + 1] = "";
	struct ck_version cv;
	struct ck_entry *es = NULL;
	struct stat st;
	bool stats, lenient;
	size_t n = 0;
	int q;

	pthread_rwlock_wrlock(&v->rw);
	pthread_mutex_lock(&fs->lock);
	if ((v->state != CKFS_V_WRITING && v->state != CKFS_V_FAILED) ||
	    (v->state == CKFS_V_FAILED && v->commit_err == -ENOENT) ||
	    v->writers) {
		pthread_mutex_unlock(&fs->lock);
		pthread_rwlock_unlock(&v->rw);
		return;
	}
	v->state = CKFS_V_SEALED;
	stats = v->stats_closed;
	pthread_mutex_unlock(&fs->lock);
	pthread_rwlock_unlock(&v->rw);

	if (fstat(v->spool_fd, &st) < 0)
		memset(&st, 0, sizeof(st));
	/* A dump CRIU finished must pass validation; one it abandoned is
	 * stored as it is, and is incomplete. */
	lenient = !stats ||
		  faccessat(v->spool_fd, CKFS_STATS_DUMP, F_OK,
			    AT_SYMLINK_NOFOLLOW) < 0;
	q = fs->b->ops->commit_dir(fs->b, v->ctr, v->name, v->spool_path,
				   lenient, &cv, errpath);
	if (q == -EBADMSG && !lenient) {
		ck_log_warning("version '%s/%s': '%s' is not a valid image; "
			       "storing the dump as it is",
			       v->ctr, v->name, errpath);
		q = fs->b->ops->commit_dir(fs->b, v->ctr, v->name,
					   v->spool_path, true, &cv, errpath);
	}
	if (q == 0)
		q = fs->b->ops->entries(fs->b, &cv, false, &es, &n);
	if (q < 0) {
		ck_log_error_errno(q, "cannot store version '%s/%s'%s%s: %m "
				   "(kept in '%s'; tried again in %d s, when "
				   "its directory is fsync()ed, and at the "
				   "next start)",
				   v->ctr, v->name, errpath[0] ? " at " : "",
				   errpath, v->spool_path, CKFS_RETRY_S);
		pthread_mutex_lock(&fs->lock);
		v->state = CKFS_V_FAILED;
		v->commit_err = q;
		v->failed_ns = ckfs_now_ns();
		v->commit_tries++;
		pthread_cond_broadcast(&fs->cond);
		pthread_mutex_unlock(&fs->lock);
		return;
	}
	ck_log_info("stored version '%s/%s' (%s)", v->ctr, v->name,
		    cv.complete ? "complete" : "incomplete");
	pthread_rwlock_wrlock(&v->rw);
	pthread_mutex_lock(&fs->lock);
	v->v = cv;
	v->es = es;
	v->n = n;
	v->root_st = st;
	v->state = CKFS_V_COMMITTED;
	v->commit_tries++;
	close(v->spool_fd);
	v->spool_fd = -1;
	pthread_cond_broadcast(&fs->cond);
	pthread_mutex_unlock(&fs->lock);
	pthread_rwlock_unlock(&v->rw);

	/* Open handles keep their spool files; the tree goes now. */
	{
		char rel[2 * CK_NAME_MAX + 2];

		snprintf(rel, sizeof(rel), "%s/%s", v->ctr, v->name);
		q = rm_tree(fs->data_fd, rel, 0);
		if (q < 0)
			ck_log_warning("cannot remove spool '%s': %s",
				       v->spool_path, strerror(-q));
	}
	pthread_mutex_lock(&fs->lock);
	ckfs_ver_put_locked(fs, v); /* the list's count of a writing one */
	pthread_mutex_unlock(&fs->lock);
}

/* The next version ready to commit, counted, or NULL. */
static struct ckfs_ver *next_ready(struct ckfs *fs, bool all)
{
	int64_t now = ckfs_now_ns();
	int64_t idle = (int64_t)fs->o.idle_timeout * 1000000000;

	for (struct ckfs_ver *v = fs->vers; v; v = v->next) {
		int64_t act = __atomic_load_n(&v->active_ns, __ATOMIC_RELAXED);

		if (v->state == CKFS_V_FAILED && !all &&
		    v->commit_err != -ENOENT &&
		    now - v->failed_ns >= (int64_t)CKFS_RETRY_S * 1000000000) {
			v->refs++;
			return v;
		}
		if (v->state != CKFS_V_WRITING || v->writers)
			continue;
		if (all || v->stats_closed || now - act >= idle) {
			v->refs++;
			return v;
		}
	}
	return NULL;
}

void *ckfs_committer(void *arg)
{
	struct ckfs *fs = arg;

	pthread_mutex_lock(&fs->lock);
	while (!fs->stopping) {
		struct ckfs_ver *v = next_ready(fs, false);
		struct timespec dl;

		if (v) {
			pthread_mutex_unlock(&fs->lock);
			commit_one(fs, v);
			pthread_mutex_lock(&fs->lock);
			ckfs_ver_put_locked(fs, v);
			continue;
		}
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_nsec += IDLE_POLL_MS * 1000000L;
		if (dl.tv_nsec >= 1000000000L) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000L;
		}
		pthread_cond_timedwait(&fs->cond, &fs->lock, &dl);
	}
	pthread_mutex_unlock(&fs->lock);
	ck_compress_thread_exit();
	return NULL;
}

void ckfs_commit_all(struct ckfs *fs)
{
	for (;;) {
		struct ckfs_ver *v;

		pthread_mutex_lock(&fs->lock);
		v = next_ready(fs, true);
		pthread_mutex_unlock(&fs->lock);
		if (!v)
			break;
		commit_one(fs, v);
		ckfs_ver_put(fs, v);
	}
	ck_compress_thread_exit();
}

/* --- recovery ---------------------------------------------------------- */

static int recover_ctr(struct ckfs *fs, const char *ctr)
{
	struct dirent *de;
	DIR *d;
	int fd, q = 0;

	fd = openat(fs->data_fd, ctr,
		    O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		struct ck_version cv;
		struct ckfs_ver *v;

		if (de->d_name[0] == '.' || ck_name_check(de->d_name) < 0)
			continue;
		q = ck_backend_version_get(fs->b, ctr, de->d_name, &cv);
		if (q == 0) {
			/* Stored before the spool copy was removed. */
			char rel[2 * CK_NAME_MAX + 2];

			snprintf(rel, sizeof(rel), "%s/%s", ctr, de->d_name);
			(void)rm_tree(fs->data_fd, rel, 0);
			continue;
		}
		v = ver_alloc(ctr, de->d_name, false);
		if (!v) {
			q = -ENOMEM;
			break;
		}
		q = ver_adopt(fs, v);
		if (q < 0) {
			ver_free(v);
			break;
		}
		v->stats_closed = faccessat(v->spool_fd, CKFS_STATS_DUMP, F_OK,
					    AT_SYMLINK_NOFOLLOW) == 0;
		v->refs = 2;
		pthread_mutex_lock(&fs->lock);
		v->next = fs->vers;
		fs->vers = v;
		pthread_mutex_unlock(&fs->lock);
		ck_log_info("recovering version '%s/%s' from the spool", ctr,
			    de->d_name);
		/* A failure is logged and the version stays read-only in
		 * the spool: it must not keep the rest from being served. */
		commit_one(fs, v);
		ckfs_ver_put(fs, v);
		q = 0;
	}
	closedir(d);
	return q;
}

int ckfs_recover(struct ckfs *fs)
{
	struct dirent *de;
	DIR *d;
	int fd, q = 0;

	fd = openat(fs->data_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -ENOMEM;
	}
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || ck_name_check(de->d_name) < 0)
			continue;
		q = recover_ctr(fs, de->d_name);
		if (q < 0)
			break;
	}
	closedir(d);
	ck_compress_thread_exit();
	return q;
}
