/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <ini.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "fsutil.h"

enum cfg_type { CFG_STR, CFG_UINT, CFG_SIZE, CFG_BOOL, CFG_ROLE, CFG_LEVEL };

struct cfg_row {
	const char *name;
	enum cfg_type type;
	uint64_t min, max; /* numbers; CFG_STR: max is the field size */
	const char *def;
	size_t off;
};

#define F(field) offsetof(struct ck_config, field)
#define S(field) sizeof(((struct ck_config *)0)->field)

/* One row per directive; conf/ckstored.conf documents each. */
static const struct cfg_row rows[] = {
	{ "repo", CFG_STR, 1, S(repo), "/var/lib/ckstore", F(repo) },
	{ "listen", CFG_STR, 1, S(listen), "127.0.0.1", F(listen) },
	{ "port", CFG_UINT, 0, 65535, "8431", F(port) },
	{ "max_connections", CFG_UINT, 1, 65536, "256", F(max_connections) },
	{ "connection_timeout", CFG_UINT, 1, 86400, "120",
	  F(connection_timeout) },
	{ "drain_timeout", CFG_UINT, 0, 86400, "30", F(drain_timeout) },
	{ "tls", CFG_BOOL, 0, 1, "no", F(tls) },
	{ "tls_cert", CFG_STR, 0, S(tls_cert), "", F(tls_cert) },
	{ "tls_key", CFG_STR, 0, S(tls_key), "", F(tls_key) },
	{ "max_body", CFG_SIZE, 64u << 10, 1ull << 30, "64m", F(max_body) },
	{ "max_json", CFG_SIZE, 4u << 10, 256u << 20, "4m", F(max_json) },
	{ "max_manifest", CFG_SIZE, 4u << 10, 1ull << 30, "64m",
	  F(max_manifest) },
	{ "max_uploads", CFG_UINT, 1, 65536, "64", F(max_uploads) },
	{ "max_upload_files", CFG_UINT, 1, 100000, "100000",
	  F(max_upload_files) },
	{ "max_upload_chunks", CFG_SIZE, 1024, 1ull << 32, "16m",
	  F(max_upload_chunks) },
	{ "upload_idle_timeout", CFG_UINT, 1, 86400 * 7, "300",
	  F(upload_idle_timeout) },
	{ "gc_interval", CFG_UINT, 0, 86400 * 7, "300", F(gc_interval) },
	{ "anonymous", CFG_ROLE, 0, 0, "none", F(anonymous) },
	{ "metrics_auth", CFG_BOOL, 0, 1, "yes", F(metrics_auth) },
	{ "log_level", CFG_LEVEL, 1, S(log_level), "info", F(log_level) },
};

#undef F
#undef S

static const char *const role_names[] = { "none", "read", "write", "admin" };

const char *ck_role_name(enum ck_role r)
{
	return (unsigned)r < 4 ? role_names[r] : "?";
}

int ck_role_parse(const char *s, enum ck_role *ret)
{
	for (unsigned i = 0; i < 4; i++)
		if (!strcasecmp(s, role_names[i])) {
			*ret = (enum ck_role)i;
			return 0;
		}
	return -EINVAL;
}

static int set_err(char *err, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int set_err(char *err, size_t cap, const char *fmt, ...)
{
	va_list ap;

	if (err && cap) {
		va_start(ap, fmt);
		vsnprintf(err, cap, fmt, ap);
		va_end(ap);
	}
	return -EINVAL;
}

/* "64m" -> 67108864; k, m, g, t suffixes (powers of 1024). */
static int parse_size(const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;
	int shift = 0;

	if (!*s || *s == '-')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || end == s)
		return -EINVAL;
	switch (*end) {
	case 'k': case 'K': shift = 10; end++; break;
	case 'm': case 'M': shift = 20; end++; break;
	case 'g': case 'G': shift = 30; end++; break;
	case 't': case 'T': shift = 40; end++; break;
	default: break;
	}
	if ((*end == 'b' || *end == 'B') && shift)
		end++;
	if (*end)
		return -EINVAL;
	if (shift && v > (UINT64_MAX >> shift))
		return -ERANGE;
	*ret = (uint64_t)v << shift;
	return 0;
}

