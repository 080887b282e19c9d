/*
 * versus_sql.h - the schema and the preload both SQL peers of the
 * benchmark use (PostgreSQL and SQLite): the same records Docket keeps.
 *
 *   cases     one row per case; fields as JSON; the deadline `due`
 *   history   append-only under a global sequence; each entry names the
 *             case's previous entry (`prev`), as Docket's chain does, so
 *             no per-case index is needed to write it
 *   bystage   (workflow, stage, case) -> entered, due: cases by stage
 *   cases_due an index on cases(due): SLA deadlines, earliest first
 *
 * The workflow's rules live in `transitions`, filled from versus.c.
 */
#ifndef DOCKET_BENCH_VERSUS_SQL_H
#define DOCKET_BENCH_VERSUS_SQL_H

#include <stdio.h>

#include "versus.h"

/* The INSERT of the transition table's rows into `transitions`, written
 * to f (one statement). */
static inline void versus_sql_transitions(FILE *f)
{
	fputs("INSERT INTO transitions(ord, stage, event, to_stage, guard_field, guard_value, "
	      "sla_s) VALUES ", f);
	for (size_t i = 0; i < versus_ntransitions; i++) {
		const versus_transition *t = &versus_transitions[i];
		fprintf(f, "%s(%zu, '%s', '%s', '%s', %s%s%s, %s%s%s, %d)", i ? ", " : "", i,
			t->from, t->event, t->to,
			t->guard_field ? "'" : "", t->guard_field ? t->guard_field : "NULL",
			t->guard_field ? "'" : "",
			t->guard_value ? "'" : "", t->guard_value ? t->guard_value : "NULL",
			t->guard_value ? "'" : "", t->sla_s);
	}
	fputs(";\n", f);
}

#endif
