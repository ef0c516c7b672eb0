/* SPDX-License-Identifier: MIT */
/*
 * ckarchive.c - Podman/Kubernetes checkpoint archives (see ckarchive.h).
 * The only file that calls libarchive, which libarchive.h loads on first
 * use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <locale.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "ckarchive.h"
#include "extract.h"
#include "fsutil.h"
#include "libarchive.h"
#include "log.h"
#include "mem.h"
#include "push.h"

#define IO_BUF (1u << 20)
#define MANIFEST_MAX (256u << 20)
#define NS 1000000000LL

/* --- names ----------------------------------------------------------- */

enum ck_archive_compression ck_archive_compression_for(const char *name)
{
	static const struct {
		const char *suffix;
		enum ck_archive_compression c;
	} t[] = {
		{ ".tar", CK_ARCHIVE_NONE },	  { ".tar.gz", CK_ARCHIVE_GZIP },
		{ ".tgz", CK_ARCHIVE_GZIP },	  { ".tar.zst", CK_ARCHIVE_ZSTD },
		{ ".tar.zstd", CK_ARCHIVE_ZSTD }, { ".tzst", CK_ARCHIVE_ZSTD },
	};
	size_t n = name ? strlen(name) : 0;

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++) {
		size_t k = strlen(t[i].suffix);

		if (n > k && !strcmp(name + n - k, t[i].suffix))
			return t[i].c;
	}
	return CK_ARCHIVE_AUTO;
}

const char *ck_archive_compression_name(enum ck_archive_compression c)
{
	switch (c) {
	case CK_ARCHIVE_NONE:
		return "none";
	case CK_ARCHIVE_GZIP:
		return "gzip";
	case CK_ARCHIVE_ZSTD:
		return "zstd";
	default:
		return "auto";
	}
}

int ck_archive_compression_parse(const char *s,
				 enum ck_archive_compression *ret)
{
	if (!strcmp(s, "none"))
		*ret = CK_ARCHIVE_NONE;
	else if (!strcmp(s, "gzip"))
		*ret = CK_ARCHIVE_GZIP;
	else if (!strcmp(s, "zstd"))
		*ret = CK_ARCHIVE_ZSTD;
	else
		return -EINVAL;
	return 0;
}

/* A member name as the version's path: without leading "./" and
 * trailing '/', checked by ck_path_check(). "" is the archive's root
 * ("." or "./"). -EINVAL for absolute paths, "..", empty components. */
static int norm_path(const char *raw, char *out, size_t cap)
{
	const char *p = raw;
	size_t n;

	if (!raw || !*raw)
		return -EINVAL;
	if (*p == '/')
		return -EINVAL;
	while (p[0] == '.' && p[1] == '/')
		p += 2;
	if (!strcmp(p, "."))
		p = "";
	n = strlen(p);
	while (n > 0 && p[n - 1] == '/')
		n--;
	if (n >= cap || n > CK_PATH_MAX)
		return -ENAMETOOLONG;
	memcpy(out, p, n);
	out[n] = 0;
	if (n == 0)
		return 0;
	return ck_path_check(out) < 0 ? -EINVAL : 0;
}

/* Whether symlink target @t, relative to the directory of @path, stays
 * inside the archive. */
static bool target_inside(const char *path, const char *t)
{
	long depth = 0;
	const char *c;

	if (!*t || *t == '/')
		return false;
	for (c = path; *c; c++)
		if (*c == '/')
			depth++;
	for (c = t; *c;) {
		const char *e = strchr(c, '/');
		size_t k = e ? (size_t)(e - c) : strlen(c);

		if (k == 2 && c[0] == '.' && c[1] == '.') {
			if (--depth < 0)
				return false;
		} else if (k && !(k == 1 && c[0] == '.')) {
			depth++;
		}
		c += k;
		while (*c == '/')
			c++;
	}
	return true;
}

static void hex_encode(const uint8_t *b, size_t n, char *out)
{
	static const char h[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = h[b[i] >> 4];
		out[2 * i + 1] = h[b[i] & 15];
	}
	out[2 * n] = 0;
}

static int hex_val(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* libarchive converts names through the charset of the locale, and in
 * the "C" locale a UTF-8 pax name does not convert. Import and export
 * run with a UTF-8 LC_CTYPE on the calling thread only. */
static locale_t utf8_begin(void)
{
	locale_t l = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);

	return l ? uselocale(l) : (locale_t)0;
}

static void utf8_end(locale_t old)
{
	if (old)
		freelocale(uselocale(old));
}

/* --- import ------------------------------------------------------------ */

/* What ck_push_dir() is told about each member (sorted by path). */
struct mmeta {
	const char *path; /* borrowed from the manifest */
	struct ck_file_meta m;
};

