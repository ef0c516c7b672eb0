/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <time.h>

#include "catalog.h"
#include "report.h"

static double ratio(uint64_t a, uint64_t b)
{
	return b ? (double)a / (double)b : 0.0;
}

const char *ck_iso_time(int64_t ns, char *buf, size_t cap)
{
	time_t t = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
	return buf;
}

json_t *ck_stats_json(const struct ck_stats *st, const char *ctr)
{
	json_t *o;

	o = json_pack("{s:s?, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
		      "s:I, s:f, s:f, s:f, s:f}",
		      "container", ctr, "containers", (json_int_t)st->containers,
		      "versions", (json_int_t)st->versions, "logical_bytes",
		      (json_int_t)st->logical_bytes, "chunks",
		      (json_int_t)st->chunks, "raw_bytes",
		      (json_int_t)st->raw_bytes, "stored_bytes",
		      (json_int_t)st->stored_bytes, "delta_chunks",
		      (json_int_t)st->delta_chunks, "delta_raw_bytes",
		      (json_int_t)st->delta_raw_bytes, "delta_stored_bytes",
		      (json_int_t)st->delta_stored_bytes, "disk_bytes",
		      (json_int_t)st->disk_bytes, "dedup_ratio",
		      ratio(st->logical_bytes, st->raw_bytes),
		      "compression_ratio",
		      ratio(st->raw_bytes,
			    st->stored_bytes - st->list_stored_bytes),
		      "total_ratio",
		      ratio(st->logical_bytes, st->stored_bytes),
		      "delta_saved_bytes",
		      (double)(st->delta_raw_bytes - st->delta_stored_bytes));
	if (!o)
		return NULL;
	json_object_set_new(o, "list_chunks",
			    json_integer((json_int_t)st->list_chunks));
	json_object_set_new(o, "list_stored_bytes",
			    json_integer((json_int_t)st->list_stored_bytes));
	json_object_set_new(
		o, "disk",
		json_pack("{s:I, s:I, s:I, s:I, s:I}", "blob_files",
			  (json_int_t)st->blob_bytes, "meta_tables",
			  (json_int_t)st->sst_bytes[CK_CF_META],
			  "chunk_index_tables",
			  (json_int_t)st->sst_bytes[CK_CF_CHUNKS],
			  "refs_tables", (json_int_t)st->sst_bytes[CK_CF_REFS],
			  "stats_tables",
			  (json_int_t)st->sst_bytes[CK_CF_STATS]));
	return o;
}

json_t *ck_containers_json(struct ck_repo *r,
			   bool (*sees)(void *ud, const char *ctr), void *ud)
{
	char(*names)[CK_NAME_MAX + 1] = NULL;
	json_t *arr = json_array();
	size_t nn = 0;

	if (!arr || ck_repo_containers(r, &names, &nn) < 0) {
		json_decref(arr);
		return NULL;
	}
	for (size_t i = 0; i < nn; i++) {
		uint64_t logical = 0, added = 0, chunks = 0, complete = 0;
		const struct ck_version *latest = NULL;
		struct ck_version *vs = NULL;
		char t[64];
		size_t n = 0;

		if (sees && !sees(ud, names[i]))
			continue;
		if (ck_repo_versions(r, names[i], &vs, &n) < 0) {
			json_decref(arr);
			arr = NULL;
			break;
		}
		for (size_t j = 0; j < n; j++) {
			logical += vs[j].logical_bytes;
			added += vs[j].added_bytes;
			chunks += vs[j].added_chunks;
			if (vs[j].complete) {
				complete++;
				latest = &vs[j];
			}
		}
		json_array_append_new(
			arr,
			json_pack("{s:s, s:I, s:I, s:s?, s:s?, s:I, s:I, s:I}",
				  "container", names[i], "versions",
				  (json_int_t)n, "complete_versions",
				  (json_int_t)complete, "latest",
				  latest ? latest->name : NULL,
				  "latest_created",
				  latest ? ck_iso_time(latest->created_ns, t,
						       sizeof(t))
					 : NULL,
				  "logical_bytes", (json_int_t)logical,
				  "stored_bytes", (json_int_t)added, "chunks",
				  (json_int_t)chunks));
		free(vs);
	}
	free(names);
	return arr;
}
