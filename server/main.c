/* SPDX-License-Identifier: MIT */
/*
 * main.c - ckstored: serves one repository over HTTP.
 *
 * Startup: defaults, then --config FILE, then flags; the repository is
 * opened for writing (this process holds its lock), then the listener
 * starts. Signals are blocked in every thread and taken by the main
 * thread with sigwait():
 *   SIGHUP   re-reads the config file's tokens (and anonymous role);
 *   SIGTERM  drains: new requests get 503, the listener closes, running
 *   SIGINT   requests finish (at most drain_timeout seconds), then open
 *            uploads are dropped and the repository is closed cleanly.
 *
 * Exit codes: 0 after a clean shutdown, 1 runtime failure, 2 usage or
 * configuration error.
 */
#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth.h"
#include "config.h"
#include "fsutil.h"
#include "http.h"
#include "log.h"
#include "repo.h"
#include "gcsched.h"
#include "routes.h"

#define CKSTORED_VERSION "0.1.0"
#define TLS_FILE_MAX (1u << 20)

static const char *arg_config;
static const char *arg_port_file;
static bool arg_check;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ckstored [--config FILE] [--repo DIR] [--listen ADDR] "
		"[--port N]\n"
		"                [--set KEY=VALUE]... [--log-level LEVEL] "
		"[--port-file FILE]\n"
		"                [--check-config]\n\n"
		"Serves a ckstore repository over HTTP (docs/http-api.md).\n\n"
		"  --config FILE     settings and tokens "
		"(conf/ckstored.conf documents every key)\n"
		"  --set KEY=VALUE   override one setting of the file; "
		"repeatable\n"
		"  --repo DIR        same as --set repo=DIR\n"
		"  --listen ADDR     same as --set listen=ADDR (an IPv4 or "
		"IPv6 address)\n"
		"  --port N          same as --set port=N (0: any free port)\n"
		"  --log-level L     error, warning, info or debug\n"
		"  --port-file FILE  write the bound port to FILE once "
		"listening\n"
		"  --check-config    print the effective settings and exit\n"
		"\nSignals: SIGHUP reloads tokens, SIGTERM drains and stops.\n");
}

static int usage_error(const char *fmt, ...)
	__attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "ckstored: ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "; try 'ckstored --help'\n");
	return 2;
}

static enum ck_log_level level_of(const char *s)
{
	if (!strcmp(s, "error"))
		return CK_LOG_ERROR;
	if (!strcmp(s, "warning"))
		return CK_LOG_WARNING;
	if (!strcmp(s, "debug"))
		return CK_LOG_DEBUG;
	return CK_LOG_INFO;
}

/* Parses argv into @c (file first, then flags in order). Returns -1 to
 * continue, or an exit code. */
