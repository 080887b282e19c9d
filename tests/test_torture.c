/*
 * The torture suite: docketd killed with SIGKILL at random moments while
 * clients create and advance cases through stages run by the stock and
 * noop plugins, and the faults an operator meets (a tiny first map, a
 * reader slot left by a killed process, a full disk), and abuse that must
 * not cost a working client its latency.
 *
 * Invariants checked after every restart: every transition a client saw
 * acknowledged is there, the store passes its check, an id is never handed
 * out twice, and each plugin stage entry is committed once (the stock
 * plugin reserves one unit per case, so the warehouse counts it).
 * TORTURE_ROUNDS sets the number of kill -9 rounds (default 20).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <lmdb.h>

#include "dclient.h"
#include "engine.h"
#include "frame.h"

#define WAIT_MS 30000
#define REC 40                  /* one ack record: "N TT-123 ...\n" padded */

static const char wf_yaml[] =
	"workflow: tort\n"
	"version: 1\n"
	"title: Torture case\n"
	"prefix: TT\n"
	"roles: [clerk]\n"
	"fields:\n"
	"  product: {type: string}\n"
	"  quantity: {type: integer, min: 1}\n"
	"  note: {type: string}\n"
	"  in_stock: {type: integer, min: 0}\n"     /* the stock plugin sets these */
	"  reserved: {type: integer, min: 0}\n"
	"start: open\n"
	"stages:\n"
	"  open:\n"
	"    owner: clerk\n"
	"    sla: 1d\n"
	"    on:\n"
	"      go: {to: stock, roles: [clerk]}\n"
	"  stock:\n"
	"    owner: clerk\n"
	"    sla: 1d\n"
	"    action: {plugin: stock, with: {warehouse: main, reserve: true}, timeout: 10s,\n"
	"             retry: {max: 5, backoff: 1s}}\n"
	"    on:\n"
	"      in_stock: {to: fast}\n"
	"      short: {to: short}\n"
	"  fast:\n"
	"    owner: clerk\n"
	"    sla: 1d\n"
	"    action: {plugin: noop, timeout: 10s, retry: {max: 5, backoff: 1s}}\n"
	"    on:\n"
	"      done: {to: end}\n"
	"  short: {terminal: true}\n"
	"  end: {terminal: true}\n";

static const char *docketd_path, *plugins_dir;

typedef struct daemon {
	pid_t pid;
	char dir[64], home[128], sock[160], wf[128], log[128];
} daemon_t;

static daemon_t *live;          /* killed by the teardown of a failed test */

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	assert_int_equal(fclose(f), 0);
}

static int64_t now_us(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000 + t.tv_nsec / 1000;
}

/* A temporary directory with home/ (docket.yaml, a stocked warehouse) and
 * wf/tort.yaml.  home_dir, when not NULL, is used as the home instead. */
static void dm_init(daemon_t *dm, const char *config, const char *home_dir)
{
	char path[256];

	memset(dm, 0, sizeof *dm);
	dm->pid = -1;
	live = dm;
	snprintf(dm->dir, sizeof dm->dir, "/tmp/docket-torture-XXXXXX");
	assert_non_null(mkdtemp(dm->dir));
	snprintf(dm->home, sizeof dm->home, "%s", home_dir ? home_dir : "");
	if (!home_dir) {
		snprintf(dm->home, sizeof dm->home, "%s/home", dm->dir);
		assert_int_equal(mkdir(dm->home, 0750), 0);
	}
	snprintf(dm->sock, sizeof dm->sock, "%s/docketd.sock", dm->home);
	snprintf(dm->wf, sizeof dm->wf, "%s/wf", dm->dir);
	snprintf(dm->log, sizeof dm->log, "%s/docketd.log", dm->dir);
	assert_int_equal(mkdir(dm->wf, 0755), 0);
	snprintf(path, sizeof path, "%s/tort.yaml", dm->wf);
	write_file(path, wf_yaml);
	snprintf(path, sizeof path, "%s/docket.yaml", dm->home);
	write_file(path, config ? config : "users:\n  alice: [clerk]\n");
	snprintf(path, sizeof path, "%s/inventory", dm->home);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof path, "%s/inventory/main.json", dm->home);
	write_file(path, "{\"items\": {\"P\": {\"on_hand\": 100000000, \"reserved\": 0}}}\n");
}

