/* SPDX-License-Identifier: MIT */
/*
 * metrics.h - ckstored's counters in the Prometheus text format
 * (GET /metrics).
 *
 * Requests are counted per route (a fixed list from the route table, so
 * label sets are bounded) and status code, with a latency histogram per
 * route and the body bytes that crossed the wire each way. Upload
 * counters say what the dedup protocol saved: chunks offered (in
 * manifests), chunks the server lacked, chunks and bytes received.
 *
 * Threads: every update is one relaxed atomic add; rendering reads the
 * counters without a lock (each value is consistent, the set is not a
 * snapshot, as usual for Prometheus).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

enum ck_metric {
	CK_M_UPLOADS_STARTED,
	CK_M_UPLOADS_COMMITTED,
	CK_M_UPLOADS_ABORTED,
	CK_M_UPLOADS_EXPIRED,
	CK_M_UPLOADS_FAILED,
	CK_M_CHUNKS_OFFERED,	 /* IDs in manifests */
	CK_M_CHUNKS_MISSING,	 /* of those, what the server lacked */
	CK_M_CHUNKS_RECEIVED,	 /* chunk bodies received */
	CK_M_CHUNK_BYTES,	 /* their raw bytes */
	CK_M_CHUNKS_REJECTED,	 /* bytes did not hash to the ID */
	CK_M_DELTA_HINTS,	 /* received page chunks with a base */
	CK_M_AUTH_FAILURES,	 /* 401 */
	CK_M_FORBIDDEN,		 /* 403 */
	CK_M_GC_RUNS,		 /* gc runs, scheduled and on demand */
	CK_M_GC_VERSIONS,	 /* versions they deleted */
	CK_M_GC_BYTES,		 /* chunk bytes they reclaimed */
	CK_M_MAX_,
};

struct ck_metrics;

/* @routes: names of the routes (borrowed, must outlive @m); index @n is
 * added for requests that matched none. NULL only for ENOMEM. */
struct ck_metrics *ck_metrics_new(const char *const *routes, size_t n);
struct ck_metrics *ck_metrics_free(struct ck_metrics *m);

void ck_metrics_add(struct ck_metrics *m, enum ck_metric which, uint64_t v);
void ck_metrics_request(struct ck_metrics *m, size_t route, unsigned status,
			uint64_t bytes_in, uint64_t bytes_out,
			uint64_t elapsed_ns);

struct ck_metrics_gauges {
	uint64_t uploads_active;
	uint64_t requests_active;
	uint64_t uptime_seconds;
	/* repository counters (ck_repo_stats), when available */
	int have_repo;
	uint64_t containers, versions, logical_bytes, chunks, raw_bytes,
		stored_bytes, delta_chunks;
};

/* Renders everything; *ret is malloc()ed, caller frees with free(). */
int ck_metrics_render(struct ck_metrics *m, const struct ck_metrics_gauges *g,
		      char **ret, size_t *ret_len);
