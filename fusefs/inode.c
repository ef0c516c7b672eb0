/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fs.h"

static uint64_t hash_name(uint64_t parent, const char *name)
{
	uint64_t h = 0xcbf29ce484222325ULL ^ (parent * 0x9e3779b97f4a7c15ULL);

	for (; *name; name++)
		h = (h ^ (uint8_t)*name) * 0x100000001b3ULL;
	return h;
}

static size_t bucket_ino(const struct ckfs *fs, uint64_t ino)
{
	return (size_t)((ino * 0x9e3779b97f4a7c15ULL) >> 20) %
	       fs->nbuckets;
}

static size_t bucket_name(const struct ckfs *fs, uint64_t parent,
			  const char *name)
{
	return (size_t)(hash_name(parent, name) % fs->nbuckets);
}

static struct ckfs_node *find_ino(struct ckfs *fs, uint64_t ino)
{
	struct ckfs_node *n = fs->by_ino[bucket_ino(fs, ino)];

	while (n && n->ino != ino)
		n = n->next_ino;
	return n;
}

static struct ckfs_node *find_name(struct ckfs *fs, uint64_t parent,
				   const char *name)
{
	struct ckfs_node *n = fs->by_name[bucket_name(fs, parent, name)];

	while (n && !(n->parent && n->parent->ino == parent &&
		      !strcmp(n->name, name)))
		n = n->next_name;
	return n;
}

static void unhash_name(struct ckfs *fs, struct ckfs_node *n)
{
	struct ckfs_node **pp;

	if (!n->hashed)
		return;
	pp = &fs->by_name[bucket_name(fs, n->parent->ino, n->name)];
	while (*pp && *pp != n)
		pp = &(*pp)->next_name;
	if (*pp)
		*pp = n->next_name;
	n->hashed = false;
}

static void hash_in_name(struct ckfs *fs, struct ckfs_node *n)
{
	size_t b = bucket_name(fs, n->parent->ino, n->name);

	n->next_name = fs->by_name[b];
	fs->by_name[b] = n;
	n->hashed = true;
}

/* Frees @n and then, up the chain, every parent that only it kept. A
 * request in flight holds its node through "busy" (ckfs_node_get()), so
 * that a FORGET racing the request cannot free the node under it. */
static void maybe_free(struct ckfs *fs, struct ckfs_node *n)
{
	while (n && n->ino != 1 && n->nlookup == 0 && n->nchild == 0 &&
	       n->busy == 0) {
		struct ckfs_node *p = n->parent, **pp;

		unhash_name(fs, n);
		pp = &fs->by_ino[bucket_ino(fs, n->ino)];
		while (*pp && *pp != n)
			pp = &(*pp)->next_ino;
		if (*pp)
			*pp = n->next_ino;
		if (n->ver)
			ckfs_ver_put_locked(fs, n->ver);
		free(n->name);
		free(n);
		fs->nnodes--;
		if (p)
			p->nchild--;
		n = p;
	}
}

void ckfs_node_root_init(struct ckfs *fs, struct ckfs_node *root)
{
	size_t b = bucket_ino(fs, 1);

	root->ino = 1;
	root->nlookup = 1;
	root->kind = CKFS_ROOT;
	root->next_ino = fs->by_ino[b];
	fs->by_ino[b] = root;
	fs->nnodes++;
}

struct ckfs_node *ckfs_node_get(struct ckfs *fs, uint64_t ino)
{
	struct ckfs_node *n;

	pthread_mutex_lock(&fs->lock);
	n = find_ino(fs, ino);
	if (n)
		n->busy++;
	pthread_mutex_unlock(&fs->lock);
	return n;
}

void ckfs_node_put(struct ckfs *fs, struct ckfs_node *n)
{
	if (!n)
		return;
	pthread_mutex_lock(&fs->lock);
	n->busy--;
	maybe_free(fs, n);
	pthread_mutex_unlock(&fs->lock);
}

