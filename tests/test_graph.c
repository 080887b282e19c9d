/* Workflow graphs: what a process owner sees in `docket graph`, in DOT and
 * Mermaid, and that Graphviz really renders it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <jansson.h>

#include "graph.h"

enum { R_SALES, R_OPS, R_FINANCE, R_DIRECTOR };
enum { F_QUANTITY, F_IN_STOCK, F_SEVERITY, NFIELDS };
enum { S_RECEIVED, S_STOCK, S_SHIPPING, S_PRODUCTION, S_COLLECTION,
       S_DUNNING, S_CLOSED, S_END, NSTAGES };

#define ROLE(r) (UINT64_C(1) << (r))
#define N(a) (sizeof(a) / sizeof *(a))

static char *roles[] = {"sales", "ops", "finance", "director"};
static char *severities[] = {"minor", "major"};

/* A sales order in miniature: a start stage whose title needs escaping, an
 * automatic stage with a guarded list, a timer, two terminal stages (one
 * named like a Mermaid keyword) and two events into the same stage. */
struct fixture {
	docket_field fields[NFIELDS];
	docket_transition confirm, cancel, reject, checked[2], shipped, made,
		paid, overdue, paid2, escalate;
	docket_event ev_received[3], ev_stock[1], ev_shipping[1], ev_production[1],
		ev_collection[2], ev_dunning[2];
	docket_timer timer;
	docket_action stock;
	docket_stage stages[NSTAGES];
	docket_workflow wf;
};

static docket_guard *guard(struct fixture *f, const char *src)
{
	docket_guard *g = NULL;
	docket_guard_error gerr;
	assert_int_equal(docket_guard_compile(src, strlen(src), f->fields, NFIELDS, &g, &gerr), 0);
	return g;
}

static docket_transition to(int stage, uint64_t roles)
{
	return (docket_transition){.to = stage, .roles = roles};
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	f->fields[F_QUANTITY] = (docket_field){.name = "quantity", .type = DOCKET_FT_INTEGER};
	f->fields[F_IN_STOCK] = (docket_field){.name = "in_stock", .type = DOCKET_FT_INTEGER};
	f->fields[F_SEVERITY] = (docket_field){.name = "severity", .type = DOCKET_FT_ENUM,
					       .values = severities, .nvalues = 2};

	f->confirm = to(S_STOCK, ROLE(R_SALES));
	f->cancel = to(S_END, ROLE(R_SALES) | ROLE(R_DIRECTOR));
	f->reject = to(S_END, ROLE(R_DIRECTOR));
	f->checked[0] = to(S_SHIPPING, 0);
	f->checked[0].when = guard(f, "in_stock >= quantity");
	f->checked[1] = to(S_PRODUCTION, 0);
	f->shipped = to(S_COLLECTION, ROLE(R_OPS));
	f->made = to(S_SHIPPING, 0);
	f->paid = to(S_CLOSED, ROLE(R_FINANCE));
	f->overdue = to(S_DUNNING, 0);
	f->paid2 = to(S_CLOSED, ROLE(R_FINANCE));
	f->escalate = to(S_END, ROLE(R_DIRECTOR));
	f->escalate.when = guard(f, "severity == \"major\"");

	f->ev_received[0] = (docket_event){.name = "confirm", .tr = &f->confirm, .ntr = 1};
	f->ev_received[1] = (docket_event){.name = "cancel", .tr = &f->cancel, .ntr = 1};
	f->ev_received[2] = (docket_event){.name = "reject", .tr = &f->reject, .ntr = 1};
	f->ev_stock[0] = (docket_event){.name = "checked", .tr = f->checked, .ntr = 2};
	f->ev_shipping[0] = (docket_event){.name = "shipped", .tr = &f->shipped, .ntr = 1};
	f->ev_production[0] = (docket_event){.name = "produced", .tr = &f->made, .ntr = 1};
	f->ev_collection[0] = (docket_event){.name = "paid", .tr = &f->paid, .ntr = 1};
	f->ev_collection[1] = (docket_event){.name = "overdue", .tr = &f->overdue, .ntr = 1};
	f->ev_dunning[0] = (docket_event){.name = "paid", .tr = &f->paid2, .ntr = 1};
	f->ev_dunning[1] = (docket_event){.name = "write_off", .tr = &f->escalate, .ntr = 1};

	f->timer = (docket_timer){.after_s = 30 * 86400, .event = 1};
	f->stock = (docket_action){.plugin = "stock", .with = json_object(),
				   .timeout_s = 30, .retry_max = 3, .backoff_s = 5};

	docket_stage *s = f->stages;
	s[S_RECEIVED] = (docket_stage){.name = "received",
		.title = "Order \"big\" <received> \\ now\nsecond line",
		.owner = R_SALES, .sla_s = 86400, .events = f->ev_received, .nevents = 3};
	s[S_STOCK] = (docket_stage){.name = "stock_check", .owner = R_OPS, .sla_s = 4 * 3600,
		.action = &f->stock, .events = f->ev_stock, .nevents = 1};
	s[S_SHIPPING] = (docket_stage){.name = "shipping", .title = "Shipping", .owner = -1,
		.events = f->ev_shipping, .nevents = 1};
	s[S_PRODUCTION] = (docket_stage){.name = "production", .title = "Production",
		.owner = -1, .sla_s = 3 * 7 * 86400, .events = f->ev_production, .nevents = 1};
	s[S_COLLECTION] = (docket_stage){.name = "collection", .title = "Collection",
		.owner = R_FINANCE, .sla_s = 30 * 86400, .events = f->ev_collection,
		.nevents = 2, .timers = &f->timer, .ntimers = 1};
	s[S_DUNNING] = (docket_stage){.name = "dunning", .title = "Dunning: chase",
		.owner = R_FINANCE, .sla_s = 14 * 86400, .events = f->ev_dunning, .nevents = 2};
	s[S_CLOSED] = (docket_stage){.name = "closed", .title = "Closed", .owner = -1,
		.terminal = true};
	s[S_END] = (docket_stage){.name = "end", .owner = -1, .terminal = true};

	f->wf = (docket_workflow){.name = "sales-order", .version = 3,
		.title = "Sales \"orders\"", .roles = roles, .nroles = N(roles),
		.fields = f->fields, .nfields = NFIELDS, .stages = f->stages,
		.nstages = NSTAGES, .start = S_RECEIVED};
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	docket_guard_free(f->checked[0].when);
	docket_guard_free(f->escalate.when);
	json_decref(f->stock.with);
	free(f);
	return 0;
}

