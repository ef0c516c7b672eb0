/* SPDX-License-Identifier: MIT */
/*
 * ckstore-fuse: mounts a checkpoint repository as a directory tree that
 * CRIU, runc and docker write dumps into and restore from, as from an NFS
 * share. See fs.h for the design and README.md ("Mount") for its use.
 */
#define FUSE_USE_VERSION 314

#include <errno.h>
#include <fcntl.h>
#include <fuse_lowlevel.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "backend.h"
#include "fs.h"
#include "log.h"

#define EXIT_USAGE 2

static const char *arg_repo;
static const char *arg_server;
static const char *arg_token;
static const char *arg_spool;
static const char *arg_log;
static const char *arg_mountpoint;
static const char *arg_fuse_opts;
static unsigned arg_idle_timeout = 600;
static unsigned arg_threads = 8;
static unsigned arg_max_read = 1024;	/* KiB */
static unsigned arg_readahead = 4096;	/* KiB */
static unsigned arg_cache_mib = 256;
static bool arg_foreground;
static bool arg_debug;

static void help(void)
{
	printf("Usage: ckstore-fuse [OPTIONS] MOUNTPOINT\n"
	       "Mount a checkpoint repository; CRIU writes dumps into it and\n"
	       "restores from it as from a shared directory.\n"
	       "\n"
	       "  --repo DIR          local repository (or CKSTORE_REPO)\n"
	       "  --server URL        a ckstored to serve (remote mode)\n"
	       "  --token T           bearer token for --server (or\n"
	       "                      CKSTORE_TOKEN)\n"
	       "  --cache-size MIB    remote mode: file blocks kept in\n"
	       "                      memory (256)\n"
	       "  --spool DIR         where dumps are written before they are\n"
	       "                      stored (default: DIR.spool beside the\n"
	       "                      repository; remote mode:\n"
	       "                      /var/tmp/ckstore-fuse-spool.<hash>)\n"
	       "  --idle-timeout SEC  store a dump without stats-dump as\n"
	       "                      incomplete after SEC idle seconds (600)\n"
	       "  --threads N         FUSE worker threads (8)\n"
	       "  --max-read KIB      size of one read request (1024)\n"
	       "  --readahead KIB     kernel readahead of the mount (4096)\n"
	       "  -o OPTS             extra mount options (e.g. allow_other)\n"
	       "  -f, --foreground    do not detach\n"
	       "  -d, --debug         log every request (implies -f)\n"
	       "  --log FILE          where a detached daemon logs\n"
	       "  -h, --help          show this help\n"
	       "  --version           show the version\n"
	       "\n"
	       "Layout: MOUNTPOINT/<container>/<version>/<files>; the\n"
	       "flattened view is MOUNTPOINT/.flat/<container>/<version>/.\n");
}

static int usage_error(const char *what, const char *arg)
{
	if (arg)
		fprintf(stderr, "ckstore-fuse: %s '%s'; try 'ckstore-fuse "
				"--help'\n", what, arg);
	else
		fprintf(stderr, "ckstore-fuse: %s; try 'ckstore-fuse "
				"--help'\n", what);
	return -EINVAL;
}

static int parse_uint(const char *s, unsigned max, unsigned *ret)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v > max)
		return -EINVAL;
	*ret = (unsigned)v;
	return 0;
}

