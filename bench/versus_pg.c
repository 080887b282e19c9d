/*
 * versus_pg - PostgreSQL's side of the side-by-side benchmark (bench/run.sh
 * starts the server).  One transition is one call of a PL/pgSQL function in
 * its own transaction (autocommit, synchronous_commit=on): lock and read the
 * case, check the event is allowed (and its guard), append the history
 * entry, rewrite the case with its new deadline, move its by-stage entry.
 * A function, so a transition costs one round trip, the best a team would
 * do by hand.
 *
 *   versus_pg --conninfo STR --server-pid PID [--preload K]
 *             [--clients N --seconds S]
 *
 * --preload creates the schema and K closed cases of 11 history entries.
 * Bytes written and memory are the whole server's: /proc/PID/io of the
 * postmaster (which inherits the counts of the backends it reaps) and its
 * children, and the largest sum of their proportional set sizes (Pss:
 * shared buffers are counted once) sampled every 50 ms.
 */
#include <dirent.h>
#include <getopt.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "versus.h"
#include "versus_sql.h"

static const char *conninfo;
static pid_t server;

static const char SCHEMA[] =
	"CREATE TABLE transitions(ord int, stage text, event text, to_stage text,"
	" guard_field text, guard_value text, sla_s int);\n"
	"CREATE INDEX ON transitions(stage, event);\n"
	"CREATE TABLE cases(id bigserial PRIMARY KEY, workflow int NOT NULL,"
	" stage text NOT NULL, seq int NOT NULL, fields jsonb NOT NULL,"
	" created timestamptz NOT NULL, updated timestamptz NOT NULL,"
	" stage_since timestamptz NOT NULL, due timestamptz, last_gseq bigint NOT NULL);\n"
	"CREATE INDEX cases_due ON cases(due) WHERE due IS NOT NULL;\n"
	"CREATE TABLE history(gseq bigserial PRIMARY KEY, case_id bigint NOT NULL,"
	" seq int NOT NULL, prev bigint NOT NULL, at timestamptz NOT NULL, actor text NOT NULL,"
	" kind text NOT NULL, event text, from_stage text, to_stage text, fields jsonb NOT NULL);\n"
	"CREATE TABLE bystage(workflow int, stage text, case_id bigint,"
	" entered timestamptz NOT NULL, due timestamptz, PRIMARY KEY(workflow, stage, case_id));\n"
	"CREATE FUNCTION bench_new(p_fields jsonb) RETURNS bigint AS $$\n"
	"DECLARE v_id bigint; g bigint; t timestamptz := clock_timestamp(); BEGIN\n"
	"  INSERT INTO cases(workflow, stage, seq, fields, created, updated, stage_since, due,"
	"   last_gseq) VALUES (1, 'received', 1, p_fields, t, t, t, t + interval '1 day', 0)"
	"   RETURNING cases.id INTO v_id;\n"
	"  INSERT INTO history(case_id, seq, prev, at, actor, kind, to_stage, fields)"
	"   VALUES (v_id, 1, 0, t, 'bench', 'create', 'received', p_fields) RETURNING gseq INTO g;\n"
	"  UPDATE cases SET last_gseq = g WHERE cases.id = v_id;\n"
	"  INSERT INTO bystage VALUES (1, 'received', v_id, t, t + interval '1 day');\n"
	"  RETURN v_id;\n"
	"END $$ LANGUAGE plpgsql;\n"
	"CREATE FUNCTION bench_advance(p_case bigint, p_event text, p_fields jsonb)"
	" RETURNS int AS $$\n"
	"DECLARE c cases%ROWTYPE; tr transitions%ROWTYPE; g bigint; t timestamptz := clock_timestamp();"
	" d timestamptz; BEGIN\n"
	"  SELECT * INTO c FROM cases WHERE id = p_case FOR UPDATE;\n"
	"  IF NOT FOUND THEN RAISE EXCEPTION 'no case %', p_case; END IF;\n"
	"  SELECT * INTO tr FROM transitions WHERE stage = c.stage AND event = p_event"
	"   AND (guard_field IS NULL OR c.fields->>guard_field = guard_value) ORDER BY ord LIMIT 1;\n"
	"  IF NOT FOUND THEN RAISE EXCEPTION 'event % not allowed in %', p_event, c.stage; END IF;\n"
	"  d := CASE WHEN tr.sla_s > 0 THEN t + make_interval(secs => tr.sla_s) END;\n"
	"  INSERT INTO history(case_id, seq, prev, at, actor, kind, event, from_stage, to_stage,"
	"   fields) VALUES (p_case, c.seq + 1, c.last_gseq, t, 'bench', 'event', p_event, c.stage,"
	"   tr.to_stage, p_fields) RETURNING gseq INTO g;\n"
	"  UPDATE cases SET stage = tr.to_stage, seq = c.seq + 1, fields = c.fields || p_fields,"
	"   updated = t, stage_since = t, due = d, last_gseq = g WHERE id = p_case;\n"
	"  DELETE FROM bystage WHERE workflow = c.workflow AND stage = c.stage AND case_id = p_case;\n"
	"  INSERT INTO bystage VALUES (c.workflow, tr.to_stage, p_case, t, d);\n"
	"  RETURN c.seq + 1;\n"
	"END $$ LANGUAGE plpgsql;\n";

