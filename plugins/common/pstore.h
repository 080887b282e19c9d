/*
 * pstore.h - what the shipped plugins share: JSON files under the Docket
 * home, updated atomically under a lock, and calendar dates.
 *
 * Each plugin keeps its files in a directory of its own under the home
 * (HOME/inventory, HOME/invoices, ...).  An update takes an exclusive
 * flock on FILE.lock, reads FILE (absent: an empty object), lets the
 * caller change the document, and replaces FILE by writing FILE.tmp,
 * fsyncing it and renaming it over FILE, then fsyncing the directory: a
 * crash leaves the old file or the new one, never half of either, and two
 * hosts never update the same file at once.
 *
 * Linked statically into each plugin with hidden visibility: none of this
 * is exported.  Errors are one line in a caller's buffer.
 */
#ifndef DOCKET_PSTORE_H
#define DOCKET_PSTORE_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#define PSTORE_ERR 512

/* Change doc (the file's content, an object) and return 0 to write it,
 * 1 to leave the file as it is, or -1 with err filled to abandon. */
typedef int (*pstore_fn)(json_t *doc, void *ctx, char *err, size_t errlen);

/* Create dir and its parents (0755); 0 or -1 with err. */
int pstore_mkdirs(const char *dir, char *err, size_t errlen);

/* Update path as described above.  Returns 0, or -1 with err (the file
 * unreadable, not a JSON object, or the disk refused). */
int pstore_update(const char *path, pstore_fn fn, void *ctx, char *err, size_t errlen);

/* Read path: *doc is a new object, or NULL when the file does not exist.
 * Returns 0 or -1 with err. */
int pstore_read(const char *path, json_t **doc, char *err, size_t errlen);

/* Write doc to path atomically (tmp, fsync, rename, fsync dir). */
int pstore_write(const char *path, const json_t *doc, char *err, size_t errlen);

/* An idempotency key or case id as a file name: "SO-12#3" -> "SO-12.3". */
void pstore_file_name(const char *key, char *buf, size_t size);

/* Days since 1970-01-01 of a UTC time in ms. */
int32_t pstore_day(int64_t ms);

/* "YYYY-MM-DD" of a day number; buf of at least 11 bytes. */
void pstore_date(int32_t day, char *buf, size_t size);

/* Parse "YYYY-MM-DD" into a day number; 0 or -1. */
int pstore_parse_date(const char *s, int32_t *day);

/* RFC 3339 UTC time of ms ("2024-05-01T09:30:00.000Z"); buf of 32 bytes. */
void pstore_time(int64_t ms, char *buf, size_t size);

/* Days a duration in seconds spans, rounded up (30d -> 30, 36h -> 2). */
int32_t pstore_days(int64_t seconds);

#endif
