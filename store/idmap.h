/* SPDX-License-Identifier: MIT */
/*
 * idmap.h - an open-addressing hash map from chunk ID to a u64 value.
 *
 * Used wherever a pass over a version or the repository must remember
 * chunk IDs: the set of IDs a new version references, reference
 * recounting in fsck, decrements during deletion. 24 bytes a slot, load
 * factor at most 1/2. Keys are never removed (passes are short-lived).
 *
 * Threads: none; one owner.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "id.h"

struct ck_idmap_slot {
	struct ck_id id;
	uint64_t val;
};

struct ck_idmap {
	struct ck_idmap_slot *slots; /* empty slots have a zero ID */
	size_t cap;		     /* power of two */
	size_t n;
};

#define CK_IDMAP_INIT { NULL, 0, 0 }

void ck_idmap_release(struct ck_idmap *m);
/* Returns the slot for @id, inserting it with value 0 if absent; sets
 * *ret_new accordingly. NULL only for ENOMEM. The zero ID cannot be a
 * key. Borrowed; valid until the next insertion. */
struct ck_idmap_slot *ck_idmap_upsert(struct ck_idmap *m,
				      const struct ck_id *id, bool *ret_new);
/* Borrowed pointer or NULL. */
struct ck_idmap_slot *ck_idmap_find(const struct ck_idmap *m,
				    const struct ck_id *id);

/* Iteration: for (i = 0; i < m->cap; i++) if (!ck_id_is_zero(...)) */
#define ck_idmap_foreach(m, s)                                              \
	for ((s) = (m)->slots; (m)->slots && (s) < (m)->slots + (m)->cap;  \
	     (s)++)                                                         \
		if (!ck_id_is_zero(&(s)->id))
