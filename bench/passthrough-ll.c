/* SPDX-License-Identifier: MIT */
/*
 * passthrough-ll - the cost of FUSE itself, for bench/fuse-bench: a
 * minimal passthrough of a local directory with the same libfuse3
 * low-level API, thread count, request sizes and splice settings as
 * ckstore-fuse (libfuse's own passthrough_ll example is not packaged).
 * Inodes are paths below the root, never forgotten: for benchmarks only.
 *
 * Usage: passthrough-ll [--threads N] [--max-read KIB] [--readahead KIB]
 *                       SOURCE MOUNTPOINT     (runs in the foreground)
 */
#define FUSE_USE_VERSION 314

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/sysmacros.h>
#include <unistd.h>

static int root_fd;
static char **paths; /* ino - 1 -> path relative to the root ("." = root) */
static size_t npaths, cap;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static unsigned max_read = 1024, readahead = 4096;

static const char *path_of(fuse_ino_t ino)
{
	const char *p;

	pthread_mutex_lock(&lock);
	p = ino >= 1 && ino <= npaths ? paths[ino - 1] : NULL;
	pthread_mutex_unlock(&lock);
	return p;
}

static fuse_ino_t ino_of(const char *path)
{
	fuse_ino_t ino = 0;

	pthread_mutex_lock(&lock);
	for (size_t i = npaths; i-- > 0;)
		if (!strcmp(paths[i], path)) {
			ino = i + 1;
			break;
		}
	if (!ino) {
		if (npaths == cap) {
			cap = cap ? cap * 2 : 1024;
			paths = realloc(paths, cap * sizeof(*paths));
		}
		paths[npaths++] = strdup(path);
		ino = npaths;
	}
	pthread_mutex_unlock(&lock);
	return ino;
}

static int child(fuse_ino_t parent, const char *name, char *buf)
{
	const char *p = path_of(parent);

	if (!p)
		return -ESTALE;
	snprintf(buf, PATH_MAX, "%s/%s", p, name);
	return 0;
}

static void reply_entry(fuse_req_t req, const char *path)
{
	struct fuse_entry_param e = { 0 };

	if (fstatat(root_fd, path, &e.attr, AT_SYMLINK_NOFOLLOW) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	e.ino = ino_of(path);
	e.attr.st_ino = e.ino;
	e.attr_timeout = e.entry_timeout = 1.0;
	fuse_reply_entry(req, &e);
}

static void pt_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	char p[PATH_MAX];

	if (child(parent, name, p) < 0)
		fuse_reply_err(req, ESTALE);
	else
		reply_entry(req, p);
}

static void pt_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	const char *p = path_of(ino);
	struct stat st;

	if (!p || fstatat(root_fd, p, &st, AT_SYMLINK_NOFOLLOW) < 0) {
		fuse_reply_err(req, p ? errno : ESTALE);
		return;
	}
	st.st_ino = ino;
	fuse_reply_attr(req, &st, 1.0);
}

static void pt_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *a,
		       int to_set, struct fuse_file_info *fi)
{
	const char *p = path_of(ino);

	if (to_set & FUSE_SET_ATTR_MODE)
		(void)fchmodat(root_fd, p, a->st_mode & 07777, 0);
	if (to_set & FUSE_SET_ATTR_SIZE) {
		int fd = openat(root_fd, p, O_WRONLY);

		if (fd >= 0) {
			(void)ftruncate(fd, a->st_size);
			close(fd);
		}
	}
	pt_getattr(req, ino, fi);
}

static void pt_readlink(fuse_req_t req, fuse_ino_t ino)
{
	char t[PATH_MAX];
	ssize_t k = readlinkat(root_fd, path_of(ino), t, sizeof(t) - 1);

	if (k < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	t[k] = 0;
	fuse_reply_readlink(req, t);
}

static void pt_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	char p[PATH_MAX];

	child(parent, name, p);
	if (mkdirat(root_fd, p, mode) < 0)
		fuse_reply_err(req, errno);
	else
		reply_entry(req, p);
}

static void pt_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	char p[PATH_MAX];

	child(parent, name, p);
	if (symlinkat(link, root_fd, p) < 0)
		fuse_reply_err(req, errno);
	else
		reply_entry(req, p);
}

static void pt_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		      mode_t mode, struct fuse_file_info *fi)
{
	struct fuse_entry_param e = { 0 };
	char p[PATH_MAX];
	int fd;

	child(parent, name, p);
	fd = openat(root_fd, p, (fi->flags | O_CREAT) & ~O_APPEND, mode);
	if (fd < 0 || fstat(fd, &e.attr) < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	e.ino = ino_of(p);
	e.attr.st_ino = e.ino;
	e.attr_timeout = e.entry_timeout = 1.0;
	fi->fh = (uint64_t)fd;
	fuse_reply_create(req, &e, fi);
}

static void pt_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	int fd = openat(root_fd, path_of(ino),
			fi->flags & ~(O_CREAT | O_EXCL | O_APPEND));

	if (fd < 0) {
		fuse_reply_err(req, errno);
		return;
	}
	fi->fh = (uint64_t)fd;
	fi->keep_cache = 1;
	fuse_reply_open(req, fi);
}

static void pt_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct fuse_bufvec bv = FUSE_BUFVEC_INIT(size);

	bv.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	bv.buf[0].fd = (int)fi->fh;
	bv.buf[0].pos = off;
	fuse_reply_data(req, &bv, FUSE_BUF_SPLICE_MOVE);
}

