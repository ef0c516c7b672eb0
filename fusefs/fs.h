/* SPDX-License-Identifier: MIT */
/*
 * fs.h - ckstore-fuse's file system: the name space, the inode table,
 * versions being written (the spool) and their commit.
 *
 * Name space (README.md, "Mount", has the user's view):
 *
 *   /                               containers, and .flat
 *   /<container>/                   its versions (committed and being
 *                                   written), by name
 *   /<container>/<version>/...      the version's files exactly as
 *                                   written, `parent` link included
 *   /.flat/<container>/<version>/   the flattened view: self-contained
 *                                   images, no `parent` link (committed
 *                                   versions whose chain is not broken)
 *
 * Nodes. Every name the kernel looked up is a struct ckfs_node, found by
 * inode number and by (parent inode, name) in two hash tables. A node
 * lives while the kernel holds lookups on it (nlookup, dropped by
 * FORGET) or while a child node points to it (nchild). Inode numbers are
 * never reused within a mount. A node below a version carries the
 * version (struct ckfs_ver, counted) and computes its path inside it
 * from its parent chain, so that renames inside a spool move whole
 * subtrees by relinking one node.
 *
 * Versions. A struct ckfs_ver is one version of one container in one
 * view. It is in one of these states:
 *
 *   WRITING    created by mkdir in a container directory; its tree is a
 *              real directory under <spool>/data/<container>/<name>/,
 *              and every operation below it is passed through to that
 *              directory (openat and friends relative to the spool).
 *   SEALED     no longer writable (EROFS): stats-dump was written and
 *              closed and no write handle is open, or the version was
 *              idle for --idle-timeout with no write handle open, or the
 *              mount is going away. Still read from the spool. The
 *              committer thread stores it with the backend's
 *              commit_dir; it is complete if it holds stats-dump.
 *   COMMITTED  stored in the repository; read through the backend from
 *              its entry list (ver->es). The spool copy is removed. The
 *              inode numbers of its nodes do not change.
 *   FAILED     the commit failed (e.g. ENOSPC, server unreachable);
 *              served from the spool, read-only; the committer tries
 *              again every CKFS_RETRY_S seconds, at once when the
 *              version's directory is fsync()ed (the writer asking
 *              again, e.g. after space was freed), and the next start
 *              does too.
 *
 * Spool recovery: at start-up every directory left under <spool>/data/
 * (a killed mount) is committed before the file system is served.
 *
 * An unreachable backend (remote mode, -EIO after its retries): a lookup
 * of a container or version the backend listed before fails with EIO, of
 * one it never listed with ENOENT, so that mkdir of a new dump still
 * works; new dumps go to the spool and are committed when the backend
 * is back (FAILED, retried). Names seen are kept in fs->known.
 *
 * Locking. fs->lock (a mutex) protects the hash tables, every node's
 * fields, the version list and each version's counters and state
 * changes. ver->rw is held shared by every operation that touches the
 * version's spool, for the duration of the system call, and exclusively
 * to change the state out of WRITING or to COMMITTED. Lock order: ver->rw
 * before fs->lock. Backend calls and file I/O are made without fs->lock.
 *
 * Errors: negative errno inside; the FUSE operations (ops.c) reply with
 * fuse_reply_err(req, -r) exactly once.
 */
#pragma once

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "backend.h"

#define CKFS_FLAT_NAME ".flat"
#define CKFS_STATS_DUMP "stats-dump"
#define CKFS_RETRY_S 30

enum ckfs_kind {
	CKFS_ROOT = 1,	   /* / */
	CKFS_FLATROOT = 2, /* /.flat */
	CKFS_CTR = 3,	   /* a container directory (ctr, flat) */
	CKFS_ENT = 4,	   /* a version's directory or anything below */
};

enum ckfs_vstate {
	CKFS_V_WRITING = 0,
	CKFS_V_SEALED = 1,
	CKFS_V_COMMITTED = 2,
	CKFS_V_FAILED = 3,
};

