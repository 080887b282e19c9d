/*
 * graph.c - draw a loaded workflow as Graphviz DOT or a Mermaid flowchart.
 *
 * Both formats share one walk: a node per stage (title, owner and SLA, the
 * plugin of an automatic stage; start and terminal stages marked) and an
 * edge per transition labelled `event [guard] (roles)`.  Transitions of an
 * event a timer fires are dashed and read `⏱ after 30d: overdue`, so the
 * eye tells waiting from doing.  Edges between the same two stages in the
 * same style are merged into one edge with a line per event, which keeps
 * busy stages (cancel from everywhere, three ways to `closed`) legible.
 *
 * Every piece of text from the workflow goes through esc(), which knows the
 * quoting rules of the format being written; nothing is written unescaped
 * except the fixed syntax of this file.  Nothing is allocated: merging is
 * done by rescanning the stage's transitions, O(T^2) in one stage's
 * transitions, which stay in the tens.
 */
#include "graph.h"

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "duration.h"
#include "error.h"

struct gw {
	FILE *out;
	docket_graph_format fmt;
	const docket_workflow *wf;
};

/* One transition, addressed by its event and its place in the event's list. */
struct tref {
	size_t ev, tr;
};

/* DOT double-quoted strings: \" and \\ are the only escapes a quoted ID
 * knows, and in labels \n is a centred line break.  Other control bytes
 * would end up as raw bytes in a label, so they become spaces. */
static void esc_dot(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c == '\r')
			continue;
		else if (c < 0x20 || c == 0x7f)
			fputc(' ', out);
		else
			fputc(c, out);
	}
}

/* Mermaid labels are written as "quoted" text, rendered as HTML.  A quote
 * would end the string, < > & would become markup, # starts Mermaid's own
 * entity codes, | delimits edge labels, : and ; end statements in some
 * diagram types, % starts a comment and a backtick a markdown string.
 * Mermaid's entity codes (#60; for <) are the one escape it understands
 * everywhere. */
static void esc_mermaid(FILE *out, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c && strchr("\"<>&#|:;%`", c))
			fprintf(out, "#%u;", c);
		else if (c == '\n')
			fputs("<br/>", out);
		else if (c == '\r')
			continue;
		else if (c < 0x20 || c == 0x7f)
			fputc(' ', out);
		else
			fputc(c, out);
	}
}

static void esc(const struct gw *g, const char *s)
{
	if (g->fmt == DOCKET_GRAPH_DOT)
		esc_dot(g->out, s, strlen(s));
	else
		esc_mermaid(g->out, s, strlen(s));
}

/* A line break inside a label. */
static void br(const struct gw *g)
{
	fputs(g->fmt == DOCKET_GRAPH_DOT ? "\\n" : "<br/>", g->out);
}

static void roles_text(const struct gw *g, uint64_t mask)
{
	const char *sep = "";
	for (size_t i = 0; i < g->wf->nroles && i < 64; i++) {
		if (!(mask & (UINT64_C(1) << i)))
			continue;
		fputs(sep, g->out);
		esc(g, g->wf->roles[i]);
		sep = ", ";
	}
}

static void duration_text(const struct gw *g, int64_t s)
{
	char buf[32];
	docket_duration_format(s, buf, sizeof buf);
	esc(g, buf);
}

static bool timed(const docket_stage *st, size_t ev)
{
	for (size_t i = 0; i < st->ntimers; i++)
		if (st->timers[i].event == (int)ev)
			return true;
	return false;
}

static const docket_transition *tr_at(const docket_stage *st, struct tref r)
{
	return &st->events[r.ev].tr[r.tr];
}

/* `event [guard] (roles)`, or `⏱ after 30d: event ...` when timers fire the
 * event.  An unguarded transition after guarded ones is the fallback of
 * its list and reads [else]. */
