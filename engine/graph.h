/*
 * graph.h - a picture of a workflow: Graphviz DOT or Mermaid text.
 * Stages are nodes (start and terminal marked, owner and SLA shown);
 * transitions are edges labelled with event, guard and roles; timer
 * transitions are dashed so the eye tells waiting from doing.
 */
#ifndef DOCKET_GRAPH_H
#define DOCKET_GRAPH_H

#include <stdio.h>

#include "workflow.h"

typedef enum { DOCKET_GRAPH_DOT, DOCKET_GRAPH_MERMAID } docket_graph_format;

/* Write wf in the given format to out.  Returns 0 or DOCKET_EIO. */
int docket_graph_write(const docket_workflow *wf, docket_graph_format fmt, FILE *out);

#endif
