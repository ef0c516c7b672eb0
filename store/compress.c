/* SPDX-License-Identifier: MIT */
#include <errno.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "compress.h"
#include "log.h"

static _Thread_local ZSTD_CCtx *tl_cctx;
static _Thread_local ZSTD_DCtx *tl_dctx;
static _Thread_local int tl_level = -1000;

size_t ck_compress_bound(size_t n)
{
	return ZSTD_compressBound(n);
}

int ck_compress(int level, const void *src, size_t n, const void *prefix,
		size_t prefix_len, void *dst, size_t cap, size_t *ret_len)
{
	size_t r;

	if (!tl_cctx) {
		tl_cctx = ZSTD_createCCtx();
		if (!tl_cctx)
			return -ENOMEM;
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
	/* A prefix is consumed by the next frame only, so set it every
	 * time; NULL clears it. */
	r = ZSTD_CCtx_refPrefix(tl_cctx, prefix, prefix ? prefix_len : 0);
	if (ZSTD_isError(r))
		return -EINVAL;
	r = ZSTD_compress2(tl_cctx, dst, cap, src, n);
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

int ck_decompress(const void *src, size_t n, const void *prefix,
		  size_t prefix_len, void *dst, size_t expect)
{
	size_t r;

	if (!tl_dctx) {
		tl_dctx = ZSTD_createDCtx();
		if (!tl_dctx)
			return -ENOMEM;
	}
	r = ZSTD_DCtx_refPrefix(tl_dctx, prefix, prefix ? prefix_len : 0);
	if (ZSTD_isError(r))
		return -EINVAL;
	r = ZSTD_decompressDCtx(tl_dctx, dst, expect, src, n);
	if (ZSTD_isError(r)) {
		ck_log_debug("zstd decompress: %s", ZSTD_getErrorName(r));
		return -EBADMSG;
	}
	if (r != expect)
		return -EBADMSG;
	return 0;
}

void ck_compress_thread_exit(void)
{
	ZSTD_freeCCtx(tl_cctx);
	ZSTD_freeDCtx(tl_dctx);
	tl_cctx = NULL;
	tl_dctx = NULL;
	tl_level = -1000;
}
