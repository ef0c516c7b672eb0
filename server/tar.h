/* SPDX-License-Identifier: MIT */
/*
 * tar.h - a whole version as a tar stream (GET .../versions/V/tar).
 *
 * tar.c is the only file that includes <archive.h>. The archive is pax
 * (POSIX.1-2001, "restricted": plain ustar headers unless a path, size or
 * nanosecond mtime needs an extended header), produced on demand: each
 * ck_tar_read() writes the next header or the next MiB of the current
 * file, so memory stays bounded whatever the version's size and nothing
 * is produced for a client that went away. Every byte is read through
 * ck_file_read(), so every chunk is verified; a chunk that fails makes
 * the read fail and the server cuts the connection (the archive is then
 * visibly truncated, never silently wrong).
 *
 * Entries come in path order (directories before their contents) under
 * "@prefix/" (none if @prefix is empty), with modes, numeric owners and
 * mtimes as stored; symlinks keep their targets.
 *
 * Threads: one struct ck_tar belongs to one thread at a time.
 */
#pragma once

#include <stdbool.h>
#include <sys/types.h>

#include "repo.h"

struct ck_tar;

/* @flatten: the flattened view (no `parent` link needed; -ENOLINK if
 * the version's chain is broken). */
int ck_tar_new(struct ck_repo *r, const struct ck_version *v,
	       const char *prefix, bool flatten, struct ck_tar **ret);
/* Up to @max bytes of the archive; 0 at its end; -errno on failure. */
ssize_t ck_tar_read(struct ck_tar *t, char *buf, size_t max);
struct ck_tar *ck_tar_free(struct ck_tar *t);
