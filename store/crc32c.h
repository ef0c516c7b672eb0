/* SPDX-License-Identifier: MIT */
/*
 * crc32c.h - CRC-32C (Castagnoli), the checksum RocksDB puts on every
 * write-ahead log record, table block and blob record.
 *
 * Debian builds librocksdb.a portable: without SSE4.2 at compile time its
 * rocksdb::crc32c::Extend() always takes the table-driven path, even on
 * CPUs that have the crc32 instruction. That was the largest single cost
 * of ingest: 12 % of the CPU of pushing churn-direct version by version
 * (`perf record`, ahead of zstd's compressor), because every chunk record
 * is checksummed in the log, again in its blob file, and the tables again
 * at every compaction. The static build therefore links RocksDB with
 * `ld --wrap` of that function (CMakeLists.txt): its calls land in
 * ck_crc32c(), which uses the instruction when the CPU has it and a table
 * otherwise, and computes the same values (test-crc32c checks both paths
 * against the standard's test vectors and each other).
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* The CRC-32C of @len bytes at @buf, continuing from @crc (the CRC of
 * what came before; 0 to start), as RocksDB's crc32c::Extend(). */
uint32_t ck_crc32c(uint32_t crc, const void *buf, size_t len);

/* The same without the crc32 instruction (for tests). */
uint32_t ck_crc32c_portable(uint32_t crc, const void *buf, size_t len);

/* Whether ck_crc32c() uses the crc32 instruction on this CPU. */
int ck_crc32c_hw(void);
