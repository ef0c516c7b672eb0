/* SPDX-License-Identifier: MIT */
/*
 * http.c - the only file that includes <microhttpd.h> (see http.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "log.h"

#define MAX_HEADERS 16
#define STREAM_BLOCK (256u << 10)
#define CONN_MEMORY (1u << 20)

struct ck_http_server {
	struct MHD_Daemon *d;
	struct ck_http_ops ops;
	void *ud;
	bool quiesced;
};

struct hdr {
	char *name, *value;
};

struct ck_http_req {
	struct ck_http_server *srv;
	struct MHD_Connection *conn;
	char *uri;
	bool uri_too_long;
	enum ck_http_method method;
	char method_name[16];
	bool begun, responded, queue_failed, overflow;
	size_t limit;
	uint8_t *body;
	size_t len, cap;
	uint64_t received, sent;
	void *data;
	unsigned status;
	struct hdr hdrs[MAX_HEADERS];
	size_t nhdrs;
	uint64_t t0;
	char peer[INET6_ADDRSTRLEN + 1];
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* --- the errno table --------------------------------------------------- */

static const struct {
	int err;
	unsigned status;
	const char *code;
} errno_table[] = {
	{ 0, MHD_HTTP_OK, "ok" },
	{ -EINVAL, MHD_HTTP_BAD_REQUEST, "bad_request" },
	{ -EPROTO, MHD_HTTP_BAD_REQUEST, "bad_request" },
	{ -ENAMETOOLONG, MHD_HTTP_BAD_REQUEST, "bad_request" },
	{ -ENOTDIR, MHD_HTTP_BAD_REQUEST, "bad_request" },
	{ -EISDIR, MHD_HTTP_BAD_REQUEST, "bad_request" },
	{ -EMEDIUMTYPE, MHD_HTTP_BAD_REQUEST, "bad_request" },
	{ -EACCES, MHD_HTTP_UNAUTHORIZED, "unauthorized" },
	{ -EPERM, MHD_HTTP_FORBIDDEN, "forbidden" },
	{ -ENOENT, MHD_HTTP_NOT_FOUND, "not_found" },
	{ -ETIMEDOUT, MHD_HTTP_REQUEST_TIMEOUT, "timeout" },
	{ -EEXIST, MHD_HTTP_CONFLICT, "conflict" },
	{ -EBUSY, MHD_HTTP_CONFLICT, "busy" },
	{ -EAGAIN, MHD_HTTP_CONFLICT, "retry" },
	{ -ENOLINK, MHD_HTTP_CONFLICT, "broken_chain" },
	{ -E2BIG, MHD_HTTP_CONTENT_TOO_LARGE, "too_large" },
	{ -EFBIG, MHD_HTTP_CONTENT_TOO_LARGE, "too_large" },
	{ -EMSGSIZE, MHD_HTTP_CONTENT_TOO_LARGE, "too_large" },
	{ -ERANGE, MHD_HTTP_RANGE_NOT_SATISFIABLE, "range_not_satisfiable" },
	{ -EILSEQ, MHD_HTTP_UNPROCESSABLE_CONTENT, "chunk_mismatch" },
	{ -EUSERS, MHD_HTTP_TOO_MANY_REQUESTS, "too_many_uploads" },
	{ -EBADMSG, MHD_HTTP_INTERNAL_SERVER_ERROR, "corrupt" },
	{ -EOPNOTSUPP, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented" },
	{ -ENOSYS, MHD_HTTP_NOT_IMPLEMENTED, "not_implemented" },
	{ -ESHUTDOWN, MHD_HTTP_SERVICE_UNAVAILABLE, "shutting_down" },
	{ -EROFS, MHD_HTTP_SERVICE_UNAVAILABLE, "read_only" },
	{ -ENOSPC, MHD_HTTP_INSUFFICIENT_STORAGE, "insufficient_storage" },
};

unsigned ck_http_errno_status(int r)
{
	for (size_t i = 0; i < sizeof(errno_table) / sizeof(*errno_table); i++)
		if (errno_table[i].err == r)
			return errno_table[i].status;
	return MHD_HTTP_INTERNAL_SERVER_ERROR;
}

const char *ck_http_errno_code(int r)
{
	for (size_t i = 0; i < sizeof(errno_table) / sizeof(*errno_table); i++)
		if (errno_table[i].err == r)
			return errno_table[i].code;
	return "internal";
}

/* --- requests ------------------------------------------------------------ */

static struct ck_http_req *req_new(struct ck_http_server *s,
				   struct MHD_Connection *c, const char *uri)
{
	struct ck_http_req *req = calloc(1, sizeof(*req));
	size_t n = strlen(uri);
	const union MHD_ConnectionInfo *ci;

	if (!req)
		return NULL;
	req->srv = s;
	req->conn = c;
	req->t0 = now_ns();
	if (n > CK_HTTP_URI_MAX) {
		req->uri_too_long = true;
		n = 0;
	}
	req->uri = malloc(n + 1);
	if (!req->uri) {
		free(req);
		return NULL;
	}
	memcpy(req->uri, uri, n);
	req->uri[n] = 0;
	ci = MHD_get_connection_info(c, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	if (ci && ci->client_addr) {
		const struct sockaddr *sa = ci->client_addr;

		if (sa->sa_family == AF_INET)
			inet_ntop(AF_INET,
				  &((const struct sockaddr_in *)(const void *)sa)
					   ->sin_addr,
				  req->peer, sizeof(req->peer));
		else if (sa->sa_family == AF_INET6)
			inet_ntop(AF_INET6,
				  &((const struct sockaddr_in6 *)(const void *)
					    sa)
					   ->sin6_addr,
				  req->peer, sizeof(req->peer));
	}
	return req;
}

static void req_free(struct ck_http_req *req)
{
	for (size_t i = 0; i < req->nhdrs; i++) {
		free(req->hdrs[i].name);
		free(req->hdrs[i].value);
	}
	free(req->body);
	free(req->uri);
	free(req);
}

enum ck_http_method ck_http_method(const struct ck_http_req *req)
{
	return req->method;
}

const char *ck_http_method_name(const struct ck_http_req *req)
{
	return req->method_name;
}

const char *ck_http_uri(const struct ck_http_req *req)
{
	return req->uri;
}

const char *ck_http_header(struct ck_http_req *req, const char *name)
{
	return MHD_lookup_connection_value(req->conn, MHD_HEADER_KIND, name);
}

const char *ck_http_peer(struct ck_http_req *req)
{
	return req->peer[0] ? req->peer : "?";
}

void ck_http_set_body_limit(struct ck_http_req *req, size_t limit)
{
	req->limit = limit;
}

const void *ck_http_body(const struct ck_http_req *req, size_t *len)
{
	*len = req->len;
	return req->body ? (const void *)req->body : (const void *)"";
}

void ck_http_set_data(struct ck_http_req *req, void *data)
{
	req->data = data;
}

void *ck_http_data(const struct ck_http_req *req)
{
	return req->data;
}

unsigned ck_http_status(const struct ck_http_req *req)
{
	return req->status;
}

uint64_t ck_http_bytes_sent(const struct ck_http_req *req)
{
	return req->sent;
}

uint64_t ck_http_bytes_received(const struct ck_http_req *req)
{
	return req->received;
}

uint64_t ck_http_elapsed_ns(const struct ck_http_req *req)
{
	return now_ns() - req->t0;
}

/* --- responses ------------------------------------------------------------ */

int ck_http_add_header(struct ck_http_req *req, const char *name,
		       const char *value)
{
	struct hdr *h;

	if (req->nhdrs == MAX_HEADERS)
		return -E2BIG;
	h = &req->hdrs[req->nhdrs];
	h->name = strdup(name);
	h->value = strdup(value);
	if (!h->name || !h->value) {
		free(h->name);
		free(h->value);
		return -ENOMEM;
	}
	req->nhdrs++;
	return 0;
}

bool ck_http_responded(const struct ck_http_req *req)
{
	return req->responded;
}

/* Queues @resp (consumed) with the pending headers. */
static int queue(struct ck_http_req *req, unsigned status,
		 struct MHD_Response *resp, const char *ctype)
{
	enum MHD_Result ok;

	if (!resp) {
		req->responded = true;
		req->queue_failed = true;
		return -ENOMEM;
	}
	if (ctype)
		MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
					ctype);
	for (size_t i = 0; i < req->nhdrs; i++)
		MHD_add_response_header(resp, req->hdrs[i].name,
					req->hdrs[i].value);
	ok = MHD_queue_response(req->conn, status, resp);
	MHD_destroy_response(resp);
	req->responded = true;
	req->status = status;
	if (ok != MHD_YES) {
		req->queue_failed = true;
		return -EIO;
	}
	return 0;
}

int ck_http_respond_data(struct ck_http_req *req, unsigned status,
			 const char *ctype, void *data, size_t len)
{
	struct MHD_Response *resp;

	if (req->responded) {
		free(data);
		return -EALREADY;
	}
	resp = MHD_create_response_from_buffer_with_free_callback(len, data,
								 free);
	if (!resp)
		free(data);
	if (req->method != CK_HTTP_HEAD)
		req->sent += len;
	return queue(req, status, resp, ctype);
}

int ck_http_respond_empty(struct ck_http_req *req, unsigned status)
{
	if (req->responded)
		return -EALREADY;
	return queue(req, status,
		     MHD_create_response_from_buffer(0, (void *)"",
						     MHD_RESPMEM_PERSISTENT),
		     NULL);
}

int ck_http_respond_json(struct ck_http_req *req, unsigned status,
			 json_t *o)
{
	char *s;

	if (!o)
		return ck_http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
					     "internal", "out of memory");
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (!s)
		return ck_http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
					     "internal", "out of memory");
	return ck_http_respond_data(req, status, "application/json", s,
				    strlen(s));
}

