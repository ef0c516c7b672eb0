/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "catalog.h"
#include "keys.h"
#include "retention.h"

void ck_retention_plan(const struct ck_version *vs, size_t n,
		       const struct ck_policy *p, int64_t now_ns,
		       unsigned *keep)
{
	uint32_t groups = 0, last_group = 0;
	bool have_group = false;

	for (size_t i = 0; i < n; i++)
		keep[i] = 0;
	/* Newest first: groups are counted as they appear. */
	for (size_t k = n; k-- > 0;) {
		const struct ck_version *v = &vs[k];
		int64_t age = (now_ns - v->created_ns) / 1000000000;

		if (!have_group || v->group != last_group) {
			groups++;
			last_group = v->group;
			have_group = true;
		}
		if (p->keep_groups && groups <= p->keep_groups)
			keep[k] |= CK_KEEP_GROUP;
		if (p->keep_last && n - k <= p->keep_last)
			keep[k] |= CK_KEEP_LAST;
		if (p->keep_within && age <= p->keep_within)
			keep[k] |= CK_KEEP_WITHIN;
		if (!v->complete) {
			if (p->expire_incomplete && age > p->expire_incomplete)
				keep[k] = 0;
			else if (keep[k] == 0 && p->expire_incomplete)
				keep[k] = CK_KEEP_YOUNG_INCOMPLETE;
		}
		if (v->pinned)
			keep[k] |= CK_KEEP_PINNED;
	}
	for (size_t k = n; k-- > 0;)
		if (vs[k].complete) {
			keep[k] |= CK_KEEP_LATEST;
			break;
		}
}

static int policy_decode(const void *buf, size_t len, struct ck_policy *ret)
{
	json_int_t g, l, w, e;
	json_error_t jerr;
	json_t *o;
	int q = -EINVAL;

	o = json_loadb(buf, len, 0, &jerr);
	if (!o)
		return -EINVAL;
	if (json_unpack(o, "{s:I, s:I, s:I, s:I}", "keep_groups", &g,
			"keep_last", &l, "keep_within", &w,
			"expire_incomplete", &e) == 0 &&
	    g >= 0 && g <= UINT32_MAX && l >= 0 && l <= UINT32_MAX && w >= 0 &&
	    e >= 0) {
		ret->keep_groups = (uint32_t)g;
		ret->keep_last = (uint32_t)l;
		ret->keep_within = w;
		ret->expire_incomplete = e;
		q = 0;
	}
	json_decref(o);
	return q;
}

static size_t policy_key(uint8_t *k, const char *container)
{
	size_t n;

	if (!container) {
		n = strlen(CK_KEY_POLICY);
		memcpy(k, CK_KEY_POLICY, n);
		return n;
	}
	n = strlen(container);
	k[0] = 'P';
	memcpy(k + 1, container, n);
	return n + 1;
}

int ck_policy_get(struct ck_repo *r, const char *container,
		  struct ck_policy *ret, bool *ret_own)
{
	struct ck_policy def = CK_POLICY_DEFAULT;
	uint8_t key[1 + CK_NAME_MAX + 16];
	void *v = NULL;
	size_t n = 0;
	int q;

	if (ret_own)
		*ret_own = false;
	if (container) {
		q = ck_name_check(container);
		if (q < 0)
			return q;
		q = ck_catalog_get(ck_repo_catalog(r), CK_CF_META, key,
				   policy_key(key, container), &v, &n);
		if (q == 0) {
			q = policy_decode(v, n, ret);
			free(v);
			if (q == 0 && ret_own)
				*ret_own = true;
			return q;
		}
		if (q != -ENOENT)
			return q;
	}
	q = ck_catalog_get(ck_repo_catalog(r), CK_CF_META, key,
			   policy_key(key, NULL), &v, &n);
	if (q == -ENOENT) {
		*ret = def;
		return 0;
	}
	if (q < 0)
		return q;
	q = policy_decode(v, n, ret);
	free(v);
	return q;
}

int ck_policy_set(struct ck_repo *r, const char *container,
		  const struct ck_policy *p)
{
	uint8_t key[1 + CK_NAME_MAX + 16];
	struct ck_batch *b;
	json_t *o;
	char *s;
	int q;

	if (container && ck_name_check(container) < 0)
		return -EINVAL;
	if (p->keep_within < 0 || p->expire_incomplete < 0)
		return -EINVAL;
	o = json_pack("{s:I, s:I, s:I, s:I}", "keep_groups",
		      (json_int_t)p->keep_groups, "keep_last",
		      (json_int_t)p->keep_last, "keep_within",
		      (json_int_t)p->keep_within, "expire_incomplete",
		      (json_int_t)p->expire_incomplete);
	if (!o)
		return -ENOMEM;
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	b = ck_batch_new(ck_repo_catalog(r));
	if (!s || !b) {
		free(s);
		ck_batch_free(b);
		return -ENOMEM;
	}
	ck_batch_put(b, CK_CF_META, key, policy_key(key, container), s,
		     strlen(s));
	q = ck_catalog_write(ck_repo_catalog(r), b, true);
	ck_batch_free(b);
	free(s);
	return q;
}

int ck_policy_clear(struct ck_repo *r, const char *container)
{
	uint8_t key[1 + CK_NAME_MAX + 16];
	struct ck_batch *b;
	int q;

	if (ck_name_check(container) < 0)
		return -EINVAL;
	b = ck_batch_new(ck_repo_catalog(r));
	if (!b)
		return -ENOMEM;
	ck_batch_delete(b, CK_CF_META, key, policy_key(key, container));
	q = ck_catalog_write(ck_repo_catalog(r), b, true);
	ck_batch_free(b);
	return q;
}

int ck_duration_parse(const char *s, int64_t *ret)
{
	char *end;
	long long v;
	int64_t mult = 1;

	if (!s || !*s)
		return -EINVAL;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno || end == s || v < 0)
		return -EINVAL;
	if (*end) {
		if (end[1])
			return -EINVAL;
		switch (*end) {
		case 's':
			break;
		case 'm':
			mult = 60;
			break;
		case 'h':
			mult = 3600;
			break;
		case 'd':
			mult = 86400;
			break;
		default:
			return -EINVAL;
		}
	}
	if (v > INT64_MAX / mult)
		return -EINVAL;
	*ret = v * mult;
	return 0;
}