/* <0: usage error; 0: done (help/version); >0: go on. */
static int parse_argv(int argc, char **argv)
{
	enum { ARG_REPO = 0x100, ARG_SERVER, ARG_TOKEN, ARG_SPOOL,
	       ARG_IDLE, ARG_THREADS, ARG_LOG, ARG_VERSION, ARG_MAX_READ,
	       ARG_READAHEAD, ARG_CACHE };
	static const struct option opts[] = {
		{ "repo", required_argument, NULL, ARG_REPO },
		{ "server", required_argument, NULL, ARG_SERVER },
		{ "token", required_argument, NULL, ARG_TOKEN },
		{ "spool", required_argument, NULL, ARG_SPOOL },
		{ "idle-timeout", required_argument, NULL, ARG_IDLE },
		{ "threads", required_argument, NULL, ARG_THREADS },
		{ "log", required_argument, NULL, ARG_LOG },
		{ "max-read", required_argument, NULL, ARG_MAX_READ },
		{ "readahead", required_argument, NULL, ARG_READAHEAD },
		{ "cache-size", required_argument, NULL, ARG_CACHE },
		{ "foreground", no_argument, NULL, 'f' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, ARG_VERSION },
		{ 0 },
	};
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":fdho:", opts, NULL)) >= 0) {
		switch (c) {
		case ARG_REPO:
			arg_repo = optarg;
			break;
		case ARG_SERVER:
			arg_server = optarg;
			break;
		case ARG_TOKEN:
			arg_token = optarg;
			break;
		case ARG_SPOOL:
			arg_spool = optarg;
			break;
		case ARG_LOG:
			arg_log = optarg;
			break;
		case ARG_IDLE:
			if (parse_uint(optarg, 86400 * 365, &arg_idle_timeout) <
				    0 ||
			    arg_idle_timeout == 0)
				return usage_error("bad --idle-timeout", optarg);
			break;
		case ARG_THREADS:
			if (parse_uint(optarg, 256, &arg_threads) < 0 ||
			    arg_threads == 0)
				return usage_error("bad --threads", optarg);
			break;
		case ARG_MAX_READ:
			if (parse_uint(optarg, 1024, &arg_max_read) < 0 ||
			    arg_max_read < 4)
				return usage_error("bad --max-read", optarg);
			break;
		case ARG_READAHEAD:
			if (parse_uint(optarg, 1 << 20, &arg_readahead) < 0)
				return usage_error("bad --readahead", optarg);
			break;
		case ARG_CACHE:
			if (parse_uint(optarg, 1 << 20, &arg_cache_mib) < 0)
				return usage_error("bad --cache-size", optarg);
			break;
		case 'o':
			arg_fuse_opts = optarg;
			break;
		case 'f':
			arg_foreground = true;
			break;
		case 'd':
			arg_debug = arg_foreground = true;
			break;
		case 'h':
			help();
			return 0;
		case ARG_VERSION:
			printf("ckstore-fuse %s (libfuse %d)\n", "0.1",
			       fuse_version());
			return 0;
		case ':':
			return usage_error("missing argument of", argv[optind - 1]);
		default:
			return usage_error("unknown option", argv[optind - 1]);
		}
	}
	if (optind + 1 != argc)
		return usage_error(optind >= argc ? "missing MOUNTPOINT"
						  : "too many arguments",
				   NULL);
	arg_mountpoint = argv[optind];
	if (!arg_repo && !arg_server)
		arg_repo = getenv("CKSTORE_REPO");
	if (arg_server && !arg_token)
		arg_token = getenv("CKSTORE_TOKEN");
	if (arg_repo && arg_server)
		return usage_error("--repo and --server exclude each other",
				   NULL);
	if (arg_token && !arg_server && !getenv("CKSTORE_TOKEN"))
		return usage_error("--token needs --server", NULL);
	if (!arg_repo && !arg_server)
		return usage_error("missing --repo DIR or --server URL", NULL);
	return 1;
}

/* Forks; the parent waits for the child to report that the file system
 * is mounted (0) or failed (1), and exits with that. */
static int daemon_fork(int *ret_fd)
{
	int p[2];
	pid_t pid;
	char c = 1;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		close(p[1]);
		if (read(p[0], &c, 1) != 1)
			c = 1;
		_exit(c);
	}
	close(p[0]);
	*ret_fd = p[1];
	return 0;
}

static void daemon_ready(int fd, const char *log)
{
	int nfd;
	char c = 0;

	(void)setsid();
	nfd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (nfd >= 0) {
		(void)dup2(nfd, 0);
		(void)dup2(nfd, 1);
		if (!log)
			(void)dup2(nfd, 2);
		close(nfd);
	}
	if (log) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC,
			       0640);

		if (lfd >= 0) {
			(void)dup2(lfd, 2);
			close(lfd);
		}
	}
	(void)chdir("/");
	if (write(fd, &c, 1) < 0)
		c = 1;
	close(fd);
}

