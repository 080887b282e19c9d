/*
 * yamldoc.h - a YAML document as a tree of nodes that remember where they
 * were written.
 *
 * Built on libyaml's event parser.  It reads with the YAML 1.2 core schema
 * in mind: every key is a string, and scalars keep whether they were quoted
 * so `"true"` stays a string while `true` is a boolean, and yes/no/on/off
 * are always plain strings.  It refuses what a workflow file never needs and
 * an attacker would love: anchors and aliases, tags, more than one document,
 * nesting deeper than DOCKET_YAML_MAX_DEPTH, files over DOCKET_YAML_MAX_SIZE,
 * duplicate keys, tabs in indentation, invalid UTF-8.
 *
 * The whole tree lives in one arena owned by the docket_ydoc: free the
 * document and every node and string goes with it.
 */
#ifndef DOCKET_YAMLDOC_H
#define DOCKET_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "diag.h"

#define DOCKET_YAML_MAX_SIZE (4u << 20)   /* bytes in one file */
#define DOCKET_YAML_MAX_DEPTH 64          /* nested collections */
#define DOCKET_YAML_MAX_NODES 200000      /* nodes in one document */

typedef enum { DOCKET_Y_SCALAR, DOCKET_Y_SEQ, DOCKET_Y_MAP } docket_ykind;

typedef struct docket_ynode docket_ynode;
struct docket_ynode {
	docket_ykind kind;
	int line, col;          /* 1-based position of the node's start */
	/* scalar */
	const char *str;        /* NUL-terminated, valid UTF-8 */
	size_t len;
	bool quoted;            /* '...', "...", | or > : never null/bool/number */
	/* seq: items[0..n); map: keys[0..n) with values[0..n), in file order */
	docket_ynode **items;
	docket_ynode **keys;
	size_t n;
};

typedef struct docket_ydoc docket_ydoc;

/* Parse buf (len bytes, need not be NUL-terminated).  Every problem found
 * goes to d with its position.  Returns 0 and sets *doc (root may be NULL
 * for an empty document) or a negative code with *doc NULL. */
int docket_ydoc_parse(const char *buf, size_t len, docket_ydoc **doc, docket_diags *d);

/* Read and parse a file; refuses files over the size limit before reading
 * them whole, and things that are not regular files. */
int docket_ydoc_load(const char *path, docket_ydoc **doc, docket_diags *d);

/* The root node, or NULL when the document is empty. */
const docket_ynode *docket_ydoc_root(const docket_ydoc *doc);

/* The bytes that were parsed (the file's exact content), kept so a workflow
 * can be stored and hashed as written. */
const char *docket_ydoc_source(const docket_ydoc *doc, size_t *len);

void docket_ydoc_free(docket_ydoc *doc);

/* Value of key `name` in map m, or NULL. */
const docket_ynode *docket_ynode_get(const docket_ynode *m, const char *name);

/* YAML 1.2 core schema resolution of a plain scalar.  Each returns false
 * when the scalar is quoted, not a scalar, or not of that type. */
bool docket_ynode_is_null(const docket_ynode *n);
bool docket_ynode_bool(const docket_ynode *n, bool *out);
bool docket_ynode_int(const docket_ynode *n, int64_t *out);
bool docket_ynode_number(const docket_ynode *n, double *out);  /* ints too */
/* A scalar that resolves to a string under the core schema. */
bool docket_ynode_is_string(const docket_ynode *n);

/* "mapping", "sequence", "string", "integer", ... for messages. */
const char *docket_ynode_describe(const docket_ynode *n);

#endif
