/*
 * leaks_graph: a heap of known reachability, partly built before the
 * attach, for the leaks command (t-leaks-*). Protocol in attach.h:
 *
 *     leaks_graph DIR
 *
 * Before ready (blocks memtrace cannot have seen allocated; context 0):
 *   pre_single    malloc'ed, pointer dropped            definitely lost
 *   pre_list      3 nodes linked, head dropped          1 definitely + 2 indirectly lost
 *   pre_kept      held by a global                      still reachable
 *   pre_objects   3 "objects" whose first word is &object_ops (an ops
 *                 table, as a C++ object's first word is its vtable),
 *                 pointers dropped                      definitely lost
 *   two threads that stay parked (started now, so their DTVs, which glibc
 *   calloc's and keeps only through a pointer 2 words in, are pre-attach
 *   blocks: possibly lost, as valgrind says too)
 * After go (each function is its own context):
 *   leak_single       malloc(24) dropped                      DL 1 24
 *   leak_list         5 nodes of 32 bytes, head dropped       DL 1 32, IL 4 128
 *   leak_cycle        2 nodes of 48 bytes, each to the other  DL 1 48, IL 1 48
 *   hold_interior     malloc(64) held only at +16 by a global, and a
 *                     malloc(16) held only from it            PL 2 80
 *   hold_global       malloc(40) held by a global             SR 1 40
 *   hold_stack        malloc(56) on a parked thread's stack   SR 1 56
 *   hold_register     malloc(72) only in a parked thread's register
 *                     (x86_64, aarch64, arm; elsewhere on its stack)  SR 1 72
 *   hold_tls          malloc(88) in a __thread variable       SR 1 88
 *   hold_mmap         malloc(104) in an anonymous mapping     SR 1 104
 * The sizes of pre-attach blocks are their usable sizes (what the heap walk
 * can know): the victim prints them as malloc_usable_size gives them.
 *
 * Each held block's address goes to DIR/addr.{interior,global,stack,register}
 * as text (who-points asks about them).
 *
 * stdout: one line per verdict, "VERDICT FUNCTION KIND BLOCKS BYTES" (KIND:
 * definite indirect possible reachable), pre-attach ones as function
 * "before_attach", and "GROUP before_attach SIZE SYMBOL KIND BLOCKS BYTES"
 * for the pre-attach blocks leaks must group by size and by what their
 * first word points to (context 0's groups), printed before ready (the test reads them from the
 * untraced run too). Then it waits for stop and checks every block it
 * keeps still holds its pattern (exit 1 if not).
 * t-leaks-valgrind checks these lines against valgrind memcheck's verdicts
 * (vgdb leak_check at leaked, the point t-leaks-live scans).
 *
 * Stale copies of dropped pointers are cleared: every block is built in a
 * noinline function that returns nothing, and the stack below is zeroed
 * afterwards (explicit_bzero of a large local), so that only what the
 * victim states holds a pointer.
 */
#include <malloc.h>
#include <signal.h>
#include <sys/wait.h>

#include "attach.h"

/* SIGCHLDs seen: a scan that forks a copy of the process must send none. */
static volatile sig_atomic_t g_sigchld;

static void on_sigchld(int sig)
{
	(void)sig;
	g_sigchld++;
}

struct node {
	struct node *next;
	char pad[24];
};

struct big_node {
	struct big_node *next;
	char pad[40];
};

static void *volatile g_pre_kept;
static void *volatile g_global;
static char *volatile g_interior;
static void *volatile *g_map;
static __thread void *volatile t_tls;
static int park_fd[2][2];	/* [0] the stack holder's pipe, [1] the register holder's */
static volatile int g_stack_tid, g_reg_tid;

NOINLINE static void say(const char *fn, const char *kind, size_t blocks, size_t bytes)
{
	vt_printf("VERDICT %s %s %zu %zu\n", fn, kind, blocks, bytes);
}

/*
 * DIR/addr.NAME: the block's address as text, for who-points (a file, not
 * memory: the text is no pointer, and stdout must not vary from run to run).
 */
NOINLINE static void tell(const char *name, const void *p)
{
	char file[64], text[32];

	vt_format(file, sizeof(file), "addr.%s", name);
	vt_format(text, sizeof(text), "0x%lx\n", (unsigned long)(uintptr_t)p);
	at_put(file, text);
}

/* Zero the stack below the caller: stale pointers from calls that returned. */
NOINLINE static void scrub(void)
{
	char buf[64 * 1024];

	explicit_bzero(buf, sizeof(buf));
}

static void *must(void *p)
{
	if (!p)
		vt_die("malloc");
	return p;
}

/* ------------------------------------------------------------ before the attach */

static size_t pre_dl_bytes, pre_il_bytes;

