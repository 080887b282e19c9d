/*
 * host.c - finding, checking, loading and running stage plugins.
 *
 * Loading follows plugin.h step by step, and each refusal names the one
 * thing that is wrong:
 *   1. the name is a plain name and DIR/NAME.so a trusted regular file;
 *   2. dlopen(RTLD_NOW|RTLD_LOCAL): every symbol resolved now, none leaked
 *      to other plugins;
 *   3. docket_plugin_describe: the info block's size and ABI major (only
 *      that mismatch is reported: the rest of the block may not exist),
 *      then the minor, then the name;
 *   4. docket_plugin_init with the API table; a failed init releases what
 *      it registered before the dlclose.
 * A crash in any of these is the plugin's, and takes only this process.
 */
#include "internal.h"

#include <dirent.h>
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The info block of ABI 1.0 ends with `summary`. */
#define INFO_V1_SIZE (offsetof(docket_plugin_info, summary) + sizeof(const char *))
/* size and abi_major, which every ABI version keeps first. */
#define INFO_HEAD_SIZE (2 * sizeof(uint32_t))

int docket_phost_check_path(const char *path, bool dir, docket_err *err)
{
	struct stat st;

	if (stat(path, &st))
		return docket_err_set(err, errno == ENOENT ? DOCKET_ENOENT : DOCKET_EIO,
				      "%s: %s", path, strerror(errno));
	if (dir ? !S_ISDIR(st.st_mode) : !S_ISREG(st.st_mode))
		return docket_err_set(err, DOCKET_EINVAL, "%s is not a %s", path,
				      dir ? "directory" : "regular file");
	if (st.st_mode & (S_IWGRP | S_IWOTH))
		return docket_err_set(err, DOCKET_EPERM,
				      "refusing %s: it is %s-writable (chmod go-w %s)", path,
				      st.st_mode & S_IWOTH ? "world" : "group", path);
	if (st.st_uid != 0 && st.st_uid != geteuid())
		return docket_err_set(err, DOCKET_EPERM,
				      "refusing %s: owned by uid %u, not by root or uid %u (who runs Docket)",
				      path, (unsigned)st.st_uid, (unsigned)geteuid());
	return 0;
}

int docket_phost_open(const docket_phost_opts *o, docket_phost **out, docket_err *err)
{
	docket_phost *h;
	int rc;

	*out = NULL;
	if (!o || !o->plugins_dir)
		return docket_err_set(err, DOCKET_EINVAL, "no plugins directory given");
	if ((rc = docket_phost_check_path(o->plugins_dir, true, err)))
		return docket_err_prefix(err, "plugins directory: ");
	h = calloc(1, sizeof *h);
	if (!h)
		goto nomem;
	h->dir = strdup(o->plugins_dir);
	h->home = o->home ? strdup(o->home) : NULL;
	if (!h->dir || (o->home && !h->home))
		goto nomem;
	h->log = o->log;
	h->log_ctx = o->log_ctx;
	h->loading.host = h;
	h->run.host = h;
	*out = h;
	return 0;
nomem:
	docket_phost_close(h);
	return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
}

static void plug_free(struct plug *p)
{
	if (!p)
		return;
	if (p->release)
		p->release(p->state);
	if (p->dl)
		dlclose(p->dl);
	free(p->name);
	free(p->path);
	free(p);
}

void docket_phost_close(docket_phost *h)
{
	if (!h)
		return;
	while (h->plugs) {
		struct plug *p = h->plugs;
		h->plugs = p->next;
		plug_free(p);
	}
	free(h->dir);
	free(h->home);
	free(h);
}

/* Step 3: the info block, in the order plugin.h promises. */
static int check_info(const struct plug *p, const docket_plugin_info *info, docket_err *err)
{
	if (!info)
		return docket_err_set(err, DOCKET_EINVAL, "plugin '%s': docket_plugin_describe returned NULL",
				      p->name);
	if (info->size < INFO_HEAD_SIZE)
		return docket_err_set(err, DOCKET_EINVAL,
				      "plugin '%s': info block of %u bytes is not a Docket plugin's (ABI 1 needs %zu)",
				      p->name, info->size, INFO_V1_SIZE);
	if (info->abi_major != DOCKET_PLUGIN_ABI_MAJOR)
		return docket_err_set(err, DOCKET_EINVAL,
				      "plugin '%s' was built for plugin ABI %u; this Docket runs ABI %d plugins (rebuild it against this docket/plugin.h)",
				      p->name, info->abi_major, DOCKET_PLUGIN_ABI_MAJOR);
	if (info->size < INFO_V1_SIZE)
		return docket_err_set(err, DOCKET_EINVAL,
				      "plugin '%s': info block of %u bytes; ABI %d needs at least %zu (was it built with DOCKET_PLUGIN()?)",
				      p->name, info->size, DOCKET_PLUGIN_ABI_MAJOR, INFO_V1_SIZE);
	if (info->abi_minor > DOCKET_PLUGIN_ABI_MINOR)
		return docket_err_set(err, DOCKET_EINVAL,
				      "plugin '%s' needs plugin ABI %d.%u; this Docket provides %d.%d (upgrade Docket)",
				      p->name, DOCKET_PLUGIN_ABI_MAJOR, info->abi_minor,
				      DOCKET_PLUGIN_ABI_MAJOR, DOCKET_PLUGIN_ABI_MINOR);
	if (!info->name || strcmp(info->name, p->name))
		return docket_err_set(err, DOCKET_EINVAL,
				      "plugin file %s.so calls itself '%s'; the file name and the name must agree",
				      p->name, info->name ? info->name : "(null)");
	if (!info->version)
		return docket_err_set(err, DOCKET_EINVAL, "plugin '%s' has no version", p->name);
	return 0;
}

