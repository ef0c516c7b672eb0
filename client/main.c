/* SPDX-License-Identifier: MIT */
/*
 * main.c - the ckstore CLI: global options, then a verb from the table.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "log.h"

#define CKSTORE_VERSION "0.1.0"

const struct verb ck_verbs[] = {
	{ "init", verb_init,
	  "[--chunk-size BYTES] [--zstd-level N] [--no-deltas]\n"
	  "       [--no-dictionary] [--group-size VG]",
	  "create a repository" },
	{ "push", verb_push,
	  "CONTAINER DIR... [--name NAME] [--complete|--incomplete]",
	  "store a checkpoint image directory as a new version" },
	{ "versions", verb_versions, "CONTAINER [--json]",
	  "list a container's versions, oldest first" },
	{ "ls", verb_ls, "[CONTAINER [VERSION]] [--json]",
	  "list containers, or the files of a version" },
	{ "cat", verb_cat, "CONTAINER VERSION FILE",
	  "write one file of a version to stdout" },
	{ "restore", verb_restore,
	  "CONTAINER [--version V|latest] [--flatten] DEST",
	  "write a version to a new directory, byte-exact" },
	{ "rm", verb_rm, "CONTAINER VERSION",
	  "delete a version and reclaim what only it used" },
	{ "stats", verb_stats, "[CONTAINER] [--json]",
	  "logical and stored bytes, dedup and compression ratios" },
	{ "fsck", verb_fsck, "[--json]",
	  "verify every chunk and reference" },
	{ "gc", verb_gc, "[CONTAINER] [--dry-run] [--no-compact] [--json]",
	  "apply retention, reclaim unreferenced chunks" },
	{ "policy", verb_policy,
	  "[CONTAINER] [--keep-groups K] [--keep-last N]\n"
	  "       [--keep-within DUR] [--expire-incomplete DUR] [--clear]",
	  "show or set a retention policy" },
	{ "pin", verb_pin, "CONTAINER VERSION",
	  "keep a version whatever the policy says" },
	{ "unpin", verb_unpin, "CONTAINER VERSION", "undo pin" },
	{ "import", verb_import,
	  "CONTAINER ARCHIVE|- [--name NAME] [--complete|--incomplete]\n"
	  "       [--spool DIR] [--max-members N] [--max-member-size BYTES]\n"
	  "       [--max-size BYTES]",
	  "store a Podman/Kubernetes checkpoint archive as a version" },
	{ "export", verb_export,
	  "CONTAINER [--version V] [--compress none|gzip|zstd] ARCHIVE|-",
	  "write a version as an archive podman restore --import reads" },
	{ NULL, NULL, NULL, NULL },
};

static void help(void)
{
	printf("usage: ckstore [--repo DIR | --server URL [--token T]] [-q] "
	       "COMMAND [ARGS]\n\n"
	       "A checkpoint repository for CRIU image directories.\n\n"
	       "Commands:\n");
	for (const struct verb *v = ck_verbs; v->name; v++)
		printf("  %-10s %s\n", v->name, v->summary);
	printf("\nOptions:\n"
	       "  --repo DIR   repository directory (env CKSTORE_REPO,\n"
	       "               default /var/lib/ckstore)\n"
	       "  --server URL work against ckstored at URL instead (env\n"
	       "               CKSTORE_SERVER; every command but init)\n"
	       "  --token T    bearer token for the server (env CKSTORE_TOKEN)\n"
	       "  --cacert F   CA certificate for an https server (env\n"
	       "               CKSTORE_CACERT)\n"
	       "  -q, --quiet  only errors on stderr\n"
	       "  --version    print the version\n"
	       "  --help       this text; 'ckstore COMMAND --help' for one\n"
	       "\nExit codes: 0 ok, 1 failure, 2 usage; see 'fsck --help'.\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "repo", required_argument, NULL, 'r' },
		{ "server", required_argument, NULL, 'S' },
		{ "token", required_argument, NULL, 'T' },
		{ "cacert", required_argument, NULL, 'A' },
		{ "quiet", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	const struct verb *v = NULL;
	bool repo_flag = false, server_flag = false;
	int c, r;

	ck_log_set_prefix("ckstore");
	arg_repo = getenv("CKSTORE_REPO");
	if (!arg_repo || !*arg_repo)
		arg_repo = "/var/lib/ckstore";
	arg_server = getenv("CKSTORE_SERVER");
	arg_token = getenv("CKSTORE_TOKEN");
	arg_cacert = getenv("CKSTORE_CACERT");
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+qh", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			arg_repo = optarg;
			repo_flag = true;
			break;
		case 'S':
			arg_server = optarg;
			server_flag = true;
			break;
		case 'T':
			arg_token = optarg;
			break;
		case 'A':
			arg_cacert = optarg;
			break;
		case 'q':
			arg_quiet = true;
			ck_log_set_level(CK_LOG_WARNING);
			break;
		case 'h':
			help();
			return EXIT_OK;
		case 'V':
			printf("ckstore %s\n", CKSTORE_VERSION);
			return EXIT_OK;
		default:
			fprintf(stderr,
				"ckstore: unknown option '%s'; try 'ckstore "
				"--help'\n",
				argv[optind - 1]);
			return EXIT_USAGE;
		}
	}
	if (repo_flag && server_flag) {
		fprintf(stderr, "ckstore: --repo and --server exclude each "
				"other; try 'ckstore --help'\n");
		return EXIT_USAGE;
	}
	/* An explicit --repo wins over CKSTORE_SERVER. */
	if (repo_flag || (arg_server && !*arg_server))
		arg_server = NULL;
	if (optind >= argc) {
		fprintf(stderr,
			"ckstore: missing command; try 'ckstore --help'\n");
		return EXIT_USAGE;
	}
	for (const struct verb *p = ck_verbs; p->name; p++)
		if (!strcmp(p->name, argv[optind]))
			v = p;
	if (!v) {
		fprintf(stderr,
			"ckstore: unknown command '%s'; try 'ckstore --help'\n",
			argv[optind]);
		return EXIT_USAGE;
	}
	r = v->run(argc - optind, argv + optind);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fprintf(stderr, "ckstore: error: cannot write output\n");
		return EXIT_FAIL;
	}
	return r;
}