static char *render(const docket_workflow *wf, docket_graph_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *out = open_memstream(&buf, &len);
	assert_non_null(out);
	assert_int_equal(docket_graph_write(wf, fmt, out), 0);
	fclose(out);
	return buf;
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("missing: %s\n--- in:\n%s", needle, hay ? hay : "(nothing)");
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void dot_has_a_node_per_stage_and_marks_start(void **state)
{
	struct fixture *f = *state;
	char *dot = render(&f->wf, DOCKET_GRAPH_DOT);
	const char *head = "digraph \"sales-order\" {\n\trankdir=LR;\n";
	assert_memory_equal(dot, head, strlen(head));
	assert_contains(dot, "\"_start\" [shape=point");
	assert_contains(dot, "\"_start\" -> \"received\";");
	/* untitled stage: its name, owner and SLA, and the plugin that runs */
	assert_contains(dot, "\"stock_check\" [label=\"stock_check\\nowner: ops \xc2\xb7 SLA 4h"
			     "\\n\xe2\x9a\x99 stock\"");
	assert_contains(dot, "\"production\" [label=\"Production\\nSLA 3w\"");
	assert_contains(dot, "\"shipping\" [label=\"Shipping\"]");
	assert_int_equal(count(dot, "[label="), NSTAGES + 10);
	assert_true(dot[strlen(dot) - 2] == '}');
	free(dot);
}

static void dot_draws_terminal_stages_double(void **state)
{
	struct fixture *f = *state;
	char *dot = render(&f->wf, DOCKET_GRAPH_DOT);
	assert_contains(dot, "\"closed\" [label=\"Closed\", peripheries=2");
	assert_contains(dot, "\"end\" [label=\"end\", peripheries=2");
	assert_int_equal(count(dot, "peripheries=2"), 2);
	free(dot);
}

static void dot_labels_edges_with_event_guard_and_roles(void **state)
{
	struct fixture *f = *state;
	char *dot = render(&f->wf, DOCKET_GRAPH_DOT);
	assert_contains(dot, "\"received\" -> \"stock_check\" [label=\"confirm (sales)\"];");
	assert_contains(dot, "\"stock_check\" -> \"shipping\" [label=\"checked [in_stock >= quantity]\"];");
	assert_contains(dot, "\"stock_check\" -> \"production\" [label=\"checked [else]\"];");
	assert_contains(dot, "\"dunning\" -> \"end\" "
			     "[label=\"write_off [severity == \\\"major\\\"] (director)\"];");
	free(dot);
}

static void dot_dashes_timer_edges(void **state)
{
	struct fixture *f = *state;
	char *dot = render(&f->wf, DOCKET_GRAPH_DOT);
	assert_contains(dot, "\"collection\" -> \"dunning\" "
			     "[label=\"\xe2\x8f\xb1 after 30d: overdue\", style=dashed");
	assert_int_equal(count(dot, "style=dashed"), 1);
	free(dot);
}

static void dot_merges_events_between_the_same_stages(void **state)
{
	struct fixture *f = *state;
	char *dot = render(&f->wf, DOCKET_GRAPH_DOT);
	assert_contains(dot, "\"received\" -> \"end\" "
			     "[label=\"cancel (sales, director)\\nreject (director)\"];");
	assert_int_equal(count(dot, "\"received\" -> \"end\""), 1);
	/* the same event name in two stages stays two edges */
	assert_int_equal(count(dot, "-> \"closed\""), 2);
	free(dot);
}

static void dot_escapes_quotes_backslashes_and_newlines(void **state)
{
	struct fixture *f = *state;
	char *dot = render(&f->wf, DOCKET_GRAPH_DOT);
	assert_contains(dot, "\"received\" [label=\"Order \\\"big\\\" <received> \\\\ now"
			     "\\nsecond line\\nowner: sales \xc2\xb7 SLA 1d\"");
	assert_contains(dot, "label=\"Sales \\\"orders\\\" (sales-order v3)\"");
	assert_null(strstr(dot, "now\nsecond"));
	free(dot);
}

/* Runs `dot -Tsvg` on the output: the escaping is right only if Graphviz
 * agrees, and every stage must come out as a node. */
static void dot_renders_with_graphviz(void **state)
{
	struct fixture *f = *state;
	char in[] = "/tmp/docket-graph-XXXXXX";
	int fd = mkstemp(in);
	assert_true(fd >= 0);
	FILE *out = fdopen(fd, "w");
	assert_int_equal(docket_graph_write(&f->wf, DOCKET_GRAPH_DOT, out), 0);
	fclose(out);

	char cmd[128];
	snprintf(cmd, sizeof cmd, "dot -Tsvg %s 2>&1", in);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char *svg = NULL;
	size_t cap = 0, len = 0;
	for (;;) {
		if (len + 4096 > cap) {
			cap = cap ? cap * 2 : 65536;
			svg = realloc(svg, cap);
			assert_non_null(svg);
		}
		size_t r = fread(svg + len, 1, cap - len - 1, p);
		if (r == 0)
			break;
		len += r;
	}
	svg[len] = 0;
	int st = pclose(p);
	unlink(in);
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		fail_msg("dot failed:\n%s", svg);
	assert_contains(svg, "<svg");
	assert_int_equal(count(svg, "class=\"node\""), NSTAGES + 1);
	assert_contains(svg, "<title>stock_check</title>");
	assert_contains(svg, "Order &quot;big&quot; &lt;received&gt; \\ now");
	assert_contains(svg, "in_stock &gt;= quantity");
	free(svg);
}

static void mermaid_is_a_flowchart_with_start_and_terminals(void **state)
{
	struct fixture *f = *state;
	char *mm = render(&f->wf, DOCKET_GRAPH_MERMAID);
	assert_contains(mm, "---\ntitle: sales-order v3\n---\nflowchart LR\n");
	assert_contains(mm, "\tstart__ --> s_received\n");
	assert_contains(mm, "\ts_stock_check(\"stock_check<br/>owner#58; ops \xc2\xb7 SLA 4h"
			    "<br/>\xe2\x9a\x99 stock\"):::auto\n");
	assert_contains(mm, "\ts_closed([\"Closed\"]):::terminal\n");
	/* a stage called `end` must not end the diagram */
	assert_contains(mm, "\ts_end([\"end\"]):::terminal\n");
	assert_null(strstr(mm, " end\n"));
	free(mm);
}

static void mermaid_labels_and_dashes_like_dot(void **state)
{
	struct fixture *f = *state;
	char *mm = render(&f->wf, DOCKET_GRAPH_MERMAID);
	assert_contains(mm, "\ts_received -->|\"confirm (sales)\"| s_stock_check\n");
	assert_contains(mm, "\ts_stock_check -->|\"checked [in_stock #62;= quantity]\"| s_shipping\n");
	assert_contains(mm, "\ts_stock_check -->|\"checked [else]\"| s_production\n");
	assert_contains(mm, "\ts_collection -.->|\"\xe2\x8f\xb1 after 30d#58; overdue\"| s_dunning\n");
	assert_contains(mm, "\ts_received -->|\"cancel (sales, director)<br/>reject (director)\"| s_end\n");
	assert_contains(mm, "|\"write_off [severity == #34;major#34;] (director)\"|");
	free(mm);
}

static void mermaid_escapes_what_it_would_choke_on(void **state)
{
	struct fixture *f = *state;
	char *mm = render(&f->wf, DOCKET_GRAPH_MERMAID);
	assert_contains(mm, "s_received(\"Order #34;big#34; #60;received#62; \\ now<br/>second line"
			    "<br/>owner#58; sales \xc2\xb7 SLA 1d\"):::stage\n");
	assert_contains(mm, "s_dunning(\"Dunning#58; chase<br/>");
	/* every label is one quoted string: quotes come in pairs on each line */
	for (char *line = mm; *line; ) {
		char *nl = strchr(line, '\n');
		size_t q = 0;
		for (char *c = line; c < nl; c++)
			q += *c == '"';
		assert_int_equal(q % 2, 0);
		line = nl + 1;
	}
	free(mm);
}

static void reports_a_failed_write(void **state)
{
	struct fixture *f = *state;
	FILE *full = fopen("/dev/full", "w");
	assert_non_null(full);
	assert_int_equal(docket_graph_write(&f->wf, DOCKET_GRAPH_DOT, full), DOCKET_EIO);
	fclose(full);
}

/* `test_graph render` runs only the Graphviz round trip, and reports it
 * skipped with a TAP plan of 1..0 where `dot` is missing: cmocka 1.1's
 * skip() prints `not ok # SKIP`, which TAP harnesses count as a failure. */
static int render_only(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dot_renders_with_graphviz, setup, teardown),
	};
	if (system("command -v dot >/dev/null 2>&1") != 0) {
		printf("1..0 # SKIP dot (graphviz) is not installed\n");
		return 0;
	}
	return cmocka_run_group_tests_name("render", tests, NULL, NULL);
}

int main(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "render"))
		return render_only();
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(dot_has_a_node_per_stage_and_marks_start, setup, teardown),
		cmocka_unit_test_setup_teardown(dot_draws_terminal_stages_double, setup, teardown),
		cmocka_unit_test_setup_teardown(dot_labels_edges_with_event_guard_and_roles, setup, teardown),
		cmocka_unit_test_setup_teardown(dot_dashes_timer_edges, setup, teardown),
		cmocka_unit_test_setup_teardown(dot_merges_events_between_the_same_stages, setup, teardown),
		cmocka_unit_test_setup_teardown(dot_escapes_quotes_backslashes_and_newlines, setup, teardown),
		cmocka_unit_test_setup_teardown(mermaid_is_a_flowchart_with_start_and_terminals, setup, teardown),
		cmocka_unit_test_setup_teardown(mermaid_labels_and_dashes_like_dot, setup, teardown),
		cmocka_unit_test_setup_teardown(mermaid_escapes_what_it_would_choke_on, setup, teardown),
		cmocka_unit_test_setup_teardown(reports_a_failed_write, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
