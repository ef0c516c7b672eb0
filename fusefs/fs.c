/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "fs.h"
#include "log.h"

#define NBUCKETS (1u << 16)

int ckfs_new(struct ck_backend *b, const struct ckfs_opts *o,
	     struct ckfs **ret)
{
	struct ckfs_node *root = NULL;
	struct ckfs *fs;
	char path[PATH_MAX];
	int q;

	fs = calloc(1, sizeof(*fs));
	if (!fs) {
		ck_backend_free(b);
		return -ENOMEM;
	}
	fs->b = b;
	fs->o = *o;
	fs->spool_fd = fs->data_fd = fs->lock_fd = -1;
	fs->next_ino = 2;
	pthread_mutex_init(&fs->lock, NULL);
	{
		pthread_condattr_t ca;

		pthread_condattr_init(&ca);
		pthread_cond_init(&fs->cond, &ca);
		pthread_condattr_destroy(&ca);
	}
	clock_gettime(CLOCK_REALTIME, &fs->started);
	fs->nbuckets = NBUCKETS;
	fs->by_ino = calloc(fs->nbuckets, sizeof(*fs->by_ino));
	fs->by_name = calloc(fs->nbuckets, sizeof(*fs->by_name));
	root = calloc(1, sizeof(*root));
	if (!fs->by_ino || !fs->by_name || !root) {
		free(root);
		q = -ENOMEM;
		goto fail;
	}
	ckfs_node_root_init(fs, root);

	/* The spool: <spool>/lock keeps a second mount out of it. */
	if (mkdir(o->spool, 0700) < 0 && errno != EEXIST) {
		q = ck_log_error_errno(-errno, "cannot create spool '%s': %m",
				       o->spool);
		goto fail;
	}
	fs->spool_fd = open(o->spool, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fs->spool_fd < 0) {
		q = ck_log_error_errno(-errno, "cannot open spool '%s': %m",
				       o->spool);
		goto fail;
	}
	fs->lock_fd = openat(fs->spool_fd, "lock",
			     O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fs->lock_fd < 0 || flock(fs->lock_fd, LOCK_EX | LOCK_NB) < 0) {
		q = ck_log_error_errno(-errno,
				       "cannot lock spool '%s': %m (is "
				       "another ckstore-fuse using it?)",
				       o->spool);
		goto fail;
	}
	if (mkdirat(fs->spool_fd, "data", 0700) < 0 && errno != EEXIST) {
		q = ck_log_error_errno(-errno, "cannot create '%s/data': %m",
				       o->spool);
		goto fail;
	}
	fs->data_fd = openat(fs->spool_fd, "data",
			     O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fs->data_fd < 0) {
		q = ck_log_error_errno(-errno, "cannot open '%s/data': %m",
				       o->spool);
		goto fail;
	}
	if (!realpath(o->spool, path)) {
		q = -errno;
		goto fail;
	}
	if (strlen(path) + 6 > sizeof(path)) {
		q = -ENAMETOOLONG;
		goto fail;
	}
	strcat(path, "/data");
	fs->data_path = strdup(path);
	if (!fs->data_path) {
		q = -ENOMEM;
		goto fail;
	}
	q = ckfs_recover(fs);
	if (q < 0) {
		ck_log_error_errno(q, "cannot recover the spool '%s': %m",
				   o->spool);
		goto fail;
	}
	*ret = fs;
	return 0;
fail:
	ckfs_free(fs);
	return q;
}

int ckfs_start(struct ckfs *fs)
{
	int q = pthread_create(&fs->committer, NULL, ckfs_committer, fs);

	if (q)
		return -q;
	fs->committer_started = true;
	return 0;
}

void ckfs_stop(struct ckfs *fs)
{
	if (fs->committer_started) {
		pthread_mutex_lock(&fs->lock);
		fs->stopping = true;
		pthread_cond_broadcast(&fs->cond);
		pthread_mutex_unlock(&fs->lock);
		pthread_join(fs->committer, NULL);
		fs->committer_started = false;
	}
	ckfs_commit_all(fs);
}

struct ckfs *ckfs_free(struct ckfs *fs)
{
	if (!fs)
		return NULL;
	/* Nodes the kernel never forgot (it does not at unmount). */
	for (size_t i = 0; fs->by_ino && i < fs->nbuckets; i++) {
		struct ckfs_node *n = fs->by_ino[i];

		while (n) {
			struct ckfs_node *next = n->next_ino;

			if (n->ver)
				ckfs_ver_put_locked(fs, n->ver);
			free(n->name);
			free(n);
			n = next;
		}
	}
	while (fs->vers) { /* the list's counts of what was not stored */
		struct ckfs_ver *v = fs->vers;

		fs->vers = v->next;
		v->next = NULL;
		v->refs = 1;
		ckfs_ver_put_locked(fs, v);
	}
	for (size_t i = 0; i < CKFS_KNOWN_BUCKETS; i++)
		while (fs->known[i]) {
			struct ckfs_known *k = fs->known[i];

			fs->known[i] = k->next;
			free(k);
		}
	free(fs->by_ino);
	free(fs->by_name);
	free(fs->data_path);
	if (fs->data_fd >= 0)
		close(fs->data_fd);
	if (fs->lock_fd >= 0)
		close(fs->lock_fd);
	if (fs->spool_fd >= 0)
		close(fs->spool_fd);
	ck_backend_free(fs->b);
	pthread_cond_destroy(&fs->cond);
	pthread_mutex_destroy(&fs->lock);
	free(fs);
	return NULL;
}
