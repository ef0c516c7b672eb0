/* SPDX-License-Identifier: MIT */
/*
 * test-repo.c - the engine through its API, on a real RocksDB: sessions,
 * references, deltas (maximum depth, shared bases, deletion order),
 * concurrent writers of one chunk, corruption, interrupted sessions,
 * parallel encoding and decoding.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>

#include "catalog.h"
#include "chunk.h"
#include "compress.h"
#include "extract.h"
#include "fsck.h"
#include "repo.h"
#include "testlib.h"

#define PAGE 4096

static char *dir;

static struct ck_repo *fresh(bool deltas)
{
	struct ck_repo_settings s = CK_REPO_SETTINGS_DEFAULT;
	struct ck_repo *r = NULL;
	char path[4096];
	static int n;

	s.deltas = deltas;
	snprintf(path, sizeof(path), "%s/repo%d", dir, n++);
	CK_ASSERT(ck_repo_init(path, &s) == 0);
	CK_ASSERT(ck_repo_open(path, CK_OPEN_WRITE, "test-repo", &r) == 0);
	return r;
}

static void page_fill(uint8_t *p, unsigned seed)
{
	for (size_t i = 0; i < PAGE; i++) {
		seed = seed * 1103515245 + 12345;
		p[i] = (uint8_t)(i % 32 < 24 ? 'A' + i % 11 : seed >> 16);
	}
}

static const struct ck_file_meta meta = { .mode = 0644, .mtime_ns = 1 };

/* Commits a version holding one file "pages-1.img" of @n pages, hinted
 * at vaddrs 0, 4096, ... against @parent (may be NULL). */
