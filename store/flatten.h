/* SPDX-License-Identifier: MIT */
/*
 * flatten.h - the flattened view of incremental CRIU dumps.
 *
 * An incremental dump (criu dump --track-mem --prev-images-dir ../prev)
 * marks unchanged pages PE_PARENT in pagemap-<pid>.img: their content is
 * in the parent image directory, named by the `parent` symlink, and so on
 * down the chain. On a plain share such a version breaks as soon as an
 * older directory is deleted.
 *
 * When a version with PE_PARENT entries is stored, its flattened page
 * files are computed once, at ingest: a pagemap with only PE_PRESENT
 * entries and a pages file holding, for every page the newest pagemap
 * defines, the newest content in the chain - what a full dump at that
 * moment would have held. The parent's layer is its own flattened view
 * (or its written files if it is a full dump), so the work is one merge
 * of two pagemaps, never a walk of the whole chain. The flattened pages
 * file is a list of chunk IDs that are already stored: it costs only
 * metadata, and because the version references those chunks itself, it
 * keeps restoring after the versions of its chain were deleted.
 *
 * Requires the one-page chunk unit (the default): with larger units a
 * chunk may mix pages of two layers, and such versions are stored as
 * CK_CHAIN_BROKEN if their parent pages are needed.
 *
 * Errors: -ENOLINK when the parent's pages are not in the repository;
 * -EBADMSG for a pagemap that does not parse or does not resolve.
 */
#pragma once

#include <stddef.h>

#include "repo.h"

/* Adds the flattened pagemap at @pagemap_path (bytes @pm, @pm_len) and
 * its pages file to session @s, taking PE_PARENT pages from version
 * @parent (NULL: none known). The pages file of this version must have
 * been added to @s already. Returns 1 if the pagemap had PE_PARENT
 * entries (and a flattened view was added), 0 if it is a full dump. */
int ck_flatten_pagemap(struct ck_repo *r, struct ck_session *s,
		       const struct ck_version *parent,
		       const char *pagemap_path, const void *pm, size_t pm_len,
		       const struct ck_file_meta *pm_meta,
		       const struct ck_file_meta *pages_meta);
