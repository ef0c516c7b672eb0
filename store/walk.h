/* SPDX-License-Identifier: MIT */
/*
 * walk.h - listing a checkpoint directory before it is pushed.
 *
 * Both pushes (store/push.c into a local repository, client/remote-push.c
 * over HTTP) list the image directory the same way, before reading any
 * file: every entry, depth first, names sorted bytewise at each level so
 * that a version's entries come out in the same order whatever readdir()
 * returns; lstat() of each (symlinks are entries, never followed);
 * regular files, directories and symlinks only (a device, FIFO or socket
 * has no place in an image directory: -EMEDIUMTYPE); at most
 * CK_WALK_MAX_DEPTH levels and CK_WALK_MAX_ENTRIES entries, paths of at
 * most CK_PATH_MAX bytes. On an error, the path it is about is copied to
 * the caller's errpath.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#include "repo.h"

#define CK_WALK_MAX_DEPTH 32
#define CK_WALK_MAX_ENTRIES 100000

struct ck_walk_item {
	char path[CK_PATH_MAX + 1]; /* relative to the walked directory */
	struct stat st;
};

struct ck_walk {
	int root_fd;		  /* the directory walked (caller's) */
	struct ck_walk_item *v;	  /* entries, parents before children */
	size_t n, cap;
	uint64_t total;		  /* bytes of the regular files */
	char *errpath;		  /* CK_PATH_MAX + 1 bytes, caller's */
};

/* Appends the entries under @rel ("" for the top) of w->root_fd to w->v.
 * Negative errno on failure, with w->errpath set. */
int ck_walk_dir(struct ck_walk *w, const char *rel, int depth);
