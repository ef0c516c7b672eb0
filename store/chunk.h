/* SPDX-License-Identifier: MIT */
/*
 * chunk.h - the chunk record: how one chunk body is stored.
 *
 * A record is the value stored under the chunk's ID (catalog CK_CF_CHUNKS):
 *
 *   off  size  field
 *   0    1     format      CK_CHUNK_FORMAT (1)
 *   1    1     encoding    CK_ENC_RAW | CK_ENC_ZSTD | CK_ENC_DELTA |
 *                          CK_ENC_ZDICT
 *   2    1     depth       0 unless a delta: 1 + depth of the base
 *   3    1     flags       CK_CHUNK_LIST: the chunk is a chunk list
 *                          (format 2, repo_internal.h), else 0
 *   4    4     raw_len     u32 LE, bytes the record decodes to
 *   8    16    base ID     present only for CK_ENC_DELTA
 *   ...        body        raw bytes, a zstd frame, a zstd frame made
 *                          with the base's raw bytes as prefix dictionary,
 *                          or a zstd frame made with the repository's
 *                          trained dictionary (meta.zstd_dict, format 2)
 *
 * Invariants: decoding a record (with its base, for a delta) yields
 * raw_len bytes whose keyed hash is the record's key; a delta's depth is
 * at most CK_DELTA_MAX_DEPTH, so reading one walks a bounded chain; a
 * delta's base is a stored chunk as long as the delta is (reference
 * counting keeps it, see repo.h).
 *
 * Errors: -EBADMSG for a record that does not parse.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "id.h"

#define CK_CHUNK_FORMAT 1
#define CK_CHUNK_MAX (4u << 20) /* largest raw chunk: 4 MiB */
#define CK_DELTA_MAX_DEPTH 4	/* see docs/decisions.md */
#define CK_CHUNK_HDR 8
#define CK_CHUNK_HDR_DELTA (CK_CHUNK_HDR + CK_ID_SIZE)

enum ck_chunk_enc {
	CK_ENC_RAW = 0,
	CK_ENC_ZSTD = 1,
	CK_ENC_DELTA = 2,
	CK_ENC_ZDICT = 3,
};

#define CK_CHUNK_LIST 1

struct ck_chunk_hdr {
	enum ck_chunk_enc enc;
	uint8_t depth;
	uint8_t flags; /* CK_CHUNK_LIST or 0 */
	uint32_t raw_len;
	struct ck_id base; /* valid for CK_ENC_DELTA */
	size_t body_off;   /* offset of the body in the record */
};

/* Parses the header of @rec; checks sizes against @len. */
int ck_chunk_parse(const void *rec, size_t len, struct ck_chunk_hdr *ret);
/* Writes a header for @h into @dst (CK_CHUNK_HDR_DELTA bytes room);
 * returns its length. */
size_t ck_chunk_write_hdr(const struct ck_chunk_hdr *h, void *dst);
