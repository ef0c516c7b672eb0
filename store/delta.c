/* SPDX-License-Identifier: MIT */
/*
 * delta.c - changed pages stored as deltas against the page at the same
 * virtual address in the parent version (docs/decisions.md, D3).
 *
 * A delta is a zstd frame compressed with the base page as a prefix
 * dictionary, so a page that differs in a few bytes costs a few dozen
 * bytes. The base must be a counted chunk; chains are bounded by
 * CK_DELTA_MAX_DEPTH (past it the page is stored whole, which restarts
 * the chain).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "compress.h"
#include "log.h"
#include "mem.h"
#include "repo_internal.h"
#include "session_internal.h"

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	return x;
}

static size_t slot_of(const struct ck_vmap_slot *v, size_t cap,
		      uint64_t space, uint64_t vaddr)
{
	size_t j = (size_t)mix(vaddr ^ mix(space)) & (cap - 1);

	while (v[j].vaddr &&
	       !(v[j].vaddr == vaddr + 1 && v[j].space == space))
		j = (j + 1) & (cap - 1);
	return j;
}

int ck_session_load_bases(struct ck_session *s, uint64_t space,
			  const uint64_t *vaddrs, const struct ck_id *ids,
			  size_t n)
{
	if ((s->vmap_n + n) * 2 > s->vmap_cap) {
		size_t cap = s->vmap_cap ? s->vmap_cap : 1024;
		struct ck_vmap_slot *nv;

		while (cap < 2 * (s->vmap_n + n))
			cap *= 2;
		nv = ck_zalloc(cap, sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		for (size_t i = 0; i < s->vmap_cap; i++)
			if (s->vmap[i].vaddr)
				nv[slot_of(nv, cap, s->vmap[i].space,
					   s->vmap[i].vaddr - 1)] = s->vmap[i];
		free(s->vmap);
		s->vmap = nv;
		s->vmap_cap = cap;
	}
	for (size_t i = 0; i < n; i++) {
		size_t j;

		if (ck_id_is_zero(&ids[i]))
			continue;
		j = slot_of(s->vmap, s->vmap_cap, space, vaddrs[i]);
		if (!s->vmap[j].vaddr)
			s->vmap_n++;
		s->vmap[j].space = space;
		s->vmap[j].vaddr = vaddrs[i] + 1;
		s->vmap[j].id = ids[i];
	}
	return 0;
}

const struct ck_id *ck_session_base_for(struct ck_session *s, uint64_t space,
					uint64_t vaddr)
{
	size_t j;

	if (!s->vmap_cap)
		return NULL;
	j = slot_of(s->vmap, s->vmap_cap, space, vaddr);
	return s->vmap[j].vaddr ? &s->vmap[j].id : NULL;
}

/* Compresses @data against base @bdata (@blen bytes, chunk @base of depth
 * @depth); keeps the result if it beats *best. */
static int try_one(struct ck_session *s, struct ck_enc *enc, const void *data,
		   size_t len, const struct ck_id *base, const void *bdata,
		   size_t blen, unsigned depth, struct ck_chunk_hdr *h,
		   size_t *best)
{
	struct ck_repo *r = s->r;
	uint8_t out[8192];
	size_t dlen = 0;
	int q;

	q = ck_session_hold_base(s, base);
	if (q <= 0)
		return q;
	q = ck_compress(r->settings.zstd_level, data, len, bdata, blen, out,
			sizeof(out), &dlen);
	if (q == -ENOSPC)
		return 0;
	if (q < 0)
		return q;
	/* Against a whole record the base ID costs 16 bytes of header;
	 * demand a real gain. Between two deltas, smaller wins. */
	if (dlen + (h->enc == CK_ENC_DELTA ? 0 : CK_ID_SIZE + 8) >= *best)
		return 0;
	memcpy(enc->buf + CK_CHUNK_HDR_DELTA, out, dlen);
	h->enc = CK_ENC_DELTA;
	h->depth = (uint8_t)(depth + 1);
	h->base = *base;
	*best = dlen;
	return 0;
}


/*
 * Candidates: the parent's page itself, unless its chain is already at
 * CK_DELTA_MAX_DEPTH, and the root of its chain (a whole page). A page
 * that drifts a few bytes per version stays a small delta of the root
 * instead of being stored whole every CK_DELTA_MAX_DEPTH + 1 versions
 * (docs/decisions.md, D4). Decoded bases and their headers come from the
 * repository's base cache, so walking to the root is cheap.
 */
int ck_session_try_delta(struct ck_session *s, struct ck_enc *enc,
			 const void *data, size_t len,
			 const struct ck_id *base, struct ck_chunk_hdr *h,
			 size_t *zlen)
{
	struct ck_repo *r = s->r;
	struct ck_chunk_hdr bh, rh;
	struct ck_id root;
	void *bdata = NULL;
	int q, blen;

	if (len > 8192 - 64)
		return 0; /* deltas are for page-sized chunks */
	enc->delta_tried++;
	blen = ck_repo_base_get_hdr(r, base, CK_DELTA_MAX_DEPTH + 1, &bdata,
				    &bh);
	if (blen < 0)
		return blen;
	q = 0;
	if (bh.depth < CK_DELTA_MAX_DEPTH)
		q = try_one(s, enc, data, len, base, bdata, (size_t)blen,
			    bh.depth, h, zlen);
	ck_repo_base_put(r, bdata);
	if (q < 0)
		return q;
	if (bh.enc == CK_ENC_DELTA &&
	    (h->enc != CK_ENC_DELTA || *zlen > CK_GOOD_DELTA)) {
		root = bh.base;
		for (int i = 0; i <= CK_DELTA_MAX_DEPTH; i++) {
			blen = ck_repo_base_get_hdr(r, &root,
						    CK_DELTA_MAX_DEPTH + 1,
						    &bdata, &rh);
			if (blen < 0)
				return blen;
			if (rh.enc != CK_ENC_DELTA) {
				q = try_one(s, enc, data, len, &root, bdata,
					    (size_t)blen, 0, h, zlen);
				ck_repo_base_put(r, bdata);
				break;
			}
			ck_repo_base_put(r, bdata);
			root = rh.base;
		}
		if (q < 0)
			return q;
	}
	if (h->enc == CK_ENC_DELTA)
		enc->delta_used++;
	return 0;
}

enum ck_kind ck_session_dir_kind(struct ck_session *s, bool has_pagemap,
				 bool has_pstree)
{
	(void)s;
	/* criu pre-dump writes memory images only: no process tree. */
	return has_pagemap && !has_pstree ? CK_KIND_PREDUMP : CK_KIND_DUMP;
}
