/*
 * settings.c - docket.yaml, read with the positioned YAML tree so every
 * mistake is reported at its line and column, like a workflow file.
 * Unknown keys are errors (a misspelt `max_conections` silently ignored
 * would be worse than a refusal to start).
 */
#include "settings.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "duration.h"
#include "field.h"
#include "frame.h"
#include "yamldoc.h"

static const char *const top_keys[] = {"users", "max_frame", "max_connections", "idle_timeout",
					 "map_size", "plugin_hosts", "plugin_memory_mb"};

static const char template_text[] =
	"# docket.yaml - who may use this Docket home, and the daemon's limits.\n"
	"# docketd reads it at start and on reload (SIGHUP or `docket reload`).\n"
	"#\n"
	"# Each user is a login name on this machine with the roles they hold;\n"
	"# role names are the ones the workflows declare (their `roles:` list).\n"
	"# The user docketd runs as is the administrator and may do everything.\n"
	"# Until users are listed here, nobody else can act: they are refused.\n"
	"#\n"
	"# users:\n"
	"#   alice: [sales]\n"
	"#   bob:   [finance, legal]\n"
	"#   dana:  [director]\n"
	"users: {}\n"
	"\n"
	"# Limits (the defaults are shown):\n"
	"# max_frame: 1048576     # bytes in one request frame\n"
	"# max_connections: 1024  # further connections are refused\n"
	"# idle_timeout: 5m       # close a connection silent this long\n"
	"# map_size: 67108864    # first store map, bytes (read at start; it grows)\n"
	"# plugin_hosts: 2        # stage actions run at once, one per host process (read at start)\n"
	"# plugin_memory_mb: 1024 # address space of each plugin host (read at start)\n";

static bool user_name_ok(const char *s, size_t len)
{
	if (len == 0 || len > DOCKET_NAME_MAX || s[0] == '-')
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (!(c >= 'a' && c <= 'z') && !(c >= 'A' && c <= 'Z') && !(c >= '0' && c <= '9') &&
		    c != '_' && c != '-' && c != '.' && c != '@' && c != '$')
			return false;
	}
	return true;
}

static char *dupn(const char *s, size_t n)
{
	char *p = malloc(n + 1);
	if (p) {
		memcpy(p, s, n);
		p[n] = 0;
	}
	return p;
}

static int read_roles(docketd_user *u, const docket_ynode *v, docket_diags *d)
{
	if (docket_ynode_is_null(v))
		return 0;
	if (v->kind != DOCKET_Y_SEQ) {
		docket_diags_add(d, DOCKET_DIAG_ERROR, v->line, v->col, NULL,
				 "roles of user '%s' must be a list like [sales], not a %s",
				 u->name, docket_ynode_describe(v));
		return 0;
	}
	u->roles = calloc(v->n ? v->n : 1, sizeof *u->roles);
	if (!u->roles)
		return DOCKET_ENOMEM;
	for (size_t i = 0; i < v->n; i++) {
		const docket_ynode *r = v->items[i];
		if (!docket_ynode_is_string(r) || r->len == 0 || r->len > DOCKET_NAME_MAX) {
			docket_diags_add(d, DOCKET_DIAG_ERROR, r->line, r->col, NULL,
					 "a role of user '%s' must be a name of at most %d bytes",
					 u->name, DOCKET_NAME_MAX);
			continue;
		}
		for (size_t j = 0; j < u->nroles; j++)
			if (!strcmp(u->roles[j], r->str))
				docket_diags_add(d, DOCKET_DIAG_WARNING, r->line, r->col, NULL,
						 "user '%s' lists role '%s' twice", u->name, r->str);
		if (!(u->roles[u->nroles] = dupn(r->str, r->len)))
			return DOCKET_ENOMEM;
		u->nroles++;
	}
	return 0;
}