struct imp {
	struct archive *a;
	struct ck_archive_import_opts *o;
	int root_fd;
	char spool[PATH_MAX];
	json_t *members; /* manifest entries, in archive order */
	struct mmeta *mm;
	size_t n, cap;
	uint64_t dirs_made;
	int64_t max_mtime_ns;
	bool pax, gnu, v7;
	bool stats_dump, inventory;
};

static int refuse(struct imp *im, const char *member, int r,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static int refuse(struct imp *im, const char *member, int r,
		  const char *fmt, ...)
{
	va_list ap;

	snprintf(im->o->errmember, sizeof(im->o->errmember), "%s",
		 member ? member : "");
	va_start(ap, fmt);
	vsnprintf(im->o->errmsg, sizeof(im->o->errmsg), fmt, ap);
	va_end(ap);
	return r;
}

static int imp_archive_fail(struct imp *im, const char *member)
{
	const char *e = archive_error_string(im->a);

	return refuse(im, member, -EBADMSG, "corrupt or truncated archive: %s",
		      e ? e : "unknown libarchive error");
}

/* Opens the directory that holds @path in the staging tree, making the
 * missing ones (which are not members: "implicit"), and points *last at
 * the last component. Never follows a symlink. */
static int open_parent(struct imp *im, char *path, const char **last,
		       int *ret_fd)
{
	int dfd = dup(im->root_fd), nfd;
	char *c = path, *s;

	if (dfd < 0)
		return -errno;
	while ((s = strchr(c, '/'))) {
		*s = 0;
		nfd = openat(dfd, c, O_RDONLY | O_DIRECTORY | O_NOFOLLOW |
					     O_CLOEXEC);
		if (nfd < 0)
			nfd = -errno;
		if (nfd == -ENOENT) {
			if (++im->dirs_made + im->n > im->o->limits.max_members)
				nfd = -E2BIG;
			else if (mkdirat(dfd, c, 0700) < 0)
				nfd = -errno;
			else if ((nfd = openat(dfd, c,
					       O_RDONLY | O_DIRECTORY |
						       O_NOFOLLOW | O_CLOEXEC)) < 0)
				nfd = -errno;
		}
		*s = '/';
		close(dfd);
		if (nfd < 0) /* a symlink or a file on the way */
			return nfd == -ELOOP ? -ENOTDIR : nfd;
		dfd = nfd;
		c = s + 1;
	}
	*last = c;
	*ret_fd = dfd;
	return 0;
}

static int copy_data(struct imp *im, int fd, const char *member,
		     uint64_t size)
{
	for (;;) {
		const void *blk;
		size_t len;
		la_int64_t off;
		int q = archive_read_data_block(im->a, &blk, &len, &off);

		if (q == ARCHIVE_EOF)
			break;
		if (q != ARCHIVE_OK && q != ARCHIVE_WARN) /* RETRY too */
			return imp_archive_fail(im, member);
		if (off < 0 || (uint64_t)off > size || len > size - (uint64_t)off)
			return refuse(im, member, -EBADMSG,
				      "data beyond the member's size");
		q = ck_pwrite_all(fd, blk, len, (off_t)off);
		if (q < 0)
			return refuse(im, member, q, "cannot stage member: %s",
				      strerror(-q));
	}
	/* Sparse members end in a hole. */
	if (ftruncate(fd, (off_t)size) < 0)
		return refuse(im, member, -errno, "cannot stage member: %s",
			      strerror(errno));
	return 0;
}

static int add_meta(struct imp *im, const char *path,
		    const struct ck_file_meta *m)
{
	if (CK_GROW(im->mm, im->n, im->cap, 256) < 0)
		return -ENOMEM;
	im->mm[im->n].path = path;
	im->mm[im->n].m = *m;
	im->n++;
	return 0;
}

static const char *base_name(const char *p)
{
	const char *s = strrchr(p, '/');

	return s ? s + 1 : p;
}

/* Stages one member and describes it in the manifest. */
static int import_member(struct imp *im, struct archive_entry *e)
{
	/* UTF-8 whatever the locale: pax stores names in UTF-8, and the
	 * manifest is JSON. */
	const char *raw = archive_entry_pathname_utf8(e);
	char path[CK_PATH_MAX + 1], work[CK_PATH_MAX + 1];
	unsigned type = archive_entry_filetype(e);
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	la_int64_t size = archive_entry_size(e);
	struct ck_file_meta m;
	const char *last = NULL, *target = NULL, *xn;
	const void *xv;
	size_t xs;
	json_t *j, *xa;
	int pfd = -1, fd = -1, q;

	if (!raw)
		return refuse(im, "", -EBADMSG,
			      "corrupt or truncated archive, or a member name "
			      "that is not UTF-8");
	q = norm_path(raw, path, sizeof(path));
	if (q == -ENAMETOOLONG)
		return refuse(im, raw, -EINVAL, "name longer than %d bytes",
			      CK_PATH_MAX);
	if (q < 0)
		return refuse(im, raw, -EINVAL,
			      "unsafe name (absolute, '..', '.' or empty "
			      "components)");
	if (!strcmp(path, CK_ARCHIVE_MANIFEST))
		return refuse(im, raw, -EINVAL, "reserved name");
	if (archive_entry_hardlink(e) || archive_entry_hardlink_utf8(e))
		return refuse(im, raw, -EINVAL,
			      "hard links are not accepted in a checkpoint "
			      "archive");
	if (type != AE_IFREG && type != AE_IFDIR && type != AE_IFLNK)
		return refuse(im, raw, -EINVAL,
			      "devices, FIFOs and sockets are not accepted in "
			      "a checkpoint archive");
	if (!*path && type != AE_IFDIR)
		return refuse(im, raw, -EINVAL, "the root is not a directory");
	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return refuse(im, raw, -EINVAL, "owner out of range");
	if (type != AE_IFREG)
		size = 0;
	if (size < 0)
		return refuse(im, raw, -EBADMSG, "negative size");
	if (++im->o->members + im->dirs_made > im->o->limits.max_members)
		return refuse(im, raw, -E2BIG,
			      "more than %" PRIu64 " members (--max-members)",
			      im->o->limits.max_members);
	if ((uint64_t)size > im->o->limits.max_member_bytes)
		return refuse(im, raw, -E2BIG,
			      "member of %" PRId64 " bytes exceeds the limit "
			      "of %" PRIu64 " (--max-member-size)",
			      (int64_t)size, im->o->limits.max_member_bytes);
	im->o->bytes += (uint64_t)size;
	if (im->o->bytes > im->o->limits.max_total_bytes)
		return refuse(im, raw, -E2BIG,
			      "archive holds more than %" PRIu64
			      " bytes (--max-size)",
			      im->o->limits.max_total_bytes);
	if (type == AE_IFLNK) {
		target = archive_entry_symlink_utf8(e);
		if (!target || strlen(target) > CK_PATH_MAX ||
		    !target_inside(path, target))
			return refuse(im, raw, -EINVAL,
				      "symlink target '%s' is absolute or "
				      "leaves the archive",
				      target ? target : "");
	}

	m.mode = (uint32_t)archive_entry_perm(e) & 07777;
	m.uid = (uint32_t)uid;
	m.gid = (uint32_t)gid;
	m.mtime_ns = archive_entry_mtime_is_set(e)
			     ? (int64_t)archive_entry_mtime(e) * NS +
				       archive_entry_mtime_nsec(e)
			     : 0;
	if (m.mtime_ns > im->max_mtime_ns)
		im->max_mtime_ns = m.mtime_ns;

	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
		      "name", raw, "path", path, "type",
		      type == AE_IFREG	 ? "file"
		      : type == AE_IFDIR ? "dir"
					 : "symlink",
		      "mode", (json_int_t)m.mode, "uid", (json_int_t)m.uid,
		      "gid", (json_int_t)m.gid, "size", (json_int_t)size,
		      "mtime", (json_int_t)archive_entry_mtime(e),
		      "mtime_nsec", (json_int_t)archive_entry_mtime_nsec(e));
	/* JSON strings are UTF-8: json_pack() refuses anything else. */
	if (!j)
		return refuse(im, raw, -EINVAL, "name is not valid UTF-8");
	if (!archive_entry_mtime_is_set(e))
		json_object_set_new(j, "no_mtime", json_true());
	if ((archive_entry_uname_utf8(e) &&
	     json_object_set_new(j, "uname",
				 json_string(archive_entry_uname_utf8(e))) < 0) ||
	    (archive_entry_gname_utf8(e) &&
	     json_object_set_new(j, "gname",
				 json_string(archive_entry_gname_utf8(e))) < 0) ||
	    (target &&
	     json_object_set_new(j, "target", json_string(target)) < 0)) {
		json_decref(j);
		return refuse(im, raw, -EINVAL,
			      "owner name or symlink target is not valid "
			      "UTF-8");
	}
	if (archive_entry_atime_is_set(e))
		json_object_set_new(
			j, "atime",
			json_pack("[I, I]", (json_int_t)archive_entry_atime(e),
				  (json_int_t)archive_entry_atime_nsec(e)));
	if (archive_entry_ctime_is_set(e))
		json_object_set_new(
			j, "ctime",
			json_pack("[I, I]", (json_int_t)archive_entry_ctime(e),
				  (json_int_t)archive_entry_ctime_nsec(e)));
	if (archive_entry_xattr_reset(e) > 0) {
		xa = json_object();
		while (xa && archive_entry_xattr_next(e, &xn, &xv, &xs) ==
				     ARCHIVE_OK) {
			char *h;

			if (xs > 65536) {
				json_decref(xa);
				json_decref(j);
				return refuse(im, raw, -E2BIG,
					      "extended attribute larger than "
					      "64 KiB");
			}
			h = malloc(2 * xs + 1);
			if (!h) {
				json_decref(xa);
				json_decref(j);
				return -ENOMEM;
			}
			hex_encode(xv, xs, h);
			q = json_object_set_new(xa, xn, json_string(h));
			free(h);
			if (q < 0) {
				json_decref(xa);
				json_decref(j);
				return refuse(im, raw, -EINVAL,
					      "extended attribute name is not "
					      "valid UTF-8");
			}
		}
		json_object_set_new(j, "xattrs", xa);
	}
	if (json_array_append_new(im->members, j) < 0)
		return -ENOMEM;
	if (!*path) /* the root: manifest only */
		return 0;
	/* The array holds @j: its "path" string lives as long as it. */
	q = add_meta(im, json_string_value(json_object_get(j, "path")), &m);
	if (q < 0)
		return q;
	if (!strcmp(path, "stats-dump") || !strcmp(path, "checkpoint/stats-dump"))
		im->stats_dump = im->stats_dump || type == AE_IFREG;
	if (!strcmp(base_name(path), "inventory.img") && type == AE_IFREG)
		im->inventory = true;

	memcpy(work, path, strlen(path) + 1);
	q = open_parent(im, work, &last, &pfd);
	if (q == -E2BIG)
		return refuse(im, raw, q,
			      "more than %" PRIu64 " members (--max-members)",
			      im->o->limits.max_members);
	if (q == -ENOTDIR)
		return refuse(im, raw, -EINVAL,
			      "below a member that is not a directory");
	if (q < 0)
		return refuse(im, raw, q, "cannot stage member: %s",
			      strerror(-q));
	switch (type) {
	case AE_IFDIR:
		if (mkdirat(pfd, last, 0700) < 0) {
			struct stat st;

			q = -errno;
			if (q == -EEXIST &&
			    fstatat(pfd, last, &st, AT_SYMLINK_NOFOLLOW) == 0 &&
			    S_ISDIR(st.st_mode))
				q = 0; /* made implicitly; twice is caught later */
			else if (q == -EEXIST)
				q = refuse(im, raw, -EINVAL,
					   "appears twice in the archive");
		}
		break;
	case AE_IFLNK:
		if (symlinkat(target, pfd, last) < 0)
			q = errno == EEXIST
				    ? refuse(im, raw, -EINVAL,
					     "appears twice in the archive")
				    : -errno;
		break;
	default:
		fd = openat(pfd, last,
			    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
			    0600);
		if (fd < 0) {
			q = errno == EEXIST
				    ? refuse(im, raw, -EINVAL,
					     "appears twice in the archive")
				    : -errno;
			break;
		}
		q = copy_data(im, fd, raw, (uint64_t)size);
		break;
	}
	if (q < 0 && !im->o->errmsg[0])
		refuse(im, raw, q, "cannot stage member: %s", strerror(-q));
	if (fd >= 0)
		close(fd);
	close(pfd);
	return q;
}

