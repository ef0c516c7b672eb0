/* SPDX-License-Identifier: MIT */
/*
 * cli.h - what the verbs of the ckstore CLI share: global options
 * (arg_*), opening the repository with errors a user can act on, output
 * helpers (human sizes, JSON), progress lines.
 *
 * Exit codes: 0 ok, 1 runtime failure, 2 usage; fsck returns a bitmask
 * of problem classes (fsck.h) shifted so it never collides with 1 and 2.
 * Verbs return an exit code (>= 0).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <jansson.h>

#include "repo.h"

enum { EXIT_OK = 0, EXIT_FAIL = 1, EXIT_USAGE = 2 };

extern const char *arg_repo;
extern const char *arg_server; /* --server URL: the verbs go to ckstored */
extern const char *arg_token;
extern const char *arg_cacert;
extern int arg_progress; /* -1 auto (stderr is a tty), 0 off, 1 on */
extern bool arg_json;
extern bool arg_quiet;

struct verb {
	const char *name;
	int (*run)(int argc, char **argv);
	const char *args;
	const char *summary;
};

int verb_init(int argc, char **argv);
int verb_push(int argc, char **argv);
int verb_versions(int argc, char **argv);
int verb_ls(int argc, char **argv);
int verb_cat(int argc, char **argv);
int verb_restore(int argc, char **argv);
int verb_rm(int argc, char **argv);
int verb_stats(int argc, char **argv);
int verb_fsck(int argc, char **argv);
int verb_gc(int argc, char **argv);
int verb_policy(int argc, char **argv);
int verb_pin(int argc, char **argv);
int verb_unpin(int argc, char **argv);
int verb_import(int argc, char **argv);
int verb_export(int argc, char **argv);
extern bool arg_gc_dry_run;

/* Parses the options every verb accepts (--json, --progress, --help)
 * plus @extra (getopt_long style, may be NULL). Returns the getopt
 * character of an extra option, -1 at the end, '?' on a usage error
 * (message printed), 'h' for --help (usage printed to stdout). */
struct option;
int cli_getopt(int argc, char **argv, const char *verb,
	       const struct option *extra, const char *shortopts);
void cli_usage(FILE *f, const char *verb);
int cli_usage_error(const char *verb, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Opens arg_repo for reading or writing; prints an actionable error and
 * returns NULL on failure. */
struct ck_repo *cli_open(bool write, const char *program);

/* Prints "ckstore: error: <what>: <strerror(-r)>" plus a hint for the
 * errno values users can act on; returns EXIT_FAIL. */
int cli_fail(int r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Human-readable size ("12.3 MiB") in @buf. */
const char *cli_size(uint64_t n, char *buf, size_t cap);
/* ISO-8601 UTC time from nanoseconds. */
const char *cli_time(int64_t ns, char *buf, size_t cap);
/* Prints @o to stdout (indented) and consumes it. */
int cli_json_print(json_t *o);
json_t *cli_version_json(const struct ck_version *v);
/* `versions` and `stats` output, text or --json, shared by the local and
 * --server paths (the server answers with the local --json form).
 * cli_print_stats() takes @o. Return an exit code. */
int cli_print_versions(const struct ck_version *vs, size_t n);
/* "no version" (or "no complete version" for latest): EXIT_FAIL. */
int cli_no_version(const char *ctr, const char *spec);
/* Resolves @spec (name, latest, #N) in @ctr; prints why it cannot and
 * returns EXIT_FAIL, else EXIT_OK (0). */
int cli_find_version(struct ck_repo *r, const char *ctr, const char *spec,
		     struct ck_version *v);
int cli_print_stats(json_t *o, const char *ctr);

/* Progress line on stderr, redrawn at most ~6 times a second. */
struct cli_progress {
	const char *what;
	uint64_t last_ns;
	bool active;
	uint64_t start_ns;
};
void cli_progress_cb(void *ud, uint64_t done, uint64_t total);
void cli_progress_end(struct cli_progress *p);
bool cli_progress_enabled(void);
uint64_t cli_now_ns(void);
