/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IoTCC response parser (iotcc_parse in src/dcc/iotcc_proto.c): every
 * message on the response topic or the WebSocket, from the broker or anyone
 * its ACL lets publish there. An accepted response must hold only what the
 * protocol allows (a known type, ids of [A-Za-z0-9-], a printable result,
 * kind and name, a uuid only for create_or_find), the same fields written
 * again as a response must parse to the same response, and it must match a
 * request for the entity it names, and no request of another type or for
 * another id.
 */
#include <errno.h>
#include <jansson.h>
#include <string.h>

#include "dcc/iotcc_proto.h"
#include "fuzz.h"

static void check_id(const char *what, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	FUZZ_CHECK(n < size, "%s not terminated", what);
	FUZZ_CHECK(strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-") ==
				   n &&
			   strcmp(s, "null") != 0,
		   "%s '%s'", what, s);
}

static void check_printable(const char *what, const char *s, size_t size)
{
	size_t n = strnlen(s, size);

	FUZZ_CHECK(n < size, "%s not terminated", what);
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(s[i] >= 0x20 && s[i] < 0x7f, "%s byte %#x", what, (unsigned char)s[i]);
}

/* The response written again from what iotcc_parse() kept of it. */
static char *rewrite(const struct iotcc_resp *r)
{
	char type[64];
	json_t *body = json_object(), *root;
	char *text;

	snprintf(type, sizeof(type), "%s_response", iotcc_type_name(r->type));
	/* An empty result that made the response fail must stay there. */
	if (r->result[0] || !r->ok)
		json_object_set_new(body, "result", json_string(r->result));
	if (r->id[0])
		json_object_set_new(body, "id", json_string(r->id));
	if (r->uuid[0])
		json_object_set_new(body, "uuid", json_string(r->uuid));
	if (r->kind[0])
		json_object_set_new(body, "kind", json_string(r->kind));
	if (r->name[0])
		json_object_set_new(body, "name", json_string(r->name));

	root = json_pack("{s:I, s:i, s:s, s:o}", "transactionID", (json_int_t)r->tid, "version",
			 IOTCC_VERSION, "type", type, "body", body);
	FUZZ_CHECK(root, "no memory");
	text = json_dumps(root, JSON_COMPACT);
	json_decref(root);
	FUZZ_CHECK(text, "no memory");
	return text;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iotcc_resp r, again;
	char err[256];
	int ret = iotcc_parse((const char *)data, size, &r, err, sizeof(err));

	FUZZ_CHECK(ret == 0 || ret == -EBADMSG || ret == -EPROTO || ret == -ENOMSG ||
			   (ret == -EMSGSIZE && size > IOTCC_MSG_MAX),
		   "%d", ret);
	FUZZ_CHECK(ret == 0 || strnlen(err, sizeof(err)) > 0, "no reason for %d", ret);
	if (ret < 0)
		return 0;
	FUZZ_CHECK((unsigned)r.type < IOTCC_NTYPES, "type %d", r.type);
	FUZZ_CHECK(r.tid <= INT64_MAX, "tid %llu", (unsigned long long)r.tid);
	if (r.uuid[0])
		check_id("uuid", r.uuid, sizeof(r.uuid));
	if (r.id[0])
		check_id("id", r.id, sizeof(r.id));
	check_printable("result", r.result, sizeof(r.result));
	check_printable("kind", r.kind, sizeof(r.kind));
	check_printable("name", r.name, sizeof(r.name));

	FUZZ_CHECK(r.type == IOTCC_CREATE || !r.uuid[0], "uuid in a %s response",
		   iotcc_type_name(r.type));
	FUZZ_CHECK(!r.ok || r.type != IOTCC_CREATE || r.uuid[0], "create ok without a uuid");

	char *text = rewrite(&r);
	FUZZ_CHECK(iotcc_parse(text, strlen(text), &again, err, sizeof(err)) == 0, "'%s': %s", text,
		   err);
	FUZZ_CHECK(again.tid == r.tid && again.type == r.type && again.ok == r.ok &&
			   !strcmp(again.uuid, r.uuid) && !strcmp(again.id, r.id) &&
			   !strcmp(again.result, r.result) && !strcmp(again.kind, r.kind) &&
			   !strcmp(again.name, r.name),
		   "'%s' does not parse as the response it came from", text);
	free(text);

	struct iotcc_ref ent = { r.kind[0] ? r.kind : "k", r.id[0] ? r.id : "i",
				 r.name[0] ? r.name : "n" };
	FUZZ_CHECK(iotcc_resp_matches(&r, r.type, &ent, err, sizeof(err)), "own entity: %s", err);
	FUZZ_CHECK(!iotcc_resp_matches(&r, (r.type + 1) % IOTCC_NTYPES, &ent, err, sizeof(err)),
		   "matches a request of another type");
	ent.id = "another-id";
	FUZZ_CHECK(!r.id[0] || strcmp(r.id, ent.id) == 0 ||
			   !iotcc_resp_matches(&r, r.type, &ent, err, sizeof(err)),
		   "body.id %s matches another entity", r.id);
	return 0;
}