/* K closed cases as the route leaves them, 11 entries each. */
static const char PRELOAD[] =
	"INSERT INTO cases(workflow, stage, seq, fields, created, updated, stage_since, due,"
	" last_gseq) SELECT 1, 'closed', 11, $1::jsonb, now(), now(), now(), NULL, 0"
	" FROM generate_series(1, $2::int);\n";
static const char PRELOAD_HISTORY[] =
	"INSERT INTO history(case_id, seq, prev, at, actor, kind, event, from_stage, to_stage,"
	" fields) SELECT c.id, s, 0, now(), 'bench', 'event', 'paid', 'collection', 'closed',"
	" '{\"paid_on\": \"2025-08-12\"}' FROM cases c, generate_series(1, 11) s ORDER BY c.id, s;\n"
	"INSERT INTO bystage SELECT 1, 'closed', id, now(), NULL FROM cases;\n";

static int ok(PGresult *r, PGconn *c, const char *what)
{
	ExecStatusType s = PQresultStatus(r);
	int good = s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;

	if (!good)
		fprintf(stderr, "versus_pg: %s: %s", what, PQerrorMessage(c));
	PQclear(r);
	return good ? 0 : -1;
}

static int setup(long k)
{
	PGconn *c = PQconnectdb(conninfo);
	char *tr = NULL, kbuf[32];
	size_t len;
	FILE *f = open_memstream(&tr, &len);
	int rc = -1;

	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "versus_pg: %s", PQerrorMessage(c));
		goto out;
	}
	versus_sql_transitions(f);
	fclose(f);
	snprintf(kbuf, sizeof kbuf, "%ld", k);
	const char *params[2] = {versus_new_fields, kbuf};
	if (ok(PQexec(c, SCHEMA), c, "schema") || ok(PQexec(c, tr), c, "transitions") ||
	    ok(PQexecParams(c, PRELOAD, 2, NULL, params, NULL, NULL, 0), c, "preload") ||
	    ok(PQexec(c, PRELOAD_HISTORY), c, "preload history") ||
	    ok(PQexec(c, "VACUUM ANALYZE"), c, "vacuum") ||
	    ok(PQexec(c, "CHECKPOINT"), c, "checkpoint"))
		goto out;
	rc = 0;
out:
	free(tr);
	PQfinish(c);
	return rc;
}

static void *pg_open(int client, void *arg)
{
	PGconn *c = PQconnectdb(conninfo);

	(void)client;
	(void)arg;
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "versus_pg: %s", PQerrorMessage(c));
		PQfinish(c);
		return NULL;
	}
	return c;
}

