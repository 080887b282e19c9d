/*
 * versus_sqlite - SQLite's side of the side-by-side benchmark: the tables
 * of versus_sql.h in one file in WAL mode with synchronous=FULL, one writer
 * connection that the N client threads take turns on, one transaction
 * (BEGIN IMMEDIATE ... COMMIT) per transition.  A client's latency
 * includes its wait for the connection, as it would behind a server.
 *
 *   versus_sqlite --file DB [--preload K] [--clients N --seconds S]
 *
 * Bytes written and peak RSS are this process's own (/proc/self).
 */
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include "versus.h"
#include "versus_sql.h"

static sqlite3 *db;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

enum { FIND, HIST, UPD, DEL, INS, NEWC, NEWH, NEWL, NSTMT };
static sqlite3_stmt *st[NSTMT];
static const char *const SQL[NSTMT] = {
	[FIND] = "SELECT c.workflow, c.stage, c.seq, c.last_gseq, t.to_stage, t.sla_s"
		 " FROM cases c JOIN transitions t ON t.stage = c.stage AND t.event = ?2"
		 " AND (t.guard_field IS NULL OR json_extract(c.fields, '$.' || t.guard_field)"
		 " = t.guard_value) WHERE c.id = ?1 ORDER BY t.ord LIMIT 1",
	[HIST] = "INSERT INTO history(case_id, seq, prev, at, actor, kind, event, from_stage,"
		 " to_stage, fields) VALUES (?1, ?2, ?3, ?4, 'bench', ?5, ?6, ?7, ?8, ?9)",
	[UPD] = "UPDATE cases SET stage = ?2, seq = ?3, fields = json_patch(fields, ?4),"
		" updated = ?5, stage_since = ?5, due = ?6, last_gseq = ?7 WHERE id = ?1",
	[DEL] = "DELETE FROM bystage WHERE workflow = ?1 AND stage = ?2 AND case_id = ?3",
	[INS] = "INSERT INTO bystage VALUES (?1, ?2, ?3, ?4, ?5)",
	[NEWC] = "INSERT INTO cases(workflow, stage, seq, fields, created, updated, stage_since,"
		 " due, last_gseq) VALUES (1, 'received', 1, json(?1), ?2, ?2, ?2, ?3, 0)",
	[NEWH] = "UPDATE cases SET last_gseq = ?2 WHERE id = ?1",
	[NEWL] = "INSERT INTO bystage VALUES (1, 'received', ?1, ?2, ?3)",
};

static const char SCHEMA[] =
	"PRAGMA journal_mode=WAL;\n"
	"CREATE TABLE transitions(ord int, stage text, event text, to_stage text,"
	" guard_field text, guard_value text, sla_s int);\n"
	"CREATE INDEX tr_se ON transitions(stage, event);\n"
	"CREATE TABLE cases(id INTEGER PRIMARY KEY, workflow int NOT NULL, stage text NOT NULL,"
	" seq int NOT NULL, fields text NOT NULL, created int NOT NULL, updated int NOT NULL,"
	" stage_since int NOT NULL, due int, last_gseq int NOT NULL);\n"
	"CREATE INDEX cases_due ON cases(due) WHERE due IS NOT NULL;\n"
	"CREATE TABLE history(gseq INTEGER PRIMARY KEY, case_id int NOT NULL, seq int NOT NULL,"
	" prev int NOT NULL, at int NOT NULL, actor text NOT NULL, kind text NOT NULL,"
	" event text, from_stage text, to_stage text, fields text NOT NULL);\n"
	"CREATE TABLE bystage(workflow int, stage text, case_id int, entered int NOT NULL,"
	" due int, PRIMARY KEY(workflow, stage, case_id)) WITHOUT ROWID;\n";

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int exec(const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) == SQLITE_OK)
		return 0;
	fprintf(stderr, "versus_sqlite: %s\n", msg ? msg : sqlite3_errmsg(db));
	sqlite3_free(msg);
	return -1;
}

