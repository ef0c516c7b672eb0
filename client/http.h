/* SPDX-License-Identifier: MIT */
/*
 * http.h - the HTTP client of ckstore: libcurl behind a few calls.
 * http.c is the only file that includes <curl/curl.h>.
 *
 * A struct ck_http is one server (base URL, bearer token, optional CA
 * file) with one keep-alive connection. ck_http_do() runs one request
 * and collects its response in a bounded buffer; ck_http_get_many()
 * streams several GETs (whole files or byte ranges) at once over a few
 * connections, handing each transfer's bytes to its sink in order.
 *
 * Errors: -errno for transport failures (-ECONNREFUSED, -EHOSTUNREACH,
 * -ETIMEDOUT, -EPROTO for TLS and protocol errors, -ECONNRESET), with
 * curl's text in the response's error field; an HTTP status is not an
 * error here (callers look at status and the server's JSON message).
 * Transfers count the bytes they move (ck_http_bytes_sent()), request
 * and response headers included, so callers can report what crossed the
 * wire.
 *
 * Threads: a struct ck_http belongs to one thread at a time; use
 * ck_http_clone() for another thread. ck_http_global_init() must run
 * once before any thread starts.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct ck_http;

void ck_http_global_init(void);

/* @base: "http://host:port" (a trailing '/' is ignored); @token, @cacert
 * may be NULL. */
int ck_http_new(const char *base, const char *token, const char *cacert,
		struct ck_http **ret);
int ck_http_clone(const struct ck_http *h, struct ck_http **ret);
struct ck_http *ck_http_free(struct ck_http *h);
const char *ck_http_base(const struct ck_http *h);

struct ck_http_resp {
	long status;	/* 0 if no response */
	char *body;	/* malloc()ed, NUL-terminated; may be NULL */
	size_t len;
	char error[512]; /* the server's "message", or the transport error */
	char code[64];	 /* the server's "error" code, if any */
	int64_t missing; /* X-Ck-Missing, -1 if absent */
	char type[16];	 /* X-Ck-Type, "" if absent */
};

void ck_http_resp_release(struct ck_http_resp *r);

struct ck_http_req {
	const char *method; /* "GET", "POST", "PUT", "DELETE" */
	const char *path;   /* from the base, already escaped */
	const void *body;   /* may be NULL */
	size_t len;
	const char *ctype;    /* body's Content-Type */
	uint64_t raw_len;     /* with zstd: X-Ck-Raw-Length */
	bool zstd;	      /* body is zstd (Content-Encoding) */
	size_t max_response;  /* bound on the collected body (0: 64 MiB) */
};

/* Runs one request; *r must be released. Returns 0 when a response came
 * (whatever its status), -errno for a transport failure. */
int ck_http_do(struct ck_http *h, const struct ck_http_req *q,
	       struct ck_http_resp *r);

/* Receives the bytes of one transfer in order; returns 0 or -errno to
 * abort every transfer. */
typedef int (*ck_http_sink)(void *ud, const void *data, size_t len);

struct ck_http_get {
	const char *path;
	uint64_t off, len; /* len 0: the whole file, no Range */
	ck_http_sink sink;
	void *ud;
	/* out */
	long status;
	char type[16];
	char error[256];
};

/* Runs @n GETs, at most @parallel at a time. 0 if all succeeded (status
 * 200, or 206 for ranges); the first failure otherwise (-EPROTO for an
 * unexpected status, whose job keeps its status and error). */
int ck_http_get_many(struct ck_http *h, struct ck_http_get *v, size_t n,
		     unsigned parallel);

/* Totals of everything this handle (and its get_many) moved. */
uint64_t ck_http_bytes_sent(const struct ck_http *h);
uint64_t ck_http_bytes_received(const struct ck_http *h);

/* Percent-encodes @s into @buf (capacity @cap): everything but
 * A-Z a-z 0-9 - . _ ~, and '/' if @keep_slash. -ENAMETOOLONG if it does
 * not fit. */
int ck_http_escape(const char *s, bool keep_slash, char *buf, size_t cap);
