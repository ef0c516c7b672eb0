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
 */
#pragma once

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
