/* SPDX-License-Identifier: MIT */
/*
 * http.h - ckstored's HTTP/1.1 front end: libmicrohttpd behind a small
 * request/response interface. http.c is the only file that includes
 * <microhttpd.h>, and it holds the one errno -> HTTP status table.
 *
 * Threads. One thread per connection (MHD_USE_THREAD_PER_CONNECTION):
 * handlers may block on the repository (read a version, write a chunk
 * batch, run fsck) without stalling other clients. Every callback of one
 * request runs on its connection's thread.
 *
 * A request goes through three calls of struct ck_http_ops:
 *   1. on_begin(req) once the request line and headers are in. The
 *      handler either answers at once (an error, or anything that needs
 *      no body) or sets a body limit with ck_http_set_body_limit();
 *   2. the body is collected into one bounded buffer. A Content-Length
 *      above the limit is answered 413 before a byte of the body is read;
 *      a chunked body that grows past it is answered 413 at its end (or
 *      the connection is closed if it keeps going);
 *   3. on_body(req) once the body is complete, unless step 1 answered.
 * on_end(req, ok) follows once per request, whatever happened (ok is
 * false if the client went away or the response could not be sent), so
 * route state attached with ck_http_set_data() is freed there.
 *
 * URIs. The raw request target (before any percent-decoding) is what
 * ck_http_uri() returns; the router splits and decodes it itself, so it
 * sees "%2F" and "%00" for what they are. Targets longer than
 * CK_HTTP_URI_MAX are answered 414.
 *
 * Responses. Exactly one per request, through one of the
 * ck_http_respond_*() functions, which may only be called from on_begin
 * and on_body. Streams (files, tar archives) are produced by a reader
 * called on the connection's thread as the socket drains.
 *
 * Errors: functions return 0 or -errno; ck_http_respond_errno() maps
 * errno values to statuses (the table is in http.c and in
 * docs/http-api.md).
 */
#pragma once

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CK_HTTP_URI_MAX 8192
#define CK_HTTP_SIZE_UNKNOWN UINT64_MAX

struct ck_http_server;
struct ck_http_req;

enum ck_http_method {
	CK_HTTP_GET,
	CK_HTTP_HEAD,
	CK_HTTP_POST,
	CK_HTTP_PUT,
	CK_HTTP_DELETE,
	CK_HTTP_OTHER,
};

struct ck_http_ops {
	void (*on_begin)(void *ud, struct ck_http_req *req);
	void (*on_body)(void *ud, struct ck_http_req *req);
	void (*on_end)(void *ud, struct ck_http_req *req, bool ok);
};

struct ck_http_opts {
	const char *listen;	 /* IPv4 or IPv6 literal */
	unsigned port;		 /* 0: any free port */
	unsigned max_connections;
	unsigned timeout;	 /* idle seconds before a connection closes */
	const char *tls_cert_pem; /* contents, not paths; NULL: plain HTTP */
	const char *tls_key_pem;
};

int ck_http_start(const struct ck_http_opts *o, const struct ck_http_ops *ops,
		  void *ud, struct ck_http_server **ret);
/* The port actually bound. */
unsigned ck_http_port(struct ck_http_server *s);
/* Stops accepting connections; established ones go on. */
void ck_http_quiesce(struct ck_http_server *s);
/* Closes every connection and frees @s (NULL-safe; returns NULL). */
struct ck_http_server *ck_http_stop(struct ck_http_server *s);
/* Whether the linked libmicrohttpd can do TLS. */
bool ck_http_tls_supported(void);

/* --- the request ------------------------------------------------------ */

enum ck_http_method ck_http_method(const struct ck_http_req *req);
const char *ck_http_method_name(const struct ck_http_req *req);
/* Raw request target: path and query, not decoded. */
const char *ck_http_uri(const struct ck_http_req *req);
/* A request header, or NULL. Borrowed for the request's lifetime. */
const char *ck_http_header(struct ck_http_req *req, const char *name);
/* The client's address as text ("127.0.0.1"). */
const char *ck_http_peer(struct ck_http_req *req);
void ck_http_set_body_limit(struct ck_http_req *req, size_t limit);
/* The collected body (NUL-terminated past *len for JSON parsers). */
const void *ck_http_body(const struct ck_http_req *req, size_t *len);
void ck_http_set_data(struct ck_http_req *req, void *data);
void *ck_http_data(const struct ck_http_req *req);
/* After the response: its status and the body bytes moved. */
unsigned ck_http_status(const struct ck_http_req *req);
uint64_t ck_http_bytes_sent(const struct ck_http_req *req);
uint64_t ck_http_bytes_received(const struct ck_http_req *req);
/* Nanoseconds since the request line arrived. */
uint64_t ck_http_elapsed_ns(const struct ck_http_req *req);

/* --- responses (exactly one per request) ------------------------------ */

/* Adds a header to the coming response (at most 16). @name and @value
 * are copied. */
int ck_http_add_header(struct ck_http_req *req, const char *name,
		       const char *value);
bool ck_http_responded(const struct ck_http_req *req);

/* Takes ownership of @o (NULL: 500). */
int ck_http_respond_json(struct ck_http_req *req, unsigned status,
			 json_t *o);
/* {"error": @code, "message": ...}. */
int ck_http_respond_error(struct ck_http_req *req, unsigned status,
			  const char *code, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Status and code from the errno table, message from @fmt. */
int ck_http_respond_errno(struct ck_http_req *req, int r, const char *fmt,
			  ...) __attribute__((format(printf, 3, 4)));
/* Takes ownership of @data (malloc()ed, freed with free()). */
int ck_http_respond_data(struct ck_http_req *req, unsigned status,
			 const char *ctype, void *data, size_t len);
/* An empty body (204, 304, a HEAD's headers). */
int ck_http_respond_empty(struct ck_http_req *req, unsigned status);

/* Fills up to @max bytes at @buf with the stream's bytes from @pos;
 * returns the count, 0 at the end (streams of unknown size only), or
 * -errno to abort the connection. */
typedef ssize_t (*ck_http_reader)(void *ud, uint64_t pos, char *buf,
				  size_t max);
/* @size: the body's length (CK_HTTP_SIZE_UNKNOWN: chunked). @free_fn
 * (may be NULL) is called on @ud when the response is done with it,
 * also if this call fails. */
int ck_http_respond_stream(struct ck_http_req *req, unsigned status,
			   const char *ctype, uint64_t size,
			   ck_http_reader fn, void *ud,
			   void (*free_fn)(void *ud));

/* The table: HTTP status and short error code for -errno @r. */
unsigned ck_http_errno_status(int r);
const char *ck_http_errno_code(int r);
