/* SPDX-License-Identifier: MIT */
/*
 * report.h - the JSON form of repository statistics: what `ckstore stats
 * --json` prints and what ckstored's GET /v1/stats answers
 * (docs/http-api.md). One definition, so that the two stay equal
 * (tests/integration/200-server-push-restore.sh compares them).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "repo.h"

/* The statistics object for the repository (@ctr NULL) or one container;
 * NULL without memory. */
json_t *ck_stats_json(const struct ck_stats *st, const char *ctr);

/* One summary per container that @sees accepts (NULL: every one):
 * versions, complete versions, the latest complete one, logical bytes and
 * the bytes its versions added. NULL on error. */
json_t *ck_containers_json(struct ck_repo *r,
			   bool (*sees)(void *ud, const char *ctr), void *ud);

/* @ns since the epoch as "YYYY-MM-DDTHH:MM:SSZ" (UTC) in @buf. */
const char *ck_iso_time(int64_t ns, char *buf, size_t cap);
