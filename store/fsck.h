/* SPDX-License-Identifier: MIT */
/*
 * fsck.h - verifying a repository: every chunk re-read, decoded and
 * re-hashed; every reference checked; every count recomputed.
 *
 * Problem classes come from one X-macro table; ck_fsck() returns the
 * bitmask of classes found (0: clean), which `ckstore fsck` uses as its
 * exit code, like git fsck. Uncounted chunk records (left by an ingest
 * that was killed or failed before its commit) are garbage, not damage:
 * they are reported in the summary and reclaimed by gc.
 *
 * Work: one pass over the catalog's versions and one over the chunks,
 * memory proportional to the number of chunks.
 */
#pragma once

#include <stdint.h>

#include "repo.h"

#define CK_FSCK_CLASSES(X)                                                  \
	X(CORRUPT_CHUNK, 1, "chunk record fails to decode or verify")      \
	X(MISSING_CHUNK, 2, "referenced chunk is not stored")              \
	X(BAD_REFCOUNT, 4, "stored reference count is wrong")              \
	X(BAD_CATALOG, 8, "version or file record is malformed")           \
	X(BROKEN_DELTA, 16, "delta's base is missing or corrupt")

enum ck_fsck_class {
#define CK_FSCK_ENUM(name, bit, text) CK_FSCK_##name = bit,
	CK_FSCK_CLASSES(CK_FSCK_ENUM)
#undef CK_FSCK_ENUM
};

struct ck_fsck_report {
	uint64_t versions, files;
	uint64_t chunks, delta_chunks; /* records examined */
	uint64_t garbage_chunks, garbage_bytes;
	uint64_t problems;
};

/* Called once per problem found; @msg is borrowed for the call. */
typedef void (*ck_fsck_problem_fn)(void *ud, enum ck_fsck_class cls,
				   const char *msg);

const char *ck_fsck_class_text(enum ck_fsck_class cls);
const char *ck_fsck_class_name(enum ck_fsck_class cls);

/* Returns the bitmask of problem classes found (>= 0) or -errno if the
 * check itself could not run. */
int ck_fsck(struct ck_repo *r, ck_fsck_problem_fn fn, void *ud,
	    struct ck_fsck_report *ret);
