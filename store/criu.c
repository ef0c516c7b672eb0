/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "criu.h"

#define PE_VALID_BITS (CK_CRIU_PE_PARENT | CK_CRIU_PE_LAZY | CK_CRIU_PE_PRESENT)

enum pb_wire {
	PB_VARINT = 0,
	PB_FIXED64 = 1,
	PB_LEN = 2,
	PB_FIXED32 = 5,
};

/* What follows the records of an image kind. */
enum tail {
	TAIL_NONE,       /* records up to EOF */
	TAIL_PER_RECORD, /* each record is followed by <field a> raw bytes */
	TAIL_ONCE,       /* one record, then <field a> + <field b> raw bytes */
	TAIL_OPAQUE,     /* one record, then bytes we cannot check */
};

struct kind_info {
	uint32_t first;  /* leading magic */
	uint32_t second; /* per-type magic; 0 when there is none */
	enum ck_criu_kind kind;
	const char *name;
	enum tail tail;
	uint32_t a, b; /* varint field numbers giving raw byte counts */
};

/*
 * The raw tails come from CRIU's writers: dump_tcp_conn_state() writes the
 * TcpStreamEntry, then inq_len (1) and outq_len (3) bytes; pipes and fifos
 * write each PipeDataEntry followed by `bytes` (2) bytes; sk-queues each
 * SkPacketEntry followed by `length` (2) bytes; ghost files the entry,
 * then either raw file data or chunk records.
 */
static const struct kind_info kinds[] = {
	{ CK_CRIU_INVENTORY_MAGIC, 0, CK_CRIU_KIND_INVENTORY, "inventory",
	  TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_SERVICE_MAGIC, CK_CRIU_STATS_MAGIC, CK_CRIU_KIND_STATS,
	  "stats", TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_SERVICE_MAGIC, CK_CRIU_IRMAP_CACHE_MAGIC,
	  CK_CRIU_KIND_IRMAP_CACHE, "irmap-cache", TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_PAGEMAP_MAGIC, CK_CRIU_KIND_PAGEMAP,
	  "pagemap", TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_CORE_MAGIC, CK_CRIU_KIND_CORE,
	  "core", TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_MM_MAGIC, CK_CRIU_KIND_MM, "mm",
	  TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_PSTREE_MAGIC, CK_CRIU_KIND_PSTREE,
	  "pstree", TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_FILES_MAGIC, CK_CRIU_KIND_FILES,
	  "files", TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_FDINFO_MAGIC, CK_CRIU_KIND_FDINFO,
	  "fdinfo", TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_FS_MAGIC, CK_CRIU_KIND_FS, "fs",
	  TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_IDS_MAGIC, CK_CRIU_KIND_IDS, "ids",
	  TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_SECCOMP_MAGIC, CK_CRIU_KIND_SECCOMP,
	  "seccomp", TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_TIMENS_MAGIC, CK_CRIU_KIND_TIMENS,
	  "timens", TAIL_NONE, 0, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_TCP_STREAM_MAGIC,
	  CK_CRIU_KIND_TCP_STREAM, "tcp-stream", TAIL_ONCE, 1, 3 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_PIPES_DATA_MAGIC,
	  CK_CRIU_KIND_PIPES_DATA, "pipes-data", TAIL_PER_RECORD, 2, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_FIFO_DATA_MAGIC,
	  CK_CRIU_KIND_FIFO_DATA, "fifo-data", TAIL_PER_RECORD, 2, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_SK_QUEUES_MAGIC,
	  CK_CRIU_KIND_SK_QUEUES, "sk-queues", TAIL_PER_RECORD, 2, 0 },
	{ CK_CRIU_IMG_COMMON_MAGIC, CK_CRIU_GHOST_FILE_MAGIC,
	  CK_CRIU_KIND_GHOST_FILE, "ghost-file", TAIL_OPAQUE, 0, 0 },
};

static const struct kind_info other_info = {
	0, 0, CK_CRIU_KIND_OTHER, "other", TAIL_NONE, 0, 0
};

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t) p[0] | (uint32_t) p[1] << 8 |
	       (uint32_t) p[2] << 16 | (uint32_t) p[3] << 24;
}

static void put_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t) v;
	p[1] = (uint8_t) (v >> 8);
	p[2] = (uint8_t) (v >> 16);
	p[3] = (uint8_t) (v >> 24);
}

/* Returns the table entry for @buf, &other_info, or NULL if unknown. */
static const struct kind_info *kind_lookup(const uint8_t *p, size_t len)
{
	uint32_t first, second;

	if (len < 4)
		return NULL;
	first = get_le32(p);
	if (first == CK_CRIU_INVENTORY_MAGIC)
		return &kinds[0];
	if (first != CK_CRIU_IMG_COMMON_MAGIC &&
	    first != CK_CRIU_IMG_SERVICE_MAGIC)
		return NULL;
	if (len < 8)
		return NULL;
	second = get_le32(p + 4);
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (kinds[i].first == first && kinds[i].second == second)
			return &kinds[i];
	return &other_info;
}

