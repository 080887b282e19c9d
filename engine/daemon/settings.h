/*
 * settings.h - HOME/docket.yaml: who may use this home, with which roles,
 * and the daemon's limits.
 *
 *   users:
 *     alice: [sales]
 *     dana:  [director]
 *   max_frame: 1048576       # bytes in one request frame
 *   max_connections: 1024
 *   idle_timeout: 5m
 *   map_size: 67108864       # initial store map, bytes; it grows
 *   plugin_hosts: 2          # plugin host processes, each one run at a time
 *   plugin_memory_mb: 1024   # address space of each plugin host
 *
 * A loaded configuration is immutable; a reload builds a new one and the
 * old stays in force when the new file is broken.
 */
#ifndef DOCKETD_SETTINGS_H
#define DOCKETD_SETTINGS_H

#include <stddef.h>
#include <stdint.h>

#include "diag.h"
#include "error.h"

#define DOCKETD_CONFIG_FILE "docket.yaml"
#define DOCKETD_MAX_CONNECTIONS_DEFAULT 1024
#define DOCKETD_IDLE_TIMEOUT_DEFAULT_S (5 * 60)
#define DOCKETD_MAX_FRAME_MIN 1024
#define DOCKETD_MAX_FRAME_MAX (64u << 20)
#define DOCKETD_MAX_CONNECTIONS_MAX 100000
/* The store's first map; LMDB grows it on demand, so this only decides
 * how soon the first growth comes (0: the engine's default). */
#define DOCKETD_MAP_SIZE_MIN (64 << 10)
#define DOCKETD_MAP_SIZE_MAX (INT64_C(1) << 40)
/* Plugin hosts: how many stage actions run at once, and each host's cap. */
#define DOCKETD_PLUGIN_HOSTS_DEFAULT 2
#define DOCKETD_PLUGIN_HOSTS_MAX 64
#define DOCKETD_PLUGIN_MEMORY_DEFAULT_MB 1024
#define DOCKETD_PLUGIN_MEMORY_MIN_MB 64
#define DOCKETD_PLUGIN_MEMORY_MAX_MB (1 << 20)

typedef struct docketd_user {
	char *name;
	char **roles;
	size_t nroles;
} docketd_user;

typedef struct docketd_config {
	char *path;                 /* the file it was read from */
	docketd_user *users;
	size_t nusers;
	size_t max_frame;           /* bytes in one request frame */
	unsigned max_connections;
	uint64_t idle_timeout_ms;
	size_t map_size;            /* initial store map, bytes; 0: default */
	unsigned plugin_hosts;      /* read at start */
	unsigned plugin_memory_mb;  /* read at start */
} docketd_config;

/* Read and check path.  Every mistake goes to d with its line and column.
 * Returns 0 with *out set (free with docketd_config_free), DOCKET_ENOENT
 * when the file does not exist (d is left empty), DOCKET_EINVAL when d
 * holds errors, DOCKET_EIO / DOCKET_ENOMEM otherwise. */
int docketd_config_load(const char *path, docketd_config **out, docket_diags *d);

/* Write the commented template a new home starts with (no users: only the
 * administrator can act).  Written to a temporary name and renamed, so a
 * crash never leaves half a file.  Refuses to overwrite (DOCKET_EEXIST). */
int docketd_config_write_template(const char *path, docket_err *err);

/* The user called name, or NULL.  Valid while c is. */
const docketd_user *docketd_config_user(const docketd_config *c, const char *name);

void docketd_config_free(docketd_config *c);

#endif
