/* SPDX-License-Identifier: MIT */
/*
 * mem.h - allocation helpers.
 *
 * ck_zalloc() returns zeroed memory like calloc(), but writes the zeros.
 * calloc() of a large block gets fresh pages from mmap() and leaves them
 * untouched; a hash table that is probed (read) before it is filled then
 * maps every page to the kernel's shared zero page first, and the first
 * write to each page replaces that mapping, which in a process with
 * helper threads costs a TLB shootdown on every other CPU (an IPI per
 * page). Written at once, each page is faulted in once, privately. For
 * the session's tables this was ~5 % of a churn-direct push's CPU
 * (`perf record -g`: do_wp_page -> flush_tlb_mm_range).
 *
 * CK_GROW() is the tree's one way to append to a growable array: room for
 * element @n of @arr (capacity @cap), doubling when full.
 */
#pragma once

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static inline void *ck_zalloc(size_t n, size_t size)
{
	size_t len = n * size;
	void *p;

	if (size && n > SIZE_MAX / size)
		return NULL;
	p = malloc(len > 0 ? len : 1);
	if (p)
		memset(p, 0, len);
	return p;
}

/* The capacity after growing one of @cap elements of @size bytes: double,
 * or @first the first time; 0 if that would overflow. */
static inline size_t ck_grow_cap(size_t cap, size_t first, size_t size)
{
	size_t n = cap ? cap * 2 : first;

	if (n < cap || n > SIZE_MAX / size)
		return 0;
	return n;
}

/* Makes room for element @n of array @arr, @cap elements allocated:
 * when it is full, reallocates it to ck_grow_cap() elements and updates
 * @arr and @cap. 0, or -ENOMEM with both as they were. */
#define CK_GROW(arr, n, cap, first)                                          \
	__extension__({                                                      \
		int ck_grow_q_ = 0;                                          \
		if ((n) >= (cap)) {                                          \
			size_t ck_grow_c_ = ck_grow_cap((cap), (first),      \
							sizeof(*(arr)));     \
			void *ck_grow_p_ =                                   \
				ck_grow_c_ ? realloc((arr), ck_grow_c_ *     \
							    sizeof(*(arr)))  \
					   : NULL;                           \
			if (ck_grow_p_) {                                    \
				(arr) = ck_grow_p_;                          \
				(cap) = ck_grow_c_;                          \
			} else {                                             \
				ck_grow_q_ = -ENOMEM;                        \
			}                                                    \
		}                                                            \
		ck_grow_q_;                                                  \
	})