int ck_criu_image_kind(const void *buf, size_t len)
{
	const struct kind_info *k;

	if (!buf && len > 0)
		return -EINVAL;
	k = kind_lookup(buf, len);
	return k ? (int) k->kind : CK_CRIU_KIND_UNKNOWN;
}

const char *ck_criu_kind_name(int kind)
{
	if (kind == CK_CRIU_KIND_OTHER)
		return other_info.name;
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if ((int) kinds[i].kind == kind)
			return kinds[i].name;
	return "unknown";
}

int ck_criu_varint_read(const void *buf, size_t len, uint64_t *ret)
{
	const uint8_t *p = buf;
	uint64_t v = 0;

	if ((!buf && len > 0) || !ret)
		return -EINVAL;

	for (size_t i = 0; i < len && i < 10; i++) {
		/* The 10th byte holds bit 63 only: anything else either
		 * overflows 64 bits or continues past 10 bytes. */
		if (i == 9 && p[i] > 1)
			return -EBADMSG;
		v |= (uint64_t) (p[i] & 0x7f) << (7 * i);
		if (!(p[i] & 0x80)) {
			*ret = v;
			return (int) i + 1;
		}
	}
	return -EBADMSG;
}

/* One protobuf field as found on the wire. */
struct pb_field {
	uint32_t num;
	enum pb_wire wire;
	uint64_t v;          /* PB_VARINT, PB_FIXED64, PB_FIXED32 */
	const uint8_t *data; /* PB_LEN payload */
	size_t len;          /* PB_LEN payload length */
	size_t start, end;   /* the whole field (tag included) in the message */
};

/* Reads the field at *off of the message @p[0..len). Returns 1 and
 * advances *off, 0 at the end of the message, or -EBADMSG. */
static int pb_next(const uint8_t *p, size_t len, size_t *off,
		   struct pb_field *f)
{
	uint64_t tag, v;
	size_t o = *off;
	int r;

	if (o >= len)
		return 0;

	f->start = o;
	r = ck_criu_varint_read(p + o, len - o, &tag);
	if (r < 0)
		return r;
	o += (size_t) r;
	/* Field numbers are 1 .. 2^29 - 1, so the tag fits in 32 bits. */
	if (tag > UINT32_MAX || (tag >> 3) == 0)
		return -EBADMSG;
	f->num = (uint32_t) (tag >> 3);
	f->wire = (enum pb_wire) (tag & 7);
	f->v = 0;
	f->data = NULL;
	f->len = 0;

	switch (tag & 7) {
	case PB_VARINT:
		r = ck_criu_varint_read(p + o, len - o, &f->v);
		if (r < 0)
			return r;
		o += (size_t) r;
		break;
	case PB_FIXED64:
		if (len - o < 8)
			return -EBADMSG;
		f->v = (uint64_t) get_le32(p + o) |
		       (uint64_t) get_le32(p + o + 4) << 32;
		o += 8;
		break;
	case PB_FIXED32:
		if (len - o < 4)
			return -EBADMSG;
		f->v = get_le32(p + o);
		o += 4;
		break;
	case PB_LEN:
		r = ck_criu_varint_read(p + o, len - o, &v);
		if (r < 0)
			return r;
		o += (size_t) r;
		if (v > len - o)
			return -EBADMSG;
		f->data = p + o;
		f->len = (size_t) v;
		o += (size_t) v;
		break;
	default:
		/* 3/4 are deprecated groups (CRIU never uses them), 6/7 do
		 * not exist. */
		return -EBADMSG;
	}

	f->end = o;
	*off = o;
	return 1;
}

/* Validates the top-level framing of one protobuf message. */
static int pb_check(const uint8_t *p, size_t len)
{
	struct pb_field f;
	size_t off = 0;
	int r;

	while ((r = pb_next(p, len, &off, &f)) > 0)
		;
	return r;
}

/* Finds the last varint field @num in a message (protobuf: last wins).
 * Returns 1 if found, 0 if absent, -EBADMSG if malformed or if the field
 * has another wire type. */
static int pb_find_varint(const uint8_t *p, size_t len, uint32_t num,
			  uint64_t *ret)
{
	struct pb_field f;
	size_t off = 0;
	int found = 0, r;

	while ((r = pb_next(p, len, &off, &f)) > 0) {
		if (f.num != num)
			continue;
		if (f.wire != PB_VARINT)
			return -EBADMSG;
		*ret = f.v;
		found = 1;
	}
	return r < 0 ? r : found;
}

/* Reads the record at *off: a u32 LE length and its payload. Returns 1,
 * 0 at the end of @p, or -EBADMSG if the record is cut short. */