struct ckfs_ver {
	char ctr[CK_NAME_MAX + 1];
	char name[CK_NAME_MAX + 1];
	bool flat;
	unsigned refs;		/* nodes, handles, the writing list; lock */
	pthread_rwlock_t rw;	/* see "Locking" */
	enum ckfs_vstate state; /* changes under rw (exclusive) + lock */
	/* spool (WRITING, SEALED, FAILED) */
	int spool_fd;	      /* O_PATH directory of the version */
	char *spool_path;     /* absolute */
	unsigned writers;     /* open write handles; lock */
	bool stats_closed;    /* stats-dump written and closed; lock */
	bool stats_flushed;   /* close() of stats-dump returned; lock */
	int64_t active_ns;    /* CLOCK_MONOTONIC of the last write; lock */
	int commit_err;	      /* FAILED: why */
	int64_t failed_ns;    /* FAILED: when (CLOCK_MONOTONIC) */
	unsigned commit_tries; /* commits that ended (stored or failed); lock */
	struct stat root_st;  /* the version directory, for COMMITTED */
	/* COMMITTED: immutable once set */
	struct ck_version v;
	struct ck_entry *es;
	size_t n;
	struct ckfs_ver *next; /* fs->vers */
};

struct ckfs_node {
	uint64_t ino;
	uint64_t nlookup;	  /* lookups the kernel holds; lock */
	unsigned nchild;	  /* nodes whose parent this is; lock */
	unsigned busy;		  /* requests in flight on it; lock */
	bool hashed;		  /* in the name table; lock */
	struct ckfs_node *parent; /* NULL for the root; lock */
	char *name;		  /* lock */
	enum ckfs_kind kind;
	bool flat;			 /* CKFS_CTR */
	char ctr[CK_NAME_MAX + 1];	 /* CKFS_CTR */
	struct ckfs_ver *ver;		 /* CKFS_ENT (counted) */
	bool vroot;			 /* CKFS_ENT: the version directory */
	struct ckfs_node *next_ino, *next_name;
};

/* Names the backend listed ("<ctr>" and "<ctr>/<version>"): while it
 * is unreachable, a lookup of a known name fails with EIO, of an unknown
 * one with ENOENT, so that a dump can still be made (into the spool). */
#define CKFS_KNOWN_BUCKETS 4096
#define CKFS_KNOWN_MAX 1000000
struct ckfs_known {
	struct ckfs_known *next;
	char name[]; /* NUL-terminated */
};

struct ckfs_opts {
	const char *spool;    /* spool directory */
	unsigned idle_timeout; /* seconds before an idle dump is committed */
	double attr_timeout;  /* for what is being written */
	double ro_timeout;    /* for committed versions */
	unsigned max_read;    /* bytes per READ request; 0: the kernel's */
};

struct ckfs {
	struct ck_backend *b;
	struct ckfs_opts o;
	int spool_fd;	  /* <spool>/, O_PATH directory */
	int data_fd;	  /* <spool>/data/ */
	int lock_fd;	  /* <spool>/lock, flock()ed */
	char *data_path;  /* <spool>/data */
	pthread_mutex_t lock;
	pthread_cond_t cond; /* a version changed state; the committer */
	uint64_t next_ino;   /* lock */
	struct ckfs_node **by_ino, **by_name; /* lock */
	size_t nbuckets, nnodes;	       /* lock */
	struct ckfs_ver *vers;		       /* lock */
	bool stopping;			       /* lock */
	pthread_t committer;
	bool committer_started;
	struct timespec started; /* CLOCK_REALTIME: directory times */
	struct ckfs_known *known[CKFS_KNOWN_BUCKETS]; /* lock */
	size_t nknown;				      /* lock */
};

/* --- fs.c: lifecycle ----------------------------------------------- */

/* Takes ownership of @b. Locks the spool and commits what a previous
 * mount left in it. */
int ckfs_new(struct ck_backend *b, const struct ckfs_opts *o,
	     struct ckfs **ret);
/* Starts the committer thread. */
int ckfs_start(struct ckfs *fs);
/* Stops the committer and commits every version still being written
 * (incomplete unless it holds stats-dump). */
void ckfs_stop(struct ckfs *fs);
struct ckfs *ckfs_free(struct ckfs *fs);

/* --- inode.c: nodes -------------------------------------------------- */

/* Installs @root (zeroed) as inode 1. */
void ckfs_node_root_init(struct ckfs *fs, struct ckfs_node *root);
/* The node of @ino with a reference for the caller's request, or NULL;
 * return it with ckfs_node_put(). */
struct ckfs_node *ckfs_node_get(struct ckfs *fs, uint64_t ino);
void ckfs_node_put(struct ckfs *fs, struct ckfs_node *n);
/* The child @name of @parent, created as described by @tmpl if not
 * hashed yet; adds one kernel lookup. @tmpl->ver is borrowed (the node
 * takes its own count). */
struct ckfs_node *ckfs_node_link(struct ckfs *fs, struct ckfs_node *parent,
				 const char *name,
				 const struct ckfs_node *tmpl);
