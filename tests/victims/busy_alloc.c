/*
 * busy_alloc: threads that live in the allocator and the loader, the
 * hardest processes to attach to (tests/integration/t-attach-safepoint.sh,
 * bench/safepoint.sh).
 *
 *     busy_alloc DIR KINDS [PLUGIN]
 *
 * KINDS is one letter per thread, the first for the main thread:
 *   m  a tight loop of malloc, calloc, realloc and free over a window of
 *      blocks, no system call: each block carries a pattern of its own,
 *      checked whole before it is resized or freed;
 *   d  dlopen and dlclose of PLUGIN in a loop (its constructor allocates);
 *   i  dl_iterate_phdr in a loop, with a callback that allocates and frees;
 *   k  the same through an address of dl_iterate_phdr kept from before any
 *      attach, so that its calls never pass a hook in the GOT.
 * "m" is one allocating thread, "mm" two, "mmmmmmmm" eight; "md", "mi" and
 * "mk" pair the allocator with the loader.
 *
 * Once every thread runs, DIR/ready gets the pid.  SIGTERM (or SIGINT) asks
 * every thread to stop; the main thread then joins them, checks the window
 * blocks once more, frees them, prints one line per check and exits 0 if
 * every block kept its pattern, 1 otherwise.  Nothing of timing or counts is
 * printed, so a traced run prints exactly what an untraced one does.  The
 * number of damaged blocks, if any, also goes to DIR/damaged.
 */
#include <dlfcn.h>
#include <fcntl.h>
#include <link.h>
#include <signal.h>
#include <stdatomic.h>

#include "victim.h"

#define MAX_THREADS 16
#define WINDOW 128
#define MAX_BLOCK 1024

struct block {
	unsigned char *p;
	size_t size;
	unsigned char seed;
};

struct worker {
	char kind;
	int index;
	struct vt_thread thread;
	struct block win[WINDOW];
	unsigned long damaged;
	unsigned long failed;	/* an allocation that returned NULL */
	unsigned long rounds;
};

static volatile sig_atomic_t stop;
static const char *plugin;
static char dir[256];

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/*
 * The pattern covers the first and last 16 bytes and every 32nd byte
 * between: enough to see a chunk header written over or a block handed out
 * twice, cheap enough that the thread spends its time in the allocator.
 */
#define EDGE 16
#define STRIDE 32

static unsigned char pat(const struct block *b, size_t i)
{
	return (unsigned char)(b->seed + i * 7);
}

static size_t next_index(size_t i, size_t size)
{
	if (i + 1 < EDGE || i + EDGE + 1 >= size)
		return i + 1;
	return i + STRIDE < size - EDGE ? i + STRIDE : size - EDGE;
}

static void fill(struct block *b)
{
	for (size_t i = 0; i < b->size; i = next_index(i, b->size))
		b->p[i] = pat(b, i);
}

/* The pattern of B as filled, in its first LIMIT bytes. */
static int intact_upto(const struct block *b, size_t limit)
{
	for (size_t i = 0; i < b->size && i < limit; i = next_index(i, b->size))
		if (b->p[i] != pat(b, i))
			return 0;
	return 1;
}

static int intact(const struct block *b)
{
	return intact_upto(b, b->size);
}

/* One operation on a random slot of the window, through every family member. */
NOINLINE static void churn_once(struct worker *w, uint64_t *rng)
{
	uint64_t r = vt_rand(rng);
	struct block *b = &w->win[r % WINDOW];
	size_t size = 1 + (size_t)((r >> 12) % MAX_BLOCK);
	unsigned char seed = (unsigned char)(r >> 40);
	unsigned op = (unsigned)(r >> 32) % 8;

	if (b->p && !intact(b))
		w->damaged++;
	if (!b->p) {
		b->p = op & 1 ? calloc(1, size) : malloc(size);
	} else if (op < 3) {
		unsigned char *q = realloc(b->p, size);

		if (!q) {
			w->failed++;
			return;
		}
		/* realloc keeps the old bytes up to the smaller size. */
		b->p = q;
		if (!intact_upto(b, size))
			w->damaged++;
	} else {
		free(b->p);
		b->p = NULL;
		return;
	}
	if (!b->p) {
		w->failed++;
		return;
	}
	b->size = size;
	b->seed = seed;
	fill(b);
}

NOINLINE static void loop_malloc(struct worker *w)
{
	uint64_t rng = 0x9e3779b97f4a7c15ULL + (uint64_t)w->index * 0x1000193;

	while (!stop) {
		for (int k = 0; k < 64; k++)
			churn_once(w, &rng);
		w->rounds++;
	}
}

