/* SPDX-License-Identifier: MIT */
/*
 * testlib.h - the unit tests' assertion and scratch-directory helpers.
 * A failed CK_ASSERT prints file:line and the expression, then aborts.
 * Exit 77 means "skipped" (CTest SKIP_RETURN_CODE).
 */
#pragma once

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CK_ASSERT(x)                                                        \
	do {                                                                \
		if (!(x)) {                                                 \
			fprintf(stderr, "%s:%d: assertion failed: %s\n",    \
				__FILE__, __LINE__, #x);                    \
			abort();                                            \
		}                                                           \
	} while (0)

#define CK_ASSERT_EQ(a, b)                                                  \
	do {                                                                \
		long long _a = (long long)(a), _b = (long long)(b);         \
		if (_a != _b) {                                             \
			fprintf(stderr, "%s:%d: %s == %s failed: %lld != %lld\n", \
				__FILE__, __LINE__, #a, #b, _a, _b);        \
			abort();                                            \
		}                                                           \
	} while (0)

/* A fresh scratch directory under $TMPDIR; removed by ck_test_rmdir(). */
static inline char *ck_test_tmpdir(const char *tag)
{
	const char *base = getenv("TMPDIR");
	char *p;

	if (!base || !*base)
		base = "/tmp";
	if (asprintf(&p, "%s/cktest-%s-XXXXXX", base, tag) < 0)
		abort();
	if (!mkdtemp(p))
		abort();
	return p;
}

static inline void ck_test_rmdir(char *p)
{
	char *cmd;

	if (asprintf(&cmd, "rm -rf '%s'", p) < 0)
		abort();
	if (system(cmd) != 0)
		fprintf(stderr, "warning: could not remove %s\n", p);
	free(cmd);
	free(p);
}
