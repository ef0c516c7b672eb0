/* SPDX-License-Identifier: MIT */
/*
 * config.h - ckstored's settings: one table of directives, an INI file
 * read with inih, and command-line overrides.
 *
 * Every directive has one row in config.c's table { name, type, min, max,
 * default, field } (redis config.c's static_configs[]); conf/ckstored.conf
 * documents each one. Values are applied in this order: the table's
 * defaults, the file, then flags (--set KEY=VALUE and the shortcuts
 * --repo, --listen, --port, --log-level), so a flag always wins.
 *
 * Tokens are sections of the same file:
 *
 *   [token NAME]
 *   secret = ...           (or secret_file = PATH; at least 16 bytes)
 *   role = read|write|admin
 *   containers = web-* db  (glob patterns; default: every container)
 *
 * SIGHUP re-reads the file and replaces the tokens (and the anonymous
 * role) only; every other directive needs a restart.
 *
 * Errors: -EINVAL with a message "FILE:LINE: what is wrong" in the
 * caller's buffer; -ENOENT if the file does not exist.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "repo.h"

#define CK_TOKEN_NAME_MAX 64
#define CK_TOKEN_SECRET_MIN 16
#define CK_TOKEN_SECRET_MAX 256
#define CK_TOKEN_PATTERNS 32
#define CK_TOKENS_MAX 1024

enum ck_role {
	CK_ROLE_NONE = 0,
	CK_ROLE_READ = 1,
	CK_ROLE_WRITE = 2,
	CK_ROLE_ADMIN = 3,
};

struct ck_token {
	char name[CK_TOKEN_NAME_MAX + 1];
	char secret[CK_TOKEN_SECRET_MAX + 1];
	size_t secret_len;
	enum ck_role role;
	size_t npat; /* 0: every container */
	char pat[CK_TOKEN_PATTERNS][CK_NAME_MAX + 1];
};

struct ck_config {
	char repo[4096];
	char listen[64];
	unsigned port;
	unsigned max_connections;
	unsigned connection_timeout; /* seconds */
	unsigned drain_timeout;	     /* seconds */
	bool tls;
	char tls_cert[4096];
	char tls_key[4096];
	uint64_t max_body;	/* chunk batches and inline files */
	uint64_t max_json;	/* JSON request bodies */
	uint64_t max_manifest;	/* chunk IDs of one file, in bytes */
	unsigned max_uploads;	/* concurrent upload sessions */
	unsigned max_upload_files;
	uint64_t max_upload_chunks;
	unsigned upload_idle_timeout; /* seconds */
	unsigned gc_interval;	      /* seconds; 0: no scheduled gc */
	enum ck_role anonymous;
	bool metrics_auth;
	char log_level[16];

	struct ck_token *tokens; /* malloc()ed */
	size_t ntokens;
};

/* Fills @c with the table's defaults (no tokens). */
void ck_config_defaults(struct ck_config *c);
/* Frees what @c owns (the tokens); leaves the settings. */
void ck_config_release(struct ck_config *c);
/* Reads @path into @c (over what is there). On error @err (capacity
 * @cap) says where and why. */
int ck_config_load(struct ck_config *c, const char *path, char *err,
		   size_t cap);
/* Parses INI text @text (for tests and --set); @origin names it in
 * errors. */
int ck_config_parse(struct ck_config *c, const char *text,
		    const char *origin, char *err, size_t cap);
/* Sets one directive (as from the file). */
int ck_config_set(struct ck_config *c, const char *key, const char *value,
		  char *err, size_t cap);
/* Checks what only makes sense as a whole (TLS files given, ...). */
int ck_config_check(const struct ck_config *c, char *err, size_t cap);
/* Writes every directive's effective value (tokens without secrets). */
void ck_config_dump(const struct ck_config *c, FILE *f);

const char *ck_role_name(enum ck_role r);
/* -EINVAL for an unknown name. */
int ck_role_parse(const char *s, enum ck_role *ret);
