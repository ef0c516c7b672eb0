/* SPDX-License-Identifier: MIT */
#include "retention.h"
#include "testlib.h"

#define NS 1000000000LL

static struct ck_version mk(uint32_t seq, uint32_t group, bool complete,
			    int64_t age_s, int64_t now)
{
	struct ck_version v = { 0 };

	v.seq = seq;
	v.vid = seq;
	v.group = group;
	v.complete = complete;
	v.created_ns = now - age_s * NS;
	return v;
}

static void test_groups(void)
{
	/* Five groups of 3: the thesis keeps the newest 3 groups. */
	struct ck_policy p = CK_POLICY_DEFAULT;
	struct ck_version vs[15];
	unsigned keep[15];
	int64_t now = 1000000 * NS;

	for (uint32_t i = 0; i < 15; i++)
		vs[i] = mk(i + 1, i / 3 * 3 + 1, true, 100 - i, now);
	ck_retention_plan(vs, 15, &p, now, keep);
	for (int i = 0; i < 6; i++)
		CK_ASSERT(keep[i] == 0);
	for (int i = 6; i < 15; i++)
		CK_ASSERT(keep[i] & CK_KEEP_GROUP);
	CK_ASSERT(keep[14] & CK_KEEP_LATEST);
}

static void test_last_within_pinned(void)
{
	struct ck_policy p = { .keep_groups = 1, .keep_last = 4,
			       .keep_within = 50, .expire_incomplete = 0 };
	struct ck_version vs[10];
	unsigned keep[10];
	int64_t now = 1000000 * NS;

	for (uint32_t i = 0; i < 10; i++)
		vs[i] = mk(i + 1, i + 1, true, 100 * (10 - (int64_t)i), now);
	vs[0].pinned = true;
	vs[9].created_ns = now - 10 * NS; /* within 50 s */
	ck_retention_plan(vs, 10, &p, now, keep);
	CK_ASSERT(keep[0] == CK_KEEP_PINNED);
	for (int i = 1; i < 6; i++)
		CK_ASSERT(keep[i] == 0);
	for (int i = 6; i < 10; i++)
		CK_ASSERT(keep[i] & CK_KEEP_LAST);
	CK_ASSERT(keep[9] & CK_KEEP_WITHIN);
	CK_ASSERT(keep[9] & CK_KEEP_GROUP);
	CK_ASSERT(!(keep[8] & CK_KEEP_GROUP));
}

static void test_incomplete(void)
{
	struct ck_policy p = { .keep_groups = 10, .expire_incomplete = 60 };
	struct ck_version vs[4];
	unsigned keep[4];
	int64_t now = 1000000 * NS;

	vs[0] = mk(1, 1, true, 500, now);
	vs[1] = mk(2, 2, false, 400, now);  /* old incomplete: expires */
	vs[2] = mk(3, 3, true, 300, now);
	vs[3] = mk(4, 4, false, 10, now);   /* young incomplete: kept */
	ck_retention_plan(vs, 4, &p, now, keep);
	CK_ASSERT(keep[0] & CK_KEEP_GROUP);
	CK_ASSERT(keep[1] == 0);
	CK_ASSERT(keep[2] & CK_KEEP_LATEST); /* newest complete */
	CK_ASSERT(keep[3] & CK_KEEP_GROUP);
	vs[1].pinned = true;
	ck_retention_plan(vs, 4, &p, now, keep);
	CK_ASSERT(keep[1] == CK_KEEP_PINNED);
	/* The newest complete version survives even a policy keeping
	 * nothing. */
	p.keep_groups = 0;
	p.expire_incomplete = 1;
	vs[1].pinned = false;
	ck_retention_plan(vs, 4, &p, now, keep);
	CK_ASSERT(keep[0] == 0 && keep[1] == 0 && keep[3] == 0);
	CK_ASSERT(keep[2] == CK_KEEP_LATEST);
}

static void test_durations(void)
{
	int64_t v;

	CK_ASSERT(ck_duration_parse("90", &v) == 0 && v == 90);
	CK_ASSERT(ck_duration_parse("15m", &v) == 0 && v == 900);
	CK_ASSERT(ck_duration_parse("2h", &v) == 0 && v == 7200);
	CK_ASSERT(ck_duration_parse("7d", &v) == 0 && v == 604800);
	CK_ASSERT(ck_duration_parse("", &v) == -EINVAL);
	CK_ASSERT(ck_duration_parse("5x", &v) == -EINVAL);
	CK_ASSERT(ck_duration_parse("-5", &v) == -EINVAL);
	CK_ASSERT(ck_duration_parse("5hh", &v) == -EINVAL);
	CK_ASSERT(ck_duration_parse("99999999999999999999d", &v) == -EINVAL);
}

int main(void)
{
	test_groups();
	test_last_within_pinned();
	test_incomplete();
	test_durations();
	return 0;
}
