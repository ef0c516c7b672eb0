/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "gc.h"
#include "gcsched.h"
#include "log.h"

struct ck_gcsched {
	struct ck_repo *r;
	struct ck_metrics *m;
	unsigned interval;
	pthread_t th;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stop; /* protected by lock */
};

void ck_gcsched_count(struct ck_metrics *m, uint64_t versions,
		      uint64_t bytes)
{
	ck_metrics_add(m, CK_M_GC_RUNS, 1);
	ck_metrics_add(m, CK_M_GC_VERSIONS, versions);
	ck_metrics_add(m, CK_M_GC_BYTES, bytes);
}

static void *gc_main(void *arg)
{
	struct ck_gcsched *g = arg;

	pthread_mutex_lock(&g->lock);
	while (!g->stop) {
		struct ck_gc_opts o = { .compact = true };
		struct ck_gc_report rep;
		struct timespec until;
		int q;

		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += g->interval;
		while (!g->stop &&
		       pthread_cond_timedwait(&g->cond, &g->lock, &until) !=
			       ETIMEDOUT)
			;
		if (g->stop)
			break;
		pthread_mutex_unlock(&g->lock);
		q = ck_gc_run(g->r, &o, &rep);
		if (q < 0) {
			ck_log_error_errno(q, "scheduled gc: %m (retrying in "
					      "%u s)",
					   g->interval);
		} else {
			ck_gcsched_count(g->m, rep.versions_deleted,
					 rep.bytes_freed + rep.garbage_bytes);
			if (rep.versions_deleted || rep.garbage_chunks)
				ck_log_info("scheduled gc: %" PRIu64
					    " versions, %" PRIu64
					    " garbage chunks, %" PRIu64
					    " bytes freed in %.2f s",
					    rep.versions_deleted,
					    rep.garbage_chunks,
					    rep.bytes_freed + rep.garbage_bytes,
					    rep.seconds);
		}
		pthread_mutex_lock(&g->lock);
	}
	pthread_mutex_unlock(&g->lock);
	return NULL;
}

int ck_gcsched_start(struct ck_repo *r, struct ck_metrics *m,
		     unsigned interval, struct ck_gcsched **ret)
{
	struct ck_gcsched *g;

	*ret = NULL;
	if (!interval)
		return 0;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	g->r = r;
	g->m = m;
	g->interval = interval;
	pthread_mutex_init(&g->lock, NULL);
	pthread_cond_init(&g->cond, NULL);
	if (pthread_create(&g->th, NULL, gc_main, g) != 0) {
		pthread_mutex_destroy(&g->lock);
		pthread_cond_destroy(&g->cond);
		free(g);
		return -EAGAIN;
	}
	*ret = g;
	return 0;
}

struct ck_gcsched *ck_gcsched_stop(struct ck_gcsched *g)
{
	if (!g)
		return NULL;
	pthread_mutex_lock(&g->lock);
	g->stop = true;
	pthread_cond_signal(&g->cond);
	pthread_mutex_unlock(&g->lock);
	pthread_join(g->th, NULL); /* a running gc finishes its batch */
	pthread_mutex_destroy(&g->lock);
	pthread_cond_destroy(&g->cond);
	free(g);
	return NULL;
}
