/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "criu.h"
#include "extract.h"
#include "flatten.h"
#include "log.h"
#include "repo_internal.h"

#define PAGEMAP_MAX (64u << 20)

static int pages_path_of(const char *pagemap_path, uint64_t pages_id,
			 char *buf, size_t cap)
{
	const char *b = strrchr(pagemap_path, '/');
	int dlen = b ? (int)(b + 1 - pagemap_path) : 0;
	int n = snprintf(buf, cap, "%.*spages-%" PRIu64 ".img", dlen,
			 pagemap_path, pages_id);

	return n < 0 || (size_t)n >= cap ? -ENAMETOOLONG : 0;
}

/* Reads a whole (small) file of a version's view. */
static int read_entry(struct ck_repo *r, uint64_t vid,
		      const struct ck_entry *e, void **ret, size_t *ret_len)
{
	void *buf;
	int q;

	if (e->type != CK_ENTRY_FILE || e->size > PAGEMAP_MAX)
		return -EBADMSG;
	buf = malloc(e->size ? e->size : 1);
	if (!buf)
		return -ENOMEM;
	q = ck_file_read(r, vid, e, 0, buf, e->size);
	if (q >= 0 && (uint64_t)q != e->size)
		q = -EIO;
	if (q < 0) {
		free(buf);
		return q;
	}
	*ret = buf;
	*ret_len = e->size;
	return 0;
}

/* The parent's layer for @pagemap_path: its flattened view if it has
 * one, else its written files (which must then be a full dump). */
static int parent_layer(struct ck_repo *r, const struct ck_version *pv,
			const char *pagemap_path,
			struct ck_criu_pagemap *ret_pm, struct ck_id **ret_ids,
			uint64_t *ret_n)
{
	enum ck_view view = pv->chain == CK_CHAIN_FLATTENED ? CK_VIEW_FLAT
							    : CK_VIEW_WRITTEN;
	struct ck_criu_pagemap pm = CK_CRIU_PAGEMAP_INIT;
	struct ck_entry pme, pge;
	char pages[CK_PATH_MAX + 1];
	struct ck_id *ids = NULL;
	void *buf = NULL;
	size_t len = 0;
	int q;

	if (pv->chain == CK_CHAIN_BROKEN)
		return -ENOLINK;
	q = ck_repo_view_entry_get(r, pv->vid, view, pagemap_path, &pme);
	if (q == -ENOENT && view == CK_VIEW_FLAT)
		/* This process's pages were all present in the parent. */
		q = ck_repo_view_entry_get(r, pv->vid, CK_VIEW_WRITTEN,
					   pagemap_path, &pme);
	if (q < 0)
		return q == -ENOENT ? -ENOLINK : q;
	q = read_entry(r, pv->vid, &pme, &buf, &len);
	if (q < 0)
		return q;
	q = ck_criu_pagemap_parse(buf, len, &pm);
	free(buf);
	if (q < 0)
		return q;
	for (size_t i = 0; i < pm.n; i++)
		if (pm.e[i].flags & CK_CRIU_PE_PARENT) {
			q = -ENOLINK; /* a layer must stand on its own */
			goto fail;
		}
	q = pages_path_of(pagemap_path, pm.pages_id, pages, sizeof(pages));
	if (q < 0)
		goto fail;
	q = ck_repo_view_entry_get(r, pv->vid, pme.view, pages, &pge);
	if (q < 0) {
		q = q == -ENOENT ? -ENOLINK : q;
		goto fail;
	}
	if (pge.type != CK_ENTRY_FILE || pge.chunk_size != CK_CRIU_PAGE_SIZE ||
	    pge.nchunks != ck_criu_pagemap_data_pages(&pm)) {
		q = -ENOLINK;
		goto fail;
	}
	ids = malloc((pge.nchunks ? pge.nchunks : 1) * sizeof(*ids));
	if (!ids) {
		q = -ENOMEM;
		goto fail;
	}
	q = ck_repo_entry_chunks(r, pv->vid, &pge, 0, (size_t)pge.nchunks,
				 ids);
	if (q < 0)
		goto fail;
	*ret_pm = pm;
	*ret_ids = ids;
	*ret_n = pge.nchunks;
	return 0;
fail:
	free(ids);
	ck_criu_pagemap_release(&pm);
	return q;
}

