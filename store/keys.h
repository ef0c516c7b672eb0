/* SPDX-License-Identifier: MIT */
/*
 * keys.h - the catalog's key layout (docs/format.md has the table).
 *
 * CK_CF_META:
 *   "meta.<name>"                      repository settings (decimal text,
 *                                      the secret as raw bytes)
 *   'C' container '\0' seq:be32        version record (JSON)
 *   'N' container '\0' name            seq:be32 (name index)
 *   'F' vid:be64 path                  entry header (+ symlink target)
 *   'X' vid:be64 path '\0' seg:be32    chunk IDs of one file segment
 *   'f' vid:be64 path, 'x' ...          the same for the flattened view
 *                                      (CRIU page files of incremental
 *                                      dumps with their parents' pages)
 *   'J' epoch:be64 session:be64 n:be32 IDs of chunks a session wrote and
 *                                      has not committed yet (journal)
 *   'P' container                      retention policy (JSON)
 *   'Z' id[16]                         a chunk a deletion kept at count
 *                                      zero for an open session (delete.c)
 * CK_CF_CHUNKS: id[16] -> chunk record (chunk.h)
 * CK_CF_REFS:   id[16] -> u64 LE reference count
 * CK_CF_STATS:  counter name -> u64 LE
 *
 * Big-endian numbers make RocksDB's bytewise order numeric order, so a
 * prefix scan of 'C' container '\0' lists versions oldest first.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "endian.h"
#include "id.h"

#define CK_KEY_FORMAT "meta.format"
#define CK_KEY_SECRET "meta.secret"
#define CK_KEY_CHUNK_UNIT "meta.chunk_unit"
#define CK_KEY_ZSTD_LEVEL "meta.zstd_level"
#define CK_KEY_DELTAS "meta.deltas"
/* "1": train a dictionary from the first large pages file pushed
 * (format 2); the dictionary itself once trained. */
#define CK_KEY_ZDICT_ON "meta.zstd_dict_on"
#define CK_KEY_ZDICT "meta.zstd_dict"
#define CK_KEY_CREATED "meta.created"
#define CK_KEY_NEXT_VID "meta.next_vid"
#define CK_KEY_EPOCH "meta.epoch"
#define CK_KEY_GROUP_SIZE "meta.group_size"
#define CK_KEY_POLICY "meta.policy"
/* Set by every deletion that frees chunks, cleared when ck_repo_compact()
 * starts: the next gc compacts (delete.c). */
#define CK_KEY_COMPACT "meta.compact_pending"
#define CK_KEY_VERSION_PREFIX "C"

#define CK_STAT_CHUNKS "chunks"
#define CK_STAT_RAW "raw_bytes"
#define CK_STAT_STORED "stored_bytes"
#define CK_STAT_DELTA_CHUNKS "delta_chunks"
#define CK_STAT_DELTA_RAW "delta_raw_bytes"
#define CK_STAT_DELTA_STORED "delta_stored_bytes"
#define CK_STAT_LIST_CHUNKS "list_chunks"
#define CK_STAT_LIST_STORED "list_stored_bytes"

/* Callers size buffers from CK_NAME_MAX / CK_PATH_MAX, checked before. */
static inline size_t ck_key_version_prefix(uint8_t *k, const char *ctr)
{
	size_t n = strlen(ctr);

	k[0] = 'C';
	memcpy(k + 1, ctr, n);
	k[1 + n] = 0;
	return n + 2;
}

static inline size_t ck_key_version(uint8_t *k, const char *ctr,
				    uint32_t seq)
{
	size_t n = ck_key_version_prefix(k, ctr);

	ck_put_be32(k + n, seq);
	return n + 4;
}

static inline size_t ck_key_name(uint8_t *k, const char *ctr,
				 const char *name)
{
	size_t n = strlen(ctr), m = strlen(name);

	k[0] = 'N';
	memcpy(k + 1, ctr, n);
	k[1 + n] = 0;
	memcpy(k + 2 + n, name, m);
	return n + m + 2;
}

/* @view: 0 for the files as written, 1 for the flattened view. */
static inline void ck_key_entry_prefix(uint8_t *k, unsigned view,
				       uint64_t vid)
{
	k[0] = view ? 'f' : 'F';
	ck_put_be64(k + 1, vid);
}

static inline size_t ck_key_entry(uint8_t *k, unsigned view, uint64_t vid,
				  const char *path)
{
	size_t n = strlen(path);

	ck_key_entry_prefix(k, view, vid);
	memcpy(k + 9, path, n);
	return n + 9;
}

static inline void ck_key_segment_prefix(uint8_t *k, unsigned view,
					 uint64_t vid)
{
	k[0] = view ? 'x' : 'X';
	ck_put_be64(k + 1, vid);
}

static inline size_t ck_key_segment(uint8_t *k, unsigned view, uint64_t vid,
				    const char *path, uint32_t seg)
{
	size_t n = strlen(path);

	ck_key_segment_prefix(k, view, vid);
	memcpy(k + 9, path, n);
	k[9 + n] = 0;
	ck_put_be32(k + 10 + n, seg);
	return n + 14;
}

static inline size_t ck_key_journal(uint8_t *k, uint64_t epoch,
				    uint64_t session, uint32_t n)
{
	k[0] = 'J';
	ck_put_be64(k + 1, epoch);
	ck_put_be64(k + 9, session);
	ck_put_be32(k + 17, n);
	return 21;
}

static inline size_t ck_key_zero(uint8_t *k, const struct ck_id *id)
{
	k[0] = 'Z';
	memcpy(k + 1, id->b, sizeof(id->b));
	return 1 + sizeof(id->b);
}