static int step_done(sqlite3_stmt *s)
{
	int rc = sqlite3_step(s);
	sqlite3_reset(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	fprintf(stderr, "versus_sqlite: %s\n", sqlite3_errmsg(db));
	return -1;
}

static int open_db(const char *file)
{
	if (sqlite3_open(file, &db) != SQLITE_OK) {
		fprintf(stderr, "versus_sqlite: %s: %s\n", file, sqlite3_errmsg(db));
		return -1;
	}
	return exec("PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL;");
}

static int prepare(void)
{
	for (int i = 0; i < NSTMT; i++)
		if (sqlite3_prepare_v2(db, SQL[i], -1, &st[i], NULL) != SQLITE_OK) {
			fprintf(stderr, "versus_sqlite: %s\n", sqlite3_errmsg(db));
			return -1;
		}
	return 0;
}

static void bind_due(sqlite3_stmt *s, int i, int64_t t, int sla_s)
{
	if (sla_s > 0)
		sqlite3_bind_int64(s, i, t + (int64_t)sla_s * 1000);
	else
		sqlite3_bind_null(s, i);
}

/* A new case; its id into *id.  Inside a transaction. */
static int create(const char *fields, int64_t t, sqlite3_int64 *id, int closed)
{
	sqlite3_bind_text(st[NEWC], 1, fields, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st[NEWC], 2, t);
	bind_due(st[NEWC], 3, t, 86400);
	if (step_done(st[NEWC]))
		return -1;
	*id = sqlite3_last_insert_rowid(db);
	for (int i = 0; i < (closed ? VERSUS_PER_CASE : 1); i++) {
		sqlite3_stmt *h = st[HIST];
		sqlite3_bind_int64(h, 1, *id);
		sqlite3_bind_int(h, 2, i + 1);
		sqlite3_bind_int64(h, 3, 0);
		sqlite3_bind_int64(h, 4, t);
		sqlite3_bind_text(h, 5, i ? "event" : "create", -1, SQLITE_STATIC);
		sqlite3_bind_text(h, 6, i ? versus_route[i - 1].event : NULL, -1, SQLITE_STATIC);
		sqlite3_bind_null(h, 7);
		sqlite3_bind_text(h, 8, "received", -1, SQLITE_STATIC);
		sqlite3_bind_text(h, 9, i ? versus_route[i - 1].fields : fields, -1, SQLITE_STATIC);
		if (step_done(h))
			return -1;
	}
	sqlite3_bind_int64(st[NEWH], 1, *id);
	sqlite3_bind_int64(st[NEWH], 2, sqlite3_last_insert_rowid(db));
	if (step_done(st[NEWH]))
		return -1;
	if (closed)
		return 0;
	sqlite3_bind_int64(st[NEWL], 1, *id);
	sqlite3_bind_int64(st[NEWL], 2, t);
	bind_due(st[NEWL], 3, t, 86400);
	return step_done(st[NEWL]);
}

static int preload(long k)
{
	char *tr = NULL;
	size_t len;
	FILE *f = open_memstream(&tr, &len);
	int64_t t = now_ms();
	sqlite3_int64 id;

	versus_sql_transitions(f);
	fclose(f);
	int rc = exec(SCHEMA) || exec(tr) || prepare() || exec("BEGIN");
	free(tr);
	if (rc)
		return -1;
	/* Closed cases as the route leaves them: stage, fields, 11 entries. */
	for (long i = 0; i < k; i++)
		if (create(versus_new_fields, t, &id, 1))
			return -1;
	return exec("UPDATE cases SET stage = 'closed', seq = 11, due = NULL;"
		    "INSERT INTO bystage SELECT 1, 'closed', id, created, NULL FROM cases;"
		    "COMMIT; PRAGMA wal_checkpoint(TRUNCATE);");
}

static void *sq_open(int client, void *arg)
{
	(void)client;
	return arg;
}

static void sq_close(void *s)
{
	(void)s;
}

static int sq_create(void *s, char *id, size_t size)
{
	sqlite3_int64 n = 0;
	int rc;

	(void)s;
	pthread_mutex_lock(&lock);
	rc = exec("BEGIN IMMEDIATE") || create(versus_new_fields, now_ms(), &n, 0) || exec("COMMIT");
	if (rc)
		exec("ROLLBACK");
	pthread_mutex_unlock(&lock);
	snprintf(id, size, "%lld", (long long)n);
	return rc ? -1 : 0;
}

static int transition(sqlite3_int64 id, const versus_step *step)
{
	sqlite3_stmt *s = st[FIND];
	int64_t t = now_ms();

	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, step->event, -1, SQLITE_STATIC);
	if (sqlite3_step(s) != SQLITE_ROW) {
		fprintf(stderr, "versus_sqlite: case %lld: event %s not allowed\n", (long long)id,
			step->event);
		sqlite3_reset(s);
		return -1;
	}
	int wf = sqlite3_column_int(s, 0), seq = sqlite3_column_int(s, 2) + 1;
	int sla = sqlite3_column_int(s, 5);
	sqlite3_int64 prev = sqlite3_column_int64(s, 3);
	char from[32], to[32];
	snprintf(from, sizeof from, "%s", (const char *)sqlite3_column_text(s, 1));
	snprintf(to, sizeof to, "%s", (const char *)sqlite3_column_text(s, 4));
	sqlite3_reset(s);

	s = st[HIST];
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_int(s, 2, seq);
	sqlite3_bind_int64(s, 3, prev);
	sqlite3_bind_int64(s, 4, t);
	sqlite3_bind_text(s, 5, "event", -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, step->event, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, to, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 9, step->fields, -1, SQLITE_STATIC);
	if (step_done(s))
		return -1;
	s = st[UPD];
	sqlite3_bind_int64(s, 1, id);
	sqlite3_bind_text(s, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, seq);
	sqlite3_bind_text(s, 4, step->fields, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 5, t);
	bind_due(s, 6, t, sla);
	sqlite3_bind_int64(s, 7, sqlite3_last_insert_rowid(db));
	if (step_done(s))
		return -1;
	s = st[DEL];
	sqlite3_bind_int(s, 1, wf);
	sqlite3_bind_text(s, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, id);
	if (step_done(s))
		return -1;
	s = st[INS];
	sqlite3_bind_int(s, 1, wf);
	sqlite3_bind_text(s, 2, to, -1, SQLITE_STATIC);
	sqlite3_bind_int64(s, 3, id);
	sqlite3_bind_int64(s, 4, t);
	bind_due(s, 5, t, sla);
	return step_done(s);
}

