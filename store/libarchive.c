/* SPDX-License-Identifier: MIT */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#define CK_LIBARCHIVE_TABLE /* the real names, for dlsym() */
#include "libarchive.h"
#include "log.h"

struct ck_libarchive ck_libarchive;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int load_err;

static void load(void)
{
	const char *env = getenv("CKSTORE_LIBARCHIVE");
	const char *name = env && *env ? env : CK_LIBARCHIVE_SONAME;
	void *dl = dlopen(name, RTLD_NOW | RTLD_LOCAL);

	if (!dl) {
		ck_log_error("cannot load libarchive (%s): importing and "
			     "exporting checkpoint archives needs it; install "
			     "the libarchive13 package",
			     dlerror());
		load_err = -ELIBACC;
		return;
	}
#define CK_LIBARCHIVE_SYM(f)                                               \
	if (!(*(void **)&ck_libarchive.f = dlsym(dl, #f))) {               \
		ck_log_error("%s has no %s: not a libarchive 3.6 or newer", \
			     name, #f);                                    \
		load_err = -ELIBBAD;                                       \
		return;                                                    \
	}
	CK_LIBARCHIVE_FUNCS(CK_LIBARCHIVE_SYM)
#undef CK_LIBARCHIVE_SYM
	/* The library stays loaded until exit. */
}

int ck_libarchive_load(void)
{
	pthread_once(&once, load);
	return load_err;
}