static int next_record(const uint8_t *p, size_t len, size_t *off,
		       const uint8_t **ret, size_t *ret_len)
{
	size_t o = *off;
	uint32_t n;

	if (o == len)
		return 0;
	if (len - o < 4)
		return -EBADMSG;
	n = get_le32(p + o);
	o += 4;
	if (n > len - o)
		return -EBADMSG;
	*ret = p + o;
	*ret_len = n;
	*off = o + n;
	return 1;
}

/* Skips @n raw bytes after a record. */
static int skip_raw(size_t len, size_t *off, uint64_t n)
{
	if (n > len - *off)
		return -EBADMSG;
	*off += (size_t) n;
	return 0;
}

int ck_criu_records_check(const void *buf, size_t len, size_t *ret_nrec)
{
	const struct kind_info *k;
	const uint8_t *p = buf, *rec;
	size_t off, rlen, nrec = 0;
	uint64_t a, b;
	int r;

	if (!buf && len > 0)
		return -EINVAL;
	k = kind_lookup(p, len);
	if (!k)
		return -EBADMSG;
	off = k->kind == CK_CRIU_KIND_INVENTORY ? 4 : 8;

	while ((r = next_record(p, len, &off, &rec, &rlen)) > 0) {
		if (nrec == CK_CRIU_MAX_RECORDS)
			return -E2BIG;
		nrec++;
		r = pb_check(rec, rlen);
		if (r < 0)
			return r;

		if (k->tail == TAIL_OPAQUE) {
			off = len;
			break;
		}
		if (k->tail == TAIL_NONE)
			continue;

		a = b = 0;
		r = pb_find_varint(rec, rlen, k->a, &a);
		if (r == 0)
			r = -EBADMSG; /* required by the .proto */
		if (r < 0)
			return r;
		if (k->tail == TAIL_ONCE) {
			r = pb_find_varint(rec, rlen, k->b, &b);
			if (r == 0)
				r = -EBADMSG;
			if (r < 0)
				return r;
		}
		r = skip_raw(len, &off, a);
		if (r < 0)
			return r;
		r = skip_raw(len, &off, b);
		if (r < 0)
			return r;
		if (k->tail == TAIL_ONCE && off != len)
			return -EBADMSG;
	}
	if (r < 0)
		return r;

	if (ret_nrec)
		*ret_nrec = nrec;
	return 0;
}

/* First byte after the entry; valid entries do not overflow. */
static uint64_t pme_end(const struct ck_criu_pme *e)
{
	return e->vaddr + (e->nr_pages << CK_CRIU_PAGE_SHIFT);
}

/* Pages from @from to @to (both page aligned, from <= to). */
static uint64_t page_diff(uint64_t to, uint64_t from)
{
	return (to - from) >> CK_CRIU_PAGE_SHIFT;
}

static const uint8_t *page_at(const uint8_t *pages, uint64_t idx)
{
	return pages + ((size_t) idx << CK_CRIU_PAGE_SHIFT);
}

static int flags_check(uint32_t flags)
{
	if (flags & ~PE_VALID_BITS)
		return -EOPNOTSUPP;
	if (flags == 0)
		return -EBADMSG;
	/* CRIU's reader would take the data from the parent but still
	 * advance in this dir's pages file: no writer does that. */
	if ((flags & CK_CRIU_PE_PARENT) && (flags & CK_CRIU_PE_PRESENT))
		return -EBADMSG;
	return 0;
}

/* Checks entry @e against the invariants, given the end of the previous
 * entry (0 for the first). Sets *ret_end. */
static int pme_check(const struct ck_criu_pme *e, uint64_t prev_end,
		     uint64_t *ret_end)
{
	int r;

	if (e->vaddr & (CK_CRIU_PAGE_SIZE - 1))
		return -EBADMSG;
	if (e->nr_pages == 0)
		return -EBADMSG;
	if (e->nr_pages > (UINT64_MAX - e->vaddr) >> CK_CRIU_PAGE_SHIFT)
		return -E2BIG;
	if (e->vaddr < prev_end)
		return -EBADMSG; /* unsorted or overlapping */
	r = flags_check(e->flags);
	if (r < 0)
		return r;
	*ret_end = pme_end(e);
	return 0;
}

int ck_criu_pagemap_validate(const struct ck_criu_pagemap *pm)
{
	uint64_t end = 0;
	int r;

	if (!pm || (!pm->e && pm->n > 0))
		return -EINVAL;
	if (pm->pages_id > UINT32_MAX)
		return -EBADMSG;
	if (pm->n > CK_CRIU_PAGEMAP_MAX_ENTRIES)
		return -E2BIG;
	for (size_t i = 0; i < pm->n; i++) {
		r = pme_check(&pm->e[i], end, &end);
		if (r < 0)
			return r;
	}
	return 0;
}

