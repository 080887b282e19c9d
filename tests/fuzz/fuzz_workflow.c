/*
 * fuzz_workflow.c - any bytes through the whole loader: YAML events,
 * the node tree, every check, guards, JSON configuration, and freeing.
 * A plugin check is included so that path is reached too.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "workflow.h"

static bool some_plugins(void *ctx, const char *name)
{
	(void)ctx;
	return strcmp(name, "missing") != 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	docket_load_opts opts = {.plugin_exists = some_plugins};
	docket_workflow *wf = NULL;
	docket_diags d;

	docket_diags_init(&d, "fuzz.yaml");
	docket_workflow_load_buf("fuzz.yaml", (const char *)data, size, &opts, &wf, &d);
	docket_workflow_free(wf);
	docket_diags_free(&d);
	return 0;
}