static int cmp_mmeta(const void *a, const void *b)
{
	return strcmp(((const struct mmeta *)a)->path,
		      ((const struct mmeta *)b)->path);
}

/* ck_push_opts.meta: the member's own metadata. */
static int member_meta(void *ud, const char *path, struct ck_file_meta *m)
{
	struct imp *im = ud;
	struct mmeta key = { .path = path }, *f;

	f = bsearch(&key, im->mm, im->n, sizeof(*im->mm), cmp_mmeta);
	if (f) {
		*m = f->m;
		return 0;
	}
	/* The manifest, and directories the archive implied. */
	m->mode = strcmp(path, CK_ARCHIVE_MANIFEST) ? 0755 : 0644;
	m->uid = 0;
	m->gid = 0;
	m->mtime_ns = im->max_mtime_ns;
	return 0;
}

static int rm_tree_at(int dfd, int depth)
{
	DIR *d;
	struct dirent *de;
	int q = 0;

	if (depth > 600) {
		close(dfd);
		return -ELOOP;
	}
	d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return -errno;
	}
	while ((de = readdir(d))) {
		int sfd;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) == 0)
			continue;
		sfd = openat(dirfd(d), de->d_name,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
		if (sfd < 0) {
			q = -errno;
			continue;
		}
		q = rm_tree_at(sfd, depth + 1);
		if (unlinkat(dirfd(d), de->d_name, AT_REMOVEDIR) < 0 && !q)
			q = -errno;
	}
	closedir(d);
	return q;
}