/* Stores @len bytes as a file of the flattened view. */
static int put_flat_bytes(struct ck_repo *r, struct ck_session *s,
			  const char *path, const uint8_t *buf, size_t len,
			  const struct ck_file_meta *m)
{
	size_t n = (len + CK_SMALL_CHUNK - 1) / CK_SMALL_CHUNK;
	struct ck_id *ids = calloc(n ? n : 1, sizeof(*ids));
	int q = 0;

	if (!ids)
		return -ENOMEM;
	for (size_t i = 0; i < n && q == 0; i++) {
		size_t off = i * CK_SMALL_CHUNK;
		size_t clen = len - off < CK_SMALL_CHUNK ? len - off
							 : CK_SMALL_CHUNK;

		if (ck_is_zero(buf + off, clen))
			continue;
		ck_id_compute(ck_repo_hasher(r), buf + off, clen, &ids[i]);
		q = ck_session_put_chunk(s, &ids[i], buf + off, clen, NULL);
	}
	if (q == 0)
		q = ck_session_add_flat_ids(s, path, len, CK_SMALL_CHUNK, ids, n,
					    m);
	free(ids);
	return q;
}

int ck_flatten_pagemap(struct ck_repo *r, struct ck_session *s,
		       const struct ck_version *parent,
		       const char *pagemap_path, const void *pmbuf,
		       size_t pm_len, const struct ck_file_meta *pm_meta,
		       const struct ck_file_meta *pages_meta)
{
	struct ck_criu_pagemap layers[2] = { CK_CRIU_PAGEMAP_INIT,
					     CK_CRIU_PAGEMAP_INIT };
	struct ck_criu_pagemap flatpm = CK_CRIU_PAGEMAP_INIT;
	struct ck_criu_flat *flat = NULL;
	struct ck_id *pids = NULL, *fids = NULL;
	const struct ck_id *cids;
	uint64_t pn = 0, cn = 0, k = 0;
	char pages[CK_PATH_MAX + 1];
	void *enc = NULL;
	size_t enc_len = 0;
	bool incremental = false;
	int q;

	q = ck_criu_pagemap_parse(pmbuf, pm_len, &layers[1]);
	if (q < 0)
		return q;
	for (size_t i = 0; i < layers[1].n; i++)
		if (layers[1].e[i].flags & CK_CRIU_PE_PARENT)
			incremental = true;
	if (!incremental) {
		q = 0;
		goto out;
	}
	if (!parent || ck_repo_settings(r)->chunk_unit != CK_CRIU_PAGE_SIZE) {
		q = -ENOLINK;
		goto out;
	}
	q = pages_path_of(pagemap_path, layers[1].pages_id, pages,
			  sizeof(pages));
	if (q < 0)
		goto out;
	cids = ck_session_file_ids(s, pages, &cn);
	if (!cids || cn != ck_criu_pagemap_data_pages(&layers[1])) {
		q = -EBADMSG; /* the pages file does not match its pagemap */
		goto out;
	}
	q = parent_layer(r, parent, pagemap_path, &layers[0], &pids, &pn);
	if (q < 0)
		goto out;
	q = ck_criu_flatten(layers, 2, &flat);
	if (q < 0)
		goto out;
	fids = malloc((flat->nr_pages ? flat->nr_pages : 1) * sizeof(*fids));
	if (!fids) {
		q = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < flat->n; i++) {
		const struct ck_criu_run *run = &flat->r[i];
		const struct ck_id *src = run->layer == 0 ? pids : cids;
		uint64_t lim = run->layer == 0 ? pn : cn;

		if (run->page_index + run->nr_pages > lim) {
			q = -EBADMSG;
			goto out;
		}
		memcpy(fids + k, src + run->page_index,
		       run->nr_pages * sizeof(*fids));
		k += run->nr_pages;
	}
	q = ck_criu_flat_to_pagemap(flat, layers[1].pages_id, &flatpm);
	if (q == 0)
		q = ck_criu_pagemap_encode(&flatpm, &enc, &enc_len);
	if (q == 0)
		q = put_flat_bytes(r, s, pagemap_path, enc, enc_len, pm_meta);
	if (q == 0)
		q = ck_session_add_flat_ids(s, pages, k * CK_CRIU_PAGE_SIZE,
					    CK_CRIU_PAGE_SIZE, fids, k,
					    pages_meta);
	if (q == 0)
		q = 1;
out:
	free(enc);
	free(fids);
	free(pids);
	ck_criu_flat_free(flat);
	ck_criu_pagemap_release(&flatpm);
	ck_criu_pagemap_release(&layers[0]);
	ck_criu_pagemap_release(&layers[1]);
	return q;
}