static int respond_verror(struct ck_http_req *req, unsigned status,
			  const char *code, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (status == MHD_HTTP_UNAUTHORIZED)
		ck_http_add_header(req, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
				   "Bearer realm=\"ckstore\"");
	return ck_http_respond_json(req, status,
				    json_pack("{s:s, s:s}", "error", code,
					      "message", msg));
}

int ck_http_respond_error(struct ck_http_req *req, unsigned status,
			  const char *code, const char *fmt, ...)
{
	va_list ap;
	int q;

	va_start(ap, fmt);
	q = respond_verror(req, status, code, fmt, ap);
	va_end(ap);
	return q;
}

int ck_http_respond_errno(struct ck_http_req *req, int r, const char *fmt,
			  ...)
{
	va_list ap;
	int q;

	va_start(ap, fmt);
	q = respond_verror(req, ck_http_errno_status(r), ck_http_errno_code(r),
			   fmt, ap);
	va_end(ap);
	return q;
}

struct stream {
	struct ck_http_req *req;
	ck_http_reader fn;
	void *ud;
	void (*free_fn)(void *ud);
	bool unknown;
};

static ssize_t stream_read(void *cls, uint64_t pos, char *buf, size_t max)
{
	struct stream *st = cls;
	ssize_t n = st->fn(st->ud, pos, buf, max);

	if (n < 0)
		return MHD_CONTENT_READER_END_WITH_ERROR;
	if (n == 0)
		return st->unknown ? MHD_CONTENT_READER_END_OF_STREAM
				   : MHD_CONTENT_READER_END_WITH_ERROR;
	st->req->sent += (uint64_t)n;
	return n;
}

