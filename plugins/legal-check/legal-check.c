/*
 * legal-check - does the contract have the fields and clauses legal needs?
 *
 *   action:
 *     plugin: legal-check
 *     with:
 *       fields: [company, contract_value, payment_terms]
 *       clauses:                        # a name, or {name, any_of: [...]}
 *         - liability_cap               # found as "liability cap" or "liability_cap"
 *         - {name: governing_law, any_of: ["governing law", "jurisdiction"]}
 *       text_field: contract_text       # where the contract text is (default)
 *       notes_field: contract_gaps      # where to say what is missing (default)
 *
 * Emits `complete` when every field is set and every clause is found in
 * the contract text (case-insensitively), and clears the notes field;
 * otherwise `incomplete`, with the notes field saying what is missing, so
 * sales knows what to fix.  Pure: the same case always gives the same
 * answer.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <docket/plugin.h>

DOCKET_PLUGIN("legal-check", "1.0.0", "checks a contract has the fields and clauses legal needs")

struct notes {
	char buf[4096];
	size_t n;
	int fields, clauses;
};

static void add(struct notes *nt, const char *fmt, const char *s)
{
	int w = snprintf(nt->buf + nt->n, sizeof nt->buf - nt->n, fmt, s);
	if (w > 0 && (size_t)w < sizeof nt->buf - nt->n)
		nt->n += (size_t)w;
}

/* Whether text holds phrase, ignoring case and treating '_' as ' '. */
static int has_phrase(const char *text, const char *phrase)
{
	size_t n = strlen(phrase);

	if (!n)
		return 0;
	for (const char *p = text; *p; p++) {
		size_t i = 0;
		while (i < n && p[i]) {
			char a = p[i] == '_' ? ' ' : p[i], b = phrase[i] == '_' ? ' ' : phrase[i];
			if (a >= 'A' && a <= 'Z')
				a = (char)(a - 'A' + 'a');
			if (b >= 'A' && b <= 'Z')
				b = (char)(b - 'A' + 'a');
			if (a != b)
				break;
			i++;
		}
		if (i == n)
			return 1;
	}
	return 0;
}

static int clause_found(docket_run *r, const docket_host_api *api, size_t i, const char *text,
			const char **name)
{
	char path[64];
	size_t alts;

	snprintf(path, sizeof path, "clauses.%zu", i);
	if (api->with_string(r, path, name) == 0)
		return has_phrase(text, *name);
	snprintf(path, sizeof path, "clauses.%zu.name", i);
	if (api->with_string(r, path, name))
		return -1;
	snprintf(path, sizeof path, "clauses.%zu.any_of", i);
	alts = api->with_count(r, path);
	if (!alts)
		return has_phrase(text, *name);
	for (size_t k = 0; k < alts; k++) {
		const char *alt;
		snprintf(path, sizeof path, "clauses.%zu.any_of.%zu", i, k);
		if (api->with_string(r, path, &alt) == 0 && has_phrase(text, alt))
			return 1;
	}
	return 0;
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *text_field = "contract_text", *notes_field = "contract_gaps", *text = "";
	struct notes nt = {0};
	char path[64];
	(void)state;

	api->with_string(r, "text_field", &text_field);
	api->with_string(r, "notes_field", &notes_field);
	for (size_t i = 0, n = api->with_count(r, "fields"); i < n; i++) {
		const char *f;
		snprintf(path, sizeof path, "fields.%zu", i);
		if (api->with_string(r, path, &f))
			return api->fail(r, "legal-check: with.%s must be a field name", path);
		docket_value_type t = api->field_type(r, f);
		if (t == DOCKET_VALUE_MISSING || t == DOCKET_VALUE_NULL ||
		    (t == DOCKET_VALUE_STRING && api->field_string(r, f, &text) == 0 && !*text)) {
			add(&nt, nt.fields++ ? ", %s" : "missing fields: %s", f);
		}
	}
	text = "";
	api->field_string(r, text_field, &text);
	for (size_t i = 0, n = api->with_count(r, "clauses"); i < n; i++) {
		const char *name = "?";
		int found = clause_found(r, api, i, text, &name);
		if (found < 0)
			return api->fail(r, "legal-check: with.clauses.%zu must be a name or {name, any_of}", i);
		if (!found)
			add(&nt, nt.clauses++ ? ", %s" : (nt.fields ? "; missing clauses: %s" : "missing clauses: %s"), name);
	}
	if (!nt.fields && !nt.clauses) {
		if (api->field_type(r, notes_field) != DOCKET_VALUE_MISSING)
			api->set_null(r, notes_field);
		api->log(r, DOCKET_LOG_INFO, "contract complete");
		return api->emit(r, "complete");
	}
	api->set_string(r, notes_field, nt.buf);
	api->log(r, DOCKET_LOG_INFO, "%s", nt.buf);
	return api->emit(r, "incomplete");
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	return api->set_run(p, run, NULL, NULL);
}