static int pg_create(void *st, char *id, size_t size)
{
	const char *params[1] = {versus_new_fields};
	PGresult *r = PQexecParams(st, "SELECT bench_new($1)", 1, NULL, params, NULL, NULL, 0);

	if (PQresultStatus(r) != PGRES_TUPLES_OK)
		return ok(r, st, "new");
	snprintf(id, size, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

static int pg_advance(void *st, const char *id, const versus_step *step)
{
	const char *params[3] = {id, step->event, step->fields};
	return ok(PQexecParams(st, "SELECT bench_advance($1, $2, $3)", 3, NULL, params, NULL,
			       NULL, 0), st, "advance");
}

static void pg_close(void *st)
{
	PQfinish(st);
}

/* The postmaster and its children: fn(pid) for each. */
static void each_server_pid(void (*fn)(pid_t, void *), void *ctx)
{
	DIR *d = opendir("/proc");
	struct dirent *e;
	char path[64], line[256];

	fn(server, ctx);
	while (d && (e = readdir(d))) {
		pid_t pid = (pid_t)atoi(e->d_name);
		if (pid <= 0 || pid == server)
			continue;
		snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
		FILE *f = fopen(path, "r");
		while (f && fgets(line, sizeof line, f))
			if (!strncmp(line, "PPid:", 5)) {
				if (atoi(line + 5) == server)
					fn(pid, ctx);
				break;
			}
		if (f)
			fclose(f);
	}
	if (d)
		closedir(d);
}

static void add_written(pid_t pid, void *ctx)
{
	long long w = versus_write_bytes(pid);
	*(long long *)ctx += w > 0 ? w : 0;
}

static void add_pss(pid_t pid, void *ctx)
{
	char path[64], line[256];

	snprintf(path, sizeof path, "/proc/%d/smaps_rollup", (int)pid);
	FILE *f = fopen(path, "r");
	while (f && fgets(line, sizeof line, f))
		if (!strncmp(line, "Pss:", 4)) {
			*(long long *)ctx += atoll(line + 4);
			break;
		}
	if (f)
		fclose(f);
}

static void count(pid_t pid, void *ctx)
{
	(void)pid;
	++*(int *)ctx;
}

static long long server_written(void)
{
	long long w = 0;
	each_server_pid(add_written, &w);
	return w;
}

static int server_procs(void)
{
	int n = 0;
	each_server_pid(count, &n);
	return n;
}

static volatile int sampling;
static long long peak_kb;

static void *sampler(void *p)
{
	(void)p;
	while (sampling) {
		long long kb = 0;
		each_server_pid(add_pss, &kb);
		if (kb > peak_kb)
			peak_kb = kb;
		usleep(50000);
	}
	return NULL;
}

static int run(int clients, double seconds)
{
	static const versus_peer peer = {pg_open, pg_create, pg_advance, pg_close};
	versus_result r;
	pthread_t t;
	int procs = server_procs();
	long long w0 = server_written();

	sampling = 1;
	pthread_create(&t, NULL, sampler, NULL);
	int rc = versus_run(&peer, NULL, clients, seconds, &r);
	sampling = 0;
	pthread_join(t, NULL);
	/* The backends' counts reach the postmaster when it reaps them. */
	for (int i = 0; i < 200 && server_procs() > procs; i++)
		usleep(10000);
	long long w1 = server_written();
	versus_print("postgresql", clients, &r,
		     r.transitions ? (double)(w1 - w0) / (double)r.transitions : -1, peak_kb, 1);
	return rc ? 1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"conninfo", required_argument, NULL, 'c'},
		{"server-pid", required_argument, NULL, 'p'},
		{"preload", required_argument, NULL, 'k'},
		{"clients", required_argument, NULL, 'n'},
		{"seconds", required_argument, NULL, 't'},
		{0},
	};
	int o, clients = 0;
	long k = -1;
	double seconds = 10;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'c': conninfo = optarg; break;
		case 'p': server = (pid_t)atoi(optarg); break;
		case 'k': k = atol(optarg); break;
		case 'n': clients = atoi(optarg); break;
		case 't': seconds = atof(optarg); break;
		default:
			fprintf(stderr, "usage: versus_pg --conninfo STR --server-pid PID "
				"[--preload K] [--clients N --seconds S]\n");
			return 2;
		}
	}
	if (!conninfo || server <= 0) {
		fprintf(stderr, "versus_pg: give --conninfo and --server-pid\n");
		return 2;
	}
	if (k >= 0 && setup(k))
		return 1;
	return clients > 0 ? run(clients, seconds) : 0;
}
