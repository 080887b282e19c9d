/*
 * replay.c - runs a fuzz target over every file of its corpus directory,
 * without libFuzzer, so each build replays the corpus as a regression test.
 * Prints TAP: one case per input.  A crash is the failure.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int byname(const struct dirent **a, const struct dirent **b)
{
	return strcmp((*a)->d_name, (*b)->d_name);
}

static unsigned char *slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t cap = 0, n = 0, r;

	if (!f)
		return NULL;
	do {
		if (n == cap) {
			cap = cap ? cap * 2 : 4096;
			unsigned char *nb = realloc(buf, cap);
			if (!nb) {
				free(buf);
				fclose(f);
				return NULL;
			}
			buf = nb;
		}
		r = fread(buf + n, 1, cap - n, f);
		n += r;
	} while (r > 0);
	fclose(f);
	*len = n;
	return buf;
}

int main(int argc, char **argv)
{
	struct dirent **ents;
	int n, i, k = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CORPUS-DIR\n", argv[0]);
		return 2;
	}
	n = scandir(argv[1], &ents, NULL, byname);
	if (n < 0) {
		perror(argv[1]);
		return 1;
	}
	int files = 0;
	for (i = 0; i < n; i++)
		files += ents[i]->d_name[0] != '.';
	printf("1..%d\n", files);
	for (i = 0; i < n; i++) {
		char path[4096];
		size_t len = 0;
		unsigned char *buf;

		if (ents[i]->d_name[0] == '.') {
			free(ents[i]);
			continue;
		}
		snprintf(path, sizeof path, "%s/%s", argv[1], ents[i]->d_name);
		buf = slurp(path, &len);
		if (!buf) {
			printf("not ok %d - %s (unreadable)\n", ++k, ents[i]->d_name);
		} else {
			LLVMFuzzerTestOneInput(buf, len);
			printf("ok %d - %s\n", ++k, ents[i]->d_name);
		}
		free(buf);
		free(ents[i]);
	}
	free(ents);
	return 0;
}
