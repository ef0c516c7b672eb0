/* SPDX-License-Identifier: MIT */
/*
 * libarchive.h - libarchive, loaded with dlopen() when a checkpoint
 * archive is first imported or exported, not linked.
 *
 * Linked, libarchive and what it depends on (libxml2, ICU, libstdc++,
 * nettle, lzma, ...) cost every ckstore command ~3 ms of dynamic
 * relocation at start-up, whether it touches an archive or not (an empty
 * main() linking it starts in 4.2 ms instead of 1.1 ms). Only
 * `ckstore import` and `ckstore export` use it (store/ckarchive.c, the
 * one file that includes this header); the same way client/http.c loads
 * libcurl (docs/decisions.md, D9).
 *
 * After ck_libarchive_load() has returned 0, the library's functions are
 * called by their usual names: the macros below route them through the
 * table of loaded symbols. CKSTORE_LIBARCHIVE names another build of the
 * library (a path or a soname).
 */
#pragma once

#include <archive.h>
#include <archive_entry.h>

#define CK_LIBARCHIVE_SONAME "libarchive.so.13"

#define CK_LIBARCHIVE_FUNCS(X) \
	X(archive_entry_atime) \
	X(archive_entry_atime_is_set) \
	X(archive_entry_atime_nsec) \
	X(archive_entry_ctime) \
	X(archive_entry_ctime_is_set) \
	X(archive_entry_ctime_nsec) \
	X(archive_entry_filetype) \
	X(archive_entry_free) \
	X(archive_entry_gid) \
	X(archive_entry_gname_utf8) \
	X(archive_entry_hardlink) \
	X(archive_entry_hardlink_utf8) \
	X(archive_entry_mtime) \
	X(archive_entry_mtime_is_set) \
	X(archive_entry_mtime_nsec) \
	X(archive_entry_new) \
	X(archive_entry_pathname_utf8) \
	X(archive_entry_perm) \
	X(archive_entry_set_atime) \
	X(archive_entry_set_ctime) \
	X(archive_entry_set_filetype) \
	X(archive_entry_set_gid) \
	X(archive_entry_set_gname_utf8) \
	X(archive_entry_set_mtime) \
	X(archive_entry_set_pathname_utf8) \
	X(archive_entry_set_perm) \
	X(archive_entry_set_size) \
	X(archive_entry_set_symlink_utf8) \
	X(archive_entry_set_uid) \
	X(archive_entry_set_uname_utf8) \
	X(archive_entry_size) \
	X(archive_entry_symlink_utf8) \
	X(archive_entry_uid) \
	X(archive_entry_uname_utf8) \
	X(archive_entry_xattr_add_entry) \
	X(archive_entry_xattr_next) \
	X(archive_entry_xattr_reset) \
	X(archive_errno) \
	X(archive_error_string) \
	X(archive_filter_code) \
	X(archive_format) \
	X(archive_read_data_block) \
	X(archive_read_free) \
	X(archive_read_new) \
	X(archive_read_next_header) \
	X(archive_read_open_fd) \
	X(archive_read_support_filter_gzip) \
	X(archive_read_support_filter_zstd) \
	X(archive_read_support_format_tar) \
	X(archive_write_add_filter_gzip) \
	X(archive_write_add_filter_none) \
	X(archive_write_add_filter_zstd) \
	X(archive_write_close) \
	X(archive_write_data) \
	X(archive_write_free) \
	X(archive_write_header) \
	X(archive_write_new) \
	X(archive_write_open_fd) \
	X(archive_write_set_bytes_in_last_block) \
	X(archive_write_set_format_gnutar) \
	X(archive_write_set_format_option) \
	X(archive_write_set_format_pax) \
	X(archive_write_set_format_pax_restricted) \
	X(archive_write_set_format_v7tar)

#define CK_LIBARCHIVE_PTR(f) __typeof__(f) *f;
struct ck_libarchive {
	CK_LIBARCHIVE_FUNCS(CK_LIBARCHIVE_PTR)
};
extern struct ck_libarchive ck_libarchive;

/* Loads the library once (thread-safe). 0, or -ELIBACC (not installed)
 * or -ELIBBAD (lacks a function), with the reason logged. */
int ck_libarchive_load(void);