static void stream_free(void *cls)
{
	struct stream *st = cls;

	if (st->free_fn)
		st->free_fn(st->ud);
	free(st);
}

int ck_http_respond_stream(struct ck_http_req *req, unsigned status,
			   const char *ctype, uint64_t size,
			   ck_http_reader fn, void *ud,
			   void (*free_fn)(void *ud))
{
	struct MHD_Response *resp;
	struct stream *st;

	if (req->responded || !(st = calloc(1, sizeof(*st)))) {
		if (free_fn)
			free_fn(ud);
		return req->responded ? -EALREADY : -ENOMEM;
	}
	st->req = req;
	st->fn = fn;
	st->ud = ud;
	st->free_fn = free_fn;
	st->unknown = size == CK_HTTP_SIZE_UNKNOWN;
	resp = MHD_create_response_from_callback(
		st->unknown ? MHD_SIZE_UNKNOWN : size, STREAM_BLOCK,
		stream_read, st, stream_free);
	if (!resp)
		stream_free(st);
	return queue(req, status, resp, ctype);
}

/* --- libmicrohttpd callbacks ------------------------------------------- */

static enum ck_http_method parse_method(const char *m)
{
	static const struct {
		const char *name;
		enum ck_http_method m;
	} t[] = {
		{ "GET", CK_HTTP_GET },	  { "HEAD", CK_HTTP_HEAD },
		{ "POST", CK_HTTP_POST }, { "PUT", CK_HTTP_PUT },
		{ "DELETE", CK_HTTP_DELETE },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(*t); i++)
		if (!strcmp(m, t[i].name))
			return t[i].m;
	return CK_HTTP_OTHER;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
	return req_new(cls, c, uri);
}