static int read_users(docketd_config *c, const docket_ynode *m, docket_diags *d)
{
	if (docket_ynode_is_null(m))
		return 0;
	if (m->kind != DOCKET_Y_MAP) {
		docket_diags_add(d, DOCKET_DIAG_ERROR, m->line, m->col, NULL,
				 "'users' must map each user name to a list of roles, not be a %s",
				 docket_ynode_describe(m));
		return 0;
	}
	c->users = calloc(m->n ? m->n : 1, sizeof *c->users);
	if (!c->users)
		return DOCKET_ENOMEM;
	for (size_t i = 0; i < m->n; i++) {
		const docket_ynode *k = m->keys[i];
		if (!user_name_ok(k->str, k->len)) {
			docket_diags_add(d, DOCKET_DIAG_ERROR, k->line, k->col, NULL,
				"'%s' is not a user name (letters, digits, '_', '-', '.', '@', '$'; "
				"at most %d bytes)", k->str, DOCKET_NAME_MAX);
			continue;
		}
		/* History would not tell the user from the timers and plugins. */
		if (!strcmp(k->str, "system")) {
			docket_diags_add(d, DOCKET_DIAG_ERROR, k->line, k->col, NULL,
				"'system' is the name timers and plugins act under; it cannot be a user");
			continue;
		}
		docketd_user *u = &c->users[c->nusers];
		if (!(u->name = dupn(k->str, k->len)))
			return DOCKET_ENOMEM;
		c->nusers++;
		/* A map's values are its items, in the order of its keys. */
		int rc = read_roles(u, m->items[i], d);
		if (rc)
			return rc;
	}
	return 0;
}

static void read_int(const docket_ynode *v, const char *key, int64_t lo, int64_t hi,
		     int64_t *out, docket_diags *d)
{
	int64_t n;

	if (!docket_ynode_int(v, &n) || n < lo || n > hi) {
		docket_diags_add(d, DOCKET_DIAG_ERROR, v->line, v->col, NULL,
				 "'%s' must be a whole number from %lld to %lld", key,
				 (long long)lo, (long long)hi);
		return;
	}
	*out = n;
}

static void read_timeout(docketd_config *c, const docket_ynode *v, docket_diags *d)
{
	docket_err err;
	int64_t s;

	if (!docket_ynode_is_string(v)) {
		docket_diags_add(d, DOCKET_DIAG_ERROR, v->line, v->col, NULL,
				 "'idle_timeout' must be a duration like 30s, 5m or 1h");
		return;
	}
	if (docket_duration_parse(v->str, v->len, &s, &err)) {
		docket_diags_add(d, DOCKET_DIAG_ERROR, v->line, v->col, NULL,
				 "idle_timeout: %s", err.msg);
		return;
	}
	if (s < 1) {
		docket_diags_add(d, DOCKET_DIAG_ERROR, v->line, v->col, NULL,
				 "'idle_timeout' must be at least 1s");
		return;
	}
	c->idle_timeout_ms = (uint64_t)s * 1000;
}

static int read_root(docketd_config *c, const docket_ynode *root, docket_diags *d)
{
	int64_t n;

	if (!root)
		return 0;   /* an empty file: no users, default limits */
	if (root->kind != DOCKET_Y_MAP) {
		docket_diags_add(d, DOCKET_DIAG_ERROR, root->line, root->col, NULL,
				 "docket.yaml must be a mapping (users:, max_frame:, ...), not a %s",
				 docket_ynode_describe(root));
		return 0;
	}
	for (size_t i = 0; i < root->n; i++) {
		const docket_ynode *k = root->keys[i], *v = root->items[i];
		int rc = 0;
		if (!strcmp(k->str, "users")) {
			rc = read_users(c, v, d);
		} else if (!strcmp(k->str, "max_frame")) {
			n = (int64_t)c->max_frame;
			read_int(v, "max_frame", DOCKETD_MAX_FRAME_MIN, DOCKETD_MAX_FRAME_MAX, &n, d);
			c->max_frame = (size_t)n;
		} else if (!strcmp(k->str, "max_connections")) {
			n = c->max_connections;
			read_int(v, "max_connections", 1, DOCKETD_MAX_CONNECTIONS_MAX, &n, d);
			c->max_connections = (unsigned)n;
		} else if (!strcmp(k->str, "idle_timeout")) {
			read_timeout(c, v, d);
		} else if (!strcmp(k->str, "map_size")) {
			n = (int64_t)c->map_size;
			read_int(v, "map_size", DOCKETD_MAP_SIZE_MIN, DOCKETD_MAP_SIZE_MAX, &n, d);
			c->map_size = (size_t)n;
		} else if (!strcmp(k->str, "plugin_hosts")) {
			n = c->plugin_hosts;
			read_int(v, "plugin_hosts", 1, DOCKETD_PLUGIN_HOSTS_MAX, &n, d);
			c->plugin_hosts = (unsigned)n;
		} else if (!strcmp(k->str, "plugin_memory_mb")) {
			n = c->plugin_memory_mb;
			read_int(v, "plugin_memory_mb", DOCKETD_PLUGIN_MEMORY_MIN_MB,
				 DOCKETD_PLUGIN_MEMORY_MAX_MB, &n, d);
			c->plugin_memory_mb = (unsigned)n;
		} else {
			const char *near = docket_suggest(k->str, top_keys,
							  sizeof top_keys / sizeof *top_keys);
			char hint[128];
			snprintf(hint, sizeof hint, "did you mean '%s'?", near ? near : "");
			docket_diags_add(d, DOCKET_DIAG_ERROR, k->line, k->col, near ? hint : NULL,
					 "unknown key '%s' (docket.yaml knows users, max_frame, "
					 "max_connections, idle_timeout, map_size, plugin_hosts, "
					 "plugin_memory_mb)", k->str);
		}
		if (rc)
			return rc;
	}
	return 0;
}

