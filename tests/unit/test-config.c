/* SPDX-License-Identifier: MIT */
/*
 * test-config.c - ckstored's settings: defaults, the INI file, errors
 * with their line, tokens, sizes, overrides.
 */
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "testlib.h"

static void test_defaults(void)
{
	struct ck_config c;
	char err[256];

	ck_config_defaults(&c);
	CK_ASSERT(!strcmp(c.listen, "127.0.0.1"));
	CK_ASSERT_EQ(c.port, 8431);
	CK_ASSERT_EQ(c.max_body, 64u << 20);
	CK_ASSERT_EQ(c.anonymous, CK_ROLE_NONE);
	CK_ASSERT(c.metrics_auth);
	CK_ASSERT(!c.tls);
	/* no tokens, no anonymous access: refused as a whole */
	CK_ASSERT_EQ(ck_config_check(&c, err, sizeof(err)), -EINVAL);
	CK_ASSERT(strstr(err, "nobody could use the server"));
	ck_config_release(&c);
}

static void test_file(void)
{
	static const char text[] =
		"# comment\n"
		"port = 9000 ; inline comment\n"
		"max_body = 8m\n"
		"max_json = 16k\n"
		"tls = no\n"
		"anonymous = read\n"
		"\n"
		"[token node1]\n"
		"secret = 0123456789abcdef0123\n"
		"role = write\n"
		"containers = web-* db, cache-?\n"
		"[token ops]\n"
		"secret = fedcba9876543210fedc\n"
		"role = admin\n";
	struct ck_config c;
	char err[256];

	ck_config_defaults(&c);
	CK_ASSERT_EQ(ck_config_parse(&c, text, "t.conf", err, sizeof(err)), 0);
	CK_ASSERT_EQ(c.port, 9000);
	CK_ASSERT_EQ(c.max_body, 8u << 20);
	CK_ASSERT_EQ(c.max_json, 16u << 10);
	CK_ASSERT_EQ(c.anonymous, CK_ROLE_READ);
	CK_ASSERT_EQ(c.ntokens, 2);
	CK_ASSERT(!strcmp(c.tokens[0].name, "node1"));
	CK_ASSERT_EQ(c.tokens[0].role, CK_ROLE_WRITE);
	CK_ASSERT_EQ(c.tokens[0].secret_len, 20);
	CK_ASSERT_EQ(c.tokens[0].npat, 3);
	CK_ASSERT(!strcmp(c.tokens[0].pat[0], "web-*"));
	CK_ASSERT(!strcmp(c.tokens[0].pat[2], "cache-?"));
	CK_ASSERT_EQ(c.tokens[1].role, CK_ROLE_ADMIN);
	CK_ASSERT_EQ(c.tokens[1].npat, 0);
	CK_ASSERT_EQ(ck_config_check(&c, err, sizeof(err)), 0);
	/* flags win over the file */
	CK_ASSERT_EQ(ck_config_set(&c, "port", "0", err, sizeof(err)), 0);
	CK_ASSERT_EQ(c.port, 0);
	ck_config_release(&c);
}

/* @text must fail; its message must hold @where and @what. */
static void bad(const char *text, const char *where, const char *what)
{
	struct ck_config c;
	char err[256] = "";

	ck_config_defaults(&c);
	CK_ASSERT_EQ(ck_config_parse(&c, text, "b.conf", err, sizeof(err)),
		     -EINVAL);
	if (!strstr(err, where) || !strstr(err, what)) {
		fprintf(stderr, "unexpected message: %s\n", err);
		CK_ASSERT(0);
	}
	ck_config_release(&c);
}

static void test_errors(void)
{
	bad("port = 70000\n", "b.conf:1:", "out of range");
	bad("\nport = 12x\n", "b.conf:2:", "not a number");
	bad("port = -1\n", "b.conf:1:", "not a number");
	bad("max_body = 1k\n", "b.conf:1:", "out of range");
	bad("max_body = 5q\n", "b.conf:1:", "not a number");
	bad("tls = maybe\n", "b.conf:1:", "not yes or no");
	bad("anonymous = root\n", "b.conf:1:", "not one of");
	bad("log_level = loud\n", "b.conf:1:", "not one of");
	bad("frobnicate = 1\n", "b.conf:1:", "unknown directive 'frobnicate'");
	bad("[server]\nport = 1\n", "b.conf:2:", "unknown section");
	bad("[token a]\nsecret = short\nrole = read\n", "b.conf:2:",
	    "16 to 256 bytes");
	bad("[token a]\nsecret = has space in it 0123\nrole = read\n",
	    "b.conf:2:", "without spaces");
	bad("[token a]\nsecret = 0123456789abcdef\nrole = root\n",
	    "b.conf:3:", "not one of read, write, admin");
	bad("[token a]\nsecret = 0123456789abcdef\nrolle = read\n",
	    "b.conf:3:", "unknown key 'rolle'");
	bad("[token a]\nrole = read\n", "b.conf", "needs a secret and a role");
	bad("[token a/b]\nrole = read\n", "b.conf:2:", "token name");
	bad("[token a]\nsecret = 0123456789abcdef\nrole = read\n"
	    "[token b]\nsecret = 0123456789abcdef\nrole = write\n",
	    "b.conf", "have the same secret");
	bad("[token a]\nsecret_file = /nonexistent/x\nrole = read\n",
	    "b.conf:2:", "cannot read secret_file");
	bad("port\n", "b.conf:1:", "syntax error");
}

static void test_tls_check(void)
{
	struct ck_config c;
	char err[256];

	ck_config_defaults(&c);
	CK_ASSERT_EQ(ck_config_set(&c, "anonymous", "admin", err, sizeof(err)),
		     0);
	CK_ASSERT_EQ(ck_config_set(&c, "tls", "yes", err, sizeof(err)), 0);
	CK_ASSERT_EQ(ck_config_check(&c, err, sizeof(err)), -EINVAL);
	CK_ASSERT(strstr(err, "tls_cert"));
	ck_config_release(&c);
}

static void test_secret_file(void)
{
	char *dir = ck_test_tmpdir("config");
	char path[4096], text[5000];
	struct ck_config c;
	char err[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/secret", dir);
	f = fopen(path, "w");
	CK_ASSERT(f);
	fputs("from-a-file-0123456789\n", f);
	fclose(f);
	snprintf(text, sizeof(text),
		 "[token f]\nsecret_file = %s\nrole = read\n", path);
	ck_config_defaults(&c);
	CK_ASSERT_EQ(ck_config_parse(&c, text, "f.conf", err, sizeof(err)), 0);
	CK_ASSERT(!strcmp(c.tokens[0].secret, "from-a-file-0123456789"));
	ck_config_release(&c);
	ck_test_rmdir(dir);
}

int main(void)
{
	test_defaults();
	test_file();
	test_errors();
	test_tls_check();
	test_secret_file();
	return 0;
}