static int write_manifest(struct imp *im)
{
	json_t *o;
	char *s = NULL;
	int fd = -1, q;

	o = json_pack("{s:i, s:s, s:s, s:s?, s:O}", "format", 1, "tar_format",
		      im->gnu ? "gnutar" : im->pax ? "pax" : im->v7 ? "v7" : "ustar",
		      "compression",
		      ck_archive_compression_name(im->o->compression), "source",
		      im->o->source, "members", im->members);
	if (!o)
		return -ENOMEM;
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	fd = openat(im->root_fd, CK_ARCHIVE_MANIFEST,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		q = -errno;
		goto out;
	}
	q = ck_write_all(fd, s, strlen(s));
out:
	if (fd >= 0)
		close(fd);
	free(s);
	return q;
}

static int read_archive(struct imp *im, int fd)
{
	struct archive_entry *e;
	bool first = true;
	int q;

	im->a = archive_read_new();
	if (!im->a)
		return -ENOMEM;
	if (archive_read_support_format_tar(im->a) != ARCHIVE_OK ||
	    archive_read_support_filter_gzip(im->a) < ARCHIVE_WARN ||
	    archive_read_support_filter_zstd(im->a) < ARCHIVE_WARN)
		return refuse(im, NULL, -ENOTSUP, "libarchive lacks tar, gzip "
						  "or zstd support");
	if (archive_read_open_fd(im->a, fd, 256 << 10) != ARCHIVE_OK)
		return imp_archive_fail(im, NULL);
	for (;;) {
		int fmt;

		q = archive_read_next_header(im->a, &e);
		if (q == ARCHIVE_EOF)
			break;
		/* ARCHIVE_RETRY ("Damaged tar archive") is no member. */
		if (q != ARCHIVE_OK && q != ARCHIVE_WARN)
			return imp_archive_fail(im, NULL);
		if (first) {
			int f = archive_filter_code(im->a, 0);

			im->o->compression = f == ARCHIVE_FILTER_GZIP
						     ? CK_ARCHIVE_GZIP
					     : f == ARCHIVE_FILTER_ZSTD
						     ? CK_ARCHIVE_ZSTD
						     : CK_ARCHIVE_NONE;
			first = false;
		}
		fmt = archive_format(im->a);
		if ((fmt & ARCHIVE_FORMAT_BASE_MASK) != ARCHIVE_FORMAT_TAR)
			return refuse(im, NULL, -EINVAL, "not a tar archive");
		if (fmt == ARCHIVE_FORMAT_TAR_PAX_INTERCHANGE ||
		    fmt == ARCHIVE_FORMAT_TAR_PAX_RESTRICTED)
			im->pax = true;
		else if (fmt == ARCHIVE_FORMAT_TAR_GNUTAR)
			im->gnu = true;
		else if (fmt == ARCHIVE_FORMAT_TAR)
			im->v7 = true;
		q = import_member(im, e);
		if (q < 0)
			return q;
	}
	return 0;
}

