/*
 * Unit test for the glibc heap walk from outside (common/glibcheap.c) and
 * the agent's in-process finder (agent/glibc_heap.c), in one process: the
 * test builds a heap of known blocks (../shared/notes/leak-verdicts.md,
 * 4.7's heapdemo: a thread on its own arena keeping one block and freeing
 * one, an mmapped block, blocks freed into a tcache (7), a fastbin (2) and
 * the unsorted bin, a block taken last), finds main_arena and the tcache
 * key as the agent does, snapshots its own writable mappings (the walk
 * allocates, which would change the heap under it) and walks the snapshot
 * through a memsrc that checks every read against /proc/self/maps.
 *
 * Checked: every kept block is in use with malloc_usable_size's usable
 * size, no freed block is reported, the two tcache structs (main thread,
 * the thread) and nothing else are internal, the mmapped block is found,
 * the owned ranges cover every block and main_arena, what the walk passes
 * to its read callback is the memory and covers every block of a heap; the
 * finder gives the
 * same main_arena from a thread on another arena. The whole run is
 * repeated in child processes with GLIBC_TUNABLES tcache_count=0 (no
 * tcache: the key must be 0) and mxfast=0 (no fastbins).
 *
 * Built without sanitizers: ASan's allocator is not glibc's. Skips (77)
 * where the C library is not glibc 2.35 or later.
 *
 * Exit status: 0 pass, 1 fail, 77 skip, 99 broken harness.
 */
#include <errno.h>
#include <fcntl.h>
#include <gnu/libc-version.h>
#include <malloc.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "glibc_heap.h"
#include "glibcheap.h"
#include "real.h"

/* The finder's stand-in for the agent's real-allocator table. */
struct agent_real agent_real = { .malloc = malloc, .free = free };

#define MAXMAPS 4096
#define MAXCHUNKS (1 << 17)
#define MAXOWNED 1024

static struct glibcheap_map maps[MAXMAPS];
static char *snap[MAXMAPS];	/* copy of maps[i] when it is rw, else NULL */
static size_t nmaps;
static char mapsbuf[1 << 20];

static struct glibcheap_chunk chunks[MAXCHUNKS];
static size_t nchunks;
static struct glibcheap_range own[MAXOWNED];
static size_t nown;

/* /proc/self/maps into maps[] with read(2) and no allocation; rw private
 * mappings copied into mmap'ed snapshots. */
static void snapshot(void)
{
	int fd = open("/proc/self/maps", O_RDONLY);
	size_t len = 0;
	ssize_t r;
	char *line;

	if (fd < 0)
		broken("open /proc/self/maps");
	while ((r = read(fd, mapsbuf + len, sizeof(mapsbuf) - 1 - len)) > 0)
		len += (size_t)r;
	close(fd);
	mapsbuf[len] = 0;
	nmaps = 0;
	for (line = mapsbuf; *line && nmaps < MAXMAPS;) {
		char *end = strchr(line, '\n'), perms[5] = "", path[256] = "";
		unsigned long lo, hi;

		if (end)
			*end = 0;
		if (sscanf(line, "%lx-%lx %4s %*s %*s %*s %255s", &lo, &hi, perms, path) >= 3) {
			struct glibcheap_map *m = &maps[nmaps];

			m->lo = lo;
			m->hi = hi;
			m->anon_rw = !strcmp(perms, "rw-p") && (!path[0] || path[0] == '[');
			snap[nmaps] = NULL;
			if (perms[0] == 'r' && perms[1] == 'w' && strcmp(path, "[vvar]") && strcmp(path, "[vsyscall]")) {
				snap[nmaps] = mmap(NULL, hi - lo, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
				if (snap[nmaps] == MAP_FAILED)
					broken("mmap a snapshot");
				memcpy(snap[nmaps], (void *)lo, hi - lo);
			}
			nmaps++;
		}
		line = end ? end + 1 : line + strlen(line);
	}
}

static void snapshot_free(void)
{
	for (size_t i = 0; i < nmaps; i++)
		if (snap[i])
			munmap(snap[i], maps[i].hi - maps[i].lo);
	nmaps = 0;
}

static int snap_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	for (size_t i = 0; i < nmaps; i++)
		if (addr >= maps[i].lo && addr < maps[i].hi) {
			if (!snap[i] || len > maps[i].hi - addr)
				break;
			memcpy(buf, snap[i] + (addr - maps[i].lo), len);
			return 0;
		}
	errno = EFAULT;
	return -1;
}