struct ra {
	char path[PATH_MAX];
	unsigned kib;
};

/*
 * The kernel caps a FUSE mount's readahead at what INIT agreed (128 KiB
 * by default) and reads each window as requests of max_read bytes. A
 * larger window (set in the mount's bdi once INIT is done, which the
 * stat() below waits for) keeps many requests in flight, which the
 * worker threads serve in parallel: chunk reads and decoding overlap
 * (docs/decisions.md, D10).
 */
static void *ra_thread(void *arg)
{
	struct ra *ra = arg;
	char p[128];
	struct stat st;
	FILE *f;

	if (stat(ra->path, &st) == 0) {
		snprintf(p, sizeof(p), "/sys/class/bdi/%u:%u/read_ahead_kb",
			 major(st.st_dev), minor(st.st_dev));
		f = fopen(p, "we");
		if (f) {
			fprintf(f, "%u\n", ra->kib);
			if (fclose(f) != 0)
				ck_log_debug("cannot set '%s'", p);
		}
	}
	free(ra);
	return NULL;
}

static void set_readahead(const char *mnt, unsigned kib)
{
	struct ra *ra = calloc(1, sizeof(*ra));
	pthread_t t;

	if (!ra || strlen(mnt) >= sizeof(ra->path)) {
		free(ra);
		return;
	}
	strcpy(ra->path, mnt);
	ra->kib = kib;
	if (pthread_create(&t, NULL, ra_thread, ra) != 0) {
		free(ra);
		return;
	}
	pthread_detach(t);
}

static int default_spool(const char *repo, char *buf, size_t cap)
{
	char real[PATH_MAX];
	int k;

	if (!realpath(repo, real))
		return -errno;
	k = snprintf(buf, cap, "%s.spool", real);
	return k < 0 || (size_t)k >= cap ? -ENAMETOOLONG : 0;
}