static int parse_head(const uint8_t *p, size_t len, uint64_t *ret)
{
	struct pb_field f;
	size_t off = 0;
	bool has_id = false;
	uint64_t id = 0;
	int r;

	while ((r = pb_next(p, len, &off, &f)) > 0) {
		if (f.num != 1)
			continue;
		if (f.wire != PB_VARINT || f.v > UINT32_MAX)
			return -EBADMSG;
		id = f.v;
		has_id = true;
	}
	if (r < 0)
		return r;
	if (!has_id)
		return -EBADMSG; /* pages_id is required */
	*ret = id;
	return 0;
}

/* Decodes one PagemapEntry and applies CRIU's legacy rules
 * (init_compat_pagemap_entry() in criu/pagemap.c). */
static int parse_entry(const uint8_t *p, size_t len, struct ck_criu_pme *ret)
{
	bool has_vaddr = false, has_compat = false, has_nr = false;
	bool has_flags = false, in_parent = false;
	uint64_t vaddr = 0, compat = 0, nr = 0, flags = 0;
	struct pb_field f;
	size_t off = 0;
	int r;

	while ((r = pb_next(p, len, &off, &f)) > 0) {
		if (f.num < 1 || f.num > 5)
			continue; /* unknown: skipped by its wire type */
		if (f.wire != PB_VARINT)
			return -EBADMSG;
		switch (f.num) {
		case 1:
			vaddr = f.v;
			has_vaddr = true;
			break;
		case 2:
			if (f.v > UINT32_MAX)
				return -EBADMSG;
			compat = f.v;
			has_compat = true;
			break;
		case 3:
			in_parent = f.v != 0;
			break;
		case 4:
			if (f.v > UINT32_MAX)
				return -EBADMSG;
			flags = f.v;
			has_flags = true;
			break;
		case 5:
			nr = f.v;
			has_nr = true;
			break;
		}
	}
	if (r < 0)
		return r;
	/* vaddr and compat_nr_pages are `required` in pagemap.proto;
	 * protobuf-c refuses entries without them, and so do we. */
	if (!has_vaddr || !has_compat)
		return -EBADMSG;

	if (in_parent)
		flags |= CK_CRIU_PE_PARENT;
	else if (!has_flags)
		flags = CK_CRIU_PE_PRESENT;

	ret->vaddr = vaddr;
	ret->nr_pages = has_nr ? nr : compat;
	ret->flags = (uint32_t) flags;
	return 0;
}

int ck_criu_pagemap_parse(const void *buf, size_t len,
			  struct ck_criu_pagemap *ret)
{
	const uint8_t *p = buf, *rec;
	struct ck_criu_pme *e = NULL, *ne;
	size_t n = 0, cap = 0, off = 8, rlen;
	uint64_t pages_id, end = 0;
	int r;

	if ((!buf && len > 0) || !ret)
		return -EINVAL;
	if (len < 8 || get_le32(p) != CK_CRIU_IMG_COMMON_MAGIC ||
	    get_le32(p + 4) != CK_CRIU_PAGEMAP_MAGIC)
		return -EBADMSG;

	r = next_record(p, len, &off, &rec, &rlen);
	if (r == 0)
		r = -EBADMSG; /* no PagemapHead */
	if (r < 0)
		return r;
	r = parse_head(rec, rlen, &pages_id);
	if (r < 0)
		return r;

	while ((r = next_record(p, len, &off, &rec, &rlen)) > 0) {
		if (n == CK_CRIU_PAGEMAP_MAX_ENTRIES) {
			r = -E2BIG;
			goto out;
		}
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			if (cap > CK_CRIU_PAGEMAP_MAX_ENTRIES)
				cap = CK_CRIU_PAGEMAP_MAX_ENTRIES;
			ne = realloc(e, cap * sizeof(*e));
			if (!ne) {
				r = -ENOMEM;
				goto out;
			}
			e = ne;
		}
		r = parse_entry(rec, rlen, &e[n]);
		if (r < 0)
			goto out;
		r = pme_check(&e[n], end, &end);
		if (r < 0)
			goto out;
		n++;
	}
	if (r < 0)
		goto out;

	ret->pages_id = pages_id;
	ret->n = n;
	ret->e = e;
	e = NULL;
	r = 0;
out:
	free(e);
	return r;
}

void ck_criu_pagemap_release(struct ck_criu_pagemap *pm)
{
	if (!pm)
		return;
	free(pm->e);
	pm->e = NULL;
	pm->n = 0;
	pm->pages_id = 0;
}

uint64_t ck_criu_pagemap_data_pages(const struct ck_criu_pagemap *pm)
{
	uint64_t sum = 0;

	/* Valid pagemaps do not overlap inside a 2^64 address space, so
	 * the sum stays below 2^52. */
	for (size_t i = 0; i < pm->n; i++)
		if (pm->e[i].flags & CK_CRIU_PE_PRESENT)
			sum += pm->e[i].nr_pages;
	return sum;
}

