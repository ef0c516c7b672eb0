/* SPDX-License-Identifier: MIT */
/*
 * auth.h - who may do what: bearer tokens with a role and optional
 * container patterns.
 *
 * A request carries "Authorization: Bearer <secret>". The secret is
 * compared with every configured token in time that depends only on the
 * configured secrets' lengths, never on where the first differing byte
 * is, and the loop does not stop at a match. Outcomes, as HTTP means
 * them:
 *   - no header: the anonymous role (config "anonymous", default none);
 *   - a header that matches no token, or is malformed: 401 (whoever
 *     sent it is not authenticated; the anonymous role does not apply);
 *   - a known token whose role or patterns do not cover the request:
 *     403.
 *
 * Roles are ordered: read < write < admin; each includes the ones below.
 * A token with container patterns (fnmatch(3) globs) may only name
 * matching containers, sees only those in listings, and may not use
 * repository-wide operations (global stats, fsck, gc), whatever its role.
 *
 * A struct ck_auth is immutable once built and reference counted:
 * SIGHUP builds a new one and swaps it in while requests that started
 * before keep the one they authenticated with.
 *
 * Threads: ck_auth_ref()/ck_auth_unref() and every query are safe from
 * any thread.
 */
#pragma once

#include <stdbool.h>

#include "config.h"

struct ck_auth;

/* Copies the tokens and the anonymous role of @c. NULL only for ENOMEM. */
struct ck_auth *ck_auth_new(const struct ck_config *c);
struct ck_auth *ck_auth_ref(struct ck_auth *a);
/* NULL-safe; returns NULL. */
struct ck_auth *ck_auth_unref(struct ck_auth *a);
size_t ck_auth_count(const struct ck_auth *a);

/* The caller's identity: a token (borrowed from @a) or anonymous. */
struct ck_principal {
	const struct ck_token *token; /* NULL: anonymous */
	enum ck_role role;
};

/* Authenticates the value of an Authorization header (@header may be
 * NULL). 0 and *ret on success; -EACCES (HTTP 401) for a malformed
 * header or an unknown secret. */
int ck_auth_check(const struct ck_auth *a, const char *header,
		  struct ck_principal *ret);

/* Whether @p may act with role @need on @container (NULL: a
 * repository-wide operation). */
bool ck_auth_allows(const struct ck_principal *p, enum ck_role need,
		    const char *container);
/* Whether @p may see @container in listings (read on it). */
bool ck_auth_sees(const struct ck_principal *p, const char *container);
/* The principal's name for logs: the token name or "anonymous". */
const char *ck_auth_name(const struct ck_principal *p);

/* Constant-time comparison of a presented secret @a (@alen bytes) with a
 * configured one @b (@blen bytes): time depends on @blen only. */
bool ck_auth_equal(const char *a, size_t alen, const char *b, size_t blen);
