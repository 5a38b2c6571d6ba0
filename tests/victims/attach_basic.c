/*
 * attach_basic: the plain attach victim, built as every variant the Makefile
 * knows (PIE, -nopie, -now, -noplt, -norelro), so the agent meets each way a
 * program can call malloc: a lazy PLT slot, a bound one under full RELRO, a
 * GLOB_DAT slot called directly (-fno-plt), a writable GOT.
 *
 *     attach_basic DIR
 *
 * Protocol in attach.h.  Before ready it makes its pre-attach blocks and
 * keeps, in function pointers, the malloc and free it saw then.  After go it
 * allocates and frees a few thousand blocks of every kind (tagged and
 * checked), calls the early pointers in pairs (a pointer taken before attach
 * may bypass the hooks, and must then bypass them for the free too), and
 * leaks from one function per family member.  After stop (the test has
 * usually detached by then) it does the same work again, checks its leaked
 * blocks were not touched, frees everything and exits 0, or 1 if a check
 * failed.
 */
#include "attach.h"

static void *(*volatile early_malloc)(size_t);
static void (*volatile early_free)(void *);

#define NLEAK 16
static void *leaks[NLEAK];
static size_t leak_sizes[NLEAK];
static int nleaks;

static void keep(void *p, size_t size, int fill)
{
	if (!p)
		vt_die("leak allocation");
	memset(p, fill, size);
	leaks[nleaks] = p;
	leak_sizes[nleaks] = size;
	nleaks++;
}

NOINLINE static void leak_malloc(void)
{
	for (int i = 0; i < 3; i++)
		keep(malloc(40), 40, 'm');
}

NOINLINE static void leak_calloc(void)
{
	for (int i = 0; i < 2; i++)
		keep(calloc(10, 10), 100, 'c');
}

NOINLINE static void leak_realloc(void)
{
	char *p = malloc(10);

	memset(p, 'r', 10);
	keep(realloc(p, 300), 300, 'r');
}

NOINLINE static void leak_memalign(void)
{
	void *p = NULL;

	for (int i = 0; i < 2; i++) {
		if (posix_memalign(&p, 64, 256))
			vt_die("posix_memalign");
		keep(p, 256, 'a');
	}
	keep(aligned_alloc(128, 128), 128, 'A');
}

NOINLINE static void leak_strdup(void)
{
	keep(strdup("a string duplicated after attach"), 33, 's');
}

/* Tagged churn: every block carries its index, checked before it goes. */
NOINLINE static int churn(int ops, uint64_t seed)
{
	unsigned char *win[32] = { NULL };
	size_t sz[32] = { 0 };
	uint64_t rng = seed;
	int bad = 0;

	for (int op = 0; op < ops; op++) {
		uint64_t r = vt_rand(&rng);
		int i = (int)(r % 32);
		size_t size = 1 + (size_t)((r >> 8) % 3000);
		void *p = NULL;

		if (win[i] && (win[i][0] != (unsigned char)i || win[i][sz[i] - 1] != (unsigned char)i))
			bad++;
		switch ((r >> 32) % 6) {
		case 0: free(win[i]); win[i] = malloc(size); break;
		case 1: free(win[i]); win[i] = calloc(size, 1); break;
		case 2: win[i] = realloc(win[i], size); break;
		case 3:
			free(win[i]);
			win[i] = posix_memalign(&p, 32, size) ? NULL : p;
			break;
		case 4: free(win[i]); win[i] = reallocarray(NULL, size, 1); break;
		default: free(win[i]); win[i] = NULL; continue;
		}
		if (!win[i])
			vt_die("churn allocation");
		sz[i] = size;
		win[i][0] = (unsigned char)i;
		win[i][size - 1] = (unsigned char)i;
	}
	for (int i = 0; i < 32; i++)
		free(win[i]);
	return bad;
}

/* Pairs through the pointers taken before attach. */
NOINLINE static int early_pairs(int n)
{
	int bad = 0;

	for (int i = 0; i < n; i++) {
		unsigned char *p = early_malloc(64 + (size_t)i);

		if (!p)
			vt_die("early malloc");
		memset(p, 'e', 64 + (size_t)i);
		bad += p[63] != 'e';
		early_free(p);
	}
	return bad;
}

static int leaks_intact(void)
{
	static const int fill[] = { 'm', 'm', 'm', 'c', 'c', 'r', 'a', 'a', 'A', 's' };

	for (int i = 0; i < nleaks; i++) {
		unsigned char *p = leaks[i];

		if (p[0] != fill[i] || p[leak_sizes[i] - 1] != fill[i])
			return 0;
	}
	return 1;
}

int main(int argc, char **argv)
{
	at_start(argc, argv);
	early_malloc = malloc;
	early_free = free;
	vt_printf("basic: started\n");
	at_ready();

	at_wait_go();
	vt_printf("basic: go\n");
	pre_attach_release();
	vt_check(churn(5000, 0x1234567) == 0, "blocks kept their tags while attached");
	vt_check(early_pairs(100) == 0, "malloc and free taken before attach work");
	leak_malloc();
	leak_calloc();
	leak_realloc();
	leak_memalign();
	leak_strdup();
	vt_expect("leak_malloc", 3, 120);
	vt_expect("leak_calloc", 2, 200);
	vt_expect("leak_realloc", 1, 300);
	vt_expect("leak_memalign", 3, 640);
	vt_expect("leak_strdup", 1, 33);
	vt_via_libc("leak_strdup");
	at_leaked_then_wait_stop();

	vt_printf("basic: stop\n");
	vt_check(leaks_intact(), "leaked blocks intact at stop");
	vt_check(churn(5000, 0x7654321) == 0, "blocks kept their tags after stop");
	vt_check(early_pairs(100) == 0, "early malloc and free after stop");
	for (int i = 0; i < nleaks; i++)
		free(leaks[i]);
	pre_attach_end();
	return vt_exit_status();
}
