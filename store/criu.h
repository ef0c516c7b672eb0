/* SPDX-License-Identifier: MIT */
/*
 * criu.h - in-memory codec for CRIU checkpoint images: image kinds, record
 * framing, pagemaps (parse, check, encode), the inventory, and the page
 * chain logic (flatten a parent chain, compute an incremental pagemap).
 *
 * Format (CRIU 4.2, images v1.1; see docs/criu-format.md):
 *   - every image except inventory.img and the raw pages-<id>.img starts
 *     with the u32 LE CK_CRIU_IMG_COMMON_MAGIC followed by a u32 LE
 *     per-type magic; inventory.img starts directly with
 *     CK_CRIU_INVENTORY_MAGIC; stats-* and irmap-cache start with
 *     CK_CRIU_IMG_SERVICE_MAGIC and a second magic;
 *   - then come records: a u32 LE length and that many bytes of protobuf;
 *     a few kinds (tcp-stream, pipes-data, fifo-data, sk-queues,
 *     ghost-file) carry raw bytes after their records;
 *   - pagemap-*.img: a PagemapHead {1: pages_id} record, then one
 *     PagemapEntry {1: vaddr, 2: compat_nr_pages, 3: in_parent, 4: flags,
 *     5: nr_pages} per run of pages;
 *   - pages-<pages_id>.img: the 4 KiB pages of every PE_PRESENT entry,
 *     concatenated in pagemap order. PE_PARENT entries have their data in
 *     the parent images dir (the "parent" symlink), recursively.
 *
 * Invariants of a struct ck_criu_pagemap (parse guarantees them, encode
 * and the chain functions require them): pages_id fits in 32 bits; every
 * vaddr is page aligned; every nr_pages >= 1; vaddr + nr_pages * 4096 does
 * not overflow; entries are sorted by vaddr and do not overlap; flags is
 * one of PRESENT, PRESENT|LAZY, LAZY, PARENT, PARENT|LAZY (never 0, never
 * PRESENT together with PARENT); n <= CK_CRIU_PAGEMAP_MAX_ENTRIES.
 *
 * Nothing here does file I/O; callers pass byte buffers.
 *
 * Threads: pure functions on caller-owned memory; no global state.
 *
 * Errors: 0 (or a documented value >= 0) on success, -errno on failure:
 *   -EBADMSG     malformed or inconsistent image bytes;
 *   -E2BIG       a count or size beyond the codec's limits (overflow);
 *   -EOPNOTSUPP  well-formed but uses something this codec does not know
 *                (unknown pagemap flag bits);
 *   -EINVAL      bad arguments (including an in-memory pagemap that
 *                violates the invariants above);
 *   -ENOMEM.
 * Output parameters are written only on success.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CK_CRIU_PAGE_SIZE 4096u
#define CK_CRIU_PAGE_SHIFT 12

/* criu/include/magic.h */
#define CK_CRIU_IMG_COMMON_MAGIC 0x54564319u
#define CK_CRIU_IMG_SERVICE_MAGIC 0x55105940u
#define CK_CRIU_INVENTORY_MAGIC 0x58313116u /* no common magic before it */
#define CK_CRIU_STATS_MAGIC 0x57093306u /* after the service magic */
#define CK_CRIU_IRMAP_CACHE_MAGIC 0x57004059u /* after the service magic */
#define CK_CRIU_PAGEMAP_MAGIC 0x56084025u
#define CK_CRIU_CORE_MAGIC 0x55053847u
#define CK_CRIU_MM_MAGIC 0x57492820u
#define CK_CRIU_PSTREE_MAGIC 0x50273030u
#define CK_CRIU_FILES_MAGIC 0x56303138u
#define CK_CRIU_FDINFO_MAGIC 0x56213732u
#define CK_CRIU_FS_MAGIC 0x51403912u
#define CK_CRIU_IDS_MAGIC 0x54432030u
#define CK_CRIU_SECCOMP_MAGIC 0x64413049u
#define CK_CRIU_TIMENS_MAGIC 0x43114433u
#define CK_CRIU_TCP_STREAM_MAGIC 0x51465506u
#define CK_CRIU_PIPES_DATA_MAGIC 0x56453709u
#define CK_CRIU_FIFO_DATA_MAGIC 0x59333054u
#define CK_CRIU_SK_QUEUES_MAGIC 0x56264026u
#define CK_CRIU_GHOST_FILE_MAGIC 0x52583605u

