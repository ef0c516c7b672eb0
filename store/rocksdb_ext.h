/* SPDX-License-Identifier: MIT */
/*
 * rocksdb_ext.h - what ckstore needs from RocksDB's C++ API that the C
 * API of RocksDB 7.8 (Debian 12) does not offer. rocksdb_ext.cc is the
 * project's only C++; catalog.c its only user.
 */
#pragma once

#include <stddef.h>

#include <rocksdb/c.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Flushes the memtables of @n column families and waits, as one job
 * when the database was opened with atomic_flush (one MANIFEST record,
 * one set of fsyncs). 0, or -1 with a malloc()ed message in *errptr. */
int ck_rocksdb_flush_cfs(rocksdb_t *db, rocksdb_column_family_handle_t **cfs,
			 size_t n, char **errptr);

/* Clears a background error (a write or flush that failed, e.g. on a
 * full disk) if its cause is gone: RocksDB flushes what it holds and
 * accepts writes again (DB::Resume()). 0, or -1 with a malloc()ed
 * message in *errptr. */
int ck_rocksdb_resume(rocksdb_t *db, char **errptr);

#ifdef __cplusplus
}
#endif