static int name_taken(struct ck_repo *r, const char *container,
		      const char *name)
{
	struct ck_version *vs = NULL;
	size_t n = 0;
	int q;

	q = ck_repo_versions(r, container, &vs, &n);
	if (q == -ENOENT)
		return 0;
	if (q < 0)
		return q;
	q = 0;
	for (size_t i = 0; i < n && !q; i++)
		q = !strcmp(vs[i].name, name);
	free(vs);
	return q;
}

int ck_archive_import(struct ck_repo *r, const char *container, int fd,
		      struct ck_archive_import_opts *o, struct ck_version *ret)
{
	struct imp im = { .o = o, .root_fd = -1 };
	struct ck_push_opts po = { 0 };
	locale_t loc = (locale_t)0;
	const char *tmp;
	int q, len;

	o->errmember[0] = 0;
	o->errmsg[0] = 0;
	o->members = o->bytes = 0;
	o->compression = CK_ARCHIVE_NONE;
	q = ck_libarchive_load();
	if (q < 0)
		return q;
	if (!o->name || ck_name_check(o->name) < 0 ||
	    ck_name_check(container) < 0)
		return -EINVAL;
	/* A taken name fails now, not after the archive was staged. */
	q = name_taken(r, container, o->name);
	if (q != 0)
		return q < 0 ? q : -EEXIST;
	tmp = o->spool ? o->spool : getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/var/tmp";
	len = snprintf(im.spool, sizeof(im.spool), "%s/ckstore-import-XXXXXX",
		       tmp);
	if (len < 0 || (size_t)len >= sizeof(im.spool))
		return -ENAMETOOLONG;
	if (!mkdtemp(im.spool)) {
		q = -errno;
		im.spool[0] = 0;
		refuse(&im, NULL, q, "cannot make a staging directory in '%s'",
		       tmp);
		goto out;
	}
	im.root_fd = open(im.spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	im.members = json_array();
	if (im.root_fd < 0 || !im.members) {
		q = im.root_fd < 0 ? -errno : -ENOMEM;
		goto out;
	}

	loc = utf8_begin();
	q = read_archive(&im, fd);
	if (q < 0)
		goto out;
	qsort(im.mm, im.n, sizeof(*im.mm), cmp_mmeta);
	for (size_t i = 1; i < im.n; i++)
		if (!strcmp(im.mm[i - 1].path, im.mm[i].path)) {
			q = refuse(&im, im.mm[i].path, -EINVAL,
				   "appears twice in the archive");
			goto out;
		}
	if (!im.inventory) {
		q = refuse(&im, NULL, -EINVAL,
			   "no CRIU images (checkpoint/inventory.img): not a "
			   "checkpoint archive");
		goto out;
	}
	q = write_manifest(&im);
	if (q < 0)
		goto out;

	po.name = o->name;
	po.complete = o->complete >= 0 ? o->complete : im.stats_dump;
	po.progress = o->progress;
	po.progress_ud = o->progress_ud;
	po.meta = member_meta;
	po.meta_ud = &im;
	q = ck_push_dir(r, container, im.spool, &po, ret);
	if (q < 0 && po.errpath[0] && !o->errmsg[0]) {
		snprintf(o->errmember, sizeof(o->errmember), "%s", po.errpath);
		if (q == -EBADMSG)
			snprintf(o->errmsg, sizeof(o->errmsg),
				 "not a valid CRIU image (malformed, "
				 "truncated, or it disagrees with its pages "
				 "file)");
	}
out:
	if (im.a)
		archive_read_free(im.a);
	utf8_end(loc);
	if (im.root_fd >= 0) {
		int d = dup(im.root_fd);

		if (d >= 0)
			rm_tree_at(d, 0);
		close(im.root_fd);
	}
	if (im.spool[0])
		rmdir(im.spool);
	json_decref(im.members);
	free(im.mm);
	return q;
}

/* --- export ------------------------------------------------------------ */

struct exp {
	struct archive *a;
	struct ck_repo *r;
	const struct ck_version *v;
	struct ck_archive_export_opts *o;
	uint8_t *buf;
};

static int exp_fail(struct exp *ex, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int exp_fail(struct exp *ex, int r, const char *fmt, ...)
{
	va_list ap;

	if (ex->o->errmsg[0])
		return r;
	va_start(ap, fmt);
	vsnprintf(ex->o->errmsg, sizeof(ex->o->errmsg), fmt, ap);
	va_end(ap);
	return r;
}

static int exp_archive_fail(struct exp *ex, const char *what)
{
	const char *e = archive_error_string(ex->a);
	int en = archive_errno(ex->a);

	return exp_fail(ex, en > 0 ? -en : -EIO, "cannot write %s: %s", what,
			e ? e : "unknown libarchive error");
}

static int load_manifest(struct exp *ex, json_t **ret)
{
	struct ck_entry e;
	json_error_t jerr;
	uint64_t off = 0;
	char *b = NULL;
	json_t *j;
	int q;

	q = ck_repo_entry_get(ex->r, ex->v->vid, CK_ARCHIVE_MANIFEST, &e);
	if (q < 0)
		return q;
	if (e.type != CK_ENTRY_FILE || e.size > MANIFEST_MAX)
		return exp_fail(ex, -EBADMSG, "malformed %s",
				CK_ARCHIVE_MANIFEST);
	b = malloc(e.size + 1);
	if (!b)
		return -ENOMEM;
	while (off < e.size) {
		q = ck_file_read(ex->r, ex->v->vid, &e, off, b + off,
				 (size_t)(e.size - off));
		if (q <= 0) {
			free(b);
			return q < 0 ? q : -EBADMSG;
		}
		off += (uint64_t)q;
	}
	j = json_loadb(b, (size_t)e.size, 0, &jerr);
	free(b);
	if (!j || !json_is_array(json_object_get(j, "members"))) {
		json_decref(j);
		return exp_fail(ex, -EBADMSG, "malformed %s",
				CK_ARCHIVE_MANIFEST);
	}
	*ret = j;
	return 0;
}

/* A manifest for a version that was not imported: its entries. */
static int synth_manifest(struct exp *ex, json_t **ret)
{
	struct ck_entry *es = NULL;
	size_t n = 0;
	json_t *o, *ms;
	int q;

	q = ck_repo_entries(ex->r, ex->v->vid, &es, &n);
	if (q < 0)
		return q;
	ms = json_array();
	o = json_pack("{s:i, s:s, s:s, s:o}", "format", 1, "tar_format", "pax",
		      "compression", "none", "members", ms);
	for (size_t i = 0; o && i < n; i++) {
		char name[CK_PATH_MAX + 2];
		json_t *m;

		snprintf(name, sizeof(name), "%s%s", es[i].path,
			 es[i].type == CK_ENTRY_DIR ? "/" : "");
		m = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I}",
			      "name", name, "path", es[i].path, "type",
			      es[i].type == CK_ENTRY_FILE  ? "file"
			      : es[i].type == CK_ENTRY_DIR ? "dir"
							   : "symlink",
			      "mode", (json_int_t)es[i].mode, "uid",
			      (json_int_t)es[i].uid, "gid",
			      (json_int_t)es[i].gid, "size",
			      (json_int_t)(es[i].type == CK_ENTRY_FILE
						   ? es[i].size
						   : 0),
			      "mtime", (json_int_t)(es[i].mtime_ns / NS),
			      "mtime_nsec", (json_int_t)(es[i].mtime_ns % NS));
		if (m && es[i].type == CK_ENTRY_SYMLINK)
			json_object_set_new(m, "target",
					    json_string(es[i].target));
		if (!m || json_array_append_new(ms, m) < 0) {
			json_decref(o);
			o = NULL;
		}
	}
	free(es);
	if (!o)
		return exp_fail(ex, -EINVAL,
				"the version's names are not valid UTF-8");
	*ret = o;
	return 0;
}