static void edge_label(const struct gw *g, const docket_stage *st, struct tref r)
{
	const docket_event *ev = &st->events[r.ev];
	const docket_transition *t = tr_at(st, r);

	if (timed(st, r.ev)) {
		const char *sep = "";
		fputs("\xe2\x8f\xb1 after ", g->out);
		for (size_t i = 0; i < st->ntimers; i++) {
			if (st->timers[i].event != (int)r.ev)
				continue;
			fputs(sep, g->out);
			duration_text(g, st->timers[i].after_s);
			sep = ", ";
		}
		esc(g, ": ");
	}
	esc(g, ev->name);
	if (t->when) {
		fputs(" ", g->out);
		esc(g, "[");
		esc(g, docket_guard_source(t->when));
		esc(g, "]");
	} else if (r.tr > 0) {
		fputs(" ", g->out);
		esc(g, "[else]");
	}
	if (t->roles) {
		fputs(" (", g->out);
		roles_text(g, t->roles);
		fputs(")", g->out);
	}
}

static void node_id(const struct gw *g, const docket_stage *st)
{
	/* Mermaid ids are bare words; the prefix keeps stage names clear of its
	 * keywords (`end`, `graph`) and of the start marker. */
	if (g->fmt == DOCKET_GRAPH_DOT) {
		fputc('"', g->out);
		esc(g, st->name);
		fputc('"', g->out);
	} else {
		fprintf(g->out, "s_%s", st->name);
	}
}

/* Title, then `owner: ops · SLA 1d`, then `⚙ plugin`, one line each. */
static void node_label(const struct gw *g, const docket_stage *st)
{
	esc(g, st->title ? st->title : st->name);
	if (st->owner >= 0 || st->sla_s > 0) {
		br(g);
		if (st->owner >= 0) {
			esc(g, "owner: ");
			esc(g, g->wf->roles[st->owner]);
		}
		if (st->owner >= 0 && st->sla_s > 0)
			fputs(" \xc2\xb7 ", g->out);
		if (st->sla_s > 0) {
			fputs("SLA ", g->out);
			duration_text(g, st->sla_s);
		}
	}
	if (st->action) {
		br(g);
		fputs("\xe2\x9a\x99 ", g->out);
		esc(g, st->action->plugin);
	}
}

/* Whether r has the same target and style as an earlier transition of the
 * stage, which then already drew the edge for both. */
static bool merged_earlier(const docket_stage *st, struct tref r)
{
	const docket_transition *t = tr_at(st, r);
	bool tm = timed(st, r.ev);

	for (size_t e = 0; e <= r.ev; e++) {
		size_t end = e == r.ev ? r.tr : st->events[e].ntr;
		for (size_t i = 0; i < end; i++)
			if (st->events[e].tr[i].to == t->to && timed(st, e) == tm)
				return true;
	}
	return false;
}

/* The labels of r and of every later transition of the stage that shares
 * its edge, a line each. */
static void merged_label(const struct gw *g, const docket_stage *st, struct tref r)
{
	const docket_transition *t = tr_at(st, r);
	bool tm = timed(st, r.ev);

	edge_label(g, st, r);
	for (size_t e = r.ev; e < st->nevents; e++) {
		size_t i = e == r.ev ? r.tr + 1 : 0;
		for (; i < st->events[e].ntr; i++) {
			if (st->events[e].tr[i].to != t->to || timed(st, e) != tm)
				continue;
			br(g);
			edge_label(g, st, (struct tref){e, i});
		}
	}
}

static void edge(const struct gw *g, const docket_stage *st, struct tref r)
{
	const docket_stage *to = &g->wf->stages[tr_at(st, r)->to];
	bool tm = timed(st, r.ev);

	fputc('\t', g->out);
	node_id(g, st);
	if (g->fmt == DOCKET_GRAPH_DOT) {
		fputs(" -> ", g->out);
		node_id(g, to);
		fputs(" [label=\"", g->out);
		merged_label(g, st, r);
		fputs(tm ? "\", style=dashed, color=\"#8a6d00\", fontcolor=\"#8a6d00\"];\n"
			 : "\"];\n", g->out);
	} else {
		fputs(tm ? " -.->|\"" : " -->|\"", g->out);
		merged_label(g, st, r);
		fputs("\"| ", g->out);
		node_id(g, to);
		fputc('\n', g->out);
	}
}

