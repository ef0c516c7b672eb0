/* SPDX-License-Identifier: MIT */
/*
 * http.c - the only file that includes <curl/curl.h> (see http.h).
 *
 * libcurl is loaded with dlopen() when the first server is contacted,
 * not linked: with its dependencies (TLS, Kerberos, LDAP, IDN, ...) it
 * doubled the start-up of every ckstore command, 8 ms of the 15 ms a
 * local `ckstore versions` takes (docs/decisions.md, D9). Every curl_*
 * call below goes through the table the loader fills.
 */
#define CURL_DISABLE_TYPECHECK
#include <curl/curl.h>
#include <dlfcn.h>
#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"

#define CURL_SONAME "libcurl.so.4"

#define CURL_FUNCS(X)                                                      \
	X(curl_global_init)                                                \
	X(curl_easy_init)                                                  \
	X(curl_easy_setopt)                                                \
	X(curl_easy_perform)                                               \
	X(curl_easy_getinfo)                                               \
	X(curl_easy_reset)                                                 \
	X(curl_easy_cleanup)                                               \
	X(curl_easy_strerror)                                              \
	X(curl_slist_append)                                               \
	X(curl_slist_free_all)                                             \
	X(curl_multi_init)                                                 \
	X(curl_multi_add_handle)                                           \
	X(curl_multi_remove_handle)                                        \
	X(curl_multi_perform)                                              \
	X(curl_multi_poll)                                                 \
	X(curl_multi_info_read)                                            \
	X(curl_multi_cleanup)

#define CURL_PTR(f) __typeof__(f) *f;
static struct {
	CURL_FUNCS(CURL_PTR)
} curl_api;
static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static int curl_load_err;

/* CKSTORE_LIBCURL names another build of libcurl (a path or a soname). */
static void curl_load(void)
{
	static const char *const names[] = { CURL_SONAME,
					     "libcurl-gnutls.so.4" };
	const char *env = getenv("CKSTORE_LIBCURL");
	const char *name = env && *env ? env : names[0];
	void *dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);

	if (!dl && !(env && *env)) {
		name = names[1];
		dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);
	}
	if (!dl) {
		ck_log_error("cannot load libcurl (%s): talking to a server "
			     "needs it; install the libcurl4 package",
			     dlerror());
		curl_load_err = -ELIBACC;
		return;
	}