/* PagemapEntry.flags (criu/include/pagemap.h) */
#define CK_CRIU_PE_PARENT 1u  /* data is in the parent images dir */
#define CK_CRIU_PE_LAZY 2u    /* may be restored by the lazy-pages daemon */
#define CK_CRIU_PE_PRESENT 4u /* data is in this dir's pages file */

/* CRIU's pre-dump modes (InventoryEntry.pre_dump_mode) */
#define CK_CRIU_PRE_DUMP_SPLICE 1u
#define CK_CRIU_PRE_DUMP_READ 2u

#define CK_CRIU_PAGEMAP_MAX_ENTRIES (1u << 24)
#define CK_CRIU_MAX_RECORDS (1u << 24)

enum ck_criu_kind {
	CK_CRIU_KIND_UNKNOWN = 0, /* no CRIU magic (raw pages-*.img, ...) */
	CK_CRIU_KIND_INVENTORY,
	CK_CRIU_KIND_STATS,
	CK_CRIU_KIND_IRMAP_CACHE,
	CK_CRIU_KIND_PAGEMAP,
	CK_CRIU_KIND_CORE,
	CK_CRIU_KIND_MM,
	CK_CRIU_KIND_PSTREE,
	CK_CRIU_KIND_FILES,
	CK_CRIU_KIND_FDINFO,
	CK_CRIU_KIND_FS,
	CK_CRIU_KIND_IDS,
	CK_CRIU_KIND_SECCOMP,
	CK_CRIU_KIND_TIMENS,
	CK_CRIU_KIND_TCP_STREAM,
	CK_CRIU_KIND_PIPES_DATA,
	CK_CRIU_KIND_FIFO_DATA,
	CK_CRIU_KIND_SK_QUEUES,
	CK_CRIU_KIND_GHOST_FILE,
	CK_CRIU_KIND_OTHER, /* common/service magic, type not in our table */
	CK_CRIU_KIND_MAX_
};

/* Identifies an image from its leading magics. Returns an enum
 * ck_criu_kind (CK_CRIU_KIND_UNKNOWN is not an error), or -EINVAL. */
int ck_criu_image_kind(const void *buf, size_t len);

/* "pagemap", "inventory", ...; "unknown" for out-of-range values. The
 * string is static. */
const char *ck_criu_kind_name(int kind);

/* Reads one protobuf varint from @buf. Returns the number of bytes used
 * (1..10); -EBADMSG if it is truncated, longer than 10 bytes or does not
 * fit in 64 bits. */
int ck_criu_varint_read(const void *buf, size_t len, uint64_t *ret);

/* Validates the framing of a whole image of any kind with a magic: every
 * record lies within @buf and is well-formed protobuf at the top level
 * (valid tags, wire types 0/1/2/5, lengths in bounds), and the raw bytes
 * that some kinds carry after their records are accounted for exactly
 * (ghost-file: only its first record is checked). -EBADMSG for
 * CK_CRIU_KIND_UNKNOWN, -E2BIG beyond CK_CRIU_MAX_RECORDS records.
 * @ret_nrec (may be NULL) gets the record count. */
int ck_criu_records_check(const void *buf, size_t len, size_t *ret_nrec);

struct ck_criu_pme {
	uint64_t vaddr;    /* bytes, page aligned */
	uint64_t nr_pages; /* 4 KiB pages, >= 1 */
	uint32_t flags;    /* CK_CRIU_PE_*, after CRIU's legacy rules */
};

