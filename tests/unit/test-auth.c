/* SPDX-License-Identifier: MIT */
/*
 * test-auth.c - the token matcher: constant-time comparison, 401 cases,
 * roles, container patterns, reference counting.
 */
#include <string.h>

#include "auth.h"
#include "testlib.h"

static const char conf[] =
	"anonymous = none\n"
	"[token reader]\nsecret = reader-0123456789abcdef\nrole = read\n"
	"[token writer]\nsecret = writer-0123456789abcdef\nrole = write\n"
	"[token admin]\nsecret = admin-0123456789abcdef\nrole = admin\n"
	"[token web]\nsecret = web-0123456789abcdef\nrole = write\n"
	"containers = web-* api\n";

static void test_equal(void)
{
	CK_ASSERT(ck_auth_equal("abc", 3, "abc", 3));
	CK_ASSERT(!ck_auth_equal("abd", 3, "abc", 3));
	CK_ASSERT(!ck_auth_equal("ab", 2, "abc", 3));
	CK_ASSERT(!ck_auth_equal("abcd", 4, "abc", 3));
	/* a prefix repeated cyclically is not a match either */
	CK_ASSERT(!ck_auth_equal("abcabc", 6, "abc", 3));
	CK_ASSERT(!ck_auth_equal("abc", 3, "abcabc", 6));
	CK_ASSERT(!ck_auth_equal("", 0, "", 0));
}

static void test_check(struct ck_auth *a)
{
	struct ck_principal p;

	CK_ASSERT_EQ(ck_auth_check(a, NULL, &p), 0);
	CK_ASSERT(!p.token);
	CK_ASSERT_EQ(p.role, CK_ROLE_NONE);
	CK_ASSERT_EQ(ck_auth_check(a, "Bearer reader-0123456789abcdef", &p),
		     0);
	CK_ASSERT(!strcmp(ck_auth_name(&p), "reader"));
	CK_ASSERT_EQ(p.role, CK_ROLE_READ);
	CK_ASSERT_EQ(ck_auth_check(a, "bearer  admin-0123456789abcdef ", &p),
		     0);
	CK_ASSERT_EQ(p.role, CK_ROLE_ADMIN);
	CK_ASSERT_EQ(ck_auth_check(a, "Bearer reader-0123456789abcdeX", &p),
		     -EACCES);
	CK_ASSERT_EQ(ck_auth_check(a, "Bearer reader-0123456789abcde", &p),
		     -EACCES);
	CK_ASSERT_EQ(ck_auth_check(a, "Bearer reader-0123456789abcdefg", &p),
		     -EACCES);
	CK_ASSERT_EQ(ck_auth_check(a, "Basic reader-0123456789abcdef", &p),
		     -EACCES);
	CK_ASSERT_EQ(ck_auth_check(a, "Bearer ", &p), -EACCES);
	CK_ASSERT_EQ(ck_auth_check(a, "", &p), -EACCES);
}

static void test_allows(struct ck_auth *a)
{
	struct ck_principal r, w, ad, web, anon;

	CK_ASSERT_EQ(ck_auth_check(a, "Bearer reader-0123456789abcdef", &r), 0);
	CK_ASSERT_EQ(ck_auth_check(a, "Bearer writer-0123456789abcdef", &w), 0);
	CK_ASSERT_EQ(ck_auth_check(a, "Bearer admin-0123456789abcdef", &ad), 0);
	CK_ASSERT_EQ(ck_auth_check(a, "Bearer web-0123456789abcdef", &web), 0);
	CK_ASSERT_EQ(ck_auth_check(a, NULL, &anon), 0);

	CK_ASSERT(ck_auth_allows(&r, CK_ROLE_READ, "x"));
	CK_ASSERT(!ck_auth_allows(&r, CK_ROLE_WRITE, "x"));
	CK_ASSERT(ck_auth_allows(&r, CK_ROLE_READ, NULL));
	CK_ASSERT(ck_auth_allows(&w, CK_ROLE_WRITE, "x"));
	CK_ASSERT(ck_auth_allows(&w, CK_ROLE_READ, "x"));
	CK_ASSERT(!ck_auth_allows(&w, CK_ROLE_ADMIN, NULL));
	CK_ASSERT(ck_auth_allows(&ad, CK_ROLE_ADMIN, NULL));
	CK_ASSERT(!ck_auth_allows(&anon, CK_ROLE_READ, "x"));

	/* patterns: matching containers only, never repository-wide */
	CK_ASSERT(ck_auth_allows(&web, CK_ROLE_WRITE, "web-1"));
	CK_ASSERT(ck_auth_allows(&web, CK_ROLE_READ, "api"));
	CK_ASSERT(!ck_auth_allows(&web, CK_ROLE_WRITE, "api2"));
	CK_ASSERT(!ck_auth_allows(&web, CK_ROLE_WRITE, "db"));
	CK_ASSERT(!ck_auth_allows(&web, CK_ROLE_WRITE, "xweb-1"));
	CK_ASSERT(!ck_auth_allows(&web, CK_ROLE_ADMIN, "web-1"));
	CK_ASSERT(!ck_auth_allows(&web, CK_ROLE_READ, NULL));
	CK_ASSERT(ck_auth_sees(&web, "web-x"));
	CK_ASSERT(!ck_auth_sees(&web, "db"));
}

static void test_anonymous_and_refs(void)
{
	struct ck_config c;
	struct ck_auth *a, *b;
	struct ck_principal p;
	char err[256];

	ck_config_defaults(&c);
	CK_ASSERT_EQ(ck_config_parse(&c, "anonymous = read\n", "a", err,
				     sizeof(err)),
		     0);
	a = ck_auth_new(&c);
	CK_ASSERT(a);
	CK_ASSERT_EQ(ck_auth_count(a), 0);
	CK_ASSERT_EQ(ck_auth_check(a, NULL, &p), 0);
	CK_ASSERT_EQ(p.role, CK_ROLE_READ);
	CK_ASSERT(ck_auth_allows(&p, CK_ROLE_READ, "any"));
	CK_ASSERT(!ck_auth_allows(&p, CK_ROLE_WRITE, "any"));
	/* a wrong token is 401 even when anonymous reads are allowed */
	CK_ASSERT_EQ(ck_auth_check(a, "Bearer nope-nope-nope-nope", &p),
		     -EACCES);
	b = ck_auth_ref(a);
	CK_ASSERT(b == a);
	CK_ASSERT(!ck_auth_unref(a));
	CK_ASSERT_EQ(ck_auth_check(b, NULL, &p), 0); /* still alive */
	ck_auth_unref(b);
	ck_config_release(&c);
}

int main(void)
{
	struct ck_config c;
	struct ck_auth *a;
	char err[256];

	test_equal();
	ck_config_defaults(&c);
	CK_ASSERT_EQ(ck_config_parse(&c, conf, "auth.conf", err, sizeof(err)),
		     0);
	a = ck_auth_new(&c);
	CK_ASSERT(a);
	CK_ASSERT_EQ(ck_auth_count(a), 4);
	test_check(a);
	test_allows(a);
	ck_auth_unref(a);
	ck_config_release(&c);
	test_anonymous_and_refs();
	return 0;
}
