/* SPDX-License-Identifier: MIT */
/*
 * remote-cli.h - the CLI's verbs against ckstored (--server URL): each
 * verb parses its options as before, then hands over here. Output,
 * messages and exit codes are the local verbs' (cli.h), so scripts do
 * not care where the repository is.
 */
#pragma once

#include <stdbool.h>

/* Every DIR becomes a version of CONTAINER, in order (as verb_push). */
int remote_push(const char *ctr, int ndirs, char **dirs, const char *name,
		int complete);
int remote_versions(const char *ctr);
/* ls with @nargs (0..2) positional arguments. */
int remote_ls(int nargs, char **args);
int remote_cat(const char *ctr, const char *spec, const char *path);
int remote_restore(const char *ctr, const char *spec, const char *dest,
		   bool flatten);
int remote_rm(const char *ctr, const char *spec);
int remote_stats(const char *ctr);
int remote_fsck(void);
int remote_gc(const char *ctr, bool dry_run, bool compact);
/* @set: apply the values >= 0; @clear: back to the default. */
int remote_policy(const char *ctr, bool set, bool clear, long long groups,
		  long long last, long long within, long long incomplete);
int remote_pin(const char *ctr, const char *spec, bool pinned);
