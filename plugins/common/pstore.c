/*
 * pstore.c - atomic JSON files and dates for the shipped plugins.
 */
#include "pstore.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_FILE (16u << 20)

static int fail(char *err, size_t errlen, const char *what, const char *path)
{
	snprintf(err, errlen, "%s %s: %s", what, path, strerror(errno));
	return -1;
}

int pstore_mkdirs(const char *dir, char *err, size_t errlen)
{
	char buf[4096];
	size_t n = strlen(dir);

	if (n >= sizeof buf) {
		snprintf(err, errlen, "path too long: %s", dir);
		return -1;
	}
	memcpy(buf, dir, n + 1);
	for (size_t i = 1; i <= n; i++) {
		if (buf[i] != '/' && buf[i] != '\0')
			continue;
		char c = buf[i];
		buf[i] = '\0';
		if (mkdir(buf, 0755) && errno != EEXIST)
			return fail(err, errlen, "cannot create", buf);
		buf[i] = c;
	}
	return 0;
}

static int parent_dir(const char *path, char *dir, size_t size)
{
	const char *slash = strrchr(path, '/');
	size_t n = slash ? (size_t)(slash - path) : 1;

	if (n >= size)
		return -1;
	memcpy(dir, slash ? path : ".", n);
	dir[n] = '\0';
	if (!n) {
		dir[0] = '/';
		dir[1] = '\0';
	}
	return 0;
}

int pstore_read(const char *path, json_t **doc, char *err, size_t errlen)
{
	json_error_t jerr;
	struct stat st;
	int fd;

	*doc = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : fail(err, errlen, "cannot read", path);
	if (fstat(fd, &st) || st.st_size > (off_t)MAX_FILE) {
		close(fd);
		snprintf(err, errlen, "%s is over %u bytes or unreadable", path, MAX_FILE);
		return -1;
	}
	/* Whole, in one read: jansson's fd reader takes a byte per read(2),
	 * which made a warehouse of many reservations cost seconds a run. */
	char *text = malloc((size_t)st.st_size + 1);
	size_t have = 0;
	ssize_t n = 1;
	while (text && have < (size_t)st.st_size &&
	       (n = read(fd, text + have, (size_t)st.st_size - have)) > 0)
		have += (size_t)n;
	if (!text || n < 0) {
		fail(err, errlen, "cannot read", path);
		free(text);
		close(fd);
		return -1;
	}
	close(fd);
	*doc = json_loadb(text, have, JSON_REJECT_DUPLICATES, &jerr);
	free(text);
	if (!*doc || !json_is_object(*doc)) {
		snprintf(err, errlen, "%s:%d:%d: %s", path, jerr.line, jerr.column,
			 *doc ? "not a JSON object" : jerr.text);
		json_decref(*doc);
		*doc = NULL;
		return -1;
	}
	return 0;
}

/* The document and a newline in as few write(2)s as the kernel takes
 * (json_dumpfd writes a token at a time). */
static int write_doc(int fd, const json_t *doc)
{
	char *text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	size_t len, off = 0;
	ssize_t n = 0;

	if (!text) {
		errno = ENOMEM;
		return -1;
	}
	len = strlen(text);
	text[len] = '\n';      /* over the NUL, which is not written */
	while (off < len + 1 && (n = write(fd, text + off, len + 1 - off)) > 0)
		off += (size_t)n;
	free(text);
	return off == len + 1 ? 0 : -1;
}

int pstore_write(const char *path, const json_t *doc, char *err, size_t errlen)
{
	char tmp[4096], dir[4096];
	int fd, dfd;

	if ((size_t)snprintf(tmp, sizeof tmp, "%s.tmp", path) >= sizeof tmp ||
	    parent_dir(path, dir, sizeof dir)) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	if (pstore_mkdirs(dir, err, errlen))
		return -1;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(err, errlen, "cannot write", tmp);
	if (write_doc(fd, doc) || fsync(fd)) {
		fail(err, errlen, "cannot write", tmp);
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path)) {
		fail(err, errlen, "cannot replace", path);
		unlink(tmp);
		return -1;
	}
	/* The rename is durable only once the directory is. */
	dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	return 0;
}

int pstore_update(const char *path, pstore_fn fn, void *ctx, char *err, size_t errlen)
{
	char lock[4096], dir[4096];
	json_t *doc;
	int fd, rc;

	if ((size_t)snprintf(lock, sizeof lock, "%s.lock", path) >= sizeof lock ||
	    parent_dir(path, dir, sizeof dir)) {
		snprintf(err, errlen, "path too long: %s", path);
		return -1;
	}
	if (pstore_mkdirs(dir, err, errlen))
		return -1;
	fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return fail(err, errlen, "cannot open", lock);
	/* Released by close(), and by the kernel if the host is killed. */
	while ((rc = flock(fd, LOCK_EX)) && errno == EINTR)
		;
	if (rc) {
		fail(err, errlen, "cannot lock", lock);
		close(fd);
		return -1;
	}
	rc = pstore_read(path, &doc, err, errlen);
	if (!rc && !doc && !(doc = json_object())) {
		snprintf(err, errlen, "out of memory");
		rc = -1;
	}
	if (!rc) {
		rc = fn(doc, ctx, err, errlen);
		if (rc == 0)
			rc = pstore_write(path, doc, err, errlen);
		else if (rc > 0)
			rc = 0;
	}
	json_decref(doc);
	close(fd);
	return rc;
}

void pstore_file_name(const char *key, char *buf, size_t size)
{
	size_t i;

	for (i = 0; key[i] && i + 1 < size; i++) {
		char c = key[i];
		buf[i] = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
				 c == '-' || c == '_' ? c : '.';
	}
	if (size)
		buf[i] = '\0';
}

int32_t pstore_day(int64_t ms)
{
	int64_t s = ms / 1000 - (ms % 1000 < 0);
	return (int32_t)(s / 86400 - (s % 86400 < 0));
}

void pstore_date(int32_t day, char *buf, size_t size)
{
	time_t t = (time_t)day * 86400;
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(buf, size, "%Y-%m-%d", &tm);
}

int pstore_parse_date(const char *s, int32_t *day)
{
	struct tm tm;
	char check[16];

	memset(&tm, 0, sizeof tm);
	if (!s || strlen(s) != 10 || sscanf(s, "%4d-%2d-%2d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday) != 3)
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	time_t t = timegm(&tm);
	*day = (int32_t)(t / 86400);
	pstore_date(*day, check, sizeof check);
	return strcmp(check, s) ? -1 : 0;   /* 2024-02-30 does not round-trip */
}

void pstore_time(int64_t ms, char *buf, size_t size)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char base[24];

	gmtime_r(&t, &tm);
	strftime(base, sizeof base, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, size, "%s.%03dZ", base, (int)(ms % 1000));
}

int32_t pstore_days(int64_t seconds)
{
	return (int32_t)((seconds + 86399) / 86400);
}
