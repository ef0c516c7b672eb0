/* SPDX-License-Identifier: MIT */
/*
 * fuzz-main.c - replay driver for builds without libFuzzer.
 *
 *   fuzz-<target> PATH...
 *
 * Runs every regular file named on the command line, or found (not
 * recursively) in a directory named there, through
 * LLVMFuzzerTestOneInput(), so a checked-in corpus runs as an ordinary
 * test. A crash or abort() in the target fails the test. Exits 0 when all
 * inputs ran, 1 on an I/O error, 2 on usage errors and 77 (skip) if no
 * input was found.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define REPLAY_MAX_INPUT (64u * 1024 * 1024)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(int dirfd, const char *name, const char *shown)
{
	struct stat st;
	uint8_t *buf = NULL;
	size_t got = 0;
	int fd, r = 0;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	if (st.st_size > REPLAY_MAX_INPUT) {
		r = -EFBIG;
		goto out;
	}
	/* An exact-size heap buffer, so ASan sees reads past the input. */
	buf = malloc(st.st_size ? (size_t) st.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	while (got < (size_t) st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t) st.st_size - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			r = n < 0 ? -errno : -EIO;
			goto out;
		}
		got += (size_t) n;
	}
	fprintf(stderr, "running %s (%zu bytes)\n", shown, got);
	LLVMFuzzerTestOneInput(buf, got);
out:
	free(buf);
	close(fd);
	return r;
}

int main(int argc, char **argv)
{
	size_t ran = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FILE|DIR...\n", argv[0]);
		return 2;
	}
	for (int i = 1; i < argc; i++) {
		struct dirent *de;
		struct stat st;
		DIR *d;
		int r;

		if (stat(argv[i], &st) < 0) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		if (!S_ISDIR(st.st_mode)) {
			r = run_file(AT_FDCWD, argv[i], argv[i]);
			if (r < 0) {
				fprintf(stderr, "%s: %s\n", argv[i],
					strerror(-r));
				return 1;
			}
			ran++;
			continue;
		}
		d = opendir(argv[i]);
		if (!d) {
			fprintf(stderr, "%s: %s\n", argv[i], strerror(errno));
			return 1;
		}
		while ((de = readdir(d))) {
			if (de->d_name[0] == '.')
				continue;
			if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
			    !S_ISREG(st.st_mode))
				continue;
			r = run_file(dirfd(d), de->d_name, de->d_name);
			if (r < 0) {
				fprintf(stderr, "%s/%s: %s\n", argv[i],
					de->d_name, strerror(-r));
				closedir(d);
				return 1;
			}
			ran++;
		}
		closedir(d);
	}
	fprintf(stderr, "%zu inputs ran\n", ran);
	return ran ? 0 : 77;
}