static json_int_t jint(json_t *o, const char *k)
{
	return json_integer_value(json_object_get(o, k));
}

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static int write_file_data(struct exp *ex, const char *path, uint64_t size)
{
	struct ck_entry e;
	uint64_t off = 0;
	int q;

	q = ck_repo_entry_get(ex->r, ex->v->vid, path, &e);
	if (q < 0 || e.type != CK_ENTRY_FILE || e.size != size)
		return exp_fail(ex, q < 0 && q != -ENOENT ? q : -EBADMSG,
				"version does not match its manifest at '%s'",
				path);
	while (off < size) {
		size_t want = size - off > IO_BUF ? IO_BUF
						  : (size_t)(size - off);
		la_ssize_t w;

		q = ck_file_read(ex->r, ex->v->vid, &e, off, ex->buf, want);
		if (q < 0)
			return exp_fail(ex, q, "cannot read '%s': %s", path,
					strerror(-q));
		if (q == 0)
			return exp_fail(ex, -EBADMSG, "short read of '%s'",
					path);
		w = archive_write_data(ex->a, ex->buf, (size_t)q);
		if (w != q)
			return exp_archive_fail(ex, path);
		off += (uint64_t)q;
	}
	return 0;
}

static int hex_xattr(const char *h, uint8_t **ret, size_t *ret_n)
{
	size_t n = strlen(h);
	uint8_t *b;

	if (n % 2)
		return -EBADMSG;
	b = malloc(n / 2 + 1);
	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hex_val(h[2 * i]), lo = hex_val(h[2 * i + 1]);

		if (hi < 0 || lo < 0) {
			free(b);
			return -EBADMSG;
		}
		b[i] = (uint8_t)(hi << 4 | lo);
	}
	*ret = b;
	*ret_n = n / 2;
	return 0;
}