static int on_chunk(void *arg, const struct glibcheap_chunk *c)
{
	if (nchunks < MAXCHUNKS)
		chunks[nchunks++] = *c;
	return 0;
}

static void on_owned(void *arg, const struct glibcheap_range *r)
{
	if (nown < MAXOWNED)
		own[nown++] = *r;
}

/* What the walk passed to its read callback: ranges, merged when they touch; and whether each piece was the memory. */
#define MAXREAD 4096
static struct glibcheap_range readr[MAXREAD];
static size_t nread, read_wrong;

static void on_read(void *arg, uint64_t addr, const void *buf, size_t len)
{
	const struct memsrc *m = arg;
	static char again[65536];

	if (len > sizeof(again) || m->read(m->arg, addr, again, len) < 0 || memcmp(again, buf, len))
		read_wrong++;
	if (nread && addr >= readr[nread - 1].lo && addr <= readr[nread - 1].hi) {
		if (addr + len > readr[nread - 1].hi)
			readr[nread - 1].hi = addr + len;
	} else if (nread < MAXREAD) {
		readr[nread++] = (struct glibcheap_range){ addr, addr + len };
	}
}

/* Whether [LO, HI) lies in what the walk passed to on_read. */
static int was_read(uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < nread; i++)
		if (lo >= readr[i].lo && hi <= readr[i].hi)
			return 1;
	return 0;
}

static int by_mem(const void *a, const void *b)
{
	uint64_t x = ((const struct glibcheap_chunk *)a)->mem, y = ((const struct glibcheap_chunk *)b)->mem;

	return x < y ? -1 : x > y;
}

/* The chunk reported at P (chunks[] sorted by by_mem), or NULL. */
static const struct glibcheap_chunk *reported(uintptr_t p)
{
	struct glibcheap_chunk key = { .mem = p };

	return bsearch(&key, chunks, nchunks, sizeof(*chunks), by_mem);
}

static int is_owned(uint64_t lo, uint64_t hi)
{
	for (size_t i = 0; i < nown; i++)
		if (lo >= own[i].lo && hi <= own[i].hi)
			return 1;
	return 0;
}

/* Where in the snapshot ADDR is, or NULL. */
static char *snap_at(uint64_t addr)
{
	for (size_t i = 0; i < nmaps; i++)
		if (addr >= maps[i].lo && addr < maps[i].hi)
			return snap[i] ? snap[i] + (addr - maps[i].lo) : NULL;
	return NULL;
}

/*
 * One word of the heap's metadata or contents at a time changed to a
 * value a broken heap would hold (0, flags, sizes, a self-pointer, a huge
 * number, random): each walk ends, with or without a message, and never
 * faults or hangs (the watchdog). Owned ranges and the chunk headers are
 * where the damage lands.
 */
#define FUZZ_ROUNDS 120

static void fuzz(const char *mode, const struct memsrc *m, const struct glibcheap_info *info)
{
	struct glibcheap_range ranges[MAXOWNED];
	size_t nr = nown, refused = 0;
	unsigned ws = sizeof(void *);

	srandom((unsigned)check_seed(0));
	memcpy(ranges, own, nr * sizeof(*ranges));
	for (int round = 0; round < FUZZ_ROUNDS; round++) {
		const struct glibcheap_range *r = &ranges[(size_t)random() % nr];
		uint64_t at, vals[6];
		uintptr_t old = 0, v;
		struct glibcheap_walk w = { 0 };
		char err[256], *p;

		/* Half the rounds hit a chunk header, half anywhere in a range. */
		if (round % 2 && nchunks)
			at = chunks[(size_t)random() % nchunks].mem - ws;
		else
			at = r->lo + ((uint64_t)random() % ((r->hi - r->lo) / ws)) * ws;
		at = at > info->main_arena && at < info->main_arena + 64 * ws && random() % 2 ?
			     info->main_arena + ((size_t)random() % 64) * ws : at;
		if (!(p = snap_at(at)))
			continue;
		memcpy(&old, p, ws);
		vals[0] = 0;
		vals[1] = (uint64_t)random() & 7;
		vals[2] = old + (uint64_t)((random() % 64) - 32) * 8;
		vals[3] = at;
		vals[4] = ~(uint64_t)0;
		vals[5] = ((uint64_t)random() << 32) ^ (uint64_t)random();
		v = (uintptr_t)vals[(size_t)random() % 6];
		memcpy(p, &v, ws);
		if (glibcheap_walk(m, info, maps, nmaps, &w, err, sizeof(err)) < 0)
			refused++;
		memcpy(p, &old, ws);
	}
	printf("%s: %d damaged heaps walked, %zu refused with a message\n", mode, FUZZ_ROUNDS, refused);
	CHECK(1, "damaged heaps end");
}