#define CURL_SYM(f)                                                        \
	if (!(*(void **)&curl_api.f = dlsym(dl, #f))) {                    \
		ck_log_error("%s has no %s: not a libcurl 7.66 or newer",  \
			     name, #f);                                    \
		curl_load_err = -ELIBBAD;                                  \
		return;                                                    \
	}
	CURL_FUNCS(CURL_SYM)
#undef CURL_SYM
	curl_api.curl_global_init(CURL_GLOBAL_DEFAULT);
	/* The library stays loaded until exit. */
}

/* From here on, every libcurl call goes through the loaded table
 * (curl.h makes these two function-like macros of themselves). */
#undef curl_easy_setopt
#undef curl_easy_getinfo
#define curl_easy_init curl_api.curl_easy_init
#define curl_easy_setopt curl_api.curl_easy_setopt
#define curl_easy_perform curl_api.curl_easy_perform
#define curl_easy_getinfo curl_api.curl_easy_getinfo
#define curl_easy_reset curl_api.curl_easy_reset
#define curl_easy_cleanup curl_api.curl_easy_cleanup
#define curl_easy_strerror curl_api.curl_easy_strerror
#define curl_slist_append curl_api.curl_slist_append
#define curl_slist_free_all curl_api.curl_slist_free_all
#define curl_multi_init curl_api.curl_multi_init
#define curl_multi_add_handle curl_api.curl_multi_add_handle
#define curl_multi_remove_handle curl_api.curl_multi_remove_handle
#define curl_multi_perform curl_api.curl_multi_perform
#define curl_multi_poll curl_api.curl_multi_poll
#define curl_multi_info_read curl_api.curl_multi_info_read
#define curl_multi_cleanup curl_api.curl_multi_cleanup

#define MAX_RESPONSE_DEFAULT (64u << 20)
#define MAX_PARALLEL 16
#define RECV_BUFFER (256u << 10)
#define SEND_BUFFER (2u << 20)

struct ck_http {
	char *base, *token, *cacert;
	CURL *easy;
	CURLM *multi;
	CURL *pool[MAX_PARALLEL];
	uint64_t sent, received;
	char errbuf[CURL_ERROR_SIZE];
};

void ck_http_global_init(void)
{
	pthread_once(&curl_once, curl_load);
}

int ck_http_new(const char *base, const char *token, const char *cacert,
		struct ck_http **ret)
{
	struct ck_http *h;
	size_t n = strlen(base);

	if (strncmp(base, "http://", 7) && strncmp(base, "https://", 8))
		return -EINVAL;
	ck_http_global_init();
	if (curl_load_err)
		return curl_load_err;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	while (n > 0 && base[n - 1] == '/')
		n--;
	h->base = strndup(base, n);
	h->token = token && *token ? strdup(token) : NULL;
	h->cacert = cacert && *cacert ? strdup(cacert) : NULL;
	h->easy = curl_easy_init();
	if (!h->base || (token && *token && !h->token) ||
	    (cacert && *cacert && !h->cacert) || !h->easy) {
		ck_http_free(h);
		return -ENOMEM;
	}
	*ret = h;
	return 0;
}

int ck_http_clone(const struct ck_http *h, struct ck_http **ret)
{
	return ck_http_new(h->base, h->token, h->cacert, ret);
}

struct ck_http *ck_http_free(struct ck_http *h)
{
	if (!h)
		return NULL;
	for (unsigned i = 0; i < MAX_PARALLEL; i++)
		if (h->pool[i])
			curl_easy_cleanup(h->pool[i]);
	if (h->multi)
		curl_multi_cleanup(h->multi);
	if (h->easy)
		curl_easy_cleanup(h->easy);
	free(h->base);
	if (h->token)
		explicit_bzero(h->token, strlen(h->token));
	free(h->token);
	free(h->cacert);
	free(h);
	return NULL;
}

const char *ck_http_base(const struct ck_http *h)
{
	return h->base;
}

uint64_t ck_http_bytes_sent(const struct ck_http *h)
{
	return h->sent;
}

uint64_t ck_http_bytes_received(const struct ck_http *h)
{
	return h->received;
}

void ck_http_resp_release(struct ck_http_resp *r)
{
	free(r->body);
	r->body = NULL;
	r->len = 0;
}

int ck_http_escape(const char *s, bool keep_slash, char *buf, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t k = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || c == '-' || c == '.' ||
			     c == '_' || c == '~' || (keep_slash && c == '/');

		if (k + (plain ? 1 : 3) + 1 > cap)
			return -ENAMETOOLONG;
		if (plain) {
			buf[k++] = (char)c;
		} else {
			buf[k++] = '%';
			buf[k++] = hex[c >> 4];
			buf[k++] = hex[c & 15];
		}
	}
	buf[k] = 0;
	return 0;
}

static int curl_errno(CURLcode c)
{
	switch (c) {
	case CURLE_OK:
		return 0;
	case CURLE_COULDNT_CONNECT:
		return -ECONNREFUSED;
	case CURLE_COULDNT_RESOLVE_HOST:
	case CURLE_COULDNT_RESOLVE_PROXY:
		return -EHOSTUNREACH;
	case CURLE_OPERATION_TIMEDOUT:
		return -ETIMEDOUT;
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_HTTP2:
		return -EPROTO;
	case CURLE_SEND_ERROR:
	case CURLE_RECV_ERROR:
	case CURLE_GOT_NOTHING:
	case CURLE_PARTIAL_FILE:
		return -ECONNRESET;
	case CURLE_URL_MALFORMAT:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return -EINVAL;
	case CURLE_OUT_OF_MEMORY:
		return -ENOMEM;
	default:
		return -EIO;
	}
}

/* Options every request gets. */
static struct curl_slist *setup(struct ck_http *h, CURL *c, const char *path,
				struct curl_slist *hdrs)
{
	char url[8192], auth[600];

	snprintf(url, sizeof(url), "%s%s", h->base, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)RECV_BUFFER);
	curl_easy_setopt(c, CURLOPT_UPLOAD_BUFFERSIZE, (long)SEND_BUFFER);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
	if (h->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, h->cacert);
	if (h->token) {
		snprintf(auth, sizeof(auth), "Authorization: Bearer %s",
			 h->token);
		hdrs = curl_slist_append(hdrs, auth);
		explicit_bzero(auth, sizeof(auth));
	}
	/* No "Expect: 100-continue" round trip before bodies. */
	hdrs = curl_slist_append(hdrs, "Expect:");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	return hdrs;
}

