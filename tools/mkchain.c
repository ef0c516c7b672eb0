/* SPDX-License-Identifier: MIT */
/*
 * mkchain - turn consecutive full CRIU dumps into an incremental chain, as
 * `criu dump --prev-images-dir` with memory tracking would have written it.
 *
 *   mkchain [--predump-first] OUTDIR FULLDUMP_DIR...
 *
 * OUTDIR/<basename of each input> gets a copy of every file of that dump,
 * except that from the second dump on each pagemap-*.img and its
 * pages-<id>.img are rewritten by ck_criu_pagemap_delta(): a page whose
 * bytes equal the previous dump's page at the same vaddr becomes part of
 * a PE_PARENT entry and loses its data; the rest stay PE_PRESENT. Such a
 * dir also gets the symlink "parent" -> "../<basename of previous>". The
 * first dump is copied as is, or with --predump-first turned into what
 * `criu pre-dump` writes: pagemaps, pages, stats-dump, irmap-cache if
 * present, and a pre-dump inventory.img (see docs/criu-format.md).
 *
 * File modes and access/modification times are copied from the inputs,
 * also for the output dirs. stats-dump is copied unchanged, so its
 * pages_skipped_parent stays 0. Output files are not fsync'ed: this is a
 * test and benchmark tool. For every output dir one summary line goes to
 * stdout; errors go to stderr with exit status 1 (2 for usage errors).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../store/criu.h"

#define SMALL_FILE_MAX (1024u * 1024 * 1024) /* pagemaps, inventory */

static bool arg_predump_first;

struct dump_stats {
	uint64_t pages;        /* pages the dump defines */
	uint64_t parent_pages; /* of those, PE_PARENT */
};

static int errorf(int r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Prints "mkchain: <message>: <strerror(-r)>" and returns @r. */
static int errorf(int r, const char *fmt, ...)
{
	va_list ap;

	fputs("mkchain: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, ": %s\n", strerror(r < 0 ? -r : r));
	return r;
}

static int write_all(int fd, const void *p, size_t n)
{
	const uint8_t *q = p;

	while (n > 0) {
		ssize_t k = write(fd, q, n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return -errno;
		q += k;
		n -= (size_t) k;
	}
	return 0;
}

/* Reads a whole regular file of at most SMALL_FILE_MAX bytes. On success
 * *ret is malloc()ed; caller frees with free(). */
static int read_small(int dirfd, const char *name, uint8_t **ret,
		      size_t *ret_len)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, r;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (st.st_size > SMALL_FILE_MAX) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc(st.st_size ? (size_t) st.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t) st.st_size) {
		ssize_t k = read(fd, buf + got, (size_t) st.st_size - got);

		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0) {
			r = k < 0 ? -errno : -EIO; /* shrank under us */
			goto out;
		}
		got += (size_t) k;
	}
	*ret = buf;
	*ret_len = got;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

/* Maps a whole file read-only; an empty file gives NULL/0. */
static int map_file(int dirfd, const char *name, const uint8_t **ret,
		    size_t *ret_len)
{
	struct stat st;
	void *p = NULL;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t) st.st_size > SIZE_MAX) {
		r = -EFBIG;
		goto out;
	}
	if (st.st_size > 0) {
		p = mmap(NULL, (size_t) st.st_size, PROT_READ, MAP_PRIVATE, fd,
			 0);
		if (p == MAP_FAILED) {
			r = -errno;
			goto out;
		}
	}
	*ret = p;
	*ret_len = (size_t) st.st_size;
out:
	close(fd);
	return r;
}

static void unmap_file(const uint8_t *p, size_t len)
{
	if (p)
		(void) munmap((void *) p, len);
}