static void pt_write_buf(fuse_req_t req, fuse_ino_t ino,
			 struct fuse_bufvec *in, off_t off,
			 struct fuse_file_info *fi)
{
	struct fuse_bufvec out = FUSE_BUFVEC_INIT(fuse_buf_size(in));
	ssize_t k;

	out.buf[0].flags = FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK;
	out.buf[0].fd = (int)fi->fh;
	out.buf[0].pos = off;
	k = fuse_buf_copy(&out, in, 0);
	if (k < 0)
		fuse_reply_err(req, (int)-k);
	else
		fuse_reply_write(req, (size_t)k);
}

static void pt_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	close((int)fi->fh);
	fuse_reply_err(req, 0);
}

static void pt_fsync(fuse_req_t req, fuse_ino_t ino, int ds,
		     struct fuse_file_info *fi)
{
	fuse_reply_err(req, fsync((int)fi->fh) < 0 ? errno : 0);
}

static void pt_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	int fd = openat(root_fd, path_of(ino), O_RDONLY | O_DIRECTORY);
	DIR *d = fd >= 0 ? fdopendir(fd) : NULL;

	if (!d) {
		fuse_reply_err(req, errno);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)d;
	fuse_reply_open(req, fi);
}

static void pt_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	DIR *d = (DIR *)(uintptr_t)fi->fh;
	char *buf = malloc(size);
	size_t used = 0;
	struct dirent *de;

	seekdir(d, off);
	while ((de = readdir(d))) {
		struct stat st = { .st_ino = de->d_ino,
				   .st_mode = DTTOIF(de->d_type) };
		size_t k = fuse_add_direntry(req, buf + used, size - used,
					     de->d_name, &st, telldir(d));

		if (k > size - used)
			break;
		used += k;
	}
	fuse_reply_buf(req, buf, used);
	free(buf);
}

static void pt_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	closedir((DIR *)(uintptr_t)fi->fh);
	fuse_reply_err(req, 0);
}

static void pt_fsyncdir(fuse_req_t req, fuse_ino_t ino, int ds,
			struct fuse_file_info *fi)
{
	DIR *d = (DIR *)(uintptr_t)fi->fh;

	fuse_reply_err(req, fsync(dirfd(d)) < 0 ? errno : 0);
}

static void pt_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct statvfs sv;

	fstatvfs(root_fd, &sv);
	fuse_reply_statfs(req, &sv);
}

static void pt_init(void *ud, struct fuse_conn_info *conn)
{
	conn->want |= conn->capable & (FUSE_CAP_SPLICE_WRITE |
				       FUSE_CAP_SPLICE_MOVE);
	conn->max_write = 1u << 20;
	conn->max_read = max_read << 10;
}

static const struct fuse_lowlevel_ops ops = {
	.init = pt_init, .lookup = pt_lookup, .getattr = pt_getattr,
	.setattr = pt_setattr, .readlink = pt_readlink, .mkdir = pt_mkdir,
	.symlink = pt_symlink, .create = pt_create, .open = pt_open,
	.read = pt_read, .write_buf = pt_write_buf, .release = pt_release,
	.fsync = pt_fsync, .opendir = pt_opendir, .readdir = pt_readdir,
	.releasedir = pt_releasedir, .fsyncdir = pt_fsyncdir,
	.statfs = pt_statfs,
};

static void *ra_thread(void *arg)
{
	const char *mnt = arg;
	struct stat st;
	char p[128];
	FILE *f;

	if (stat(mnt, &st) == 0) {
		snprintf(p, sizeof(p), "/sys/class/bdi/%u:%u/read_ahead_kb",
			 major(st.st_dev), minor(st.st_dev));
		f = fopen(p, "w");
		if (f) {
			fprintf(f, "%u\n", readahead);
			fclose(f);
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_loop_config *cfg;
	struct fuse_session *se;
	unsigned threads = 8;
	char opts[128];
	pthread_t t;
	int i = 1, r;

	for (; i + 1 < argc && argv[i][0] == '-'; i += 2) {
		if (!strcmp(argv[i], "--threads"))
			threads = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--max-read"))
			max_read = (unsigned)atoi(argv[i + 1]);
		else if (!strcmp(argv[i], "--readahead"))
			readahead = (unsigned)atoi(argv[i + 1]);
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: passthrough-ll [--threads N] "
				"[--max-read KIB] [--readahead KIB] SRC MNT\n");
		return 2;
	}
	root_fd = open(argv[i], O_RDONLY | O_DIRECTORY);
	if (root_fd < 0) {
		perror(argv[i]);
		return 1;
	}
	ino_of(".");
	umask(0);
	snprintf(opts, sizeof(opts), "fsname=passthrough,max_read=%u",
		 max_read << 10);
	fuse_opt_add_arg(&args, argv[0]);
	fuse_opt_add_arg(&args, "-o");
	fuse_opt_add_arg(&args, opts);
	se = fuse_session_new(&args, &ops, sizeof(ops), NULL);
	if (!se || fuse_set_signal_handlers(se) < 0 ||
	    fuse_session_mount(se, argv[i + 1]) < 0)
		return 1;
	pthread_create(&t, NULL, ra_thread, argv[i + 1]);
	pthread_detach(t);
	cfg = fuse_loop_cfg_create();
	fuse_loop_cfg_set_max_threads(cfg, threads);
	fuse_loop_cfg_set_idle_threads(cfg, threads);
	r = fuse_session_loop_mt(se, cfg);
	fuse_session_unmount(se);
	fuse_remove_signal_handlers(se);
	fuse_session_destroy(se);
	fuse_loop_cfg_destroy(cfg);
	fuse_opt_free_args(&args);
	return r < 0 ? 1 : 0;
}
