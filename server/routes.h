/* SPDX-License-Identifier: MIT */
/*
 * routes.h - the HTTP API of ckstored (docs/http-api.md): one table of
 * { method, path pattern, role, body kind, handler } and the handlers.
 *
 * Dispatch (struct ck_http_ops, see http.h): on_begin splits the raw
 * request target into percent-decoded segments (rejecting NUL, control
 * characters and encoded slashes), matches the table (404, or 405 with
 * an Allow header), authenticates (401) and authorizes the route's role
 * on the container the path names (403), and sets the body limit of the
 * route's body kind. Handlers run in on_body and answer exactly once;
 * a handler that returns -errno without answering gets the errno table's
 * status with a generic message.
 *
 * Names from the path are checked with ck_name_check() and file paths
 * with ck_path_check() before the repository sees them, so no request can
 * name anything outside its container's versions.
 *
 * Draining: after ck_routes_drain() every new request is answered 503
 * with "Connection: close" while requests already running finish;
 * ck_routes_active() counts them.
 *
 * Threads: handlers run on connection threads concurrently; what they
 * share (repository, uploads, metrics, the token table) is thread-safe.
 */
#pragma once

#include <stdint.h>

#include "auth.h"
#include "config.h"
#include "http.h"
#include "metrics.h"
#include "repo.h"

struct ck_routes;

extern const struct ck_http_ops ck_routes_ops;

/* @cfg is borrowed for the lifetime of the routes; @auth is referenced. */
int ck_routes_new(struct ck_repo *r, const struct ck_config *cfg,
		  struct ck_auth *auth, struct ck_routes **ret);
/* Drops open uploads. No request may be running. */
struct ck_routes *ck_routes_free(struct ck_routes *rt);
/* Replaces the token table (SIGHUP); requests already authenticated
 * keep the old one until they end. */
void ck_routes_set_auth(struct ck_routes *rt, struct ck_auth *auth);
void ck_routes_drain(struct ck_routes *rt);
uint64_t ck_routes_active(struct ck_routes *rt);
size_t ck_routes_uploads(struct ck_routes *rt);
/* The server's counters (borrowed; valid until ck_routes_free()). */
struct ck_metrics *ck_routes_metrics(struct ck_routes *rt);
