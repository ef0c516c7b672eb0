/* SPDX-License-Identifier: MIT */
/*
 * criu-reader - reads a CRIU image directory the way `criu restore`
 * reads its memory: for every pagemap-*.img, each run of PE_PRESENT pages
 * with one preadv(2) from pages-<id>.img into page-sized buffers (CRIU
 * preadv()s page runs into the restored process's address space), in
 * pagemap order. Prints "<bytes> <seconds> <hash>": the seconds are
 * those spent in open() and preadv() only; the hash (FNV-1a of every page
 * with its virtual address, computed outside the timed calls) is the same
 * for two directories that hold the same memory, whatever their layout.
 *
 * Usage: criu-reader DIR
 * Exit: 0 ok, 1 failure, 2 usage.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "criu.h"

#define PAGE 4096
#define RUN_IOV 256 /* pages per preadv(); IOV_MAX is 1024 */

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 0x100000001b3ULL;
	return h;
}

static int read_all(int dir, const char *name, void **ret, size_t *ret_n)
{
	struct stat st;
	void *b;
	int fd = openat(dir, name, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) < 0)
		return -errno;
	b = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!b || pread(fd, b, (size_t)st.st_size, 0) != st.st_size) {
		free(b);
		close(fd);
		return -EIO;
	}
	close(fd);
	*ret = b;
	*ret_n = (size_t)st.st_size;
	return 0;
}

static double io_s; /* time in open() and preadv() */

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int one(int dir, const char *pmname, uint64_t *bytes, uint64_t *h)
{
	double t;
	static unsigned char buf[RUN_IOV][PAGE];
	struct ck_criu_pagemap pm = CK_CRIU_PAGEMAP_INIT;
	struct iovec iov[RUN_IOV];
	char pages[64];
	void *b = NULL;
	size_t n = 0;
	off_t off = 0;
	int fd = -1, q;

	q = read_all(dir, pmname, &b, &n);
	if (q == 0)
		q = ck_criu_pagemap_parse(b, n, &pm);
	free(b);
	if (q < 0)
		goto out;
	snprintf(pages, sizeof(pages), "pages-%" PRIu64 ".img", pm.pages_id);
	t = now();
	fd = openat(dir, pages, O_RDONLY | O_CLOEXEC);
	io_s += now() - t;
	if (fd < 0) {
		q = -errno;
		goto out;
	}
	for (size_t i = 0; i < pm.n; i++) {
		uint64_t left = pm.e[i].nr_pages, va = pm.e[i].vaddr;

		if (!(pm.e[i].flags & CK_CRIU_PE_PRESENT))
			continue;
		while (left > 0) {
			size_t k = left < RUN_IOV ? (size_t)left : RUN_IOV;
			ssize_t got;

			for (size_t j = 0; j < k; j++) {
				iov[j].iov_base = buf[j];
				iov[j].iov_len = PAGE;
			}
			t = now();
			got = preadv(fd, iov, (int)k, off);
			io_s += now() - t;
			if (got != (ssize_t)(k * PAGE)) {
				q = got < 0 ? -errno : -EIO;
				goto out;
			}
			for (size_t j = 0; j < k; j++) {
				uint64_t a = va + j * PAGE;

				*h = fnv(*h, &a, sizeof(a));
				*h = fnv(*h, buf[j], PAGE);
			}
			off += got;
			*bytes += (uint64_t)got;
			va += k * PAGE;
			left -= k;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	ck_criu_pagemap_release(&pm);
	return q;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv)
{
	char *names[4096];
	size_t nn = 0;
	uint64_t bytes = 0, h = 0xcbf29ce484222325ULL;
	struct dirent *de;
	DIR *d;
	int dir, q = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: criu-reader DIR\n");
		return 2;
	}
	dir = open(argv[1], O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	d = dir >= 0 ? fdopendir(dup(dir)) : NULL;
	if (!d) {
		fprintf(stderr, "criu-reader: '%s': %s\n", argv[1],
			strerror(errno));
		return 1;
	}
	while ((de = readdir(d)) && nn < 4096)
		if (!strncmp(de->d_name, "pagemap-", 8))
			names[nn++] = strdup(de->d_name);
	closedir(d);
	qsort(names, nn, sizeof(*names), cmp_str);
	for (size_t i = 0; i < nn && q == 0; i++) {
		q = one(dir, names[i], &bytes, &h);
		if (q < 0)
			fprintf(stderr, "criu-reader: '%s/%s': %s\n", argv[1],
				names[i], strerror(-q));
	}
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	close(dir);
	if (q < 0)
		return 1;
	printf("%" PRIu64 " %.6f %016" PRIx64 "\n", bytes, io_s, h);
	return 0;
}