static int parse_bool(const char *s, bool *ret)
{
	if (!strcasecmp(s, "yes") || !strcasecmp(s, "true") ||
	    !strcmp(s, "1") || !strcasecmp(s, "on"))
		*ret = true;
	else if (!strcasecmp(s, "no") || !strcasecmp(s, "false") ||
		 !strcmp(s, "0") || !strcasecmp(s, "off"))
		*ret = false;
	else
		return -EINVAL;
	return 0;
}

static int set_row(struct ck_config *c, const struct cfg_row *row,
		   const char *value, char *err, size_t cap)
{
	uint8_t *field = (uint8_t *)c + row->off;
	uint64_t v;
	bool b;

	switch (row->type) {
	case CFG_STR:
	case CFG_LEVEL:
		if (strlen(value) >= row->max || strlen(value) < row->min)
			return set_err(err, cap, "'%s': value '%s' has a bad "
					    "length", row->name, value);
		if (row->type == CFG_LEVEL &&
		    strcmp(value, "error") && strcmp(value, "warning") &&
		    strcmp(value, "info") && strcmp(value, "debug"))
			return set_err(err, cap,
				       "'%s': '%s' is not one of error, "
				       "warning, info, debug",
				       row->name, value);
		memcpy(field, value, strlen(value) + 1);
		return 0;
	case CFG_UINT:
	case CFG_SIZE:
		if (parse_size(value, &v) < 0 ||
		    (row->type == CFG_UINT && strspn(value, "0123456789") !=
							  strlen(value)))
			return set_err(err, cap, "'%s': '%s' is not a number",
				       row->name, value);
		if (v < row->min || v > row->max)
			return set_err(err, cap, "'%s': %s is out of range",
				       row->name, value);
		if (row->type == CFG_UINT)
			*(unsigned *)(void *)field = (unsigned)v;
		else
			*(uint64_t *)(void *)field = v;
		return 0;
	case CFG_BOOL:
		if (parse_bool(value, &b) < 0)
			return set_err(err, cap, "'%s': '%s' is not yes or no",
				       row->name, value);
		*(bool *)(void *)field = b;
		return 0;
	case CFG_ROLE: {
		enum ck_role r;

		if (ck_role_parse(value, &r) < 0)
			return set_err(err, cap,
				       "'%s': '%s' is not one of none, read, "
				       "write, admin",
				       row->name, value);
		*(enum ck_role *)(void *)field = r;
		return 0;
	}
	}
	return -EINVAL;
}

int ck_config_set(struct ck_config *c, const char *key, const char *value,
		  char *err, size_t cap)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++)
		if (!strcmp(rows[i].name, key))
			return set_row(c, &rows[i], value, err, cap);
	return set_err(err, cap, "unknown directive '%s'%s", key, "");
}

void ck_config_defaults(struct ck_config *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++)
		(void)set_row(c, &rows[i], rows[i].def, NULL, 0);
}

void ck_config_release(struct ck_config *c)
{
	free(c->tokens);
	c->tokens = NULL;
	c->ntokens = 0;
}

/* --- tokens ----------------------------------------------------------- */

static bool token_name_ok(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > CK_TOKEN_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' ||
		      s[i] == '_' || s[i] == '.'))
			return false;
	return true;
}

static int set_secret(struct ck_token *t, const char *s, char *err,
		      size_t cap)
{
	size_t n = strlen(s);

	if (n < CK_TOKEN_SECRET_MIN || n > CK_TOKEN_SECRET_MAX)
		return set_err(err, cap,
			       "token '%s': a secret must be 16 to 256 "
			       "bytes%s",
			       t->name, "");
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] <= ' ' || (unsigned char)s[i] > '~')
			return set_err(err, cap,
				       "token '%s': a secret is printable "
				       "ASCII without spaces%s",
				       t->name, "");
	memcpy(t->secret, s, n + 1);
	t->secret_len = n;
	return 0;
}