/* An embedded value: zero it (or use CK_CRIU_PAGEMAP_INIT) before use. */
struct ck_criu_pagemap {
	uint64_t pages_id;      /* names pages-<pages_id>.img */
	size_t n;               /* number of entries */
	struct ck_criu_pme *e;  /* malloc()ed; freed by _release() */
};

#define CK_CRIU_PAGEMAP_INIT { .pages_id = 0, .n = 0, .e = NULL }

/* Parses a whole pagemap image. Follows CRIU's decoder: nr_pages is field
 * 5 if present, else the legacy field 2; in_parent (field 3) adds
 * PE_PARENT; without field 4 the flags are PE_PRESENT (or PE_PARENT if
 * in_parent). Unknown fields are skipped. On success @ret owns a new
 * array; release it with ck_criu_pagemap_release(). */
int ck_criu_pagemap_parse(const void *buf, size_t len,
			  struct ck_criu_pagemap *ret);

/* Frees the entries and resets @pm to empty. NULL-safe. */
void ck_criu_pagemap_release(struct ck_criu_pagemap *pm);

/* Checks the invariants listed at the top of this file. */
int ck_criu_pagemap_validate(const struct ck_criu_pagemap *pm);

/* Sum of nr_pages over PE_PRESENT entries: the pages that have data in
 * this dir's pages file. @pm must be valid. */
uint64_t ck_criu_pagemap_data_pages(const struct ck_criu_pagemap *pm);

/* 0 if pages-<id>.img of @pages_file_size bytes holds exactly the data of
 * the PE_PRESENT entries; -EBADMSG otherwise. */
int ck_criu_pagemap_check_pages(const struct ck_criu_pagemap *pm,
				uint64_t pages_file_size);

/* Encodes @pm exactly as CRIU 4.2 writes it: the two magics, the head
 * record, and per entry the fields 1 vaddr, 2 compat_nr_pages = 0,
 * 4 flags, 5 nr_pages in that order. -EINVAL if @pm is not valid. On
 * success *ret is a malloc()ed buffer; caller frees with free(). */
int ck_criu_pagemap_encode(const struct ck_criu_pagemap *pm, void **ret,
			   size_t *ret_len);

struct ck_criu_inventory {
	uint32_t img_version;   /* 2 (v1.1) in dumps; 0 in CRIU pre-dumps */
	bool has_dump_uptime;   /* set when memory tracking was on */
	uint64_t dump_uptime;   /* host uptime, for CRIU's pid-reuse check */
	bool has_pre_dump_mode; /* only CRIU pre-dumps write this field */
	uint32_t pre_dump_mode; /* CK_CRIU_PRE_DUMP_* */
};

/* Parses inventory.img: the magic and exactly one InventoryEntry record
 * with the required img_version (field 1). Other fields are skipped. */
int ck_criu_inventory_parse(const void *buf, size_t len,
			    struct ck_criu_inventory *ret);

/* Rewrites a dump's inventory.img into the form `criu pre-dump` writes
 * (cr_pre_dump_finish(): a fresh InventoryEntry with img_version 0,
 * dump_uptime, pre_dump_mode and the plugins entry): field 1 = 0, fields
 * 8 and 12 copied if present, field 9 = @mode. @mode is
 * CK_CRIU_PRE_DUMP_SPLICE or _READ. On success *ret is a malloc()ed
 * buffer; caller frees with free(). */
int ck_criu_inventory_to_predump(const void *buf, size_t len, uint32_t mode,
				 void **ret, size_t *ret_len);

enum ck_criu_dir_kind {
	CK_CRIU_DIR_UNKNOWN = 0, /* neither pstree.img nor a pagemap */
	CK_CRIU_DIR_DUMP,        /* `criu dump`: has pstree.img */
	CK_CRIU_DIR_PREDUMP,     /* `criu pre-dump`: pagemaps, no pstree */
};

