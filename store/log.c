/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

static enum ck_log_level log_level = CK_LOG_INFO;
static const char *log_prefix = "ckstore";

void ck_log_set_level(enum ck_log_level level)
{
	log_level = level;
}

enum ck_log_level ck_log_get_level(void)
{
	return log_level;
}

void ck_log_set_prefix(const char *prefix)
{
	log_prefix = prefix;
}

/* Expand "%m" to strerror(-r) so that messages read like glibc's. */
static void expand_m(char *dst, size_t cap, const char *fmt, int r)
{
	size_t n = 0;

	for (; *fmt && n + 1 < cap; fmt++) {
		if (fmt[0] == '%' && fmt[1] == '%') {
			if (n + 2 < cap) {
				dst[n++] = '%';
				dst[n++] = '%';
			}
			fmt++;
		} else if (fmt[0] == '%' && fmt[1] == 'm') {
			const char *s = strerror(r < 0 ? -r : r);

			while (*s && n + 1 < cap) {
				if (*s == '%' && n + 2 < cap)
					dst[n++] = '%';
				dst[n++] = *s++;
			}
			fmt++;
		} else {
			dst[n++] = *fmt;
		}
	}
	dst[n] = 0;
}

int ck_log_errno(enum ck_log_level level, int r, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	char f[1024], line[4096];
	int saved = errno;
	va_list ap;
	int n;

	if (level > log_level)
		return r;

	expand_m(f, sizeof(f), fmt, r);
	n = snprintf(line, sizeof(line), "%s: %s%s", log_prefix,
		     level == CK_LOG_INFO ? "" : names[level],
		     level == CK_LOG_INFO ? "" : ": ");
	if (n < 0 || (size_t)n >= sizeof(line))
		n = 0;
	va_start(ap, fmt);
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
	vsnprintf(line + n, sizeof(line) - (size_t)n - 1, f, ap);
#pragma GCC diagnostic pop
	va_end(ap);
	n = (int)strlen(line);
	line[n++] = '\n';
	(void)!write(STDERR_FILENO, line, (size_t)n);
	errno = saved;
	return r;
}
