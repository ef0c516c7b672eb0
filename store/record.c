/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "endian.h"
#include "repo_internal.h"

static const char *kind_name(enum ck_kind k)
{
	return k == CK_KIND_PREDUMP ? "pre-dump" : "dump";
}

int ck_version_encode(const struct ck_version *v, char **ret,
		      size_t *ret_len)
{
	json_t *o;
	char *s;

	o = json_pack("{s:I, s:I, s:s, s:s, s:I, s:b, s:s, s:s, s:I, s:b,"
		      " s:I, s:I, s:I, s:I}",
		      "vid", (json_int_t)v->vid, "seq", (json_int_t)v->seq,
		      "container", v->container, "name", v->name,
		      "created_ns", (json_int_t)v->created_ns, "complete",
		      v->complete, "kind", kind_name(v->kind), "parent",
		      v->parent, "group", (json_int_t)v->group, "pinned",
		      v->pinned, "logical_bytes",
		      (json_int_t)v->logical_bytes, "added_bytes",
		      (json_int_t)v->added_bytes, "added_chunks",
		      (json_int_t)v->added_chunks, "files",
		      (json_int_t)v->files);
	if (!o)
		return -ENOMEM;
	json_object_set_new(o, "chain", json_integer(v->chain));
	s = json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(o);
	if (!s)
		return -ENOMEM;
	*ret = s;
	*ret_len = strlen(s);
	return 0;
}

static int copy_name(char *dst, const char *src)
{
	size_t n = strlen(src);

	if (n > CK_NAME_MAX)
		return -EBADMSG;
	memcpy(dst, src, n + 1);
	return 0;
}

int ck_version_decode(const void *buf, size_t len, struct ck_version *ret)
{
	struct ck_version v = { 0 };
	json_int_t vid, seq, created, group, logical, added, achunks, files;
	const char *container, *name, *kind, *parent;
	int complete, pinned;
	json_error_t jerr;
	json_t *o;
	int r = -EBADMSG;

	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!o)
		return -EBADMSG;
	if (json_unpack(o,
			"{s:I, s:I, s:s, s:s, s:I, s:b, s:s, s:s, s:I, s:b,"
			" s:I, s:I, s:I, s:I}",
			"vid", &vid, "seq", &seq, "container", &container,
			"name", &name, "created_ns", &created, "complete",
			&complete, "kind", &kind, "parent", &parent, "group",
			&group, "pinned", &pinned, "logical_bytes", &logical,
			"added_bytes", &added, "added_chunks", &achunks,
			"files", &files) < 0)
		goto out;
	if (vid <= 0 || seq <= 0 || seq > UINT32_MAX || group < 0 ||
	    logical < 0 || added < 0 || achunks < 0 || files < 0)
		goto out;
	if (copy_name(v.container, container) < 0 ||
	    copy_name(v.name, name) < 0 || copy_name(v.parent, parent) < 0)
		goto out;
	v.vid = (uint64_t)vid;
	v.seq = (uint32_t)seq;
	v.created_ns = created;
	v.complete = complete;
	v.kind = strcmp(kind, "pre-dump") == 0 ? CK_KIND_PREDUMP
					       : CK_KIND_DUMP;
	v.group = (uint32_t)group;
	v.pinned = pinned;
	v.logical_bytes = (uint64_t)logical;
	v.added_bytes = (uint64_t)added;
	v.added_chunks = (uint64_t)achunks;
	v.files = (uint64_t)files;
	{
		json_t *c = json_object_get(o, "chain");

		v.chain = c ? (enum ck_chain)json_integer_value(c)
			    : CK_CHAIN_FULL;
		if (v.chain > CK_CHAIN_BROKEN)
			goto out;
	}
	*ret = v;
	r = 0;
out:
	json_decref(o);
	return r;
}

/*
 * Entry value:
 *   0  u8   type           4  u32 mode       8  u32 uid    12 u32 gid
 *   16 i64  mtime_ns       24 u64 size       32 u32 chunk_size
 *   36 u32  reserved (0)
 *   40 ...  symlink target (size bytes), nothing for files and dirs
 * nchunks is derived: ceil(size / chunk_size).
 */
size_t ck_entry_encode(const struct ck_entry *e, uint8_t *buf)
{
	memset(buf, 0, CK_ENTRY_HDR);
	buf[0] = (uint8_t)e->type;
	ck_put_le32(buf + 4, e->mode);
	ck_put_le32(buf + 8, e->uid);
	ck_put_le32(buf + 12, e->gid);
	ck_put_le64(buf + 16, (uint64_t)e->mtime_ns);
	ck_put_le64(buf + 24, e->size);
	ck_put_le32(buf + 32, e->chunk_size);
	if (e->type != CK_ENTRY_SYMLINK)
		return CK_ENTRY_HDR;
	memcpy(buf + CK_ENTRY_HDR, e->target, e->size);
	return CK_ENTRY_HDR + e->size;
}

int ck_entry_decode(const char *path, size_t plen, const void *val,
		    size_t vlen, struct ck_entry *ret)
{
	const uint8_t *b = val;
	struct ck_entry *e = ret;

	if (plen == 0 || plen > CK_PATH_MAX || vlen < CK_ENTRY_HDR)
		return -EBADMSG;
	memset(e, 0, offsetof(struct ck_entry, target));
	memcpy(e->path, path, plen);
	e->path[plen] = 0;
	e->target[0] = 0;
	e->type = b[0];
	e->mode = ck_get_le32(b + 4);
	e->uid = ck_get_le32(b + 8);
	e->gid = ck_get_le32(b + 12);
	e->mtime_ns = (int64_t)ck_get_le64(b + 16);
	e->size = ck_get_le64(b + 24);
	e->chunk_size = ck_get_le32(b + 32);
	switch (e->type) {
	case CK_ENTRY_FILE:
		if (vlen != CK_ENTRY_HDR || e->chunk_size == 0 ||
		    e->chunk_size > (4u << 20))
			return -EBADMSG;
		e->nchunks = (e->size + e->chunk_size - 1) / e->chunk_size;
		break;
	case CK_ENTRY_DIR:
		if (vlen != CK_ENTRY_HDR)
			return -EBADMSG;
		break;
	case CK_ENTRY_SYMLINK:
		if (e->size > CK_PATH_MAX || vlen != CK_ENTRY_HDR + e->size)
			return -EBADMSG;
		memcpy(e->target, b + CK_ENTRY_HDR, e->size);
		e->target[e->size] = 0;
		break;
	default:
		return -EBADMSG;
	}
	return 0;
}