/* The thread of the heapdemo: one block kept, one freed, parked. Then
 * more blocks than its arena's first heap holds (HEAP_MAX_SIZE: 64 MiB,
 * 1 MiB on 32-bit), every other one freed: older heaps end in fenceposts. */
#define SPAN_BLOCK 4000
static pthread_barrier_t built, done;
static void *thr_block;
static void *volatile thr_guard;	/* volatile: gcc may drop a malloc whose block is only freed */
static uintptr_t thr_freed;
static void **span;
static size_t nspan;

static void *heap_thread(void *arg)
{
	void *f;

	thr_block = malloc(100);
	f = malloc(100);
	thr_guard = malloc(100);	/* f freed stays free (with tcache off it would join top) */
	thr_freed = (uintptr_t)f;
	free(f);
	nspan = (sizeof(void *) == 8 ? (80u << 20) : (3u << 20)) / SPAN_BLOCK;
	span = malloc(nspan * sizeof(*span));
	if (!span)
		broken("malloc");
	for (size_t i = 0; i < nspan; i++)
		span[i] = malloc(SPAN_BLOCK);
	for (size_t i = 0; i < nspan; i += 2) {
		free(span[i]);
		span[i] = (void *)((uintptr_t)span[i] | 1);	/* freed: its address, marked */
	}
	pthread_barrier_wait(&built);
	pthread_barrier_wait(&done);
	for (size_t i = 1; i < nspan; i += 2)
		free(span[i]);
	free(span);
	free(thr_guard);
	free(thr_block);
	return NULL;
}

static void *finder_thread(void *arg)
{
	struct agent_glibc_alloc a = { malloc, free };
	struct glibcheap_info *info = arg;

	if (agent_glibc_heap_find(&a, info) < 0)
		info->main_arena = 0;
	return NULL;
}

static unsigned libc_version(void)
{
	unsigned major = 0, minor = 0;

	sscanf(gnu_get_libc_version(), "%u.%u", &major, &minor);
	return major * 100 + minor;
}

struct kept {
	void *p;
	size_t size;
	const char *what;
};

