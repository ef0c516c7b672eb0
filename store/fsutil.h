/* SPDX-License-Identifier: MIT */
/*
 * fsutil.h - small file-system helpers with negative-errno returns.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* Creates directory @path, or accepts an existing empty one. */
int ck_mkdir_empty(const char *path);
/* fsync()s @path (a file or directory). */
int ck_fsync_path(const char *path);
/* Bytes of the files under @path (apparent sizes, like du -sb). */
int ck_du(const char *path, uint64_t *ret);
int ck_write_all(int fd, const void *buf, size_t n);
int ck_pwrite_all(int fd, const void *buf, size_t n, off_t off);
/* Reads exactly @n bytes at @off; -EIO on a short file. */
int ck_pread_all(int fd, void *buf, size_t n, off_t off);
/* Reads a whole small file (at most @max bytes). Caller frees *ret. */
int ck_read_file(const char *path, size_t max, void **ret, size_t *ret_len);
