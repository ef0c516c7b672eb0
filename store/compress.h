/* SPDX-License-Identifier: MIT */
/*
 * compress.h - zstd compression of chunk bodies, optionally against a
 * prefix (the base chunk of a delta).
 *
 * compress.c is the only file that includes <zstd.h>. Each thread keeps
 * one compression and one decompression context (zstd.h "explicit
 * context"); ck_compress_thread_exit() frees them.
 *
 * A prefix is zstd's "raw content dictionary": the compressor may copy
 * from it as if it preceded the input. Decompression must be given the
 * same prefix bytes. Frames carry no checksum (the chunk ID verifies the
 * result) and no dictionary ID.
 *
 * Errors: -EBADMSG if a frame cannot be decoded or does not decode to the
 * expected size, -ENOSPC if the output does not fit @cap, -ENOMEM.
 */
#pragma once

#include <stddef.h>

/* Upper bound of ck_compress() output for @n input bytes. */
size_t ck_compress_bound(size_t n);

int ck_compress(int level, const void *src, size_t n, const void *prefix,
		size_t prefix_len, void *dst, size_t cap, size_t *ret_len);

/* Decompresses exactly @expect bytes into @dst (capacity >= @expect). */
int ck_decompress(const void *src, size_t n, const void *prefix,
		  size_t prefix_len, void *dst, size_t expect);

void ck_compress_thread_exit(void);
