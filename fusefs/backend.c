/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "extract.h"
#include "push.h"

struct local {
	struct ck_backend b; /* first: the ops table */
	struct ck_repo *repo;
};

static struct ck_repo *repo_of(struct ck_backend *b)
{
	return ((struct local *)b)->repo;
}

static int local_containers(struct ck_backend *b,
			    char (**ret)[CK_NAME_MAX + 1], size_t *ret_n)
{
	return ck_repo_containers(repo_of(b), ret, ret_n);
}

static int local_versions(struct ck_backend *b, const char *container,
			  struct ck_version **ret, size_t *ret_n)
{
	int q = ck_repo_versions(repo_of(b), container, ret, ret_n);

	if (q == -ENOENT) {
		*ret = NULL;
		*ret_n = 0;
		q = 0;
	}
	return q;
}

static int local_entries(struct ck_backend *b, const struct ck_version *v,
			 bool flat, struct ck_entry **ret, size_t *ret_n)
{
	if (flat)
		return ck_repo_flat_entries(repo_of(b), v, ret, ret_n);
	return ck_repo_entries(repo_of(b), v->vid, ret, ret_n);
}

static int local_read(struct ck_backend *b, const struct ck_version *v,
		      const struct ck_entry *e, uint64_t off, void *buf,
		      size_t len)
{
	return ck_file_read(repo_of(b), v->vid, e, off, buf, len);
}

static int local_commit_dir(struct ck_backend *b, const char *container,
			    const char *name, const char *dir, bool lenient,
			    struct ck_version *ret, char *errpath)
{
	struct ck_push_opts o = { .name = name, .complete = -1,
				  .lenient = lenient };
	int q;

	q = ck_push_dir(repo_of(b), container, dir, &o, ret);
	memcpy(errpath, o.errpath, sizeof(o.errpath));
	return q;
}

static void local_free(struct ck_backend *b)
{
	struct local *l = (struct local *)b;

	ck_repo_free(l->repo);
	free(l);
}

static const struct ck_backend_ops local_ops = {
	.name = "local",
	.containers = local_containers,
	.versions = local_versions,
	.entries = local_entries,
	.read = local_read,
	.commit_dir = local_commit_dir,
	.free = local_free,
};

int ck_backend_local_open(const char *path, struct ck_backend **ret)
{
	struct local *l;
	int q;

	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->b.ops = &local_ops;
	q = ck_repo_open(path, CK_OPEN_WRITE, "ckstore-fuse", &l->repo);
	if (q < 0) {
		free(l);
		return q;
	}
	*ret = &l->b;
	return 0;
}

struct ck_backend *ck_backend_free(struct ck_backend *b)
{
	if (b)
		b->ops->free(b);
	return NULL;
}

int ck_backend_version_get(struct ck_backend *b, const char *container,
			   const char *name, struct ck_version *ret)
{
	struct ck_version *vs = NULL;
	size_t n = 0;
	int q;

	/* By listing: "latest" and "#N" would be names to a lookup. */
	if (ck_name_check(container) < 0 || ck_name_check(name) < 0)
		return -ENOENT;
	q = b->ops->versions(b, container, &vs, &n);
	if (q < 0)
		return q;
	q = -ENOENT;
	for (size_t i = 0; i < n; i++)
		if (!strcmp(vs[i].name, name)) {
			*ret = vs[i];
			q = 0;
			break;
		}
	free(vs);
	return q;
}