NOINLINE static void pre_single(void)
{
	void *p = must(malloc(200));

	memset(p, 'p', 200);
	pre_dl_bytes += malloc_usable_size(p);
}

NOINLINE static void pre_list(void)
{
	struct node *head = NULL;

	for (int i = 0; i < 3; i++) {
		struct node *n = must(malloc(120));

		memset(n, 'l', 120);
		n->next = head;
		head = n;
		if (i < 2)
			pre_il_bytes += malloc_usable_size(n);
		else
			pre_dl_bytes += malloc_usable_size(n);
	}
}

/* What pre_objects' first words point to: a table of functions in the program's RELRO data. */
struct object_ops {
	void (*destroy)(void *obj);
	size_t (*size)(const void *obj);
};

static void object_destroy(void *obj)
{
	free(obj);
}

static size_t object_size(const void *obj)
{
	return malloc_usable_size((void *)obj);
}

const struct object_ops object_ops = { object_destroy, object_size };
static size_t pre_obj_size;

NOINLINE static void pre_objects(void)
{
	for (int i = 0; i < 3; i++) {
		const struct object_ops **o = must(malloc(72));

		memset(o, 'o', 72);
		*o = &object_ops;
		pre_obj_size = (*o)->size(o);
		pre_dl_bytes += pre_obj_size;
	}
}

NOINLINE static void pre_kept(void)
{
	g_pre_kept = must(malloc(296));
	memset((void *)g_pre_kept, 'k', 296);
}

/* ------------------------------------------------------------ the parked threads */

/* Waits on the pipe for ever (until exit): its stack holds P. */
static void *stack_holder(void *arg)
{
	void *volatile p;
	char c;

	(void)arg;
	p = NULL;
	while (!p) {
		/* Wait for the go: the block is made after the attach. */
		if (read(park_fd[0][0], &c, 1) == 1) {
			p = must(malloc(56));
			memset((void *)p, 's', 56);
			tell("stack", (void *)p);
			g_stack_tid = (int)gettid();
		}
	}
	for (;;)
		pause();
	return NULL;
}

/*
 * Waits for ever with the block's address in a callee-saved register and
 * nowhere else: a raw system call in a loop, the address put in the
 * register by the asm itself.
 */
NOINLINE static void park_with_register(void *p)
{
#if defined(__x86_64__)
	__asm__ __volatile__("mov %0, %%r12\n\t"
			     "1: mov $34, %%eax\n\t" /* pause */
			     "syscall\n\t"
			     "jmp 1b"
			     :
			     : "r"(p)
			     : "rax", "rcx", "r11", "r12", "memory");
#elif defined(__aarch64__)
	__asm__ __volatile__("mov x19, %0\n\t"
			     "1: mov x8, #73\n\t" /* ppoll(NULL, 0, NULL, NULL) */
			     "mov x0, #0\n\tmov x1, #0\n\tmov x2, #0\n\tmov x3, #0\n\t"
			     "svc #0\n\t"
			     "b 1b"
			     :
			     : "r"(p)
			     : "x0", "x1", "x2", "x3", "x8", "x19", "memory");
#elif defined(__arm__)
	/* r7 is the frame pointer in Thumb code: saved around the call by hand. */
	__asm__ __volatile__("mov r5, %0\n\t"
			     "1: push {r7}\n\t"
			     "mov r7, #29\n\t" /* pause */
			     "svc #0\n\t"
			     "pop {r7}\n\t"
			     "b 1b"
			     :
			     : "r"(p)
			     : "r0", "r5", "memory");
#else
	void *volatile keep = p;

	for (;;)
		pause();
	(void)keep;
#endif
}

NOINLINE static void *make_register_block(void)
{
	void *p = must(malloc(72));

	memset(p, 'r', 72);
	return p;
}

static void *register_holder(void *arg)
{
	char c;

	(void)arg;
	while (read(park_fd[1][0], &c, 1) != 1)
		;
	/* Whatever of the block's address the call left on this stack goes. */
	{
		void *p = make_register_block();

		tell("register", p);
		g_reg_tid = (int)gettid();
		scrub();
		park_with_register(p);
	}
	return NULL;
}

/* ------------------------------------------------------------ after the attach */

NOINLINE static void leak_single(void)
{
	memset(must(malloc(24)), 'x', 24);
}

NOINLINE static void leak_list(void)
{
	struct node *head = NULL;

	for (int i = 0; i < 5; i++) {
		struct node *n = must(malloc(sizeof(*n)));

		memset(n, 'n', sizeof(*n));
		n->next = head;
		head = n;
	}
}