static void run(const char *mode)
{
	struct agent_glibc_alloc a = { malloc, free };
	struct glibcheap_info info, tinfo;
	struct memsrc m = { .read = snap_read, .ptr_size = sizeof(void *) };
	struct glibcheap_walk w = { .chunk = on_chunk, .owned = on_owned };
	int tcache_off = strstr(mode, "tcache_count=0") != NULL;
	void *t[9], *b, *guard, *dropped, *keep, *mm, *last;
	uintptr_t freed[9], big;
	struct kept kept[8];
	size_t nkept = 0, ninternal = 0;
	pthread_t th;
	char err[256];
	int rc;

	printf("-- %s\n", mode);
	CHECK(agent_glibc_heap_find(&a, &info) == 0, "%s: the finder found main_arena", mode);
	CHECK(info.version == libc_version(), "%s: version %u, gnu_get_libc_version says %u", mode,
	      info.version, libc_version());
	if (tcache_off)
		CHECK(info.tcache_key == 0, "%s: tcache off, key 0x%llx", mode, (unsigned long long)info.tcache_key);
	else
		CHECK(info.tcache_key != 0, "%s: a tcache key", mode);

	/* The heapdemo, in its order (the notes, 4.7). */
	pthread_barrier_init(&built, NULL, 2);
	pthread_barrier_init(&done, NULL, 2);
	if (pthread_create(&th, NULL, heap_thread, NULL))
		broken("pthread_create");
	pthread_barrier_wait(&built);
	mm = malloc(300000);
	keep = malloc(64);
	dropped = malloc(48);
	for (int i = 0; i < 9; i++)
		t[i] = malloc(0x18);
	b = malloc(0x500);
	guard = malloc(0x18);
	last = malloc(40);	/* from top: the block just before it */
	for (int i = 0; i < 9; i++) {
		freed[i] = (uintptr_t)t[i];
		free(t[i]);
	}
	big = (uintptr_t)b;
	free(b);
	kept[nkept++] = (struct kept){ thr_block, 100, "the thread's block" };
	kept[nkept++] = (struct kept){ mm, 300000, "the mmapped block" };
	kept[nkept++] = (struct kept){ keep, 64, "malloc(64)" };
	kept[nkept++] = (struct kept){ dropped, 48, "malloc(48)" };
	kept[nkept++] = (struct kept){ guard, 0x18, "the guard" };
	kept[nkept++] = (struct kept){ last, 40, "the last block" };

	snapshot();
	nchunks = nown = nread = read_wrong = 0;
	w.read = on_read;
	w.arg = &m;
	rc = glibcheap_walk(&m, &info, maps, nmaps, &w, err, sizeof(err));
	CHECK(rc == 0, "%s: walk: %s", mode, err);
	/* The read callback: what the walk read, as it is in memory, every block in a heap inside it. */
	CHECK(read_wrong == 0, "%s: %zu pieces passed to the read callback are not the memory", mode, read_wrong);
	for (size_t i = 0; i < nkept; i++)
		if (kept[i].p != mm)
			CHECK(was_read((uintptr_t)kept[i].p, (uintptr_t)kept[i].p + kept[i].size),
			      "%s: %s %p is in no piece the walk passed to its read callback", mode, kept[i].what,
			      kept[i].p);
	printf("%s: %zu in use, %zu free, %zu arenas, %zu heaps, %zu mmapped, %zu owned ranges\n", mode,
	       w.n_used, w.n_free, w.n_arenas, w.n_heaps, w.n_mmapped, nown);
	CHECK(nchunks < MAXCHUNKS, "%s: fewer chunks than the test keeps", mode);
	qsort(chunks, nchunks, sizeof(*chunks), by_mem);

	for (size_t i = 0; i < nkept; i++) {
		const struct glibcheap_chunk *c = reported((uintptr_t)kept[i].p);

		CHECK(c != NULL, "%s: %s %p is reported in use", mode, kept[i].what, kept[i].p);
		if (!c)
			continue;
		CHECK(c->usable == malloc_usable_size(kept[i].p) && c->usable >= kept[i].size,
		      "%s: %s: usable %llu, malloc_usable_size %zu", mode, kept[i].what,
		      (unsigned long long)c->usable, malloc_usable_size(kept[i].p));
		CHECK(!c->internal, "%s: %s is not internal", mode, kept[i].what);
		CHECK(is_owned(c->mem, c->mem + c->usable), "%s: %s is in an owned range", mode, kept[i].what);
	}
	for (int i = 0; i < 9; i++)
		CHECK(!reported(freed[i]), "%s: freed t[%d] 0x%lx is not reported", mode, i, (unsigned long)freed[i]);
	CHECK(!reported(big), "%s: freed big block is not reported", mode);
	{
		size_t bad_kept = 0, bad_freed = 0;

		for (size_t i = 0; i < nspan; i++) {
			uintptr_t p = (uintptr_t)span[i] & ~(uintptr_t)1;
			const struct glibcheap_chunk *c = reported(p);

			if ((uintptr_t)span[i] & 1)
				bad_freed += c != NULL;
			else
				bad_kept += !c || c->usable != malloc_usable_size(span[i]) || !is_owned(p, p + c->usable);
		}
		CHECK(!bad_kept && !bad_freed, "%s: %zu blocks across the thread's heaps: %zu kept ones wrong, %zu freed ones reported",
		      mode, nspan, bad_kept, bad_freed);
	}
	CHECK(!reported(thr_freed), "%s: the thread's freed block 0x%lx is not reported (usable %lld)", mode,
	      (unsigned long)thr_freed, reported(thr_freed) ? (long long)reported(thr_freed)->usable : -1LL);
	for (size_t i = 0; i < nchunks; i++)
		if (chunks[i].internal) {
			ninternal++;
			CHECK(chunks[i].usable == (sizeof(void *) == 8 ? 0x288 : 0x184),
			      "%s: internal chunk 0x%llx has the size of a tcache struct", mode,
			      (unsigned long long)chunks[i].mem);
		}
	CHECK(ninternal == 2, "%s: 2 tcache structs are internal (main thread, the thread), %zu found", mode,
	      ninternal);
	CHECK(w.n_arenas >= 2 && w.n_heaps >= 3, "%s: %zu arenas, %zu heaps (main, the thread's two or more)", mode,
	      w.n_arenas, w.n_heaps);
	CHECK(w.n_mmapped >= 1, "%s: mmapped chunks found", mode);
	CHECK(is_owned(info.main_arena, info.main_arena + 8), "%s: main_arena is owned", mode);
	fuzz(mode, &m, &info);
	snapshot_free();

	pthread_barrier_wait(&done);
	pthread_join(th, NULL);

	/* From a thread on its own arena: the ring leads to the same main_arena. */
	memset(&tinfo, 0, sizeof(tinfo));
	if (pthread_create(&th, NULL, finder_thread, &tinfo))
		broken("pthread_create");
	pthread_join(th, NULL);
	CHECK(tinfo.main_arena == info.main_arena, "%s: from a thread, main_arena 0x%llx (main thread: 0x%llx)",
	      mode, (unsigned long long)tinfo.main_arena, (unsigned long long)info.main_arena);
	CHECK(tinfo.tcache_key == info.tcache_key, "%s: from a thread, the same tcache key", mode);

	/* A corrupt header ends the walk with a message. */
	snapshot();
	for (size_t i = 0; i < nmaps; i++)
		if ((uintptr_t)keep >= maps[i].lo && (uintptr_t)keep < maps[i].hi && snap[i]) {
			uint64_t bad = 0x7;	/* size 0 */

			memcpy(snap[i] + ((uintptr_t)keep - sizeof(void *) - maps[i].lo), &bad, sizeof(void *));
		}
	nchunks = nown = 0;
	w = (struct glibcheap_walk){ .chunk = on_chunk, .owned = on_owned };
	rc = glibcheap_walk(&m, &info, maps, nmaps, &w, err, sizeof(err));
	CHECK(rc < 0 && err[0], "%s: a corrupt chunk header is refused (%s)", mode, err);
	snapshot_free();

	free(mm);
	free(keep);
	free(dropped);
	free(guard);
	free(last);
}