static int body_append(struct ck_http_req *req, const char *p, size_t n)
{
	if (req->len + n + 1 > req->cap) {
		size_t cap = req->cap ? req->cap : 64u << 10;
		void *nb;

		while (cap < req->len + n + 1)
			cap *= 2;
		if (cap > req->limit + 1)
			cap = req->limit + 1;
		nb = realloc(req->body, cap);
		if (!nb)
			return -ENOMEM;
		req->body = nb;
		req->cap = cap;
	}
	memcpy(req->body + req->len, p, n);
	req->len += n;
	req->body[req->len] = 0;
	return 0;
}

static enum MHD_Result on_access(void *cls, struct MHD_Connection *c,
				 const char *url, const char *method,
				 const char *version, const char *upload_data,
				 size_t *upload_data_size, void **con_cls)
{
	struct ck_http_server *s = cls;
	struct ck_http_req *req = *con_cls;

	(void)version;
	if (!req) {
		/* No URI callback ran (it always should): use the decoded
		 * URL, which is the best there is. */
		req = req_new(s, c, url);
		if (!req)
			return MHD_NO;
		*con_cls = req;
	}
	if (!req->begun) {
		const char *cl;

		req->begun = true;
		req->conn = c;
		req->method = parse_method(method);
		snprintf(req->method_name, sizeof(req->method_name), "%s",
			 method);
		if (req->uri_too_long)
			ck_http_respond_error(req, MHD_HTTP_URI_TOO_LONG,
					      "uri_too_long",
					      "request target longer than %u "
					      "bytes",
					      CK_HTTP_URI_MAX);
		else
			s->ops.on_begin(s->ud, req);
		if (req->responded)
			return req->queue_failed ? MHD_NO : MHD_YES;
		cl = MHD_lookup_connection_value(c, MHD_HEADER_KIND,
						 MHD_HTTP_HEADER_CONTENT_LENGTH);
		if (cl && strtoull(cl, NULL, 10) > req->limit) {
			ck_http_respond_error(req, MHD_HTTP_CONTENT_TOO_LARGE,
					      "too_large",
					      "request body of %s bytes is over "
					      "the limit of %zu for this route",
					      cl, req->limit);
			return req->queue_failed ? MHD_NO : MHD_YES;
		}
		if (cl) {
			/* Known length: one allocation. */
			size_t n = (size_t)strtoull(cl, NULL, 10);

			req->body = malloc(n + 1);
			if (!req->body)
				return MHD_NO;
			req->cap = n + 1;
			req->body[0] = 0;
		}
		return MHD_YES;
	}
	if (*upload_data_size) {
		size_t n = *upload_data_size;

		*upload_data_size = 0;
		req->received += n;
		if (req->responded)
			return MHD_YES;
		if (req->overflow || req->len + n > req->limit) {
			req->overflow = true;
			/* Past twice the limit, stop listening. */
			return req->received > 2 * (uint64_t)req->limit +
						       (1u << 20)
				       ? MHD_NO
				       : MHD_YES;
		}
		return body_append(req, upload_data, n) < 0 ? MHD_NO : MHD_YES;
	}
	if (req->responded)
		return req->queue_failed ? MHD_NO : MHD_YES;
	if (req->overflow)
		ck_http_respond_error(req, MHD_HTTP_CONTENT_TOO_LARGE,
				      "too_large",
				      "request body is over the limit of %zu "
				      "bytes for this route",
				      req->limit);
	else
		s->ops.on_body(s->ud, req);
	if (!req->responded)
		ck_http_respond_error(req, MHD_HTTP_INTERNAL_SERVER_ERROR,
				      "internal", "the handler gave no answer");
	return req->queue_failed ? MHD_NO : MHD_YES;
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	struct ck_http_server *s = cls;
	struct ck_http_req *req = *con_cls;

	(void)c;
	if (!req)
		return;
	if (req->begun)
		s->ops.on_end(s->ud, req,
			      toe == MHD_REQUEST_TERMINATED_COMPLETED_OK);
	req_free(req);
	*con_cls = NULL;
}