static struct ck_version put_pages(struct ck_repo *r, const char *name,
				   const uint8_t *pages, size_t n,
				   const struct ck_version *parent)
{
	struct ck_session *s = NULL;
	struct ck_version v;
	uint64_t *vaddrs = calloc(n, sizeof(*vaddrs));
	struct ck_page_hint hint = { .space = 1, .vaddrs = vaddrs, .n = n };
	char path[4096];
	int fd;

	for (size_t i = 0; i < n; i++)
		vaddrs[i] = i * PAGE;
	snprintf(path, sizeof(path), "%s/pages.tmp", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CK_ASSERT(fd >= 0);
	CK_ASSERT(write(fd, pages, n * PAGE) == (ssize_t)(n * PAGE));
	CK_ASSERT(ck_session_begin(r, "c", name, &s) == 0);
	if (parent) {
		struct ck_entry e;
		struct ck_id *ids = calloc(n, sizeof(*ids));

		CK_ASSERT(ck_repo_entry_get(r, parent->vid, "pages-1.img",
					    &e) == 0);
		CK_ASSERT(e.nchunks == n);
		CK_ASSERT(ck_repo_entry_chunks(r, parent->vid, &e, 0, n,
					       ids) == 0);
		CK_ASSERT(ck_session_add_bases(s, &hint, ids) == 0);
		free(ids);
	}
	CK_ASSERT(ck_session_add_file_fd(s, "pages-1.img", fd, n * PAGE, true,
					 &hint, &meta) == 0);
	CK_ASSERT(ck_session_commit(s, &v) == 0);
	ck_session_free(s);
	close(fd);
	unlink(path);
	free(vaddrs);
	return v;
}

static void check_pages(struct ck_repo *r, const struct ck_version *v,
			const uint8_t *pages, size_t n)
{
	struct ck_entry e;
	uint8_t *buf = malloc(n * PAGE);

	CK_ASSERT(ck_repo_entry_get(r, v->vid, "pages-1.img", &e) == 0);
	CK_ASSERT(ck_file_read(r, v->vid, &e, 0, buf, n * PAGE) ==
		  (int)(n * PAGE));
	CK_ASSERT(memcmp(buf, pages, n * PAGE) == 0);
	free(buf);
}

static int chunk_depth(struct ck_repo *r, const struct ck_id *id)
{
	struct ck_chunk_hdr h;
	void *rec = NULL;
	size_t len = 0;

	CK_ASSERT(ck_catalog_get(ck_repo_catalog(r), CK_CF_CHUNKS, id->b,
				 CK_ID_SIZE, &rec, &len) == 0);
	CK_ASSERT(ck_chunk_parse(rec, len, &h) == 0);
	free(rec);
	return h.enc == CK_ENC_DELTA ? h.depth : 0;
}

static struct ck_id page_id(struct ck_repo *r, const struct ck_version *v,
			    size_t i)
{
	struct ck_entry e;
	struct ck_id id;

	CK_ASSERT(ck_repo_entry_get(r, v->vid, "pages-1.img", &e) == 0);
	CK_ASSERT(ck_repo_entry_chunks(r, v->vid, &e, i, 1, &id) == 0);
	return id;
}

/* Flips bits (@mask) in byte len - @back of chunk @id's stored record. */
static void damage_record(struct ck_repo *r, const struct ck_id *id,
			  size_t back, uint8_t mask)
{
	struct ck_catalog *c = ck_repo_catalog(r);
	struct ck_batch *b = ck_batch_new(c);
	void *rec = NULL;
	size_t len = 0;

	CK_ASSERT(ck_catalog_get(c, CK_CF_CHUNKS, id->b, CK_ID_SIZE, &rec,
				 &len) == 0);
	CK_ASSERT(len >= back);
	((uint8_t *)rec)[len - back] ^= mask;
	ck_batch_put(b, CK_CF_CHUNKS, id->b, CK_ID_SIZE, rec, len);
	CK_ASSERT(ck_catalog_write(c, b, true) == 0);
	ck_batch_free(b);
	free(rec);
}

static int fsck_mask(struct ck_repo *r, struct ck_fsck_report *rep)
{
	return ck_fsck(r, NULL, NULL, rep);
}

static void test_lock_and_readers(void)
{
	struct ck_repo_settings s = CK_REPO_SETTINGS_DEFAULT;
	struct ck_repo *w = NULL, *w2 = NULL, *ro = NULL;
	char path[4096], holder[256];

	snprintf(path, sizeof(path), "%s/locked", dir);
	CK_ASSERT(ck_repo_init(path, &s) == 0);
	CK_ASSERT(ck_repo_init(path, &s) == -EEXIST); /* not empty */
	CK_ASSERT(ck_repo_open(path, CK_OPEN_WRITE, "holder-test", &w) == 0);
	CK_ASSERT(ck_repo_open(path, CK_OPEN_WRITE, "second", &w2) == -EBUSY);
	CK_ASSERT(ck_repo_holder(path, holder, sizeof(holder)) == 0);
	CK_ASSERT(strstr(holder, "holder-test") != NULL);
	CK_ASSERT(strstr(holder, "pid") != NULL);
	/* Readers work while a writer holds the repository. */
	CK_ASSERT(ck_repo_open(path, CK_OPEN_READ, NULL, &ro) == 0);
	CK_ASSERT(ck_repo_read_only(ro));
	{
		struct ck_session *sess = NULL;

		CK_ASSERT(ck_session_begin(ro, "c", "v", &sess) == -EROFS);
	}
	ro = ck_repo_free(ro);
	w = ck_repo_free(w);
	CK_ASSERT(ck_repo_holder(path, holder, sizeof(holder)) == 0);
	CK_ASSERT(holder[0] == 0);
	snprintf(path, sizeof(path), "%s/nothing-here", dir);
	CK_ASSERT(ck_repo_open(path, CK_OPEN_READ, NULL, &ro) == -ENOTDIR);
}

static void test_names(void)
{
	CK_ASSERT(ck_name_check("web-1.a_b") == 0);
	CK_ASSERT(ck_name_check("") == -EINVAL);
	CK_ASSERT(ck_name_check("..") == -EINVAL);
	CK_ASSERT(ck_name_check(".hidden") == -EINVAL);
	CK_ASSERT(ck_name_check("-opt") == -EINVAL);
	CK_ASSERT(ck_name_check("a/b") == -EINVAL);
	CK_ASSERT(ck_path_check("a/b/c") == 0);
	CK_ASSERT(ck_path_check("/abs") == -EINVAL);
	CK_ASSERT(ck_path_check("a/../b") == -EINVAL);
	CK_ASSERT(ck_path_check("a//b") == -EINVAL);
	CK_ASSERT(ck_path_check("a/") == -EINVAL);
	CK_ASSERT(ck_path_check(".") == -EINVAL);
}

static void test_session_api(void)
{
	struct ck_repo *r = fresh(true);
	struct ck_session *s = NULL;
	uint8_t page[PAGE];
	struct ck_id id, ids[3] = { 0 };
	bool missing[3];
	struct ck_version v;
	struct ck_entry e;
	uint8_t buf[3 * PAGE];

	page_fill(page, 7);
	ck_id_compute(ck_repo_hasher(r), page, PAGE, &id);
	CK_ASSERT(ck_session_begin(r, "c", "bad name!", &s) == -EINVAL);
	CK_ASSERT(ck_session_begin(r, "c", "v1", &s) == 0);
	ids[0] = id;
	ids[2] = id;
	CK_ASSERT(ck_session_missing(s, ids, 3, missing) == 0);
	CK_ASSERT(missing[0] && !missing[1] && missing[2]);
	/* Unknown chunk: the file cannot be added before the chunk. */
	CK_ASSERT(ck_session_add_file_ids(s, "f", 3 * PAGE, PAGE, ids, 3,
					  &meta) == -ENOENT);
	/* Bytes that do not hash to the claimed ID are refused. */
	page[0] ^= 1;
	CK_ASSERT(ck_session_put_chunk(s, &id, page, PAGE, NULL) == -EBADMSG);
	page[0] ^= 1;
	CK_ASSERT(ck_session_put_chunk(s, &id, page, PAGE, NULL) == 0);
	CK_ASSERT(ck_session_add_file_ids(s, "f", 3 * PAGE, PAGE, ids, 3,
					  &meta) == 0);
	CK_ASSERT(ck_session_add_file_ids(s, "g", 3 * PAGE, PAGE, ids, 2,
					  &meta) == -EINVAL);
	CK_ASSERT(ck_session_add_dir(s, "d", &meta) == 0);
	CK_ASSERT(ck_session_add_symlink(s, "d/link", "../f", &meta) == 0);
	CK_ASSERT(ck_session_commit(s, &v) == 0);
	s = ck_session_free(s);
	CK_ASSERT(v.seq == 1 && !v.complete && v.added_chunks == 1);
	CK_ASSERT(v.logical_bytes == 3 * PAGE);

	CK_ASSERT(ck_repo_entry_get(r, v.vid, "f", &e) == 0);
	CK_ASSERT(ck_file_read(r, v.vid, &e, 0, buf, sizeof(buf)) ==
		  3 * PAGE);
	CK_ASSERT(memcmp(buf, page, PAGE) == 0);
	CK_ASSERT(ck_is_zero(buf + PAGE, PAGE));
	CK_ASSERT(memcmp(buf + 2 * PAGE, page, PAGE) == 0);
	CK_ASSERT(ck_file_read(r, v.vid, &e, PAGE + 10, buf, 100) == 100);
	CK_ASSERT(ck_file_read(r, v.vid, &e, 3 * PAGE, buf, 100) == 0);
	CK_ASSERT(ck_repo_entry_get(r, v.vid, "d/link", &e) == 0);
	CK_ASSERT(e.type == CK_ENTRY_SYMLINK && !strcmp(e.target, "../f"));

	/* A name is unique within its container. */
	CK_ASSERT(ck_session_begin(r, "c", "v1", &s) == -EEXIST);
	/* Entries need their parent directory. */
	CK_ASSERT(ck_session_begin(r, "c", "v2", &s) == 0);
	CK_ASSERT(ck_session_add_dir(s, "x/y", &meta) == 0);
	CK_ASSERT(ck_session_commit(s, NULL) == -ENOTDIR);
	s = ck_session_free(s);
	CK_ASSERT(fsck_mask(r, NULL) == 0);
	ck_repo_free(r);
}

/* One page changes by a byte in every version: the deltas chain up to
 * CK_DELTA_MAX_DEPTH, then the next one is a delta of the chain's root
 * (depth 1), never deeper. */
static void test_max_depth_chain(void)
{
	enum { N = 4, V = 3 * CK_DELTA_MAX_DEPTH };
	struct ck_repo *r = fresh(true);
	uint8_t pages[V][N * PAGE];
	struct ck_version v[V];
	int max_seen = 0;

	page_fill(pages[0], 1);
	page_fill(pages[0] + PAGE, 2);
	page_fill(pages[0] + 2 * PAGE, 3);
	page_fill(pages[0] + 3 * PAGE, 4);
	v[0] = put_pages(r, "v0", pages[0], N, NULL);
	for (int k = 1; k < V; k++) {
		char name[16];
		int d;

		memcpy(pages[k], pages[k - 1], sizeof(pages[k]));
		pages[k][PAGE + 100 + k] ^= 0x5a; /* page 1 changes a little */
		snprintf(name, sizeof(name), "v%d", k);
		v[k] = put_pages(r, name, pages[k], N, &v[k - 1]);
		{
			struct ck_id id = page_id(r, &v[k], 1);

			d = chunk_depth(r, &id);
		}
		CK_ASSERT(d <= CK_DELTA_MAX_DEPTH);
		CK_ASSERT(d == (k - 1) % CK_DELTA_MAX_DEPTH + 1);
		if (d > max_seen)
			max_seen = d;
	}
	CK_ASSERT(max_seen == CK_DELTA_MAX_DEPTH);
	for (int k = 0; k < V; k++)
		check_pages(r, &v[k], pages[k], N);
	CK_ASSERT(fsck_mask(r, NULL) == 0);

	/* Deleting versions in an order that removes bases first never
	 * strands a delta: every remaining version still reads back. */
	for (int k = 0; k < V; k += 2) {
		CK_ASSERT(ck_repo_version_delete(r, "c", v[k].vid, NULL) == 0);
		CK_ASSERT(fsck_mask(r, NULL) == 0);
		for (int j = 1; j < V; j += 2)
			check_pages(r, &v[j], pages[j], N);
	}
	for (int k = V - 1; k > 0; k -= 2)
		CK_ASSERT(ck_repo_version_delete(r, "c", v[k].vid, NULL) == 0);
	{
		struct ck_stats st;
		struct ck_fsck_report rep;

		CK_ASSERT(ck_repo_stats(r, NULL, &st) == 0);
		CK_ASSERT_EQ(st.chunks, 0);
		CK_ASSERT_EQ(st.stored_bytes, 0);
		CK_ASSERT(fsck_mask(r, &rep) == 0);
		CK_ASSERT_EQ(rep.chunks, 0);
	}
	ck_repo_free(r);
}

/* Many pages, each a small change of the same base page. */
static void test_shared_base(void)
{
	enum { N = 64 };
	struct ck_repo *r = fresh(true);
	static uint8_t base[N * PAGE], next[N * PAGE];
	struct ck_version v0, v1;
	struct ck_session *s = NULL;
	struct ck_fsck_report rep;
	struct ck_id bid;
	uint64_t vaddrs[N];
	struct ck_id bases[N];
	struct ck_page_hint hint = { .space = 9, .vaddrs = vaddrs, .n = N };
	char path[4096];
	int fd;

	page_fill(base, 42);
	v0 = put_pages(r, "base", base, 1, NULL);
	bid = page_id(r, &v0, 0);
	for (int i = 0; i < N; i++) {
		memcpy(next + i * PAGE, base, PAGE);
		next[i * PAGE + 7 * i + 1] ^= 0xff;
		vaddrs[i] = (uint64_t)i * PAGE;
		bases[i] = bid; /* every page has the same base */
	}
	snprintf(path, sizeof(path), "%s/next.tmp", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CK_ASSERT(write(fd, next, sizeof(next)) == (ssize_t)sizeof(next));
	CK_ASSERT(ck_session_begin(r, "c", "shared", &s) == 0);
	CK_ASSERT(ck_session_add_bases(s, &hint, bases) == 0);
	CK_ASSERT(ck_session_add_file_fd(s, "pages-1.img", fd, sizeof(next),
					 true, &hint, &meta) == 0);
	CK_ASSERT(ck_session_commit(s, &v1) == 0);
	s = ck_session_free(s);
	close(fd);
	for (int i = 0; i < N; i++) {
		struct ck_id id = page_id(r, &v1, (size_t)i);

		CK_ASSERT(chunk_depth(r, &id) == 1);
	}
	/* Small deltas: far below one compressed page each. */
	CK_ASSERT(v1.added_bytes < N * 100);

	/* The base's version goes; the base stays for its deltas. */
	CK_ASSERT(ck_repo_version_delete(r, "c", v0.vid, NULL) == 0);
	check_pages(r, &v1, next, N);
	CK_ASSERT(fsck_mask(r, &rep) == 0);

	CK_ASSERT(ck_repo_version_delete(r, "c", v1.vid, NULL) == 0);
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	CK_ASSERT_EQ(rep.chunks, 0); /* the base went with its last delta */
	ck_repo_free(r);
}

static void count_problem(void *ud, enum ck_fsck_class cls, const char *msg)
{
	int *counts = ud;

	if (cls == CK_FSCK_BROKEN_DELTA)
		counts[0]++;
	if (cls == CK_FSCK_CORRUPT_CHUNK)
		counts[1]++;
	(void)msg;
}

static void test_corrupt_base_reported(void)
{
	enum { N = 32 };
	struct ck_repo *r = fresh(true);
	static uint8_t base[PAGE], next[N * PAGE];
	struct ck_session *s = NULL;
	struct ck_version v0, v1;
	uint64_t vaddrs[N];
	struct ck_id bases[N], bid;
	struct ck_page_hint hint = { .space = 3, .vaddrs = vaddrs, .n = N };
	int counts[2] = { 0, 0 }, mask, fd;
	char path[4096];
	struct ck_entry e;
	uint8_t buf[PAGE];

	page_fill(base, 5);
	v0 = put_pages(r, "b", base, 1, NULL);
	bid = page_id(r, &v0, 0);
	for (int i = 0; i < N; i++) {
		memcpy(next + i * PAGE, base, PAGE);
		next[i * PAGE + 13 * i + 3] ^= 0x0f;
		vaddrs[i] = (uint64_t)i * PAGE;
		bases[i] = bid;
	}
	snprintf(path, sizeof(path), "%s/n2.tmp", dir);
	fd = open(path, O_RDWR | O_CREAT | O_TRUNC, 0600);
	CK_ASSERT(write(fd, next, sizeof(next)) == (ssize_t)sizeof(next));
	CK_ASSERT(ck_session_begin(r, "c", "d", &s) == 0);
	CK_ASSERT(ck_session_add_bases(s, &hint, bases) == 0);
	CK_ASSERT(ck_session_add_file_fd(s, "pages-1.img", fd, sizeof(next),
					 true, &hint, &meta) == 0);
	CK_ASSERT(ck_session_commit(s, &v1) == 0);
	s = ck_session_free(s);
	close(fd);
	damage_record(r, &bid, 3, 0x10);
	{
		/* Reopen so no decoded base is cached. */
		char rp[4096];

		snprintf(rp, sizeof(rp), "%s", ck_repo_path(r));
		ck_repo_free(r);
		CK_ASSERT(ck_repo_open(rp, CK_OPEN_READ, NULL, &r) == 0);
	}
	mask = ck_fsck(r, count_problem, counts, NULL);
	CK_ASSERT(mask & CK_FSCK_BROKEN_DELTA);
	CK_ASSERT(mask & CK_FSCK_CORRUPT_CHUNK);
	CK_ASSERT_EQ(counts[1], 1); /* the base itself */
	CK_ASSERT_EQ(counts[0], N); /* every delta on it, by name */
	CK_ASSERT(ck_repo_entry_get(r, v1.vid, "pages-1.img", &e) == 0);
	CK_ASSERT(ck_file_read(r, v1.vid, &e, 0, buf, PAGE) == -EBADMSG);
	ck_repo_free(r);
}

/* Two sessions write the same new chunk, one as a delta and one whole;
 * whichever record is stored, counts stay exact. */
static void test_concurrent_writers(void)
{
	struct ck_repo *r = fresh(true);
	uint8_t base[PAGE], page[PAGE];
	struct ck_session *a = NULL, *b = NULL;
	struct ck_version v0, va, vb;
	struct ck_id bid, pid;
	struct ck_fsck_report rep;
	struct ck_stats st;

	page_fill(base, 11);
	v0 = put_pages(r, "b", base, 1, NULL);
	bid = page_id(r, &v0, 0);
	memcpy(page, base, PAGE);
	page[9] ^= 1;
	ck_id_compute(ck_repo_hasher(r), page, PAGE, &pid);
	CK_ASSERT(ck_session_begin(r, "c", "a", &a) == 0);
	CK_ASSERT(ck_session_begin(r, "c", "bb", &b) == 0);
	CK_ASSERT(ck_session_put_chunk(a, &pid, page, PAGE, &bid) == 0);
	CK_ASSERT(ck_session_add_file_ids(a, "p", PAGE, PAGE, &pid, 1,
					  &meta) == 0);
	CK_ASSERT(ck_session_put_chunk(b, &pid, page, PAGE, NULL) == 0);
	CK_ASSERT(ck_session_add_file_ids(b, "p", PAGE, PAGE, &pid, 1,
					  &meta) == 0);
	CK_ASSERT(ck_session_commit(b, &vb) == 0);
	CK_ASSERT(ck_session_commit(a, &va) == 0);
	ck_session_free(a);
	ck_session_free(b);
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	CK_ASSERT(ck_repo_version_delete(r, "c", v0.vid, NULL) == 0);
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	CK_ASSERT(ck_repo_version_delete(r, "c", va.vid, NULL) == 0);
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	CK_ASSERT(ck_repo_version_delete(r, "c", vb.vid, NULL) == 0);
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	CK_ASSERT(ck_repo_stats(r, NULL, &st) == 0);
	CK_ASSERT_EQ(st.chunks, 0);
	ck_repo_free(r);
}

/* A session that reuses a chunk whose only version is deleted before the
 * commit must not commit a dangling reference. */
/* A version is deleted while a session that reuses its chunk is open:
 * the chunk is kept for the session, and its commit succeeds. */
static void test_reuse_after_delete(void)
{
	struct ck_repo *r = fresh(false);
	uint8_t page[PAGE];
	struct ck_session *s = NULL;
	struct ck_fsck_report rep;
	struct ck_stats st;
	struct ck_version v0, v1;
	struct ck_id id;
	uint64_t chunks = 9, bytes = 9;
	bool missing;

	page_fill(page, 99);
	v0 = put_pages(r, "old", page, 1, NULL);
	id = page_id(r, &v0, 0);
	CK_ASSERT(ck_session_begin(r, "c", "new", &s) == 0);
	CK_ASSERT(ck_session_missing(s, &id, 1, &missing) == 0);
	CK_ASSERT(!missing);
	CK_ASSERT(ck_session_add_file_ids(s, "pages-1.img", PAGE, PAGE, &id, 1,
					  &meta) == 0);
	CK_ASSERT(ck_repo_version_delete(r, "c", v0.vid, NULL) == 0);
	/* Kept at count zero while the session is open. */
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	CK_ASSERT_EQ(rep.garbage_chunks, 1);
	/* gc meanwhile must not take it. */
	CK_ASSERT(ck_repo_reclaim(r, false, &chunks, &bytes) == 0);
	CK_ASSERT_EQ(chunks, 0);
	CK_ASSERT(ck_session_commit(s, &v1) == 0);
	ck_session_free(s);
	check_pages(r, &v1, page, 1);
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	CK_ASSERT_EQ(rep.garbage_chunks, 0);
	CK_ASSERT(ck_repo_reclaim(r, false, &chunks, &bytes) == 0);
	CK_ASSERT_EQ(chunks, 0);
	check_pages(r, &v1, page, 1);
	CK_ASSERT(ck_repo_stats(r, NULL, &st) == 0);
	CK_ASSERT_EQ(st.chunks, 1);
	ck_repo_free(r);
}

/* The same, but the session never commits: gc then frees the kept
 * chunk and the base only it kept alive. */
static void test_kept_then_abandoned(void)
{
	struct ck_repo *r = fresh(true);
	uint8_t a[PAGE], b[PAGE];
	struct ck_session *s = NULL;
	struct ck_fsck_report rep;
	struct ck_stats st;
	struct ck_version v0, v1;
	struct ck_id ib;
	uint64_t chunks = 0, bytes = 0;
	bool missing;

	page_fill(a, 401);
	memcpy(b, a, PAGE);
	b[100] ^= 1;
	v0 = put_pages(r, "a", a, 1, NULL);
	v1 = put_pages(r, "b", b, 1, &v0);
	ib = page_id(r, &v1, 0);
	CK_ASSERT(chunk_depth(r, &ib) == 1);
	CK_ASSERT(ck_repo_version_delete(r, "c", v0.vid, NULL) == 0);
	CK_ASSERT(ck_session_begin(r, "c", "lost", &s) == 0);
	CK_ASSERT(ck_session_missing(s, &ib, 1, &missing) == 0);
	CK_ASSERT(!missing);
	CK_ASSERT(ck_repo_version_delete(r, "c", v1.vid, NULL) == 0);
	CK_ASSERT(ck_repo_stats(r, NULL, &st) == 0);
	CK_ASSERT_EQ(st.chunks, 2);
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	ck_session_free(s);
	CK_ASSERT(ck_repo_reclaim(r, true, &chunks, &bytes) == 0);
	CK_ASSERT_EQ(chunks, 2);
	CK_ASSERT(ck_repo_reclaim(r, false, &chunks, &bytes) == 0);
	CK_ASSERT_EQ(chunks, 2);
	CK_ASSERT(bytes > 0);
	CK_ASSERT(ck_repo_stats(r, NULL, &st) == 0);
	CK_ASSERT_EQ(st.chunks, 0);
	CK_ASSERT_EQ(st.stored_bytes, 0);
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	CK_ASSERT_EQ(rep.chunks, 0);
	CK_ASSERT_EQ(rep.garbage_chunks, 0);
	CK_ASSERT(ck_repo_reclaim(r, false, &chunks, &bytes) == 0);
	CK_ASSERT_EQ(chunks, 0);
	ck_repo_free(r);
}

/* A delta's base would be freed by a deletion, and stored again, deeper,
 * by another session before the delta is committed. The session that
 * made the delta holds its base, so the deletion keeps it: the base stays
 * a whole record, the other session reuses it, and the delta commits. */
static void test_delta_base_held(void)
{
	struct ck_repo *r = fresh(true);
	uint8_t y0[PAGE], y1[PAGE], x[PAGE], z[PAGE];
	struct ck_session *s = NULL, *t = NULL;
	struct ck_id iy0, iy1, ix, iz;
	struct ck_version vx, vz, vt;
	struct ck_entry e;
	uint8_t buf[PAGE];

	page_fill(y0, 301);
	memcpy(y1, y0, PAGE);
	y1[10] ^= 1;
	memcpy(x, y1, PAGE);
	x[20] ^= 1;
	memcpy(z, x, PAGE);
	z[30] ^= 1;
	ck_id_compute(ck_repo_hasher(r), y0, PAGE, &iy0);
	ck_id_compute(ck_repo_hasher(r), y1, PAGE, &iy1);
	ck_id_compute(ck_repo_hasher(r), x, PAGE, &ix);
	ck_id_compute(ck_repo_hasher(r), z, PAGE, &iz);
	/* X stored whole, in its own version. */
	vx = put_pages(r, "x", x, 1, NULL);
	/* Session S makes Z a delta of X (depth 1), not yet committed. */
	CK_ASSERT(ck_session_begin(r, "c", "z", &s) == 0);
	CK_ASSERT(ck_session_put_chunk(s, &iz, z, PAGE, &ix) == 0);
	CK_ASSERT(ck_session_add_file_ids(s, "p", PAGE, PAGE, &iz, 1, &meta) ==
		  0);
	/* X's version goes; session T stores X again as a delta of depth 2,
	 * which finds X still there. */
	CK_ASSERT(ck_repo_version_delete(r, "c", vx.vid, NULL) == 0);
	CK_ASSERT(ck_session_begin(r, "c", "t", &t) == 0);
	CK_ASSERT(ck_session_put_chunk(t, &iy0, y0, PAGE, NULL) == 0);
	CK_ASSERT(ck_session_add_file_ids(t, "a", PAGE, PAGE, &iy0, 1,
					  &meta) == 0);
	CK_ASSERT(ck_session_commit(t, &vt) == 0);
	t = ck_session_free(t);
	CK_ASSERT(ck_session_begin(r, "c", "t2", &t) == 0);
	CK_ASSERT(ck_session_put_chunk(t, &iy1, y1, PAGE, &iy0) == 0);
	CK_ASSERT(ck_session_add_file_ids(t, "a", PAGE, PAGE, &iy1, 1,
					  &meta) == 0);
	CK_ASSERT(ck_session_commit(t, NULL) == 0);
	t = ck_session_free(t);
	CK_ASSERT(ck_session_begin(r, "c", "t3", &t) == 0);
	CK_ASSERT(ck_session_put_chunk(t, &ix, x, PAGE, &iy1) == 0);
	CK_ASSERT(ck_session_add_file_ids(t, "b", PAGE, PAGE, &ix, 1, &meta) ==
		  0);
	CK_ASSERT(ck_session_commit(t, NULL) == 0);
	t = ck_session_free(t);
	CK_ASSERT(chunk_depth(r, &ix) == 0);
	CK_ASSERT(ck_session_commit(s, &vz) == 0);
	s = ck_session_free(s);
	CK_ASSERT(chunk_depth(r, &iz) == 1);
	CK_ASSERT(fsck_mask(r, NULL) == 0);
	CK_ASSERT(ck_repo_entry_get(r, vz.vid, "p", &e) == 0);
	CK_ASSERT(ck_file_read(r, vz.vid, &e, 0, buf, PAGE) == PAGE);
	CK_ASSERT(memcmp(buf, z, PAGE) == 0);
	ck_repo_free(r);
}

static void print_problem(void *ud, enum ck_fsck_class cls, const char *msg)
{
	(void)ud;
	fprintf(stderr, "fsck: %d %s\n", (int)cls, msg);
}

/* Puts @n incompressible pages (seeded) into @s: over 8 MiB of records
 * makes the session write what it has queued. */
static void put_noise(struct ck_repo *r, struct ck_session *s, unsigned seed,
		      size_t n)
{
	uint8_t p[PAGE];

	for (size_t i = 0; i < n; i++) {
		struct ck_id id;

		for (size_t k = 0; k < PAGE; k++) {
			seed = seed * 1103515245 + 12345;
			p[k] = (uint8_t)(seed >> 16);
		}
		ck_id_compute(ck_repo_hasher(r), p, PAGE, &id);
		CK_ASSERT(ck_session_put_chunk(s, &id, p, PAGE, NULL) == 0);
	}
}

/* Two sessions write the same new chunk X, each as a delta against its
 * own base; the record stored is the second one's. The second session
 * goes away and gc deletes the version both bases came from: the first
 * session's commit still finds the base the stored X names, because the
 * second writer made it hold that base too. */
static void test_shared_write_base_held(void)
{
	struct ck_repo *r = fresh(true);
	uint8_t a[PAGE], b[PAGE], x[PAGE], buf[PAGE];
	struct ck_session *s1 = NULL, *s2 = NULL;
	struct ck_id ia, ib, ix;
	struct ck_version v0, v1;
	struct ck_fsck_report rep;
	struct ck_entry e;
	uint64_t chunks = 0, bytes = 0;
	uint8_t both[2 * PAGE];

	page_fill(x, 501);
	memcpy(a, x, PAGE);
	a[7] ^= 1;
	memcpy(b, x, PAGE);
	b[9] ^= 1;
	b[11] ^= 1;
	memcpy(both, a, PAGE);
	memcpy(both + PAGE, b, PAGE);
	v0 = put_pages(r, "ab", both, 2, NULL);
	ia = page_id(r, &v0, 0);
	ib = page_id(r, &v0, 1);
	ck_id_compute(ck_repo_hasher(r), x, PAGE, &ix);

	CK_ASSERT(ck_session_begin(r, "c", "s1", &s1) == 0);
	CK_ASSERT(ck_session_put_chunk(s1, &ix, x, PAGE, &ia) == 0);
	put_noise(r, s1, 1, 2100); /* s1 writes X (delta of A) */
	CK_ASSERT(ck_session_begin(r, "c", "s2", &s2) == 0);
	CK_ASSERT(ck_session_put_chunk(s2, &ix, x, PAGE, &ib) == 0);
	put_noise(r, s2, 2, 2100); /* s2 writes X again (delta of B) */
	s2 = ck_session_free(s2);

	CK_ASSERT(ck_repo_version_delete(r, "c", v0.vid, NULL) == 0);
	CK_ASSERT(ck_repo_reclaim(r, false, &chunks, &bytes) == 0);
	CK_ASSERT_EQ(chunks, 0); /* A and B are held by s1 */

	CK_ASSERT(ck_session_add_file_ids(s1, "x", PAGE, PAGE, &ix, 1,
					  &meta) == 0);
	CK_ASSERT(ck_session_commit(s1, &v1) == 0);
	s1 = ck_session_free(s1);
	CK_ASSERT(ck_repo_entry_get(r, v1.vid, "x", &e) == 0);
	CK_ASSERT(ck_file_read(r, v1.vid, &e, 0, buf, PAGE) == PAGE);
	CK_ASSERT(memcmp(buf, x, PAGE) == 0);
	/* What s1 did not use (the other base) is freed by gc now. */
	CK_ASSERT(ck_repo_reclaim(r, false, &chunks, &bytes) == 0);
	CK_ASSERT_EQ(chunks, 1);
	CK_ASSERT(ck_fsck(r, print_problem, NULL, &rep) == 0);
	ck_repo_free(r);
}

/* An abandoned session leaves garbage, which fsck does not call damage. */
static void test_abandoned_session(void)
{
	struct ck_repo *r = fresh(true);
	uint8_t pages[8 * PAGE];
	struct ck_session *s = NULL;
	struct ck_fsck_report rep;
	struct ck_version *vs = NULL;
	size_t n = 0;

	for (int i = 0; i < 8; i++)
		page_fill(pages + i * PAGE, 200 + (unsigned)i);
	put_pages(r, "keep", pages, 2, NULL);
	CK_ASSERT(ck_session_begin(r, "c", "lost", &s) == 0);
	for (int i = 2; i < 8; i++) {
		struct ck_id id;

		ck_id_compute(ck_repo_hasher(r), pages + i * PAGE, PAGE, &id);
		CK_ASSERT(ck_session_put_chunk(s, &id, pages + i * PAGE, PAGE,
					       NULL) == 0);
	}
	ck_session_free(s);
	CK_ASSERT(fsck_mask(r, &rep) == 0);
	CK_ASSERT(ck_repo_versions(r, "c", &vs, &n) == 0);
	CK_ASSERT_EQ(n, 1);
	free(vs);
	ck_repo_free(r);
}

/* A block's new chunks are encoded by several threads at once
 * (session.c encode_block()): the records must be the ones one thread
 * writes, byte for byte, and every version must read back. */
static void test_parallel_encode(void)
{
	enum { N = 600 }; /* three blocks, the last one partial */
	uint8_t *p0 = malloc(N * PAGE), *p1 = malloc(N * PAGE);
	struct ck_repo *r[2];
	struct ck_version v0[2], v1[2];

	for (size_t i = 0; i < N; i++)
		page_fill(p0 + i * PAGE, (unsigned)i + 7);
	memcpy(p1, p0, N * PAGE);
	for (size_t i = 0; i < N; i += 2)
		p1[i * PAGE + i % PAGE] ^= 0x33; /* half the pages: deltas */
	for (size_t i = 1; i < N; i += 6)
		page_fill(p1 + i * PAGE, (unsigned)i * 31); /* some new */
	/* One repository with v0, then a copy of it (same secret, so the
	 * same IDs): v1 is pushed by one thread into the first, by four
	 * into the second. */
	{
		char a[4096], b[4096], cmd[8300];
		struct ck_repo_settings st = CK_REPO_SETTINGS_DEFAULT;

		snprintf(a, sizeof(a), "%s/par1", dir);
		snprintf(b, sizeof(b), "%s/par4", dir);
		CK_ASSERT(ck_repo_init(a, &st) == 0);
		CK_ASSERT(ck_repo_open(a, CK_OPEN_WRITE, "t", &r[0]) == 0);
		v0[0] = put_pages(r[0], "v0", p0, N, NULL);
		r[0] = ck_repo_free(r[0]);
		snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", a, b);
		CK_ASSERT(system(cmd) == 0);
		CK_ASSERT(ck_repo_open(a, CK_OPEN_WRITE, "t", &r[0]) == 0);
		CK_ASSERT(ck_repo_open(b, CK_OPEN_WRITE, "t", &r[1]) == 0);
		v0[1] = v0[0];
	}
	for (int t = 0; t < 2; t++) {
		setenv("CKSTORE_THREADS", t ? "4" : "1", 1);
		v1[t] = put_pages(r[t], "v1", p1, N, &v0[t]);
		check_pages(r[t], &v0[t], p0, N);
		check_pages(r[t], &v1[t], p1, N);
		CK_ASSERT(fsck_mask(r[t], NULL) == 0);
	}
	unsetenv("CKSTORE_THREADS");
	for (size_t i = 0; i < N; i++) {
		struct ck_id a = page_id(r[0], &v1[0], i);
		struct ck_id b = page_id(r[1], &v1[1], i);
		void *ra = NULL, *rb = NULL;
		size_t la = 0, lb = 0;

		CK_ASSERT(ck_catalog_get(ck_repo_catalog(r[0]), CK_CF_CHUNKS,
					 a.b, CK_ID_SIZE, &ra, &la) == 0);
		CK_ASSERT(ck_catalog_get(ck_repo_catalog(r[1]), CK_CF_CHUNKS,
					 b.b, CK_ID_SIZE, &rb, &lb) == 0);
		CK_ASSERT_EQ(la, lb);
		CK_ASSERT(memcmp(ra, rb, la) == 0);
		if (i % 6 == 0) /* changed a little: a delta */
			CK_ASSERT(chunk_depth(r[1], &b) == 1);
		free(ra);
		free(rb);
	}
	ck_repo_free(r[0]);
	ck_repo_free(r[1]);
	free(p0);
	free(p1);
}

/* Reads of 128 whole chunks or more are decoded by the caller and the
 * repository's read helpers together; ranges cut inside chunks,
 * concurrent readers (only one of them gets the helpers) and a damaged
 * chunk in the middle of a range read the same as one thread would. */
struct reader {
	struct ck_repo *r;
	const struct ck_version *v;
	const uint8_t *want;
	size_t n;
	unsigned seed;
	int bad;
};

static void *read_ranges(void *arg)
{
	struct reader *rd = arg;
	struct ck_entry e;
	uint8_t *buf = malloc(rd->n * PAGE);
	unsigned seed = rd->seed;

	if (ck_repo_entry_get(rd->r, rd->v->vid, "pages-1.img", &e) < 0) {
		rd->bad++;
		goto out;
	}
	for (int k = 0; k < 40; k++) {
		uint64_t off, len;

		seed = seed * 1103515245 + 12345;
		off = (seed >> 8) % (rd->n * PAGE / 3);
		seed = seed * 1103515245 + 12345;
		len = 200 * PAGE + (seed >> 8) % (rd->n * PAGE / 2);
		if (off + len > rd->n * PAGE)
			len = rd->n * PAGE - off;
		if (ck_file_read(rd->r, rd->v->vid, &e, off, buf, len) !=
			    (int)len ||
		    memcmp(buf, rd->want + off, len))
			rd->bad++;
	}
out:
	free(buf);
	ck_compress_thread_exit(); /* as every thread that decodes must */
	return NULL;
}

static void test_parallel_read(void)
{
	enum { N = 700 };
	uint8_t *p0 = malloc(N * PAGE), *p1 = malloc(N * PAGE);
	uint8_t *buf = malloc(N * PAGE);
	struct reader rd[4];
	pthread_t th[4];
	struct ck_version v0, v1;
	struct ck_repo *r;
	struct ck_entry e;

	setenv("CKSTORE_THREADS", "3", 1); /* the read pool starts with 2 */
	r = fresh(true);
	for (size_t i = 0; i < N; i++)
		page_fill(p0 + i * PAGE, (unsigned)i + 3);
	memset(p0 + 100 * PAGE, 0, 20 * PAGE); /* holes */
	memcpy(p1, p0, N * PAGE);
	for (size_t i = 0; i < N; i += 3)
		p1[i * PAGE + i % PAGE] ^= 0x5a; /* deltas on v0's pages */
	v0 = put_pages(r, "v0", p0, N, NULL);
	v1 = put_pages(r, "v1", p1, N, &v0);
	unsetenv("CKSTORE_THREADS");
	check_pages(r, &v1, p1, N);
	check_pages(r, &v0, p0, N);
	CK_ASSERT(ck_repo_entry_get(r, v1.vid, "pages-1.img", &e) == 0);
	CK_ASSERT(ck_file_read(r, v1.vid, &e, 3 * PAGE + 100, buf,
			       600 * PAGE - 300) == 600 * PAGE - 300);
	CK_ASSERT(memcmp(buf, p1 + 3 * PAGE + 100, 600 * PAGE - 300) == 0);
	for (int t = 0; t < 4; t++) {
		rd[t] = (struct reader){ .r = r, .v = t % 2 ? &v1 : &v0,
					 .want = t % 2 ? p1 : p0, .n = N,
					 .seed = (unsigned)t * 77 + 1 };
		CK_ASSERT(pthread_create(&th[t], NULL, read_ranges, &rd[t]) ==
			  0);
	}
	for (int t = 0; t < 4; t++) {
		pthread_join(th[t], NULL);
		CK_ASSERT_EQ(rd[t].bad, 0);
	}
	{
		/* One record of the last slice damaged: the whole read fails
		 * as a serial one does. */
		struct ck_id id = page_id(r, &v1, 650);

		damage_record(r, &id, 1, 0x01);
	}
	CK_ASSERT(ck_file_read(r, v1.vid, &e, 0, buf, N * PAGE) == -EBADMSG);
	CK_ASSERT(ck_file_read(r, v1.vid, &e, 0, buf, 600 * PAGE) ==
		  600 * PAGE);
	CK_ASSERT(memcmp(buf, p1, 600 * PAGE) == 0);
	ck_repo_free(r);
	free(p0);
	free(p1);
	free(buf);
}

/* A batch of chunks (ckstored's upload path) is checked whole before any
 * is stored, and is encoded on every CPU. */
static void test_put_chunks_batch(void)
{
	enum { N = 40 };
	struct ck_repo *r = fresh(true);
	struct ck_session *s = NULL;
	uint8_t *pages = malloc(N * PAGE), *buf = malloc(N * PAGE);
	struct ck_chunk_in in[N];
	struct ck_id ids[N];
	struct ck_version v;
	struct ck_entry e;
	size_t bad = 0;

	for (size_t i = 0; i < N; i++) {
		page_fill(pages + i * PAGE, (unsigned)i + 100);
		ck_id_compute(ck_repo_hasher(r), pages + i * PAGE, PAGE,
			      &ids[i]);
		in[i] = (struct ck_chunk_in){ .id = ids[i],
					      .data = pages + i * PAGE,
					      .len = PAGE };
	}
	CK_ASSERT(ck_session_begin(r, "c", "v1", &s) == 0);
	pages[13 * PAGE + 5] ^= 1;
	CK_ASSERT(ck_session_put_chunks(s, in, N, &bad) == -EBADMSG);
	CK_ASSERT_EQ(bad, 13);
	/* Nothing was stored, not even the good chunks before it. */
	CK_ASSERT(ck_session_add_file_ids(s, "f", PAGE, PAGE, ids, 1,
					  &meta) == -ENOENT);
	pages[13 * PAGE + 5] ^= 1;
	in[7] = in[6]; /* the same chunk twice in one batch */
	CK_ASSERT(ck_session_put_chunks(s, in, N, &bad) == 0);
	CK_ASSERT(ck_session_add_file_ids(s, "f", N * PAGE, PAGE, ids, N,
					  &meta) == -ENOENT); /* page 7 */
	in[7] = (struct ck_chunk_in){ .id = ids[7],
				      .data = pages + 7 * PAGE,
				      .len = PAGE };
	CK_ASSERT(ck_session_put_chunks(s, in, N, &bad) == 0);
	CK_ASSERT(ck_session_add_file_ids(s, "f", N * PAGE, PAGE, ids, N,
					  &meta) == 0);
	CK_ASSERT(ck_session_commit(s, &v) == 0);
	s = ck_session_free(s);
	CK_ASSERT_EQ(v.added_chunks, N);
	CK_ASSERT(ck_repo_entry_get(r, v.vid, "f", &e) == 0);
	CK_ASSERT(ck_file_read(r, v.vid, &e, 0, buf, N * PAGE) ==
		  (int)(N * PAGE));
	CK_ASSERT(memcmp(buf, pages, N * PAGE) == 0);
	CK_ASSERT(fsck_mask(r, NULL) == 0);
	ck_repo_free(r);
	free(pages);
	free(buf);
}

/* A session alone in its repository commits from the headers it kept
 * (session.c own_chunks()); with another session open it reads its
 * records back. Both must count the same. */
static void test_commit_alone(void)
{
	enum { N = 300 };
	uint8_t *p0 = malloc(N * PAGE), *p1 = malloc(N * PAGE);
	struct ck_repo *r[2];
	struct ck_version v0, v1[2];
	struct ck_stats st[2];
	char a[4096], b[4096], cmd[8300];
	struct ck_repo_settings set = CK_REPO_SETTINGS_DEFAULT;

	for (size_t i = 0; i < N; i++)
		page_fill(p0 + i * PAGE, (unsigned)i + 900);
	memcpy(p1, p0, N * PAGE);
	for (size_t i = 0; i < N; i += 3)
		p1[i * PAGE + 77] ^= 0x44;
	for (size_t i = 1; i < N; i += 5)
		page_fill(p1 + i * PAGE, (unsigned)i * 7 + 5000);
	snprintf(a, sizeof(a), "%s/alone", dir);
	snprintf(b, sizeof(b), "%s/shared", dir);
	CK_ASSERT(ck_repo_init(a, &set) == 0);
	CK_ASSERT(ck_repo_open(a, CK_OPEN_WRITE, "t", &r[0]) == 0);
	v0 = put_pages(r[0], "v0", p0, N, NULL);
	r[0] = ck_repo_free(r[0]);
	snprintf(cmd, sizeof(cmd), "cp -a '%s' '%s'", a, b);
	CK_ASSERT(system(cmd) == 0);
	CK_ASSERT(ck_repo_open(a, CK_OPEN_WRITE, "t", &r[0]) == 0);
	CK_ASSERT(ck_repo_open(b, CK_OPEN_WRITE, "t", &r[1]) == 0);
	v1[0] = put_pages(r[0], "v1", p1, N, &v0);
	{
		struct ck_session *other = NULL;

		CK_ASSERT(ck_session_begin(r[1], "d", "x", &other) == 0);
		v1[1] = put_pages(r[1], "v1", p1, N, &v0);
		ck_session_free(other);
	}
	for (int t = 0; t < 2; t++) {
		check_pages(r[t], &v1[t], p1, N);
		CK_ASSERT(fsck_mask(r[t], NULL) == 0);
		CK_ASSERT(ck_repo_stats(r[t], NULL, &st[t]) == 0);
	}
	CK_ASSERT_EQ(v1[0].added_chunks, v1[1].added_chunks);
	CK_ASSERT_EQ(v1[0].added_bytes, v1[1].added_bytes);
	CK_ASSERT(v1[0].added_chunks > N / 5);
	CK_ASSERT_EQ(st[0].chunks, st[1].chunks);
	CK_ASSERT_EQ(st[0].stored_bytes, st[1].stored_bytes);
	CK_ASSERT_EQ(st[0].raw_bytes, st[1].raw_bytes);
	CK_ASSERT_EQ(st[0].delta_chunks, st[1].delta_chunks);
	CK_ASSERT(st[0].delta_chunks > 0);
	CK_ASSERT_EQ(st[0].delta_stored_bytes, st[1].delta_stored_bytes);
	/* Deleting v0 keeps v1 whole (its deltas' bases are counted). */
	for (int t = 0; t < 2; t++) {
		CK_ASSERT(ck_repo_version_delete(r[t], "c", v0.vid, NULL) == 0);
		check_pages(r[t], &v1[t], p1, N);
		CK_ASSERT(fsck_mask(r[t], NULL) == 0);
		ck_repo_free(r[t]);
	}
	free(p0);
	free(p1);
}

int main(void)
{
	dir = ck_test_tmpdir("repo");
	test_names();
	test_lock_and_readers();
	test_session_api();
	test_max_depth_chain();
	test_shared_base();
	test_corrupt_base_reported();
	test_concurrent_writers();
	test_reuse_after_delete();
	test_kept_then_abandoned();
	test_shared_write_base_held();
	test_delta_base_held();
	test_abandoned_session();
	test_parallel_encode();
	test_parallel_read();
	test_put_chunks_batch();
	test_commit_alone();
	ck_test_rmdir(dir);
	return 0;
}