/* Start docketd and wait until it answers hello (polling the socket: its
 * log goes to a file, so nothing has to drain a pipe while clients run). */
static void dm_start(daemon_t *dm)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int log = open(dm->log, O_WRONLY | O_CREAT | O_APPEND, 0644);
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(log, 2);
		execl(docketd_path, docketd_path, "--home", dm->home, "--workflows", dm->wf,
		      "--plugins", plugins_dir, (char *)NULL);
		_exit(127);
	}
	dm->pid = pid;
	for (int64_t end = now_us() + WAIT_MS * 1000LL; now_us() < end;) {
		dclient c;
		if (dclient_open(&c, dm->sock) == 0) {
			json_t *r = dclient_call(&c, NULL, "hello", NULL);
			dclient_close(&c);
			if (r) {
				json_decref(r);
				return;
			}
		}
		if (waitpid(pid, NULL, WNOHANG) == pid) {
			dm->pid = -1;
			fail_msg("docketd exited at start; see %s", dm->log);
		}
		poll(NULL, 0, 10);
	}
	fail_msg("docketd did not answer within %d ms", WAIT_MS);
}

static void dm_kill(daemon_t *dm)
{
	if (dm->pid > 0) {
		kill(dm->pid, SIGKILL);
		waitpid(dm->pid, NULL, 0);
	}
	dm->pid = -1;
}