static void count(struct ck_http *h, CURL *c)
{
	curl_off_t up = 0, down = 0;
	long rq = 0, hd = 0;

	curl_easy_getinfo(c, CURLINFO_SIZE_UPLOAD_T, &up);
	curl_easy_getinfo(c, CURLINFO_SIZE_DOWNLOAD_T, &down);
	curl_easy_getinfo(c, CURLINFO_REQUEST_SIZE, &rq);
	curl_easy_getinfo(c, CURLINFO_HEADER_SIZE, &hd);
	h->sent += (uint64_t)up + (uint64_t)rq;
	h->received += (uint64_t)down + (uint64_t)hd;
}

struct collect {
	struct ck_http_resp *r;
	size_t cap, max;
	bool overflow;
};

static size_t on_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct collect *c = ud;
	struct ck_http_resp *r = c->r;
	size_t n = size * nmemb;

	if (r->len + n > c->max) {
		c->overflow = true;
		return 0;
	}
	if (r->len + n + 1 > c->cap) {
		size_t cap = c->cap ? c->cap : 4096;
		char *nb;

		while (cap < r->len + n + 1)
			cap *= 2;
		nb = realloc(r->body, cap);
		if (!nb)
			return 0;
		r->body = nb;
		c->cap = cap;
	}
	memcpy(r->body + r->len, p, n);
	r->len += n;
	r->body[r->len] = 0;
	return n;
}

/* X-Ck-Missing and X-Ck-Type into @missing / @type. */
static void parse_header(const char *p, size_t n, int64_t *missing,
			 char *type, size_t tcap)
{
	char line[128];

	if (n >= sizeof(line))
		return;
	memcpy(line, p, n);
	line[n] = 0;
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n'))
		line[--n] = 0;
	if (missing && !strncasecmp(line, "X-Ck-Missing:", 13))
		*missing = strtoll(line + 13, NULL, 10);
	if (type && !strncasecmp(line, "X-Ck-Type:", 10)) {
		const char *v = line + 10;
		size_t l;

		while (*v == ' ')
			v++;
		l = strlen(v) < tcap ? strlen(v) : tcap - 1;
		memcpy(type, v, l);
		type[l] = 0;
	}
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct ck_http_resp *r = ud;

	parse_header(p, size * nmemb, &r->missing, r->type, sizeof(r->type));
	return size * nmemb;
}

/* The server's JSON error ({"error": code, "message": text}). */
static void json_error(const char *body, size_t len, char *code, size_t ccap,
		       char *msg, size_t mcap)
{
	json_t *o = json_loadb(body, len, 0, NULL);
	const char *s;

	if (!o)
		return;
	s = json_string_value(json_object_get(o, "message"));
	if (s && msg)
		snprintf(msg, mcap, "%s", s);
	s = json_string_value(json_object_get(o, "error"));
	if (s && code)
		snprintf(code, ccap, "%s", s);
	json_decref(o);
}