int main(int argc, char **argv)
{
	struct fuse_args args = FUSE_ARGS_INIT(0, NULL);
	struct fuse_session *se = NULL;
	struct fuse_loop_config *cfg = NULL;
	struct ck_backend *b = NULL;
	struct ckfs *fs = NULL;
	struct ckfs_opts o = { 0 };
	char spool[PATH_MAX], mopts[1024], mnt_real[PATH_MAX];
	int r, ready_fd = -1, ret = EXIT_FAILURE;
	bool mounted = false;

	ck_log_set_prefix("ckstore-fuse");
	ck_log_set_level(CK_LOG_WARNING);
	r = parse_argv(argc, argv);
	if (r <= 0)
		return r < 0 ? EXIT_USAGE : EXIT_SUCCESS;
	if (arg_debug)
		ck_log_set_level(CK_LOG_DEBUG);
	if (!realpath(arg_mountpoint, mnt_real)) {
		ck_log_error_errno(-errno, "bad mount point '%s': %m",
				   arg_mountpoint);
		return EXIT_FAILURE;
	}
	/* Modes come from the kernel with the caller's umask applied. */
	umask(0);

	if (!arg_foreground) {
		r = daemon_fork(&ready_fd);
		if (r < 0) {
			ck_log_error_errno(r, "cannot fork: %m");
			return EXIT_FAILURE;
		}
	}

	if (arg_server) {
		r = ck_backend_remote_open(arg_server, arg_token,
					   (uint64_t)arg_cache_mib << 20, &b);
		if (r < 0) {
			ck_log_error_errno(r, "cannot use server '%s': %m",
					   arg_server);
			goto out;
		}
	} else {
		r = ck_backend_local_open(arg_repo, &b);
	}
	if (r < 0) {
		if (r == -EBUSY) {
			char who[256] = "";

			(void)ck_repo_holder(arg_repo, who, sizeof(who));
			ck_log_error("repository '%s' is held by %s", arg_repo,
				     who[0] ? who : "another process");
		} else if (r == -EPROTONOSUPPORT) {
			ck_log_error("repository '%s' has an on-disk format "
				     "this ckstore-fuse does not know (made by "
				     "a newer ckstore?)",
				     arg_repo);
		} else {
			ck_log_error_errno(r, "cannot open repository '%s': %m",
					   arg_repo);
		}
		goto out;
	}
	if (arg_spool) {
		snprintf(spool, sizeof(spool), "%s", arg_spool);
	} else if (arg_server) {
		uint64_t h = 0xcbf29ce484222325ULL;

		for (const char *c = arg_server; *c; c++)
			h = (h ^ (uint8_t)*c) * 0x100000001b3ULL;
		snprintf(spool, sizeof(spool),
			 "/var/tmp/ckstore-fuse-spool.%016llx",
			 (unsigned long long)h);
	} else {
		r = default_spool(arg_repo, spool, sizeof(spool));
		if (r < 0) {
			ck_log_error_errno(r, "bad repository path '%s': %m",
					   arg_repo);
			goto out;
		}
	}
	o.spool = spool;
	o.max_read = arg_max_read << 10;
	o.idle_timeout = arg_idle_timeout;
	o.attr_timeout = 1.0;
	o.ro_timeout = 3600.0;
	r = ckfs_new(b, &o, &fs);
	b = NULL; /* owned by fs, even on failure */
	if (r < 0)
		goto out;

	snprintf(mopts, sizeof(mopts),
		 "fsname=ckstore,subtype=ckstore,default_permissions,"
		 "max_read=%u%s%s",
		 o.max_read, arg_fuse_opts ? "," : "",
		 arg_fuse_opts ? arg_fuse_opts : "");
	if (fuse_opt_add_arg(&args, argv[0]) < 0 ||
	    fuse_opt_add_arg(&args, "-o") < 0 ||
	    fuse_opt_add_arg(&args, mopts) < 0 ||
	    (arg_debug && fuse_opt_add_arg(&args, "-d") < 0)) {
		ck_log_error("out of memory");
		goto out;
	}
	se = fuse_session_new(&args, &ckfs_ops, sizeof(ckfs_ops), fs);
	if (!se) {
		ck_log_error("cannot create the FUSE session (bad -o?)");
		goto out;
	}
	if (fuse_set_signal_handlers(se) < 0) {
		ck_log_error("cannot install signal handlers");
		goto out;
	}
	if (fuse_session_mount(se, mnt_real) < 0) {
		ck_log_error("cannot mount on '%s'", arg_mountpoint);
		goto out;
	}
	mounted = true;
	r = ckfs_start(fs);
	if (r < 0) {
		ck_log_error_errno(r, "cannot start the committer: %m");
		goto out;
	}
	if (ready_fd >= 0) {
		daemon_ready(ready_fd, arg_log);
		ready_fd = -1;
	}

	if (arg_readahead)
		set_readahead(mnt_real, arg_readahead);
	cfg = fuse_loop_cfg_create();
	if (!cfg) {
		ck_log_error("out of memory");
		goto out;
	}
	/* Idle workers stay: no thread churn under a steady load. */
	fuse_loop_cfg_set_max_threads(cfg, arg_threads);
	fuse_loop_cfg_set_idle_threads(cfg, arg_threads);
	/* >0: the number of the signal (SIGTERM, SIGINT, SIGHUP) that
	 * ended the loop, a clean end like fusermount3 -u. */
	r = fuse_session_loop_mt(se, cfg);
	ret = r >= 0 ? EXIT_SUCCESS : EXIT_FAILURE;
out:
	if (se && mounted)
		fuse_session_unmount(se);
	if (se)
		fuse_remove_signal_handlers(se);
	/* No request can arrive now: store what is still being written. */
	if (fs)
		ckfs_stop(fs);
	if (se)
		fuse_session_destroy(se);
	if (cfg)
		fuse_loop_cfg_destroy(cfg);
	fuse_opt_free_args(&args);
	fs = ckfs_free(fs);
	ck_backend_free(b);
	if (ready_fd >= 0) {
		char c = 1;

		if (write(ready_fd, &c, 1) < 0)
			c = 0;
		close(ready_fd);
	}
	return ret;
}