/* Drops @n kernel lookups (FORGET). */
void ckfs_node_forget(struct ckfs *fs, uint64_t ino, uint64_t n);
/* Unhashes the child @name of @parent (unlink, rmdir, rename target). */
void ckfs_node_unhash(struct ckfs *fs, struct ckfs_node *parent,
		      const char *name);
/* Moves the child @name of @parent to (@np, @nname) (rename). */
int ckfs_node_move(struct ckfs *fs, struct ckfs_node *parent,
		   const char *name, struct ckfs_node *np,
		   const char *nname);
/* The path of @n inside its version into @buf ("" for the version
 * directory); -ENAMETOOLONG if it does not fit. Takes fs->lock. */
int ckfs_node_path(struct ckfs *fs, const struct ckfs_node *n, char *buf,
		   size_t cap);
/* The same for child @name of @n. */
int ckfs_node_child_path(struct ckfs *fs, const struct ckfs_node *n,
			 const char *name, char *buf, size_t cap);

/* --- ver.c: versions ------------------------------------------------ */

/* The version @name of @ctr in view @flat, counted; return it with
 * ckfs_ver_put(). -ENOENT if it does not exist. */
int ckfs_ver_find(struct ckfs *fs, const char *ctr, const char *name,
		  bool flat, struct ckfs_ver **ret);
void ckfs_ver_put(struct ckfs *fs, struct ckfs_ver *v);
/* The same with fs->lock held. */
void ckfs_ver_put_locked(struct ckfs *fs, struct ckfs_ver *v);
void ckfs_ver_get(struct ckfs *fs, struct ckfs_ver *v);
/* Whether a version @ctr/@name is being written (not yet committed). */
bool ckfs_ver_writing(struct ckfs *fs, const char *ctr, const char *name);
/* Creates version @name of @ctr: mkdir in the spool. Counted. */
int ckfs_ver_create(struct ckfs *fs, const char *ctr, const char *name,
		    mode_t mode, uid_t uid, gid_t gid,
		    struct ckfs_ver **ret);
/* Removes a version being written whose spool directory is empty. */
int ckfs_ver_remove(struct ckfs *fs, struct ckfs_ver *v);
/* The committed entry at @path, or NULL. Borrowed while @v is counted. */
const struct ck_entry *ckfs_ver_entry(const struct ckfs_ver *v,
				      const char *path);
/* Write accounting: a write handle was opened / closed (@stats: it was
 * the version's stats-dump); activity resets the idle timer. */
int ckfs_ver_writer_open(struct ckfs *fs, struct ckfs_ver *v);
void ckfs_ver_writer_close(struct ckfs *fs, struct ckfs_ver *v, bool stats);
void ckfs_ver_touch(struct ckfs *fs, struct ckfs_ver *v);
/* stats-dump appeared by rename: seal once no write handle is open. */
void ckfs_ver_stats_renamed(struct ckfs *fs, struct ckfs_ver *v);
/* close() of a written stats-dump (FLUSH): fsyncdir waits for the
 * commit from now on. */
void ckfs_ver_stats_flushed(struct ckfs *fs, struct ckfs_ver *v);
/* Waits until @v has left SEALED; returns its commit error or 0. */
int ckfs_ver_wait(struct ckfs *fs, struct ckfs_ver *v);
/* Converts entry @e of committed version @v into a stat. */
void ckfs_ver_entry_stat(const struct ckfs *fs, const struct ckfs_ver *v,
			 const struct ck_entry *e, uint64_t ino,
			 struct stat *st);

/* Containers being written to that the backend does not know yet (made
 * by mkdir at the root): their spool directories. */
int ckfs_ctr_create(struct ckfs *fs, const char *ctr, mode_t mode);
int ckfs_ctr_remove(struct ckfs *fs, const char *ctr);
bool ckfs_ctr_spooled(struct ckfs *fs, const char *ctr);

/* Records that the backend listed @ctr (and its version @name, if not
 * NULL); whether it did. */
void ckfs_known_add(struct ckfs *fs, const char *ctr, const char *name);
bool ckfs_known(struct ckfs *fs, const char *ctr, const char *name);

/* The committer thread's loop (ver.c). */
void *ckfs_committer(void *arg);
/* Commits every version in WRITING (at unmount). */
void ckfs_commit_all(struct ckfs *fs);
/* Commits what a previous mount left in the spool (at start). */
int ckfs_recover(struct ckfs *fs);

/* --- ops.c ----------------------------------------------------------- */

struct fuse_lowlevel_ops;
extern const struct fuse_lowlevel_ops ckfs_ops;

int64_t ckfs_now_ns(void);