static int set_patterns(struct ck_token *t, const char *s, char *err,
			size_t cap)
{
	char buf[4096];
	char *save = NULL, *p;

	if (strlen(s) >= sizeof(buf))
		return set_err(err, cap, "token '%s': containers list too "
				    "long%s", t->name, "");
	memcpy(buf, s, strlen(s) + 1);
	t->npat = 0;
	for (p = strtok_r(buf, " ,\t", &save); p;
	     p = strtok_r(NULL, " ,\t", &save)) {
		if (t->npat == CK_TOKEN_PATTERNS)
			return set_err(err, cap,
				       "token '%s': at most 32 container "
				       "patterns%s",
				       t->name, "");
		if (strlen(p) > CK_NAME_MAX)
			return set_err(err, cap,
				       "token '%s': pattern '%s' is too long",
				       t->name, p);
		memcpy(t->pat[t->npat++], p, strlen(p) + 1);
	}
	return 0;
}

static struct ck_token *token_get(struct ck_config *c, const char *name)
{
	struct ck_token *nv;

	for (size_t i = 0; i < c->ntokens; i++)
		if (!strcmp(c->tokens[i].name, name))
			return &c->tokens[i];
	if (c->ntokens == CK_TOKENS_MAX)
		return NULL;
	nv = realloc(c->tokens, (c->ntokens + 1) * sizeof(*nv));
	if (!nv)
		return NULL;
	c->tokens = nv;
	memset(&nv[c->ntokens], 0, sizeof(*nv));
	memcpy(nv[c->ntokens].name, name, strlen(name) + 1);
	return &nv[c->ntokens++];
}

static int token_set(struct ck_config *c, const char *tname, const char *key,
		     const char *value, char *err, size_t cap)
{
	struct ck_token *t;

	if (!token_name_ok(tname))
		return set_err(err, cap,
			       "token name '%s' must be 1-64 of A-Z a-z 0-9 "
			       "- _ .%s",
			       tname, "");
	t = token_get(c, tname);
	if (!t)
		return set_err(err, cap, "too many tokens (at most 1024)%s%s",
			       "", "");
	if (!strcmp(key, "secret"))
		return set_secret(t, value, err, cap);
	if (!strcmp(key, "secret_file")) {
		void *buf = NULL;
		size_t len = 0;
		char s[CK_TOKEN_SECRET_MAX + 2];
		int q;

		q = ck_read_file(value, CK_TOKEN_SECRET_MAX + 1, &buf, &len);
		if (q < 0)
			return set_err(err, cap,
				       "token '%s': cannot read secret_file "
				       "'%s'",
				       t->name, value);
		while (len > 0 && (((char *)buf)[len - 1] == '\n' ||
				   ((char *)buf)[len - 1] == '\r'))
			len--;
		if (len > CK_TOKEN_SECRET_MAX)
			len = CK_TOKEN_SECRET_MAX + 1;
		memcpy(s, buf, len);
		s[len] = 0;
		free(buf);
		return set_secret(t, s, err, cap);
	}
	if (!strcmp(key, "role")) {
		if (ck_role_parse(value, &t->role) < 0 ||
		    t->role == CK_ROLE_NONE)
			return set_err(err, cap,
				       "token '%s': role '%s' is not one of "
				       "read, write, admin",
				       t->name, value);
		return 0;
	}
	if (!strcmp(key, "containers"))
		return set_patterns(t, value, err, cap);
	return set_err(err, cap, "token '%s': unknown key '%s'", t->name, key);
}

/* --- files ------------------------------------------------------------ */

struct parse_state {
	struct ck_config *c;
	char err[512];
	bool failed;
};

static int on_ini(void *user, const char *section, const char *name,
		  const char *value)
{
	struct parse_state *ps = user;
	char err[512];
	int q;

	if (!section[0])
		q = ck_config_set(ps->c, name, value, err, sizeof(err));
	else if (!strncmp(section, "token ", 6))
		q = token_set(ps->c, section + 6 + strspn(section + 6, " "),
			      name, value, err, sizeof(err));
	else {
		snprintf(err, sizeof(err),
			 "unknown section '[%s]' (only [token NAME])",
			 section);
		q = -EINVAL;
	}
	if (q < 0 && !ps->failed) {
		ps->failed = true;
		memcpy(ps->err, err, sizeof(err));
	}
	return q == 0;
}

