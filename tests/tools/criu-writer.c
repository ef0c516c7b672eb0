/* SPDX-License-Identifier: MIT */
/*
 * criu-writer - writes a CRIU image directory into a target directory the
 * way CRIU writes one, for tests and benchmarks of ckstore-fuse:
 *
 *   - the target directory is made with mkdir(2), files are created in
 *     it with openat(2) relative to the directory's descriptor;
 *   - pages-*.img are written with splice(2) from a pipe in large chunks
 *     (CRIU vmsplice()s the process's pages into a pipe, then splices the
 *     pipe into the image); every other image with pwrite(2) of 4 KiB
 *     pieces at increasing offsets (CRIU's buffered image writes);
 *   - the `parent` symlink as it is in the source (e.g. ../v01);
 *   - stats-dump last, then fsync of the directory (with --fsync every
 *     file is fsync()ed when written).
 *
 * Usage: criu-writer [--fsync] [--no-stats] [--stop-after BYTES]
 *                    [--time] SRC DST
 *   --no-stats        leave out stats-dump (an abandoned dump)
 *   --stop-after N    stop (exit 3) after N bytes of page data, without
 *                     stats-dump, mid-file: a dump whose writer died
 *   --time            print "<bytes> <seconds to the close of the last
 *                     file> <seconds to the end of the final fsync>"
 *                     (both from the mkdir) on stdout
 *
 * Exit: 0 ok, 1 failure (errno named on stderr), 2 usage, 3 stopped.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define PIPE_BYTES (1 << 20)
#define SMALL_PIECE 4096

static bool arg_fsync, arg_no_stats, arg_time;
static long long arg_stop_after = -1;
static long long page_bytes, total_bytes;

static int fail(const char *what, const char *name)
{
	fprintf(stderr, "criu-writer: %s '%s': %s\n", what, name,
		strerror(errno));
	return -1;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool is_pages(const char *n)
{
	size_t k = strlen(n);

	return strncmp(n, "pages-", 6) == 0 && k > 10 &&
	       !strcmp(n + k - 4, ".img");
}

/* Returns 1 when --stop-after was reached. */
static int write_pages(int src, int dst, const char *name)
{
	int p[2];
	int r = 0;

	if (pipe(p) < 0)
		return fail("pipe for", name);
	(void)fcntl(p[1], F_SETPIPE_SZ, PIPE_BYTES);
	for (;;) {
		size_t want = PIPE_BYTES;
		ssize_t in, out;

		if (arg_stop_after >= 0) {
			if (page_bytes >= arg_stop_after) {
				r = 1;
				break;
			}
			if ((long long)want > arg_stop_after - page_bytes)
				want = (size_t)(arg_stop_after - page_bytes);
		}
		in = splice(src, NULL, p[1], NULL, want, SPLICE_F_MOVE);
		if (in < 0) {
			r = fail("splice from", name);
			break;
		}
		if (in == 0)
			break;
		while (in > 0) {
			out = splice(p[0], NULL, dst, NULL, (size_t)in,
				     SPLICE_F_MOVE);
			if (out <= 0) {
				if (out == 0)
					errno = EIO;
				r = fail("splice into", name);
				goto out;
			}
			in -= out;
			page_bytes += out;
			total_bytes += out;
		}
	}
out:
	close(p[0]);
	close(p[1]);
	return r;
}

static int write_small(int src, int dst, const char *name)
{
	char buf[SMALL_PIECE];
	off_t off = 0;

	for (;;) {
		ssize_t k = read(src, buf, sizeof(buf)), w;

		if (k < 0)
			return fail("read", name);
		if (k == 0)
			return 0;
		w = pwrite(dst, buf, (size_t)k, off);
		if (w != k) {
			if (w >= 0)
				errno = EIO;
			return fail("pwrite", name);
		}
		off += k;
		total_bytes += k;
	}
}

static int copy_file(int sdir, int ddir, const char *name,
		     const struct stat *st)
{
	int src, dst, r;

	src = openat(sdir, name, O_RDONLY | O_CLOEXEC);
	if (src < 0)
		return fail("open", name);
	dst = openat(ddir, name, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC,
		     st->st_mode & 07777);
	if (dst < 0) {
		close(src);
		return fail("create", name);
	}
	r = is_pages(name) ? write_pages(src, dst, name)
			   : write_small(src, dst, name);
	if (r == 0 && fchmod(dst, st->st_mode & 07777) < 0)
		r = fail("chmod", name);
	if (r == 0 && arg_fsync && fsync(dst) < 0)
		r = fail("fsync", name);
	if (close(dst) < 0 && r == 0)
		r = fail("close", name);
	close(src);
	return r;
}