static void edges(const struct gw *g, const docket_stage *st)
{
	for (size_t e = 0; e < st->nevents; e++)
		for (size_t i = 0; i < st->events[e].ntr; i++) {
			struct tref r = {e, i};
			if (!merged_earlier(st, r))
				edge(g, st, r);
		}
}

static void write_dot(const struct gw *g)
{
	const docket_workflow *wf = g->wf;
	FILE *out = g->out;

	fputs("digraph \"", out);
	esc(g, wf->name);
	fputs("\" {\n\trankdir=LR;\n", out);
	fputs("\tgraph [fontname=\"Helvetica\", fontsize=16, labelloc=t, "
	      "nodesep=0.35, ranksep=0.5, label=\"", out);
	esc(g, wf->title ? wf->title : wf->name);
	fputs(" (", out);
	esc(g, wf->name);
	fprintf(out, " v%lld)\"];\n", (long long)wf->version);
	fputs("\tnode [shape=box, style=\"rounded,filled\", fillcolor=\"#f4f4f4\", "
	      "color=\"#555555\", fontname=\"Helvetica\", fontsize=11];\n"
	      "\tedge [fontname=\"Helvetica\", fontsize=9, color=\"#444444\"];\n", out);
	fputs("\t\"_start\" [shape=point, width=0.2, label=\"\"];\n\t\"_start\" -> ", out);
	node_id(g, &wf->stages[wf->start]);
	fputs(";\n", out);

	for (size_t i = 0; i < wf->nstages; i++) {
		const docket_stage *st = &wf->stages[i];
		fputc('\t', out);
		node_id(g, st);
		fputs(" [label=\"", out);
		node_label(g, st);
		fputc('"', out);
		if (st->terminal)
			fputs(", peripheries=2, fillcolor=\"#e3f1e6\"", out);
		else if (st->action)
			fputs(", fillcolor=\"#e6eefb\"", out);
		if ((int)i == wf->start)
			fputs(", penwidth=2", out);
		fputs("];\n", out);
	}
	for (size_t i = 0; i < wf->nstages; i++)
		edges(g, &wf->stages[i]);
	fputs("}\n", out);
}

/* A flowchart rather than stateDiagram-v2: only flowcharts draw dashed
 * edges (timers), style nodes by class and take quoted, entity-escaped
 * labels everywhere; state diagram labels end at the first colon. */
static void write_mermaid(const struct gw *g)
{
	const docket_workflow *wf = g->wf;
	FILE *out = g->out;

	fprintf(out, "---\ntitle: %s v%lld\n---\nflowchart LR\n", wf->name,
		(long long)wf->version);
	fputs("\tclassDef stage fill:#f4f4f4,stroke:#555555\n"
	      "\tclassDef auto fill:#e6eefb,stroke:#555555\n"
	      "\tclassDef terminal fill:#e3f1e6,stroke:#555555,stroke-width:3px\n"
	      "\tclassDef start fill:#333333,stroke:#333333\n"
	      "\tstart__((\" \")):::start\n", out);

	for (size_t i = 0; i < wf->nstages; i++) {
		const docket_stage *st = &wf->stages[i];
		fputc('\t', out);
		node_id(g, st);
		fputs(st->terminal ? "([\"" : "(\"", out);
		node_label(g, st);
		fputs(st->terminal ? "\"])" : "\")", out);
		fputs(st->terminal ? ":::terminal\n" : st->action ? ":::auto\n" : ":::stage\n", out);
	}
	fputs("\tstart__ --> ", out);
	node_id(g, &wf->stages[wf->start]);
	fputc('\n', out);
	for (size_t i = 0; i < wf->nstages; i++)
		edges(g, &wf->stages[i]);
}

int docket_graph_write(const docket_workflow *wf, docket_graph_format fmt, FILE *out)
{
	struct gw g = {out, fmt, wf};

	if (fmt == DOCKET_GRAPH_DOT)
		write_dot(&g);
	else
		write_mermaid(&g);
	if (fflush(out) != 0 || ferror(out))
		return DOCKET_EIO;
	return 0;
}