/* Creates @name in @dirfd; it must not exist. Returns the fd. */
static int create_out(int dirfd, const char *name)
{
	int fd;

	fd = openat(dirfd, name,
		    O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	return fd < 0 ? -errno : fd;
}

/* Gives @fd the mode and times of @src and closes it. */
static int finish_out(int fd, const struct stat *src)
{
	const struct timespec ts[2] = { src->st_atim, src->st_mtim };
	int r = 0;

	if (fchmod(fd, src->st_mode & 07777) < 0 || futimens(fd, ts) < 0)
		r = -errno;
	if (close(fd) < 0 && r == 0)
		r = -errno;
	return r;
}

static int stat_in(int dirfd, const char *name, struct stat *ret)
{
	return fstatat(dirfd, name, ret, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

static int write_out(int dirfd, const char *name, const void *p, size_t n,
		     const struct stat *src)
{
	int fd, r;

	fd = create_out(dirfd, name);
	if (fd < 0)
		return fd;
	r = write_all(fd, p, n);
	if (r < 0) {
		close(fd);
		return r;
	}
	return finish_out(fd, src);
}

static int copy_file(int in_fd, int out_fd, const char *name)
{
	struct stat st;
	uint8_t buf[1 << 16];
	int src = -1, dst = -1, r;

	src = openat(in_fd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (src < 0)
		return -errno;
	if (fstat(src, &st) < 0) {
		r = -errno;
		goto out;
	}
	dst = create_out(out_fd, name);
	if (dst < 0) {
		r = dst;
		goto out;
	}
	for (;;) {
		ssize_t k = read(src, buf, sizeof(buf));

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			goto out;
		}
		if (k == 0)
			break;
		r = write_all(dst, buf, (size_t) k);
		if (r < 0)
			goto out;
	}
	r = finish_out(dst, &st);
	dst = -1;
out:
	if (dst >= 0)
		close(dst);
	close(src);
	return r;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *) a, *(char *const *) b);
}

static void free_names(char **names, size_t n)
{
	for (size_t i = 0; names && i < n; i++)
		free(names[i]);
	free(names);
}

/* Lists @dirfd sorted by name, without "." and "..". */
static int list_dir(int dirfd, char ***ret, size_t *ret_n)
{
	char **names = NULL, **nn, *name;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd, r = 0;

	fd = dup(dirfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	rewinddir(d);
	errno = 0;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 32;
			nn = realloc(names, cap * sizeof(*nn));
			if (!nn) {
				r = -ENOMEM;
				goto out;
			}
			names = nn;
		}
		name = strdup(de->d_name);
		if (!name) {
			r = -ENOMEM;
			goto out;
		}
		names[n++] = name;
		errno = 0;
	}
	if (errno) {
		r = -errno;
		goto out;
	}
	if (n > 0)
		qsort(names, n, sizeof(*names), cmp_names);
	*ret = names;
	*ret_n = n;
	names = NULL;
out:
	closedir(d);
	free_names(names, n);
	return r;
}

static bool has_prefix_suffix(const char *s, const char *pre, const char *suf)
{
	size_t n = strlen(s), np = strlen(pre), ns = strlen(suf);

	return n > np + ns && strncmp(s, pre, np) == 0 &&
	       strcmp(s + n - ns, suf) == 0;
}

static bool is_pagemap(const char *name)
{
	return has_prefix_suffix(name, "pagemap-", ".img");
}

static bool is_pages(const char *name)
{
	return has_prefix_suffix(name, "pages-", ".img");
}

/* Parses @dirfd/@name. A missing file gives an empty pagemap if
 * @missing_ok. */
static int load_pagemap(int dirfd, const char *dir, const char *name,
			bool missing_ok, struct ck_criu_pagemap *ret)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	int r;

	r = read_small(dirfd, name, &buf, &len);
	if (r == -ENOENT && missing_ok) {
		*ret = (struct ck_criu_pagemap) CK_CRIU_PAGEMAP_INIT;
		return 0;
	}
	if (r < 0)
		return errorf(r, "failed to read '%s/%s'", dir, name);
	r = ck_criu_pagemap_parse(buf, len, ret);
	free(buf);
	if (r < 0)
		return errorf(r, "bad pagemap '%s/%s'", dir, name);
	return 0;
}

