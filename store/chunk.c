/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <string.h>

#include "chunk.h"
#include "endian.h"

int ck_chunk_parse(const void *rec, size_t len, struct ck_chunk_hdr *ret)
{
	const uint8_t *p = rec;
	struct ck_chunk_hdr h = { 0 };

	if (len < CK_CHUNK_HDR || p[0] != CK_CHUNK_FORMAT)
		return -EBADMSG;
	h.enc = p[1];
	h.depth = p[2];
	h.flags = p[3];
	if (h.flags & ~CK_CHUNK_LIST)
		return -EBADMSG;
	h.raw_len = ck_get_le32(p + 4);
	if (h.raw_len == 0 || h.raw_len > CK_CHUNK_MAX)
		return -EBADMSG;
	switch (h.enc) {
	case CK_ENC_RAW:
		if (h.depth != 0 || len - CK_CHUNK_HDR != h.raw_len)
			return -EBADMSG;
		h.body_off = CK_CHUNK_HDR;
		break;
	case CK_ENC_ZSTD:
	case CK_ENC_ZDICT:
		if (h.depth != 0 || len == CK_CHUNK_HDR)
			return -EBADMSG;
		h.body_off = CK_CHUNK_HDR;
		break;
	case CK_ENC_DELTA:
		if (h.depth < 1 || h.depth > CK_DELTA_MAX_DEPTH ||
		    len <= CK_CHUNK_HDR_DELTA)
			return -EBADMSG;
		memcpy(h.base.b, p + CK_CHUNK_HDR, CK_ID_SIZE);
		h.body_off = CK_CHUNK_HDR_DELTA;
		break;
	default:
		return -EBADMSG;
	}
	*ret = h;
	return 0;
}

size_t ck_chunk_write_hdr(const struct ck_chunk_hdr *h, void *dst)
{
	uint8_t *p = dst;

	p[0] = CK_CHUNK_FORMAT;
	p[1] = (uint8_t)h->enc;
	p[2] = h->depth;
	p[3] = h->flags;
	ck_put_le32(p + 4, h->raw_len);
	if (h->enc != CK_ENC_DELTA)
		return CK_CHUNK_HDR;
	memcpy(p + CK_CHUNK_HDR, h->base.b, CK_ID_SIZE);
	return CK_CHUNK_HDR_DELTA;
}