/* This program again with GLIBC_TUNABLES=TUNABLE: its exit status. */
static int rerun(const char *self, const char *tunable)
{
	pid_t pid = fork();
	int st;

	if (pid < 0)
		broken("fork");
	if (pid == 0) {
		char env[128];

		snprintf(env, sizeof(env), "GLIBC_TUNABLES=%s", tunable);
		putenv(env);
		execl(self, self, tunable, (char *)NULL);
		_exit(77);	/* under qemu-user without binfmt: run each mode by hand */
	}
	if (waitpid(pid, &st, 0) < 0)
		broken("waitpid");
	return WIFEXITED(st) ? WEXITSTATUS(st) : 99;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IONBF, 0);
	if (libc_version() < 235) {
		printf("SKIP: glibc %s: the walk reads 2.35 and later\n", gnu_get_libc_version());
		return 77;
	}
	check_step("heap walk", 240);
	if (argc > 1) {
		run(argv[1]);
		return check_done();
	}
	run("default");
	for (int i = 0; i < 2; i++) {
		static const char *const tunables[] = { "glibc.malloc.tcache_count=0", "glibc.malloc.mxfast=0" };
		int st = rerun(argv[0], tunables[i]);

		if (st == 77)
			printf("SKIP: %s: %s could not run itself again\n", tunables[i], argv[0]);
		else
			CHECK(st == 0, "the run with %s passes", tunables[i]);
	}
	return check_done();
}
