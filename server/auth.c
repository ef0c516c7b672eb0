/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fnmatch.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "auth.h"

struct ck_auth {
	atomic_uint refs;
	enum ck_role anonymous;
	size_t n;
	struct ck_token *v;
};

struct ck_auth *ck_auth_new(const struct ck_config *c)
{
	struct ck_auth *a = calloc(1, sizeof(*a));

	if (!a)
		return NULL;
	a->v = calloc(c->ntokens ? c->ntokens : 1, sizeof(*a->v));
	if (!a->v) {
		free(a);
		return NULL;
	}
	if (c->ntokens)
		memcpy(a->v, c->tokens, c->ntokens * sizeof(*a->v));
	a->n = c->ntokens;
	a->anonymous = c->anonymous;
	atomic_init(&a->refs, 1);
	return a;
}

struct ck_auth *ck_auth_ref(struct ck_auth *a)
{
	if (a)
		atomic_fetch_add(&a->refs, 1);
	return a;
}

struct ck_auth *ck_auth_unref(struct ck_auth *a)
{
	if (!a || atomic_fetch_sub(&a->refs, 1) != 1)
		return NULL;
	/* Secrets do not linger in freed memory. */
	explicit_bzero(a->v, a->n * sizeof(*a->v));
	free(a->v);
	free(a);
	return NULL;
}

size_t ck_auth_count(const struct ck_auth *a)
{
	return a->n;
}

bool ck_auth_equal(const char *a, size_t alen, const char *b, size_t blen)
{
	volatile unsigned char d = 0;

	if (alen == 0)
		return false;
	/* Walk the configured secret whole, whatever is presented; a length
	 * mismatch is folded in rather than returned early. */
	for (size_t i = 0; i < blen; i++)
		d |= (unsigned char)(b[i] ^ a[i % alen]);
	d |= (unsigned char)((alen ^ blen) != 0);
	return d == 0;
}

int ck_auth_check(const struct ck_auth *a, const char *header,
		  struct ck_principal *ret)
{
	const struct ck_token *found = NULL;
	const char *s;
	size_t len;

	if (!header) {
		ret->token = NULL;
		ret->role = a->anonymous;
		return 0;
	}
	if (strncasecmp(header, "Bearer ", 7))
		return -EACCES;
	s = header + 7;
	while (*s == ' ')
		s++;
	len = strlen(s);
	while (len > 0 && s[len - 1] == ' ')
		len--;
	if (len == 0 || len > CK_TOKEN_SECRET_MAX)
		return -EACCES;
	for (size_t i = 0; i < a->n; i++)
		if (ck_auth_equal(s, len, a->v[i].secret, a->v[i].secret_len))
			found = &a->v[i]; /* no early exit */
	if (!found)
		return -EACCES;
	ret->token = found;
	ret->role = found->role;
	return 0;
}

bool ck_auth_sees(const struct ck_principal *p, const char *container)
{
	return ck_auth_allows(p, CK_ROLE_READ, container);
}

bool ck_auth_allows(const struct ck_principal *p, enum ck_role need,
		    const char *container)
{
	const struct ck_token *t = p->token;

	if (p->role < need)
		return false;
	if (!t || t->npat == 0)
		return true;
	if (!container)
		return false; /* repository-wide needs an unrestricted token */
	for (size_t i = 0; i < t->npat; i++)
		if (fnmatch(t->pat[i], container, 0) == 0)
			return true;
	return false;
}

const char *ck_auth_name(const struct ck_principal *p)
{
	return p->token ? p->token->name : "anonymous";
}
