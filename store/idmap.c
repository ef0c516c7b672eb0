/* SPDX-License-Identifier: MIT */
#include <stdlib.h>
#include <string.h>

#include "idmap.h"
#include "mem.h"

void ck_idmap_release(struct ck_idmap *m)
{
	free(m->slots);
	m->slots = NULL;
	m->cap = m->n = 0;
}

static struct ck_idmap_slot *probe(struct ck_idmap_slot *slots, size_t cap,
				   const struct ck_id *id)
{
	size_t i = (size_t)ck_id_hash64(id) & (cap - 1);

	for (;;) {
		struct ck_idmap_slot *s = &slots[i];

		if (ck_id_is_zero(&s->id) || ck_id_equal(&s->id, id))
			return s;
		i = (i + 1) & (cap - 1);
	}
}

static int grow(struct ck_idmap *m)
{
	size_t ncap = m->cap ? m->cap * 2 : 1024;
	struct ck_idmap_slot *ns = ck_zalloc(ncap, sizeof(*ns));

	if (!ns)
		return -1;
	for (size_t i = 0; i < m->cap; i++)
		if (!ck_id_is_zero(&m->slots[i].id))
			*probe(ns, ncap, &m->slots[i].id) = m->slots[i];
	free(m->slots);
	m->slots = ns;
	m->cap = ncap;
	return 0;
}

struct ck_idmap_slot *ck_idmap_upsert(struct ck_idmap *m,
				      const struct ck_id *id, bool *ret_new)
{
	struct ck_idmap_slot *s;

	if ((m->n + 1) * 2 > m->cap && grow(m) < 0)
		return NULL;
	s = probe(m->slots, m->cap, id);
	*ret_new = ck_id_is_zero(&s->id);
	if (*ret_new) {
		s->id = *id;
		s->val = 0;
		m->n++;
	}
	return s;
}

struct ck_idmap_slot *ck_idmap_find(const struct ck_idmap *m,
				    const struct ck_id *id)
{
	struct ck_idmap_slot *s;

	if (!m->cap)
		return NULL;
	s = probe(m->slots, m->cap, id);
	return ck_id_is_zero(&s->id) ? NULL : s;
}