/* Classifies an image dir from the names of its files. `criu dump`
 * always writes pstree.img (dump_pstree()); `criu pre-dump` writes only
 * pagemap-*.img, pages-*.img, inventory.img, stats-dump and maybe
 * irmap-cache (cr_pre_dump_finish()). If @inv (the parsed inventory.img,
 * may be NULL) contradicts the names (a pre_dump_mode in a dir with
 * pstree.img), returns -EBADMSG. Returns an enum ck_criu_dir_kind. */
int ck_criu_dir_kind(const char *const *names, size_t n,
		     const struct ck_criu_inventory *inv);

/*
 * A flattened parent chain: which layer's pages file holds the newest
 * content of every page that the newest layer defines.
 */
struct ck_criu_run {
	uint64_t vaddr;      /* bytes, page aligned */
	uint64_t nr_pages;   /* >= 1 */
	size_t layer;        /* index into the layers passed to _flatten() */
	uint64_t page_index; /* first page in that layer's pages file */
	uint32_t flags;      /* of the entry holding the data: PRESENT[|LAZY] */
};

struct ck_criu_flat {
	size_t n;               /* runs, sorted by vaddr, non-overlapping */
	struct ck_criu_run *r;
	uint64_t nr_pages;      /* sum of r[].nr_pages */
};

/*
 * Flattens @layers, ordered oldest (0) to newest (nlayers - 1), as CRIU
 * restore reads them through the "parent" links. The newest pagemap
 * defines the set of pages: its PE_PRESENT entries resolve to itself, its
 * PE_PARENT entries to layer nlayers - 2 at the same vaddr, recursively
 * down the chain. Pages of the newest layer with neither flag (PE_LAZY
 * alone) have no data anywhere and are left out. Entries of older layers
 * only supply content. Runs never span two entries of the newest layer.
 * Returns -EBADMSG if a PE_PARENT page is not PE_PRESENT in any older
 * layer, -EINVAL if a layer is invalid. On success *ret is freed with
 * ck_criu_flat_free().
 */
int ck_criu_flatten(const struct ck_criu_pagemap *layers, size_t nlayers,
		    struct ck_criu_flat **ret);

/* NULL-safe; returns NULL. */
struct ck_criu_flat *ck_criu_flat_free(struct ck_criu_flat *f);

/* The pagemap of the flattened image: one PE_PRESENT entry per run (run
 * flags kept, so PE_LAZY survives), in run order; its pages file is the
 * concatenation of the runs' pages. Release @ret with
 * ck_criu_pagemap_release(). */
int ck_criu_flat_to_pagemap(const struct ck_criu_flat *f, uint64_t pages_id,
			    struct ck_criu_pagemap *ret);

/*
 * Computes the incremental pagemap that CRIU would write for the full dump
 * @cur (every entry PE_PRESENT; @cur_pages is its pages file) if @parent
 * (@parent_pages its pages file; NULL/0 with an empty @parent) were its
 * parent images dir and memory tracking had reported as clean exactly the
 * pages whose bytes equal the parent's PE_PRESENT page at the same vaddr.
 * Clean pages become PE_PARENT entries, merged while contiguous as CRIU
 * merges page-pipe holes; the rest stay PE_PRESENT with the flags of
 * their entry in @cur, split at @cur's entry boundaries. The result keeps
 * @cur's pages_id.
 *
 * On success *ret_src is a malloc()ed array (caller frees with free())
 * parallel to ret->e: for a PE_PRESENT entry the index in @cur_pages of
 * its first page (its pages are contiguous there), UINT64_MAX for
 * PE_PARENT entries; the new pages file is the concatenation of those
 * ranges in entry order. -EBADMSG if a pages buffer does not match its
 * pagemap or @cur has a non-PE_PRESENT entry.
 */
int ck_criu_pagemap_delta(const struct ck_criu_pagemap *parent,
			  const void *parent_pages, uint64_t parent_pages_len,
			  const struct ck_criu_pagemap *cur,
			  const void *cur_pages, uint64_t cur_pages_len,
			  struct ck_criu_pagemap *ret, uint64_t **ret_src);
