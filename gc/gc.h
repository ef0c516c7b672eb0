/* SPDX-License-Identifier: MIT */
/*
 * gc.h - retention and reclamation, online.
 *
 * A gc run, per container: evaluate the retention policy
 * (retention.h), delete the versions it drops together in one atomic
 * batch (store/delete.c: a chunk is freed when no remaining version and
 * no live delta needs it), then sweep garbage: chunk records written by
 * sessions that never committed (a killed push, a client that went away).
 * Finally the chunk family is compacted so that blob files with garbage
 * are rewritten and the space returns to the file system.
 *
 * Why this is safe while pushes, mounts and restores go on (the race
 * every dedup store has; docs/gc.md has the whole argument):
 *   - deleting versions and committing versions serialize on repo->lock,
 *     and a commit re-checks under that lock that every chunk it reuses
 *     is still counted (store/session.c check_reused), so a chunk freed
 *     by gc is never referenced by a version committed after it;
 *   - the sweep only touches records listed in journals of sessions that
 *     are over (an older writer epoch, or no longer open in this
 *     process), skips any record a live session also wrote, and deletes
 *     a record only if it is still uncounted under repo->lock;
 *   - a reader (restore, FUSE) reads versions that are committed; a
 *     version deleted under a reader makes that read fail cleanly
 *     (-ENOENT), it never returns wrong bytes (every chunk is verified).
 * The lock is held for the batch evaluations only: ingest waits at most
 * for one batch, never for a whole gc.
 *
 * A gc killed at any instant leaves the repository consistent: each
 * deletion and each sweep step is one atomic batch; the next run
 * finishes the job.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "repo.h"
#include "retention.h"

struct ck_gc_opts {
	const char *container; /* NULL: every container */
	bool dry_run;	       /* say what would go, change nothing */
	bool compact;	       /* return the space to the file system */
	/* Called for every version that goes (or would go). */
	void (*on_version)(void *ud, const struct ck_version *v);
	void *ud;
};

struct ck_gc_report {
	uint64_t containers;
	uint64_t versions_deleted;
	uint64_t chunks_freed, bytes_freed;   /* of deleted versions */
	uint64_t garbage_chunks, garbage_bytes; /* swept */
	uint64_t disk_before, disk_after;     /* du of the repository */
	double seconds;
};

int ck_gc_run(struct ck_repo *r, const struct ck_gc_opts *o,
	      struct ck_gc_report *ret);

/* The sweep alone: deletes (or, with @dry_run, counts)
 * uncounted chunk records of sessions that are over. */
int ck_gc_sweep(struct ck_repo *r, bool dry_run, uint64_t *ret_chunks,
		uint64_t *ret_bytes);
