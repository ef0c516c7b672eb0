/* SPDX-License-Identifier: MIT */
/*
 * fuzz-criu.c - libFuzzer target for store/criu.c.
 *
 * Every input goes through kind detection, the framing check, the
 * inventory parser and the pagemap parser. A pagemap that parses must
 * survive encode -> parse unchanged and re-encode to the same bytes; it is
 * then flattened as a one- and a two-layer chain (the second layer
 * resolving its PE_PARENT entries against the first), and, when small,
 * diffed against itself. An input holding two pagemap images back to back
 * is also flattened and diffed as an older and a newer layer. Invariants
 * are checked with abort(), so the replay main (fuzz-main.c) turns any
 * violation into a test failure.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../store/criu.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(x)                                                           \
	do {                                                               \
		if (!(x))                                                  \
			abort();                                           \
	} while (0)

/* Checks a flattening of @layers against the invariants of the API; it
 * must succeed if @must. */
static void check_flat(const struct ck_criu_pagemap *layers, size_t n,
		       bool must)
{
	struct ck_criu_pagemap pm = CK_CRIU_PAGEMAP_INIT;
	struct ck_criu_flat *f = NULL;
	uint64_t end = 0, total = 0;
	int r;

	r = ck_criu_flatten(layers, n, &f);
	CHECK(r == 0 || (r == -EBADMSG && !must) || r == -ENOMEM);
	if (r < 0)
		return;
	for (size_t i = 0; i < f->n; i++) {
		const struct ck_criu_run *run = &f->r[i];

		CHECK(run->nr_pages > 0 && run->vaddr >= end);
		CHECK(run->layer < n);
		CHECK(run->flags & CK_CRIU_PE_PRESENT);
		CHECK(run->page_index + run->nr_pages <=
		      ck_criu_pagemap_data_pages(&layers[run->layer]));
		end = run->vaddr + (run->nr_pages << CK_CRIU_PAGE_SHIFT);
		total += run->nr_pages;
	}
	CHECK(total == f->nr_pages);
	if (must) {
		/* the newest layer's PRESENT and PARENT pages, no others */
		const struct ck_criu_pagemap *top = &layers[n - 1];

		total = 0;
		for (size_t i = 0; i < top->n; i++)
			if (top->e[i].flags &
			    (CK_CRIU_PE_PRESENT | CK_CRIU_PE_PARENT))
				total += top->e[i].nr_pages;
		CHECK(total == f->nr_pages);
	}
	r = ck_criu_flat_to_pagemap(f, layers[n - 1].pages_id, &pm);
	CHECK(r == 0 || r == -ENOMEM || (r == -E2BIG &&
					 f->n > CK_CRIU_PAGEMAP_MAX_ENTRIES));
	if (r == 0)
		CHECK(ck_criu_pagemap_data_pages(&pm) == f->nr_pages);
	ck_criu_pagemap_release(&pm);
	ck_criu_flat_free(f);
}

/* @pm with every entry PE_PRESENT (PE_LAZY kept): a full dump. */
static int full_view(const struct ck_criu_pagemap *pm,
		     struct ck_criu_pagemap *ret)
{
	struct ck_criu_pme *e;

	e = malloc((pm->n ? pm->n : 1) * sizeof(*e));
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < pm->n; i++) {
		e[i] = pm->e[i];
		e[i].flags = CK_CRIU_PE_PRESENT |
			     (pm->e[i].flags & CK_CRIU_PE_LAZY);
	}
	ret->pages_id = pm->pages_id;
	ret->n = pm->n;
	ret->e = e;
	return 0;
}

/* Diffs a small full dump against itself: every page must become
 * PE_PARENT. */
