/* SPDX-License-Identifier: MIT */
/*
 * gcsched.h - ckstored's scheduled gc: a thread that runs retention and
 * reclamation (gc/gc.h) every gc_interval seconds while the server
 * serves, beside pushes, mounts and restores (docs/gc.md says why that is
 * safe). A run that fails is logged and retried at the next tick; what it
 * did so far is consistent.
 *
 * Threads: one background thread; ck_gcsched_stop() wakes and joins it.
 */
#pragma once

#include "metrics.h"
#include "repo.h"

struct ck_gcsched;

/* @interval 0: no thread (returns NULL with 0). */
int ck_gcsched_start(struct ck_repo *r, struct ck_metrics *m,
		     unsigned interval, struct ck_gcsched **ret);
struct ck_gcsched *ck_gcsched_stop(struct ck_gcsched *g);
/* Counts one gc run in the metrics (scheduled or on demand). */
void ck_gcsched_count(struct ck_metrics *m, uint64_t versions,
		      uint64_t bytes);
