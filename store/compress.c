/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#define ZDICT_STATIC_LINKING_ONLY /* fastCover's parameters */
#include <zdict.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "compress.h"
#include "log.h"

static _Thread_local ZSTD_CCtx *tl_cctx;
static _Thread_local ZSTD_DCtx *tl_dctx;
static _Thread_local int tl_level = -1000;

/* A thread that made a context frees it when it exits, whether or not
 * it called ck_compress_thread_exit() (scheduled gc decodes list chunks,
 * so does any thread that deletes). */
static pthread_key_t tl_key;
static pthread_once_t tl_once = PTHREAD_ONCE_INIT;

static void tl_destroy(void *unused)
{
	(void)unused;
	ck_compress_thread_exit();
}

static void tl_key_make(void)
{
	(void)pthread_key_create(&tl_key, tl_destroy);
}

static void tl_register(void)
{
	(void)pthread_once(&tl_once, tl_key_make);
	(void)pthread_setspecific(tl_key, &tl_key);
}

size_t ck_compress_bound(size_t n)
{
	return ZSTD_compressBound(n);
}

/* The thread's compression context, at @level, no prefix or dictionary
 * left from an earlier frame. */
static int cctx_get(int level, ZSTD_CCtx **ret)
{
	size_t r;

	if (!tl_cctx) {
		tl_cctx = ZSTD_createCCtx();
		if (!tl_cctx)
			return -ENOMEM;
		tl_register();
	}
	if (tl_level != level) {
		r = ZSTD_CCtx_setParameter(tl_cctx, ZSTD_c_compressionLevel,
					   level);
		if (ZSTD_isError(r))
			return -EINVAL;
		(void)ZSTD_CCtx_setParameter(tl_cctx, ZSTD_c_checksumFlag, 0);
		(void)ZSTD_CCtx_setParameter(tl_cctx, ZSTD_c_dictIDFlag, 0);
		(void)ZSTD_CCtx_setParameter(tl_cctx, ZSTD_c_contentSizeFlag,
					     1);
		tl_level = level;
	}
	*ret = tl_cctx;
	return 0;
}

static int compress_result(size_t r, size_t *ret_len)
{
	if (ZSTD_isError(r)) {
		ck_log_debug("zstd compress: %s", ZSTD_getErrorName(r));
		/* A failed frame leaves the context mid-stream: the next
		 * ZSTD_CCtx_refPrefix() would fail. */
		(void)ZSTD_CCtx_reset(tl_cctx, ZSTD_reset_session_only);
		return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall
			       ? -ENOSPC
			       : -EIO;
	}
	*ret_len = r;
	return 0;
}

int ck_compress(int level, const void *src, size_t n, const void *prefix,
		size_t prefix_len, void *dst, size_t cap, size_t *ret_len)
{
	ZSTD_CCtx *c;
	size_t r;
	int q;

	q = cctx_get(level, &c);
	if (q < 0)
		return q;
	/* A prefix is consumed by the next frame only, so set it every
	 * time; NULL clears it. */
	r = ZSTD_CCtx_refPrefix(c, prefix, prefix ? prefix_len : 0);
	if (ZSTD_isError(r))
		return -EINVAL;
	return compress_result(ZSTD_compress2(c, dst, cap, src, n), ret_len);
}

/* The compression side is built at the first compression: readers
 * (restore, cat, the mount, fsck) never pay its 0.4-0.8 ms. */
struct ck_zdict {
	ZSTD_DDict *dd;
	ZSTD_CDict *_Atomic cd;
	pthread_mutex_t lock; /* making cd */
	void *dict;
	size_t len;
	int level;
};

int ck_zdict_train(const void *samples, size_t n, size_t len, int level,
		   void *dst, size_t cap, size_t *ret_len)
{
	ZDICT_fastCover_params_t p;
	size_t *sizes, r;

	if (n < CK_ZDICT_MIN_SAMPLES)
		return -EINVAL;
	sizes = malloc(n * sizeof(*sizes));
	if (!sizes)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		sizes[i] = len;
	/* Fixed parameters (no search): on 512 pages of each real series
	 * 6 % smaller pages than without a dictionary, in about 20 ms
	 * (docs/decisions.md, D17). */
	memset(&p, 0, sizeof(p));
	p.k = 200;
	p.d = 8;
	p.f = 18;
	p.accel = 4;
	p.zParams.compressionLevel = level;
	r = ZDICT_trainFromBuffer_fastCover(dst, cap, samples, sizes,
					    (unsigned)n, p);
	free(sizes);
	if (ZDICT_isError(r)) {
		ck_log_debug("zstd dictionary: %s", ZDICT_getErrorName(r));
		return -EINVAL;
	}
	*ret_len = r;
	return 0;
}

