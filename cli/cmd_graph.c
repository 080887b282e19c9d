/*
 * cmd_graph.c - `docket graph FILE|WORKFLOW [--format dot|mermaid]`.
 *
 * A FILE is drawn as written (after validation: a broken file gets its
 * errors, not a misleading picture).  A bare WORKFLOW name is looked up as
 * NAME.yaml in the workflows directory: $DOCKET_WORKFLOWS, else the
 * installed one, else this build's source tree.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "config.h"
#include "graph.h"
#include "workflow.h"


static bool is_name(const char *s)
{
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

int cmd_graph(struct cli *cli, int argc, char **argv)
{
	docket_graph_format fmt = DOCKET_GRAPH_DOT;
	const char *what = NULL;
	char path[4096];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--format") || !strncmp(argv[i], "--format=", 9)) {
			const char *f = argv[i][8] == '=' ? argv[i] + 9 : (i + 1 < argc ? argv[++i] : "");
			if (!strcmp(f, "dot"))
				fmt = DOCKET_GRAPH_DOT;
			else if (!strcmp(f, "mermaid"))
				fmt = DOCKET_GRAPH_MERMAID;
			else
				return cli_usage_error(cli, "unknown format '%s': dot or mermaid", f);
		} else if (argv[i][0] == '-' && argv[i][1]) {
			return cli_usage_error(cli, "unknown option '%s'", argv[i]);
		} else if (what) {
			return cli_usage_error(cli, "one workflow at a time");
		} else {
			what = argv[i];
		}
	}
	if (!what)
		return cli_usage_error(cli, "no workflow given");
	if (access(what, F_OK) != 0 && is_name(what)) {
		const char *dir = getenv("DOCKET_WORKFLOWS");
		if (!dir || !*dir)
			dir = access(DOCKET_WORKFLOWS_DIR, F_OK) == 0 ? DOCKET_WORKFLOWS_DIR
								     : DOCKET_TREE_WORKFLOWS_DIR;
		snprintf(path, sizeof path, "%s/%s.yaml", dir, what);
		what = path;
	}

	docket_diags d;
	docket_workflow *wf = NULL;
	docket_diags_init(&d, what);
	int rc = docket_workflow_load_file(what, NULL, &wf, &d);
	if (rc < 0) {
		docket_diags_print(&d, stderr);
		docket_diags_free(&d);
		return cli_fail(cli, "%s is not a valid workflow; fix the errors above first", what);
	}
	docket_diags_free(&d);
	rc = docket_graph_write(wf, fmt, stdout);
	docket_workflow_free(wf);
	if (rc < 0 || fflush(stdout) != 0)
		return cli_fail(cli, "cannot write the graph: output error");
	return 0;
}