static int copy_dir(int sdir, int ddir, bool top)
{
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	DIR *d;
	int fd, r = 0;
	bool stats = false;

	fd = dup(sdir);
	d = fd >= 0 ? fdopendir(fd) : NULL;
	if (!d)
		return fail("read directory", ".");
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
			if (!names) {
				closedir(d);
				return -1;
			}
		}
		names[n++] = strdup(de->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && r == 0; i++) {
		struct stat st;

		if (top && !strcmp(names[i], "stats-dump")) {
			stats = true;
			continue;
		}
		if (fstatat(sdir, names[i], &st, AT_SYMLINK_NOFOLLOW) < 0) {
			r = fail("stat", names[i]);
		} else if (S_ISLNK(st.st_mode)) {
			char t[PATH_MAX];
			ssize_t k = readlinkat(sdir, names[i], t, sizeof(t) - 1);

			if (k < 0)
				r = fail("readlink", names[i]);
			else {
				t[k] = 0;
				if (symlinkat(t, ddir, names[i]) < 0)
					r = fail("symlink", names[i]);
			}
		} else if (S_ISDIR(st.st_mode)) {
			int s2, d2;

			if (mkdirat(ddir, names[i], st.st_mode & 07777) < 0)
				r = fail("mkdir", names[i]);
			s2 = openat(sdir, names[i], O_RDONLY | O_DIRECTORY);
			d2 = openat(ddir, names[i], O_RDONLY | O_DIRECTORY);
			if (r == 0 && (s2 < 0 || d2 < 0))
				r = fail("open directory", names[i]);
			if (r == 0)
				r = copy_dir(s2, d2, false);
			if (s2 >= 0)
				close(s2);
			if (d2 >= 0)
				close(d2);
		} else if (S_ISREG(st.st_mode)) {
			r = copy_file(sdir, ddir, names[i], &st);
		}
	}
	if (r == 0 && stats && !arg_no_stats) {
		struct stat st;

		if (fstatat(sdir, "stats-dump", &st, 0) < 0)
			r = fail("stat", "stats-dump");
		else
			r = copy_file(sdir, ddir, "stats-dump", &st);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return r;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	int i = 1, sdir, ddir, r;
	double t0, t1;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (!strcmp(argv[i], "--fsync"))
			arg_fsync = true;
		else if (!strcmp(argv[i], "--no-stats"))
			arg_no_stats = true;
		else if (!strcmp(argv[i], "--time"))
			arg_time = true;
		else if (!strcmp(argv[i], "--stop-after") && i + 1 < argc)
			arg_stop_after = atoll(argv[++i]);
		else {
			fprintf(stderr, "criu-writer: unknown option '%s'\n",
				argv[i]);
			return 2;
		}
	}
	if (argc - i != 2) {
		fprintf(stderr, "usage: criu-writer [--fsync] [--no-stats] "
				"[--stop-after BYTES] [--time] SRC DST\n");
		return 2;
	}
	sdir = open(argv[i], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (sdir < 0)
		return fail("open", argv[i]) ? 1 : 1;
	t0 = now();
	if (mkdir(argv[i + 1], 0755) < 0 && errno != EEXIST)
		return fail("mkdir", argv[i + 1]) ? 1 : 1;
	ddir = open(argv[i + 1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (ddir < 0)
		return fail("open", argv[i + 1]) ? 1 : 1;
	r = copy_dir(sdir, ddir, true);
	if (r == 1)
		return 3; /* the writer "died" */
	t1 = now();
	/* The directory's fsync: on ckstore-fuse it returns once the
	 * version is in the repository. */
	if (r == 0 && fsync(ddir) < 0)
		r = fail("fsync", argv[i + 1]);
	if (r == 0 && arg_time)
		printf("%lld %.6f %.6f\n", total_bytes, t1 - t0, now() - t0);
	close(ddir);
	close(sdir);
	return r == 0 ? 0 : 1;
}
