/* SPDX-License-Identifier: MIT */
/*
 * push.h - ingesting a checkpoint image directory as a new version.
 *
 * Walks the directory (files, subdirectories, symlinks; modes, owners,
 * mtimes), cuts CRIU page files at the repository's chunk unit and every
 * other file at CK_SMALL_CHUNK, and commits the version atomically. When
 * the directory holds CRIU pagemaps, each page's virtual address is
 * known, and a changed page may be stored as a delta against the page at
 * the same address in the parent version (the `parent` link's target, or
 * the container's previous complete version).
 *
 * Errors: as repo.h; the path that failed is copied to o->errpath.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "repo.h"

struct ck_push_opts {
	const char *name;   /* version name; NULL: the directory's name */
	int complete;	    /* -1: stats-dump decides; 0/1: forced */
	void (*progress)(void *ud, uint64_t done, uint64_t total);
	void *progress_ud;
	char errpath[CK_PATH_MAX + 1]; /* out: where it failed, or "" */
	uint64_t delta_tried, delta_used; /* out */
};

int ck_push_dir(struct ck_repo *r, const char *container, const char *src,
		struct ck_push_opts *o, struct ck_version *ret);
