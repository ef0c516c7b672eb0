/* SPDX-License-Identifier: MIT */
/*
 * session_internal.h - the state of one ingest session (session.c) and
 * the delta helpers it uses (delta.c). Not for programs.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "chunk.h"
#include "idmap.h"
#include "repo.h"

struct ck_sfile {
	struct ck_entry e;
	struct ck_id *ids; /* files: e.nchunks IDs, zero ID = zero chunk */
	/* Format 2: the list chunks of ids, CK_LIST_IDS IDs each (commit) */
	struct ck_id *lists;
};

struct ck_vmap_slot {
	uint64_t space; /* which address space (pagemap) */
	uint64_t vaddr; /* key + 1; 0 marks an empty slot */
	struct ck_id id;
};

/* Where one thread encodes records (session.c encode()): the session's
 * own for the calling thread, one per helper of a parallel block. */
struct ck_enc {
	uint8_t *buf; /* one encoded record: header + body */
	size_t cap;
	uint64_t delta_tried, delta_used;
};

struct ck_session {
	struct ck_repo *r;
	char container[CK_NAME_MAX + 1];
	char name[CK_NAME_MAX + 1];
	uint64_t epoch; /* r->del_epoch when the session began */
	uint64_t parent_vid; /* version deltas are made against, or 0 */
	uint64_t sid;	/* session id within the writer epoch */
	uint32_t njournal; /* journal records written */
	bool committed;
	bool complete_set, complete;

	struct ck_sfile *files; /* entries in insertion order */
	size_t n, cap;
	struct ck_sfile *flat; /* flattened view's files */
	size_t nflat, flat_cap;
	enum ck_chain chain;
	bool kind_set;
	enum ck_kind kind;
	uint64_t logical;
	uint64_t done; /* bytes hashed, for progress */
	void (*progress)(void *ud, uint64_t done);
	void *progress_ud;

	struct ck_idmap ids;   /* chunks this version references: ID_* */
	struct ck_idmap known; /* chunks a committed version referenced */
	/* Chunks this session uses that were counted when it looked:
	 * a deletion keeps them (delete.c). Changed only under r->lock. */
	struct ck_idmap held;
	/* No other session was live since this one began (r->lock): then
	 * nobody else can count or rewrite the records it writes, and the
	 * commit takes their headers from @whdr instead of reading them
	 * back (session.c own_chunks()). */
	bool alone;
	struct ck_idmap whdr; /* written record -> index + 1 in wrec */
	struct ck_wrec {
		struct ck_id base; /* deltas */
		uint32_t raw_len, len;
		uint8_t enc, flags;
	} *wrec;
	size_t nwrec, wrec_cap;

	/* New records not yet written (session.c flush()). */
	struct { struct ck_id id; size_t off, len; } *pend;
	size_t npend, pend_cap;
	uint8_t *pbuf;
	size_t pbuf_len, pbuf_cap;

	struct ck_enc enc; /* the calling thread's */
	/* Parallel encode (session.c encode_block()): helpers, started at
	 * the first block worth it, and one record slot per chunk. */
	struct ck_pool *pool;
	bool pool_tried;
	uint8_t *par;
	size_t par_slot;

	/* Same-address delta bases: vaddr of a page of the parent version
	 * -> its chunk ID (delta.c). */
	struct ck_vmap_slot *vmap;
	size_t vmap_cap, vmap_n;
};

/* session.c: whether @id may serve as a delta base: a chunk with a count
 * key, which the session then holds (1), or not (0). A deletion keeps
 * what a session holds, so the delta's base stays. */
int ck_session_hold_base(struct ck_session *s, const struct ck_id *id);

/* A delta smaller than this is kept without trying the chain's root or
 * compressing the page whole. */
#define CK_GOOD_DELTA 256

/* delta.c */
/* Records pages of the parent version: in address space @space (one per
 * process), the chunk at @vaddrs[i] is @ids[i]. */
int ck_session_load_bases(struct ck_session *s, uint64_t space,
			  const uint64_t *vaddrs, const struct ck_id *ids,
			  size_t n);
/* The parent's chunk at (@space, @vaddr), or NULL. Borrowed. */
const struct ck_id *ck_session_base_for(struct ck_session *s, uint64_t space,
					uint64_t vaddr);
/* Tries to encode @data as a delta against @base; if the delta is smaller
 * than *zlen, writes its body at enc->buf + CK_CHUNK_HDR_DELTA and updates
 * @h and *zlen. Safe to call from several threads of one session. */
int ck_session_try_delta(struct ck_session *s, struct ck_enc *enc,
			 const void *data, size_t len,
			 const struct ck_id *base, struct ck_chunk_hdr *h,
			 size_t *zlen);
enum ck_kind ck_session_dir_kind(struct ck_session *s, bool has_pagemap,
				 bool has_pstree);