static int export_member(struct exp *ex, json_t *m)
{
	const char *name = jstr(m, "name"), *type = jstr(m, "type");
	char path[CK_PATH_MAX + 1];
	struct archive_entry *e = NULL;
	json_t *t, *x;
	json_int_t size = jint(m, "size");
	const char *k;
	int q;

	if (!name || !type || norm_path(name, path, sizeof(path)) < 0 ||
	    size < 0)
		return exp_fail(ex, -EBADMSG, "malformed %s",
				CK_ARCHIVE_MANIFEST);
	e = archive_entry_new();
	if (!e)
		return -ENOMEM;
	archive_entry_set_pathname_utf8(e, name);
	if (!strcmp(type, "file")) {
		archive_entry_set_filetype(e, AE_IFREG);
		archive_entry_set_size(e, size);
	} else if (!strcmp(type, "dir")) {
		archive_entry_set_filetype(e, AE_IFDIR);
		archive_entry_set_size(e, 0);
	} else if (!strcmp(type, "symlink") && jstr(m, "target")) {
		archive_entry_set_filetype(e, AE_IFLNK);
		archive_entry_set_symlink_utf8(e, jstr(m, "target"));
		archive_entry_set_size(e, 0);
	} else {
		archive_entry_free(e);
		return exp_fail(ex, -EBADMSG, "malformed %s",
				CK_ARCHIVE_MANIFEST);
	}
	archive_entry_set_perm(e, (mode_t)(jint(m, "mode") & 07777));
	archive_entry_set_uid(e, jint(m, "uid"));
	archive_entry_set_gid(e, jint(m, "gid"));
	if (jstr(m, "uname"))
		archive_entry_set_uname_utf8(e, jstr(m, "uname"));
	if (jstr(m, "gname"))
		archive_entry_set_gname_utf8(e, jstr(m, "gname"));
	if (!json_is_true(json_object_get(m, "no_mtime")))
		archive_entry_set_mtime(e, (time_t)jint(m, "mtime"),
					(long)jint(m, "mtime_nsec"));
	if ((t = json_object_get(m, "atime")) && json_array_size(t) == 2)
		archive_entry_set_atime(
			e, (time_t)json_integer_value(json_array_get(t, 0)),
			(long)json_integer_value(json_array_get(t, 1)));
	if ((t = json_object_get(m, "ctime")) && json_array_size(t) == 2)
		archive_entry_set_ctime(
			e, (time_t)json_integer_value(json_array_get(t, 0)),
			(long)json_integer_value(json_array_get(t, 1)));
	json_object_foreach(json_object_get(m, "xattrs"), k, x)
	{
		uint8_t *b;
		size_t n;

		if (!json_is_string(x) ||
		    hex_xattr(json_string_value(x), &b, &n) < 0) {
			archive_entry_free(e);
			return exp_fail(ex, -EBADMSG, "malformed %s",
					CK_ARCHIVE_MANIFEST);
		}
		archive_entry_xattr_add_entry(e, k, b, n);
		free(b);
	}
	q = archive_write_header(ex->a, e);
	archive_entry_free(e);
	if (q < ARCHIVE_WARN)
		return exp_archive_fail(ex, name);
	ex->o->members++;
	if (strcmp(type, "file"))
		return 0;
	ex->o->bytes += (uint64_t)size;
	return write_file_data(ex, path, (uint64_t)size);
}

