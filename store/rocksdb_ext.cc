// SPDX-License-Identifier: MIT
#include <cstdlib>
#include <cstring>
#include <vector>

#include <rocksdb/db.h>

#include "rocksdb_ext.h"

// The C API's handles wrap one pointer each (rocksdb/db/c.cc); their
// layout has not changed since the C API exists.
struct rocksdb_t {
	rocksdb::DB *rep;
};
struct rocksdb_column_family_handle_t {
	rocksdb::ColumnFamilyHandle *rep;
};

// 0 for an ok @s, else -1 with its message malloc()ed in *errptr (NULL
// if that fails), as the C API reports errors.
static int status_result(const rocksdb::Status &s, char **errptr)
{
	if (s.ok())
		return 0;
	*errptr = strdup(s.ToString().c_str());
	return -1;
}

extern "C" int ck_rocksdb_flush_cfs(rocksdb_t *db,
				    rocksdb_column_family_handle_t **cfs,
				    size_t n, char **errptr)
{
	std::vector<rocksdb::ColumnFamilyHandle *> v;
	rocksdb::FlushOptions fo;

	for (size_t i = 0; i < n; i++)
		v.push_back(cfs[i]->rep);
	fo.wait = true;
	return status_result(db->rep->Flush(fo, v), errptr);
}

extern "C" int ck_rocksdb_resume(rocksdb_t *db, char **errptr)
{
	return status_result(db->rep->Resume(), errptr);
}
