/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

#include "metrics.h"

/* Status codes counted one by one; anything else is "other". */
static const unsigned codes[] = { 200, 201, 204, 206, 304, 400, 401, 403,
				  404, 405, 408, 409, 413, 414, 416, 422,
				  429, 500, 501, 503, 507, 0 };
#define NCODES (sizeof(codes) / sizeof(*codes))

/* Latency histogram bounds in seconds (Prometheus "le"). */
static const double bounds[] = { 0.001, 0.005, 0.01, 0.05, 0.1,
				 0.5,	1,     5,    30 };
#define NBOUNDS (sizeof(bounds) / sizeof(*bounds))

struct route_stats {
	atomic_uint_fast64_t by_code[NCODES];
	atomic_uint_fast64_t hist[NBOUNDS + 1];
	atomic_uint_fast64_t ns_sum;
	atomic_uint_fast64_t bytes_in, bytes_out;
};

struct ck_metrics {
	const char *const *names;
	size_t n; /* routes + 1 ("unmatched") */
	struct route_stats *r;
	atomic_uint_fast64_t c[CK_M_MAX_];
};

static const struct {
	const char *name, *help;
} counters[CK_M_MAX_] = {
	[CK_M_UPLOADS_STARTED] = { "ckstored_uploads_started_total",
				   "upload sessions begun" },
	[CK_M_UPLOADS_COMMITTED] = { "ckstored_uploads_committed_total",
				     "uploads committed as versions" },
	[CK_M_UPLOADS_ABORTED] = { "ckstored_uploads_aborted_total",
				   "uploads aborted by their client" },
	[CK_M_UPLOADS_EXPIRED] = { "ckstored_uploads_expired_total",
				   "uploads dropped after the idle timeout" },
	[CK_M_UPLOADS_FAILED] = { "ckstored_uploads_failed_total",
				  "uploads whose commit failed" },
	[CK_M_CHUNKS_OFFERED] = { "ckstored_upload_chunks_offered_total",
				  "chunk IDs received in file manifests" },
	[CK_M_CHUNKS_MISSING] = { "ckstored_upload_chunks_missing_total",
				  "offered chunk IDs the repository lacked" },
	[CK_M_CHUNKS_RECEIVED] = { "ckstored_upload_chunks_received_total",
				   "chunk bodies received" },
	[CK_M_CHUNK_BYTES] = { "ckstored_upload_chunk_bytes_total",
			       "raw bytes of chunk bodies received" },
	[CK_M_CHUNKS_REJECTED] = { "ckstored_upload_chunks_rejected_total",
				   "chunk bodies that did not hash to their "
				   "ID" },
	[CK_M_DELTA_HINTS] = { "ckstored_upload_delta_bases_total",
			       "received page chunks offered a delta base" },
	[CK_M_AUTH_FAILURES] = { "ckstored_auth_failures_total",
				 "requests answered 401" },
	[CK_M_FORBIDDEN] = { "ckstored_forbidden_total",
			     "requests answered 403" },
	[CK_M_GC_RUNS] = { "ckstored_gc_runs_total",
			   "gc runs, scheduled and on demand" },
	[CK_M_GC_VERSIONS] = { "ckstored_gc_versions_deleted_total",
			       "versions deleted by gc" },
	[CK_M_GC_BYTES] = { "ckstored_gc_reclaimed_bytes_total",
			    "chunk bytes reclaimed by gc" },
};

struct ck_metrics *ck_metrics_new(const char *const *routes, size_t n)
{
	struct ck_metrics *m = calloc(1, sizeof(*m));

	if (!m)
		return NULL;
	m->names = routes;
	m->n = n + 1;
	m->r = calloc(m->n, sizeof(*m->r));
	if (!m->r) {
		free(m);
		return NULL;
	}
	return m;
}

struct ck_metrics *ck_metrics_free(struct ck_metrics *m)
{
	if (!m)
		return NULL;
	free(m->r);
	free(m);
	return NULL;
}

