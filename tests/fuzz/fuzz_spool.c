/* SPDX-License-Identifier: BSD-2-Clause */
/*
 * The spool's record reader (src/core/spool.c): a segment file is whatever
 * the disk gives back after a crash, a power loss or bit rot. The input is
 * one segment. spool_rec_parse() walked over it must stop at the first
 * torn or corrupt record and never read outside the buffer; a record it
 * accepts must be exactly what spool_rec_header() writes for its fields.
 * Then the same bytes as a segment file on disk: spool_open() keeps the
 * records of the walk, sets aside the rest byte for byte, and hands back
 * the same batches in the same order.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "spool.h"
#include "util.h"

#define MAX_RECS 4096

static char dir[64];

/* Empty and remove DIR/spool without a shell: this runs once per input. */
static void clean(void)
{
	char path[128], file[400];
	struct dirent *de;
	DIR *d;

	snprintf(path, sizeof(path), "%s/spool", dir);
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.') {
			snprintf(file, sizeof(file), "%s/%s", path, de->d_name);
			FUZZ_CHECK(unlink(file) == 0, "unlink %s", file);
		}
	closedir(d);
	FUZZ_CHECK(rmdir(path) == 0, "rmdir %s", path);
}

static void remove_dir(void)
{
	clean();
	if (rmdir(dir) < 0)
		fprintf(stderr, "fuzz_spool: cannot remove %s\n", dir);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct spool_rec recs[MAX_RECS];
	size_t n = 0, off = 0;

	while (off < size && n < MAX_RECS) {
		struct spool_rec rec;
		ssize_t r = spool_rec_parse(data + off, size - off, &rec);
		uint8_t hdr[SPOOL_HDR_LEN];

		FUZZ_CHECK(r == 0 || r == -EBADMSG ||
				   (r >= SPOOL_HDR_LEN && (size_t)r <= size - off),
			   "parse gave %zd for %zu bytes", r, size - off);
		if (r <= 0)
			break;
		FUZZ_CHECK((size_t)r == SPOOL_HDR_LEN + rec.len, "size %zd, payload %u", r,
			   rec.len);
		FUZZ_CHECK(rec.payload == data + off + SPOOL_HDR_LEN, "payload outside the record");
		spool_rec_header(hdr, rec.payload, rec.len, rec.count, rec.ts_ns);
		FUZZ_CHECK(!memcmp(hdr, data + off, SPOOL_HDR_LEN),
			   "accepted a header it would not write");
		recs[n++] = rec;
		off += (size_t)r;
	}
	if (n == MAX_RECS)
		return 0;

	/* The same bytes as the one segment of a spool. */
	if (!dir[0]) {
		snprintf(dir, sizeof(dir), "/tmp/lt-fuzz-spool-XXXXXX");
		FUZZ_CHECK(mkdtemp(dir), "mkdtemp");
		atexit(remove_dir);
	}
	clean();
	char path[128], err[256], note[512];
	struct spool_conf c;
	struct spool_stats st;
	struct spool *sp = NULL;

	snprintf(path, sizeof(path), "%s/spool", dir);
	FUZZ_CHECK(mkdir(path, 0700) == 0, "mkdir %s", path);
	snprintf(path, sizeof(path), "%s/spool/%016x.seg", dir, 7);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0600);
	FUZZ_CHECK(fd >= 0 && write(fd, data, size) == (ssize_t)size, "write %s", path);
	close(fd);
	snprintf(path, sizeof(path), "%s/spool", dir);
	spool_conf_defaults(&c);
	c.size_max = 1ull << 40;
	FUZZ_CHECK(spool_open(path, &c, &sp, note, sizeof(note), err, sizeof(err)) == 0, "open: %s",
		   err);
	spool_get_stats(sp, &st);
	FUZZ_CHECK(st.batches == n, "%llu batches kept, %zu parsed", (unsigned long long)st.batches,
		   n);
	FUZZ_CHECK(st.bytes + st.set_aside_bytes == size, "kept %llu + set aside %llu != %zu",
		   (unsigned long long)st.bytes, (unsigned long long)st.set_aside_bytes, size);
	FUZZ_CHECK((off < size) == (note[0] != '\0'), "note '%s' with %zu of %zu bytes good", note,
		   off, size);
	for (size_t i = 0; i < n; i++) {
		const void *p;
		size_t len;
		uint32_t count;

		FUZZ_CHECK(spool_peek(sp, 0, &p, &len, &count) == 0, "batch %zu missing", i);
		FUZZ_CHECK(len == recs[i].len && count == recs[i].count &&
				   !memcmp(p, recs[i].payload, len),
			   "batch %zu differs", i);
		spool_pop(sp);
	}
	const void *p;
	size_t len;
	uint32_t count;
	FUZZ_CHECK(spool_peek(sp, 0, &p, &len, &count) == -ENOENT, "more batches than parsed");
	spool_close(sp);
	return 0;
}