static void check_delta(const struct ck_criu_pagemap *full)
{
	struct ck_criu_pagemap d = CK_CRIU_PAGEMAP_INIT;
	uint64_t np, *src = NULL;
	uint8_t *pages;
	int r;

	np = ck_criu_pagemap_data_pages(full);
	if (np > 64)
		return;
	pages = calloc(np ? np : 1, CK_CRIU_PAGE_SIZE);
	if (!pages)
		return;
	for (uint64_t k = 0; k < np; k++)
		pages[k * CK_CRIU_PAGE_SIZE] = (uint8_t) k;

	r = ck_criu_pagemap_delta(full, pages, np * CK_CRIU_PAGE_SIZE, full,
				  pages, np * CK_CRIU_PAGE_SIZE, &d, &src);
	CHECK(r == 0 || r == -ENOMEM);
	if (r == 0) {
		CHECK(ck_criu_pagemap_validate(&d) == 0);
		CHECK(ck_criu_pagemap_data_pages(&d) == 0);
		for (size_t i = 0; i < d.n; i++)
			CHECK(d.e[i].flags == CK_CRIU_PE_PARENT &&
			      src[i] == UINT64_MAX);
	}
	free(src);
	ck_criu_pagemap_release(&d);
	free(pages);
}

static void check_pagemap(const uint8_t *data, size_t size)
{
	struct ck_criu_pagemap pm = CK_CRIU_PAGEMAP_INIT;
	struct ck_criu_pagemap pm2 = CK_CRIU_PAGEMAP_INIT;
	void *enc = NULL, *enc2 = NULL;
	size_t len, len2, nrec;
	uint64_t np;
	int r;

	r = ck_criu_pagemap_parse(data, size, &pm);
	CHECK(r == 0 || r == -EBADMSG || r == -E2BIG || r == -EOPNOTSUPP ||
	      r == -ENOMEM);
	if (r < 0)
		return;
	CHECK(ck_criu_pagemap_validate(&pm) == 0);
	CHECK(ck_criu_records_check(data, size, &nrec) == 0);
	CHECK(nrec == pm.n + 1);

	np = ck_criu_pagemap_data_pages(&pm);
	if (np < (UINT64_MAX >> CK_CRIU_PAGE_SHIFT)) {
		CHECK(ck_criu_pagemap_check_pages(&pm, np << 12) == 0);
		CHECK(ck_criu_pagemap_check_pages(&pm, (np << 12) + 1) ==
		      -EBADMSG);
	}

	r = ck_criu_pagemap_encode(&pm, &enc, &len);
	CHECK(r == 0 || r == -ENOMEM);
	if (r < 0)
		goto out;
	CHECK(ck_criu_image_kind(enc, len) == CK_CRIU_KIND_PAGEMAP);
	r = ck_criu_pagemap_parse(enc, len, &pm2);
	CHECK(r == 0 || r == -ENOMEM);
	if (r < 0)
		goto out;
	CHECK(pm2.pages_id == pm.pages_id && pm2.n == pm.n);
	for (size_t i = 0; i < pm.n; i++)
		CHECK(pm.e[i].vaddr == pm2.e[i].vaddr &&
		      pm.e[i].nr_pages == pm2.e[i].nr_pages &&
		      pm.e[i].flags == pm2.e[i].flags);
	r = ck_criu_pagemap_encode(&pm2, &enc2, &len2);
	CHECK(r == 0 || r == -ENOMEM);
	if (r == 0)
		CHECK(len2 == len && memcmp(enc, enc2, len) == 0);

	{
		struct ck_criu_pagemap two[2] = { pm, pm };
		struct ck_criu_pagemap full = CK_CRIU_PAGEMAP_INIT;

		check_flat(&pm, 1, false);
		check_flat(two, 2, false);
		if (full_view(&pm, &full) == 0) {
			two[0] = full;
			check_flat(two, 2, true);
			check_delta(&full);
			ck_criu_pagemap_release(&full);
		}
	}
out:
	free(enc);
	free(enc2);
	ck_criu_pagemap_release(&pm2);
	ck_criu_pagemap_release(&pm);
}

/* Diffs the small full dumps @old and @cur (@cur's pages alternate
 * between two contents, @old's are all zero) and flattens the result onto
 * @old, which must succeed. */