void ck_metrics_add(struct ck_metrics *m, enum ck_metric which, uint64_t v)
{
	atomic_fetch_add_explicit(&m->c[which], v, memory_order_relaxed);
}

void ck_metrics_request(struct ck_metrics *m, size_t route, unsigned status,
			uint64_t bytes_in, uint64_t bytes_out,
			uint64_t elapsed_ns)
{
	struct route_stats *r = &m->r[route < m->n ? route : m->n - 1];
	double secs = (double)elapsed_ns / 1e9;
	size_t i;

	for (i = 0; i + 1 < NCODES && codes[i] != status; i++)
		;
	atomic_fetch_add_explicit(&r->by_code[i], 1, memory_order_relaxed);
	for (i = 0; i < NBOUNDS && secs > bounds[i]; i++)
		;
	atomic_fetch_add_explicit(&r->hist[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&r->ns_sum, elapsed_ns,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&r->bytes_in, bytes_in,
				  memory_order_relaxed);
	atomic_fetch_add_explicit(&r->bytes_out, bytes_out,
				  memory_order_relaxed);
}

static const char *route_name(const struct ck_metrics *m, size_t i)
{
	return i + 1 < m->n ? m->names[i] : "unmatched";
}

static uint64_t ld(atomic_uint_fast64_t *v)
{
	return atomic_load_explicit(v, memory_order_relaxed);
}

int ck_metrics_render(struct ck_metrics *m, const struct ck_metrics_gauges *g,
		      char **ret, size_t *ret_len)
{
	char *buf = NULL;
	size_t len = 0;
	uint64_t in = 0, out = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -ENOMEM;
	fprintf(f, "# HELP ckstored_http_requests_total HTTP requests by "
		   "route and status\n"
		   "# TYPE ckstored_http_requests_total counter\n");
	for (size_t i = 0; i < m->n; i++)
		for (size_t j = 0; j < NCODES; j++) {
			uint64_t v = ld(&m->r[i].by_code[j]);
			char code[16];

			if (!v)
				continue;
			if (codes[j])
				snprintf(code, sizeof(code), "%u", codes[j]);
			else
				snprintf(code, sizeof(code), "other");
			fprintf(f,
				"ckstored_http_requests_total{route=\"%s\","
				"code=\"%s\"} %" PRIu64 "\n",
				route_name(m, i), code, v);
		}
	fprintf(f, "# HELP ckstored_http_request_duration_seconds time from "
		   "request line to the response being queued or sent\n"
		   "# TYPE ckstored_http_request_duration_seconds histogram\n");
	for (size_t i = 0; i < m->n; i++) {
		uint64_t cum = 0;

		for (size_t j = 0; j <= NBOUNDS; j++)
			cum += ld(&m->r[i].hist[j]);
		if (!cum)
			continue;
		cum = 0;
		for (size_t j = 0; j <= NBOUNDS; j++) {
			cum += ld(&m->r[i].hist[j]);
			if (j < NBOUNDS)
				fprintf(f,
					"ckstored_http_request_duration_"
					"seconds_bucket{route=\"%s\",le=\"%g\"}"
					" %" PRIu64 "\n",
					route_name(m, i), bounds[j], cum);
			else
				fprintf(f,
					"ckstored_http_request_duration_"
					"seconds_bucket{route=\"%s\",le=\"+Inf\""
					"} %" PRIu64 "\n",
					route_name(m, i), cum);
		}
		fprintf(f,
			"ckstored_http_request_duration_seconds_sum{route=\"%s\""
			"} %.6f\n"
			"ckstored_http_request_duration_seconds_count{route=\""
			"%s\"} %" PRIu64 "\n",
			route_name(m, i), (double)ld(&m->r[i].ns_sum) / 1e9,
			route_name(m, i), cum);
	}
	fprintf(f, "# HELP ckstored_http_received_bytes_total request body "
		   "bytes received, by route\n"
		   "# TYPE ckstored_http_received_bytes_total counter\n");
	for (size_t i = 0; i < m->n; i++) {
		uint64_t v = ld(&m->r[i].bytes_in);

		in += v;
		if (v)
			fprintf(f,
				"ckstored_http_received_bytes_total{route=\"%s\""
				"} %" PRIu64 "\n",
				route_name(m, i), v);
	}
	fprintf(f, "# HELP ckstored_http_sent_bytes_total response body "
		   "bytes sent, by route\n"
		   "# TYPE ckstored_http_sent_bytes_total counter\n");
	for (size_t i = 0; i < m->n; i++) {
		uint64_t v = ld(&m->r[i].bytes_out);

		out += v;
		if (v)
			fprintf(f,
				"ckstored_http_sent_bytes_total{route=\"%s\"} "
				"%" PRIu64 "\n",
				route_name(m, i), v);
	}
	fprintf(f,
		"# HELP ckstored_received_bytes_total request body bytes "
		"received, all routes\n"
		"# TYPE ckstored_received_bytes_total counter\n"
		"ckstored_received_bytes_total %" PRIu64 "\n"
		"# HELP ckstored_sent_bytes_total response body bytes sent, "
		"all routes\n"
		"# TYPE ckstored_sent_bytes_total counter\n"
		"ckstored_sent_bytes_total %" PRIu64 "\n",
		in, out);
	for (int i = 0; i < CK_M_MAX_; i++)
		fprintf(f,
			"# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n",
			counters[i].name, counters[i].help, counters[i].name,
			counters[i].name, ld(&m->c[i]));
	fprintf(f,
		"# HELP ckstored_uploads_active upload sessions open\n"
		"# TYPE ckstored_uploads_active gauge\n"
		"ckstored_uploads_active %" PRIu64 "\n"
		"# HELP ckstored_requests_active requests being served\n"
		"# TYPE ckstored_requests_active gauge\n"
		"ckstored_requests_active %" PRIu64 "\n"
		"# HELP ckstored_uptime_seconds seconds since start\n"
		"# TYPE ckstored_uptime_seconds gauge\n"
		"ckstored_uptime_seconds %" PRIu64 "\n",
		g->uploads_active, g->requests_active, g->uptime_seconds);
	if (g->have_repo)
		fprintf(f,
			"# HELP ckstore_containers containers in the "
			"repository\n# TYPE ckstore_containers gauge\n"
			"ckstore_containers %" PRIu64 "\n"
			"# HELP ckstore_versions versions in the repository\n"
			"# TYPE ckstore_versions gauge\n"
			"ckstore_versions %" PRIu64 "\n"
			"# HELP ckstore_logical_bytes bytes of every version "
			"as pushed\n# TYPE ckstore_logical_bytes gauge\n"
			"ckstore_logical_bytes %" PRIu64 "\n"
			"# HELP ckstore_chunks stored chunks\n"
			"# TYPE ckstore_chunks gauge\n"
			"ckstore_chunks %" PRIu64 "\n"
			"# HELP ckstore_raw_bytes decoded bytes of stored "
			"chunks\n# TYPE ckstore_raw_bytes gauge\n"
			"ckstore_raw_bytes %" PRIu64 "\n"
			"# HELP ckstore_stored_bytes bytes of chunk records\n"
			"# TYPE ckstore_stored_bytes gauge\n"
			"ckstore_stored_bytes %" PRIu64 "\n"
			"# HELP ckstore_delta_chunks chunks stored as deltas\n"
			"# TYPE ckstore_delta_chunks gauge\n"
			"ckstore_delta_chunks %" PRIu64 "\n",
			g->containers, g->versions, g->logical_bytes,
			g->chunks, g->raw_bytes, g->stored_bytes,
			g->delta_chunks);
	if (fclose(f) != 0) {
		free(buf);
		return -ENOMEM;
	}
	*ret = buf;
	*ret_len = len;
	return 0;
}