NOINLINE static void loop_dlopen(struct worker *w)
{
	while (!stop) {
		void *h = dlopen(plugin, RTLD_NOW | RTLD_LOCAL);

		if (!h) {
			w->failed++;
			continue;
		}
		if (!dlsym(h, "plugin_churn"))
			w->failed++;
		if (dlclose(h) != 0)
			w->failed++;
		w->rounds++;
	}
}

static int phdr_cb(struct dl_phdr_info *info, size_t size, void *arg)
{
	struct worker *w = arg;
	char *p = malloc(32 + info->dlpi_phnum);

	(void)size;
	if (!p) {
		w->failed++;
		return 1;
	}
	memset(p, 'p', 32 + info->dlpi_phnum);
	free(p);
	return 0;
}

/* Read once, at startup, like a library keeping a pointer it looked up. */
static int (*volatile kept_iterate)(int (*)(struct dl_phdr_info *, size_t, void *), void *);

NOINLINE static void loop_iterate(struct worker *w, int kept)
{
	while (!stop) {
		if (kept)
			kept_iterate(phdr_cb, w);
		else
			dl_iterate_phdr(phdr_cb, w);
		w->rounds++;
	}
}

static void *work(void *arg)
{
	struct worker *w = arg;

	switch (w->kind) {
	case 'm':
		loop_malloc(w);
		break;
	case 'd':
		loop_dlopen(w);
		break;
	case 'i':
	case 'k':
		loop_iterate(w, w->kind == 'k');
		break;
	}
	return NULL;
}

static void start_all(struct worker *ws, int n)
{
	for (int i = 1; i < n; i++)
		vt_thread_start(&ws[i].thread, work, &ws[i]);
}

/* Ready once every worker has gone round its loop at least once. */
static void wait_running(struct worker *ws, int n)
{
	for (int i = 1; i < n; i++)
		while (!__atomic_load_n(&ws[i].rounds, __ATOMIC_RELAXED) && !stop)
			vt_sleep_ms(1);
}

int main(int argc, char **argv)
{
	static struct worker ws[MAX_THREADS];
	unsigned long damaged = 0, failed = 0;
	struct sigaction sa;
	char path[320], pid[32];
	int n;

	if (argc < 3 || !argv[2][0] || strlen(argv[2]) > MAX_THREADS ||
	    strspn(argv[2], "mdik") != strlen(argv[2])) {
		vt_dprintf(2, "usage: busy_alloc DIR KINDS [PLUGIN]  (KINDS: m d i k, 1 to %d)\n",
			   MAX_THREADS);
		return 2;
	}
	vt_format(dir, sizeof(dir), "%s", argv[1]);
	plugin = argc > 3 ? argv[3] : NULL;
	n = (int)strlen(argv[2]);
	if (strchr(argv[2], 'd') && !plugin) {
		vt_dprintf(2, "busy_alloc: a 'd' thread needs PLUGIN\n");
		return 2;
	}
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_stop;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	for (int i = 0; i < n; i++) {
		ws[i].kind = argv[2][i];
		ws[i].index = i;
	}
	/* libc's own, whatever the GOT will say. */
	kept_iterate = (int (*)(int (*)(struct dl_phdr_info *, size_t, void *), void *))
		dlsym(RTLD_DEFAULT, "dl_iterate_phdr");
	if (!kept_iterate) {
		vt_dprintf(2, "busy_alloc: dl_iterate_phdr not found\n");
		return 2;
	}
	vt_printf("busy_alloc: %s\n", argv[2]);
	start_all(ws, n);
	wait_running(ws, n);
	vt_format(pid, sizeof(pid), "%d\n", (int)getpid());
	vt_format(path, sizeof(path), "%s/ready", dir);
	{
		int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

		if (fd < 0)
			vt_die(path);
		vt_write_all(fd, pid, strlen(pid));
		close(fd);
	}
	work(&ws[0]);
	for (int i = 1; i < n; i++)
		vt_thread_join(&ws[i].thread);
	for (int i = 0; i < n; i++) {
		for (int k = 0; k < WINDOW; k++) {
			struct block *b = &ws[i].win[k];

			if (b->p && !intact(b))
				ws[i].damaged++;
			free(b->p);
			b->p = NULL;
		}
		damaged += ws[i].damaged;
		failed += ws[i].failed;
	}
	if (damaged) {
		char text[32];
		int fd;

		vt_format(path, sizeof(path), "%s/damaged", dir);
		vt_format(text, sizeof(text), "%lu\n", damaged);
		fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd >= 0) {
			vt_write_all(fd, text, strlen(text));
			close(fd);
		}
	}
	vt_check(damaged == 0, "every block kept its pattern");
	vt_check(failed == 0, "every allocation, dlopen and dlclose succeeded");
	return vt_exit_status();
}