/* Step 4: init, undoing its registration when it fails. */
static int init(docket_phost *h, struct plug *p, docket_err *err)
{
	int (*fn)(docket_plugin *, const docket_host_api *);
	docket_plugin *l = &h->loading;
	int rc;

	*(void **)&fn = dlsym(p->dl, DOCKET_PLUGIN_INIT_SYMBOL);
	if (!fn)
		return docket_err_set(err, DOCKET_EINVAL, "plugin '%s' exports no %s", p->name,
				      DOCKET_PLUGIN_INIT_SYMBOL);
	l->plug = p;
	l->error = NULL;
	l->active = true;
	rc = fn(l, &docket_phost_api);
	l->active = false;
	if (rc == 0 && !p->run)
		rc = docket_err_set(err, DOCKET_EINVAL, "plugin '%s': init registered no run function (api->set_run)",
				    p->name);
	else if (rc)
		rc = docket_err_set(err, DOCKET_EINVAL, "plugin '%s' failed to start: %s", p->name,
				    l->error ? l->error : "init returned an error and said nothing");
	free(l->error);
	l->error = NULL;
	if (rc && p->release) {
		p->release(p->state);
		p->release = NULL;
	}
	return rc;
}

/* Load DIR/name.so, or say why not.  *out is owned by the caller. */
static int load(docket_phost *h, const char *name, struct plug **out, docket_err *err)
{
	const docket_plugin_info *(*describe)(void);
	struct plug *p;
	char path[PATH_MAX], *real;
	int rc;

	*out = NULL;
	if (!docket_hostproto_plugin_name_ok(name))
		return docket_err_set(err, DOCKET_EINVAL, "'%.64s' is not a plugin name", name);
	if ((size_t)snprintf(path, sizeof path, "%s/%s.so", h->dir, name) >= sizeof path)
		return docket_err_set(err, DOCKET_ELIMIT, "plugin path too long");
	/* Check what dlopen will map: the file a symlink points to, and the
	 * directories that hold the link and the file. */
	real = realpath(path, NULL);
	if (!real)
		return docket_err_set(err, errno == ENOENT ? DOCKET_ENOENT : DOCKET_EIO,
				      "plugin '%s' is not installed: %s: %s", name, path, strerror(errno));
	if ((rc = docket_phost_check_path(h->dir, true, err)) ||
	    (rc = docket_phost_check_path(real, false, err))) {
		free(real);
		return rc;
	}
	char *slash = strrchr(real, '/');
	if (slash && slash != real) {
		*slash = '\0';
		rc = docket_phost_check_path(real, true, err);
		*slash = '/';
		if (rc) {
			free(real);
			return rc;
		}
	}
	p = calloc(1, sizeof *p);
	if (!p || !(p->name = strdup(name))) {
		free(p);
		free(real);
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	p->path = real;
	p->dl = dlopen(real, RTLD_NOW | RTLD_LOCAL);
	if (!p->dl) {
		rc = docket_err_set(err, DOCKET_EINVAL, "plugin '%s' cannot be loaded: %s", name, dlerror());
		goto fail;
	}
	*(void **)&describe = dlsym(p->dl, DOCKET_PLUGIN_DESCRIBE_SYMBOL);
	if (!describe) {
		rc = docket_err_set(err, DOCKET_EINVAL, "%s exports no %s: not a Docket plugin", real,
				    DOCKET_PLUGIN_DESCRIBE_SYMBOL);
		goto fail;
	}
	p->info = describe();
	if ((rc = check_info(p, p->info, err)) || (rc = init(h, p, err)))
		goto fail;
	*out = p;
	return 0;
fail:
	plug_free(p);
	return rc;
}

static struct plug *find(docket_phost *h, const char *name)
{
	for (struct plug *p = h->plugs; p; p = p->next)
		if (!strcmp(p->name, name))
			return p;
	return NULL;
}

static void run_reset(struct docket_run *r)
{
	json_decref(r->fields);
	json_decref(r->changes);
	json_decref(r->keep);
	free(r->event);
	free(r->reason);
	free(r->json);
	while (r->blocks) {
		struct block *b = r->blocks;
		r->blocks = b->next;
		free(b);
	}
	docket_phost *h = r->host;
	memset(r, 0, sizeof *r);
	r->host = h;
}

static json_t *outcome_of(struct docket_run *r, int64_t id, bool load_error)
{
	docket_host_outcome o = {
		.id = id, .kind = r->kind, .event = r->event, .fields = r->changes,
		.reason = r->reason, .load_error = load_error,
	};
	return docket_hostproto_outcome(&o);
}

int docket_phost_run(docket_phost *h, const docket_host_job *job, json_t **outcome,
		     docket_err *err)
{
	struct docket_run *r = &h->run;
	struct plug *p = find(h, job->plugin);
	docket_err lerr = {0};
	int rc;

	*outcome = NULL;
	run_reset(r);
	if (!p) {
		if (load(h, job->plugin, &p, &lerr)) {
			docket_phost_logf(h, job->id, job->plugin, DOCKET_LOG_ERROR, "%s", lerr.msg);
			r->kind = DOCKET_OUTCOME_FAILED;
			r->reason = strdup(lerr.msg);
			*outcome = r->reason ? outcome_of(r, job->id, true) : NULL;
			run_reset(r);
			return *outcome ? 0 : docket_err_set(err, DOCKET_ENOMEM, "out of memory");
		}
		p->next = h->plugs;
		h->plugs = p;
	}
	r->plug = p;
	r->job = job;
	r->events = (json_t *)job->events;
	r->fields = json_deep_copy(job->fields);
	r->changes = json_object();
	r->keep = json_array();
	if (!r->fields || !r->changes || !r->keep) {
		run_reset(r);
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	}
	r->active = true;
	rc = p->run(r, &docket_phost_api, p->state);
	r->active = false;
	if (!r->done && rc)
		docket_phost_run_fail(r, "plugin '%s' failed (run returned %d) without saying why",
				      p->name, rc);
	else if (!r->done)
		docket_phost_run_fail(r, "plugin '%s' returned without an outcome (it must emit an event, retry or fail)",
				      p->name);
	if (!r->reason && r->kind != DOCKET_OUTCOME_EVENT)
		r->reason = strdup("out of memory in the plugin host");
	*outcome = outcome_of(r, job->id, false);
	run_reset(r);
	return *outcome ? 0 : docket_err_set(err, DOCKET_ENOMEM, "out of memory");
}

static int by_name(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static json_t *describe_one(docket_phost *h, const char *name)
{
	struct plug *p = find(h, name);
	docket_err lerr = {0};
	char abi[32];

	if (!p) {
		if (load(h, name, &p, &lerr))
			return json_pack("{s:s, s:s++, s:s}", "name", name, "path", h->dir, "/",
					 name, "error", lerr.msg);
		p->next = h->plugs;
		h->plugs = p;
	}
	snprintf(abi, sizeof abi, "%u.%u", p->info->abi_major, p->info->abi_minor);
	return json_pack("{s:s, s:s, s:s?, s:s, s:s}", "name", p->name, "version",
			 p->info->version, "summary", p->info->summary, "abi", abi, "path", p->path);
}

int docket_phost_list(docket_phost *h, json_t **out, docket_err *err)
{
	struct dirent **ents;
	json_t *arr = json_array();
	int n = scandir(h->dir, &ents, NULL, by_name);

	*out = NULL;
	if (n < 0) {
		json_decref(arr);
		return docket_err_set(err, DOCKET_EIO, "%s: %s", h->dir, strerror(errno));
	}
	for (int i = 0; i < n; i++) {
		char name[DOCKET_HOST_NAME_MAX + 1];
		size_t len = strlen(ents[i]->d_name);
		if (len > 3 && len - 3 <= DOCKET_HOST_NAME_MAX &&
		    !strcmp(ents[i]->d_name + len - 3, ".so")) {
			memcpy(name, ents[i]->d_name, len - 3);
			name[len - 3] = '\0';
			if (docket_hostproto_plugin_name_ok(name) && arr)
				json_array_append_new(arr, describe_one(h, name));
		}
		free(ents[i]);
	}
	free(ents);
	if (!arr)
		return docket_err_set(err, DOCKET_ENOMEM, "out of memory");
	*out = arr;
	return 0;
}