static void pages_name(const struct ck_criu_pagemap *pm, char *buf,
		       size_t size)
{
	snprintf(buf, size, "pages-%" PRIu64 ".img", pm->pages_id);
}

/*
 * Writes the incremental form of pagemap @name of dump @cur_dir (fd
 * @cur_fd) against the same pagemap of @prev_dir into @out_fd, with its
 * pages file. Sets *ret_pages to the pages file's name (caller frees).
 */
static int delta_pagemap(int prev_fd, const char *prev_dir, int cur_fd,
			 const char *cur_dir, int out_fd, const char *name,
			 struct dump_stats *st, char **ret_pages)
{
	struct ck_criu_pagemap prev = CK_CRIU_PAGEMAP_INIT;
	struct ck_criu_pagemap cur = CK_CRIU_PAGEMAP_INIT;
	struct ck_criu_pagemap d = CK_CRIU_PAGEMAP_INIT;
	const uint8_t *prev_pages = NULL, *cur_pages = NULL;
	size_t prev_len = 0, cur_len = 0, enc_len;
	char prev_pname[64], cur_pname[64];
	struct stat pm_st, pg_st;
	uint64_t *src = NULL;
	void *enc = NULL;
	int fd = -1, r;

	r = load_pagemap(cur_fd, cur_dir, name, false, &cur);
	if (r < 0)
		goto out;
	r = load_pagemap(prev_fd, prev_dir, name, true, &prev);
	if (r < 0)
		goto out;

	pages_name(&cur, cur_pname, sizeof(cur_pname));
	r = map_file(cur_fd, cur_pname, &cur_pages, &cur_len);
	if (r < 0) {
		errorf(r, "failed to read '%s/%s'", cur_dir, cur_pname);
		goto out;
	}
	if (prev.n > 0 || prev.pages_id > 0) {
		pages_name(&prev, prev_pname, sizeof(prev_pname));
		r = map_file(prev_fd, prev_pname, &prev_pages, &prev_len);
		if (r < 0) {
			errorf(r, "failed to read '%s/%s'", prev_dir,
			       prev_pname);
			goto out;
		}
	}

	r = ck_criu_pagemap_delta(&prev, prev_pages, prev_len, &cur,
				  cur_pages, cur_len, &d, &src);
	if (r < 0) {
		errorf(r, "'%s/%s' against '%s' (not full dumps?)", cur_dir,
		       name, prev_dir);
		goto out;
	}

	r = stat_in(cur_fd, name, &pm_st);
	if (r == 0)
		r = stat_in(cur_fd, cur_pname, &pg_st);
	if (r < 0) {
		errorf(r, "failed to stat '%s/%s'", cur_dir, name);
		goto out;
	}

	r = ck_criu_pagemap_encode(&d, &enc, &enc_len);
	if (r == 0)
		r = write_out(out_fd, name, enc, enc_len, &pm_st);
	if (r < 0) {
		errorf(r, "failed to write '%s'", name);
		goto out;
	}

	fd = create_out(out_fd, cur_pname);
	if (fd < 0) {
		r = errorf(fd, "failed to create '%s'", cur_pname);
		goto out;
	}
	for (size_t i = 0; i < d.n; i++) {
		st->pages += d.e[i].nr_pages;
		if (!(d.e[i].flags & CK_CRIU_PE_PRESENT)) {
			st->parent_pages += d.e[i].nr_pages;
			continue;
		}
		r = write_all(fd,
			      cur_pages + (src[i] << CK_CRIU_PAGE_SHIFT),
			      d.e[i].nr_pages << CK_CRIU_PAGE_SHIFT);
		if (r < 0) {
			errorf(r, "failed to write '%s'", cur_pname);
			goto out;
		}
	}
	r = finish_out(fd, &pg_st);
	fd = -1;
	if (r < 0) {
		errorf(r, "failed to write '%s'", cur_pname);
		goto out;
	}