static int dm_stop(daemon_t *dm)
{
	int st;
	/* kill(-1, ...) would signal every process we may signal. */
	assert_true(dm->pid > 0);
	kill(dm->pid, SIGTERM);
	assert_int_equal(waitpid(dm->pid, &st, 0), dm->pid);
	dm->pid = -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void dm_free(daemon_t *dm)
{
	dm_kill(dm);
	if (getenv("DOCKETD_TEST_LOG")) {
		char cmd[200];
		snprintf(cmd, sizeof cmd, "cat %s >&2", dm->log);
		if (system(cmd)) {}
	}
	if (dm->dir[0])
		nftw(dm->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	live = NULL;
}

static int reap(void **state)
{
	(void)state;
	if (live)
		dm_free(live);
	return 0;
}

/* --- calls ------------------------------------------------------------- */

static json_t *call(dclient *c, const char *as, const char *op, json_t *args)
{
	json_t *r = dclient_call(c, as, op, args);
	if (!r)
		fail_msg("no answer to %s", op);
	return r;
}

static json_t *ok(json_t *reply)
{
	if (!json_is_true(json_object_get(reply, "ok"))) {
		char *s = json_dumps(reply, 0);
		print_error("expected ok, got %s\n", s);
		free(s);
		fail();
	}
	return json_object_get(reply, "result");
}

static const char *sget(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static json_t *new_case(dclient *c, const char *note)
{
	return dclient_call(c, "alice", "new", json_pack("{s:s, s:{s:s, s:s, s:s}}",
		"workflow", "tort", "fields", "product", "P", "quantity", "1", "note", note));
}

static json_t *advance(dclient *c, const char *id)
{
	return dclient_call(c, "alice", "advance",
			    json_pack("{s:s, s:s}", "case", id, "event", "go"));
}

static void check_clean(dclient *c)
{
	json_t *r = call(c, NULL, "check", NULL);
	json_t *res = ok(r);
	if (!json_is_true(json_object_get(res, "ok"))) {
		char *s = json_dumps(res, 0);
		fail_msg("docket check is not clean: %s", s);
	}
	json_decref(r);
}

/* --- kill -9 rounds -------------------------------------------------------- */

/* A client: create a case, advance it, again, until the daemon goes away.
 * Every acknowledgement goes to fd as one fixed-size record (atomic in a
 * pipe): "N id" for a creation, "A id" for an advance. */
static void client(const char *sock, int fd)
{
	dclient me;
	char rec[REC];

	if (dclient_open(&me, sock))
		_exit(0);
	for (;;) {
		json_t *r = new_case(&me, "torture");
		if (!r || !json_is_true(json_object_get(r, "ok")))
			_exit(0);
		char id[32];
		snprintf(id, sizeof id, "%s", sget(json_object_get(r, "result"), "id"));
		json_decref(r);
		snprintf(rec, sizeof rec, "N %-*s\n", REC - 4, id);
		if (write(fd, rec, REC) != REC)
			_exit(1);
		r = advance(&me, id);
		if (!r || !json_is_true(json_object_get(r, "ok")))
			_exit(0);
		json_decref(r);
		rec[0] = 'A';
		if (write(fd, rec, REC) != REC)
			_exit(1);
	}
}

typedef struct acks {
	char (*ids)[32];
	bool *advanced;
	size_t n, cap;
} acks;

static size_t ack_find(const acks *a, const char *id)
{
	for (size_t i = a->n; i-- > 0;)
		if (!strcmp(a->ids[i], id))
			return i;
	return (size_t)-1;
}

static void ack_add(acks *a, const char *rec)
{
	char id[32];
	sscanf(rec + 2, "%31s", id);
	size_t i = ack_find(a, id);
	if (rec[0] == 'A') {
		assert_true(i != (size_t)-1);
		a->advanced[i] = true;
		return;
	}
	/* A creation acknowledged under an id seen before: reused. */
	if (i != (size_t)-1)
		fail_msg("case id %s was handed out twice", id);
	if (a->n == a->cap) {
		a->cap = a->cap ? a->cap * 2 : 1024;
		a->ids = realloc(a->ids, a->cap * sizeof *a->ids);
		a->advanced = realloc(a->advanced, a->cap * sizeof *a->advanced);
		assert_true(a->ids && a->advanced);
	}
	snprintf(a->ids[a->n], 32, "%s", id);
	a->advanced[a->n++] = false;
}

/* After a restart: the acks of the last round (from index `from`) are all
 * there, the created ones at least created, the advanced ones past open. */
static void verify_since(dclient *c, const acks *a, size_t from)
{
	for (size_t i = from; i < a->n; i++) {
		json_t *r = call(c, NULL, "show", json_pack("{s:s}", "case", a->ids[i]));
		const char *stage = sget(ok(r), "stage");
		if (a->advanced[i] && !strcmp(stage, "open"))
			fail_msg("%s: its acknowledged advance is lost", a->ids[i]);
		json_decref(r);
	}
	check_clean(c);
}

/* Wait until case id leaves the plugin stages; its stage. */
/* How many cases wait for a plugin (in stock or fast). */
static long waiting_for_plugins(dclient *c)
{
	json_t *r = call(c, NULL, "stats", json_pack("{s:s}", "workflow", "tort"));
	json_t *wf = json_array_get(json_object_get(ok(r), "workflows"), 0), *st;
	long n = 0;
	size_t i;

	json_array_foreach(json_object_get(wf, "stages"), i, st) {
		const char *name = sget(st, "stage");
		if (!strcmp(name, "stock") || !strcmp(name, "fast"))
			n += (long)json_integer_value(json_object_get(st, "count"));
	}
	json_decref(r);
	return n;
}

/* The stage a case settles in once the plugins are done with it.  The
 * kill -9 rounds leave a backlog of plugin runs that can take longer than
 * WAIT_MS to work off (stock writes its warehouse file durably), and the
 * outbox runs oldest first: so the wait ends when no case has left a
 * plugin stage for WAIT_MS, not WAIT_MS after this case's turn began. */
static char *settle(dclient *c, const char *id)
{
	int64_t end = now_us() + WAIT_MS * 1000LL, looked = now_us();
	long backlog = waiting_for_plugins(c);

	for (;;) {
		json_t *r = call(c, NULL, "show", json_pack("{s:s}", "case", id));
		char *stage = strdup(sget(ok(r), "stage"));
		json_decref(r);
		if ((strcmp(stage, "stock") && strcmp(stage, "fast")) || now_us() > end)
			return stage;
		free(stage);
		poll(NULL, 0, 5);
		if (now_us() - looked > 1000000) {
			long n = waiting_for_plugins(c);
			if (n < backlog)
				end = now_us() + WAIT_MS * 1000LL;
			backlog = n;
			looked = now_us();
		}
	}
}

static long reserved(const daemon_t *dm)
{
	char path[256];
	snprintf(path, sizeof path, "%s/inventory/main.json", dm->home);
	json_t *doc = json_load_file(path, 0, NULL);
	assert_non_null(doc);
	long n = (long)json_integer_value(json_object_get(
		json_object_get(json_object_get(doc, "items"), "P"), "reserved"));
	json_decref(doc);
	return n;
}

/* A case that did not get through: everything that says why, then fail. */
static void stuck_report(dclient *c, const daemon_t *dm, const char *id, const char *stage)
{
	const char *ops[] = {"show", "history"};
	char cmd[600];

	for (size_t i = 0; i < 2; i++) {
		json_t *r = call(c, NULL, ops[i], json_pack("{s:s}", "case", id));
		char *dump = json_dumps(r, JSON_COMPACT);
		print_message("# %s: %s\n", ops[i], dump ? dump : "?");
		free(dump);
		json_decref(r);
	}
	snprintf(cmd, sizeof cmd, "grep -n -e '%s[^0-9]' -e 'quarantin' -e 'warn' %s | tail -60 >&2",
		 id, dm->log);
	if (system(cmd)) {}
	/* The home outlives the test for a post-mortem (docket check, mdb_dump). */
	char keep[200];
	const char *tmp = getenv("TMPDIR");
	snprintf(keep, sizeof keep, "%s/docket-stuck-XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(keep)) {
		snprintf(cmd, sizeof cmd, "cp -a %s %s %s/", dm->home, dm->log, keep);
		if (system(cmd) == 0)
			print_message("# its home is kept in %s/home\n", keep);
	}
	fail_msg("%s stuck in %s", id, stage);
}

static void kill_9_rounds(void **state)
{
	(void)state;
	enum { CLIENTS = 4 };
	const char *env = getenv("TORTURE_ROUNDS");
	int rounds = env ? atoi(env) : 20;
	acks a = {0};
	static daemon_t dm;   /* the teardown reaches it after a failure */
	dclient c;
	size_t from = 0;
	unsigned seed = (unsigned)time(NULL);

	print_message("# kill -9 rounds: %d, seed %u\n", rounds, seed);
	srandom(seed);
	/* Three hosts: runs of stock and noop overlap. */
	dm_init(&dm, "users:\n  alice: [clerk]\nplugin_hosts: 3\n", NULL);
	for (int round = 0; round < rounds; round++) {
		int fds[2];
		pid_t kids[CLIENTS];

		dm_start(&dm);
		assert_int_equal(dclient_open(&c, dm.sock), 0);
		verify_since(&c, &a, from);
		dclient_close(&c);
		from = a.n;
		assert_int_equal(pipe(fds), 0);
		for (int k = 0; k < CLIENTS; k++) {
			kids[k] = fork();
			assert_true(kids[k] >= 0);
			if (kids[k] == 0) {
				close(fds[0]);
				client(dm.sock, fds[1]);
			}
		}
		close(fds[1]);
		/* The plug is pulled after a random number of acks: anywhere
		 * among group commits, plugin runs and their outcomes. */
		long want = 1 + random() % 60, got = 0;
		char rec[REC];
		while (got < want && read(fds[0], rec, REC) == REC) {
			ack_add(&a, rec);
			got++;
		}
		dm_kill(&dm);
		while (read(fds[0], rec, REC) == REC)
			ack_add(&a, rec);
		close(fds[0]);
		for (int k = 0; k < CLIENTS; k++)
			waitpid(kids[k], NULL, 0);
	}
	dm_start(&dm);
	assert_int_equal(dclient_open(&c, dm.sock), 0);
	verify_since(&c, &a, from);
	/* Every advanced case goes through stock and noop to end, and each
	 * stage entry was committed once: 4 entries in its history, one unit
	 * reserved for it in the warehouse. */
	long through_stock = 0;
	for (size_t i = 0; i < a.n; i++) {
		char *stage = settle(&c, a.ids[i]);
		if (strcmp(stage, "open")) {
			through_stock++;
			if (strcmp(stage, "end"))
				stuck_report(&c, &dm, a.ids[i], stage);
			json_t *r = call(&c, NULL, "history", json_pack("{s:s}", "case", a.ids[i]));
			size_t n = json_array_size(json_object_get(ok(r), "history"));
			if (n != 4)
				fail_msg("%s: %zu history entries, not 4", a.ids[i], n);
			json_decref(r);
		}
		free(stage);
	}
	assert_int_equal(reserved(&dm), through_stock);
	/* Ids go on: a new case's id is none of those handed out. */
	json_t *r = new_case(&c, "after");
	char after[REC];
	snprintf(after, sizeof after, "N %s", sget(ok(r), "id"));
	json_decref(r);
	ack_add(&a, after);
	check_clean(&c);
	r = call(&c, NULL, "status", NULL);
	json_t *st = ok(r);
	assert_int_equal(json_integer_value(json_object_get(st, "plugin_hosts")), 3);
	assert_int_equal(json_integer_value(json_object_get(st, "plugin_failures")), 0);
	json_decref(r);
	dclient_close(&c);
	print_message("# %zu cases acknowledged, %ld through the plugins\n", a.n, through_stock);
	assert_true(through_stock > 0);
	assert_int_equal(dm_stop(&dm), 0);
	dm_free(&dm);
	free(a.ids);
	free(a.advanced);
}

/* --- faults ---------------------------------------------------------------- */

/* The smallest map docket.yaml allows fills at once; it grows under four
 * writers and none of them sees an error. */
static void a_tiny_map_grows_unseen(void **state)
{
	(void)state;
	enum { CLIENTS = 4, EACH = 300 };
	static daemon_t dm;   /* the teardown reaches it after a failure */
	pid_t kids[CLIENTS];
	char path[256];
	struct stat st;

	dm_init(&dm, "users:\n  alice: [clerk]\nmap_size: 65536\n", NULL);
	dm_start(&dm);
	for (int k = 0; k < CLIENTS; k++) {
		kids[k] = fork();
		assert_true(kids[k] >= 0);
		if (kids[k] == 0) {
			dclient me;
			char note[2048];
			memset(note, 'x', sizeof note - 1);
			note[sizeof note - 1] = 0;
			if (dclient_open(&me, dm.sock))
				_exit(2);
			for (int i = 0; i < EACH; i++) {
				json_t *r = new_case(&me, note);
				if (!r || !json_is_true(json_object_get(r, "ok")))
					_exit(1);
				json_decref(r);
			}
			dclient_close(&me);
			_exit(0);
		}
	}
	for (int k = 0; k < CLIENTS; k++) {
		int s;
		assert_int_equal(waitpid(kids[k], &s, 0), kids[k]);
		assert_true(WIFEXITED(s));
		assert_int_equal(WEXITSTATUS(s), 0);
	}
	snprintf(path, sizeof path, "%s/store.mdb", dm.home);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_size > 65536 * 8);   /* it did have to grow */
	dclient c;
	assert_int_equal(dclient_open(&c, dm.sock), 0);
	check_clean(&c);
	dclient_close(&c);
	assert_int_equal(dm_stop(&dm), 0);
	dm_free(&dm);
}

/* A process killed inside a read transaction leaves its reader slot taken;
 * the engine's housekeeping finds the dead owner and frees it. */
static void a_stale_reader_slot_is_cleared(void **state)
{
	(void)state;
	docket_engine *eng;
	docket_err err = {0};
	char dir[] = "/tmp/docket-torture-XXXXXX", path[128];
	int ready[2], dead = -1;

	assert_non_null(mkdtemp(dir));
	assert_int_equal(docket_engine_open(dir, NULL, &eng, &err), 0);
	snprintf(path, sizeof path, "%s/store.mdb", dir);
	assert_int_equal(pipe(ready), 0);
	pid_t kid = fork();
	assert_true(kid >= 0);
	if (kid == 0) {
		MDB_env *env;
		MDB_txn *txn;
		if (mdb_env_create(&env) || mdb_env_set_maxdbs(env, 64) ||
		    mdb_env_open(env, path, MDB_NOSUBDIR | MDB_RDONLY, 0644) ||
		    mdb_txn_begin(env, NULL, MDB_RDONLY, &txn))
			_exit(1);
		if (write(ready[1], "r", 1) != 1)
			_exit(1);
		pause();
		_exit(0);
	}
	char b;
	assert_int_equal(read(ready[0], &b, 1), 1);
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	close(ready[0]);
	close(ready[1]);
	assert_int_equal(docket_engine_maintain(eng, &dead, &err), 0);
	assert_int_equal(dead, 1);
	assert_int_equal(docket_engine_maintain(eng, &dead, &err), 0);
	assert_int_equal(dead, 0);
	docket_engine_close(eng);
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* A home on a 2 MB tmpfs: writes are refused clearly once it is full, the
 * store stays whole, and work goes on when space returns.  Needs the right
 * to mount; skipped without it. */
static void a_full_disk_refuses_and_recovers(void **state)
{
	(void)state;
	static daemon_t dm;   /* the teardown reaches it after a failure */
	char mnt[] = "/tmp/docket-tmpfs-XXXXXX", ballast[160];
	dclient c;

	assert_non_null(mkdtemp(mnt));
	if (mount("docket-torture", mnt, "tmpfs", 0, "size=2m") != 0) {
		rmdir(mnt);
		skip();
	}
	/* Space to give back later. */
	snprintf(ballast, sizeof ballast, "%s/ballast", mnt);
	FILE *f = fopen(ballast, "w");
	assert_non_null(f);
	static char mb[512 << 10];
	assert_int_equal(fwrite(mb, 1, sizeof mb, f), sizeof mb);
	assert_int_equal(fclose(f), 0);
	char home[160];
	snprintf(home, sizeof home, "%s/home", mnt);
	assert_int_equal(mkdir(home, 0750), 0);
	dm_init(&dm, "users:\n  alice: [clerk]\nmap_size: 65536\n", home);
	dm_start(&dm);
	assert_int_equal(dclient_open(&c, dm.sock), 0);
	char note[4096];
	memset(note, 'y', sizeof note - 1);
	note[sizeof note - 1] = 0;
	json_t *r = NULL;
	int made = 0;
	for (; made < 5000; made++) {
		r = call(&c, "alice", "new", json_pack("{s:s, s:{s:s}}", "workflow", "tort",
						      "fields", "note", note));
		if (!json_is_true(json_object_get(r, "ok")))
			break;
		json_decref(r);
		r = NULL;
	}
	assert_non_null(r);     /* the disk did fill */
	const char *code = sget(json_object_get(r, "error"), "code");
	print_message("# full after %d cases: %s: %s\n", made, code,
		      sget(json_object_get(r, "error"), "message"));
	assert_string_equal(code, "store");
	/* Said as what it is, not as LMDB's short-write EIO. */
	assert_non_null(strstr(sget(json_object_get(r, "error"), "message"), "is full"));
	json_decref(r);
	check_clean(&c);
	/* Space returns: work goes on, nothing was lost. */
	assert_int_equal(unlink(ballast), 0);
	r = call(&c, "alice", "new", json_pack("{s:s, s:{s:s}}", "workflow", "tort",
					       "fields", "note", "after"));
	ok(r);
	json_decref(r);
	r = call(&c, NULL, "status", NULL);
	ok(r);
	json_decref(r);
	check_clean(&c);
	dclient_close(&c);
	assert_int_equal(dm_stop(&dm), 0);
	dm_free(&dm);
	umount2(mnt, MNT_DETACH);
	rmdir(mnt);
}

/* --- abuse ------------------------------------------------------------------ */

static int cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* p99 of `show` round trips, microseconds; *max, when asked, the longest. */
static int64_t p99_show_max(dclient *c, const char *id, int64_t *max)
{
	enum { N = 300 };
	int64_t t[N];
	for (int i = 0; i < N; i++) {
		int64_t a = now_us();
		json_t *r = call(c, "alice", "show", json_pack("{s:s}", "case", id));
		t[i] = now_us() - a;
		ok(r);
		json_decref(r);
	}
	qsort(t, N, sizeof *t, cmp64);
	if (max)
		*max = t[N - 1];
	return t[N * 99 / 100];
}

static int64_t p99_show(dclient *c, const char *id)
{
	return p99_show_max(c, id, NULL);
}

/* Abuse in a child until killed: garbage, a
 * 100 MB frame header, and clients that ask for a large list and vanish
 * without reading it. */
static void abuser(const char *sock)
{
	static const unsigned char big[4] = {0x06, 0x40, 0, 0};     /* 100 MiB */
	unsigned char junk[512];
	for (size_t i = 0; i < sizeof junk; i++)
		junk[i] = (unsigned char)(i * 131 + 7);
	for (unsigned n = 0;; n++) {
		dclient a;
		if (dclient_open(&a, sock))
			continue;
		fcntl(a.fd, F_SETFL, O_NONBLOCK);
		const char *only = getenv("TORTURE_ABUSE");    /* one kind only */
		switch (only ? (unsigned)atoi(only) : n % 3) {
		case 0: dclient_send_raw(&a, junk, sizeof junk); break;
		case 1: dclient_send_raw(&a, big, sizeof big); break;
		default:
		{
			/* One large reply, walked away from.  (Many of them per
			 * connection: a_backlog_of_reads_waits_its_turn.) */
			json_t *q = dclient_request(&a, NULL, "list", json_pack("{s:i}", "limit", 1000));
			dclient_send(&a, q);
			json_decref(q);
		}
		}
		dclient_close(&a);
		/* About five hundred abusive connections a second.  Unpaced, on two
		 * shared cores, the test would measure the scheduler, not docketd. */
		poll(NULL, 0, 2);
	}
}

static void abuse_keeps_others_latency(void **state)
{
	(void)state;
	enum { IDLE = 1000 };
	static dclient idle[IDLE];
	static daemon_t dm;   /* the teardown reaches it after a failure */
	dclient c;
	char id[32];

	dm_init(&dm, "users:\n  alice: [clerk]\nmax_connections: 1100\n", NULL);
	dm_start(&dm);
	assert_int_equal(dclient_open(&c, dm.sock), 0);
	for (int i = 0; i < 50; i++) {     /* something for `list` to send */
		json_t *r = new_case(&c, "bulk for lists");
		snprintf(id, sizeof id, "%s", sget(ok(r), "id"));
		json_decref(r);
	}
	int64_t base = p99_show(&c, id);
	for (int i = 0; i < IDLE; i++)
		assert_int_equal(dclient_open(&idle[i], dm.sock), 0);
	pid_t kid = fork();
	assert_true(kid >= 0);
	if (kid == 0)
		abuser(dm.sock);
	/* The best of three: a noisy neighbour on a shared machine spoils one
	 * measurement now and then; starvation by the abuse spoils all three. */
	int64_t abused = INT64_MAX;
	for (int i = 0; i < 3 && abused >= 10 * (base > 2000 ? base : 2000); i++) {
		int64_t p = p99_show(&c, id);
		abused = p < abused ? p : abused;
	}
	kill(kid, SIGKILL);
	waitpid(kid, NULL, 0);
	print_message("# show p99: %lld us alone, %lld us under abuse\n",
		      (long long)base, (long long)abused);
	/* A floor of 2 ms: against a baseline of a hundred microseconds, one
	 * scheduling delay on a shared machine would look like a tenfold loss. */
	assert_true(abused < 10 * (base > 2000 ? base : 2000));
	json_t *r = call(&idle[IDLE - 1], NULL, "hello", NULL);
	ok(r);
	json_decref(r);
	for (int i = 0; i < IDLE; i++)
		dclient_close(&idle[i]);
	check_clean(&c);
	dclient_close(&c);
	assert_int_equal(dm_stop(&dm), 0);
	dm_free(&dm);
}

/* Round trip of one `list` of 1000 cases alone, microseconds (median of
 * five): the longest a fair daemon makes others wait for one such read. */
static int64_t list_cost(dclient *c)
{
	int64_t t[5];
	for (int i = 0; i < 5; i++) {
		int64_t a = now_us();
		json_t *r = call(c, NULL, "list", json_pack("{s:i}", "limit", 1000));
		t[i] = now_us() - a;
		assert_int_equal(json_array_size(json_object_get(ok(r), "cases")), 1000);
		json_decref(r);
	}
	qsort(t, 5, sizeof *t, cmp64);
	return t[2];
}

/* n `list limit=1000` requests on a, in one write: all of them are in the
 * daemon before it could answer the first. */
static void pipeline_lists(dclient *a, int n)
{
	unsigned char *all = NULL;
	size_t len = 0;
	for (int i = 0; i < n; i++) {
		json_t *q = dclient_request(a, NULL, "list", json_pack("{s:i}", "limit", 1000));
		unsigned char *buf;
		size_t blen;
		assert_int_equal(docket_frame_encode(q, 1u << 20, &buf, &blen, NULL), 0);
		json_decref(q);
		all = realloc(all, len + blen);
		assert_non_null(all);
		memcpy(all + len, buf, blen);
		len += blen;
		free(buf);
	}
	assert_int_equal(dclient_send_raw(a, all, len), 0);
	free(all);
}

static json_int_t counter(dclient *c, const char *key)
{
	json_t *r = call(c, NULL, "status", NULL);
	json_int_t n = json_integer_value(json_object_get(ok(r), key));
	json_decref(r);
	return n;
}

/* One connection pipelines 300 large lists and does not read; another
 * pipelines as many and hangs up.  Reads take turns, so a working client
 * waits for one of their lists at a time, not for the backlog (it waited
 * minutes when a connection's reads ran all at once), and the backlog of
 * the one that hung up is dropped unrun. */
static void a_backlog_of_reads_waits_its_turn(void **state)
{
	(void)state;
	enum { CASES = 3000, LISTS = 300 };
	static daemon_t dm;   /* the teardown reaches it after a failure */
	dclient c;
	char id[32];

	dm_init(&dm, NULL, NULL);
	dm_start(&dm);
	assert_int_equal(dclient_open(&c, dm.sock), 0);
	for (int made = 0; made < CASES; made += 1000) {
		json_t *batch = json_array();
		for (int i = 0; i < 1000; i++)
			json_array_append_new(batch, json_pack("{s:s, s:{s:s, s:{s:s, s:s, s:s}}}",
				"op", "new", "args", "workflow", "tort", "fields", "product", "P",
				"quantity", "1", "note", "a case for long lists"));
		json_t *q = json_pack("{s:i, s:s, s:o}", "id", c.next_id++, "as", "alice",
				      "batch", batch);
		assert_int_equal(dclient_send(&c, q), 0);
		json_decref(q);
		json_t *r;
		assert_int_equal(dclient_recv(&c, &r, WAIT_MS), 1);
		json_t *last = json_array_get(json_object_get(r, "results"), 999);
		snprintf(id, sizeof id, "%s", sget(ok(last), "id"));
		json_decref(r);
	}
	int64_t base = p99_show(&c, id), cost = list_cost(&c);
	/* Ratios as in abuse_keeps_others_latency; a show behind a list or
	 * two of the backlog is fair, behind the backlog is not. */
	int64_t floor = 10 * (base > 2000 ? base : 2000), bound = 4 * cost;
	bound = bound > floor ? bound : floor;
	json_int_t dropped = counter(&c, "dropped");
	int64_t abused = INT64_MAX, longest = INT64_MAX;
	int tries = 0;
	/* The longest wait counts too (it bounds the p99): a backlog run at
	 * once stalls one show for all of it, which a p99 of 300 would miss.
	 * The best of three tries, as above. */
	while (tries < 3 && longest >= bound) {
		dclient hold, gone;
		assert_int_equal(dclient_open(&hold, dm.sock), 0);
		assert_int_equal(dclient_open(&gone, dm.sock), 0);
		pipeline_lists(&hold, LISTS);
		pipeline_lists(&gone, LISTS);
		dclient_close(&gone);
		int64_t m, p = p99_show_max(&c, id, &m);
		if (m < longest) {
			abused = p;
			longest = m;
		}
		dclient_close(&hold);
		tries++;
	}
	print_message("# show p99: %lld us alone, %lld us (longest %lld us) beside two "
		      "backlogs of %d lists; one list alone: %lld us\n", (long long)base,
		      (long long)abused, (long long)longest, LISTS, (long long)cost);
	assert_true(abused < bound);
	assert_true(longest < bound);
	/* Both backlogs of every try end dropped (each had 256 requests taken,
	 * DOCKETD_OUTSTANDING_MAX), but for the few lists that ran. */
	json_int_t want = dropped + tries * 2 * 200, now = 0;
	for (int64_t end = now_us() + WAIT_MS * 1000LL; now_us() < end; poll(NULL, 0, 10))
		if ((now = counter(&c, "dropped")) >= want)
			break;
	print_message("# %lld requests of hung-up clients dropped\n", (long long)(now - dropped));
	assert_true(now >= want);
	check_clean(&c);
	dclient_close(&c);
	assert_int_equal(dm_stop(&dm), 0);
	dm_free(&dm);
}

int main(void)
{
	docketd_path = getenv("DOCKETD");
	plugins_dir = getenv("DOCKET_TEST_PLUGINS");
	if (!docketd_path || !plugins_dir) {
		fprintf(stderr, "set DOCKETD and DOCKET_TEST_PLUGINS\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	/* TORTURE_ONLY=pattern runs the matching tests only. */
	if (getenv("TORTURE_ONLY"))
		cmocka_set_test_filter(getenv("TORTURE_ONLY"));
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_teardown(kill_9_rounds, reap),
		cmocka_unit_test_teardown(a_tiny_map_grows_unseen, reap),
		cmocka_unit_test_teardown(a_stale_reader_slot_is_cleared, reap),
		cmocka_unit_test_teardown(a_full_disk_refuses_and_recovers, reap),
		cmocka_unit_test_teardown(abuse_keeps_others_latency, reap),
		cmocka_unit_test_teardown(a_backlog_of_reads_waits_its_turn, reap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
