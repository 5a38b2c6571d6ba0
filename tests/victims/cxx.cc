/*
 * cxx: C++ allocation through operator new and the standard library.
 *
 * new/delete, new[]/delete[], aligned and nothrow new, containers, strings,
 * shared pointers and a thrown exception are all given back; then blocks are
 * leaked through new from known functions.  The agent hooks the operators,
 * so the first frame of a callstack is the code that called operator new:
 * the victim function, or libstdc++ code allocating on its behalf.
 *
 * The leak functions have C linkage so their names in the symbol table are
 * the plain ones the EXPECT lines print; one leak comes from a member function
 * on purpose, and its EXPECT line carries the mangled name, which is what the
 * ELF symbol table holds (docs/contract-draft.md: "symbol" is from the symtab).
 */
#include <cstdint>
#include <map>
#include <memory>
#include <new>
#include <stdexcept>
#include <string>
#include <vector>

#include "victim.h"

struct Node {
	long id;
	char name[40];
	Node *next;
};

struct alignas(64) Aligned {
	unsigned char bytes[128];
};

struct Counted {
	static int alive;
	int v[4];
	Counted() : v{ 1, 2, 3, 4 } { alive++; }
	~Counted() { alive--; }
};
int Counted::alive;

class Cache {
public:
	void insert(int key);
	Node *head = nullptr;
};

/* ------------------------------------------------------------ no leaks */

static void use_new_delete(void)
{
	Node *n = new Node();
	int *a = new int[1000];
	Counted *c = new Counted[5];
	Aligned *al = new Aligned;

	n->id = 1;
	a[999] = 7;
	vt_check(Counted::alive == 5, "new[] ran 5 constructors");
	vt_check(((uintptr_t)al & 63) == 0, "new of an alignas(64) type is 64-byte aligned");
	vt_touch(n);
	vt_touch(a);
	delete n;
	delete[] a;
	delete[] c;
	delete al;
	vt_check(Counted::alive == 0, "delete[] ran 5 destructors");

	char *nt = new (std::nothrow) char[100];
	vt_check(nt != nullptr, "nothrow new succeeds");
	delete[] nt;
}

static void use_containers(void)
{
	std::vector<int> v;
	std::string s;
	std::map<int, std::string> m;
	long sum = 0;

	for (int i = 0; i < 10000; i++)
		v.push_back(i);
	for (int i = 0; i < 200; i++)
		s += "abcdefghij";
	for (int i = 0; i < 300; i++)
		m[i] = std::string(30 + i % 7, 'x');
	for (int x : v)
		sum += x;
	v.resize(10);
	v.shrink_to_fit();
	vt_check(sum == 49995000L, "vector holds 10000 ints");
	vt_check(s.size() == 2000 && m.size() == 300, "string and map filled");

	auto sp = std::make_shared<Node>();
	std::shared_ptr<Node> sp2 = sp;
	auto up = std::make_unique<std::vector<std::string>>(50, "a string longer than sixteen");
	vt_check(sp.use_count() == 2 && up->size() == 50, "shared_ptr and unique_ptr work");
}

static void use_exceptions(void)
{
	int caught = 0;

	for (int i = 0; i < 3; i++) {
		try {
			throw std::runtime_error(std::string(100, 'e'));
		} catch (const std::runtime_error &e) {
			caught += std::string(e.what()).size() == 100;
		}
	}
	vt_check(caught == 3, "exceptions thrown and caught");
}

/* --------------------------------------------------------------- leaks */

extern "C" {

NOINLINE static Node *leak_new_struct(void)
{
	Node *n = new Node();

	n->id = 42;
	return n;
}

NOINLINE static int *leak_new_array(void)
{
	int *a = new int[25];

	a[0] = 1;
	return a;
}

NOINLINE static char *leak_new_nothrow(void)
{
	return new (std::nothrow) char[77];
}

NOINLINE static Aligned *leak_new_aligned(void)
{
	return new Aligned();
}

/* Two blocks: the string object, and its buffer, allocated inside libstdc++
 * (reserve is compiled there, not in this program), on behalf of this same
 * frame.  (A string built from a char * would allocate from a template
 * instantiated here, whose own frame would come first.) */
NOINLINE static std::string *leak_string(void)
{
	std::string *s = new std::string();

	s->reserve(100);
	return s;
}

} /* extern "C" */

NOINLINE void Cache::insert(int key)
{
	Node *n = new Node();

	n->id = key;
	n->next = head;
	head = n;
}

int main()
{
	static void *keep[8];
	static Cache cache;
	std::string *s;

	use_new_delete();
	use_containers();
	use_exceptions();

	keep[0] = leak_new_struct();
	vt_expect("leak_new_struct", 1, sizeof(Node));
	keep[1] = leak_new_array();
	vt_expect("leak_new_array", 1, 25 * sizeof(int));
	keep[2] = leak_new_nothrow();
	vt_expect("leak_new_nothrow", 1, 77);
	keep[3] = leak_new_aligned();
	vt_expect("leak_new_aligned", 1, sizeof(Aligned));
	vt_check(((uintptr_t)keep[3] & 63) == 0, "leaked aligned object is aligned");
	s = leak_string();
	keep[4] = s;
	vt_check(s->capacity() >= 100, "leaked string has room for 100 chars");
	vt_expect("leak_string", 2, sizeof(std::string) + s->capacity() + 1);
	for (int i = 0; i < 3; i++)
		cache.insert(i);
	vt_expect("_ZN5Cache6insertEi", 3, 3 * sizeof(Node));
	return vt_exit_status();
}