#ifndef CK_LIBARCHIVE_TABLE
#define archive_entry_atime ck_libarchive.archive_entry_atime
#define archive_entry_atime_is_set ck_libarchive.archive_entry_atime_is_set
#define archive_entry_atime_nsec ck_libarchive.archive_entry_atime_nsec
#define archive_entry_ctime ck_libarchive.archive_entry_ctime
#define archive_entry_ctime_is_set ck_libarchive.archive_entry_ctime_is_set
#define archive_entry_ctime_nsec ck_libarchive.archive_entry_ctime_nsec
#define archive_entry_filetype ck_libarchive.archive_entry_filetype
#define archive_entry_free ck_libarchive.archive_entry_free
#define archive_entry_gid ck_libarchive.archive_entry_gid
#define archive_entry_gname_utf8 ck_libarchive.archive_entry_gname_utf8
#define archive_entry_hardlink ck_libarchive.archive_entry_hardlink
#define archive_entry_hardlink_utf8 ck_libarchive.archive_entry_hardlink_utf8
#define archive_entry_mtime ck_libarchive.archive_entry_mtime
#define archive_entry_mtime_is_set ck_libarchive.archive_entry_mtime_is_set
#define archive_entry_mtime_nsec ck_libarchive.archive_entry_mtime_nsec
#define archive_entry_new ck_libarchive.archive_entry_new
#define archive_entry_pathname_utf8 ck_libarchive.archive_entry_pathname_utf8
#define archive_entry_perm ck_libarchive.archive_entry_perm
#define archive_entry_set_atime ck_libarchive.archive_entry_set_atime
#define archive_entry_set_ctime ck_libarchive.archive_entry_set_ctime
#define archive_entry_set_filetype ck_libarchive.archive_entry_set_filetype
#define archive_entry_set_gid ck_libarchive.archive_entry_set_gid
#define archive_entry_set_gname_utf8 ck_libarchive.archive_entry_set_gname_utf8
#define archive_entry_set_mtime ck_libarchive.archive_entry_set_mtime
#define archive_entry_set_pathname_utf8 ck_libarchive.archive_entry_set_pathname_utf8
#define archive_entry_set_perm ck_libarchive.archive_entry_set_perm
#define archive_entry_set_size ck_libarchive.archive_entry_set_size
#define archive_entry_set_symlink_utf8 ck_libarchive.archive_entry_set_symlink_utf8
#define archive_entry_set_uid ck_libarchive.archive_entry_set_uid
#define archive_entry_set_uname_utf8 ck_libarchive.archive_entry_set_uname_utf8
#define archive_entry_size ck_libarchive.archive_entry_size
#define archive_entry_symlink_utf8 ck_libarchive.archive_entry_symlink_utf8
#define archive_entry_uid ck_libarchive.archive_entry_uid
#define archive_entry_uname_utf8 ck_libarchive.archive_entry_uname_utf8
#define archive_entry_xattr_add_entry ck_libarchive.archive_entry_xattr_add_entry
#define archive_entry_xattr_next ck_libarchive.archive_entry_xattr_next
#define archive_entry_xattr_reset ck_libarchive.archive_entry_xattr_reset
#define archive_errno ck_libarchive.archive_errno
#define archive_error_string ck_libarchive.archive_error_string
#define archive_filter_code ck_libarchive.archive_filter_code
#define archive_format ck_libarchive.archive_format
#define archive_read_data_block ck_libarchive.archive_read_data_block
#define archive_read_free ck_libarchive.archive_read_free
#define archive_read_new ck_libarchive.archive_read_new
#define archive_read_next_header ck_libarchive.archive_read_next_header
#define archive_read_open_fd ck_libarchive.archive_read_open_fd
#define archive_read_support_filter_gzip ck_libarchive.archive_read_support_filter_gzip
#define archive_read_support_filter_zstd ck_libarchive.archive_read_support_filter_zstd
#define archive_read_support_format_tar ck_libarchive.archive_read_support_format_tar
#define archive_write_add_filter_gzip ck_libarchive.archive_write_add_filter_gzip
#define archive_write_add_filter_none ck_libarchive.archive_write_add_filter_none
#define archive_write_add_filter_zstd ck_libarchive.archive_write_add_filter_zstd
#define archive_write_close ck_libarchive.archive_write_close
#define archive_write_data ck_libarchive.archive_write_data
#define archive_write_free ck_libarchive.archive_write_free
#define archive_write_header ck_libarchive.archive_write_header
#define archive_write_new ck_libarchive.archive_write_new
#define archive_write_open_fd ck_libarchive.archive_write_open_fd
#define archive_write_set_bytes_in_last_block ck_libarchive.archive_write_set_bytes_in_last_block
#define archive_write_set_format_gnutar ck_libarchive.archive_write_set_format_gnutar
#define archive_write_set_format_option ck_libarchive.archive_write_set_format_option
#define archive_write_set_format_pax ck_libarchive.archive_write_set_format_pax
#define archive_write_set_format_pax_restricted ck_libarchive.archive_write_set_format_pax_restricted
#define archive_write_set_format_v7tar ck_libarchive.archive_write_set_format_v7tar
#endif
