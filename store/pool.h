/* SPDX-License-Identifier: MIT */
/*
 * pool.h - a fork-join pool: a fixed set of helper threads that run one
 * function together with the calling thread, then wait for the next.
 *
 * Ingest encodes a block of chunks at a time (session.c); creating threads
 * per block would cost more than the work (and each new thread builds its
 * zstd contexts again), so a session keeps its helpers until it ends.
 * ck_pool_run() is not reentrant: one caller at a time. A pool shared by
 * threads that each have work of their own (readers of one repository)
 * uses ck_pool_try_run(): whoever finds the helpers busy does its work
 * alone, which is as parallel as the machine gets anyway.
 */
#pragma once

#include <stdbool.h>

struct ck_pool;

/* Helpers worth starting on this machine: online CPUs - 1, at most 3,
 * or CKSTORE_THREADS - 1 when that is set (1 turns parallel work off). */
unsigned ck_pool_default_helpers(void);

/* Starts @helpers threads (>= 1). */
int ck_pool_new(unsigned helpers, struct ck_pool **ret);

/* Calls fn(arg, k) on the calling thread (k = 0) and on every helper
 * (k = 1 .. helpers) at once; returns when every call has returned. */
void ck_pool_run(struct ck_pool *p, void (*fn)(void *arg, unsigned k),
		 void *arg);

/* The same, unless another thread's run holds the helpers: then it
 * returns false without calling @fn. */
bool ck_pool_try_run(struct ck_pool *p, void (*fn)(void *arg, unsigned k),
		     void *arg);

/* Threads that ck_pool_run() uses, the caller included. */
unsigned ck_pool_threads(const struct ck_pool *p);

/* Stops and joins the helpers. NULL is fine. */
void ck_pool_free(struct ck_pool *p);