static void on_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char msg[512];
	size_t n;

	(void)cls;
	vsnprintf(msg, sizeof(msg), fmt, ap);
	n = strlen(msg);
	while (n > 0 && msg[n - 1] == '\n')
		msg[--n] = 0;
	ck_log_debug("libmicrohttpd: %s", msg);
}

bool ck_http_tls_supported(void)
{
	return MHD_is_feature_supported(MHD_FEATURE_TLS) == MHD_YES;
}

int ck_http_start(const struct ck_http_opts *o, const struct ck_http_ops *ops,
		  void *ud, struct ck_http_server **ret)
{
	struct ck_http_server *s;
	struct sockaddr_in sin;
	struct sockaddr_in6 sin6;
	struct sockaddr *sa;
	/* poll(), not select(): with a raised descriptor limit, the
	 * repository's open files push sockets past FD_SETSIZE. */
	unsigned flags = MHD_USE_THREAD_PER_CONNECTION |
			 MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
			 MHD_USE_ITC | MHD_USE_ERROR_LOG;

	memset(&sin, 0, sizeof(sin));
	memset(&sin6, 0, sizeof(sin6));
	if (o->port > 65535)
		return -EINVAL;
	if (inet_pton(AF_INET, o->listen, &sin.sin_addr) == 1) {
		sin.sin_family = AF_INET;
		sin.sin_port = htons((uint16_t)o->port);
		sa = (struct sockaddr *)&sin;
	} else if (inet_pton(AF_INET6, o->listen, &sin6.sin6_addr) == 1) {
		sin6.sin6_family = AF_INET6;
		sin6.sin6_port = htons((uint16_t)o->port);
		sa = (struct sockaddr *)&sin6;
		flags |= MHD_USE_IPv6;
	} else {
		return -EINVAL;
	}
	if (o->tls_cert_pem) {
		if (!ck_http_tls_supported())
			return -EOPNOTSUPP;
		flags |= MHD_USE_TLS;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->ops = *ops;
	s->ud = ud;
	if (o->tls_cert_pem)
		s->d = MHD_start_daemon(
			flags, 0, NULL, NULL, on_access, s,
			MHD_OPTION_SOCK_ADDR, sa,
			MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
			MHD_OPTION_CONNECTION_TIMEOUT, o->timeout,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
			MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
			MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
			MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
			MHD_OPTION_HTTPS_MEM_KEY, o->tls_key_pem,
			MHD_OPTION_HTTPS_MEM_CERT, o->tls_cert_pem,
			MHD_OPTION_END);
	else
		s->d = MHD_start_daemon(
			flags, 0, NULL, NULL, on_access, s,
			MHD_OPTION_SOCK_ADDR, sa,
			MHD_OPTION_CONNECTION_LIMIT, o->max_connections,
			MHD_OPTION_CONNECTION_TIMEOUT, o->timeout,
			MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)CONN_MEMORY,
			MHD_OPTION_URI_LOG_CALLBACK, on_uri, s,
			MHD_OPTION_NOTIFY_COMPLETED, on_completed, s,
			MHD_OPTION_EXTERNAL_LOGGER, on_mhd_log, s,
			MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u,
			MHD_OPTION_END);
	if (!s->d) {
		int q = errno ? -errno : -EADDRINUSE;

		free(s);
		return q;
	}
	*ret = s;
	return 0;
}

unsigned ck_http_port(struct ck_http_server *s)
{
	const union MHD_DaemonInfo *i =
		MHD_get_daemon_info(s->d, MHD_DAEMON_INFO_BIND_PORT);

	return i ? i->port : 0;
}

void ck_http_quiesce(struct ck_http_server *s)
{
	MHD_socket fd;

	if (s->quiesced)
		return;
	fd = MHD_quiesce_daemon(s->d);
	if (fd != MHD_INVALID_SOCKET)
		close(fd);
	s->quiesced = true;
}

struct ck_http_server *ck_http_stop(struct ck_http_server *s)
{
	if (!s)
		return NULL;
	MHD_stop_daemon(s->d);
	free(s);
	return NULL;
}
