/* SPDX-License-Identifier: MIT */
/*
 * log.h - one logging sink for every program of ckstore.
 *
 * Core code (store/, gc/) logs at debug level only; the programs log
 * errors once, at the edge, with ck_log_error_errno() which returns its
 * errno argument so that "return ck_log_error_errno(r, ...)" is one line.
 * "%m" in a format is replaced by strerror(-r) for the *_errno variants.
 *
 * Threads: every call is safe from any thread; lines are written with one
 * write(2) each so they do not interleave.
 */
#pragma once

#include <stdarg.h>

enum ck_log_level {
	CK_LOG_ERROR = 0,
	CK_LOG_WARNING,
	CK_LOG_INFO,
	CK_LOG_DEBUG,
};

void ck_log_set_level(enum ck_log_level level);
void ck_log_set_prefix(const char *prefix); /* borrowed; e.g. "ckstore" */
enum ck_log_level ck_log_get_level(void);

/* Returns @r (a negative errno) so callers can return it directly. */
int ck_log_errno(enum ck_log_level level, int r, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#define ck_log_error(...) ((void)ck_log_errno(CK_LOG_ERROR, 0, __VA_ARGS__))
#define ck_log_warning(...) ((void)ck_log_errno(CK_LOG_WARNING, 0, __VA_ARGS__))
#define ck_log_info(...) ((void)ck_log_errno(CK_LOG_INFO, 0, __VA_ARGS__))
#define ck_log_debug(...) ((void)ck_log_errno(CK_LOG_DEBUG, 0, __VA_ARGS__))
#define ck_log_error_errno(r, ...) ck_log_errno(CK_LOG_ERROR, (r), __VA_ARGS__)
#define ck_log_debug_errno(r, ...) ck_log_errno(CK_LOG_DEBUG, (r), __VA_ARGS__)