int docketd_config_load(const char *path, docketd_config **out, docket_diags *d)
{
	docketd_config *c;
	docket_ydoc *doc = NULL;
	struct stat st;
	int rc;

	*out = NULL;
	if (stat(path, &st) < 0 && errno == ENOENT)
		return DOCKET_ENOENT;
	c = calloc(1, sizeof *c);
	if (!c || !(c->path = strdup(path))) {
		free(c);
		return DOCKET_ENOMEM;
	}
	c->max_frame = DOCKET_FRAME_MAX_DEFAULT;
	c->max_connections = DOCKETD_MAX_CONNECTIONS_DEFAULT;
	c->plugin_hosts = DOCKETD_PLUGIN_HOSTS_DEFAULT;
	c->plugin_memory_mb = DOCKETD_PLUGIN_MEMORY_DEFAULT_MB;
	c->idle_timeout_ms = (uint64_t)DOCKETD_IDLE_TIMEOUT_DEFAULT_S * 1000;
	size_t errors = d->errors;
	if ((rc = docket_ydoc_load(path, &doc, d)))
		goto err;
	if ((rc = read_root(c, docket_ydoc_root(doc), d)))
		goto err;
	if (d->errors > errors) {
		rc = DOCKET_EINVAL;
		goto err;
	}
	docket_ydoc_free(doc);
	*out = c;
	return 0;
err:
	docket_ydoc_free(doc);
	docketd_config_free(c);
	return rc;
}

int docketd_config_write_template(const char *path, docket_err *err)
{
	char tmp[4096];
	size_t len = sizeof template_text - 1;
	int fd;

	if (snprintf(tmp, sizeof tmp, "%s.new", path) >= (int)sizeof tmp)
		return docket_err_set(err, DOCKET_EINVAL, "%s: path too long", path);
	if (access(path, F_OK) == 0)
		return docket_err_set(err, DOCKET_EEXIST, "%s already exists", path);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0)
		return docket_err_set(err, DOCKET_EIO, "%s: %s", tmp, strerror(errno));
	if (write(fd, template_text, len) != (ssize_t)len || fsync(fd) < 0) {
		int e = errno;
		close(fd);
		unlink(tmp);
		return docket_err_set(err, DOCKET_EIO, "%s: %s", tmp, strerror(e));
	}
	close(fd);
	/* link(2) rather than rename(2): never replace a file someone wrote
	 * between our check and now. */
	if (link(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return docket_err_set(err, e == EEXIST ? DOCKET_EEXIST : DOCKET_EIO, "%s: %s",
				      path, strerror(e));
	}
	unlink(tmp);
	return 0;
}

const docketd_user *docketd_config_user(const docketd_config *c, const char *name)
{
	for (size_t i = 0; c && name && i < c->nusers; i++)
		if (!strcmp(c->users[i].name, name))
			return &c->users[i];
	return NULL;
}

void docketd_config_free(docketd_config *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->nusers; i++) {
		for (size_t j = 0; j < c->users[i].nroles; j++)
			free(c->users[i].roles[j]);
		free(c->users[i].roles);
		free(c->users[i].name);
	}
	free(c->users);
	free(c->path);
	free(c);
}
