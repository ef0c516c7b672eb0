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
 * A repository may also have a trained dictionary (ck_zdict): zstd's
 * entropy tables and common content of the repository's pages, trained
 * once from a sample of them. A page compressed alone then starts from
 * those tables instead of building its own (docs/decisions.md, D17).
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

/* Fewest and most pages a dictionary is trained from, and its size. */
#define CK_ZDICT_MIN_SAMPLES 256
#define CK_ZDICT_MAX_SAMPLES 512
#define CK_ZDICT_SIZE (32u << 10)

struct ck_zdict;

/* Trains a dictionary for compressing @n samples of @len bytes each
 * (@samples back to back) at @level into @dst (@cap bytes); -EINVAL if
 * there are too few samples or zstd cannot train on them. */
int ck_zdict_train(const void *samples, size_t n, size_t len, int level,
		   void *dst, size_t cap, size_t *ret_len);
/* Loads a trained dictionary (-EBADMSG if @dict is not one). */
int ck_zdict_new(const void *dict, size_t len, int level,
		 struct ck_zdict **ret);
struct ck_zdict *ck_zdict_free(struct ck_zdict *d);
/* ck_compress() / ck_decompress() with the dictionary @d instead of a
 * prefix; frames carry no dictionary ID (a record says it used one). */
int ck_compress_dict(const struct ck_zdict *d, const void *src, size_t n,
		     void *dst, size_t cap, size_t *ret_len);
int ck_decompress_dict(const struct ck_zdict *d, const void *src, size_t n,
		       void *dst, size_t expect);

void ck_compress_thread_exit(void);
