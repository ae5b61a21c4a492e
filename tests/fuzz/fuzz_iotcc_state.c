/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The IoTCC state file (iotcc_state_load/save in src/dcc/iotcc_proto.c): the
 * uuids IoTCC gave, read back at start. The input is the file. Every entry
 * loaded must be one IoTCC could have given (names it accepts, ids of
 * [A-Za-z0-9-]); saving them and loading the result must give them back.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>

#include "dcc/iotcc_proto.h"
#include "fuzz.h"

static char dir[64];

static void remove_dir(void)
{
	char p[96];

	snprintf(p, sizeof(p), "%s/in.json", dir);
	unlink(p);
	rmdir(dir);
}

static void check_saved(const struct iotcc_saved *s)
{
	char err[256];
	const char *ids[2] = { s->id, s->uuid };

	FUZZ_CHECK(!iotcc_check_text("kind", s->kind, IOTCC_NAME_MAX, err, sizeof(err)), "%s", err);
	FUZZ_CHECK(!iotcc_check_text("name", s->name, IOTCC_NAME_MAX, err, sizeof(err)), "%s", err);
	for (int i = 0; i < 2; i++)
		FUZZ_CHECK(*ids[i] && strlen(ids[i]) <= IOTCC_ID_MAX &&
				   strspn(ids[i],
					  "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
					  "0123456789-") == strlen(ids[i]),
			   "id '%s'", ids[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct iotcc_saved *v = NULL, *w = NULL;
	size_t n = 0, m = 0;
	char path[96], saved[96], err[512];
	int fd, r;

	/*
	 * A folder of our own, as liotad's state folder (0700), once per process;
	 * in memory when possible, as saving fsyncs (361 runs/s on a disk).
	 */
	if (!dir[0]) {
		const char *tmp = getenv("TMPDIR");

		if (!tmp)
			tmp = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
		snprintf(dir, sizeof(dir), "%s/liotad-fuzz-XXXXXX", tmp);
		FUZZ_CHECK(mkdtemp(dir), "mkdtemp %s", dir);
		atexit(remove_dir);
	}
	snprintf(path, sizeof(path), "%s/in.json", dir);
	snprintf(saved, sizeof(saved), "%s/state.json", dir);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	FUZZ_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size, "write %s", path);
	close(fd);

	r = iotcc_state_load(path, &v, &n, err, sizeof(err));
	FUZZ_CHECK(r == 0 || r == -EBADMSG, "%d", r);
	if (r < 0) {
		FUZZ_CHECK(!v && !n, "entries of a refused file");
		return 0;
	}
	for (size_t i = 0; i < n; i++)
		check_saved(&v[i]);
	FUZZ_CHECK(iotcc_state_save(saved, v, n, err, sizeof(err)) == 0, "save: %s", err);
	FUZZ_CHECK(iotcc_state_load(saved, &w, &m, err, sizeof(err)) == 0, "load: %s", err);
	FUZZ_CHECK(m == n, "%zu entries saved, %zu loaded", n, m);
	for (size_t i = 0; i < n; i++) /* strings: bytes after their NUL may differ */
		FUZZ_CHECK(!strcmp(v[i].kind, w[i].kind) && !strcmp(v[i].name, w[i].name) &&
				   !strcmp(v[i].id, w[i].id) && !strcmp(v[i].uuid, w[i].uuid),
			   "entry %zu changed", i);
	unlink(saved);
	free(v);
	free(w);
	return 0;
}