int ck_criu_pagemap_check_pages(const struct ck_criu_pagemap *pm,
				uint64_t pages_file_size)
{
	int r;

	r = ck_criu_pagemap_validate(pm);
	if (r < 0)
		return r == -EINVAL ? r : -EBADMSG;
	if (pages_file_size & (CK_CRIU_PAGE_SIZE - 1))
		return -EBADMSG;
	if (pages_file_size >> CK_CRIU_PAGE_SHIFT !=
	    ck_criu_pagemap_data_pages(pm))
		return -EBADMSG;
	return 0;
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static uint8_t *put_varint(uint8_t *p, uint64_t v)
{
	while (v >= 0x80) {
		*p++ = (uint8_t) (v | 0x80);
		v >>= 7;
	}
	*p++ = (uint8_t) v;
	return p;
}

/* Field tags of PagemapEntry as CRIU writes them (1 byte each). */
#define TAG(num, wire) ((uint8_t) ((num) << 3 | (wire)))

static size_t entry_len(const struct ck_criu_pme *e)
{
	return 1 + varint_len(e->vaddr) + 2 + 1 + varint_len(e->flags) + 1 +
	       varint_len(e->nr_pages);
}

int ck_criu_pagemap_encode(const struct ck_criu_pagemap *pm, void **ret,
			   size_t *ret_len)
{
	uint8_t *buf, *p;
	size_t size, hlen;

	if (!ret || !ret_len || ck_criu_pagemap_validate(pm) < 0)
		return -EINVAL;

	/* At most 2^24 entries of at most 38 bytes: no overflow. */
	hlen = 1 + varint_len(pm->pages_id);
	size = 8 + 4 + hlen;
	for (size_t i = 0; i < pm->n; i++)
		size += 4 + entry_len(&pm->e[i]);

	buf = malloc(size);
	if (!buf)
		return -ENOMEM;

	put_le32(buf, CK_CRIU_IMG_COMMON_MAGIC);
	put_le32(buf + 4, CK_CRIU_PAGEMAP_MAGIC);
	put_le32(buf + 8, (uint32_t) hlen);
	p = buf + 12;
	*p++ = TAG(1, PB_VARINT);
	p = put_varint(p, pm->pages_id);

	/* protobuf-c packs fields in field-number order; CRIU sets
	 * compat_nr_pages = 0 and leaves in_parent unset. */
	for (size_t i = 0; i < pm->n; i++) {
		const struct ck_criu_pme *e = &pm->e[i];

		put_le32(p, (uint32_t) entry_len(e));
		p += 4;
		*p++ = TAG(1, PB_VARINT);
		p = put_varint(p, e->vaddr);
		*p++ = TAG(2, PB_VARINT);
		*p++ = 0;
		*p++ = TAG(4, PB_VARINT);
		p = put_varint(p, e->flags);
		*p++ = TAG(5, PB_VARINT);
		p = put_varint(p, e->nr_pages);
	}

	*ret = buf;
	*ret_len = size;
	return 0;
}

/* Checks the inventory magic and returns its one record. */
static int inventory_record(const uint8_t *p, size_t len,
			    const uint8_t **ret, size_t *ret_len)
{
	size_t off = 4;
	int r;

	if (len < 4 || get_le32(p) != CK_CRIU_INVENTORY_MAGIC)
		return -EBADMSG;
	r = next_record(p, len, &off, ret, ret_len);
	if (r == 0)
		r = -EBADMSG;
	if (r < 0)
		return r;
	if (off != len)
		return -EBADMSG; /* CRIU writes exactly one entry */
	return 0;
}

int ck_criu_inventory_parse(const void *buf, size_t len,
			    struct ck_criu_inventory *ret)
{
	struct ck_criu_inventory inv = { 0 };
	const uint8_t *rec;
	struct pb_field f;
	bool has_version = false;
	size_t rlen, off = 0;
	int r;

	if ((!buf && len > 0) || !ret)
		return -EINVAL;
	r = inventory_record(buf, len, &rec, &rlen);
	if (r < 0)
		return r;

	while ((r = pb_next(rec, rlen, &off, &f)) > 0) {
		if (f.num != 1 && f.num != 8 && f.num != 9)
			continue;
		if (f.wire != PB_VARINT)
			return -EBADMSG;
		if (f.num != 8 && f.v > UINT32_MAX)
			return -EBADMSG;
		switch (f.num) {
		case 1:
			inv.img_version = (uint32_t) f.v;
			has_version = true;
			break;
		case 8:
			inv.dump_uptime = f.v;
			inv.has_dump_uptime = true;
			break;
		case 9:
			inv.pre_dump_mode = (uint32_t) f.v;
			inv.has_pre_dump_mode = true;
			break;
		}
	}
	if (r < 0)
		return r;
	if (!has_version)
		return -EBADMSG;

	*ret = inv;
	return 0;
}

int ck_criu_inventory_to_predump(const void *buf, size_t len, uint32_t mode,
				 void **ret, size_t *ret_len)
{
	const uint8_t *rec;
	struct pb_field f, plugins = { 0 };
	bool has_plugins = false;
	struct ck_criu_inventory inv;
	size_t rlen, off = 0, size, body;
	uint8_t *out, *p;
	int r;

	if ((!buf && len > 0) || !ret || !ret_len ||
	    (mode != CK_CRIU_PRE_DUMP_SPLICE && mode != CK_CRIU_PRE_DUMP_READ))
		return -EINVAL;
	r = ck_criu_inventory_parse(buf, len, &inv);
	if (r < 0)
		return r;
	r = inventory_record(buf, len, &rec, &rlen);
	if (r < 0)
		return r;
	while ((r = pb_next(rec, rlen, &off, &f)) > 0)
		if (f.num == 12) {
			plugins = f;
			has_plugins = true;
		}
	if (r < 0)
		return r;

	body = 2 + 1 + varint_len(mode);
	if (inv.has_dump_uptime)
		body += 1 + varint_len(inv.dump_uptime);
	if (has_plugins)
		body += plugins.end - plugins.start;
	size = 4 + 4 + body;

	out = malloc(size);
	if (!out)
		return -ENOMEM;
	put_le32(out, CK_CRIU_INVENTORY_MAGIC);
	put_le32(out + 4, (uint32_t) body);
	p = out + 8;
	*p++ = TAG(1, PB_VARINT);
	*p++ = 0;
	if (inv.has_dump_uptime) {
		*p++ = TAG(8, PB_VARINT);
		p = put_varint(p, inv.dump_uptime);
	}
	*p++ = TAG(9, PB_VARINT);
	p = put_varint(p, mode);
	if (has_plugins)
		memcpy(p, rec + plugins.start, plugins.end - plugins.start);

	*ret = out;
	*ret_len = size;
	return 0;
}

static bool is_pagemap_name(const char *s)
{
	size_t n = strlen(s);

	return n > strlen("pagemap-.img") &&
	       strncmp(s, "pagemap-", strlen("pagemap-")) == 0 &&
	       strcmp(s + n - strlen(".img"), ".img") == 0;
}

int ck_criu_dir_kind(const char *const *names, size_t n,
		     const struct ck_criu_inventory *inv)
{
	bool pstree = false, pagemap = false;

	if (!names && n > 0)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		if (!names[i])
			return -EINVAL;
		if (strcmp(names[i], "pstree.img") == 0)
			pstree = true;
		else if (is_pagemap_name(names[i]))
			pagemap = true;
	}

	if (pstree) {
		if (inv && inv->has_pre_dump_mode)
			return -EBADMSG;
		return CK_CRIU_DIR_DUMP;
	}
	return pagemap ? CK_CRIU_DIR_PREDUMP : CK_CRIU_DIR_UNKNOWN;
}

