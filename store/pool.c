/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "compress.h"
#include "pool.h"

#define POOL_MAX 8

struct ck_pool {
	pthread_mutex_t mu;
	pthread_cond_t go, done;
	pthread_t th[POOL_MAX];
	unsigned helpers;
	uint64_t gen;  /* bumped by every ck_pool_run() */
	unsigned busy; /* helpers still in the current run */
	bool quit;
	bool running; /* a run is between its start and its end */
	void (*fn)(void *arg, unsigned k);
	void *arg;
};

struct helper_arg {
	struct ck_pool *p;
	unsigned k;
};

unsigned ck_pool_default_helpers(void)
{
	const char *env = getenv("CKSTORE_THREADS");
	long n;

	if (env && *env) {
		n = strtol(env, NULL, 10);
		if (n < 1)
			n = 1;
		if (n > POOL_MAX + 1)
			n = POOL_MAX + 1;
		return (unsigned)n - 1;
	}
	n = sysconf(_SC_NPROCESSORS_ONLN);
	if (n < 1)
		n = 1;
	return n - 1 > 3 ? 3 : (unsigned)n - 1;
}

static void *helper(void *arg)
{
	struct helper_arg a = *(struct helper_arg *)arg;
	struct ck_pool *p = a.p;
	uint64_t seen = 0;

	free(arg);
	pthread_mutex_lock(&p->mu);
	for (;;) {
		void (*fn)(void *, unsigned);
		void *fa;

		while (!p->quit && p->gen == seen)
			pthread_cond_wait(&p->go, &p->mu);
		if (p->quit)
			break;
		seen = p->gen;
		fn = p->fn;
		fa = p->arg;
		pthread_mutex_unlock(&p->mu);
		fn(fa, a.k);
		pthread_mutex_lock(&p->mu);
		if (--p->busy == 0)
			pthread_cond_signal(&p->done);
	}
	pthread_mutex_unlock(&p->mu);
	ck_compress_thread_exit();
	return NULL;
}

int ck_pool_new(unsigned helpers, struct ck_pool **ret)
{
	struct ck_pool *p;

	if (helpers < 1)
		return -EINVAL;
	if (helpers > POOL_MAX)
		helpers = POOL_MAX;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	pthread_mutex_init(&p->mu, NULL);
	pthread_cond_init(&p->go, NULL);
	pthread_cond_init(&p->done, NULL);
	for (unsigned i = 0; i < helpers; i++) {
		struct helper_arg *a = malloc(sizeof(*a));
		int e;

		if (!a)
			break;
		*a = (struct helper_arg){ .p = p, .k = i + 1 };
		e = pthread_create(&p->th[i], NULL, helper, a);
		if (e != 0) {
			free(a);
			break;
		}
		p->helpers++;
	}
	if (!p->helpers) {
		ck_pool_free(p);
		return -EAGAIN;
	}
	*ret = p;
	return 0;
}

/* A run, from its start to its end; called with p->mu held (and
 * p->running false), returns with it released. */
static void run_locked(struct ck_pool *p, void (*fn)(void *arg, unsigned k),
		       void *arg)
{
	p->running = true;
	p->fn = fn;
	p->arg = arg;
	p->busy = p->helpers;
	p->gen++;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	fn(arg, 0);
	pthread_mutex_lock(&p->mu);
	while (p->busy)
		pthread_cond_wait(&p->done, &p->mu);
	p->running = false;
	pthread_mutex_unlock(&p->mu);
}

void ck_pool_run(struct ck_pool *p, void (*fn)(void *arg, unsigned k),
		 void *arg)
{
	pthread_mutex_lock(&p->mu);
	run_locked(p, fn, arg);
}

bool ck_pool_try_run(struct ck_pool *p, void (*fn)(void *arg, unsigned k),
		     void *arg)
{
	pthread_mutex_lock(&p->mu);
	if (p->running) {
		pthread_mutex_unlock(&p->mu);
		return false;
	}
	run_locked(p, fn, arg);
	return true;
}

unsigned ck_pool_threads(const struct ck_pool *p)
{
	return p->helpers + 1;
}

void ck_pool_free(struct ck_pool *p)
{
	if (!p)
		return;
	pthread_mutex_lock(&p->mu);
	p->quit = true;
	pthread_cond_broadcast(&p->go);
	pthread_mutex_unlock(&p->mu);
	for (unsigned i = 0; i < p->helpers; i++)
		pthread_join(p->th[i], NULL);
	pthread_cond_destroy(&p->done);
	pthread_cond_destroy(&p->go);
	pthread_mutex_destroy(&p->mu);
	free(p);
}
