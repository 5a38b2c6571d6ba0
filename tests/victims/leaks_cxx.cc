/*
 * leaks_cxx: C++ objects lost before the attach, for the groups of context
 * 0 that leaks makes by what a block's first word points to (t-leaks-cxx).
 * Protocol in attach.h:
 *
 *     leaks_cxx DIR
 *
 * Before ready: 3 net::Session and 2 Plain objects (classes with virtual
 * functions: their first word is their vtable's address point), their
 * pointers dropped: definitely lost, blocks memtrace cannot have seen
 * allocated (context 0). stdout: one line per class,
 *     GROUP SIZE vtable for CLASS+0xOFF definite BLOCKS BYTES
 * (SIZE the usable size, the one the heap walk knows; OFF where the first
 * word points into the vtable), printed before ready. After go it says
 * leaked and waits for stop.
 */
#include <malloc.h>

#include "attach.h"

namespace net {
struct Session {
	virtual ~Session() {}
	virtual int id() { return 1; }
	long fields[5];
};
}

struct Plain {
	virtual ~Plain() {}
	int x;
};

/* The vtables by their ELF names, for the offset their objects point to. */
extern const char session_vtable[] __asm__("_ZTVN3net7SessionE");
extern const char plain_vtable[] __asm__("_ZTV5Plain");

static void *volatile kept[5];

NOINLINE static void make(void)
{
	for (int i = 0; i < 3; i++)
		kept[i] = new net::Session();
	for (int i = 3; i < 5; i++)
		kept[i] = new Plain();
}

NOINLINE static void scrub(void)
{
	char buf[8192];

	memset(buf, 0, sizeof(buf));
	__asm__ volatile("" ::"r"(buf) : "memory");
}

static void group(const char *cls, void *obj, const char *vtable, int n)
{
	size_t size = malloc_usable_size(obj);
	const char *vptr = *(const char *const *)obj;

	vt_printf("GROUP %zu vtable for %s+0x%lx definite %d %zu\n", size, cls, (unsigned long)(vptr - vtable), n,
		  n * size);
}

int main(int argc, char **argv)
{
	at_init(argc, argv);
	make();
	group("net::Session", kept[0], session_vtable, 3);
	group("Plain", kept[3], plain_vtable, 2);
	for (int i = 0; i < 5; i++)
		kept[i] = NULL;
	scrub();
	at_ready();
	at_wait_go();
	at_put("leaked", "leaked\n");
	at_wait("stop", AT_WAIT_MS);
	return 0;
}
