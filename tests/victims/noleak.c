/*
 * noleak: allocates a lot, in every way, from several threads, and gives
 * everything back.  The exit report must show no block in use and no context.
 *
 * Nothing here may stay allocated at exit, including what libc allocates on
 * our behalf: output goes through write(2) (victim.h), threads run on user
 * stacks (victim.h explains why), and the libc calls used (strdup, asprintf,
 * fopen, opendir, qsort, thread-specific data) all hand their memory back.
 */
#include <dirent.h>
#include <malloc.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "victim.h"

#define NTHREADS 4
#define OPS 20000

static pthread_key_t tsd_key;

static void tsd_free(void *p)
{
	free(p);
}

static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static unsigned long churn(uint64_t seed)
{
	void *win[128] = { NULL };
	unsigned long ops = 0;

	for (int i = 0; i < OPS; i++) {
		uint64_t r = vt_rand(&seed);
		void **slot = &win[r % 128];
		size_t size = 1 + (size_t)((r >> 8) % 4096);
		void *p = NULL;

		switch ((r >> 32) % 9) {
		case 0:
			free(*slot);
			*slot = malloc(size);
			break;
		case 1:
			free(*slot);
			*slot = calloc(size, 2);
			break;
		case 2:
			*slot = realloc(*slot, size);
			break;
		case 3:
			*slot = reallocarray(*slot, size, 3);
			break;
		case 4:
			free(*slot);
			*slot = posix_memalign(&p, 64, size) == 0 ? p : NULL;
			break;
		case 5:
			free(*slot);
			*slot = aligned_alloc(128, 128 * (1 + size % 8));
			break;
		case 6:
			free(*slot);
			*slot = memalign(32, size);
			break;
		case 7:
			free(*slot);
			*slot = (r >> 50) % 2 ? valloc(size) : pvalloc(size);
			break;
		default:
			free(*slot);
			*slot = NULL;
			break;
		}
		ops++;
	}
	for (int i = 0; i < 128; i++)
		free(win[i]);
	return ops;
}

static void *worker(void *arg)
{
	uintptr_t index = (uintptr_t)arg;

	/* freed by tsd_free when the thread ends */
	pthread_setspecific(tsd_key, malloc(1000 + index));
	return (void *)(uintptr_t)churn(0x1234567ULL * (index + 1));
}

static void libc_helpers(void)
{
	char *s = strdup("a string to duplicate");
	char *t = strndup(s, 5);
	char *a = NULL;
	int n = asprintf(&a, "%s/%d/%s", s, 42, t);
	FILE *f = fopen("/proc/self/status", "r");
	DIR *d = opendir("/");
	int nums[2000];
	char line[256];
	int lines = 0, entries = 0;

	while (f && fgets(line, sizeof(line), f))
		lines++;
	if (f)
		fclose(f);
	while (d && readdir(d))
		entries++;
	if (d)
		closedir(d);
	for (int i = 0; i < 2000; i++)
		nums[i] = (i * 7919) % 2000;
	qsort(nums, 2000, sizeof(nums[0]), cmp_int);
	vt_check(n == 30 && strcmp(t, "a str") == 0, "strdup, strndup, asprintf");
	vt_check(lines > 0 && entries > 0, "stdio file and directory read");
	vt_check(nums[0] == 0 && nums[1999] == 1999, "qsort");
	free(a);
	free(t);
	free(s);
}

static void big_blocks(void)
{
	for (int i = 0; i < 10; i++) {
		size_t size = (size_t)(1 + i) << 20;	/* above the mmap threshold */
		char *p = malloc(size);

		p[0] = p[size - 1] = 1;
		p = realloc(p, 2 * size);
		p[2 * size - 1] = 2;
		free(p);
	}
	free(calloc(16, 1 << 20));
}

int main(void)
{
	struct vt_thread t[NTHREADS];
	unsigned long ops = 0;

	if (pthread_key_create(&tsd_key, tsd_free) != 0)
		vt_die("pthread_key_create");
	libc_helpers();
	big_blocks();
	for (uintptr_t i = 0; i < NTHREADS; i++)
		vt_thread_start(&t[i], worker, (void *)i);
	ops += churn(99);
	for (int i = 0; i < NTHREADS; i++)
		ops += (uintptr_t)vt_thread_join(&t[i]);
	pthread_key_delete(tsd_key);
	vt_printf("noleak: %lu operations in %d threads, everything freed\n", ops, NTHREADS + 1);
	return vt_exit_status();
}