int ck_archive_export(struct ck_repo *r, const struct ck_version *v, int fd,
		      struct ck_archive_export_opts *o)
{
	struct exp ex = { .r = r, .v = v, .o = o };
	enum ck_archive_compression c = o->compression;
	json_t *man = NULL, *ms, *m;
	locale_t loc = utf8_begin();
	const char *tf;
	bool nsec = false;
	size_t i;
	int q;

	o->errmsg[0] = 0;
	o->members = o->bytes = 0;
	q = ck_libarchive_load();
	if (q < 0)
		goto out;
	q = load_manifest(&ex, &man);
	if (q == -ENOENT)
		q = synth_manifest(&ex, &man);
	if (q < 0)
		goto out;
	ms = json_object_get(man, "members");
	if (c == CK_ARCHIVE_AUTO &&
	    ck_archive_compression_parse(jstr(man, "compression")
						 ? jstr(man, "compression")
						 : "none",
					 &c) < 0)
		c = CK_ARCHIVE_NONE;
	json_array_foreach(ms, i, m)
		nsec = nsec || jint(m, "mtime_nsec") != 0;
	tf = jstr(man, "tar_format") ? jstr(man, "tar_format") : "pax";

	ex.buf = malloc(IO_BUF);
	ex.a = archive_write_new();
	if (!ex.buf || !ex.a) {
		q = -ENOMEM;
		goto out;
	}
	/* pax_restricted writes ustar headers and adds pax records only
	 * where ustar cannot hold a value, as Go's archive/tar (Podman,
	 * CRI-O) does; full pax when sub-second mtimes must survive. */
	if (!strcmp(tf, "gnutar"))
		q = archive_write_set_format_gnutar(ex.a);
	else if (!strcmp(tf, "v7"))
		q = archive_write_set_format_v7tar(ex.a);
	else if (nsec)
		q = archive_write_set_format_pax(ex.a);
	else
		q = archive_write_set_format_pax_restricted(ex.a);
	if (q != ARCHIVE_OK) {
		q = exp_archive_fail(&ex, "archive header");
		goto out;
	}
	/* Extended attributes as Go's archive/tar writes them, only. */
	if (strcmp(tf, "gnutar") && strcmp(tf, "v7"))
		(void)archive_write_set_format_option(ex.a, "pax",
						      "xattrheader", "SCHILY");
	q = c == CK_ARCHIVE_GZIP   ? archive_write_add_filter_gzip(ex.a)
	    : c == CK_ARCHIVE_ZSTD ? archive_write_add_filter_zstd(ex.a)
				   : archive_write_add_filter_none(ex.a);
	if (q < ARCHIVE_WARN) {
		q = exp_archive_fail(&ex, "compressed stream");
		goto out;
	}
	/* No padding after the compressed stream (libarchive pads writes to
	 * stdout to a whole block, which zstd refuses as trailing garbage). */
	archive_write_set_bytes_in_last_block(ex.a, 1);
	if (archive_write_open_fd(ex.a, fd) != ARCHIVE_OK) {
		q = exp_archive_fail(&ex, "archive");
		goto out;
	}
	json_array_foreach(ms, i, m)
	{
		q = export_member(&ex, m);
		if (q < 0)
			goto out;
	}
	if (archive_write_close(ex.a) != ARCHIVE_OK) {
		q = exp_archive_fail(&ex, "archive end");
		goto out;
	}
	q = 0;
out:
	if (ex.a)
		archive_write_free(ex.a);
	utf8_end(loc);
	json_decref(man);
	free(ex.buf);
	return q;
}