static int parse_argv(int argc, char **argv, struct ck_config *c)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "set", required_argument, NULL, 's' },
		{ "repo", required_argument, NULL, 'r' },
		{ "listen", required_argument, NULL, 'l' },
		{ "port", required_argument, NULL, 'p' },
		{ "log-level", required_argument, NULL, 'L' },
		{ "port-file", required_argument, NULL, 'P' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	char err[1024];
	int o, q;

	/* Pass 1: the file, so that flags override it whatever their
	 * order. */
	opterr = 0;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (o) {
		case 'c':
			arg_config = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("ckstored %s\n", CKSTORED_VERSION);
			return 0;
		case '?':
			if (optopt)
				return usage_error("option '%s' needs a value",
						   argv[optind - 1]);
			return usage_error("unknown option '%s'",
					   argv[optind - 1]);
		default:
			break;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (arg_config) {
		q = ck_config_load(c, arg_config, err, sizeof(err));
		if (q < 0) {
			fprintf(stderr, "ckstored: %s\n", err);
			return 2;
		}
	}
	optind = 0;
	while ((o = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		const char *key = NULL, *val = optarg;
		char kv[256];

		switch (o) {
		case 's': {
			const char *eq = strchr(optarg, '=');

			if (!eq || (size_t)(eq - optarg) >= sizeof(kv))
				return usage_error("--set needs KEY=VALUE, "
						   "not '%s'",
						   optarg);
			memcpy(kv, optarg, (size_t)(eq - optarg));
			kv[eq - optarg] = 0;
			key = kv;
			val = eq + 1;
			break;
		}
		case 'r':
			key = "repo";
			break;
		case 'l':
			key = "listen";
			break;
		case 'p':
			key = "port";
			break;
		case 'L':
			key = "log_level";
			break;
		case 'P':
			arg_port_file = optarg;
			break;
		case 'C':
			arg_check = true;
			break;
		default:
			break;
		}
		if (key && ck_config_set(c, key, val, err, sizeof(err)) < 0) {
			fprintf(stderr, "ckstored: %s\n", err);
			return 2;
		}
	}
	q = ck_config_check(c, err, sizeof(err));
	if (q < 0) {
		fprintf(stderr, "ckstored: %s\n", err);
		return 2;
	}
	return -1;
}

static int write_port_file(const char *path, unsigned port)
{
	char tmp[4096], num[16];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	snprintf(num, sizeof(num), "%u\n", port);
	if (fputs(num, f) < 0 || fclose(f) != 0)
		return -EIO;
	if (rename(tmp, path) < 0)
		return -errno;
	return 0;
}

/* SIGHUP: the file's tokens replace the current ones, or nothing
 * changes. */
static void reload(struct ck_routes *rt)
{
	struct ck_config c;
	struct ck_auth *a;
	char err[1024];

	if (!arg_config) {
		ck_log_warning("SIGHUP: no --config file to reload tokens "
			       "from");
		return;
	}
	ck_config_defaults(&c);
	if (ck_config_load(&c, arg_config, err, sizeof(err)) < 0) {
		ck_log_error("SIGHUP: %s; keeping the current tokens", err);
		ck_config_release(&c);
		return;
	}
	a = ck_auth_new(&c);
	if (!a) {
		ck_log_error("SIGHUP: out of memory; keeping the current "
			     "tokens");
		ck_config_release(&c);
		return;
	}
	ck_routes_set_auth(rt, a);
	ck_log_info("SIGHUP: reloaded %zu tokens from '%s'", ck_auth_count(a),
		    arg_config);
	ck_auth_unref(a);
	explicit_bzero(c.tokens, c.ntokens * sizeof(*c.tokens));
	ck_config_release(&c);
}

/* A whole small file as a NUL-terminated string (PEM for GnuTLS). */
static int read_text(const char *path, char **ret)
{
	void *buf = NULL;
	size_t len = 0;
	char *s;
	int q;

	q = ck_read_file(path, TLS_FILE_MAX, &buf, &len);
	if (q < 0)
		return q;
	s = realloc(buf, len + 1);
	if (!s) {
		free(buf);
		return -ENOMEM;
	}
	s[len] = 0;
	*ret = s;
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

int main(int argc, char **argv)
{
	struct ck_config c;
	struct ck_repo *r = NULL;
	struct ck_auth *auth = NULL;
	struct ck_routes *rt = NULL;
	struct ck_http_server *srv = NULL;
	struct ck_gcsched *gcs = NULL;
	struct ck_http_opts ho = { 0 };
	char *cert = NULL, *key = NULL;
	sigset_t set;
	int q, sig, ret = 1;

	ck_log_set_prefix("ckstored");
	ck_config_defaults(&c);
	q = parse_argv(argc, argv, &c);
	if (q >= 0) {
		ck_config_release(&c);
		return q;
	}
	ck_log_set_level(level_of(c.log_level));
	if (arg_check) {
		ck_config_dump(&c, stdout);
		ck_config_release(&c);
		return 0;
	}

	/* Every thread inherits this mask; only sigwait() takes them. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if (c.tls) {
		q = read_text(c.tls_cert, &cert);
		if (q < 0) {
			ck_log_error_errno(q, "cannot read tls_cert '%s': %m",
					   c.tls_cert);
			goto out;
		}
		q = read_text(c.tls_key, &key);
		if (q < 0) {
			ck_log_error_errno(q, "cannot read tls_key '%s': %m",
					   c.tls_key);
			goto out;
		}
		ho.tls_cert_pem = cert;
		ho.tls_key_pem = key;
	}
	q = ck_repo_open(c.repo, CK_OPEN_WRITE, "ckstored", &r);
	if (q == -EBUSY) {
		char holder[256];

		ck_repo_holder(c.repo, holder, sizeof(holder));
		ck_log_error("repository '%s' is held by %s", c.repo,
			     holder[0] ? holder : "another process");
		goto out;
	}
	if (q == -EPROTONOSUPPORT) {
		ck_log_error("repository '%s' has an on-disk format this "
			     "ckstored does not know (made by a newer ckstore?)",
			     c.repo);
		goto out;
	}
	if (q < 0) {
		ck_log_error_errno(q,
				   "cannot open repository '%s': %m (create "
				   "it with 'ckstore --repo %s init')",
				   c.repo, c.repo);
		goto out;
	}
	auth = ck_auth_new(&c);
	if (!auth) {
		ck_log_error("out of memory");
		goto out;
	}
	q = ck_routes_new(r, &c, auth, &rt);
	if (q < 0) {
		ck_log_error_errno(q, "cannot start: %m");
		goto out;
	}
	ho.listen = c.listen;
	ho.port = c.port;
	ho.max_connections = c.max_connections;
	ho.timeout = c.connection_timeout;
	q = ck_http_start(&ho, &ck_routes_ops, rt, &srv);
	if (q < 0) {
		ck_log_error_errno(q, "cannot listen on %s port %u%s: %m",
				   c.listen, c.port,
				   c.tls ? " (TLS)" : "");
		goto out;
	}
	if (arg_port_file) {
		q = write_port_file(arg_port_file, ck_http_port(srv));
		if (q < 0) {
			ck_log_error_errno(q, "cannot write '%s': %m",
					   arg_port_file);
			goto out;
		}
	}
	q = ck_gcsched_start(r, ck_routes_metrics(rt), c.gc_interval, &gcs);
	if (q < 0) {
		ck_log_error_errno(q, "cannot start the gc thread: %m");
		goto out;
	}
	ck_log_info("serving '%s' on %s://%s%s%s:%u (%zu tokens, anonymous "
		    "%s)",
		    c.repo, c.tls ? "https" : "http",
		    strchr(c.listen, ':') ? "[" : "", c.listen,
		    strchr(c.listen, ':') ? "]" : "", ck_http_port(srv),
		    c.ntokens, ck_role_name(c.anonymous));

	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			reload(rt);
			continue;
		}
		break;
	}

	/* Drain: refuse new work, let running requests finish. */
	ck_log_info("%s: draining %llu running requests (at most %u s)",
		    sig == SIGTERM ? "SIGTERM" : "SIGINT",
		    (unsigned long long)ck_routes_active(rt), c.drain_timeout);
	ck_routes_drain(rt);
	ck_http_quiesce(srv);
	{
		uint64_t until = now_ms() + (uint64_t)c.drain_timeout * 1000u;

		while (ck_routes_active(rt) > 0 && now_ms() < until)
			usleep(20000);
		if (ck_routes_active(rt) > 0)
			ck_log_warning("%llu requests still running after %u s; "
				       "closing their connections",
				       (unsigned long long)ck_routes_active(rt),
				       c.drain_timeout);
	}
	ret = 0;
out:
	gcs = ck_gcsched_stop(gcs);
	srv = ck_http_stop(srv);
	if (rt && ck_routes_uploads(rt))
		ck_log_info("dropping %zu open uploads (nothing of them is "
			    "committed)",
			    ck_routes_uploads(rt));
	rt = ck_routes_free(rt);
	auth = ck_auth_unref(auth);
	r = ck_repo_free(r);
	if (ret == 0)
		ck_log_info("stopped; repository closed");
	free(cert);
	if (key)
		explicit_bzero(key, strlen(key));
	free(key);
	explicit_bzero(c.tokens, c.ntokens * sizeof(*c.tokens));
	ck_config_release(&c);
	return ret;
}
