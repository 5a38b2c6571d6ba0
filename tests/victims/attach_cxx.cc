/*
 * attach_cxx: a C++ program attached to while it runs; it allocates through
 * operator new (whose GOT slots the agent patches, and libstdc++'s, through
 * which its operator new calls malloc) and leaks through new from known
 * functions.
 *
 *     attach_cxx DIR
 *
 * Protocol in attach.h.  Before ready it fills containers and strings and
 * news objects it deletes after go.  After go, containers, strings, shared
 * pointers and a thrown exception come and go; then leak_nodes (4 Node),
 * leak_array (one new char[500]) and leak_aligned (one 64-aligned object)
 * leak.  The leak functions have C linkage so their symbols are the plain
 * names of the EXPECT lines.  Each leak's frames[0] is the function that
 * called new.
 */
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "attach.h"

struct Node {
	long id;
	char name[40];
	Node *next;
};

struct alignas(64) Aligned {
	unsigned char bytes[192];
};

static Node *nodes;
static char *array;
static Aligned *aligned_obj;

extern "C" NOINLINE void leak_nodes(void)
{
	for (int i = 0; i < 4; i++) {
		Node *n = new Node();

		n->id = i;
		n->next = nodes;
		nodes = n;
	}
}

extern "C" NOINLINE void leak_array(void)
{
	array = new char[500];
	memset(array, 'x', 500);
}

extern "C" NOINLINE void leak_aligned(void)
{
	aligned_obj = new Aligned;
	memset(aligned_obj->bytes, 'y', sizeof(aligned_obj->bytes));
}

/* Everything here is given back before it returns. */
static long busy(int rounds)
{
	long sum = 0;

	for (int r = 0; r < rounds; r++) {
		std::vector<int> v;
		std::map<int, std::string> m;
		std::string s;

		for (int i = 0; i < 200; i++) {
			v.push_back(i);
			m[i] = std::string(40 + i % 7, 'k');
			s += "word ";
		}
		auto sp = std::make_shared<std::vector<long>>(100, 3L);
		for (long x : *sp)
			sum += x;
		try {
			throw std::runtime_error("an exception allocated after attach");
		} catch (const std::exception &e) {
			sum += (long)strlen(e.what());
		}
		sum += (long)v.size() + (long)m.size() + (long)s.size();
	}
	return sum;
}

int main(int argc, char **argv)
{
	at_start(argc, argv);
	/* made before attach, given back after */
	std::vector<std::string> *early = new std::vector<std::string>();
	for (int i = 0; i < 50; i++)
		early->push_back(std::string(30 + i, 'e'));
	Node *early_node = new Node();
	early_node->id = 42;
	vt_printf("cxx: started\n");
	at_ready();

	at_wait_go();
	pre_attach_release();
	vt_check(early->size() == 50 && (*early)[49] == std::string(79, 'e'), "strings made before attach intact");
	delete early;
	vt_check(early_node->id == 42, "object made before attach intact");
	delete early_node;
	vt_check(busy(20) == 20L * (300 + 200 + 200 + 1000 + 35), "containers, strings, exceptions after attach");
	leak_nodes();
	leak_array();
	leak_aligned();
	vt_check(((uintptr_t)aligned_obj & 63) == 0, "aligned new after attach is aligned");
	vt_expect("leak_nodes", 4, 4 * sizeof(Node));
	vt_expect("leak_array", 1, 500);
	vt_expect("leak_aligned", 1, sizeof(Aligned));
	at_leaked_then_wait_stop();

	vt_check(busy(5) == 5L * (300 + 200 + 200 + 1000 + 35), "containers after stop");
	while (nodes) {
		Node *n = nodes->next;

		delete nodes;
		nodes = n;
	}
	delete[] array;
	delete aligned_obj;
	pre_attach_end();
	return vt_exit_status();
}
