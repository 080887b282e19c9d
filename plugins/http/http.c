/*
 * http - posts the case to a URL and maps the response to an outcome.
 *
 *   action:
 *     plugin: http
 *     with:
 *       url: https://erp.example/api/orders
 *       method: POST                    # or PUT
 *       headers: {Authorization: "Bearer ..."}
 *       timeout: 20s                    # of the request; keep it under the stage's
 *       event: accepted                 # for a 2xx without an outcome (default: the first)
 *
 * The body is the run as JSON (api->run_json); the idempotency key goes in
 * an Idempotency-Key header, so the receiver can recognise a repeated
 * attempt.  The response decides:
 *
 *   2xx with a JSON outcome ({"event"...}, {"retry"...}, {"failed"...})  that
 *   2xx otherwise                                   with.event / the first event
 *   408, 425, 429, 5xx, no connection, timeout      retry
 *   other 4xx (and 3xx: redirects are not followed) failed
 *
 * Only http and https URLs are accepted.  Bodies over 1 MiB are cut.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include <docket/plugin.h>

DOCKET_PLUGIN("http", "1.0.0", "posts the case to a URL and maps the response")

#define BODY_MAX (1u << 20)

struct body {
	char *p;
	size_t n;
};

static size_t collect(char *data, size_t size, size_t nmemb, void *ctx)
{
	struct body *b = ctx;
	size_t n = size * nmemb;

	if (b->n + n > BODY_MAX)
		return 0;       /* ends the transfer with CURLE_WRITE_ERROR */
	char *nb = realloc(b->p, b->n + n + 1);
	if (!nb)
		return 0;
	b->p = nb;
	memcpy(b->p + b->n, data, n);
	b->n += n;
	b->p[b->n] = '\0';
	return n;
}

/* The first line of a body, for a reason. */
static const char *snippet(docket_run *r, const docket_host_api *api, const struct body *b)
{
	if (!b->n)
		return "";
	size_t n = strcspn(b->p, "\r\n");
	return api->format(r, ": %.*s", (int)(n > 200 ? 200 : n), b->p);
}

static int answer(docket_run *r, const docket_host_api *api, const char *url, long status,
		  const struct body *b)
{
	if (status >= 200 && status < 300) {
		const char *ev = NULL;
		if (b->n && api->outcome_json(r, b->p, b->n) == 0)
			return 0;
		if (api->with_string(r, "event", &ev))
			ev = api->event_name(r, 0);
		return api->emit(r, ev ? ev : "done");
	}
	if (status == 408 || status == 425 || status == 429 || status >= 500)
		return api->retry(r, "%s answered HTTP %ld%s", url, status, snippet(r, api, b));
	return api->fail(r, "%s answered HTTP %ld%s", url, status, snippet(r, api, b));
}

static int run(docket_run *r, const docket_host_api *api, void *state)
{
	const char *url, *method = "POST", *body = api->run_json(r);
	struct curl_slist *hdrs = NULL;
	struct body resp = {0};
	char errbuf[CURL_ERROR_SIZE] = "", path[160];
	int64_t timeout_s = 30;
	long status = 0;
	CURL *c;
	int rc;
	(void)state;

	if (api->with_string(r, "url", &url) || (strncmp(url, "http://", 7) && strncmp(url, "https://", 8)))
		return api->fail(r, "http: with.url must be an http:// or https:// URL");
	api->with_string(r, "method", &method);
	if (strcmp(method, "POST") && strcmp(method, "PUT"))
		return api->fail(r, "http: with.method must be POST or PUT");
	if (api->with_type(r, "timeout") != DOCKET_VALUE_MISSING &&
	    api->with_duration(r, "timeout", &timeout_s))
		return api->fail(r, "http: with.timeout must be a duration like 20s");
	if (!body || !(c = curl_easy_init()))
		return api->retry(r, "http: out of memory");
	hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = curl_slist_append(hdrs, api->format(r, "Idempotency-Key: %s", api->key(r)));
	for (size_t i = 0, n = api->with_count(r, "headers"); i < n; i++) {
		const char *name = api->with_key(r, "headers", i), *val;
		snprintf(path, sizeof path, "headers.%s", name ? name : "");
		if (name && api->with_string(r, path, &val) == 0)
			hdrs = curl_slist_append(hdrs, api->format(r, "%s: %s", name, val));
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "docket-http/1.0");
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)(timeout_s * 1000));
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	CURLcode cc = curl_easy_perform(c);
	if (cc == CURLE_OK) {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
		api->log(r, DOCKET_LOG_INFO, "%s %s: HTTP %ld", method, url, status);
		rc = answer(r, api, url, status, &resp);
	} else if (cc == CURLE_WRITE_ERROR) {
		rc = api->fail(r, "http: %s answered more than %u bytes", url, BODY_MAX);
	} else {
		rc = api->retry(r, "http: %s %s: %s", method, url, errbuf[0] ? errbuf : curl_easy_strerror(cc));
	}
	curl_slist_free_all(hdrs);
	curl_easy_cleanup(c);
	free(resp.p);
	return rc;
}

static void release(void *state)
{
	(void)state;
	curl_global_cleanup();
}

int docket_plugin_init(docket_plugin *p, const docket_host_api *api)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT)) {
		api->init_error(p, "libcurl could not be initialised");
		return -1;
	}
	return api->set_run(p, run, NULL, release);
}