	*ret_pages = strdup(cur_pname);
	if (!*ret_pages)
		r = errorf(-ENOMEM, "out of memory");
out:
	if (fd >= 0)
		close(fd);
	free(enc);
	free(src);
	unmap_file(prev_pages, prev_len);
	unmap_file(cur_pages, cur_len);
	ck_criu_pagemap_release(&d);
	ck_criu_pagemap_release(&cur);
	ck_criu_pagemap_release(&prev);
	return r;
}

/* Checks that pagemap @name of @dir is a full dump's and counts it. */
static int check_full(int dirfd, const char *dir, const char *name,
		      struct dump_stats *st)
{
	struct ck_criu_pagemap pm = CK_CRIU_PAGEMAP_INIT;
	char pname[64];
	struct stat pst;
	int r;

	r = load_pagemap(dirfd, dir, name, false, &pm);
	if (r < 0)
		return r;
	for (size_t i = 0; i < pm.n; i++) {
		if (!(pm.e[i].flags & CK_CRIU_PE_PRESENT)) {
			r = errorf(-EBADMSG, "'%s/%s' is not a full dump",
				   dir, name);
			goto out;
		}
		st->pages += pm.e[i].nr_pages;
	}
	pages_name(&pm, pname, sizeof(pname));
	r = stat_in(dirfd, pname, &pst);
	if (r == 0)
		r = ck_criu_pagemap_check_pages(&pm, (uint64_t) pst.st_size);
	if (r < 0)
		errorf(r, "'%s/%s' does not match '%s'", dir, pname, name);
out:
	ck_criu_pagemap_release(&pm);
	return r;
}

/* Which files of the first dump a pre-dump keeps (cr_pre_dump_finish()). */
static bool predump_keeps(const char *name)
{
	return is_pagemap(name) || is_pages(name) ||
	       strcmp(name, "stats-dump") == 0 ||
	       strcmp(name, "irmap-cache") == 0;
}

static int write_predump_inventory(int in_fd, const char *dir, int out_fd)
{
	struct stat st;
	uint8_t *buf = NULL;
	void *out = NULL;
	size_t len = 0, out_len = 0;
	int r;

	r = stat_in(in_fd, "inventory.img", &st);
	if (r == 0)
		r = read_small(in_fd, "inventory.img", &buf, &len);
	if (r < 0)
		return errorf(r, "failed to read '%s/inventory.img'", dir);
	r = ck_criu_inventory_to_predump(buf, len, CK_CRIU_PRE_DUMP_SPLICE,
					 &out, &out_len);
	free(buf);
	if (r < 0)
		return errorf(r, "bad inventory '%s/inventory.img'", dir);
	r = write_out(out_fd, "inventory.img", out, out_len, &st);
	free(out);
	if (r < 0)
		return errorf(r, "failed to write 'inventory.img'");
	return 0;
}

