/* SPDX-License-Identifier: MIT */
/*
 * walk.c - listing a checkpoint directory (walk.h).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mem.h"
#include "walk.h"

static int set_err(struct ck_walk *w, const char *path, int r)
{
	snprintf(w->errpath, CK_PATH_MAX + 1, "%s", path);
	return r;
}

static int cmp_name(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ck_walk_dir(struct ck_walk *w, const char *rel, int depth)
{
	char **names = NULL;
	size_t nn = 0, cap = 0;
	DIR *d = NULL;
	struct dirent *de;
	int fd, q = 0;

	if (depth > CK_WALK_MAX_DEPTH)
		return set_err(w, rel, -ELOOP);
	fd = rel[0] ? openat(w->root_fd, rel,
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
		    : dup(w->root_fd);
	if (fd < 0)
		return set_err(w, rel, -errno);
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return set_err(w, rel, -errno);
	}
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (CK_GROW(names, nn, cap, 64) < 0) {
			q = -ENOMEM;
			goto out;
		}
		names[nn] = strdup(de->d_name);
		if (!names[nn]) {
			q = -ENOMEM;
			goto out;
		}
		nn++;
	}
	qsort(names, nn, sizeof(*names), cmp_name);
	for (size_t i = 0; i < nn; i++) {
		struct ck_walk_item *it;
		int len;

		if (w->n >= CK_WALK_MAX_ENTRIES) {
			q = set_err(w, rel, -E2BIG);
			goto out;
		}
		if (CK_GROW(w->v, w->n, w->cap, 64) < 0) {
			q = -ENOMEM;
			goto out;
		}
		it = &w->v[w->n];
		len = snprintf(it->path, sizeof(it->path), "%s%s%s", rel,
			       rel[0] ? "/" : "", names[i]);
		if (len < 0 || (size_t)len >= sizeof(it->path)) {
			q = set_err(w, names[i], -ENAMETOOLONG);
			goto out;
		}
		if (fstatat(w->root_fd, it->path, &it->st,
			    AT_SYMLINK_NOFOLLOW) < 0) {
			q = set_err(w, it->path, -errno);
			goto out;
		}
		if (!S_ISREG(it->st.st_mode) && !S_ISDIR(it->st.st_mode) &&
		    !S_ISLNK(it->st.st_mode)) {
			/* Devices, FIFOs and sockets have no place in an
			 * image directory. */
			q = set_err(w, it->path, -EMEDIUMTYPE);
			goto out;
		}
		w->n++;
		if (S_ISREG(it->st.st_mode))
			w->total += (uint64_t)it->st.st_size;
		if (S_ISDIR(it->st.st_mode)) {
			char sub[CK_PATH_MAX + 1];

			memcpy(sub, it->path, sizeof(sub));
			q = ck_walk_dir(w, sub, depth + 1);
			if (q < 0)
				goto out;
		}
	}
out:
	for (size_t i = 0; i < nn; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return q;
}