NOINLINE static void leak_cycle(void)
{
	struct big_node *a = must(malloc(sizeof(*a))), *b = must(malloc(sizeof(*b)));

	memset(a, 'a', sizeof(*a));
	memset(b, 'b', sizeof(*b));
	a->next = b;
	b->next = a;
}

NOINLINE static void hold_interior(void)
{
	char *p = must(malloc(64));
	void *q = must(malloc(16));

	memset(p, 'i', 64);
	memset(q, 'q', 16);
	memcpy(p + 32, &q, sizeof(q));
	g_interior = p + 16;
	tell("interior", p);
}

NOINLINE static void hold_global(void)
{
	g_global = must(malloc(40));
	memset((void *)g_global, 'g', 40);
	tell("global", (void *)g_global);
}

NOINLINE static void hold_tls(void)
{
	t_tls = must(malloc(88));
	memset((void *)t_tls, 't', 88);
}

NOINLINE static void hold_mmap(void)
{
	void *p = must(malloc(104));

	memset(p, 'm', 104);
	g_map[5] = p;
}

/*
 * Thread TID of this process waits in a system call: its
 * /proc/self/task/TID/syscall starts with the call's number (not "running",
 * nor -1 for user code). No malloc.
 */
static int sleeping(int tid)
{
	char path[64], buf[16];
	ssize_t n;
	int fd;

	vt_format(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	n = read(fd, buf, sizeof(buf));
	close(fd);
	return n > 0 && buf[0] >= '0' && buf[0] <= '9';
}

/* Post-attach blocks the victim keeps: their patterns must hold after the scan. */
static int intact(const void *p, int c, size_t n)
{
	const unsigned char *b = p;

	for (size_t i = 0; i < n; i++)
		if (b[i] != (unsigned char)c)
			return 0;
	return 1;
}

int main(int argc, char **argv)
{
	pthread_t th[2];
	void *map;
	int ok = 1;

	at_init(argc, argv);
	if (signal(SIGCHLD, on_sigchld) == SIG_ERR)
		vt_die("signal");
	if (pipe(park_fd[0]) < 0 || pipe(park_fd[1]) < 0)
		vt_die("pipe");
	map = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (map == MAP_FAILED)
		vt_die("mmap");
	g_map = map;
	if (pthread_create(&th[0], NULL, stack_holder, NULL) || pthread_create(&th[1], NULL, register_holder, NULL))
		vt_die("pthread_create");
	pre_single();
	pre_list();
	pre_kept();
	pre_objects();
	scrub();
	say("before_attach", "definite", 5, pre_dl_bytes);
	vt_printf("GROUP before_attach %zu object_ops definite 3 %zu\n", pre_obj_size, 3 * pre_obj_size);
	say("before_attach", "indirect", 2, pre_il_bytes);
	say("leak_single", "definite", 1, 24);
	say("leak_list", "definite", 1, sizeof(struct node));
	say("leak_list", "indirect", 4, 4 * sizeof(struct node));
	say("leak_cycle", "definite", 1, sizeof(struct big_node));
	say("leak_cycle", "indirect", 1, sizeof(struct big_node));
	say("hold_interior", "possible", 2, 80);
	say("hold_global", "reachable", 1, 40);
	say("stack_holder", "reachable", 1, 56);
	say("make_register_block", "reachable", 1, 72);
	say("hold_tls", "reachable", 1, 88);
	say("hold_mmap", "reachable", 1, 104);
	at_ready();
	at_wait_go();
	leak_single();
	leak_list();
	leak_cycle();
	hold_interior();
	hold_global();
	hold_tls();
	hold_mmap();
	if (write(park_fd[0][1], "s", 1) != 1 || write(park_fd[1][1], "r", 1) != 1)
		vt_die("write");
	while (!g_stack_tid || !g_reg_tid)
		usleep(1000);
	/* Both holders asleep in their waits, the blocks where they should be. */
	while (!sleeping(g_stack_tid) || !sleeping(g_reg_tid))
		usleep(1000);
	scrub();
	at_put("leaked", "leaked\n");
	at_wait("stop", AT_WAIT_MS);
	ok &= intact((const void *)g_global, 'g', 40);
	ok &= intact((const void *)t_tls, 't', 88);
	ok &= intact((const void *)g_map[5], 'm', 104);
	ok &= intact((const void *)g_pre_kept, 'k', 296);
	ok &= intact(g_interior - 16, 'i', 32);
	vt_printf("%s\n", ok ? "intact" : "DAMAGED");
	/* No child of any kind left behind, no SIGCHLD (the scan's copy is reaped by the agent). */
	vt_printf("SIGCHLD %d, children: %s\n", (int)g_sigchld,
		  waitpid(-1, NULL, WNOHANG | __WALL) < 0 && errno == ECHILD ? "none" : "SOME");
	return ok ? 0 : 1;
}
