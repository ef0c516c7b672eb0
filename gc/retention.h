/* SPDX-License-Identifier: MIT */
/*
 * retention.h - which versions a container keeps.
 *
 * A policy keeps the union of:
 *   - the versions of the newest keep_groups version groups (the thesis's
 *     rule, seeds/003 Algorithm 1: groups of a pre-dump and its dumps,
 *     the oldest group deleted when more than 3 exist);
 *   - the newest keep_last versions (0: none by this rule);
 *   - versions created within keep_within seconds of now (0: none);
 *   - pinned versions, always;
 *   - the newest complete version, always (a container never loses its
 *     last restorable checkpoint to retention);
 * minus incomplete versions older than expire_incomplete seconds (0:
 * never expire), unless pinned. An incomplete version younger than that
 * is kept: its writer may still be finishing.
 *
 * Policies are stored in the catalog: a repository default
 * (meta.policy) and optional per-container overrides ('P' container),
 * both JSON. ck_retention_plan() is a pure function of the versions, the
 * policy and the time, so it can be tested without a repository.
 *
 * Errors: negative errno; -EINVAL for a malformed policy.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "repo.h"

struct ck_policy {
	uint32_t keep_groups;	    /* newest groups kept; 0: rule off */
	uint32_t keep_last;	    /* newest versions kept; 0: rule off */
	int64_t keep_within;	    /* seconds; 0: rule off */
	int64_t expire_incomplete;  /* seconds; 0: never */
};

#define CK_POLICY_DEFAULT { 3, 0, 0, 3600 }

/* Why a version is kept (bits), or 0 if it goes. */
enum ck_keep_reason {
	CK_KEEP_GROUP = 1,
	CK_KEEP_LAST = 2,
	CK_KEEP_WITHIN = 4,
	CK_KEEP_PINNED = 8,
	CK_KEEP_LATEST = 16,
	CK_KEEP_YOUNG_INCOMPLETE = 32,
};

/* Fills keep[i] with the reasons version vs[i] is kept (0: delete).
 * @vs is oldest first, as ck_repo_versions() returns it. */
void ck_retention_plan(const struct ck_version *vs, size_t n,
		       const struct ck_policy *p, int64_t now_ns,
		       unsigned *keep);

/* The policy in force for @container (its own, else the repository's
 * default, else CK_POLICY_DEFAULT); @container NULL: the default. Sets
 * *ret_own when @container has its own. */
int ck_policy_get(struct ck_repo *r, const char *container,
		  struct ck_policy *ret, bool *ret_own);
/* Sets the policy of @container (NULL: the repository default). */
int ck_policy_set(struct ck_repo *r, const char *container,
		  const struct ck_policy *p);
/* Removes @container's own policy (it falls back to the default). */
int ck_policy_clear(struct ck_repo *r, const char *container);

/* Parses "90", "90s", "15m", "2h", "7d" into seconds; -EINVAL. */
int ck_duration_parse(const char *s, int64_t *ret);