struct ckfs_node *ckfs_node_link(struct ckfs *fs, struct ckfs_node *parent,
				 const char *name,
				 const struct ckfs_node *tmpl)
{
	struct ckfs_node *n;

	pthread_mutex_lock(&fs->lock);
	n = find_name(fs, parent->ino, name);
	if (n && (n->kind != tmpl->kind || n->ver != tmpl->ver ||
		  n->flat != tmpl->flat)) {
		/* A stale name (e.g. a version removed and made again):
		 * the old node lives on until the kernel forgets it. */
		unhash_name(fs, n);
		n = NULL;
	}
	if (n) {
		n->nlookup++;
		goto out;
	}
	n = calloc(1, sizeof(*n));
	if (!n)
		goto out;
	n->name = strdup(name);
	if (!n->name) {
		free(n);
		n = NULL;
		goto out;
	}
	n->ino = fs->next_ino++;
	n->nlookup = 1;
	n->kind = tmpl->kind;
	n->flat = tmpl->flat;
	memcpy(n->ctr, tmpl->ctr, sizeof(n->ctr));
	n->vroot = tmpl->vroot;
	n->ver = tmpl->ver;
	if (n->ver)
		n->ver->refs++;
	n->parent = parent;
	parent->nchild++;
	hash_in_name(fs, n);
	{
		size_t b = bucket_ino(fs, n->ino);

		n->next_ino = fs->by_ino[b];
		fs->by_ino[b] = n;
	}
	fs->nnodes++;
out:
	pthread_mutex_unlock(&fs->lock);
	return n;
}

void ckfs_node_forget(struct ckfs *fs, uint64_t ino, uint64_t k)
{
	struct ckfs_node *n;

	pthread_mutex_lock(&fs->lock);
	n = find_ino(fs, ino);
	if (n && n->ino != 1) {
		n->nlookup = n->nlookup > k ? n->nlookup - k : 0;
		maybe_free(fs, n);
	}
	pthread_mutex_unlock(&fs->lock);
}

void ckfs_node_unhash(struct ckfs *fs, struct ckfs_node *parent,
		      const char *name)
{
	struct ckfs_node *n;

	pthread_mutex_lock(&fs->lock);
	n = find_name(fs, parent->ino, name);
	if (n)
		unhash_name(fs, n);
	pthread_mutex_unlock(&fs->lock);
}

int ckfs_node_move(struct ckfs *fs, struct ckfs_node *parent,
		   const char *name, struct ckfs_node *np, const char *nname)
{
	struct ckfs_node *n, *t, *old;
	char *dup = strdup(nname);

	if (!dup)
		return -ENOMEM;
	pthread_mutex_lock(&fs->lock);
	t = find_name(fs, np->ino, nname);
	if (t)
		unhash_name(fs, t);
	n = find_name(fs, parent->ino, name);
	if (!n) {
		pthread_mutex_unlock(&fs->lock);
		free(dup);
		return 0;
	}
	unhash_name(fs, n);
	free(n->name);
	n->name = dup;
	old = n->parent;
	n->parent = np;
	np->nchild++;
	hash_in_name(fs, n);
	old->nchild--;
	maybe_free(fs, old);
	pthread_mutex_unlock(&fs->lock);
	return 0;
}

static int path_locked(const struct ckfs_node *n, char *buf, size_t cap)
{
	const struct ckfs_node *c;
	size_t len = 0;

	/* Measure, then fill from the end. */
	for (c = n; c && !c->vroot; c = c->parent)
		len += strlen(c->name) + 1;
	if (!c)
		return -EINVAL;
	if (len == 0) {
		if (cap < 1)
			return -ENAMETOOLONG;
		buf[0] = 0;
		return 0;
	}
	if (len > cap)
		return -ENAMETOOLONG;
	buf[len - 1] = 0;
	for (c = n; !c->vroot; c = c->parent) {
		size_t k = strlen(c->name);

		len -= k + 1;
		memcpy(buf + len, c->name, k);
		if (len)
			buf[len - 1] = '/';
	}
	return 0;
}

int ckfs_node_path(struct ckfs *fs, const struct ckfs_node *n, char *buf,
		   size_t cap)
{
	int q;

	pthread_mutex_lock(&fs->lock);
	q = n->kind == CKFS_ENT ? path_locked(n, buf, cap) : -EINVAL;
	if (q == 0 && !n->hashed)
		q = -ENOENT; /* unlinked, removed or replaced */
	pthread_mutex_unlock(&fs->lock);
	return q;
}

int ckfs_node_child_path(struct ckfs *fs, const struct ckfs_node *n,
			 const char *name, char *buf, size_t cap)
{
	size_t k;
	int q;

	q = ckfs_node_path(fs, n, buf, cap);
	if (q < 0)
		return q;
	k = strlen(buf);
	if (k + (k ? 1 : 0) + strlen(name) + 1 > cap)
		return -ENAMETOOLONG;
	if (k)
		buf[k++] = '/';
	strcpy(buf + k, name);
	return 0;
}
