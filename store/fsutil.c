/* SPDX-License-Identifier: MIT */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"

int ck_mkdir_empty(const char *path)
{
	DIR *d;
	struct dirent *de;

	if (mkdir(path, 0755) == 0)
		return 0;
	if (errno != EEXIST)
		return -errno;
	d = opendir(path);
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) {
			closedir(d);
			return -EEXIST;
		}
	}
	closedir(d);
	return 0;
}

int ck_fsync_path(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int r = 0;

	if (fd < 0)
		return -errno;
	if (fsync(fd) < 0)
		r = -errno;
	close(fd);
	return r;
}

static int du_at(int dfd, uint64_t *acc, int depth)
{
	DIR *d;
	struct dirent *de;
	int r = 0;

	if (depth > 32) {
		close(dfd);
		return -ELOOP;
	}
	d = fdopendir(dfd);
	if (!d) {
		r = -errno;
		close(dfd);
		return r;
	}
	while ((de = readdir(d))) {
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) <
		    0) {
			if (errno == ENOENT)
				continue; /* raced with a compaction */
			r = -errno;
			break;
		}
		/* Apparent sizes (du -sb): RocksDB preallocates its log while
		 * the database is open, which st_blocks would count. */
		if (!S_ISDIR(st.st_mode))
			*acc += (uint64_t)st.st_size;
		if (S_ISDIR(st.st_mode)) {
			int sub = openat(dirfd(d), de->d_name,
					 O_RDONLY | O_DIRECTORY | O_CLOEXEC);

			if (sub < 0) {
				r = -errno;
				break;
			}
			r = du_at(sub, acc, depth + 1);
			if (r < 0)
				break;
		}
	}
	closedir(d);
	return r;
}

int ck_du(const char *path, uint64_t *ret)
{
	uint64_t acc = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	r = du_at(fd, &acc, 0);
	if (r < 0)
		return r;
	*ret = acc;
	return 0;
}

int ck_write_all(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t k = write(fd, p, n);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		n -= (size_t)k;
	}
	return 0;
}

int ck_pwrite_all(int fd, const void *buf, size_t n, off_t off)
{
	const uint8_t *p = buf;

	while (n > 0) {
		ssize_t k = pwrite(fd, p, n, off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		p += k;
		off += k;
		n -= (size_t)k;
	}
	return 0;
}

int ck_pread_all(int fd, void *buf, size_t n, off_t off)
{
	uint8_t *p = buf;

	while (n > 0) {
		ssize_t k = pread(fd, p, n, off);

		if (k < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		if (k == 0)
			return -EIO; /* the file shrank under us */
		p += k;
		off += k;
		n -= (size_t)k;
	}
	return 0;
}

int ck_read_file(const char *path, size_t max, void **ret, size_t *ret_len)
{
	struct stat st;
	void *buf = NULL;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if ((uint64_t)st.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	r = ck_pread_all(fd, buf, (size_t)st.st_size, 0);
	if (r < 0)
		goto out;
	*ret = buf;
	*ret_len = (size_t)st.st_size;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}