static int finish(struct parse_state *ps, int line, const char *origin,
		  char *err, size_t cap)
{
	struct ck_config *c = ps->c;

	if (line == -2)
		return -ENOMEM;
	if (line > 0) {
		if (err && cap)
			snprintf(err, cap, "%s:%d: %s", origin, line,
				 ps->failed ? ps->err : "syntax error");
		return -EINVAL;
	}
	for (size_t i = 0; i < c->ntokens; i++) {
		const struct ck_token *t = &c->tokens[i];

		if (!t->secret_len || t->role == CK_ROLE_NONE) {
			if (err && cap)
				snprintf(err, cap,
					 "%s: token '%s' needs a secret and a "
					 "role",
					 origin, t->name);
			return -EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (c->tokens[j].secret_len == t->secret_len &&
			    !memcmp(c->tokens[j].secret, t->secret,
				    t->secret_len)) {
				if (err && cap)
					snprintf(err, cap,
						 "%s: tokens '%s' and '%s' "
						 "have the same secret",
						 origin, c->tokens[j].name,
						 t->name);
				return -EINVAL;
			}
	}
	return 0;
}

int ck_config_load(struct ck_config *c, const char *path, char *err,
		   size_t cap)
{
	struct parse_state ps = { .c = c };
	FILE *f;
	int line;

	f = fopen(path, "re");
	if (!f) {
		int q = -errno;

		if (err && cap)
			snprintf(err, cap, "cannot open '%s': %s", path,
				 strerror(-q));
		return q;
	}
	line = ini_parse_file(f, on_ini, &ps);
	fclose(f);
	return finish(&ps, line, path, err, cap);
}

int ck_config_parse(struct ck_config *c, const char *text,
		    const char *origin, char *err, size_t cap)
{
	struct parse_state ps = { .c = c };

	return finish(&ps, ini_parse_string(text, on_ini, &ps), origin, err,
		      cap);
}

int ck_config_check(const struct ck_config *c, char *err, size_t cap)
{
	if (c->tls && (!c->tls_cert[0] || !c->tls_key[0])) {
		snprintf(err, cap, "tls = yes needs tls_cert and tls_key");
		return -EINVAL;
	}
	if (!c->ntokens && c->anonymous == CK_ROLE_NONE) {
		snprintf(err, cap,
			 "no [token NAME] sections and anonymous = none: "
			 "nobody could use the server");
		return -EINVAL;
	}
	return 0;
}

void ck_config_dump(const struct ck_config *c, FILE *f)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++) {
		const uint8_t *field = (const uint8_t *)c + rows[i].off;

		fprintf(f, "%s = ", rows[i].name);
		switch (rows[i].type) {
		case CFG_STR:
		case CFG_LEVEL:
			fprintf(f, "%s\n", (const char *)field);
			break;
		case CFG_UINT:
			fprintf(f, "%u\n", *(const unsigned *)(const void *)field);
			break;
		case CFG_SIZE:
			fprintf(f, "%" PRIu64 "\n",
				*(const uint64_t *)(const void *)field);
			break;
		case CFG_BOOL:
			fprintf(f, "%s\n",
				*(const bool *)(const void *)field ? "yes"
								  : "no");
			break;
		case CFG_ROLE:
			fprintf(f, "%s\n",
				ck_role_name(*(const enum ck_role *)(const void *)
						     field));
			break;
		}
	}
	for (size_t i = 0; i < c->ntokens; i++) {
		const struct ck_token *t = &c->tokens[i];

		fprintf(f, "\n[token %s]\nrole = %s\ncontainers =", t->name,
			ck_role_name(t->role));
		if (!t->npat)
			fprintf(f, " *");
		for (size_t j = 0; j < t->npat; j++)
			fprintf(f, " %s", t->pat[j]);
		fprintf(f, "\n");
	}
}