/* A layer prepared for lookups: the data index of every entry. */
struct layer {
	const struct ck_criu_pme *e;
	size_t n;
	uint64_t *off; /* first page of e[i] in the pages file */
};

/* Index of the entry of @l containing @va, or SIZE_MAX. */
static size_t layer_find(const struct layer *l, uint64_t va)
{
	size_t lo = 0, hi = l->n;

	/* Last entry with vaddr <= va. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (l->e[mid].vaddr <= va)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return SIZE_MAX;
	lo--;
	if (page_diff(va, l->e[lo].vaddr) >= l->e[lo].nr_pages)
		return SIZE_MAX;
	return lo;
}

static uint64_t run_end(const struct ck_criu_run *r)
{
	return r->vaddr + (r->nr_pages << CK_CRIU_PAGE_SHIFT);
}

struct flat_builder {
	struct ck_criu_flat *f;
	size_t cap;
	size_t last_top; /* newest-layer entry of the last run */
};

static int flat_emit(struct flat_builder *b, size_t top, uint64_t va,
		     uint64_t np, size_t layer, uint64_t idx, uint32_t flags)
{
	struct ck_criu_flat *f = b->f;
	struct ck_criu_run *last, *nr;

	if (f->n > 0) {
		last = &f->r[f->n - 1];
		if (b->last_top == top && last->layer == layer &&
		    last->flags == flags &&
		    run_end(last) == va &&
		    last->page_index + last->nr_pages == idx) {
			last->nr_pages += np;
			f->nr_pages += np;
			return 0;
		}
	}
	if (f->n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;

		if (cap > SIZE_MAX / sizeof(*nr))
			return -ENOMEM;
		nr = realloc(f->r, cap * sizeof(*nr));
		if (!nr)
			return -ENOMEM;
		f->r = nr;
		b->cap = cap;
	}
	f->r[f->n++] = (struct ck_criu_run) {
		.vaddr = va,
		.nr_pages = np,
		.layer = layer,
		.page_index = idx,
		.flags = flags,
	};
	f->nr_pages += np;
	b->last_top = top;
	return 0;
}