int ck_http_do(struct ck_http *h, const struct ck_http_req *q,
	       struct ck_http_resp *r)
{
	struct collect col = { .r = r };
	struct curl_slist *hdrs = NULL;
	CURL *c = h->easy;
	CURLcode cc;
	char hdr[128];
	int ret;

	memset(r, 0, sizeof(*r));
	r->missing = -1;
	col.max = q->max_response ? q->max_response : MAX_RESPONSE_DEFAULT;
	h->errbuf[0] = 0;
	curl_easy_reset(c);
	if (q->body) {
		snprintf(hdr, sizeof(hdr), "Content-Type: %s",
			 q->ctype ? q->ctype : "application/octet-stream");
		hdrs = curl_slist_append(hdrs, hdr);
		if (q->zstd) {
			hdrs = curl_slist_append(hdrs,
						 "Content-Encoding: zstd");
			snprintf(hdr, sizeof(hdr), "X-Ck-Raw-Length: %llu",
				 (unsigned long long)q->raw_len);
			hdrs = curl_slist_append(hdrs, hdr);
		}
	}
	hdrs = setup(h, c, q->path, hdrs);
	if (q->body) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)q->len);
	} else if (!strcmp(q->method, "POST") || !strcmp(q->method, "PUT")) {
		curl_easy_setopt(c, CURLOPT_POST, 1L);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)0);
	}
	if (strcmp(q->method, "GET") && strcmp(q->method, "POST"))
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, q->method);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &col);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	cc = curl_easy_perform(c);
	count(h, c);
	curl_slist_free_all(hdrs);
	if (cc == CURLE_WRITE_ERROR && col.overflow) {
		snprintf(r->error, sizeof(r->error),
			 "response larger than %zu bytes", col.max);
		return -EFBIG;
	}
	ret = curl_errno(cc);
	if (ret < 0) {
		snprintf(r->error, sizeof(r->error), "%s",
			 h->errbuf[0] ? h->errbuf : curl_easy_strerror(cc));
		return ret;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	if (r->status >= 400 && r->body)
		json_error(r->body, r->len, r->code, sizeof(r->code), r->error,
			   sizeof(r->error));
	if (r->status >= 400 && !r->error[0])
		snprintf(r->error, sizeof(r->error), "HTTP %ld", r->status);
	return 0;
}

/* --- parallel downloads ------------------------------------------------ */

struct job_state {
	struct ck_http_get *g;
	CURL *c;
	bool checked, ok;
	size_t elen;
	int err; /* the sink's */
};

static size_t on_job_data(char *p, size_t size, size_t nmemb, void *ud)
{
	struct job_state *j = ud;
	size_t n = size * nmemb;

	if (!j->checked) {
		curl_easy_getinfo(j->c, CURLINFO_RESPONSE_CODE, &j->g->status);
		j->ok = j->g->len ? j->g->status == 206 : j->g->status == 200;
		j->checked = true;
	}
	if (!j->ok) {
		/* Keep the start of an error body for the message. */
		size_t k = sizeof(j->g->error) - 1 - j->elen;

		if (k > n)
			k = n;
		memcpy(j->g->error + j->elen, p, k);
		j->elen += k;
		j->g->error[j->elen] = 0;
		return n;
	}
	j->err = j->g->sink(j->g->ud, p, n);
	return j->err < 0 ? 0 : n;
}

static size_t on_job_header(char *p, size_t size, size_t nmemb, void *ud)
{
	struct job_state *j = ud;

	parse_header(p, size * nmemb, NULL, j->g->type, sizeof(j->g->type));
	return size * nmemb;
}

static void start_job(struct ck_http *h, struct job_state *j, CURL *c,
		      struct curl_slist **hdrs)
{
	char range[64];