/* Writes OUTDIR/@base from dump @in_dir, against @prev_dir unless NULL. */
static int make_version(int outdir_fd, const char *outdir, const char *base,
			const char *in_dir, const char *prev_dir,
			const char *prev_base, bool predump)
{
	struct dump_stats st = { 0, 0 };
	char **names = NULL, **done = NULL, link[4096];
	size_t n = 0, ndone = 0;
	struct stat dst;
	int in_fd = -1, prev_fd = -1, out_fd = -1, r;

	in_fd = open(in_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (in_fd < 0)
		return errorf(-errno, "failed to open '%s'", in_dir);
	if (fstat(in_fd, &dst) < 0) {
		r = errorf(-errno, "failed to stat '%s'", in_dir);
		goto out;
	}
	if (prev_dir) {
		prev_fd = open(prev_dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (prev_fd < 0) {
			r = errorf(-errno, "failed to open '%s'", prev_dir);
			goto out;
		}
	}
	if (mkdirat(outdir_fd, base, 0700) < 0) {
		r = errorf(-errno, "failed to create '%s/%s'", outdir, base);
		goto out;
	}
	out_fd = openat(outdir_fd, base, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (out_fd < 0) {
		r = errorf(-errno, "failed to open '%s/%s'", outdir, base);
		goto out;
	}

	r = list_dir(in_fd, &names, &n);
	if (r < 0) {
		errorf(r, "failed to list '%s'", in_dir);
		goto out;
	}
	done = calloc(n ? n : 1, sizeof(*done));
	if (!done) {
		r = errorf(-ENOMEM, "out of memory");
		goto out;
	}

	/* A full dump is a flat dir of regular files without a parent. */
	for (size_t i = 0; i < n; i++) {
		struct stat fst;

		r = stat_in(in_fd, names[i], &fst);
		if (r < 0) {
			errorf(r, "failed to stat '%s/%s'", in_dir, names[i]);
			goto out;
		}
		if (!S_ISREG(fst.st_mode) || strcmp(names[i], "parent") == 0) {
			r = errorf(-EINVAL, "'%s/%s' is not a regular file of "
				   "a full dump", in_dir, names[i]);
			goto out;
		}
	}

	/* Pagemaps first: they decide which pages files are rewritten. */
	for (size_t i = 0; i < n; i++) {
		if (!is_pagemap(names[i]))
			continue;
		if (!prev_dir) {
			r = check_full(in_fd, in_dir, names[i], &st);
			if (r < 0)
				goto out;
			continue;
		}
		r = delta_pagemap(prev_fd, prev_dir, in_fd, in_dir, out_fd,
				  names[i], &st, &done[ndone]);
		if (r < 0)
			goto out;
		ndone++;
	}

	for (size_t i = 0; i < n; i++) {
		bool skip = is_pagemap(names[i]) && prev_dir;

		for (size_t k = 0; k < ndone && !skip; k++)
			skip = strcmp(done[k], names[i]) == 0;
		if (skip)
			continue;
		if (predump && strcmp(names[i], "inventory.img") == 0) {
			r = write_predump_inventory(in_fd, in_dir, out_fd);
			if (r < 0)
				goto out;
			continue;
		}
		if (predump && !predump_keeps(names[i]))
			continue;
		r = copy_file(in_fd, out_fd, names[i]);
		if (r < 0) {
			errorf(r, "failed to copy '%s/%s'", in_dir, names[i]);
			goto out;
		}
	}

	if (prev_dir) {
		r = snprintf(link, sizeof(link), "../%s", prev_base);
		if (r < 0 || (size_t) r >= sizeof(link)) {
			r = errorf(-ENAMETOOLONG, "bad name '%s'", prev_base);
			goto out;
		}
		if (symlinkat(link, out_fd, "parent") < 0) {
			r = errorf(-errno, "failed to create '%s/%s/parent'",
				   outdir, base);
			goto out;
		}
	}

	/* Last, so that creating the entries does not change them. */
	{
		const struct timespec ts[2] = { dst.st_atim, dst.st_mtim };

		if (fchmod(out_fd, dst.st_mode & 07777) < 0 ||
		    futimens(out_fd, ts) < 0) {
			r = errorf(-errno, "failed to set times of '%s/%s'",
				   outdir, base);
			goto out;
		}
	}

	printf("%s: %s, %" PRIu64 " pages, %" PRIu64 " in parent (%.1f%%), "
	       "%" PRIu64 " written\n",
	       base, predump ? "pre-dump" : prev_dir ? "dump" : "full dump",
	       st.pages, st.parent_pages,
	       st.pages ? 100.0 * (double) st.parent_pages /
				  (double) st.pages :
			  0.0,
	       st.pages - st.parent_pages);
	r = 0;
out:
	free_names(done, ndone);
	free_names(names, n);
	if (out_fd >= 0)
		close(out_fd);
	if (prev_fd >= 0)
		close(prev_fd);
	close(in_fd);
	return r;
}

/* The last path component of @path, without trailing slashes;
 * caller frees with free(). NULL if there is none. */
static char *base_name(const char *path)
{
	size_t end = strlen(path), start;

	while (end > 0 && path[end - 1] == '/')
		end--;
	start = end;
	while (start > 0 && path[start - 1] != '/')
		start--;
	if (end == start || (end - start == 1 && path[start] == '.') ||
	    (end - start == 2 && strncmp(path + start, "..", 2) == 0))
		return NULL;
	return strndup(path + start, end - start);
}

static void help(void)
{
	printf("Usage: mkchain [--predump-first] OUTDIR FULLDUMP_DIR...\n"
	       "\n"
	       "Turn consecutive full CRIU dumps into an incremental chain:\n"
	       "OUTDIR/<name of each dump> holds the dump with every page\n"
	       "that equals the previous dump's page at the same address\n"
	       "moved into a PE_PARENT entry, and a 'parent' symlink.\n"
	       "\n"
	       "  --predump-first  write the first dump in pre-dump form\n"
	       "  -h, --help       show this help\n");
}

/* <0 usage error, 0 done (--help), >0 continue. */
static int parse_argv(int argc, char **argv)
{
	static const struct option options[] = {
		{ "predump-first", no_argument, NULL, 'p' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+h", options, NULL)) >= 0) {
		switch (c) {
		case 'p':
			arg_predump_first = true;
			break;
		case 'h':
			help();
			return 0;
		default:
			fprintf(stderr, "mkchain: unknown option '%s'\n",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (argc - optind < 2) {
		fprintf(stderr, "mkchain: need OUTDIR and at least one dump "
				"dir; try 'mkchain --help'\n");
		return -EINVAL;
	}
	return 1;
}

int main(int argc, char **argv)
{
	const char *outdir;
	char **bases = NULL;
	size_t nin;
	int outdir_fd = -1, r, ret = EXIT_FAILURE;

	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? 2 : EXIT_SUCCESS;

	outdir = argv[optind];
	nin = (size_t) (argc - optind - 1);
	bases = calloc(nin, sizeof(*bases));
	if (!bases) {
		errorf(-ENOMEM, "out of memory");
		return EXIT_FAILURE;
	}
	for (size_t i = 0; i < nin; i++) {
		bases[i] = base_name(argv[optind + 1 + i]);
		if (!bases[i]) {
			fprintf(stderr, "mkchain: no dir name in '%s'\n",
				argv[optind + 1 + i]);
			ret = 2;
			goto out;
		}
		for (size_t k = 0; k < i; k++)
			if (strcmp(bases[k], bases[i]) == 0) {
				fprintf(stderr,
					"mkchain: two dumps named '%s'\n",
					bases[i]);
				ret = 2;
				goto out;
			}
	}

	if (mkdir(outdir, 0755) < 0 && errno != EEXIST) {
		errorf(-errno, "failed to create '%s'", outdir);
		goto out;
	}
	outdir_fd = open(outdir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (outdir_fd < 0) {
		errorf(-errno, "failed to open '%s'", outdir);
		goto out;
	}

	for (size_t i = 0; i < nin; i++) {
		r = make_version(outdir_fd, outdir, bases[i],
				 argv[optind + 1 + i],
				 i ? argv[optind + i] : NULL,
				 i ? bases[i - 1] : NULL,
				 i == 0 && arg_predump_first);
		if (r < 0)
			goto out;
	}
	ret = EXIT_SUCCESS;
out:
	if (outdir_fd >= 0)
		close(outdir_fd);
	for (size_t i = 0; i < nin; i++)
		free(bases[i]);
	free(bases);
	if (fflush(stdout) != 0 || ferror(stdout))
		ret = EXIT_FAILURE;
	return ret;
}