/* Resolves pages [va, va + np pages) of a PE_PARENT entry of the newest
 * layer, looking in layers @below and older. */
static int flat_resolve(struct flat_builder *b, const struct layer *ls,
			size_t below, size_t top, uint64_t va, uint64_t np)
{
	while (np > 0) {
		uint64_t len = np;
		size_t j = below;
		int r;

		for (;;) {
			const struct layer *l = &ls[j];
			const struct ck_criu_pme *e;
			uint64_t skip, left;
			size_t i;

			i = layer_find(l, va);
			if (i == SIZE_MAX)
				return -EBADMSG; /* parent lacks the page */
			e = &l->e[i];
			skip = page_diff(va, e->vaddr);
			left = e->nr_pages - skip;
			if (len > left)
				len = left;
			if (e->flags & CK_CRIU_PE_PRESENT) {
				r = flat_emit(b, top, va, len, j,
					      l->off[i] + skip, e->flags);
				if (r < 0)
					return r;
				break;
			}
			if (!(e->flags & CK_CRIU_PE_PARENT) || j == 0)
				return -EBADMSG; /* no data anywhere */
			j--;
		}
		va += len << CK_CRIU_PAGE_SHIFT;
		np -= len;
	}
	return 0;
}

int ck_criu_flatten(const struct ck_criu_pagemap *layers, size_t nlayers,
		    struct ck_criu_flat **ret)
{
	struct flat_builder b = { 0 };
	struct layer *ls = NULL;
	const struct layer *top;
	size_t t;
	int r;

	if (!layers || nlayers == 0 || !ret)
		return -EINVAL;
	for (size_t j = 0; j < nlayers; j++)
		if (ck_criu_pagemap_validate(&layers[j]) < 0)
			return -EINVAL;

	ls = calloc(nlayers, sizeof(*ls));
	b.f = calloc(1, sizeof(*b.f));
	if (!ls || !b.f) {
		r = -ENOMEM;
		goto out;
	}
	for (size_t j = 0; j < nlayers; j++) {
		uint64_t off = 0;

		ls[j].e = layers[j].e;
		ls[j].n = layers[j].n;
		ls[j].off = malloc((layers[j].n ? layers[j].n : 1) *
				   sizeof(uint64_t));
		if (!ls[j].off) {
			r = -ENOMEM;
			goto out;
		}
		for (size_t i = 0; i < layers[j].n; i++) {
			ls[j].off[i] = off;
			if (layers[j].e[i].flags & CK_CRIU_PE_PRESENT)
				off += layers[j].e[i].nr_pages;
		}
	}

	t = nlayers - 1;
	top = &ls[t];
	for (size_t i = 0; i < top->n; i++) {
		const struct ck_criu_pme *e = &top->e[i];

		if (e->flags & CK_CRIU_PE_PRESENT)
			r = flat_emit(&b, i, e->vaddr, e->nr_pages, t,
				      top->off[i], e->flags);
		else if (!(e->flags & CK_CRIU_PE_PARENT))
			r = 0; /* lazy only: no data in the chain */
		else if (t == 0)
			r = -EBADMSG;
		else
			r = flat_resolve(&b, ls, t - 1, i, e->vaddr,
					 e->nr_pages);
		if (r < 0)
			goto out;
	}

	*ret = b.f;
	b.f = NULL;
	r = 0;
out:
	if (ls)
		for (size_t j = 0; j < nlayers; j++)
			free(ls[j].off);
	free(ls);
	ck_criu_flat_free(b.f);
	return r;
}

struct ck_criu_flat *ck_criu_flat_free(struct ck_criu_flat *f)
{
	if (!f)
		return NULL;
	free(f->r);
	free(f);
	return NULL;
}

int ck_criu_flat_to_pagemap(const struct ck_criu_flat *f, uint64_t pages_id,
			    struct ck_criu_pagemap *ret)
{
	struct ck_criu_pagemap pm = CK_CRIU_PAGEMAP_INIT;
	int r;

	if (!f || (!f->r && f->n > 0) || !ret || pages_id > UINT32_MAX)
		return -EINVAL;
	if (f->n > CK_CRIU_PAGEMAP_MAX_ENTRIES)
		return -E2BIG;

	pm.pages_id = pages_id;
	pm.n = f->n;
	pm.e = malloc((f->n ? f->n : 1) * sizeof(*pm.e));
	if (!pm.e)
		return -ENOMEM;
	for (size_t i = 0; i < f->n; i++) {
		pm.e[i].vaddr = f->r[i].vaddr;
		pm.e[i].nr_pages = f->r[i].nr_pages;
		pm.e[i].flags = f->r[i].flags & ~CK_CRIU_PE_PARENT;
	}
	r = ck_criu_pagemap_validate(&pm);
	if (r < 0) {
		ck_criu_pagemap_release(&pm);
		return -EINVAL;
	}
	*ret = pm;
	return 0;
}