static int sq_advance(void *s, const char *id, const versus_step *step)
{
	int rc;

	(void)s;
	pthread_mutex_lock(&lock);
	rc = exec("BEGIN IMMEDIATE") || transition(atoll(id), step) || exec("COMMIT");
	if (rc)
		exec("ROLLBACK");
	pthread_mutex_unlock(&lock);
	return rc ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"file", required_argument, NULL, 'f'},
		{"preload", required_argument, NULL, 'k'},
		{"clients", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 't'},
		{0},
	};
	static const versus_peer peer = {sq_open, sq_create, sq_advance, sq_close};
	const char *file = NULL;
	int o, clients = 0, rc = 0;
	long k = -1;
	double seconds = 10;
	versus_result r;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'f': file = optarg; break;
		case 'k': k = atol(optarg); break;
		case 'n': clients = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		default:
			fprintf(stderr, "usage: versus_sqlite --file DB [--preload K] "
				"[--clients N --seconds S]\n");
			return 2;
		}
	}
	if (!file || open_db(file))
		return 2;
	if (k >= 0)
		rc = preload(k) ? 1 : 0;
	else if (prepare())
		rc = 1;
	if (!rc && clients > 0) {
		long long w0 = versus_write_bytes(0);
		rc = versus_run(&peer, db, clients, seconds, &r) ? 1 : 0;
		long long w1 = versus_write_bytes(0);
		versus_print("sqlite", clients, &r,
			     r.transitions ? (double)(w1 - w0) / (double)r.transitions : -1,
			     versus_hwm_kb(0), 1);
	}
	for (int i = 0; i < NSTMT; i++)
		sqlite3_finalize(st[i]);
	sqlite3_close(db);
	return rc;
}