int ck_zdict_new(const void *dict, size_t len, int level,
		 struct ck_zdict **ret)
{
	struct ck_zdict *d;

	/* A trained dictionary starts with its magic number: anything else
	 * would be taken as raw content and decode to something else. */
	if (len < 8 || ZDICT_getDictID(dict, len) == 0)
		return -EBADMSG;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	pthread_mutex_init(&d->lock, NULL);
	d->level = level;
	d->len = len;
	d->dict = malloc(len);
	d->dd = ZSTD_createDDict(dict, len);
	if (!d->dict || !d->dd) {
		ck_zdict_free(d);
		return -ENOMEM;
	}
	memcpy(d->dict, dict, len);
	*ret = d;
	return 0;
}

struct ck_zdict *ck_zdict_free(struct ck_zdict *d)
{
	if (!d)
		return NULL;
	ZSTD_freeCDict(atomic_load(&d->cd));
	ZSTD_freeDDict(d->dd);
	pthread_mutex_destroy(&d->lock);
	free(d->dict);
	free(d);
	return NULL;
}

static ZSTD_CDict *cdict_get(struct ck_zdict *d)
{
	ZSTD_CDict *cd = atomic_load(&d->cd);

	if (cd)
		return cd;
	pthread_mutex_lock(&d->lock);
	cd = atomic_load(&d->cd);
	if (!cd) {
		cd = ZSTD_createCDict(d->dict, d->len, d->level);
		atomic_store(&d->cd, cd);
	}
	pthread_mutex_unlock(&d->lock);
	return cd;
}

int ck_compress_dict(const struct ck_zdict *d, const void *src, size_t n,
		     void *dst, size_t cap, size_t *ret_len)
{
	ZSTD_CDict *cd = cdict_get((struct ck_zdict *)d);
	ZSTD_CCtx *c;
	size_t r;
	int q;

	if (!cd)
		return -ENOMEM;
	q = cctx_get(d->level, &c);
	if (q < 0)
		return q;
	r = ZSTD_CCtx_refCDict(c, cd);
	if (ZSTD_isError(r))
		return -EINVAL;
	r = ZSTD_compress2(c, dst, cap, src, n);
	/* Unlike a prefix, a dictionary stays for every later frame; it can
	 * be dropped only between frames, so after a failed one the context
	 * is reset first. */
	if (ZSTD_isError(r))
		(void)ZSTD_CCtx_reset(c, ZSTD_reset_session_only);
	(void)ZSTD_CCtx_refCDict(c, NULL);
	return compress_result(r, ret_len);
}

/* The thread's decompression context. */
static ZSTD_DCtx *dctx_get(void)
{
	if (!tl_dctx) {
		tl_dctx = ZSTD_createDCtx();
		if (tl_dctx)
			tl_register();
	}
	return tl_dctx;
}

static int decompress_result(size_t r, size_t expect)
{
	if (ZSTD_isError(r)) {
		ck_log_debug("zstd decompress: %s", ZSTD_getErrorName(r));
		return -EBADMSG;
	}
	return r == expect ? 0 : -EBADMSG;
}

int ck_decompress_dict(const struct ck_zdict *d, const void *src, size_t n,
		       void *dst, size_t expect)
{
	ZSTD_DCtx *c = dctx_get();

	if (!c)
		return -ENOMEM;
	return decompress_result(
		ZSTD_decompress_usingDDict(c, dst, expect, src, n, d->dd),
		expect);
}

int ck_decompress(const void *src, size_t n, const void *prefix,
		  size_t prefix_len, void *dst, size_t expect)
{
	ZSTD_DCtx *c = dctx_get();
	size_t r;

	if (!c)
		return -ENOMEM;
	r = ZSTD_DCtx_refPrefix(c, prefix, prefix ? prefix_len : 0);
	if (ZSTD_isError(r))
		return -EINVAL;
	return decompress_result(ZSTD_decompressDCtx(c, dst, expect, src, n),
				 expect);
}

void ck_compress_thread_exit(void)
{
	ZSTD_freeCCtx(tl_cctx);
	ZSTD_freeDCtx(tl_dctx);
	tl_cctx = NULL;
	tl_dctx = NULL;
	tl_level = -1000;
}