struct delta_builder {
	struct ck_criu_pagemap pm;
	uint64_t *src;
	size_t cap;
	size_t last_cur; /* entry of @cur that the last PRESENT entry split */
};

static int delta_emit(struct delta_builder *b, size_t cur_i, uint64_t va,
		      uint32_t flags, uint64_t src)
{
	struct ck_criu_pme *last, *ne;
	uint64_t *ns;

	if (b->pm.n > 0) {
		last = &b->pm.e[b->pm.n - 1];
		if (last->flags == flags && pme_end(last) == va &&
		    ((flags & CK_CRIU_PE_PARENT) || b->last_cur == cur_i)) {
			last->nr_pages++;
			return 0;
		}
	}
	if (b->pm.n == CK_CRIU_PAGEMAP_MAX_ENTRIES)
		return -E2BIG;
	if (b->pm.n == b->cap) {
		size_t cap = b->cap ? 2 * b->cap : 64;

		ne = realloc(b->pm.e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		b->pm.e = ne;
		ns = realloc(b->src, cap * sizeof(*ns));
		if (!ns)
			return -ENOMEM;
		b->src = ns;
		b->cap = cap;
	}
	b->pm.e[b->pm.n] = (struct ck_criu_pme) {
		.vaddr = va,
		.nr_pages = 1,
		.flags = flags,
	};
	b->src[b->pm.n] = src;
	b->pm.n++;
	b->last_cur = cur_i;
	return 0;
}

int ck_criu_pagemap_delta(const struct ck_criu_pagemap *parent,
			  const void *parent_pages, uint64_t parent_pages_len,
			  const struct ck_criu_pagemap *cur,
			  const void *cur_pages, uint64_t cur_pages_len,
			  struct ck_criu_pagemap *ret, uint64_t **ret_src)
{
	struct delta_builder b = { .pm = CK_CRIU_PAGEMAP_INIT };
	const uint8_t *pp = parent_pages, *cp = cur_pages;
	uint64_t cur_idx = 0, par_idx = 0;
	size_t j = 0;
	int r;

	if (!parent || !cur || !ret || !ret_src ||
	    (!parent_pages && parent_pages_len > 0) ||
	    (!cur_pages && cur_pages_len > 0))
		return -EINVAL;
	if (ck_criu_pagemap_validate(parent) < 0 ||
	    ck_criu_pagemap_validate(cur) < 0)
		return -EINVAL;
	r = ck_criu_pagemap_check_pages(parent, parent_pages_len);
	if (r < 0)
		return r;
	r = ck_criu_pagemap_check_pages(cur, cur_pages_len);
	if (r < 0)
		return r;
	if (cur_pages_len > SIZE_MAX || parent_pages_len > SIZE_MAX)
		return -E2BIG;

	b.pm.pages_id = cur->pages_id;
	for (size_t i = 0; i < cur->n; i++) {
		const struct ck_criu_pme *e = &cur->e[i];

		if (e->flags != CK_CRIU_PE_PRESENT &&
		    e->flags != (CK_CRIU_PE_PRESENT | CK_CRIU_PE_LAZY)) {
			r = -EBADMSG; /* not a full dump */
			goto out;
		}
		for (uint64_t k = 0; k < e->nr_pages; k++, cur_idx++) {
			uint64_t va = e->vaddr + (k << CK_CRIU_PAGE_SHIFT);
			const struct ck_criu_pme *q = NULL;
			bool same = false;

			/* Both pagemaps are sorted: walk the parent's
			 * entries along, keeping par_idx at the data
			 * index of parent->e[j]. */
			while (j < parent->n && pme_end(&parent->e[j]) <= va) {
				if (parent->e[j].flags & CK_CRIU_PE_PRESENT)
					par_idx += parent->e[j].nr_pages;
				j++;
			}
			if (j < parent->n && parent->e[j].vaddr <= va)
				q = &parent->e[j];
			if (q && (q->flags & CK_CRIU_PE_PRESENT)) {
				uint64_t pi = par_idx + page_diff(va, q->vaddr);

				same = memcmp(page_at(cp, cur_idx),
					      page_at(pp, pi),
					      CK_CRIU_PAGE_SIZE) == 0;
			}
			if (same)
				r = delta_emit(&b, i, va, CK_CRIU_PE_PARENT,
					       UINT64_MAX);
			else
				r = delta_emit(&b, i, va, e->flags, cur_idx);
			if (r < 0)
				goto out;
		}
	}

	if (!b.src) {
		b.src = malloc(sizeof(*b.src));
		if (!b.src) {
			r = -ENOMEM;
			goto out;
		}
	}
	*ret = b.pm;
	*ret_src = b.src;
	return 0;
out:
	ck_criu_pagemap_release(&b.pm);
	free(b.src);
	return r;
}