static void check_pair_delta(const struct ck_criu_pagemap *old,
			     const struct ck_criu_pagemap *cur)
{
	struct ck_criu_pagemap d = CK_CRIU_PAGEMAP_INIT;
	uint64_t *src = NULL, np0, np1;
	uint8_t *p0 = NULL, *p1 = NULL;
	int r;

	np0 = ck_criu_pagemap_data_pages(old);
	np1 = ck_criu_pagemap_data_pages(cur);
	if (np0 > 64 || np1 > 64)
		return;
	p0 = calloc(np0 ? np0 : 1, CK_CRIU_PAGE_SIZE);
	p1 = calloc(np1 ? np1 : 1, CK_CRIU_PAGE_SIZE);
	if (!p0 || !p1)
		goto out;
	for (uint64_t k = 0; k < np1; k++)
		p1[k * CK_CRIU_PAGE_SIZE] = (uint8_t) (k & 1);

	r = ck_criu_pagemap_delta(old, p0, np0 * CK_CRIU_PAGE_SIZE, cur, p1,
				  np1 * CK_CRIU_PAGE_SIZE, &d, &src);
	CHECK(r == 0 || r == -ENOMEM);
	if (r == 0) {
		struct ck_criu_pagemap l[2] = { *old, d };

		CHECK(ck_criu_pagemap_validate(&d) == 0);
		CHECK(d.pages_id == cur->pages_id);
		check_flat(l, 2, true);
	}
out:
	free(src);
	ck_criu_pagemap_release(&d);
	free(p0);
	free(p1);
}

/* Two pagemap images back to back: flatten the second over the first,
 * and diff full views of them. */
static void check_pair(const uint8_t *data, size_t size)
{
	static const uint8_t magic[8] = { 0x19, 0x43, 0x56, 0x54,
					  0x25, 0x40, 0x08, 0x56 };
	struct ck_criu_pagemap two[2] = { CK_CRIU_PAGEMAP_INIT,
					  CK_CRIU_PAGEMAP_INIT };
	struct ck_criu_pagemap f0 = CK_CRIU_PAGEMAP_INIT;
	struct ck_criu_pagemap f1 = CK_CRIU_PAGEMAP_INIT;
	const uint8_t *second;
	size_t split;

	if (size < 16)
		return;
	second = memmem(data + 8, size - 8, magic, sizeof(magic));
	if (!second)
		return;
	split = (size_t) (second - data);
	if (ck_criu_pagemap_parse(data, split, &two[0]) < 0 ||
	    ck_criu_pagemap_parse(second, size - split, &two[1]) < 0)
		goto out;
	check_flat(two, 2, false);
	if (full_view(&two[0], &f0) == 0 && full_view(&two[1], &f1) == 0)
		check_pair_delta(&f0, &f1);
out:
	ck_criu_pagemap_release(&f0);
	ck_criu_pagemap_release(&f1);
	ck_criu_pagemap_release(&two[0]);
	ck_criu_pagemap_release(&two[1]);
}

static void check_inventory(const uint8_t *data, size_t size)
{
	struct ck_criu_inventory inv, inv2;
	void *out = NULL;
	size_t len;
	int r;

	r = ck_criu_inventory_parse(data, size, &inv);
	CHECK(r == 0 || r == -EBADMSG);
	if (r < 0)
		return;
	r = ck_criu_inventory_to_predump(data, size, CK_CRIU_PRE_DUMP_READ,
					 &out, &len);
	CHECK(r == 0 || r == -ENOMEM);
	if (r < 0)
		return;
	CHECK(ck_criu_inventory_parse(out, len, &inv2) == 0);
	CHECK(inv2.img_version == 0 && inv2.has_pre_dump_mode &&
	      inv2.pre_dump_mode == CK_CRIU_PRE_DUMP_READ);
	CHECK(inv2.has_dump_uptime == inv.has_dump_uptime &&
	      inv2.dump_uptime == inv.dump_uptime);
	CHECK(ck_criu_records_check(out, len, NULL) == 0);
	free(out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	int kind, r;
	size_t nrec;

	kind = ck_criu_image_kind(data, size);
	CHECK(kind >= 0 && kind < CK_CRIU_KIND_MAX_);
	CHECK(ck_criu_kind_name(kind) != NULL);

	r = ck_criu_records_check(data, size, &nrec);
	CHECK(r == 0 || r == -EBADMSG || r == -E2BIG);
	CHECK(r == -EBADMSG || kind != CK_CRIU_KIND_UNKNOWN);

	if (size > 0) {
		uint64_t v;

		r = ck_criu_varint_read(data, size, &v);
		CHECK((r > 0 && r <= 10 && (size_t) r <= size) ||
		      r == -EBADMSG);
	}

	check_pagemap(data, size);
	check_pair(data, size);
	check_inventory(data, size);
	return 0;
}