	curl_easy_reset(c);
	*hdrs = setup(h, c, j->g->path, NULL);
	j->c = c;
	j->checked = j->ok = false;
	j->elen = 0;
	j->err = 0;
	j->g->status = 0;
	j->g->error[0] = 0;
	j->g->type[0] = 0;
	if (j->g->len) {
		snprintf(range, sizeof(range), "%llu-%llu",
			 (unsigned long long)j->g->off,
			 (unsigned long long)(j->g->off + j->g->len - 1));
		curl_easy_setopt(c, CURLOPT_RANGE, range);
	}
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_job_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, j);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_job_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, j);
	curl_easy_setopt(c, CURLOPT_PRIVATE, j);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, NULL);
}

int ck_http_get_many(struct ck_http *h, struct ck_http_get *v, size_t n,
		     unsigned parallel)
{
	struct job_state *js = NULL;
	struct curl_slist *hdrs[MAX_PARALLEL] = { 0 };
	CURL *slot_job[MAX_PARALLEL] = { 0 };
	size_t next = 0, running = 0;
	int q = 0;

	if (parallel == 0)
		parallel = 1;
	if (parallel > MAX_PARALLEL)
		parallel = MAX_PARALLEL;
	if (!h->multi) {
		h->multi = curl_multi_init();
		if (!h->multi)
			return -ENOMEM;
	}
	js = calloc(n ? n : 1, sizeof(*js));
	if (!js)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		js[i].g = &v[i];
	for (unsigned i = 0; i < parallel; i++)
		if (!h->pool[i] && !(h->pool[i] = curl_easy_init())) {
			free(js);
			return -ENOMEM;
		}
	for (;;) {
		int still = 0, left;
		CURLMsg *m;

		/* Fill free slots. */
		for (unsigned s = 0; q == 0 && s < parallel && next < n; s++) {
			if (slot_job[s])
				continue;
			curl_slist_free_all(hdrs[s]);
			hdrs[s] = NULL;
			start_job(h, &js[next], h->pool[s], &hdrs[s]);
			slot_job[s] = h->pool[s];
			curl_multi_add_handle(h->multi, h->pool[s]);
			next++;
			running++;
		}
		if (!running)
			break;
		if (curl_multi_perform(h->multi, &still) != CURLM_OK) {
			q = q ? q : -EIO;
			break;
		}
		while ((m = curl_multi_info_read(h->multi, &left))) {
			struct job_state *j = NULL;

			if (m->msg != CURLMSG_DONE)
				continue;
			curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE,
					  (char **)&j);
			count(h, m->easy_handle);
			if (q == 0) {
				if (j->err < 0)
					q = j->err;
				else if (m->data.result != CURLE_OK) {
					q = curl_errno(m->data.result);
					snprintf(j->g->error,
						 sizeof(j->g->error), "%s",
						 curl_easy_strerror(
							 m->data.result));
				} else {
					if (!j->checked)
						curl_easy_getinfo(
							m->easy_handle,
							CURLINFO_RESPONSE_CODE,
							&j->g->status);
					if (j->g->status !=
					    (j->g->len ? 206 : 200)) {
						char msg[256] = "";

						json_error(j->g->error,
							   j->elen, NULL, 0,
							   msg, sizeof(msg));
						if (msg[0])
							snprintf(j->g->error,
								 sizeof(j->g->error),
								 "%s", msg);
						q = -EPROTO;
					}
				}
			}
			curl_multi_remove_handle(h->multi, m->easy_handle);
			for (unsigned s = 0; s < parallel; s++)
				if (slot_job[s] == m->easy_handle)
					slot_job[s] = NULL;
			running--;
		}
		if (q < 0) {
			/* Abandon what is still running. */
			for (unsigned s = 0; s < parallel; s++)
				if (slot_job[s]) {
					curl_multi_remove_handle(h->multi,
								 slot_job[s]);
					slot_job[s] = NULL;
				}
			running = 0;
			break;
		}
		if (still && curl_multi_poll(h->multi, NULL, 0, 1000, NULL) !=
				     CURLM_OK) {
			q = -EIO;
			break;
		}
	}
	for (unsigned s = 0; s < MAX_PARALLEL; s++)
		curl_slist_free_all(hdrs[s]);
	free(js);
	return q;
}
